// Copyright ebb authors.

#include "lib/ebb/internal/bucket_cache.h"

#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

BucketCache::Entry At(ExpiryBucket bucket, int64_t bound = 100) {
  return {bucket, {v1::CATEGORY_TRANSCRIPT, bound}};
}

std::vector<ExpiryBucket> Buckets(const BucketCache& cache, TenantNumber t,
                                  absl::string_view conversation) {
  std::vector<BucketCache::Entry> entries;
  std::vector<ExpiryBucket> out;
  if (!cache.Lookup(t, conversation, &entries)) return {999};
  for (const auto& e : entries) out.push_back(e.bucket);
  return out;
}

TEST(BucketCacheTest, MissThenFillThenHit) {
  BucketCache cache(10);
  std::vector<BucketCache::Entry> entries;
  EXPECT_FALSE(cache.Lookup(1, "c", &entries));
  cache.Fill(1, "c", cache.Epoch(1, "c"), {At(5), At(7)});
  EXPECT_EQ(Buckets(cache, 1, "c"), (std::vector<ExpiryBucket>{5, 7}));
  EXPECT_FALSE(cache.Lookup(2, "c", &entries));  // tenants are separate
}

TEST(BucketCacheTest, FillAfterAConcurrentWriteIsDropped) {
  BucketCache cache(10);
  const uint64_t epoch = cache.Epoch(1, "c");
  // A writer stores bucket 9 while the reader's scan (which missed it) runs.
  cache.Added(1, "c", At(9));
  cache.Fill(1, "c", epoch, {At(5)});
  std::vector<BucketCache::Entry> entries;
  EXPECT_FALSE(cache.Lookup(1, "c", &entries));
  // The next read scans again and fills.
  cache.Fill(1, "c", cache.Epoch(1, "c"), {At(5), At(9)});
  EXPECT_EQ(Buckets(cache, 1, "c"), (std::vector<ExpiryBucket>{5, 9}));
}

TEST(BucketCacheTest, WritesExtendCachedEntriesInOrderAndRaiseBounds) {
  BucketCache cache(10);
  cache.Fill(1, "c", cache.Epoch(1, "c"), {At(5, 100), At(9, 100)});
  cache.Added(1, "c", At(7));
  cache.Added(1, "c", At(9, 300));
  std::vector<BucketCache::Entry> entries;
  ASSERT_TRUE(cache.Lookup(1, "c", &entries));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1].bucket, 7u);
  EXPECT_EQ(entries[2].header.created_at_micros, 300);
}

TEST(BucketCacheTest, ClearForgetsAndInvalidatesScansInFlight) {
  BucketCache cache(10);
  const uint64_t epoch = cache.Epoch(1, "c");
  cache.Clear();
  cache.Fill(1, "c", epoch, {At(5)});
  std::vector<BucketCache::Entry> entries;
  EXPECT_FALSE(cache.Lookup(1, "c", &entries));
}

TEST(BucketCacheTest, BoundedByStartingOver) {
  BucketCache cache(2);
  cache.Fill(1, "a", cache.Epoch(1, "a"), {At(1)});
  cache.Fill(1, "b", cache.Epoch(1, "b"), {At(1)});
  cache.Fill(1, "c", cache.Epoch(1, "c"), {At(1)});
  std::vector<BucketCache::Entry> entries;
  EXPECT_FALSE(cache.Lookup(1, "a", &entries));
  EXPECT_TRUE(cache.Lookup(1, "c", &entries));
}

}  // namespace
}  // namespace ebb::internal
