// Copyright ebb authors.

#include "lib/ebb/internal/key_codec.h"

#include <string>

#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

const absl::Time kDay100 = absl::UnixEpoch() + absl::Hours(24 * 100);
// Days that begin at midnight UTC, as in stores created without a day start.
constexpr absl::Duration kMidnight = absl::ZeroDuration();

TEST(ExpiryBucketTest, IsTheDayTheTtlRunsOut) {
  EXPECT_EQ(ExpiryBucketFor(kDay100, absl::Hours(24 * 30), kMidnight), 130u);
  EXPECT_EQ(ExpiryBucketFor(kDay100 + absl::Hours(23), absl::Hours(24 * 30),
                            kMidnight),
            130u);
  EXPECT_EQ(ExpiryBucketFor(kDay100 + absl::Hours(24), absl::Hours(24 * 30),
                            kMidnight),
            131u);
  EXPECT_EQ(BucketStart(130, kMidnight), kDay100 + absl::Hours(24 * 30));
}

TEST(ExpiryBucketTest, KeepForeverSortsLastAndFiniteTtlsNeverReachIt) {
  EXPECT_EQ(ExpiryBucketFor(kDay100, absl::InfiniteDuration(), kMidnight),
            kKeepForeverBucket);
  EXPECT_EQ(BucketStart(kKeepForeverBucket, kMidnight), absl::InfiniteFuture());
  // A huge finite TTL clamps below the forever bucket instead of wrapping.
  EXPECT_EQ(
      ExpiryBucketFor(kDay100, absl::Hours(24) * (int64_t{1} << 40), kMidnight),
      kKeepForeverBucket - 1);
}

TEST(ExpiryBucketTest, BeforeTheEpochFloorsAndClampsAtZero) {
  EXPECT_EQ(ExpiryBucketFor(absl::UnixEpoch() - absl::Hours(1), absl::Hours(2),
                            kMidnight),
            0u);
  EXPECT_EQ(ExpiryBucketFor(absl::UnixEpoch() - absl::Hours(24 * 400),
                            absl::Hours(24), kMidnight),
            0u);
}

TEST(ExpiryBucketTest, LatestCreatedAtInBoundsEveryMessageOfTheBucket) {
  const absl::Duration ttl = absl::Hours(24 * 30) + absl::Minutes(7);
  const ExpiryBucket bucket = ExpiryBucketFor(kDay100, ttl, kMidnight);
  const absl::Time bound = LatestCreatedAtIn(bucket, ttl, kMidnight);
  // The bound itself is in the bucket; one microsecond later is not.
  EXPECT_EQ(ExpiryBucketFor(bound, ttl, kMidnight), bucket);
  EXPECT_EQ(ExpiryBucketFor(bound + absl::Microseconds(1), ttl, kMidnight),
            bucket + 1);
  EXPECT_GE(bound, kDay100);
  EXPECT_EQ(LatestCreatedAtIn(kKeepForeverBucket, absl::InfiniteDuration(),
                              kMidnight),
            absl::InfiniteFuture());
}

TEST(ExpiryBucketTest, DaysBeginAtTheDayStart) {
  // Days that begin at 02:00 UTC: day 130 runs from 02:00 on day 130 to
  // 02:00 on day 131, so an expiry at 01:59 still falls in day 129.
  const absl::Duration two_am = absl::Hours(2);
  const absl::Duration ttl = absl::Hours(24 * 30);
  EXPECT_EQ(BucketStart(130, two_am), kDay100 + ttl + two_am);
  EXPECT_EQ(ExpiryBucketFor(kDay100 + two_am, ttl, two_am), 130u);
  EXPECT_EQ(
      ExpiryBucketFor(kDay100 + two_am - absl::Microseconds(1), ttl, two_am),
      129u);
  EXPECT_EQ(ExpiryBucketFor(kDay100 + absl::Hours(25), ttl, two_am), 130u);
  // The index bound is the last microsecond whose expiry is still in the day.
  const absl::Time bound = LatestCreatedAtIn(130, ttl, two_am);
  EXPECT_EQ(bound, kDay100 + absl::Hours(26) - absl::Microseconds(1));
  EXPECT_EQ(ExpiryBucketFor(bound, ttl, two_am), 130u);
  EXPECT_EQ(ExpiryBucketFor(bound + absl::Microseconds(1), ttl, two_am), 131u);
  // Creation days count in the same days, before the epoch too.
  const int64_t two_am_micros = absl::ToInt64Microseconds(two_am);
  EXPECT_EQ(DayOfMicros(absl::ToUnixMicros(kDay100 + two_am), two_am_micros),
            100);
  EXPECT_EQ(
      DayOfMicros(absl::ToUnixMicros(kDay100 + two_am) - 1, two_am_micros), 99);
  EXPECT_EQ(DayOfMicros(0, two_am_micros), -1);
  EXPECT_EQ(DayStartMicros(100, two_am_micros),
            absl::ToUnixMicros(kDay100 + two_am));
  EXPECT_EQ(DayStartMicros(-1, two_am_micros), two_am_micros - kMicrosPerDay);
}

