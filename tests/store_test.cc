// Copyright ebb authors.
//
// Integration tests of ebb::Store through its public API, with RocksDB's own
// view of the directory to check what compaction physically removed.

#include "lib/ebb/store.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "tests/test_util.h"

namespace ebb {
namespace {

using ::ebb::testing::Days;
using ::ebb::testing::MakeMessage;
using ::ebb::testing::RawKeys;
using ::ebb::testing::T0;
using ::ebb::testing::TempDir;
using ::ebb::testing::TestOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = TestOptions(&clock_);
    Reopen();
  }

  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(options_, dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void Close() {
    ASSERT_TRUE(store_->Close().ok());
    store_.reset();
  }

  // The seqs ReadConversation returns (and ReadConversationSerialized, which
  // ReadBothWays holds to the same answer).
  std::vector<uint64_t> Seqs(const std::string& tenant,
                             const std::string& conversation) {
    absl::StatusOr<std::vector<v1::Message>> read =
        testing::ReadBothWays(*store_, tenant, conversation);
    EXPECT_TRUE(read.ok()) << read.status();
    std::vector<uint64_t> seqs;
    if (read.ok()) {
      for (const v1::Message& m : *read) seqs.push_back(m.seq());
    }
    return seqs;
  }

  // Appends `m` as a chat server would when it happens: the clock is moved up
  // to the message's created_at first if it is behind.
  void AppendOk(const v1::Message& m) {
    const absl::Time created_at =
        absl::FromUnixSeconds(m.created_at().seconds()) +
        absl::Nanoseconds(m.created_at().nanos());
    if (clock_->Now() < created_at) clock_->Set(created_at);
    absl::Status s = store_->Append(m);
    ASSERT_TRUE(s.ok()) << s;
  }

  TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  Options options_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, AppendedMessagesReadBackInSeqOrderExactly) {
  v1::Message third = MakeMessage("acme", "u1", "c1", 3, T0(), "third");
  (*third.mutable_metadata())["channel"] = "web";
  AppendOk(third);
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0() - absl::Hours(1), "first"));
  AppendOk(
      MakeMessage("acme", "u1", "c1", 2, T0() - absl::Minutes(30), "second"));
  AppendOk(MakeMessage("acme", "u1", "other", 1, T0(), "elsewhere"));

  absl::StatusOr<std::vector<v1::Message>> read =
      testing::ReadBothWays(*store_, "acme", "c1");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[0].text(), "first");
  EXPECT_EQ((*read)[1].text(), "second");
  EXPECT_EQ((*read)[2].SerializeAsString(), third.SerializeAsString());
}

TEST_F(StoreTest, RetriedAppendIsIdempotent) {
  const v1::Message m = MakeMessage("acme", "u1", "c1", 1, T0());
  AppendOk(m);
  AppendOk(m);
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1));
}

TEST_F(StoreTest, ExpiryIsExactAtTheTtlBoundary) {
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  clock_->Set(T0() + Days(30));  // age == TTL: still kept
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1));
  clock_->Set(T0() + Days(30) + absl::Microseconds(1));
  EXPECT_THAT(Seqs("acme", "c1"), IsEmpty());
}

// Cassandra once kept expiry in 32-bit seconds and deleted data around
// 2038-01-19T03:14:07Z. ebb keeps microseconds in 64 bits and days in 32.
TEST_F(StoreTest, ExpiryAcrossThe2038EdgeIsExact) {
  const absl::Time edge = absl::FromUnixSeconds(int64_t{INT32_MAX});
  AppendOk(MakeMessage("acme", "u1", "c1", 1, edge - absl::Seconds(1)));
  AppendOk(MakeMessage("acme", "u1", "c1", 2, edge));
  AppendOk(MakeMessage("acme", "u1", "c1", 3, edge + absl::Seconds(1)));
  clock_->Set(edge + Days(30));  // seq 1 is 30 d + 1 s old, seq 2 exactly 30 d
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2, 3));
  absl::StatusOr<PurgeReport> purge = store_->Purge(PurgeOptions());
  ASSERT_TRUE(purge.ok()) << purge.status();
  EXPECT_EQ(purge->expiry.messages, 1u);
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2, 3));
  clock_->Set(edge + Days(30) + absl::Seconds(1));
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(3));
  Reopen();
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(3));
}

