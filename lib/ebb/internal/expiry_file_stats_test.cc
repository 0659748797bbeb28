// Copyright ebb authors.
//
// The collector runs inside a real RocksDB (flushes and compactions write the
// statistics); each test compares what FileStatsCounter adds up with what an
// iterator over the same database reads, or checks that it refuses to count.

#include "lib/ebb/internal/expiry_file_stats.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/record_codec.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_partitioner.h"

namespace ebb::internal {

// Found by argument-dependent lookup, so outside the anonymous namespace.
bool operator==(const ExpiryCounts& a, const ExpiryCounts& b) {
  return std::tie(a.category, a.created_day, a.messages, a.bytes,
                  a.conversations, a.min_created_at_micros,
                  a.max_created_at_micros) ==
         std::tie(b.category, b.created_day, b.messages, b.bytes,
                  b.conversations, b.min_created_at_micros,
                  b.max_created_at_micros);
}

void PrintTo(const ExpiryCounts& c, std::ostream* os) {
  *os << absl::StrFormat("{cat %d day %d msgs %d bytes %d convs %d [%d, %d]}",
                         c.category, c.created_day, c.messages, c.bytes,
                         c.conversations, c.min_created_at_micros,
                         c.max_created_at_micros);
}

namespace {

constexpr ExpiryBucket kBucket = 20500;
constexpr TenantNumber kTenant = 7;
const int64_t kDay0 = int64_t{20400} * kMicrosPerDay;

class ExpiryFileStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
           absl::StrCat(
               "expiry_file_stats_test_", ::getpid(), "_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Opens the database with the collector (unless `collect` is false), files
  // cut at the bucket and of about `file_bytes`, no background compaction.
  void Open(bool collect = true, uint64_t file_bytes = 8 << 10) {
    db_.reset();
    rocksdb::Options options;
    options.create_if_missing = true;
    options.disable_auto_compactions = true;
    options.target_file_size_base = file_bytes;
    options.sst_partitioner_factory =
        rocksdb::NewSstPartitionerFixedPrefixFactory(sizeof(ExpiryBucket));
    if (collect) {
      options.table_properties_collector_factories.push_back(
          NewExpiryFileStatsCollectorFactory(day_start_micros_));
    }
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.string(), &db).ok());
    db_.reset(db);
  }

