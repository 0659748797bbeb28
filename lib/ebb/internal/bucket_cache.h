// Copyright ebb authors.
//
// An in-process cache of which expiry buckets hold each conversation, so that
// ReadConversation can skip its index scan (a second iterator and seek, about
// an eighth of a read).
//
// The danger of such a cache is a missing bucket: the read would silently skip
// messages that exist. It is kept complete by two rules:
// - Reads fill it only with the result of a full index scan, and only if no
//   writer added an index entry for that conversation between the moment the
//   read took an epoch (before its scan) and the fill. Writers bump the epoch
//   of the conversation's stripe after their write is visible, so a fill that
//   might predate a write is dropped rather than stored.
// - Writers add the buckets they wrote to any entry already cached.
// Stale extra buckets are harmless: each entry keeps its header (the bound), so
// an expired bucket is skipped, and a bucket emptied by compaction costs an
// empty seek. Whatever deletes index entries other than the compaction filter
// (erasure) must call Clear().
//
// Bounded: when full it forgets everything. Thread-safe.

#ifndef EBB_INTERNAL_BUCKET_CACHE_H_
#define EBB_INTERNAL_BUCKET_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/record_codec.h"

namespace ebb::internal {

class BucketCache {
 public:
  struct Entry {
    ExpiryBucket bucket;
    RecordHeader header;  // category and the bound of the index entry
  };

  explicit BucketCache(size_t max_conversations)
      : max_conversations_(max_conversations) {}

  // The cached entries of the conversation, in bucket order; false on a miss.
  bool Lookup(TenantNumber tenant, absl::string_view conversation,
              std::vector<Entry>* out) const ABSL_LOCKS_EXCLUDED(mu_);

  // Call before the index scan whose result will be passed to Fill.
  uint64_t Epoch(TenantNumber tenant, absl::string_view conversation) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Stores the complete result of an index scan begun after Epoch() returned
  // `epoch`; dropped if a writer touched the conversation since.
  void Fill(TenantNumber tenant, absl::string_view conversation, uint64_t epoch,
            std::vector<Entry> entries) ABSL_LOCKS_EXCLUDED(mu_);

  // Call after a write that stored an index entry for the conversation became
  // visible.
  void Added(TenantNumber tenant, absl::string_view conversation,
             const Entry& entry) ABSL_LOCKS_EXCLUDED(mu_);

  void Clear() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr size_t kStripes = 1024;
  static std::string Key(TenantNumber tenant, absl::string_view conversation);
  static size_t Stripe(absl::string_view key);

  const size_t max_conversations_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<Entry>> entries_
      ABSL_GUARDED_BY(mu_);
  std::array<uint64_t, kStripes> epochs_ ABSL_GUARDED_BY(mu_) = {};
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_BUCKET_CACHE_H_
