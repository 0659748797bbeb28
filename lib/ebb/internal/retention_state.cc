// Copyright ebb authors.

#include "lib/ebb/internal/retention_state.h"

#include <algorithm>
#include <utility>

namespace ebb::internal {

RetentionState::RetentionState(std::shared_ptr<Clock> clock,
                               PolicySnapshot initial)
    : clock_(std::move(clock)),
      snapshot_(std::make_shared<const PolicySnapshot>(std::move(initial))),
      published_(snapshot_) {}

RetentionState::View RetentionState::Observe() const {
  absl::ReaderMutexLock lock(&mu_);
  return View{clock_->Now(), snapshot_};
}

RetentionState::View RetentionState::ObserveWithoutWaiting() const {
  // Order matters: the clock first, then the pending mark, then the
  // snapshot. If no change was pending when the mark was read, any change
  // still to come reads its time after our clock, so the snapshot we load is
  // valid at our `now`. If one was pending, its time bounds `now`, so the
  // snapshot is valid whether or not it already includes the change.
  absl::Time now = clock_->Now();
  const int64_t pending = pending_since_micros_.load();
  std::shared_ptr<const PolicySnapshot> snapshot = std::atomic_load(&published_);
  if (pending != kNoChangePending) {
    now = std::min(now, absl::FromUnixMicros(pending));
  }
  return View{now, std::move(snapshot)};
}

absl::Status RetentionState::Update(
    absl::FunctionRef<
        absl::StatusOr<std::optional<PolicySnapshot>>(const View&)>
        change) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  pending_since_micros_.store(absl::ToUnixMicros(now));
  absl::StatusOr<std::optional<PolicySnapshot>> next =
      change(View{now, snapshot_});
  if (next.ok() && next->has_value()) {
    snapshot_ = std::make_shared<const PolicySnapshot>(std::move(**next));
    std::atomic_store(&published_, snapshot_);
  }
  pending_since_micros_.store(kNoChangePending);
  return next.status();
}

}  // namespace ebb::internal