TEST_F(StoreTest, TtlLongerThanInt32SecondsKeepsDataThatLong) {
  options_.retention.max_ttl = Days(365 * 100);
  Reopen();
  const absl::Duration seventy_years = Days(365 * 70);  // > 2^31 s
  ASSERT_TRUE(
      store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, seventy_years).ok());
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  clock_->Set(T0() + seventy_years);
  ASSERT_TRUE(store_->Purge(PurgeOptions()).ok());
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1));
  clock_->Set(T0() + seventy_years + absl::Microseconds(1));
  EXPECT_THAT(Seqs("acme", "c1"), IsEmpty());
  absl::StatusOr<PurgeReport> purge = store_->Purge(PurgeOptions());
  ASSERT_TRUE(purge.ok()) << purge.status();
  EXPECT_EQ(purge->expiry.messages, 1u);
}

TEST_F(StoreTest, ExpiredMessageIsNeverReturnedBeforeOrAfterCompaction) {
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  AppendOk(MakeMessage("acme", "u1", "c1", 2, T0() + Days(20)));
  clock_->Set(T0() + Days(31));
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
  Reopen();
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
}

TEST_F(StoreTest, ShorteningATtlExpiresOlderDataAtOnce) {
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  AppendOk(MakeMessage("acme", "u1", "c1", 2, T0() + Days(5)));
  AppendOk(MakeMessage("beta", "u1", "c1", 1, T0()));
  clock_->Set(T0() + Days(10));
  ASSERT_TRUE(store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(7)).ok());
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
  EXPECT_THAT(Seqs("beta", "c1"), ElementsAre(1));  // other tenants untouched
}

TEST_F(StoreTest, LengtheningATtlNeverBringsBackExpiredData) {
  ASSERT_TRUE(store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(7)).ok());
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  AppendOk(MakeMessage("acme", "u1", "c1", 2, T0() + Days(5)));
  clock_->Set(T0() + Days(8));  // seq 1 expired a day ago, seq 2 is live
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
  ASSERT_TRUE(
      store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(90)).ok());
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
  clock_->Set(T0() + Days(60));  // seq 2 now lives under 90 days
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
  Reopen();  // the horizon is durable
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
}

TEST_F(StoreTest, ReadsSeeBucketsAddedAfterAConversationWasRead) {
  // The first read caches which expiry days hold the conversation; messages
  // written later into other days (a new day, a policy change, another
  // category) must still be read.
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1));
  AppendOk(MakeMessage("acme", "u1", "c1", 2, T0() + Days(2)));
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1, 2));
  ASSERT_TRUE(
      store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(90)).ok());
  AppendOk(MakeMessage("acme", "u1", "c1", 3, T0() + Days(2)));
  AppendOk(MakeMessage("acme", "u1", "c1", 4, T0() + Days(2), "log",
                       v1::CATEGORY_DIAGNOSTIC_LOG));
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1, 2, 3, 4));
  Reopen();
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1, 2, 3, 4));
}

TEST_F(StoreTest, CategoriesHaveTheirOwnTtl) {
  ASSERT_TRUE(
      store_->SetPolicy("acme", v1::CATEGORY_DIAGNOSTIC_LOG, Days(1)).ok());
  AppendOk(
      MakeMessage("acme", "u1", "c1", 1, T0(), "t", v1::CATEGORY_TRANSCRIPT));
  AppendOk(MakeMessage("acme", "u1", "c1", 2, T0(), "d",
                       v1::CATEGORY_DIAGNOSTIC_LOG));
  clock_->Set(T0() + Days(2));
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1));
}

TEST_F(StoreTest, BatchOfMessagesThatNeedNormalisingIsIndexedCompletely) {
  // Each message is copied to normalise it; the batch must not keep views into
  // a copy that is gone by the next message (caught under ASan as well).
  std::vector<v1::Message> batch;
  for (int i = 1; i <= 6; ++i) {
    v1::Message m =
        MakeMessage("acme", i % 2 ? "u1" : "u2",
                    absl::StrCat("conversation-with-a-long-id-", i % 3), i,
                    T0() - absl::Minutes(10 - i));
    m.set_category(v1::CATEGORY_UNSPECIFIED);
    m.mutable_created_at()->set_nanos(1);
    batch.push_back(m);
  }
  ASSERT_TRUE(store_->AppendBatch(batch).ok());
  EXPECT_THAT(Seqs("acme", "conversation-with-a-long-id-0"), ElementsAre(3, 6));
  EXPECT_THAT(Seqs("acme", "conversation-with-a-long-id-1"), ElementsAre(1, 4));
  absl::StatusOr<std::vector<ConversationInfo>> u1 =
      store_->ListConversations("acme", "u1");
  ASSERT_TRUE(u1.ok());
  EXPECT_EQ(u1->size(), 3u);
}

