// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: duration.h
// -----------------------------------------------------------------------------
//
// Retention periods as people type them on a command line or in a policy file:
// "7d", "36h", "1d12h", "forever". The text form is deliberately small. There
// are no fractions, signs, spaces, months or years, because a retention period
// is a legal commitment: "1.5d" or "1 month" would leave room to argue about
// what was promised. Every accepted string denotes exactly one absl::Duration,
// and every whole-second duration has exactly one canonical spelling.
//
// Grammar (case-sensitive, no whitespace anywhere):
//
//   duration := "forever" | "inf" | "infinite" | part { part }
//   part     := digits unit
//   unit     := "d" (24 hours) | "h" | "m" (minutes) | "s"
//
// Units appear at most once each and from the largest to the smallest, so that
// "1h1d" (probably a typo) is refused instead of being read as 25 hours.
//
// Example:
//
//   absl::StatusOr<absl::Duration> ttl = ebb::ParseRetentionDuration("1d12h");
//   if (!ttl.ok()) return ttl.status();  // InvalidArgument, quotes the input
//   // *ttl == absl::Hours(36)
//   std::string shown = ebb::FormatRetentionDuration(*ttl);  // "1d12h"
//
//   ebb::ParseRetentionDuration("forever");  // absl::InfiniteDuration()
//   ebb::ParseRetentionDuration("90d ");     // InvalidArgument: whitespace
//
// Whether a given period is allowed (zero, forever, an upper bound) is policy
// and is checked where the policy is validated, not here.

#ifndef EBB_DURATION_H_
#define EBB_DURATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ebb {

// Parses a retention period written in the grammar above.
//
// Returns absl::InfiniteDuration() for "forever", "inf" and "infinite", and a
// finite, exact, non-negative duration otherwise ("0d" is
// absl::ZeroDuration()). Returns InvalidArgument, with a message that quotes
// `text` (C-escaped) and says what is wrong, if `text` is empty, has
// whitespace, a sign, a fraction, a number without a unit, a unit without a
// number, an unknown unit ("7days", "90ms"), a repeated or out-of-order unit,
// or denotes more than INT64_MAX seconds (about 292 billion years; never wraps
// or saturates).
//
// Thread-safe.
absl::StatusOr<absl::Duration> ParseRetentionDuration(absl::string_view text);

// Formats `d` in the grammar above, largest units first, zero parts omitted:
// Hours(36) -> "1d12h", Minutes(90) -> "1h30m", ZeroDuration() -> "0s",
// InfiniteDuration() -> "forever".
//
// For every whole-second duration from zero to INT64_MAX seconds,
// ParseRetentionDuration(FormatRetentionDuration(d)) == d.
//
// Durations the grammar cannot express (negative ones, -InfiniteDuration(), and
// ones with a sub-second part) fall back to absl::FormatDuration, e.g. "1.5s"
// or
// "-2h". That text is for people only: ParseRetentionDuration refuses it.
//
// Thread-safe.
std::string FormatRetentionDuration(absl::Duration d);

// A time of day, UTC, as "HH:MM" or "HH:MM:SS" (24-hour clock, two digits
// each, 00:00 to 23:59:59), as the time after midnight: "02:30" ->
// Hours(2) + Minutes(30). Anything else is InvalidArgument quoting the input.
// Options::day_start is given this way on the command line.
//
// Thread-safe.
absl::StatusOr<absl::Duration> ParseTimeOfDay(absl::string_view text);

// "HH:MM:SS" for a time of day in whole seconds from zero to 24 hours
// exclusive; absl::FormatDuration's text for anything else.
//
// Thread-safe.
std::string FormatTimeOfDay(absl::Duration time_of_day);

}  // namespace ebb

#endif  // EBB_DURATION_H_
