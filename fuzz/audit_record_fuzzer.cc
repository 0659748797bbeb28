// Copyright ebb authors.
//
// Fuzzes the audit ledger's decoders (lib/ebb/internal/audit_chain.h), which
// `ebb audit verify|export|find` run over bytes read back from disk: entry
// keys, chain positions (head and checkpoint), sealed entries, the chain walk,
// and the JSON an export prints. Random bytes almost never match a SHA-256,
// so the input is also sealed (hash prepended) before it is opened, which
// takes it through the protobuf parse and everything after.
// Invariants:
// - no crash on any bytes;
// - keys and positions that decode re-encode to the same bytes;
// - an entry sealed over bytes that parse as an AuditRecord opens again;
// - a chain built with SealAuditRecord from fuzzed records verifies, and
//   verification fails (naming a record) once any entry is replaced by the
//   fuzzed bytes unsealed.
//
// Input: records separated by the byte 0xFE; the first byte also picks the
// entry the tampering test replaces.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "ebb/v1/audit.pb.h"
#include "fuzz/fuzz_check.h"
#include "lib/ebb/internal/audit_chain.h"
#include "lib/ebb/json.h"

namespace {

namespace internal = ebb::internal;

void CheckKeyAndPosition(absl::string_view input) {
  if (std::optional<uint64_t> seq = internal::ParseAuditKey(input)) {
    EBB_FUZZ_CHECK(internal::AuditKey(*seq) == input,
                   "audit key re-encodes to itself");
  }
  absl::StatusOr<internal::ChainPosition> position =
      internal::DecodeChainPosition(input);
  if (position.ok()) {
    EBB_FUZZ_CHECK(internal::EncodeChainPosition(*position) == input,
                   "chain position re-encodes to itself");
  } else {
    EBB_FUZZ_CHECK(absl::IsDataLoss(position.status()),
                   "a bad chain position is DataLoss");
  }
}

void CheckEntry(absl::string_view body) {
  std::string hash;
  absl::StatusOr<ebb::v1::AuditRecord> raw =
      internal::OpenAuditEntry(7, body, &hash);
  if (!raw.ok()) {
    EBB_FUZZ_CHECK(absl::IsDataLoss(raw.status()), "a bad entry is DataLoss");
  }
  const std::string sealed = internal::Sha256(body) + std::string(body);
  absl::StatusOr<ebb::v1::AuditRecord> opened =
      internal::OpenAuditEntry(7, sealed, &hash);
  ebb::v1::AuditRecord parsed;
  const bool parses =
      parsed.ParseFromArray(body.data(), static_cast<int>(body.size()));
  EBB_FUZZ_CHECK(opened.ok() == parses,
                 "a sealed entry opens exactly when its body parses");
  EBB_FUZZ_CHECK(hash == internal::Sha256(body), "hash is of the body");
  if (opened.ok()) {
    // What `ebb audit export` prints for it; must not crash on any field.
    (void)ebb::ProtoToJson(*opened);
  }
}

void CheckChain(absl::string_view input) {
  std::vector<absl::string_view> bodies = absl::StrSplit(input, '\xfe');
  // StrSplit yields nothing for a null string_view (an empty fuzz input).
  if (bodies.empty()) bodies.emplace_back();
  std::vector<std::pair<std::string, std::string>> entries;
  internal::ChainPosition last;
  for (absl::string_view body : bodies) {
    ebb::v1::AuditRecord record;
    if (!record.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      record.Clear();
    }
    internal::ChainPosition next;
    const std::string value = internal::SealAuditRecord(last, &record, &next);
    entries.emplace_back(internal::AuditKey(next.seq), value);
    last = next;
  }

  internal::ChainVerifier intact(internal::ChainPosition(), false);
  for (const auto &[key, value] : entries) intact.Feed(key, value);
  intact.Finish(last);
  EBB_FUZZ_CHECK(intact.ok(), "a sealed chain verifies");

  const size_t victim =
      input.empty() ? 0 : static_cast<uint8_t>(input[0]) % entries.size();
  if (entries[victim].second == bodies[victim]) return;  // not a change
  internal::ChainVerifier tampered(internal::ChainPosition(), false);
  for (size_t i = 0; i < entries.size(); ++i) {
    tampered.Feed(entries[i].first,
                  i == victim ? bodies[victim] : entries[i].second);
  }
  tampered.Finish(last);
  EBB_FUZZ_CHECK(!tampered.ok(), "an unsealed entry breaks the chain");
  EBB_FUZZ_CHECK(tampered.first_bad_seq().has_value() &&
                     *tampered.first_bad_seq() <= victim + 1,
                 "the break is named at or before the changed entry");
  EBB_FUZZ_CHECK(!tampered.problem().empty(), "the break is explained");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char *>(data), size);
  CheckKeyAndPosition(input);
  CheckEntry(input);
  CheckChain(input);
  return 0;
}