TEST_F(StoreTest, UnspecifiedCategoryIsStoredAsTranscriptAndNanosTruncated) {
  v1::Message m = MakeMessage("acme", "u1", "c1", 1, T0());
  m.set_category(v1::CATEGORY_UNSPECIFIED);
  m.mutable_created_at()->set_nanos(123456789);
  AppendOk(m);
  absl::StatusOr<std::vector<v1::Message>> read =
      testing::ReadBothWays(*store_, "acme", "c1");
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].category(), v1::CATEGORY_TRANSCRIPT);
  EXPECT_EQ((*read)[0].created_at().nanos(), 123456000);
}

TEST_F(StoreTest, AppendOfAnAlreadyExpiredMessageIsRefusedAndNotStored) {
  absl::Status s =
      store_->Append(MakeMessage("acme", "u1", "c1", 1, T0() - Days(31)));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("has already expired"));
  clock_->Set(T0() - Days(2));  // even looking from a time it was live
  EXPECT_THAT(Seqs("acme", "c1"), IsEmpty());
}

TEST_F(StoreTest, CreatedAtBeyondTheClockSkewIsRefused) {
  ASSERT_TRUE(
      store_
          ->Append(MakeMessage("acme", "u1", "c1", 1, T0() + absl::Minutes(5)))
          .ok());
  absl::Status s = store_->Append(MakeMessage(
      "acme", "u1", "c1", 2, T0() + absl::Minutes(5) + absl::Seconds(1)));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("is more than max_clock_skew (5m) after now"));
  s = store_->Append(
      MakeMessage("acme", "u1", "c1", 3, T0() + Days(365 * 100)));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, TimestampsOutsideTheRangeOrFarInThePastAreRefused) {
  v1::Message before_year_one = MakeMessage("acme", "u1", "c1", 1, T0());
  before_year_one.mutable_created_at()->set_seconds(-62135596801);
  absl::Status s = store_->Append(before_year_one);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("is outside 0001-01-01..9999-12-31"));
  v1::Message bad_nanos = MakeMessage("acme", "u1", "c1", 1, T0());
  bad_nanos.mutable_created_at()->set_nanos(-5);
  EXPECT_EQ(store_->Append(bad_nanos).code(),
            absl::StatusCode::kInvalidArgument);
  v1::Message year_one = MakeMessage("acme", "u1", "c1", 1, T0());
  year_one.mutable_created_at()->set_seconds(-62135596800);
  EXPECT_EQ(store_->Append(year_one).code(),
            absl::StatusCode::kFailedPrecondition);
  v1::Message year_9999 = MakeMessage("acme", "u1", "c1", 1, T0());
  year_9999.mutable_created_at()->set_seconds(253402300799);
  EXPECT_EQ(store_->Append(year_9999).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Seqs("acme", "c1"), IsEmpty());
}

TEST_F(StoreTest, BadIdsAreInvalidArgumentWithExactMessages) {
  struct Case {
    v1::Message message;
    std::string error;
  };
  std::vector<Case> cases = {
      {MakeMessage("", "u", "c", 1, T0()), "append: tenant id is empty"},
      {MakeMessage("acme", "", "c", 1, T0()), "append: user id is empty"},
      {MakeMessage("acme", "u", std::string("a\0b", 3), 1, T0()),
       "append: conversation id contains control byte 0x00 at offset 1"},
      {MakeMessage("acme", "u\n", "c", 1, T0()),
       "append: user id contains control byte 0x0A at offset 1"},
      {MakeMessage(std::string(257, 't'), "u", "c", 1, T0()),
       "append: tenant id is 257 bytes long; at most 256 are allowed"},
      {MakeMessage("acme", "\xff", "c", 1, T0()),
       "append: user id is not valid UTF-8 (bad byte at offset 0)"},
      {MakeMessage("acme", "u", std::string(1 << 20, 'c'), 1, T0()),
       "append: conversation id is 1048576 bytes long; at most 256 are "
       "allowed"},
  };
  for (const Case& c : cases) {
    absl::Status s = store_->Append(c.message);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.error;
    EXPECT_EQ(s.message(), c.error);
  }
  absl::StatusOr<std::vector<v1::Message>> read =
      testing::ReadBothWays(*store_, "", "c");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store_->ListConversations("acme", std::string(1000, 'u')).status().code(),
      absl::StatusCode::kInvalidArgument);
  absl::StatusOr<StoreStats> stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->tenants, 0u);  // nothing registered by a refused append
}

