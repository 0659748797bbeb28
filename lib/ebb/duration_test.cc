// Copyright ebb authors.

#include "lib/ebb/duration.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebb {
namespace {

constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max();

// Asserts that parsing `text` fails with InvalidArgument and exactly `message`.
void ExpectRefused(absl::string_view text, absl::string_view message) {
  absl::StatusOr<absl::Duration> d = ParseRetentionDuration(text);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << text;
  EXPECT_EQ(d.status().message(), message) << text;
}

TEST(ParseRetentionDurationTest, ParsesSingleUnits) {
  EXPECT_EQ(*ParseRetentionDuration("7d"), absl::Hours(7 * 24));
  EXPECT_EQ(*ParseRetentionDuration("36h"), absl::Hours(36));
  EXPECT_EQ(*ParseRetentionDuration("90m"), absl::Minutes(90));
  EXPECT_EQ(*ParseRetentionDuration("45s"), absl::Seconds(45));
}

TEST(ParseRetentionDurationTest, ParsesCombinedUnits) {
  EXPECT_EQ(*ParseRetentionDuration("1d12h"), absl::Hours(36));
  EXPECT_EQ(*ParseRetentionDuration("1d2h3m4s"),
            absl::Hours(26) + absl::Minutes(3) + absl::Seconds(4));
  EXPECT_EQ(*ParseRetentionDuration("1h30s"),
            absl::Hours(1) + absl::Seconds(30));
}

TEST(ParseRetentionDurationTest, AcceptsUnnormalizedPartsAndLeadingZeros) {
  EXPECT_EQ(*ParseRetentionDuration("36h90m"),
            absl::Hours(36) + absl::Minutes(90));
  EXPECT_EQ(*ParseRetentionDuration("007d"), absl::Hours(7 * 24));
  EXPECT_EQ(*ParseRetentionDuration("1d0h"), absl::Hours(24));
}

TEST(ParseRetentionDurationTest, ZeroIsZeroDuration) {
  EXPECT_EQ(*ParseRetentionDuration("0d"), absl::ZeroDuration());
  EXPECT_EQ(*ParseRetentionDuration("0s"), absl::ZeroDuration());
}

TEST(ParseRetentionDurationTest, ForeverSpellingsAreInfinite) {
  EXPECT_EQ(*ParseRetentionDuration("forever"), absl::InfiniteDuration());
  EXPECT_EQ(*ParseRetentionDuration("inf"), absl::InfiniteDuration());
  EXPECT_EQ(*ParseRetentionDuration("infinite"), absl::InfiniteDuration());
}

TEST(ParseRetentionDurationTest, ForeverIsCaseSensitive) {
  ExpectRefused("Forever",
                "invalid retention duration \"Forever\": expected a number "
                "before \"Forever\"");
}

TEST(ParseRetentionDurationTest, RefusesEmpty) {
  ExpectRefused("",
                "invalid retention duration \"\": it is empty; expected e.g. "
                "\"7d\", \"36h\", \"1d12h\" or \"forever\"");
}

TEST(ParseRetentionDurationTest, RefusesMissingUnit) {
  ExpectRefused("7",
                "invalid retention duration \"7\": number 7 has no unit "
                "(d, h, m or s)");
  ExpectRefused("1d12",
                "invalid retention duration \"1d12\": number 12 has "
                "no unit (d, h, m or s)");
}

TEST(ParseRetentionDurationTest, RefusesMissingNumber) {
  ExpectRefused("d",
                "invalid retention duration \"d\": expected a number "
                "before \"d\"");
}

TEST(ParseRetentionDurationTest, RefusesUnknownUnits) {
  ExpectRefused("7w",
                "invalid retention duration \"7w\": unknown unit \"w\" "
                "(use d, h, m or s)");
  ExpectRefused("7days",
                "invalid retention duration \"7days\": unknown unit \"days\" "
                "(use d, h, m or s)");
  ExpectRefused("90ms",
                "invalid retention duration \"90ms\": unknown unit "
                "\"ms\" (use d, h, m or s)");
  ExpectRefused("7D",
                "invalid retention duration \"7D\": unknown unit \"D\" "
                "(use d, h, m or s)");
}

TEST(ParseRetentionDurationTest, RefusesNegative) {
  ExpectRefused("-7d",
                "invalid retention duration \"-7d\": negative "
                "durations are not allowed");
  ExpectRefused("1d-1h",
                "invalid retention duration \"1d-1h\": negative "
                "durations are not allowed");
}

TEST(ParseRetentionDurationTest, RefusesPlusSign) {
  ExpectRefused("+7d",
                "invalid retention duration \"+7d\": unexpected "
                "character \"+\" at offset 0");
}

TEST(ParseRetentionDurationTest, RefusesFractions) {
  ExpectRefused("1.5d",
                "invalid retention duration \"1.5d\": fractional "
                "numbers are not allowed");
  ExpectRefused("1,5d",
                "invalid retention duration \"1,5d\": fractional "
                "numbers are not allowed");
  ExpectRefused(".5d",
                "invalid retention duration \".5d\": fractional "
                "numbers are not allowed");
}

TEST(ParseRetentionDurationTest, RefusesWhitespace) {
  const std::string message = "whitespace is not allowed";
  ExpectRefused(" 7d", "invalid retention duration \" 7d\": " + message);
  ExpectRefused("7d ", "invalid retention duration \"7d \": " + message);
  ExpectRefused("7 d", "invalid retention duration \"7 d\": " + message);
  ExpectRefused("1d 12h", "invalid retention duration \"1d 12h\": " + message);
  ExpectRefused("7d\n", "invalid retention duration \"7d\\n\": " + message);
}

TEST(ParseRetentionDurationTest, RefusesOutOfOrderUnits) {
  ExpectRefused("1h1d",
                "invalid retention duration \"1h1d\": unit \"d\" comes after "
                "\"h\"; write units from largest to smallest (d, h, m, s), "
                "each at most once");
  ExpectRefused("30s5m",
                "invalid retention duration \"30s5m\": unit \"m\" comes after "
                "\"s\"; write units from largest to smallest (d, h, m, s), "
                "each at most once");
}

TEST(ParseRetentionDurationTest, RefusesRepeatedUnits) {
  ExpectRefused("1h2h",
                "invalid retention duration \"1h2h\": unit \"h\" "
                "appears twice");
  ExpectRefused("1h30m1h",
                "invalid retention duration \"1h30m1h\": unit "
                "\"h\" appears twice");
}

TEST(ParseRetentionDurationTest, RefusesOverflowInsteadOfWrapping) {
  const std::string too_large =
      "too large; at most 9223372036854775807s (about 292 billion years)";
  ExpectRefused(
      "999999999999999999d",
      "invalid retention duration \"999999999999999999d\": " + too_large);
  // Does not fit in uint64 at all.
  ExpectRefused(
      "99999999999999999999999s",
      "invalid retention duration \"99999999999999999999999s\": " + too_large);
  // Each part fits; the sum does not.
  ExpectRefused(
      "106751991167300d86400s",
      "invalid retention duration \"106751991167300d86400s\": " + too_large);
  ExpectRefused(
      "9223372036854775808s",
      "invalid retention duration \"9223372036854775808s\": " + too_large);
}

TEST(ParseRetentionDurationTest, LargestValueIsFiniteAndExact) {
  absl::StatusOr<absl::Duration> d =
      ParseRetentionDuration("9223372036854775807s");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_NE(*d, absl::InfiniteDuration());
  EXPECT_EQ(*d, absl::Seconds(kMaxSeconds));
  EXPECT_EQ(*ParseRetentionDuration("106751991167300d15h30m7s"),
            absl::Seconds(kMaxSeconds));
}

TEST(ParseRetentionDurationTest, EscapesControlBytesInMessage) {
  ExpectRefused(absl::string_view("7\0d", 3),
                "invalid retention duration \"7\\000d\": unexpected character "
                "\"\\000\" at offset 1");
}

TEST(FormatRetentionDurationTest, UsesLargestUnitsAndOmitsZeroParts) {
  EXPECT_EQ(FormatRetentionDuration(absl::Hours(7 * 24)), "7d");
  EXPECT_EQ(FormatRetentionDuration(absl::Hours(36)), "1d12h");
  EXPECT_EQ(FormatRetentionDuration(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(FormatRetentionDuration(absl::Seconds(45)), "45s");
  EXPECT_EQ(FormatRetentionDuration(absl::Hours(24) + absl::Seconds(1)),
            "1d1s");
  EXPECT_EQ(FormatRetentionDuration(absl::Hours(26) + absl::Minutes(3) +
                                    absl::Seconds(4)),
            "1d2h3m4s");
}

TEST(FormatRetentionDurationTest, ZeroIsZeroSeconds) {
  EXPECT_EQ(FormatRetentionDuration(absl::ZeroDuration()), "0s");
}

TEST(FormatRetentionDurationTest, InfiniteIsForever) {
  EXPECT_EQ(FormatRetentionDuration(absl::InfiniteDuration()), "forever");
}

TEST(FormatRetentionDurationTest,
     FallsBackToAbslFormatWhenTheGrammarCannotSayIt) {
  EXPECT_EQ(FormatRetentionDuration(absl::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatRetentionDuration(-absl::Hours(2)), "-2h");
  EXPECT_EQ(FormatRetentionDuration(-absl::InfiniteDuration()), "-inf");
}

TEST(FormatRetentionDurationTest, RoundTripsWholeSeconds) {
  for (int64_t seconds :
       {int64_t{0}, int64_t{1}, int64_t{59}, int64_t{60}, int64_t{61},
        int64_t{3599}, int64_t{3600}, int64_t{86399}, int64_t{86400},
        int64_t{86401}, int64_t{90061}, int64_t{7 * 86400},
        int64_t{400 * 86400 + 3723}, int64_t{1} << 40, kMaxSeconds - 1,
        kMaxSeconds}) {
    const absl::Duration d = absl::Seconds(seconds);
    const std::string text = FormatRetentionDuration(d);
    absl::StatusOr<absl::Duration> parsed = ParseRetentionDuration(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, d) << text;
  }
  EXPECT_EQ(FormatRetentionDuration(absl::Seconds(kMaxSeconds)),
            "106751991167300d15h30m7s");
}

TEST(FormatRetentionDurationTest, RoundTripsForever) {
  EXPECT_EQ(*ParseRetentionDuration(
                FormatRetentionDuration(absl::InfiniteDuration())),
            absl::InfiniteDuration());
}

TEST(ParseTimeOfDayTest, AcceptsHoursMinutesAndOptionalSeconds) {
  EXPECT_EQ(*ParseTimeOfDay("00:00"), absl::ZeroDuration());
  EXPECT_EQ(*ParseTimeOfDay("02:30"), absl::Hours(2) + absl::Minutes(30));
  EXPECT_EQ(*ParseTimeOfDay("23:59:59"), absl::Hours(24) - absl::Seconds(1));
  EXPECT_EQ(*ParseTimeOfDay("12:10:05"),
            absl::Hours(12) + absl::Minutes(10) + absl::Seconds(5));
}

TEST(ParseTimeOfDayTest, RefusesAnythingElseQuotingIt) {
  for (const char* bad :
       {"", "2:30", "24:00", "12:60", "12:00:60", "12:00:0", "12-00", "12:00Z",
        " 12:00", "-1:00", "12:00:00.5", "1200", "ab:cd"}) {
    const absl::StatusOr<absl::Duration> parsed = ParseTimeOfDay(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_THAT(std::string(parsed.status().message()),
                ::testing::HasSubstr(absl::StrCat("\"", bad, "\"")))
        << bad;
  }
}

TEST(FormatTimeOfDayTest, IsHoursMinutesSecondsAndRoundTrips) {
  EXPECT_EQ(FormatTimeOfDay(absl::ZeroDuration()), "00:00:00");
  EXPECT_EQ(FormatTimeOfDay(absl::Hours(12) + absl::Minutes(10)), "12:10:00");
  EXPECT_EQ(FormatTimeOfDay(absl::Hours(24) - absl::Seconds(1)), "23:59:59");
  for (int64_t s : {0, 1, 59, 60, 3599, 3600, 43805, 86399}) {
    EXPECT_EQ(*ParseTimeOfDay(FormatTimeOfDay(absl::Seconds(s))),
              absl::Seconds(s));
  }
  // Not a time of day: shown as a duration.
  EXPECT_EQ(FormatTimeOfDay(absl::Hours(25)), "25h");
  EXPECT_EQ(FormatTimeOfDay(-absl::Seconds(1)), "-1s");
}

}  // namespace
}  // namespace ebb