  void Put(ExpiryBucket bucket, TenantNumber tenant,
           const std::string& conversation, uint64_t seq,
           v1::DataCategory category, int64_t created_micros) {
    std::string value;
    AppendRecordHeader({category, created_micros}, &value);
    // Text that does not compress away, so files fill up.
    for (int i = 0; i < 150 + static_cast<int>(seq % 50); ++i) {
      noise_ = noise_ * 6364136223846793005u + 1442695040888963407u;
      value.push_back(static_cast<char>('a' + (noise_ >> 59)));
    }
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(),
                         MessageKey(bucket, tenant, conversation, seq), value)
                    .ok());
  }

  void Flush() { ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok()); }

  void CompactAll() {
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForce;
    ASSERT_TRUE(db_->CompactRange(options, nullptr, nullptr).ok());
  }

  rocksdb::TablePropertiesCollection FilesOf(ExpiryBucket bucket,
                                             TenantNumber tenant) {
    const std::string begin = TenantBucketPrefix(bucket, tenant);
    const std::string end = PrefixSuccessor(begin);
    const rocksdb::Slice b(begin), e(end);
    const rocksdb::Range range(b, e);
    rocksdb::TablePropertiesCollection files;
    EXPECT_TRUE(db_->GetPropertiesOfTablesInRange(db_->DefaultColumnFamily(),
                                                  &range, 1, &files)
                    .ok());
    return files;
  }

  std::optional<std::vector<ExpiryCounts>> Count(ExpiryBucket bucket,
                                                 TenantNumber tenant) {
    return counter_.Count(FilesOf(bucket, tenant), bucket, tenant);
  }

  // What an iterator reads of (bucket, tenant), grouped as Count does.
  std::vector<ExpiryCounts> Read(ExpiryBucket bucket, TenantNumber tenant) {
    std::map<std::pair<int, int64_t>, ExpiryCounts> groups;
    std::map<std::pair<int, int64_t>, std::set<std::string>> conversations;
    const std::string prefix = TenantBucketPrefix(bucket, tenant);
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      const auto header = DecodeRecordHeader(
          absl::string_view(it->value().data(), it->value().size()));
      const auto parts = ParseMessageKey(
          absl::string_view(it->key().data(), it->key().size()));
      const std::pair<int, int64_t> key{
          header->category,
          DayOfMicros(header->created_at_micros, day_start_micros_->load())};
      ExpiryCounts& c = groups[key];
      if (c.messages == 0) {
        c.category = header->category;
        c.created_day = key.second;
        c.min_created_at_micros = c.max_created_at_micros =
            header->created_at_micros;
      }
      ++c.messages;
      c.bytes += it->key().size() + it->value().size();
      c.min_created_at_micros =
          std::min(c.min_created_at_micros, header->created_at_micros);
      c.max_created_at_micros =
          std::max(c.max_created_at_micros, header->created_at_micros);
      conversations[key].insert(std::string(parts->conversation));
    }
    std::vector<ExpiryCounts> out;
    for (auto& [key, c] : groups) {
      c.conversations = conversations[key].size();
      out.push_back(c);
    }
    return out;
  }

  // Three tenants in two buckets; in kBucket, kTenant has 12 conversations
  // of 40 messages in two categories over three creation days, so that
  // conversations run across many 8 KB files.
  void Populate() {
    for (TenantNumber tenant : {kTenant - 1, kTenant, kTenant + 1}) {
      for (ExpiryBucket bucket : {kBucket, kBucket + 1}) {
        for (int conversation = 0; conversation < 12; ++conversation) {
          for (uint64_t seq = 1; seq <= 40; ++seq) {
            const auto category = seq % 5 == 0 ? v1::CATEGORY_DIAGNOSTIC_LOG
                                               : v1::CATEGORY_TRANSCRIPT;
            const int64_t created = kDay0 + (conversation % 3) * kMicrosPerDay +
                                    static_cast<int64_t>(seq) * 60'000'000 +
                                    tenant;
            Put(bucket, tenant, absl::StrFormat("conv-%03d", conversation), seq,
                category, created);
          }
        }
      }
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<rocksdb::DB> db_;
  uint64_t noise_ = 1;
  // Midnight, unless a test says otherwise.
  std::shared_ptr<std::atomic<int64_t>> day_start_micros_ =
      std::make_shared<std::atomic<int64_t>>(0);
  FileStatsCounter counter_{absl::ZeroDuration()};
};

TEST_F(ExpiryFileStatsTest, CountsWhatAReadSeesWithConversationsAcrossFiles) {
  Open();
  Populate();
  Flush();
  CompactAll();
  ASSERT_GT(FilesOf(kBucket, kTenant).size(), 5u)
      << "the test needs conversations that continue across files";
  const std::vector<ExpiryCounts> read = Read(kBucket, kTenant);
  ASSERT_EQ(read.size(), 6u);  // 2 categories x 3 creation days
  EXPECT_EQ(read[0].conversations, 4u);
  std::optional<std::vector<ExpiryCounts>> counted = Count(kBucket, kTenant);
  ASSERT_TRUE(counted.has_value());
  EXPECT_EQ(*counted, read);
}

TEST_F(ExpiryFileStatsTest, CountsInTheStoresDays) {
  // Days that begin at 00:20 UTC split each conversation of Populate (one
  // message a minute from 00:01) between two creation days.
  const absl::Duration day_start = absl::Minutes(20);
  day_start_micros_->store(absl::ToInt64Microseconds(day_start));
  counter_ = FileStatsCounter(day_start);
  Open();
  Populate();
  Flush();
  CompactAll();
  const std::vector<ExpiryCounts> read = Read(kBucket, kTenant);
  ASSERT_EQ(read.size(), 8u);  // 2 categories x 4 creation days
  EXPECT_EQ(read[0].created_day, kDay0 / kMicrosPerDay - 1);
  std::optional<std::vector<ExpiryCounts>> counted = Count(kBucket, kTenant);
  ASSERT_TRUE(counted.has_value());
  EXPECT_EQ(*counted, read);
}

TEST_F(ExpiryFileStatsTest, FilesCountedInOtherDaysThanTheStoresAreNotCounted) {
  Open();  // the collector counts days from midnight
  Populate();
  Flush();
  CompactAll();
  ASSERT_TRUE(Count(kBucket, kTenant).has_value());
  counter_ = FileStatsCounter(absl::Minutes(20));
  EXPECT_FALSE(Count(kBucket, kTenant).has_value());
}

TEST_F(ExpiryFileStatsTest, CountsAFlushedFileWithoutCompaction) {
  Open(/*collect=*/true, /*file_bytes=*/64 << 20);
  Populate();
  Flush();
  std::optional<std::vector<ExpiryCounts>> counted =
      Count(kBucket + 1, kTenant);
  ASSERT_TRUE(counted.has_value());
  EXPECT_EQ(*counted, Read(kBucket + 1, kTenant));
}

TEST_F(ExpiryFileStatsTest, ARangeNoFileHoldsCountsAsEmpty) {
  Open();
  Populate();
  Flush();
  CompactAll();
  std::optional<std::vector<ExpiryCounts>> counted = Count(kBucket, 99);
  ASSERT_TRUE(counted.has_value());
  EXPECT_TRUE(counted->empty());
}

TEST_F(ExpiryFileStatsTest, FilesWithoutStatisticsAreNotCounted) {
  Open(/*collect=*/false);
  Populate();
  Flush();
  Open(/*collect=*/true);
  EXPECT_FALSE(Count(kBucket, kTenant).has_value());
}

TEST_F(ExpiryFileStatsTest, AFileWithADeletionIsNotCounted) {
  Open();
  Populate();
  Flush();
  CompactAll();
  EXPECT_TRUE(counter_.AllUsable(FilesOf(kBucket, kTenant)));
  ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(),
                          MessageKey(kBucket, kTenant, "conv-003", 7))
                  .ok());
  Flush();
  EXPECT_FALSE(counter_.AllUsable(FilesOf(kBucket, kTenant)));
  EXPECT_FALSE(Count(kBucket, kTenant).has_value());
}