TEST_F(StoreTest, BadFieldsAreInvalidArgument) {
  v1::Message no_role = MakeMessage("acme", "u", "c", 1, T0());
  no_role.set_role(v1::ROLE_UNSPECIFIED);
  EXPECT_EQ(store_->Append(no_role).message(),
            "append: role 0 is not one of user, assistant, agent, system");
  v1::Message no_time = MakeMessage("acme", "u", "c", 1, T0());
  no_time.clear_created_at();
  EXPECT_EQ(store_->Append(no_time).message(), "append: created_at is missing");
  v1::Message bad_text = MakeMessage("acme", "u", "c", 1, T0(), "ok\xc3");
  EXPECT_EQ(store_->Append(bad_text).message(),
            "append: text is not valid UTF-8 (bad byte at offset 2)");
  v1::Message bad_category = MakeMessage("acme", "u", "c", 1, T0());
  bad_category.set_category(static_cast<v1::DataCategory>(77));
  EXPECT_EQ(store_->Append(bad_category).code(),
            absl::StatusCode::kInvalidArgument);
  // Timestamps at the ends of int64 seconds, and nanos out of range.
  for (const auto& [seconds, nanos] : std::vector<std::pair<int64_t, int32_t>>{
           {std::numeric_limits<int64_t>::max(), 0},
           {std::numeric_limits<int64_t>::min(), 0},
           {absl::ToUnixSeconds(T0()), -1},
           {absl::ToUnixSeconds(T0()), 1000000000}}) {
    v1::Message m = MakeMessage("acme", "u", "c", 1, T0());
    m.mutable_created_at()->set_seconds(seconds);
    m.mutable_created_at()->set_nanos(nanos);
    absl::Status s = store_->Append(m);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << seconds << "s " << nanos << "ns: " << s;
    EXPECT_THAT(s.message(), HasSubstr("created_at")) << s;
  }
  v1::Message huge =
      MakeMessage("acme", "u", "c", 1, T0(), std::string(2 << 20, 'x'));
  absl::Status s = store_->Append(huge);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("Options::max_message_bytes allows 1048576"));
}

TEST_F(StoreTest, AppendBatchIsAllOrNothingAndNamesTheBadMessage) {
  std::vector<v1::Message> batch;
  for (int i = 1; i <= 5; ++i) {
    batch.push_back(MakeMessage("acme", "u1", "c1", i, T0()));
  }
  batch[3].mutable_created_at()->set_seconds(
      absl::ToUnixSeconds(T0() - Days(40)));
  absl::Status s = store_->AppendBatch(batch);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("append: message 3 of 5: "));
  EXPECT_THAT(Seqs("acme", "c1"), IsEmpty());
  batch.erase(batch.begin() + 3);
  ASSERT_TRUE(store_->AppendBatch(batch).ok());
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1, 2, 3, 5));
}

TEST_F(StoreTest, ListConversationsHidesConversationsWhoseMessagesAllExpired) {
  AppendOk(MakeMessage("acme", "u1", "old", 1, T0()));
  AppendOk(MakeMessage("acme", "u1", "new", 1, T0() + Days(20)));
  AppendOk(MakeMessage("acme", "u1", "new", 2, T0() + Days(21)));
  AppendOk(MakeMessage("acme", "u2", "theirs", 1, T0() + Days(20)));
  clock_->Set(T0() + Days(25));
  absl::StatusOr<std::vector<ConversationInfo>> list =
      store_->ListConversations("acme", "u1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].conversation, "new");
  EXPECT_EQ((*list)[0].last_message_at, T0() + Days(21));
  EXPECT_EQ((*list)[1].conversation, "old");
  clock_->Set(T0() + Days(31));
  list = store_->ListConversations("acme", "u1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].conversation, "new");
}

TEST_F(StoreTest,
       ConversationExpiredBeforeItsIndexEntryIsNeitherListedNorRead) {
  // Index entries are bounded by the end of their expiry day, so for up to a
  // day an entry outlives the messages it points at. Reads must not trust it.
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  clock_->Set(T0() + Days(30) + absl::Hours(1));
  EXPECT_THAT(Seqs("acme", "c1"), IsEmpty());
  absl::StatusOr<std::vector<ConversationInfo>> list =
      store_->ListConversations("acme", "u1");
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, IsEmpty());
  ASSERT_TRUE(store_->CompactAll().ok());
  absl::StatusOr<StoreStats> stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->messages_live + stats->messages_expired, 0u);
  EXPECT_EQ(stats->index_entries_live, 2u);  // until the end of the day
  clock_->Set(T0() + Days(31));
  ASSERT_TRUE(store_->CompactAll().ok());
  stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->index_entries_live + stats->index_entries_expired, 0u);
}

