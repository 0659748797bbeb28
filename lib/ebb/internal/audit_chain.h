// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: audit_chain.h
// -----------------------------------------------------------------------------
//
// The bytes of the audit ledger and the checks that make it tamper-evident.
//
// Each record is stored under "audit/" + its sequence number (8 bytes, big
// endian) as [SHA-256 of body (32 bytes)][body], where body is the serialized
// v1::AuditRecord and the record's prev_hash is the previous entry's hash.
// A head entry holds the last sequence number and hash, written in the same
// batch as each record, so removing records from the end is detected too,
// unless the head is rewritten as well: the chain is not keyed, so whoever can
// write the files can recompute it. Anchor the head hash elsewhere (ebb audit
// verify prints it) to detect a rewrite of the tail or of the whole ledger.
// Trimming the oldest records leaves a checkpoint (first kept sequence number,
// hash of the last trimmed entry), and appends an AUDIT_LEDGER_TRIM record that
// repeats both, so the checkpoint itself is covered by the chain.
//
// Identifiers are pseudonymised with HMAC-SHA256 (OpenSSL) under a per-tenant
// key derived from the store's secret: an auditor who knows an id can find its
// records, the ledger alone names nobody.

#ifndef EBB_INTERNAL_AUDIT_CHAIN_H_
#define EBB_INTERNAL_AUDIT_CHAIN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ebb/v1/audit.pb.h"

namespace ebb::internal {

inline constexpr size_t kSha256Size = 32;
inline constexpr char kAuditPrefix[] = "audit/";
inline constexpr char kAuditHeadKey[] = "audit-head";
inline constexpr char kAuditCheckpointKey[] = "audit-checkpoint";

// SHA-256 of `bytes`, 32 raw bytes.
std::string Sha256(absl::string_view bytes);

// 32 random bytes from OpenSSL's RAND_bytes. Internal if the generator fails.
absl::StatusOr<std::string> NewSecret();

// The HMAC key for `tenant`, derived from the store secret.
std::string TenantKey(absl::string_view store_secret, absl::string_view tenant);

// The pseudonym of a user or conversation id: 32 lowercase hex digits of
// HMAC-SHA256(tenant_key, scope name + "\0" + id). Scopes are kept apart so a
// user and a conversation with the same id get different pseudonyms.
std::string Pseudonym(absl::string_view tenant_key, v1::Scope scope,
                      absl::string_view id);

std::string AuditKey(uint64_t seq);
// The sequence number in an audit key; nullopt if `key` is not one.
std::optional<uint64_t> ParseAuditKey(absl::string_view key);

// Where the chain stands: the last sequence number and its entry's hash.
struct ChainPosition {
  uint64_t seq = 0;
  std::string hash = std::string(kSha256Size, '\0');
};
std::string EncodeChainPosition(const ChainPosition& position);
absl::StatusOr<ChainPosition> DecodeChainPosition(absl::string_view value);

// Sets record's seq and prev_hash to follow `last`, and returns the stored
// entry; *next is where the chain then stands.
std::string SealAuditRecord(const ChainPosition& last, v1::AuditRecord* record,
                            ChainPosition* next);

// Decodes a stored entry, checking its own hash. DataLoss naming `seq` if the
// entry is too short, its hash does not match or it does not parse.
absl::StatusOr<v1::AuditRecord> OpenAuditEntry(uint64_t seq,
                                               absl::string_view value,
                                               std::string* hash);

// Walks the ledger in key order and reports the first place it breaks.
class ChainVerifier {
 public:
  // `checkpoint`: where a trimmed ledger starts (seq = last trimmed), or the
  // default (0, zeros) for an untrimmed one.
  explicit ChainVerifier(ChainPosition checkpoint, bool trimmed);

  // Feeds the next entry in key order. Returns false once the chain is broken
  // (further calls are ignored).
  bool Feed(absl::string_view key, absl::string_view value);

  // Checks the end against the head entry (nullopt if there is none).
  void Finish(const std::optional<ChainPosition>& head);

  bool ok() const { return !first_bad_seq_.has_value(); }
  // The first sequence number that is missing, changed, out of place or does
  // not follow its predecessor.
  std::optional<uint64_t> first_bad_seq() const { return first_bad_seq_; }
  const std::string& problem() const { return problem_; }
  uint64_t records() const { return records_; }
  const ChainPosition& last() const { return last_; }

 private:
  void Fail(uint64_t seq, std::string problem);

  const ChainPosition checkpoint_;
  ChainPosition last_;
  bool trimmed_;
  bool checkpoint_confirmed_ = false;
  uint64_t records_ = 0;
  std::optional<uint64_t> first_bad_seq_;
  std::string problem_;
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_AUDIT_CHAIN_H_
