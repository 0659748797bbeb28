// Copyright ebb authors.

#include "lib/ebb/internal/audit_chain.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/base/internal/endian.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ebb::internal {

std::string Sha256(absl::string_view bytes) {
  std::string out(kSha256Size, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

absl::StatusOr<std::string> NewSecret() {
  std::string out(kSha256Size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(out.size())) != 1) {
    return absl::InternalError("OpenSSL RAND_bytes failed to make a secret");
  }
  return out;
}

namespace {

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  std::string out(kSha256Size, '\0');
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       reinterpret_cast<unsigned char*>(out.data()), &size);
  out.resize(size);
  return out;
}

}  // namespace

std::string TenantKey(absl::string_view store_secret,
                      absl::string_view tenant) {
  // The NUL separates the label from the id (StrCat would stop at it in a
  // string literal, so it is spelled with its length).
  return HmacSha256(store_secret,
                    absl::StrCat(absl::string_view("ebb tenant key\0", 15),
                                 tenant));
}

std::string Pseudonym(absl::string_view tenant_key, v1::Scope scope,
                      absl::string_view id) {
  std::string input = v1::Scope_Name(scope);
  input.push_back('\0');
  input.append(id.data(), id.size());
  return absl::BytesToHexString(HmacSha256(tenant_key, input).substr(0, 16));
}

std::string AuditKey(uint64_t seq) {
  char buf[8];
  absl::big_endian::Store64(buf, seq);
  return absl::StrCat(kAuditPrefix, absl::string_view(buf, 8));
}

std::optional<uint64_t> ParseAuditKey(absl::string_view key) {
  const size_t prefix = sizeof(kAuditPrefix) - 1;
  if (key.size() != prefix + 8 || key.substr(0, prefix) != kAuditPrefix) {
    return std::nullopt;
  }
  return absl::big_endian::Load64(key.data() + prefix);
}

std::string EncodeChainPosition(const ChainPosition& position) {
  char buf[8];
  absl::big_endian::Store64(buf, position.seq);
  return absl::StrCat(absl::string_view(buf, 8), position.hash);
}

absl::StatusOr<ChainPosition> DecodeChainPosition(absl::string_view value) {
  if (value.size() != 8 + kSha256Size) {
    return absl::DataLossError(
        absl::StrCat("audit chain position is ", value.size(),
                     " bytes, expected ", 8 + kSha256Size));
  }
  ChainPosition out;
  out.seq = absl::big_endian::Load64(value.data());
  out.hash = std::string(value.substr(8));
  return out;
}

std::string SealAuditRecord(const ChainPosition& last, v1::AuditRecord* record,
                            ChainPosition* next) {
  record->set_seq(last.seq + 1);
  record->set_prev_hash(last.hash);
  const std::string body = record->SerializeAsString();
  next->seq = record->seq();
  next->hash = Sha256(body);
  return absl::StrCat(next->hash, body);
}

absl::StatusOr<v1::AuditRecord> OpenAuditEntry(uint64_t seq,
                                               absl::string_view value,
                                               std::string* hash) {
  if (value.size() < kSha256Size) {
    return absl::DataLossError(
        absl::StrCat("audit record ", seq, " is truncated"));
  }
  const absl::string_view body = value.substr(kSha256Size);
  *hash = Sha256(body);
  if (*hash != value.substr(0, kSha256Size)) {
    return absl::DataLossError(absl::StrCat(
        "audit record ", seq, " does not match its hash (changed)"));
  }
  v1::AuditRecord record;
  if (!record.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return absl::DataLossError(
        absl::StrCat("audit record ", seq, " does not parse"));
  }
  return record;
}

ChainVerifier::ChainVerifier(ChainPosition checkpoint, bool trimmed)
    : checkpoint_(checkpoint), last_(std::move(checkpoint)), trimmed_(trimmed) {}

void ChainVerifier::Fail(uint64_t seq, std::string problem) {
  if (first_bad_seq_.has_value()) return;
  first_bad_seq_ = seq;
  problem_ = std::move(problem);
}

bool ChainVerifier::Feed(absl::string_view key, absl::string_view value) {
  if (!ok()) return false;
  const uint64_t expected = last_.seq + 1;
  const std::optional<uint64_t> seq = ParseAuditKey(key);
  if (!seq.has_value()) {
    Fail(expected, "an entry with a malformed key sits in the ledger");
    return false;
  }
  if (*seq < expected) {
    Fail(*seq, absl::StrCat("audit record ", *seq,
                            " lies before the ledger's start (", expected,
                            ")"));
    return false;
  }
  if (*seq > expected) {
    Fail(expected, absl::StrCat("audit record ", expected, " is missing"));
    return false;
  }
  std::string hash;
  absl::StatusOr<v1::AuditRecord> record = OpenAuditEntry(*seq, value, &hash);
  if (!record.ok()) {
    Fail(*seq, std::string(record.status().message()));
    return false;
  }
  if (record->seq() != *seq) {
    Fail(*seq, absl::StrCat("audit record ", *seq, " holds record ",
                            record->seq(), " (moved or reordered)"));
    return false;
  }
  if (record->prev_hash() != last_.hash) {
    // Either record seq - 1 was changed and its own hash recomputed, or this
    // one's prev_hash was: name the first that may be bad.
    Fail(last_.seq == checkpoint_.seq ? *seq : last_.seq,
         absl::StrCat("audit record ", *seq, " does not follow record ",
                      last_.seq, " (its prev_hash differs): record ",
                      last_.seq, " or ", *seq,
                      " was changed, or one was inserted or replaced"));
    return false;
  }
  // The checkpoint a trimmed walk starts from is vouched for by a trim record
  // inside the chain that names it exactly.
  if (record->action() == v1::AUDIT_LEDGER_TRIM &&
      record->trimmed_through() == checkpoint_.seq &&
      record->trimmed_hash() == checkpoint_.hash) {
    checkpoint_confirmed_ = true;
  }
  last_.seq = *seq;
  last_.hash = std::move(hash);
  ++records_;
  return true;
}

void ChainVerifier::Finish(const std::optional<ChainPosition>& head) {
  if (!ok()) return;
  if (!head.has_value()) {
    if (records_ > 0 || trimmed_) {
      Fail(last_.seq, "the ledger's head entry is missing");
    }
    return;
  }
  if (head->seq > last_.seq) {
    Fail(last_.seq + 1,
         absl::StrCat("audit record ", last_.seq + 1, " is missing (the head "
                      "says the ledger runs to ", head->seq, ")"));
    return;
  }
  if (head->seq < last_.seq || head->hash != last_.hash) {
    Fail(head->seq + 1 <= last_.seq ? head->seq + 1 : last_.seq,
         absl::StrCat("the ledger's head (record ", head->seq,
                      ") does not match its last record (", last_.seq, ")"));
    return;
  }
  if (trimmed_ && !checkpoint_confirmed_) {
    Fail(last_.seq, "the ledger was trimmed but no trim record vouches for its "
                    "checkpoint");
  }
}

}  // namespace ebb::internal