TEST_F(ExpiryFileStatsTest, FilesListedForOtherRangesArePassedOver) {
  Open();
  Populate();
  Flush();
  CompactAll();
  // Every file of both buckets and all three tenants.
  rocksdb::TablePropertiesCollection files;
  ASSERT_TRUE(db_->GetPropertiesOfAllTables(&files).ok());
  ASSERT_TRUE(counter_.AllUsable(files));
  std::optional<std::vector<ExpiryCounts>> counted =
      counter_.Count(files, kBucket + 1, kTenant - 1);
  ASSERT_TRUE(counted.has_value());
  EXPECT_EQ(*counted, Read(kBucket + 1, kTenant - 1));
}

// CountEach must give exactly one Count per bucket, whether each file holds
// one bucket (compacted, cut at the bucket) or several (one flushed file).
TEST_F(ExpiryFileStatsTest, CountEachAnswersAsOneCountPerBucket) {
  for (const bool compact : {true, false}) {
    SCOPED_TRACE(compact ? "compacted" : "flushed");
    Open(/*collect=*/true, /*file_bytes=*/compact ? 8 << 10 : 64 << 20);
    Populate();
    Flush();
    if (compact) CompactAll();
    // Its own counter: the second database reuses the first one's file names.
    FileStatsCounter counter(absl::ZeroDuration());
    rocksdb::TablePropertiesCollection files;
    ASSERT_TRUE(db_->GetPropertiesOfAllTables(&files).ok());
    ASSERT_TRUE(counter.AllUsable(files));
    const std::vector<ExpiryBucket> buckets = {kBucket - 1, kBucket,
                                               kBucket + 1, kBucket + 2};
    for (TenantNumber tenant :
         {kTenant - 1, kTenant, kTenant + 1, kTenant + 2}) {
      const std::vector<std::optional<std::vector<ExpiryCounts>>> each =
          counter.CountEach(files, buckets, tenant);
      ASSERT_EQ(each.size(), buckets.size());
      for (size_t i = 0; i < buckets.size(); ++i) {
        ASSERT_TRUE(each[i].has_value()) << buckets[i];
        EXPECT_EQ(*each[i], Read(buckets[i], tenant)) << buckets[i];
        EXPECT_EQ(each[i], counter.Count(files, buckets[i], tenant));
      }
    }
    // Non-empty answers, so the comparison above says something.
    EXPECT_EQ(counter.CountEach(files, buckets, kTenant)[1]->size(), 6u);
    TearDown();
  }
}

