// Copyright ebb authors.

#include "lib/ebb/clock.h"

namespace ebb {
namespace {

class WallClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

std::shared_ptr<Clock> SystemClock() {
  static const auto* const kClock = new std::shared_ptr<Clock>(new WallClock);
  return *kClock;
}

absl::Time ManualClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void ManualClock::Set(absl::Time now) {
  absl::MutexLock lock(&mu_);
  now_ = now;
}

void ManualClock::Advance(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  now_ += d;
}

}  // namespace ebb