TEST_F(StoreTest, UnknownTenantsReadAsEmptyAndGetTheDefaultPolicy) {
  EXPECT_THAT(Seqs("nobody", "c1"), IsEmpty());
  absl::StatusOr<std::vector<ConversationInfo>> list =
      store_->ListConversations("nobody", "u1");
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, IsEmpty());
  absl::StatusOr<TenantPolicy> policy = store_->GetPolicy("nobody");
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->is_default);
  EXPECT_EQ(policy->version, 0u);
  ASSERT_EQ(policy->rules.size(), 3u);
  for (const RetentionRule& rule : policy->rules) {
    EXPECT_EQ(rule.ttl, Days(30));
    EXPECT_TRUE(rule.from_default);
  }
}

TEST_F(StoreTest, PolicyBoundsAreEnforcedAndNamed) {
  absl::Status s =
      store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, absl::Minutes(30))
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "set policy: TTL 30m is below the operator's minimum 1h "
            "(RetentionOptions::min_ttl)");
  s = store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(3651)).status();
  EXPECT_EQ(s.message(),
            "set policy: TTL 87624h is above the operator's maximum 87600h "
            "(RetentionOptions::max_ttl)");
  s = store_
          ->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, absl::InfiniteDuration())
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("allow_keep_forever is false"));
  s = store_->SetPolicy("acme", v1::CATEGORY_UNSPECIFIED, Days(1)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<TenantPolicy>> list = store_->ListPolicies();
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, IsEmpty());
}

TEST_F(StoreTest, KeepForeverWhereTheOperatorAllowsIt) {
  options_.retention.allow_keep_forever = true;
  Reopen();
  absl::StatusOr<TenantPolicy> policy = store_->SetPolicy(
      "acme", v1::CATEGORY_TRANSCRIPT, absl::InfiniteDuration());
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->rules[0].ttl, absl::InfiniteDuration());
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  clock_->Set(T0() + Days(365 * 50));
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1));
}

TEST_F(StoreTest, PoliciesAndTheirHistoryAreDurable) {
  clock_->Set(T0() + Days(1));
  ASSERT_TRUE(store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(7)).ok());
  clock_->Set(T0() + Days(2));
  ASSERT_TRUE(
      store_->SetPolicy("acme", v1::CATEGORY_DIAGNOSTIC_LOG, Days(1)).ok());
  Reopen();
  absl::StatusOr<TenantPolicy> policy = store_->GetPolicy("acme");
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->is_default);
  EXPECT_EQ(policy->version, 2u);
  EXPECT_EQ(policy->updated_at, T0() + Days(2));
  EXPECT_EQ(policy->rules[0].ttl, Days(7));
  EXPECT_FALSE(policy->rules[0].from_default);
  EXPECT_EQ(policy->rules[0].horizon, T0() + Days(1) - Days(30));
  EXPECT_EQ(policy->rules[1].ttl, Days(30));
  EXPECT_TRUE(policy->rules[1].from_default);
  EXPECT_EQ(policy->rules[2].ttl, Days(1));

  absl::StatusOr<std::vector<TenantPolicy>> history =
      store_->PolicyHistory("acme");
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].version, 1u);
  EXPECT_EQ((*history)[0].updated_at, T0() + Days(1));
  ASSERT_EQ((*history)[0].rules.size(), 1u);
  EXPECT_EQ((*history)[1].rules.size(), 2u);

  absl::StatusOr<std::vector<TenantPolicy>> list = store_->ListPolicies();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].tenant, "acme");
}

