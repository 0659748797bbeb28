// Copyright ebb authors.

#include "lib/ebb/internal/proto_time.h"

#include <limits>

#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

TEST(ProtoTimeTest, TimestampRoundTripsIncludingBeforeTheEpoch) {
  for (absl::Time t :
       {absl::UnixEpoch(), absl::FromUnixNanos(1'700'000'000'123'456'789),
        absl::FromUnixNanos(-1), MinTimestamp(), MaxTimestamp()}) {
    absl::StatusOr<absl::Time> back = FromProtoTimestamp(ToProtoTimestamp(t));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(ToProtoTimestamp(absl::FromUnixNanos(-1)).seconds(), -1);
  EXPECT_EQ(ToProtoTimestamp(absl::FromUnixNanos(-1)).nanos(), 999999999);
}

TEST(ProtoTimeTest, TimestampOutsideTheProtobufRangeIsInvalidArgument) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(253402300800);  // 10000-01-01
  EXPECT_EQ(FromProtoTimestamp(ts).status().code(),
            absl::StatusCode::kInvalidArgument);
  ts.set_seconds(0);
  ts.set_nanos(-1);
  EXPECT_EQ(FromProtoTimestamp(ts).status().code(),
            absl::StatusCode::kInvalidArgument);
  ts.set_seconds(std::numeric_limits<int64_t>::min());
  ts.set_nanos(0);
  EXPECT_EQ(FromProtoTimestamp(ts).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProtoTimeTest, DurationRoundTrips) {
  for (absl::Duration d : {absl::ZeroDuration(), absl::Hours(24 * 30),
                           absl::Nanoseconds(1500000001)}) {
    EXPECT_EQ(FromProtoDuration(ToProtoDuration(d)), d);
  }
}

TEST(ProtoTimeTest, MicrosRoundDownAndUp) {
  const absl::Time t = absl::FromUnixNanos(1500);  // 1.5 us
  EXPECT_EQ(ToMicrosFloor(t), 1);
  EXPECT_EQ(ToMicrosCeil(t), 2);
  EXPECT_EQ(ToMicrosCeil(absl::FromUnixMicros(7)), 7);
  EXPECT_EQ(ToMicrosFloor(absl::FromUnixNanos(-1)), -1);
  EXPECT_EQ(ToMicrosCeil(absl::FromUnixNanos(-1)), 0);
  EXPECT_EQ(ToMicrosFloor(absl::InfinitePast()),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ToMicrosCeil(absl::InfiniteFuture()),
            std::numeric_limits<int64_t>::max());
}

}  // namespace
}  // namespace ebb::internal
