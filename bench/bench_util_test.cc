// Copyright ebb authors.

#include "bench/bench_util.h"

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace ebb::bench {
namespace {

TEST(ChatGeneratorTest, SameSeedGivesSameMessages) {
  ChatOptions options;
  options.active_conversations = 50;
  ChatGenerator a(options), b(options);
  std::vector<v1::Message> ma, mb;
  EXPECT_EQ(a.Next(500, &ma), b.Next(500, &mb));
  ASSERT_EQ(ma.size(), 500u);
  for (size_t i = 0; i < ma.size(); ++i) {
    EXPECT_EQ(ma[i].SerializeAsString(), mb[i].SerializeAsString()) << i;
  }
}

TEST(ChatGeneratorTest, ReturnsTotalSerializedSize) {
  ChatGenerator gen(ChatOptions{});
  std::vector<v1::Message> batch;
  const uint64_t bytes = gen.Next(100, &batch);
  uint64_t sum = 0;
  for (const v1::Message& m : batch) sum += m.SerializeAsString().size();
  EXPECT_EQ(bytes, sum);
}

TEST(ChatGeneratorTest, ContiguousConversationsAreCompleteAndInOrder) {
  ChatOptions options;
  options.active_conversations = 1;
  ChatGenerator gen(options);
  std::vector<v1::Message> batch;
  gen.Next(2000, &batch);
  // The last conversation started may be partial; all others are whole, with
  // seq 1..length and created_at rising by `step`.
  std::map<std::pair<std::string, std::string>, std::vector<const v1::Message*>>
      by;
  for (const v1::Message& m : batch)
    by[{m.tenant(), m.conversation()}].push_back(&m);
  const std::vector<ConversationRef>& refs = gen.conversations();
  ASSERT_GE(refs.size(), 2u);
  for (size_t c = 0; c + 1 < refs.size(); ++c) {
    const auto& msgs = by[{refs[c].tenant, refs[c].conversation}];
    ASSERT_EQ(msgs.size(), static_cast<size_t>(refs[c].length)) << c;
    EXPECT_GE(refs[c].length, options.min_conversation_length);
    EXPECT_LE(refs[c].length, options.max_conversation_length);
    for (size_t i = 0; i < msgs.size(); ++i) {
      EXPECT_EQ(msgs[i]->seq(), i + 1);
      if (i > 0) {
        EXPECT_EQ(msgs[i]->created_at().seconds() -
                      msgs[i - 1]->created_at().seconds(),
                  absl::ToInt64Seconds(options.step));
      }
    }
  }
}

TEST(ChatGeneratorTest, MessagesLookLikeChatWithinTheSpread) {
  ChatOptions options;
  options.active_conversations = 1000;
  ChatGenerator gen(options);
  std::vector<v1::Message> batch;
  const uint64_t bytes = gen.Next(5000, &batch);
  const int64_t now = absl::ToUnixSeconds(options.now);
  const int64_t earliest = absl::ToUnixSeconds(options.now - options.spread);
  for (const v1::Message& m : batch) {
    EXPECT_LT(m.created_at().seconds(), now);
    EXPECT_GE(m.created_at().seconds(), earliest);
    EXPECT_EQ(m.created_at().nanos(), 0);
    EXPECT_EQ(m.tenant().size(), std::string("tenant-017").size())
        << m.tenant();
    EXPECT_EQ(m.user().size(), std::string("user-00042").size()) << m.user();
    EXPECT_GE(m.text().size(), 300u);
    EXPECT_LE(m.text().size(), 500u);
    EXPECT_NE(m.role(), v1::ROLE_UNSPECIFIED);
  }
  const double mean = static_cast<double>(bytes) / batch.size();
  EXPECT_GT(mean, 400.0);
  EXPECT_LT(mean, 500.0);
}

TEST(ChatGeneratorTest, OnePerTenantCoversEveryTenantOnce) {
  ChatGenerator gen(ChatOptions{});
  std::vector<v1::Message> batch;
  gen.OnePerTenant(&batch);
  ASSERT_EQ(batch.size(), 200u);
  EXPECT_EQ(batch.front().tenant(), "tenant-000");
  EXPECT_EQ(batch.back().tenant(), "tenant-199");
}

TEST(RawKeyTest, KeyStartsWithItsConversationPrefixAndSortsBySeq) {
  std::string k2, k10;
  AppendRawKey("tenant-001", "conv-a", 2, &k2);
  AppendRawKey("tenant-001", "conv-a", 10, &k10);
  const std::string prefix = RawKeyPrefix("tenant-001", "conv-a");
  EXPECT_EQ(k2.compare(0, prefix.size(), prefix), 0);
  EXPECT_EQ(k2.size(), prefix.size() + 8);
  EXPECT_LT(k2, k10);
  // "conv-a" must not match "conv-ab"'s keys.
  std::string other;
  AppendRawKey("tenant-001", "conv-ab", 1, &other);
  EXPECT_NE(other.compare(0, prefix.size(), prefix), 0);
}

TEST(ScratchDirTest, IsCreatedEmptyAndRemoved) {
  std::string path;
  {
    ScratchDir dir("test");
    path = dir.path();
    EXPECT_TRUE(std::filesystem::is_directory(path));
    EXPECT_TRUE(std::filesystem::is_empty(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace ebb::bench