TEST_F(StoreTest, PolicyChangeWithTheClockBeforeTheLastChangeIsRefused) {
  clock_->Set(T0() + Days(2));
  ASSERT_TRUE(store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(7)).ok());
  clock_->Set(T0() + Days(1));
  absl::Status s =
      store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(9)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("is earlier than tenant \"acme\"'s last"));
}

TEST_F(StoreTest, ChangingTheDefaultTtlAtOpenIsAPolicyChange) {
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  AppendOk(MakeMessage("acme", "u1", "c1", 2, T0() + Days(10)));
  Close();
  clock_->Set(T0() + Days(35));  // seq 1 expired under the 30-day default
  options_.retention.default_ttl = Days(90);
  Reopen();
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
  clock_->Set(T0() + Days(80));
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(2));
  absl::StatusOr<std::vector<TenantPolicy>> history = store_->PolicyHistory("");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[1].rules[0].ttl, Days(90));
  // Shortening it again expires at once.
  Close();
  options_.retention.default_ttl = Days(7);
  Reopen();
  EXPECT_THAT(Seqs("acme", "c1"), IsEmpty());
}

TEST_F(StoreTest, CompactionPhysicallyDropsExpiredRecordsAndTheirIndexEntries) {
  AppendOk(MakeMessage("acme", "u1", "gone", 1, T0()));
  AppendOk(MakeMessage("acme", "u1", "gone", 2, T0()));
  AppendOk(MakeMessage("acme", "u1", "kept", 1, T0() + Days(20)));
  clock_->Set(T0() + Days(31));
  ASSERT_TRUE(store_->CompactAll().ok());
  absl::StatusOr<StoreStats> stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->messages_live, 1u);
  EXPECT_EQ(stats->messages_expired, 0u);
  EXPECT_EQ(stats->index_entries_live, 2u);  // conversation bucket + user entry
  EXPECT_EQ(stats->index_entries_expired, 0u);
  EXPECT_GE(stats->filter_dropped_expired, 2u);
  Close();
  // RocksDB itself, without ebb's read path, holds only the live record.
  const std::vector<std::string> keys = RawKeys(dir_.path(), "messages");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_THAT(keys[0], HasSubstr("kept"));
  for (const std::string& key : RawKeys(dir_.path(), "index")) {
    EXPECT_THAT(key, Not(HasSubstr("gone")));
  }
}

// Debian's librocksdb is built without NDEBUG, so RocksDB's own default
// log level is DEBUG: a line for every file it deletes, which a purge that
// drops thousands of files formats on the way to unlinking them.
TEST_F(StoreTest, RocksDbLogsAtInfoLevelNotDebug) {
  AppendOk(MakeMessage("acme", "u1", "gone", 1, T0()));
  clock_->Set(T0() + Days(31));
  ASSERT_TRUE(store_->CompactAll().ok());  // deletes the flushed files
  Close();
  std::ifstream log(std::filesystem::path(dir_.path()) / "LOG");
  ASSERT_TRUE(log.is_open());
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    ++lines;
    EXPECT_THAT(line, Not(HasSubstr("[DEBUG]")));
  }
  EXPECT_GT(lines, 0);
}

TEST_F(StoreTest, StatsCountExpiredRecordsStillOnDisk) {
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0(), "12345"));
  AppendOk(MakeMessage("acme", "u1", "c1", 2, T0() + Days(20)));
  clock_->Set(T0() + Days(31));
  absl::StatusOr<StoreStats> stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->now, T0() + Days(31));
  EXPECT_EQ(stats->messages_live, 1u);
  EXPECT_EQ(stats->messages_expired, 1u);
  EXPECT_GT(stats->message_bytes_expired, 0u);
  EXPECT_EQ(stats->tenants, 1u);
  EXPECT_EQ(stats->policies, 0u);
}

TEST_F(StoreTest, UndecodableRecordIsKeptCountedAndNeverServed) {
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0()));
  Close();
  std::vector<std::string> keys = RawKeys(dir_.path(), "messages");
  ASSERT_EQ(keys.size(), 1u);
  std::string corrupt_key = keys[0];
  corrupt_key.back() = 2;  // seq 2 of the same conversation, same bucket
  testing::RawPut(dir_.path(), "messages", corrupt_key, "\x09garbage");
  Reopen();
  EXPECT_THAT(Seqs("acme", "c1"), ElementsAre(1));
  clock_->Set(T0() + Days(31));
  ASSERT_TRUE(store_->CompactAll().ok());
  absl::StatusOr<StoreStats> stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->messages_undecodable, 1u);
  EXPECT_EQ(stats->messages_live, 0u);
  EXPECT_GE(stats->filter_kept_undecodable, 1u);
  // Seqs read it both ways; each form skipped it once.
  EXPECT_EQ(stats->reads_skipped_undecodable, 2u);
  Close();
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), ElementsAre(corrupt_key));
}

