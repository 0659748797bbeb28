// Copyright ebb authors.

#include "lib/ebb/internal/proto_time.h"

#include <limits>

#include "absl/strings/str_format.h"

namespace ebb::internal {
namespace {
constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z
}  // namespace

absl::Time MinTimestamp() {
  return absl::FromUnixSeconds(kMinTimestampSeconds);
}

absl::Time MaxTimestamp() {
  return absl::FromUnixSeconds(kMaxTimestampSeconds) +
         absl::Nanoseconds(999999999);
}

absl::StatusOr<absl::Time> FromProtoTimestamp(
    const google::protobuf::Timestamp& ts) {
  if (ts.nanos() < 0 || ts.nanos() > 999999999) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "timestamp {seconds: %d, nanos: %d} has nanos outside 0..999999999",
        ts.seconds(), ts.nanos()));
  }
  if (ts.seconds() < kMinTimestampSeconds ||
      ts.seconds() > kMaxTimestampSeconds) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "timestamp {seconds: %d, nanos: %d} is outside 0001-01-01..9999-12-31",
        ts.seconds(), ts.nanos()));
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

google::protobuf::Timestamp ToProtoTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);  // rounds toward -inf
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

absl::Duration FromProtoDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

int64_t ToMicrosFloor(absl::Time t) {
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  return absl::ToUnixMicros(t);
}

int64_t ToMicrosCeil(absl::Time t) {
  int64_t floor = ToMicrosFloor(t);
  if (floor == std::numeric_limits<int64_t>::min() ||
      floor == std::numeric_limits<int64_t>::max()) {
    return floor;
  }
  return absl::FromUnixMicros(floor) < t ? floor + 1 : floor;
}

}  // namespace ebb::internal
