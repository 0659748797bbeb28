// Copyright ebb authors.
//
// Fuzzes the parsers of times people type: ParseRetentionDuration (`ebb
// policy set --ttl`), ParseRfc3339 (`--now`, created_at) and ParseTimeOfDay
// (`--day-start`). Invariants: no crash; an accepted duration is non-negative
// and whole seconds or infinite, and formats back to text that parses to the
// same value; an accepted time is inside protobuf Timestamp's range and
// formats back to itself; an accepted time of day is whole seconds in
// [0, 24h) and formats back to itself.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "lib/ebb/duration.h"
#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char *>(data), size);

  absl::StatusOr<absl::Duration> duration = ebb::ParseRetentionDuration(text);
  if (duration.ok()) {
    EBB_FUZZ_CHECK(*duration >= absl::ZeroDuration(), "duration >= 0");
    if (*duration != absl::InfiniteDuration()) {
      EBB_FUZZ_CHECK(absl::Trunc(*duration, absl::Seconds(1)) == *duration,
                     "duration is whole seconds");
    }
    const std::string formatted = ebb::FormatRetentionDuration(*duration);
    absl::StatusOr<absl::Duration> again =
        ebb::ParseRetentionDuration(formatted);
    EBB_FUZZ_CHECK(again.ok() && *again == *duration, "parse(format(d)) == d");
  }

  absl::StatusOr<absl::Time> time = ebb::ParseRfc3339(text);
  if (time.ok()) {
    EBB_FUZZ_CHECK(*time >= ebb::internal::MinTimestamp() &&
                       *time <= ebb::internal::MaxTimestamp(),
                   "time inside Timestamp's range");
    const std::string formatted = ebb::FormatRfc3339(*time);
    absl::StatusOr<absl::Time> again = ebb::ParseRfc3339(formatted);
    EBB_FUZZ_CHECK(again.ok() && *again == *time, "parse(format(t)) == t");
  }
  absl::StatusOr<absl::Duration> time_of_day = ebb::ParseTimeOfDay(text);
  if (time_of_day.ok()) {
    EBB_FUZZ_CHECK(
        *time_of_day >= absl::ZeroDuration() &&
            *time_of_day < absl::Hours(24) &&
            absl::Trunc(*time_of_day, absl::Seconds(1)) == *time_of_day,
        "time of day is whole seconds within a day");
    absl::StatusOr<absl::Duration> again =
        ebb::ParseTimeOfDay(ebb::FormatTimeOfDay(*time_of_day));
    EBB_FUZZ_CHECK(again.ok() && *again == *time_of_day,
                   "parse(format(t)) == t");
  }
  return 0;
}
