// Copyright ebb authors.
//
// The store's current policy snapshot and clock, shared by the foreground paths
// and RocksDB's compaction threads.
//
// Why a lock at all: a reader must never pair an instant `now` with a snapshot
// older than a policy change made at or before `now`. Otherwise a TTL
// lengthened at T, read with the old (shorter) TTL at now > T, would expire
// data the new policy keeps. Observe() therefore reads the clock and the
// snapshot under one reader lock, and Update() reads the clock, persists and
// publishes under the writer lock. Both are taken once per operation (a read,
// an append batch, a compaction), never per record.

#ifndef EBB_INTERNAL_RETENTION_STATE_H_
#define EBB_INTERNAL_RETENTION_STATE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/internal/policy_snapshot.h"

namespace ebb::internal {

class RetentionState {
 public:
  RetentionState(std::shared_ptr<Clock> clock, PolicySnapshot initial);

  struct View {
    absl::Time now;
    std::shared_ptr<const PolicySnapshot> snapshot;
  };

  // A consistent (now, snapshot) pair. Thread-safe.
  View Observe() const ABSL_LOCKS_EXCLUDED(mu_);

  // The same guarantee without taking the lock, for RocksDB's flush and
  // compaction threads: Update() writes to the database while holding the
  // lock, and such a write can wait for a flush (a write stall) whose filter
  // would otherwise wait for the lock. While a change is in progress, `now`
  // is capped at the change's time, at which the old snapshot is still the
  // truth (the new one, if already visible, differs from it only by expiring
  // what the old one expires by that time).
  View ObserveWithoutWaiting() const;

  // Calls `change` with the current view under the writer lock. If it returns a
  // snapshot, that snapshot is published; if it returns nullopt nothing
  // changes; an error is returned as is. `change` persists what it needs to
  // before returning, so a published snapshot is always durable. Thread-safe;
  // changes are serialised.
  absl::Status Update(
      absl::FunctionRef<
          absl::StatusOr<std::optional<PolicySnapshot>>(const View&)>
          change) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr int64_t kNoChangePending = INT64_MIN;

  const std::shared_ptr<Clock> clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const PolicySnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  // snapshot_, for ObserveWithoutWaiting (std::atomic_load/atomic_store).
  std::shared_ptr<const PolicySnapshot> published_;
  // The time of the change Update() is making, or kNoChangePending.
  std::atomic<int64_t> pending_since_micros_{kNoChangePending};
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_RETENTION_STATE_H_
