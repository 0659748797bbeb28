// Copyright ebb authors.

#include "lib/ebb/internal/parallel_delete_fs.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"

namespace ebb::internal {
namespace {

class ParallelDeleteFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
           absl::StrCat("parallel-delete-", getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string MakeFile(const std::string& name) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << "bytes";
    return path;
  }
  rocksdb::IOStatus Delete(const std::string& path) {
    return fs_.DeleteFile(path, rocksdb::IOOptions(), nullptr);
  }

  std::filesystem::path dir_;
  ParallelDeleteFileSystem fs_{rocksdb::FileSystem::Default(), 4};
};

TEST_F(ParallelDeleteFileSystemTest, DeletesInTheCallerOutsideAParallelSpan) {
  const std::string sst = MakeFile("000001.sst");
  ASSERT_TRUE(Delete(sst).ok());
  EXPECT_FALSE(std::filesystem::exists(sst));
  // And reports what the file system says.
  EXPECT_FALSE(Delete(sst).ok());
}

TEST_F(ParallelDeleteFileSystemTest, EveryQueuedFileIsGoneWhenTheSpanEnds) {
  fs_.BeginParallelDeletes();
  std::vector<std::string> files;
  for (int i = 0; i < 500; ++i) {
    files.push_back(MakeFile(absl::StrCat(100000 + i, ".sst")));
    ASSERT_TRUE(Delete(files.back()).ok());
  }
  // Not SST files: deleted at once, in the caller.
  const std::string log = MakeFile("000009.log");
  ASSERT_TRUE(Delete(log).ok());
  EXPECT_FALSE(std::filesystem::exists(log));
  ASSERT_TRUE(fs_.EndParallelDeletes().ok());
  for (const std::string& f : files) {
    EXPECT_FALSE(std::filesystem::exists(f)) << f;
  }
  // A second span works like the first.
  fs_.BeginParallelDeletes();
  const std::string again = MakeFile("000002.sst");
  ASSERT_TRUE(Delete(again).ok());
  ASSERT_TRUE(fs_.EndParallelDeletes().ok());
  EXPECT_FALSE(std::filesystem::exists(again));
}

TEST_F(ParallelDeleteFileSystemTest, AFailedDeletionIsReportedWhenTheSpanEnds) {
  fs_.BeginParallelDeletes();
  // A directory cannot be unlinked as a file.
  const std::filesystem::path not_a_file = dir_ / "000003.sst";
  std::filesystem::create_directories(not_a_file / "inside");
  ASSERT_TRUE(Delete(not_a_file.string()).ok());  // queued
  const std::string gone = (dir_ / "000004.sst").string();
  ASSERT_TRUE(Delete(gone).ok());  // already gone: not an error
  const absl::Status ended = fs_.EndParallelDeletes();
  EXPECT_EQ(ended.code(), absl::StatusCode::kInternal);
  EXPECT_NE(ended.message().find("000003.sst"), absl::string_view::npos)
      << ended;
}

}  // namespace
}  // namespace ebb::internal
