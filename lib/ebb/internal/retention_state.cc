// Copyright ebb authors.

#include "lib/ebb/internal/retention_state.h"

#include <utility>

namespace ebb::internal {

RetentionState::View RetentionState::Observe() const {
  absl::ReaderMutexLock lock(&mu_);
  return View{clock_->Now(), snapshot_};
}

absl::Status RetentionState::Update(
    absl::FunctionRef<
        absl::StatusOr<std::optional<PolicySnapshot>>(const View&)>
        change) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::optional<PolicySnapshot>> next =
      change(View{clock_->Now(), snapshot_});
  if (!next.ok()) return next.status();
  if (next->has_value()) {
    snapshot_ = std::make_shared<const PolicySnapshot>(std::move(**next));
  }
  return absl::OkStatus();
}

}  // namespace ebb::internal
