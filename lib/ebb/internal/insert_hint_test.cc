// Copyright ebb authors.

#include "lib/ebb/internal/insert_hint.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/ebb/internal/key_codec.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace ebb::internal {
namespace {

using ::testing::ElementsAreArray;

constexpr ExpiryBucket kBucket = 20500;
constexpr TenantNumber kTenant = 7;

TEST(InsertHintTest, CompleteMessageKeysAreInTheDomainAndPrefixesAreNot) {
  EXPECT_TRUE(IsCompleteMessageKey(MessageKey(kBucket, kTenant, "c", 0)));
  EXPECT_TRUE(IsCompleteMessageKey(
      MessageKey(kBucket, kTenant, "conv-2026-01-10-000123", 42)));
  // Every prefix ebb deletes a range from, for short and long ids: a
  // conversation's prefix ends in its terminator, not in a seq.
  for (const std::string id : {"c", "conv-1", "conv-2026-01-10-000123"}) {
    EXPECT_FALSE(IsCompleteMessageKey(MessageKeyPrefix(kBucket, kTenant, id)))
        << id;
  }
  EXPECT_FALSE(IsCompleteMessageKey(TenantBucketPrefix(kBucket, kTenant)));
  EXPECT_FALSE(IsCompleteMessageKey(""));
  // Ids hold no NUL, so a NUL inside the conversation is not a key.
  std::string nul_inside = MessageKey(kBucket, kTenant, "ab", 1);
  nul_inside[9] = '\0';
  EXPECT_FALSE(IsCompleteMessageKey(nul_inside));
}

TEST(InsertHintTest, CompleteIndexKeysAreInTheDomainAndPrefixesAreNot) {
  for (const std::string id : {"c", "conv-1", "conv-2026-01-10-000123"}) {
    EXPECT_TRUE(IsCompleteIndexKey(
        ConversationBucketKey(kTenant, id, kBucket, v1::CATEGORY_TRANSCRIPT)))
        << id;
    EXPECT_TRUE(IsCompleteIndexKey(UserConversationKey(
        kTenant, "u", id, kBucket, v1::CATEGORY_DIAGNOSTIC_LOG)))
        << id;
    EXPECT_FALSE(IsCompleteIndexKey(ConversationBucketsPrefix(kTenant, id)))
        << id;
    EXPECT_FALSE(IsCompleteIndexKey(UserConversationsPrefix(kTenant, id)))
        << id;
    // An erasure's prefix for one user's entries of one conversation.
    for (const std::string conversation : {"c", "abcd", "conv-1"}) {
      std::string user_conversation = UserConversationsPrefix(kTenant, id);
      user_conversation += conversation;
      user_conversation.push_back('\0');
      EXPECT_FALSE(IsCompleteIndexKey(user_conversation))
          << id << " " << conversation;
    }
  }
  std::string tenant_prefix = ConversationBucketsPrefix(kTenant, "c");
  tenant_prefix.resize(sizeof(TenantNumber));
  EXPECT_FALSE(IsCompleteIndexKey(tenant_prefix));
  // A 'U' key needs both ids; a 'C' key has one; other tags are not index
  // entries.
  std::string no_conversation = UserConversationKey(
      kTenant, "user", "c", kBucket, v1::CATEGORY_TRANSCRIPT);
  no_conversation.erase(no_conversation.find("user\0c", 0, 6) + 5, 1);
  EXPECT_FALSE(IsCompleteIndexKey(no_conversation));
  std::string c_with_two_ids = UserConversationKey(
      kTenant, "user", "c", kBucket, v1::CATEGORY_TRANSCRIPT);
  c_with_two_ids[4] = kConversationBucketsTag;
  EXPECT_FALSE(IsCompleteIndexKey(c_with_two_ids));
  std::string other_tag =
      ConversationBucketKey(kTenant, "c", kBucket, v1::CATEGORY_TRANSCRIPT);
  other_tag[4] = 'X';
  EXPECT_FALSE(IsCompleteIndexKey(other_tag));
}

TEST(InsertHintTest, PrefixesAreBucketAndTenantOrTenantAndKind) {
  auto message_hint = NewMessageInsertHint();
  const std::string key = MessageKey(kBucket, kTenant, "conv", 3);
  EXPECT_EQ(message_hint->Transform(key).ToString(),
            TenantBucketPrefix(kBucket, kTenant));
  auto index_hint = NewIndexInsertHint();
  const std::string entry =
      ConversationBucketKey(kTenant, "conv", kBucket, v1::CATEGORY_TRANSCRIPT);
  EXPECT_EQ(index_hint->Transform(entry).ToString(), entry.substr(0, 5));
}

// facebook/rocksdb#5118 in the shape ebb uses: range deletions from prefixes
// mixed with inserts of the same hint prefix, in one memtable. With a start
// key in the hint domain, Debian's RocksDB 7.8.3 aborts here on an assertion
// (and a build without assertions loses keys).
TEST(InsertHintTest, RangeDeletionsFromPrefixesAndHintedInsertsShareAMemtable) {
  const std::string dir =
      std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR")
                                             : "/tmp") +
      "/insert_hint_test";
  std::filesystem::remove_all(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.memtable_insert_with_hint_prefix_extractor = NewMessageInsertHint();
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  const rocksdb::WriteOptions write;

  std::vector<std::string> expected;
  for (int round = 0; round < 20; ++round) {
    for (int c = 0; c < 5; ++c) {
      const std::string conversation =
          "conv-" + std::to_string(round) + "-" + std::to_string(c);
      for (uint64_t seq = 0; seq < 4; ++seq) {
        const std::string key = MessageKey(kBucket, kTenant, conversation, seq);
        ASSERT_TRUE(db->Put(write, key, "v").ok());
        if (c != 2) expected.push_back(key);
      }
    }
    // Erase conversation 2 of this round the way an erasure does.
    const std::string prefix = MessageKeyPrefix(
        kBucket, kTenant, "conv-" + std::to_string(round) + "-2");
    ASSERT_TRUE(db->DeleteRange(write, db->DefaultColumnFamily(), prefix,
                                PrefixSuccessor(prefix))
                    .ok());
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> found;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    found.push_back(it->key().ToString());
  }
  ASSERT_TRUE(it->status().ok());
  it.reset();
  EXPECT_THAT(found, ElementsAreArray(expected));
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ebb::internal
