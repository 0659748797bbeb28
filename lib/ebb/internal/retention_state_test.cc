// Copyright ebb authors.

#include "lib/ebb/internal/retention_state.h"

#include "gtest/gtest.h"
#include "lib/ebb/internal/proto_time.h"

namespace ebb::internal {
namespace {

PolicySnapshot Defaults(absl::Duration ttl) {
  v1::RetentionPolicy defaults;
  for (v1::DataCategory c : kStoredCategories) {
    v1::RetentionRule* r = defaults.add_rules();
    r->set_category(c);
    *r->mutable_ttl() = ToProtoDuration(ttl);
  }
  return *PolicySnapshot::Build(defaults, {}, {});
}

TEST(RetentionStateTest, ObserveWithoutWaitingNeverBlocksOnAWriter) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  auto clock = std::make_shared<ManualClock>(t0);
  RetentionState state(clock, Defaults(absl::Hours(24)));
  ASSERT_TRUE(
      state
          .Update([&](const RetentionState::View& view)
                      -> absl::StatusOr<std::optional<PolicySnapshot>> {
            // A flush's filter asking now, while this writer holds the
            // lock (as a stalled write would): it must not wait, and must
            // not pair the old snapshot with a time after the change.
            clock->Advance(absl::Minutes(5));
            const RetentionState::View seen = state.ObserveWithoutWaiting();
            EXPECT_EQ(seen.now, view.now);
            EXPECT_EQ(seen.snapshot, view.snapshot);
            return std::optional<PolicySnapshot>(Defaults(absl::Hours(48)));
          })
          .ok());
  const RetentionState::View after = state.ObserveWithoutWaiting();
  EXPECT_EQ(after.now, t0 + absl::Minutes(5));
  EXPECT_EQ(after.snapshot->RuleFor("x", v1::CATEGORY_TRANSCRIPT).ttl,
            absl::Hours(48));
  EXPECT_EQ(after.snapshot, state.Observe().snapshot);
}

TEST(RetentionStateTest, AFailedUpdatePublishesNothing) {
  auto clock = std::make_shared<ManualClock>(absl::UnixEpoch());
  RetentionState state(clock, Defaults(absl::Hours(24)));
  const auto before = state.Observe().snapshot;
  EXPECT_FALSE(
      state
          .Update([&](const RetentionState::View&)
                      -> absl::StatusOr<std::optional<PolicySnapshot>> {
            return absl::UnavailableError("disk full");
          })
          .ok());
  EXPECT_EQ(state.ObserveWithoutWaiting().snapshot, before);
  clock->Advance(absl::Hours(1));
  EXPECT_EQ(state.ObserveWithoutWaiting().now,
            absl::UnixEpoch() + absl::Hours(1));
}

}  // namespace
}  // namespace ebb::internal
