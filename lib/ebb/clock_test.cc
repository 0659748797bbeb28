// Copyright ebb authors.

#include "lib/ebb/clock.h"

#include "gtest/gtest.h"

namespace ebb {
namespace {

TEST(ManualClockTest, StartsWhereToldAndOnlyMovesWhenTold) {
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  ManualClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Hours(48));
  EXPECT_EQ(clock.Now(), start + absl::Hours(48));
  clock.Set(start - absl::Seconds(1));
  EXPECT_EQ(clock.Now(), start - absl::Seconds(1));
}

TEST(SystemClockTest, IsTheWallClock) {
  const absl::Time before = absl::Now();
  const absl::Time now = SystemClock()->Now();
  EXPECT_GE(now, before);
  EXPECT_LE(now, absl::Now());
  EXPECT_EQ(SystemClock().get(), SystemClock().get());
}

}  // namespace
}  // namespace ebb
