// Copyright ebb authors.

#include "lib/ebb/internal/index_write_cache.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

using ::testing::ElementsAre;
using Fingerprint = IndexWriteCache::Fingerprint;

std::vector<Fingerprint> Of(const std::vector<std::string>& identities) {
  std::vector<Fingerprint> out;
  for (const std::string& id : identities) {
    out.push_back(IndexWriteCache::FingerprintOf(id));
  }
  return out;
}

TEST(IndexWriteCacheTest, KnowsOnlyWritesMarkedWritten) {
  IndexWriteCache cache(10);
  EXPECT_THAT(cache.Written(Of({"a", "b", "c"})),
              ElementsAre(false, false, false));
  cache.MarkWritten(Of({"a", "c"}));
  EXPECT_THAT(cache.Written(Of({"a", "b", "c"})),
              ElementsAre(true, false, true));
}

TEST(IndexWriteCacheTest, IdentitiesDifferingAnywhereAreDifferent) {
  IndexWriteCache cache(10);
  // Same key, another bound; a NUL inside; a prefix; one byte changed.
  const std::string base("key\0user|v1", 11);
  cache.MarkWritten(Of({base}));
  EXPECT_THAT(cache.Written(Of({std::string("key\0user|v2", 11),
                                std::string("key\0user|v", 10), "key",
                                std::string("kez\0user|v1", 11), base})),
              ElementsAre(false, false, false, false, true));
}

TEST(IndexWriteCacheTest, FingerprintsAreTwoDifferentHashes) {
  // Equal halves would make the second hash add nothing.
  const Fingerprint f = IndexWriteCache::FingerprintOf("tenant/conversation");
  EXPECT_NE(f.first, f.second);
  EXPECT_EQ(f, IndexWriteCache::FingerprintOf("tenant/conversation"));
}

TEST(IndexWriteCacheTest, StartsOverWhenFullAndClearForgets) {
  IndexWriteCache cache(3);
  cache.MarkWritten(Of({"a", "b", "c"}));
  EXPECT_EQ(cache.size(), 3u);
  cache.MarkWritten(Of({"d"}));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_THAT(cache.Written(Of({"a", "d"})), ElementsAre(false, true));
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_THAT(cache.Written(Of({"d"})), ElementsAre(false));
}

}  // namespace
}  // namespace ebb::internal
