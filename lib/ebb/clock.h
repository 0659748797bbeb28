// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: clock.h
// -----------------------------------------------------------------------------
//
// ebb never reads the wall clock directly: every decision about expiry takes
// "now" from a Clock handed in through Options. Production code uses
// SystemClock(); tests, the demo and the CLI's `--now` use a ManualClock, so
// months of retention can be simulated without sleeping.
//
// Example:
//
//   auto clock = std::make_shared<ebb::ManualClock>(
//       absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone()));
//   ebb::Options options;
//   options.clock = clock;
//   ... open a store, append ...
//   clock->Advance(absl::Hours(24 * 31));  // a month later: default-TTL data
//   expired

#ifndef EBB_CLOCK_H_
#define EBB_CLOCK_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ebb {

// The source of "now". Implementations must be thread-safe: the store calls
// Now() from foreground threads and from RocksDB's compaction threads.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The real wall clock (absl::Now()). Returns a process-wide instance.
std::shared_ptr<Clock> SystemClock();

// A clock that only moves when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(absl::Time now) : now_(now) {}

  absl::Time Now() const override;

  // Sets the time. Moving it backwards is allowed (tests use it to probe
  // behaviour), but see Store::SetPolicy for what a store refuses then.
  void Set(absl::Time now);

  // Moves the time forward by `d` (backwards if negative).
  void Advance(absl::Duration d);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ebb

#endif  // EBB_CLOCK_H_
