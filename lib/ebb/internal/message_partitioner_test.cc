// Copyright ebb authors.

#include "lib/ebb/internal/message_partitioner.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/ebb/internal/key_codec.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"

namespace ebb::internal {
namespace {

constexpr ExpiryBucket kFirstBucket = 20500;
constexpr int kBuckets = 3;
constexpr int kTenants = 12;
constexpr int kConversationsPerTenant = 8;
constexpr int kMessagesPerConversation = 10;
constexpr size_t kValueBytes = 1000;  // about 80 KB per (bucket, tenant)

// Bytes that do not compress, so file sizes follow what is written.
std::string Incompressible(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  for (char& c : out) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 16);
  }
  return out;
}

struct FileSpan {
  ExpiryBucket first_bucket, last_bucket;
  TenantNumber first_tenant, last_tenant;
};

class MessagePartitionerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
           absl::StrCat(
               "message_partitioner_test_", ::getpid(), "_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Writes every bucket's messages of every tenant, compacts them to the
  // bottom level through the partitioner, and lists the files' key spans.
  std::vector<FileSpan> WriteAndCompact(uint64_t tenant_cut_bytes) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.disable_auto_compactions = true;
    options.compression = rocksdb::kNoCompression;
    options.target_file_size_base = 64 << 20;  // never the reason for a cut
    options.sst_partitioner_factory =
        NewMessagePartitionerFactory(tenant_cut_bytes);
    rocksdb::DB* db = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(options, dir_.string(), &db).ok());
    db_.reset(db);
    uint32_t seed = 1;
    for (int b = 0; b < kBuckets; ++b) {
      for (int t = 0; t < kTenants; ++t) {
        for (int c = 0; c < kConversationsPerTenant; ++c) {
          for (int s = 0; s < kMessagesPerConversation; ++s) {
            EXPECT_TRUE(db_->Put(rocksdb::WriteOptions(),
                                 MessageKey(kFirstBucket + b, t,
                                            absl::StrCat("c", c), s),
                                 Incompressible(kValueBytes, seed++))
                            .ok());
          }
        }
      }
    }
    EXPECT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForce;
    EXPECT_TRUE(db_->CompactRange(compact, nullptr, nullptr).ok());

    std::vector<rocksdb::LiveFileMetaData> files;
    db_->GetLiveFilesMetaData(&files);
    std::vector<FileSpan> spans;
    for (const rocksdb::LiveFileMetaData& f : files) {
      EXPECT_GT(f.level, 0) << f.name;
      std::optional<MessageKeyParts> first = ParseMessageKey(f.smallestkey);
      std::optional<MessageKeyParts> last = ParseMessageKey(f.largestkey);
      EXPECT_TRUE(first.has_value() && last.has_value()) << f.name;
      if (!first.has_value() || !last.has_value()) continue;
      spans.push_back(
          {first->bucket, last->bucket, first->tenant, last->tenant});
    }
    return spans;
  }

  std::filesystem::path dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(MessagePartitionerTest, AboveTheThresholdFilesAreCutAtTenants) {
  // About 80 KB per tenant and bucket: a cut at the first tenant boundary
  // past 200 KB gives files of three tenants.
  const std::vector<FileSpan> spans = WriteAndCompact(200 << 10);
  std::map<ExpiryBucket, std::set<TenantNumber>> tenants_seen;
  for (const FileSpan& span : spans) {
    EXPECT_EQ(span.first_bucket, span.last_bucket);
    EXPECT_EQ(span.last_tenant - span.first_tenant + 1, 3u)
        << "tenants " << span.first_tenant << ".." << span.last_tenant;
    // No tenant's day is split between two files.
    for (TenantNumber t = span.first_tenant; t <= span.last_tenant; ++t) {
      EXPECT_TRUE(tenants_seen[span.first_bucket].insert(t).second)
          << "bucket " << span.first_bucket << " tenant " << t;
    }
  }
  EXPECT_EQ(spans.size(), static_cast<size_t>(kBuckets * kTenants / 3));
}

TEST_F(MessagePartitionerTest, AThresholdOfZeroGivesEachTenantDayItsOwnFile) {
  const std::vector<FileSpan> spans = WriteAndCompact(0);
  for (const FileSpan& span : spans) {
    EXPECT_EQ(span.first_bucket, span.last_bucket);
    EXPECT_EQ(span.first_tenant, span.last_tenant);
  }
  EXPECT_EQ(spans.size(), static_cast<size_t>(kBuckets * kTenants));
}

TEST_F(MessagePartitionerTest, BelowTheThresholdFilesAreCutOnlyAtBuckets) {
  const std::vector<FileSpan> spans = WriteAndCompact(64 << 20);
  ASSERT_EQ(spans.size(), static_cast<size_t>(kBuckets));
  for (const FileSpan& span : spans) {
    EXPECT_EQ(span.first_bucket, span.last_bucket);
    EXPECT_EQ(span.first_tenant, 0u);
    EXPECT_EQ(span.last_tenant, static_cast<TenantNumber>(kTenants - 1));
  }
}

TEST(MessagePartitionerDecisionTest, TrivialMovesStayWithinOneBucket) {
  std::unique_ptr<rocksdb::SstPartitioner> partitioner =
      NewMessagePartitionerFactory(1 << 20)->CreatePartitioner({});
  const std::string a = MessageKey(kFirstBucket, 1, "c", 0);
  const std::string b = MessageKey(kFirstBucket, 9, "c", 0);
  const std::string c = MessageKey(kFirstBucket + 1, 1, "c", 0);
  EXPECT_TRUE(partitioner->CanDoTrivialMove(a, b));
  EXPECT_FALSE(partitioner->CanDoTrivialMove(a, c));
  // A bucket change cuts at any size; a tenant change only past the size.
  const rocksdb::Slice sa(a), sb(b), sc(c);
  EXPECT_EQ(partitioner->ShouldPartition({sa, sc, 0}), rocksdb::kRequired);
  EXPECT_EQ(partitioner->ShouldPartition({sa, sb, (1 << 20) - 1}),
            rocksdb::kNotRequired);
  EXPECT_EQ(partitioner->ShouldPartition({sa, sb, 1 << 20}),
            rocksdb::kRequired);
  // Keys too short to hold a field compare by what they have.
  const rocksdb::Slice short_key("ab", 2);
  EXPECT_EQ(partitioner->ShouldPartition({short_key, short_key, 1 << 20}),
            rocksdb::kNotRequired);
  EXPECT_EQ(partitioner->ShouldPartition({short_key, sa, 0}),
            rocksdb::kRequired);
}

}  // namespace
}  // namespace ebb::internal