TEST(MessageKeyTest, RoundTrips) {
  const std::string key = MessageKey(130, 7, "conv-1", 42);
  std::optional<MessageKeyParts> parts = ParseMessageKey(key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->bucket, 130u);
  EXPECT_EQ(parts->tenant, 7u);
  EXPECT_EQ(parts->conversation, "conv-1");
  EXPECT_EQ(parts->seq, 42u);
  EXPECT_EQ(TenantAt(key, kMessageKeyTenantOffset), 7u);
}

TEST(MessageKeyTest, OrdersByBucketThenTenantThenConversationThenSeq) {
  EXPECT_LT(MessageKey(1, 9, "z", 9), MessageKey(2, 0, "a", 0));
  EXPECT_LT(MessageKey(1, 1, "z", 9), MessageKey(1, 2, "a", 0));
  EXPECT_LT(MessageKey(1, 1, "a", 0xFFFFFFFF), MessageKey(1, 1, "b", 0));
  EXPECT_LT(MessageKey(1, 1, "a", 255), MessageKey(1, 1, "a", 256));
}

TEST(MessageKeyTest, ConversationPrefixDoesNotMatchLongerIds) {
  const std::string prefix = MessageKeyPrefix(1, 1, "ab");
  EXPECT_EQ(MessageKey(1, 1, "ab", 5).rfind(prefix, 0), 0u);
  EXPECT_NE(MessageKey(1, 1, "abc", 5).rfind(prefix, 0), 0u);
}

TEST(MessageKeyTest, MalformedKeysDoNotParse) {
  EXPECT_FALSE(ParseMessageKey("").has_value());
  EXPECT_FALSE(ParseMessageKey("short").has_value());
  std::string key = MessageKey(1, 1, "c", 1);
  key[key.size() - 9] = 'x';  // the terminator
  EXPECT_FALSE(ParseMessageKey(key).has_value());
  EXPECT_FALSE(TenantAt("abc", 0).has_value());
}

TEST(IndexKeyTest, ConversationBucketRoundTrips) {
  const std::string prefix = ConversationBucketsPrefix(3, "c1");
  const std::string key =
      ConversationBucketKey(3, "c1", 131, v1::CATEGORY_DIAGNOSTIC_LOG);
  ASSERT_EQ(key.rfind(prefix, 0), 0u);
  auto parts = ParseConversationBucketKey(key, prefix.size());
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->bucket, 131u);
  EXPECT_EQ(parts->category, v1::CATEGORY_DIAGNOSTIC_LOG);
  EXPECT_EQ(TenantAt(key, kIndexKeyTenantOffset), 3u);
  EXPECT_FALSE(ParseConversationBucketKey(key + "x", prefix.size()));
}

TEST(IndexKeyTest, UserConversationRoundTrips) {
  const std::string prefix = UserConversationsPrefix(3, "u1");
  const std::string key =
      UserConversationKey(3, "u1", "conv-9", 131, v1::CATEGORY_TRANSCRIPT);
  ASSERT_EQ(key.rfind(prefix, 0), 0u);
  auto parts = ParseUserConversationKey(key, prefix.size());
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->conversation, "conv-9");
  EXPECT_EQ(parts->bucket, 131u);
  EXPECT_EQ(parts->category, v1::CATEGORY_TRANSCRIPT);
  // Another user whose id extends this one's is not under the prefix.
  EXPECT_NE(UserConversationKey(3, "u10", "c", 1, v1::CATEGORY_TRANSCRIPT)
                .rfind(prefix, 0),
            0u);
}

TEST(IndexKeyTest, UnknownCategoryByteDoesNotParse) {
  const std::string prefix = UserConversationsPrefix(3, "u1");
  std::string key =
      UserConversationKey(3, "u1", "c", 7, v1::CATEGORY_TRANSCRIPT);
  key.back() = 0;  // CATEGORY_UNSPECIFIED is never stored
  EXPECT_FALSE(ParseUserConversationKey(key, prefix.size()).has_value());
  key.back() = 99;
  EXPECT_FALSE(ParseUserConversationKey(key, prefix.size()).has_value());
}

TEST(PrefixSuccessorTest, IncrementsTheLastByteThatCan) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
}

}  // namespace
}  // namespace ebb::internal
