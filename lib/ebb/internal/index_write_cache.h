// Copyright ebb authors.
//
// Remembers which index writes this process has already made, so that appends
// skip making them again.
//
// An index write is identified by bytes the caller chooses (Append uses the
// tenant, conversation, user, expiry bucket, category and bound: everything
// its two index entries are made of). Why skipping is safe: an index entry's
// value depends only on its key and the TTL its bucket was computed with
// (key_codec.h, LatestCreatedAtIn), so rewriting it changes nothing; the cache
// only saves the memtable insert. A cached entry that RocksDB has since dropped
// is never needed again: the compaction filter drops an entry only once its
// bound has expired, and a message that would need it has a created_at no
// later than that bound, so Append refuses it as expired. Writes are recorded
// only after the write that carried them succeeded, so a failed write never
// makes later appends skip an entry that is not on disk. Whatever erases index
// entries (not the filter) must call Clear().
//
// Bounded: when it reaches `max_entries` it forgets everything and starts over,
// which costs one rewrite of each entry still in use.
//
// Writes are remembered by a 128-bit fingerprint of their identity (two
// unrelated 64-bit hashes), not by a copy: in live traffic nearly every message
// of a batch asks, and copying and comparing whole entries cost about a fifth
// of AppendBatch. A false "already written" would skip a needed entry; with at
// most 200 000 fingerprints remembered, each question has about one chance in
// 10^33 of that.

#ifndef EBB_INTERNAL_INDEX_WRITE_CACHE_H_
#define EBB_INTERNAL_INDEX_WRITE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace ebb::internal {

class IndexWriteCache {
 public:
  using Fingerprint = std::pair<uint64_t, uint64_t>;

  // The fingerprint of an index write identified by `identity`.
  static Fingerprint FingerprintOf(absl::string_view identity);

  explicit IndexWriteCache(size_t max_entries) : max_entries_(max_entries) {}

  // For each of `fingerprints`, whether it was marked written. Thread-safe.
  std::vector<bool> Written(absl::Span<const Fingerprint> fingerprints) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Records `fingerprints` as written. Call only after the write succeeded.
  // Thread-safe.
  void MarkWritten(absl::Span<const Fingerprint> fingerprints)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Forgets everything. Thread-safe.
  void Clear() ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t max_entries_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<Fingerprint> written_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_INDEX_WRITE_CACHE_H_
