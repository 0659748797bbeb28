// Copyright ebb authors.

#include "lib/ebb/internal/index_write_cache.h"

#include <algorithm>

namespace ebb::internal {

void IndexWriteCache::RemoveWritten(std::vector<std::string>* entries) const {
  absl::MutexLock lock(&mu_);
  entries->erase(std::remove_if(entries->begin(), entries->end(),
                                [this](const std::string& entry) {
                                  mu_.AssertHeld();
                                  return written_.contains(entry);
                                }),
                 entries->end());
}

void IndexWriteCache::MarkWritten(const std::vector<std::string>& entries) {
  absl::MutexLock lock(&mu_);
  if (written_.size() + entries.size() > max_entries_) written_.clear();
  for (const std::string& entry : entries) {
    if (written_.size() >= max_entries_) break;
    written_.insert(entry);
  }
}

void IndexWriteCache::Clear() {
  absl::MutexLock lock(&mu_);
  written_.clear();
}

size_t IndexWriteCache::size() const {
  absl::MutexLock lock(&mu_);
  return written_.size();
}

}  // namespace ebb::internal
