// Copyright ebb authors.

#include "lib/ebb/internal/bucket_cache.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"

namespace ebb::internal {

std::string BucketCache::Key(TenantNumber tenant,
                             absl::string_view conversation) {
  std::string key(reinterpret_cast<const char*>(&tenant), sizeof(tenant));
  key.append(conversation.data(), conversation.size());
  return key;
}

size_t BucketCache::Stripe(absl::string_view key) {
  return absl::Hash<absl::string_view>()(key) % kStripes;
}

bool BucketCache::Lookup(TenantNumber tenant, absl::string_view conversation,
                         std::vector<Entry>* out) const {
  const std::string key = Key(tenant, conversation);
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  *out = it->second;
  return true;
}

uint64_t BucketCache::Epoch(TenantNumber tenant,
                            absl::string_view conversation) const {
  const std::string key = Key(tenant, conversation);
  absl::MutexLock lock(&mu_);
  return epochs_[Stripe(key)];
}

void BucketCache::Fill(TenantNumber tenant, absl::string_view conversation,
                       uint64_t epoch, std::vector<Entry> entries) {
  std::string key = Key(tenant, conversation);
  absl::MutexLock lock(&mu_);
  if (epochs_[Stripe(key)] != epoch) return;  // a writer may have raced us
  if (entries_.size() >= max_conversations_) entries_.clear();
  entries_.insert_or_assign(std::move(key), std::move(entries));
}

void BucketCache::Added(TenantNumber tenant, absl::string_view conversation,
                        const Entry& entry) {
  const std::string key = Key(tenant, conversation);
  absl::MutexLock lock(&mu_);
  ++epochs_[Stripe(key)];
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  std::vector<Entry>& list = it->second;
  for (Entry& existing : list) {
    if (existing.bucket == entry.bucket &&
        existing.header.category == entry.header.category) {
      existing.header.created_at_micros = std::max(
          existing.header.created_at_micros, entry.header.created_at_micros);
      return;
    }
  }
  list.push_back(entry);
  std::sort(list.begin(), list.end(),
            [](const Entry& a, const Entry& b) { return a.bucket < b.bucket; });
}

void BucketCache::Clear() {
  absl::MutexLock lock(&mu_);
  entries_.clear();
  for (uint64_t& epoch : epochs_) ++epoch;
}

}  // namespace ebb::internal
