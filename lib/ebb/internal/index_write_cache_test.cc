// Copyright ebb authors.

#include "lib/ebb/internal/index_write_cache.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

using ::testing::ElementsAre;

TEST(IndexWriteCacheTest, RemovesOnlyEntriesMarkedWritten) {
  IndexWriteCache cache(10);
  std::vector<std::string> entries = {"a", "b", "c"};
  cache.RemoveWritten(&entries);
  EXPECT_THAT(entries, ElementsAre("a", "b", "c"));
  cache.MarkWritten({"a", "c"});
  entries = {"a", "b", "c"};
  cache.RemoveWritten(&entries);
  EXPECT_THAT(entries, ElementsAre("b"));
}

TEST(IndexWriteCacheTest, SameKeyWithAnotherValueIsNotWritten) {
  IndexWriteCache cache(10);
  cache.MarkWritten({"key|v1"});
  std::vector<std::string> entries = {"key|v2"};
  cache.RemoveWritten(&entries);
  EXPECT_THAT(entries, ElementsAre("key|v2"));
}

TEST(IndexWriteCacheTest, StartsOverWhenFullAndClearForgets) {
  IndexWriteCache cache(3);
  cache.MarkWritten({"a", "b", "c"});
  EXPECT_EQ(cache.size(), 3u);
  cache.MarkWritten({"d"});
  EXPECT_EQ(cache.size(), 1u);
  std::vector<std::string> entries = {"a", "d"};
  cache.RemoveWritten(&entries);
  EXPECT_THAT(entries, ElementsAre("a"));
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace ebb::internal
