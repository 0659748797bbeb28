// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: key_codec.h
// -----------------------------------------------------------------------------
//
// The RocksDB key layout. docs/storage-layout.md explains why it looks like
// this; in short, messages are clustered by the day their retention runs out
// (the "expiry bucket"), so that a night's purge can drop whole files instead
// of rewriting live data, and two small indexes make reading a conversation and
// listing a user's conversations a few seeks.
//
// All integers are big-endian so that byte order is numeric order. Ids are
// validated to contain no NUL byte, which therefore terminates them.
//
//   column family "messages":
//     [bucket u32][tenant u32][conversation bytes][0x00][seq u64]
//   column family "index":
//     [tenant u32]['C'][conversation][0x00][bucket u32][category u8]
//         the conversation has messages of that category in that bucket
//     [tenant u32]['U'][user][0x00][conversation][0x00][bucket u32][category
//     u8]
//         the same, listed under the user the messages are with
//
// `tenant` is a number the store assigns to each tenant id on first use (kept
// in the metadata column family), so keys have a fixed-width tenant field the
// compaction filter reads without parsing.

#ifndef EBB_INTERNAL_KEY_CODEC_H_
#define EBB_INTERNAL_KEY_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/internal/endian.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ebb/v1/message.pb.h"

namespace ebb::internal {

using TenantNumber = uint32_t;

// ebb's days are 24-hour periods that begin at a fixed time of day, UTC: the
// store's day start (Options::day_start; midnight unless the store was created
// with another), 0 <= day_start < 24 h. Day n begins at
// 1970-01-01 00:00 UTC + n days + day_start. Expiry buckets and the creation
// days that audit records count per are both such days. A nightly purge that
// runs just before the day start finds the current expiry day almost wholly
// expired, so compacting it rewrites little (docs/storage-layout.md).

// The day on which a message's retention runs out, as computed with the TTL in
// force when it was written.
using ExpiryBucket = uint32_t;

// The bucket of data kept forever: sorts after every real day.
inline constexpr ExpiryBucket kKeepForeverBucket = 0xFFFFFFFF;

// The day that created_at + ttl falls in, clamped to
// [0, kKeepForeverBucket - 1] for a finite TTL; kKeepForeverBucket for an
// infinite one.
ExpiryBucket ExpiryBucketFor(absl::Time created_at, absl::Duration ttl,
                             absl::Duration day_start);

// The first instant of `bucket`'s day (InfiniteFuture for kKeepForeverBucket).
absl::Time BucketStart(ExpiryBucket bucket, absl::Duration day_start);

// An upper bound on the created_at of any message that ExpiryBucketFor puts in
// `bucket` with `ttl`: created_at + ttl < start of the next day, so created_at
// is at most that minus ttl minus one microsecond (created_at is stored in
// whole microseconds). InfiniteFuture for an infinite TTL. Index entries carry
// max(this, the message's own created_at) so that they are the same for every
// message of a conversation in a bucket: written once, not once per message.
absl::Time LatestCreatedAtIn(ExpiryBucket bucket, absl::Duration ttl,
                             absl::Duration day_start);

// Microseconds in a day, the unit of expiry days and creation days.
inline constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000 * 1000;

// The day that `micros` (since the Unix epoch) falls in, for days beginning
// `day_start_micros` after midnight UTC, rounded down for instants before
// the first. Audit records count expiry per such creation day.
inline int64_t DayOfMicros(int64_t micros, int64_t day_start_micros) {
  // Both are within a few hundred thousand years of 1970 (the record header's
  // range), so the subtraction does not overflow.
  const int64_t shifted = micros - day_start_micros;
  int64_t day = shifted / kMicrosPerDay;
  if (shifted % kMicrosPerDay < 0) --day;
  return day;
}

// The first microsecond of `day` (as DayOfMicros counts them).
inline int64_t DayStartMicros(int64_t day, int64_t day_start_micros) {
  return day * kMicrosPerDay + day_start_micros;
}

// Where each key kind keeps its tenant number.
inline constexpr size_t kMessageKeyTenantOffset = 4;
inline constexpr size_t kIndexKeyTenantOffset = 0;

// The big-endian tenant number at `offset`, or nullopt if `key` is too short.
// Inline: the compaction filter calls it for every record.
inline std::optional<TenantNumber> TenantAt(absl::string_view key,
                                            size_t offset) {
  if (key.size() < offset + 4) return std::nullopt;
  return absl::big_endian::Load32(key.data() + offset);
}

// ---- messages

// [bucket][tenant][conversation][0x00]: every message of one conversation in
// one bucket, in seq order.
std::string MessageKeyPrefix(ExpiryBucket bucket, TenantNumber tenant,
                             absl::string_view conversation);
// [bucket][tenant]: every message of one tenant in one bucket.
std::string TenantBucketPrefix(ExpiryBucket bucket, TenantNumber tenant);
std::string MessageKey(ExpiryBucket bucket, TenantNumber tenant,
                       absl::string_view conversation, uint64_t seq);

struct MessageKeyParts {
  ExpiryBucket bucket;
  TenantNumber tenant;
  absl::string_view conversation;  // points into the parsed key
  uint64_t seq;
};
std::optional<MessageKeyParts> ParseMessageKey(absl::string_view key);

// ---- index

inline constexpr char kConversationBucketsTag = 'C';
inline constexpr char kUserConversationsTag = 'U';

std::string ConversationBucketsPrefix(TenantNumber tenant,
                                      absl::string_view conversation);
std::string ConversationBucketKey(TenantNumber tenant,
                                  absl::string_view conversation,
                                  ExpiryBucket bucket,
                                  v1::DataCategory category);

struct ConversationBucketParts {
  ExpiryBucket bucket;
  v1::DataCategory category;
};
// Parses a key that starts with ConversationBucketsPrefix(..) of `prefix_size`.
std::optional<ConversationBucketParts> ParseConversationBucketKey(
    absl::string_view key, size_t prefix_size);

std::string UserConversationsPrefix(TenantNumber tenant,
                                    absl::string_view user);
std::string UserConversationKey(TenantNumber tenant, absl::string_view user,
                                absl::string_view conversation,
                                ExpiryBucket bucket, v1::DataCategory category);

struct UserConversationParts {
  absl::string_view conversation;  // points into the parsed key
  ExpiryBucket bucket;
  v1::DataCategory category;
};
// Parses a key that starts with UserConversationsPrefix(..) of `prefix_size`.
std::optional<UserConversationParts> ParseUserConversationKey(
    absl::string_view key, size_t prefix_size);

// ---- helpers

// The smallest key greater than every key that starts with `prefix`, for use as
// an iterator's upper bound. Empty if there is none (prefix all 0xFF).
std::string PrefixSuccessor(absl::string_view prefix);

// True if `category` is one ebb stores (not UNSPECIFIED, not unknown). A range
// check, inline: the compaction filter calls it for every record.
inline bool IsStoredCategory(int category) {
  static_assert(v1::DataCategory_MIN == 0 && v1::DataCategory_MAX == 3,
                "a new DataCategory must be added here and to "
                "kStoredCategories");
  return category >= v1::CATEGORY_TRANSCRIPT &&
         category <= v1::CATEGORY_DIAGNOSTIC_LOG;
}

// Every category ebb stores, in enum order.
inline constexpr v1::DataCategory kStoredCategories[] = {
    v1::CATEGORY_TRANSCRIPT, v1::CATEGORY_TRAINING_EXAMPLE,
    v1::CATEGORY_DIAGNOSTIC_LOG};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_KEY_CODEC_H_
