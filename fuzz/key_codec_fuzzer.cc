// Copyright ebb authors.
//
// Fuzzes the key codec (lib/ebb/internal/key_codec.h): the parsers of every
// key ebb reads back from RocksDB, and the expiry-day arithmetic every key is
// built from. Invariants:
// - no crash on any bytes;
// - a key a parser accepts is exactly the key its encoder builds from the
//   parts (keys have one spelling, so a range scan cannot miss a variant);
// - PrefixSuccessor(p) sorts after every key that starts with p;
// - for any day start, the expiry day of (created_at, ttl) contains
//   created_at + ttl and the creation day contains created_at when it is
//   not clamped, and LatestCreatedAtIn(day, ttl), the bound index entries
//   carry, is never earlier than created_at (an index entry that claimed its
//   messages were older than they are would let a read skip live data);
// - every key ebb writes is in its column family's memtable insert-hint domain
//   and every prefix it deletes a range from is not (insert_hint.h: a range
//   deletion in the domain corrupts RocksDB 7.8's memtable).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "lib/ebb/internal/insert_hint.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/proto_time.h"

namespace {

using ebb::internal::ExpiryBucket;

std::string BigEndian32(uint32_t v) {
  std::string out(4, '\0');
  absl::big_endian::Store32(out.data(), v);
  return out;
}

void CheckMessageKey(absl::string_view key) {
  auto parts = ebb::internal::ParseMessageKey(key);
  if (!parts.has_value()) return;
  EBB_FUZZ_CHECK(
      ebb::internal::MessageKey(parts->bucket, parts->tenant,
                                parts->conversation, parts->seq) == key,
      "message key re-encodes to itself");
  EBB_FUZZ_CHECK(
      ebb::internal::TenantAt(key, ebb::internal::kMessageKeyTenantOffset) ==
          parts->tenant,
      "TenantAt agrees with the parser");
}

void CheckIndexKeys(absl::string_view key, size_t prefix_size) {
  if (auto parts =
          ebb::internal::ParseConversationBucketKey(key, prefix_size)) {
    EBB_FUZZ_CHECK(prefix_size <= key.size(), "prefix fits");
    const std::string rebuilt = std::string(key.substr(0, prefix_size)) +
                                BigEndian32(parts->bucket) +
                                static_cast<char>(parts->category);
    EBB_FUZZ_CHECK(rebuilt == key, "conversation-bucket key re-encodes");
  }
  if (auto parts = ebb::internal::ParseUserConversationKey(key, prefix_size)) {
    EBB_FUZZ_CHECK(prefix_size <= key.size(), "prefix fits");
    std::string rebuilt(key.substr(0, prefix_size));
    rebuilt.append(parts->conversation.data(), parts->conversation.size());
    rebuilt.push_back('\0');
    rebuilt += BigEndian32(parts->bucket);
    rebuilt.push_back(static_cast<char>(parts->category));
    EBB_FUZZ_CHECK(rebuilt == key, "user-conversation key re-encodes");
    EBB_FUZZ_CHECK(parts->conversation.find('\0') == absl::string_view::npos,
                   "conversation has no NUL");
  }
}

void CheckPrefixSuccessor(absl::string_view prefix) {
  const std::string successor = ebb::internal::PrefixSuccessor(prefix);
  if (successor.empty()) {
    EBB_FUZZ_CHECK(prefix.find_first_not_of('\xff') == absl::string_view::npos,
                   "no successor only for an all-0xFF prefix");
    return;
  }
  EBB_FUZZ_CHECK(successor > prefix, "successor sorts after the prefix");
  EBB_FUZZ_CHECK(!absl::StartsWith(successor, prefix),
                 "successor is outside the prefix range");
  const std::string largest = std::string(prefix) + std::string(16, '\xff');
  EBB_FUZZ_CHECK(successor > largest,
                 "successor sorts after keys that extend the prefix");
}

void CheckExpiryDay(int64_t created_micros_raw, uint64_t ttl_raw) {
  // created_at as Append accepts it (Timestamp's range, whole microseconds),
  // a TTL from one second to 10 000 years.
  const int64_t min_micros = absl::ToUnixMicros(ebb::internal::MinTimestamp());
  const int64_t max_micros = absl::ToUnixMicros(ebb::internal::MaxTimestamp());
  const uint64_t span = static_cast<uint64_t>(max_micros - min_micros) + 1;
  const int64_t micros =
      min_micros +
      static_cast<int64_t>(static_cast<uint64_t>(created_micros_raw) % span);
  const absl::Time created_at = absl::FromUnixMicros(micros);
  const absl::Duration ttl = absl::Seconds(
      1 + static_cast<int64_t>(ttl_raw % (uint64_t{10000} * 366 * 86400)));

  // Any day start a store may have (whole seconds of a day), from bits the
  // other two values use least.
  const absl::Duration day_start = absl::Seconds(static_cast<int64_t>(
      ((static_cast<uint64_t>(created_micros_raw) >> 40) ^ (ttl_raw >> 40)) %
      86400));

  const ExpiryBucket day =
      ebb::internal::ExpiryBucketFor(created_at, ttl, day_start);
  EBB_FUZZ_CHECK(day != ebb::internal::kKeepForeverBucket,
                 "a finite TTL never lands in the keep-forever bucket");
  EBB_FUZZ_CHECK(
      ebb::internal::LatestCreatedAtIn(day, ttl, day_start) >= created_at,
      "index bound is not earlier than created_at");
  const bool clamped = day == 0 || day == ebb::internal::kKeepForeverBucket - 1;
  if (!clamped) {
    EBB_FUZZ_CHECK(
        ebb::internal::BucketStart(day, day_start) <= created_at + ttl &&
            created_at + ttl < ebb::internal::BucketStart(day + 1, day_start),
        "expiry falls inside its day");
    // The creation day of the audit counts the same days.
    const int64_t day_start_micros = absl::ToInt64Microseconds(day_start);
    const int64_t created_day =
        ebb::internal::DayOfMicros(micros, day_start_micros);
    EBB_FUZZ_CHECK(ebb::internal::DayStartMicros(created_day,
                                                 day_start_micros) <= micros &&
                       micros < ebb::internal::DayStartMicros(created_day + 1,
                                                              day_start_micros),
                   "created_at falls inside its creation day");
  }
  EBB_FUZZ_CHECK(ebb::internal::ExpiryBucketFor(
                     created_at, absl::InfiniteDuration(), day_start) ==
                     ebb::internal::kKeepForeverBucket,
                 "infinite TTL keeps forever");
}

// Two ids from `input` as Append accepts them (non-empty, no NUL): the first
// two non-empty runs between NUL bytes. Checks the keys and prefixes built
// from them.
void CheckInsertHintDomain(absl::string_view input) {
  std::vector<absl::string_view> ids;
  for (absl::string_view piece : absl::StrSplit(input, '\0')) {
    if (!piece.empty()) ids.push_back(piece);
    if (ids.size() == 2) break;
  }
  if (ids.size() < 2) return;
  const absl::string_view first = ids[0];
  const absl::string_view second = ids[1];
  using namespace ebb::internal;  // NOLINT: many codec names below
  using ebb::v1::CATEGORY_TRANSCRIPT;
  const ExpiryBucket bucket = 20500;
  const TenantNumber tenant = 0x00000100;  // a NUL in the tenant bytes
  EBB_FUZZ_CHECK(IsCompleteMessageKey(MessageKey(bucket, tenant, first, 0)),
                 "a message key is in the hint domain");
  EBB_FUZZ_CHECK(IsCompleteIndexKey(ConversationBucketKey(tenant, first, bucket,
                                                          CATEGORY_TRANSCRIPT)),
                 "a conversation-bucket key is in the hint domain");
  EBB_FUZZ_CHECK(IsCompleteIndexKey(UserConversationKey(
                     tenant, first, second, bucket, CATEGORY_TRANSCRIPT)),
                 "a user-conversation key is in the hint domain");
  EBB_FUZZ_CHECK(!IsCompleteMessageKey(MessageKeyPrefix(bucket, tenant, first)),
                 "a conversation's message prefix is outside the domain");
  EBB_FUZZ_CHECK(!IsCompleteMessageKey(TenantBucketPrefix(bucket, tenant)),
                 "a tenant's day prefix is outside the domain");
  EBB_FUZZ_CHECK(!IsCompleteIndexKey(ConversationBucketsPrefix(tenant, first)),
                 "a conversation's index prefix is outside the domain");
  EBB_FUZZ_CHECK(!IsCompleteIndexKey(UserConversationsPrefix(tenant, first)),
                 "a user's index prefix is outside the domain");
  std::string user_conversation = UserConversationsPrefix(tenant, first);
  user_conversation.append(second.data(), second.size());
  user_conversation.push_back('\0');
  EBB_FUZZ_CHECK(!IsCompleteIndexKey(user_conversation),
                 "a user's conversation prefix is outside the domain");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char *>(data), size);
  CheckMessageKey(input);
  if (!input.empty()) {
    // The first byte says where the scanned prefix ends in the rest.
    const absl::string_view key = input.substr(1);
    CheckIndexKeys(key, static_cast<uint8_t>(input[0]) % (key.size() + 8));
  }
  CheckPrefixSuccessor(input);
  CheckInsertHintDomain(input);
  if (size >= 16) {
    CheckExpiryDay(static_cast<int64_t>(absl::big_endian::Load64(data)),
                   absl::big_endian::Load64(data + 8));
  }
  return 0;
}
