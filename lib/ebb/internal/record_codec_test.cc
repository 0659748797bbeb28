// Copyright ebb authors.

#include "lib/ebb/internal/record_codec.h"

#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

v1::Message SampleMessage() {
  v1::Message m;
  m.set_tenant("acme");
  m.set_user("u1");
  m.set_conversation("c1");
  m.set_seq(3);
  m.set_role(v1::ROLE_USER);
  m.set_text("hello");
  m.mutable_created_at()->set_seconds(1'700'000'000);
  m.mutable_created_at()->set_nanos(123000);
  m.set_category(v1::CATEGORY_TRAINING_EXAMPLE);
  (*m.mutable_metadata())["channel"] = "web";
  return m;
}

TEST(RecordHeaderTest, RoundTripsIncludingNegativeTimes) {
  for (int64_t micros :
       {int64_t{0}, int64_t{-1}, int64_t{1'700'000'000'000'000},
        std::numeric_limits<int64_t>::min()}) {
    std::string bytes;
    AppendRecordHeader({v1::CATEGORY_DIAGNOSTIC_LOG, micros}, &bytes);
    ASSERT_EQ(bytes.size(), kRecordHeaderSize);
    std::optional<RecordHeader> header = DecodeRecordHeader(bytes);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->category, v1::CATEGORY_DIAGNOSTIC_LOG);
    EXPECT_EQ(header->created_at_micros, micros);
  }
}

TEST(RecordHeaderTest, UndecodableHeadersAreReportedNotGuessed) {
  std::string bytes;
  AppendRecordHeader({v1::CATEGORY_TRANSCRIPT, 5}, &bytes);
  EXPECT_FALSE(DecodeRecordHeader(bytes.substr(0, 9)).has_value());
  std::string wrong_format = bytes;
  wrong_format[0] = 2;
  EXPECT_FALSE(DecodeRecordHeader(wrong_format).has_value());
  std::string unspecified = bytes;
  unspecified[1] = 0;
  EXPECT_FALSE(DecodeRecordHeader(unspecified).has_value());
  std::string unknown = bytes;
  unknown[1] = 42;
  EXPECT_FALSE(DecodeRecordHeader(unknown).has_value());
}

TEST(MessageRecordTest, RoundTripsAndHeaderCarriesCategoryAndCreatedAt) {
  const v1::Message m = SampleMessage();
  std::string bytes = "previous contents";
  EncodeMessageRecord(m, &bytes);
  std::optional<RecordHeader> header = DecodeRecordHeader(bytes);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->category, v1::CATEGORY_TRAINING_EXAMPLE);
  EXPECT_EQ(header->created_at_micros, int64_t{1'700'000'000'000'123});
  absl::StatusOr<v1::Message> back = DecodeMessageRecord(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), m.SerializeAsString());
}

TEST(MessageRecordTest, GarbageBodyIsDataLoss) {
  std::string bytes;
  AppendRecordHeader({v1::CATEGORY_TRANSCRIPT, 5}, &bytes);
  bytes += "\xff\xff\xff";
  EXPECT_EQ(DecodeMessageRecord(bytes).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeMessageRecord("x").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(MessageRecordTest, HeaderThatDisagreesWithBodyIsDataLoss) {
  std::string bytes;
  EncodeMessageRecord(SampleMessage(), &bytes);
  bytes[9] ^= 1;  // last byte of created_at
  EXPECT_EQ(DecodeMessageRecord(bytes).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ebb::internal
