// Copyright ebb authors.

#include "lib/ebb/internal/max_created_at_merge.h"

#include "gtest/gtest.h"
#include "lib/ebb/internal/record_codec.h"

namespace ebb::internal {
namespace {

std::string Header(int64_t micros) {
  std::string out;
  AppendRecordHeader({v1::CATEGORY_TRANSCRIPT, micros}, &out);
  return out;
}

std::string MergeOf(const std::string* existing, const std::string& value) {
  MaxCreatedAtMergeOperator op;
  rocksdb::Slice existing_slice = existing ? rocksdb::Slice(*existing) : "";
  std::string out;
  EXPECT_TRUE(op.Merge("k", existing ? &existing_slice : nullptr, value, &out,
                       nullptr));
  return out;
}

TEST(MaxCreatedAtMergeTest, KeepsTheLaterCreatedAtWhateverTheOrder) {
  const std::string older = Header(100), newer = Header(200);
  EXPECT_EQ(MergeOf(&older, newer), newer);
  EXPECT_EQ(MergeOf(&newer, older), newer);
  EXPECT_EQ(MergeOf(nullptr, older), older);
}

TEST(MaxCreatedAtMergeTest, UndecodableOperandLosesToADecodableOne) {
  const std::string good = Header(100), bad = "garbage";
  EXPECT_EQ(MergeOf(&bad, good), good);
  EXPECT_EQ(MergeOf(&good, bad), good);
  const std::string bad2 = "worse";
  EXPECT_EQ(MergeOf(&bad, bad2), bad2);
}

}  // namespace
}  // namespace ebb::internal
