// Copyright ebb authors.

#include "lib/ebb/duration.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ebb {
namespace {

struct Unit {
  char name;
  int64_t seconds;
};

// Largest first: the order in which parts must be written and are formatted.
constexpr Unit kUnits[] = {
    {'d', 24 * 60 * 60}, {'h', 60 * 60}, {'m', 60}, {'s', 1}};
constexpr int kNumUnits = sizeof(kUnits) / sizeof(kUnits[0]);

constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max();

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  // Escaped so that a stray control byte or newline from a script cannot
  // garble the log line the message ends up in.
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid retention duration \"", absl::CEscape(text), "\": ", why));
}

absl::Status UnexpectedCharacter(absl::string_view text, size_t offset) {
  if (text[offset] == '-') {
    return Invalid(text, "negative durations are not allowed");
  }
  if (text[offset] == '.' || text[offset] == ',') {
    return Invalid(text, "fractional numbers are not allowed");
  }
  return Invalid(text, absl::StrCat("unexpected character \"",
                                    absl::CEscape(text.substr(offset, 1)),
                                    "\" at offset ", offset));
}

// Index of `name` in kUnits, or -1.
int FindUnit(absl::string_view name) {
  if (name.size() != 1) return -1;
  for (int i = 0; i < kNumUnits; ++i) {
    if (kUnits[i].name == name[0]) return i;
  }
  return -1;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseRetentionDuration(absl::string_view text) {
  if (text == "forever" || text == "inf" || text == "infinite") {
    return absl::InfiniteDuration();
  }
  if (text.empty()) {
    return Invalid(text,
                   "it is empty; expected e.g. \"7d\", \"36h\", \"1d12h\" or "
                   "\"forever\"");
  }
  for (char c : text) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return Invalid(text, "whitespace is not allowed");
    }
  }

  int64_t total_seconds = 0;
  int last_unit = -1;       // Index into kUnits of the previous part's unit.
  unsigned seen_units = 0;  // Bit i set once kUnits[i] has been used.
  size_t i = 0;
  while (i < text.size()) {
    const size_t number_start = i;
    while (i < text.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    const absl::string_view digits =
        text.substr(number_start, i - number_start);
    if (digits.empty()) {
      size_t letters_end = i;
      while (
          letters_end < text.size() &&
          absl::ascii_isalpha(static_cast<unsigned char>(text[letters_end]))) {
        ++letters_end;
      }
      if (letters_end > i) {
        return Invalid(text,
                       absl::StrCat("expected a number before \"",
                                    text.substr(i, letters_end - i), "\""));
      }
      return UnexpectedCharacter(text, i);
    }

    const size_t unit_start = i;
    while (i < text.size() &&
           absl::ascii_isalpha(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    const absl::string_view unit_name = text.substr(unit_start, i - unit_start);
    if (unit_name.empty()) {
      if (i == text.size()) {
        return Invalid(text, absl::StrCat("number ", digits,
                                          " has no unit (d, h, m or s)"));
      }
      return UnexpectedCharacter(text, i);
    }
    const int unit = FindUnit(unit_name);
    if (unit < 0) {
      return Invalid(text, absl::StrCat("unknown unit \"", unit_name,
                                        "\" (use d, h, m or s)"));
    }
    if (seen_units & (1u << unit)) {
      return Invalid(text,
                     absl::StrCat("unit \"", unit_name, "\" appears twice"));
    }
    if (unit < last_unit) {
      return Invalid(
          text, absl::StrCat("unit \"", unit_name, "\" comes after \"",
                             absl::string_view(&kUnits[last_unit].name, 1),
                             "\"; write units from largest to smallest (d, h, "
                             "m, s), each at most once"));
    }
    last_unit = unit;
    seen_units |= 1u << unit;

    // Summed in checked int64 seconds: absl::Duration arithmetic would
    // saturate to InfiniteDuration() and turn a typo into "keep forever".
    uint64_t n = 0;
    if (!absl::SimpleAtoi(digits, &n) ||
        n > static_cast<uint64_t>(kMaxSeconds / kUnits[unit].seconds) ||
        static_cast<int64_t>(n) * kUnits[unit].seconds >
            kMaxSeconds - total_seconds) {
      return Invalid(text, absl::StrCat("too large; at most ", kMaxSeconds,
                                        "s (about 292 billion years)"));
    }
    total_seconds += static_cast<int64_t>(n) * kUnits[unit].seconds;
  }
  return absl::Seconds(total_seconds);
}

std::string FormatRetentionDuration(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "forever";
  if (d < absl::ZeroDuration()) return absl::FormatDuration(d);
  absl::Duration remainder;
  int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &remainder);
  if (remainder != absl::ZeroDuration()) return absl::FormatDuration(d);
  if (seconds == 0) return "0s";
  std::string out;
  for (const Unit& unit : kUnits) {
    const int64_t count = seconds / unit.seconds;
    seconds %= unit.seconds;
    if (count > 0)
      absl::StrAppend(&out, count, absl::string_view(&unit.name, 1));
  }
  return out;
}

absl::StatusOr<absl::Duration> ParseTimeOfDay(absl::string_view text) {
  // Two digits, a colon, two digits, and optionally a colon and two more.
  const bool shaped =
      (text.size() == 5 || text.size() == 8) && text[2] == ':' &&
      (text.size() == 5 || text[5] == ':') && absl::ascii_isdigit(text[0]) &&
      absl::ascii_isdigit(text[1]) && absl::ascii_isdigit(text[3]) &&
      absl::ascii_isdigit(text[4]) &&
      (text.size() == 5 ||
       (absl::ascii_isdigit(text[6]) && absl::ascii_isdigit(text[7])));
  auto two = [&](size_t at) {
    return (text[at] - '0') * 10 + text[at + 1] - '0';
  };
  const int hours = shaped ? two(0) : 0, minutes = shaped ? two(3) : 0,
            seconds = shaped && text.size() == 8 ? two(6) : 0;
  if (!shaped || hours > 23 || minutes > 59 || seconds > 59) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid time of day \"", absl::CEscape(text),
                     "\": expected HH:MM or HH:MM:SS from 00:00 to 23:59:59"));
  }
  return absl::Hours(hours) + absl::Minutes(minutes) + absl::Seconds(seconds);
}

std::string FormatTimeOfDay(absl::Duration time_of_day) {
  if (time_of_day < absl::ZeroDuration() || time_of_day >= absl::Hours(24) ||
      time_of_day != absl::Trunc(time_of_day, absl::Seconds(1))) {
    return absl::FormatDuration(time_of_day);
  }
  const int64_t seconds = absl::ToInt64Seconds(time_of_day);
  return absl::StrFormat("%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60,
                         seconds % 60);
}

}  // namespace ebb