TEST_F(ExpiryFileStatsTest, CountEachRefusesEveryBucketOverAFileItCannotUse) {
  Open();
  Populate();
  Flush();
  CompactAll();
  ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(),
                          MessageKey(kBucket + 1, kTenant, "conv-003", 7))
                  .ok());
  Flush();
  rocksdb::TablePropertiesCollection files;
  ASSERT_TRUE(db_->GetPropertiesOfAllTables(&files).ok());
  for (const auto& counts :
       counter_.CountEach(files, {kBucket, kBucket + 1}, kTenant)) {
    EXPECT_FALSE(counts.has_value());
  }
}

TEST_F(ExpiryFileStatsTest, AFileWithARangeDeletionIsNotCounted) {
  Open();
  Populate();
  Flush();
  CompactAll();
  const std::string begin = MessageKeyPrefix(kBucket, kTenant, "conv-002");
  const std::string end = MessageKeyPrefix(kBucket, kTenant, "conv-004");
  ASSERT_TRUE(db_->DeleteRange(rocksdb::WriteOptions(),
                               db_->DefaultColumnFamily(), begin, end)
                  .ok());
  Flush();
  EXPECT_FALSE(Count(kBucket, kTenant).has_value());
}

TEST_F(ExpiryFileStatsTest, OverlappingFilesAreNotCounted) {
  Open();
  Populate();
  Flush();
  // A retried append: the same key again, in a second level-0 file.
  Put(kBucket, kTenant, "conv-005", 3, v1::CATEGORY_TRANSCRIPT, kDay0);
  Flush();
  EXPECT_FALSE(Count(kBucket, kTenant).has_value());
  // Once compacted into one sorted run, the copy is gone and counting works.
  CompactAll();
  std::optional<std::vector<ExpiryCounts>> counted = Count(kBucket, kTenant);
  ASSERT_TRUE(counted.has_value());
  EXPECT_EQ(*counted, Read(kBucket, kTenant));
}

TEST_F(ExpiryFileStatsTest, AnUndecodableRecordMakesItsSectionUncountable) {
  Open();
  Populate();
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(),
                       MessageKey(kBucket, kTenant, "conv-zzz", 1),
                       "\x09garbage")
                  .ok());
  Flush();
  EXPECT_FALSE(Count(kBucket, kTenant).has_value());
  // Another tenant's section in the same file is still counted.
  std::optional<std::vector<ExpiryCounts>> other = Count(kBucket, kTenant + 1);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(*other, Read(kBucket, kTenant + 1));
}

TEST_F(ExpiryFileStatsTest, AKeyThatIsNotAMessageKeyMakesTheFileUncountable) {
  Open();
  Populate();
  // Inside the range, but without a terminator and seq.
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(),
                       TenantBucketPrefix(kBucket + 1, kTenant + 1) + "x",
                       "value")
                  .ok());
  Flush();
  EXPECT_FALSE(Count(kBucket + 1, kTenant + 1).has_value());
}

}  // namespace
}  // namespace ebb::internal
