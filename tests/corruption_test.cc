// Copyright ebb authors.
//
// Flipped bytes in the files on disk: every call that meets the damage
// returns DataLoss naming the file, nothing crashes, and nothing is served
// from a damaged block.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/ebb/store.h"
#include "tests/test_util.h"

namespace ebb {
namespace {

using ::ebb::testing::Days;
using ::ebb::testing::FlipByte;
using ::ebb::testing::MakeMessage;
using ::ebb::testing::SstFilesOf;
using ::ebb::testing::TempDir;
using ::ebb::testing::TestOptions;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int kConversations = 40;
constexpr int kPerConversation = 30;

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = TestOptions(&clock_);
    Open();
  }

  void Open() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(options_, dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Messages, policy changes and erasures, compacted into SST files; then
  // the store is closed.
  void WriteAndClose() {
    for (int c = 0; c < kConversations; ++c) {
      std::vector<v1::Message> batch;
      for (int i = 1; i <= kPerConversation; ++i) {
        batch.push_back(MakeMessage("acme", "u", absl::StrCat("c", c), i,
                                    clock_->Now() - absl::Hours(1),
                                    std::string(300, 'a' + c % 26)));
      }
      ASSERT_TRUE(store_->AppendBatch(batch).ok());
    }
    for (int i = 0; i < 20; ++i) {
      clock_->Advance(absl::Minutes(1));
      ASSERT_TRUE(
          store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(10 + i))
              .ok());
    }
    ASSERT_TRUE(store_->CompactAll().ok());
    ASSERT_TRUE(store_->Close().ok());
    store_.reset();
  }

  // The largest SST file of column family `cf`.
  std::string LargestFile(const std::string& cf) {
    std::vector<std::string> files = SstFilesOf(dir_.path(), cf);
    EXPECT_THAT(files, ::testing::Not(::testing::IsEmpty()));
    std::string largest;
    for (const std::string& f : files) {
      if (largest.empty() ||
          std::filesystem::file_size(f) > std::filesystem::file_size(largest)) {
        largest = f;
      }
    }
    return largest;
  }

  static void ExpectDataLossNaming(const absl::Status& status,
                                   const std::string& file) {
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(status.message(),
                HasSubstr(std::filesystem::path(file).filename().string()))
        << status;
  }

  TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  Options options_;
  std::unique_ptr<Store> store_;
};

TEST_F(CorruptionTest, AFlippedByteInAMessageFileIsDataLossNamingTheFile) {
  WriteAndClose();
  const std::string file = LargestFile("messages");
  // Data blocks come first, the index and footer last.
  FlipByte(file, std::filesystem::file_size(file) / 3);
  Open();

  int damaged = 0, intact = 0;
  for (int c = 0; c < kConversations; ++c) {
    absl::StatusOr<std::vector<v1::Message>> read =
        testing::ReadBothWays(*store_, "acme", absl::StrCat("c", c));
    if (read.ok()) {
      EXPECT_THAT(*read, SizeIs(kPerConversation));
      ++intact;
    } else {
      ExpectDataLossNaming(read.status(), file);
      ++damaged;
    }
  }
  EXPECT_GT(damaged, 0);
  EXPECT_GT(intact, 0);
  ExpectDataLossNaming(store_->Stats().status(), file);
  ExpectDataLossNaming(store_->Verify().status(), file);
  // What does not read the damaged block goes on working.
  EXPECT_TRUE(store_->GetPolicy("acme").ok());
  absl::StatusOr<AuditVerification> audit = store_->VerifyAudit();
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_TRUE(audit->ok);
}

TEST_F(CorruptionTest, AFlippedByteInTheMetadataFileFailsOpenWithDataLoss) {
  WriteAndClose();
  // Policies, the ledger's head and the store secret live in the metadata
  // column family, and Open reads them (here the block with "format").
  const std::string file = LargestFile("default");
  FlipByte(file, std::filesystem::file_size(file) / 3);
  ExpectDataLossNaming(Store::Open(options_, dir_.path()).status(), file);
}

TEST_F(CorruptionTest, EveryFlippedByteOfTheLedgerIsDataLossNamingTheFile) {
  // A ledger of several blocks (the audit/ keys sort first in the file).
  for (int i = 0; i < 300; ++i) {
    clock_->Advance(absl::Minutes(1));
    ASSERT_TRUE(
        store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(10 + i % 20))
            .ok());
  }
  WriteAndClose();
  const std::string file = LargestFile("default");
  const size_t size = std::filesystem::file_size(file);
  // One byte per block-sized step through the first half of the file, each
  // time on an otherwise intact file: Open (which reads the metadata) or
  // VerifyAudit must report it; a damaged ledger never verifies.
  int flipped = 0;
  for (size_t offset = 100; offset < size / 2; offset += 4096) {
    SCOPED_TRACE(absl::StrCat("byte ", offset, " of ", size));
    FlipByte(file, offset);
    ++flipped;
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(options_, dir_.path());
    if (store.ok()) {
      ExpectDataLossNaming((*store)->VerifyAudit().status(), file);
      EXPECT_TRUE((*store)->Close().ok());
    } else {
      ExpectDataLossNaming(store.status(), file);
    }
    FlipByte(file, offset);  // back as it was
  }
  EXPECT_GE(flipped, 3);
  // And intact again, it opens and verifies.
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(options_, dir_.path());
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<AuditVerification> audit = (*store)->VerifyAudit();
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_TRUE(audit->ok);
}

}  // namespace
}  // namespace ebb
