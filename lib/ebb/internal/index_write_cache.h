// Copyright ebb authors.
//
// Remembers which index entries this process has already written, so that
// appends skip rewriting them.
//
// Why this is safe: an index entry's value depends only on its key and the TTL
// its bucket was computed with (key_codec.h, LatestCreatedAtIn), so rewriting
// it changes nothing; the cache only saves the memtable insert. A cached entry
// that RocksDB has since dropped is never needed again: the compaction filter
// drops an entry only once its bound has expired, and a message that would need
// it has a created_at no later than that bound, so Append refuses it as
// expired. Entries are recorded only after the write that carried them
// succeeded, so a failed write never makes later appends skip an entry that is
// not on disk. Whatever erases index entries (not the filter) must call
// Clear().
//
// Bounded: when it reaches `max_entries` it forgets everything and starts over,
// which costs one rewrite of each entry still in use.

#ifndef EBB_INTERNAL_INDEX_WRITE_CACHE_H_
#define EBB_INTERNAL_INDEX_WRITE_CACHE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace ebb::internal {

class IndexWriteCache {
 public:
  explicit IndexWriteCache(size_t max_entries) : max_entries_(max_entries) {}

  // Removes from `entries` (each an index key followed by its value) those
  // already written. Thread-safe.
  void RemoveWritten(std::vector<std::string>* entries) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Records `entries` as written. Call only after the write succeeded.
  // Thread-safe.
  void MarkWritten(const std::vector<std::string>& entries)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Forgets everything. Thread-safe.
  void Clear() ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t max_entries_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> written_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_INDEX_WRITE_CACHE_H_
