// Copyright ebb authors.
//
// Conversions between protobuf's Timestamp/Duration and absl::Time/Duration,
// and the microsecond integers the on-disk codec uses. Everything above the
// codec works in absl types.

#ifndef EBB_INTERNAL_PROTO_TIME_H_
#define EBB_INTERNAL_PROTO_TIME_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace ebb::internal {

// protobuf Timestamp's documented range: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z.
absl::Time MinTimestamp();
absl::Time MaxTimestamp();

// InvalidArgument if `ts` lies outside the documented range or its nanos field
// is outside [0, 1e9).
absl::StatusOr<absl::Time> FromProtoTimestamp(
    const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp ToProtoTimestamp(absl::Time t);

// REQUIRES: `d` is finite.
google::protobuf::Duration ToProtoDuration(absl::Duration d);
absl::Duration FromProtoDuration(const google::protobuf::Duration& d);

// Microseconds since the Unix epoch, rounded down. Infinite past/future map to
// INT64_MIN/INT64_MAX, which keep their order against every finite time.
int64_t ToMicrosFloor(absl::Time t);

// Microseconds since the Unix epoch, rounded up; infinities as ToMicrosFloor.
// For a whole number of microseconds c and any time x: c < x iff c < Ceil(x).
int64_t ToMicrosCeil(absl::Time t);

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_PROTO_TIME_H_
