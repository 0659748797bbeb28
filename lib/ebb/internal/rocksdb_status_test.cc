// Copyright ebb authors.

#include "lib/ebb/internal/rocksdb_status.h"

#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

TEST(RocksdbStatusTest, OkStaysOk) {
  EXPECT_TRUE(ToAbslStatus(rocksdb::Status::OK(), "op").ok());
}

TEST(RocksdbStatusTest, CorruptionIsDataLossAndNamesTheOperation) {
  absl::Status s = ToAbslStatus(rocksdb::Status::Corruption("bad block"),
                                "read conversation");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "read conversation: rocksdb: Corruption: bad block");
}

TEST(RocksdbStatusTest, CodesMapToTheClosestAbslCode) {
  EXPECT_EQ(ToAbslStatus(rocksdb::Status::NotFound(), "x").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ToAbslStatus(rocksdb::Status::InvalidArgument(), "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ToAbslStatus(rocksdb::Status::IOError(), "x").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ToAbslStatus(rocksdb::Status::NoSpace(), "x").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ToAbslStatus(rocksdb::Status::Busy(), "x").code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(ToAbslStatus(rocksdb::Status::NotSupported(), "x").code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace ebb::internal