// The one documented difference between the two read forms: a record whose
// header is intact (so its expiry is known) but whose protobuf is damaged.
TEST_F(StoreTest, SerializedReadReturnsADamagedProtobufThatReadSkips) {
  AppendOk(MakeMessage("acme", "u1", "c1", 1, T0(), "intact"));
  Close();
  std::vector<std::string> keys = RawKeys(dir_.path(), "messages");
  ASSERT_EQ(keys.size(), 1u);
  std::string damaged_key = keys[0];
  damaged_key.back() = 2;  // seq 2 of the same conversation, same bucket
  // A valid header (record_codec.h: format 1, category, created_at in
  // microseconds, big-endian), then bytes protobuf cannot parse.
  std::string damaged_value = {1, static_cast<char>(v1::CATEGORY_TRANSCRIPT)};
  const int64_t micros = absl::ToUnixMicros(T0());
  for (int shift = 56; shift >= 0; shift -= 8) {
    damaged_value.push_back(static_cast<char>((micros >> shift) & 0xFF));
  }
  damaged_value += "\xff\xff\xff not a protobuf";
  testing::RawPut(dir_.path(), "messages", damaged_key, damaged_value);
  Reopen();

  absl::StatusOr<std::vector<v1::Message>> read =
      store_->ReadConversation("acme", "c1");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_THAT(*read, SizeIs(1));
  EXPECT_EQ((*read)[0].text(), "intact");
  absl::StatusOr<std::vector<std::string>> serialized =
      store_->ReadConversationSerialized("acme", "c1");
  ASSERT_TRUE(serialized.ok()) << serialized.status();
  ASSERT_THAT(*serialized, SizeIs(2));
  EXPECT_EQ((*serialized)[0], (*read)[0].SerializeAsString());
  EXPECT_EQ((*serialized)[1], "\xff\xff\xff not a protobuf");
  absl::StatusOr<StoreStats> stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->reads_skipped_undecodable, 1u);

  // Once expired, neither form returns either record.
  clock_->Set(T0() + Days(31));
  EXPECT_THAT(Seqs("acme", "c1"), IsEmpty());
  serialized = store_->ReadConversationSerialized("acme", "c1");
  ASSERT_TRUE(serialized.ok()) << serialized.status();
  EXPECT_THAT(*serialized, IsEmpty());
}

TEST_F(StoreTest, ClosedStoreRefusesCalls) {
  ASSERT_TRUE(store_->Close().ok());
  EXPECT_TRUE(store_->Close().ok());
  EXPECT_EQ(store_->Append(MakeMessage("acme", "u", "c", 1, T0())).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(testing::ReadBothWays(*store_, "acme", "c").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(StoreOpenTest, ContradictoryOptionsAreInvalidArgumentNamingTheField) {
  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  Options options = TestOptions(&clock);
  options.retention.default_ttl = absl::Minutes(1);
  absl::Status s = Store::Open(options, dir.path()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "RetentionOptions::default_ttl 1m is outside [min_ttl 1h, max_ttl "
            "87600h]");
  options = TestOptions(&clock);
  options.retention.max_ttl = absl::Minutes(1);
  EXPECT_THAT(Store::Open(options, dir.path()).status().message(),
              HasSubstr("RetentionOptions::max_ttl"));
  options = TestOptions(&clock);
  options.clock = nullptr;
  EXPECT_EQ(Store::Open(options, dir.path()).status().message(),
            "Options::clock is null");
}

TEST(StoreOpenTest, DayStartIsATimeOfDayInWholeSeconds) {
  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  for (absl::Duration bad : {absl::Seconds(-1), absl::Hours(24),
                             absl::Hours(30), absl::Milliseconds(1500)}) {
    Options options = TestOptions(&clock);
    options.day_start = bad;
    const absl::Status s = Store::Open(options, dir.path()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("Options::day_start must be a time of "
                                       "day"))
        << bad;
  }
  // Nothing was created by the refused opens.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(StoreOpenTest, AStoreKeepsItsDayStartForLife) {
  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  Options options = TestOptions(&clock);
  options.day_start = absl::Hours(2);
  ASSERT_TRUE(Store::Open(options, dir.path()).ok());
  // Unset: the store's own. The same: fine. Another: refused, naming both.
  options.day_start.reset();
  ASSERT_TRUE(Store::Open(options, dir.path()).ok());
  options.day_start = absl::Hours(2);
  ASSERT_TRUE(Store::Open(options, dir.path()).ok());
  options.day_start = absl::ZeroDuration();
  const absl::Status s = Store::Open(options, dir.path()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(),
              HasSubstr("was created with days that begin at 02:00:00 UTC, "
                        "not 00:00:00 (Options::day_start)"));
  // A store created without one begins its days at midnight.
  TempDir midnight;
  options.day_start.reset();
  ASSERT_TRUE(Store::Open(options, midnight.path()).ok());
  options.day_start = absl::Minutes(30);
  EXPECT_EQ(Store::Open(options, midnight.path()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// Bytes in the store's write-ahead log files. RocksDB may delete one while
// this lists them: it then counts nothing.
uint64_t WalBytes(const std::string& path) {
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    if (entry.path().extension() != ".log") continue;
    std::error_code gone;
    const uintmax_t size = std::filesystem::file_size(entry.path(), gone);
    if (!gone) bytes += size;
  }
  return bytes;
}

// A WAL file lives until every column family with data in it has flushed, and
// the index and metadata ones fill far more slowly than the messages one:
// without a bound of its own, the WAL grew with everything written.
TEST(StoreOpenTest, WriteAheadLogStaysWithinAFewMessageMemtables) {
  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  Options options = TestOptions(&clock);
  options.write_buffer_bytes = 256 << 10;
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(options, dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string text(400, 'x');
  // 200 batches of 100 ~450-byte messages: about 9 MB, 35 memtables.
  for (int batch = 0; batch < 200; ++batch) {
    std::vector<v1::Message> messages;
    for (int seq = 0; seq < 100; ++seq) {
      messages.push_back(
          MakeMessage("acme", "u", absl::StrCat("c", batch), seq, T0(), text));
    }
    ASSERT_TRUE((*store)->AppendBatch(messages).ok());
  }
  // Two memtables' worth, plus room for flushes still running.
  EXPECT_LE(WalBytes(dir.path()), 4 * options.write_buffer_bytes);
  ASSERT_TRUE((*store)->Close().ok());
}

TEST(StoreOpenTest, WriteBufferBelow64KiBIsInvalidArgument) {
  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  Options options = TestOptions(&clock);
  options.write_buffer_bytes = 1000;
  EXPECT_EQ(Store::Open(options, dir.path()).status().message(),
            "Options::write_buffer_bytes must be at least 64 KiB, got 1000");
}

TEST(StoreOpenTest, MissingStoreIsNotFoundWithoutCreateIfMissing) {
  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  Options options = TestOptions(&clock);
  options.create_if_missing = false;
  absl::Status s = Store::Open(options, dir.path() + "/nothing").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
}

TEST(StoreOpenTest, AForeignRocksDbIsRefused) {
  TempDir dir;
  testing::RawPut(dir.path(), "default", "k", "v");  // creates a plain DB
  std::shared_ptr<ManualClock> clock;
  absl::Status s = Store::Open(TestOptions(&clock), dir.path()).status();
  // RawPut created ebb's column-family names but no format marker.
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(StoreOpenTest, APlainRocksDbWithOnlyDefaultIsRefusedUntouched) {
  TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k", "v").ok());
    ASSERT_TRUE(db->Close().ok());
  }
  std::shared_ptr<ManualClock> clock;
  absl::Status s = Store::Open(TestOptions(&clock), dir.path()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("not an ebb store"));
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(),
                                              &families)
                  .ok());
  EXPECT_EQ(families, std::vector<std::string>{"default"})
      << "Open added column families to a database it refused";
}

TEST(StoreOpenTest, SecondOpenOfTheSameDirectoryFailsCleanly) {
  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  absl::StatusOr<std::unique_ptr<Store>> first =
      Store::Open(TestOptions(&clock), dir.path());
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::unique_ptr<Store>> second =
      Store::Open(TestOptions(&clock), dir.path());
  EXPECT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("lock"));
}

}  // namespace
}  // namespace ebb
