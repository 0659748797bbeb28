// Copyright ebb authors.

#include "lib/ebb/internal/index_write_cache.h"

#include <functional>
#include <string_view>

#include "absl/hash/hash.h"

namespace ebb::internal {

IndexWriteCache::Fingerprint IndexWriteCache::FingerprintOf(
    absl::string_view identity) {
  // absl::Hash (a per-process salted mix) and libstdc++'s std::hash (Murmur)
  // are unrelated functions, so a collision needs two independent ones.
  return {absl::Hash<absl::string_view>{}(identity),
          std::hash<std::string_view>{}(
              std::string_view(identity.data(), identity.size()))};
}

std::vector<bool> IndexWriteCache::Written(
    absl::Span<const Fingerprint> fingerprints) const {
  std::vector<bool> written(fingerprints.size());
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < fingerprints.size(); ++i) {
    written[i] = written_.contains(fingerprints[i]);
  }
  return written;
}

void IndexWriteCache::MarkWritten(absl::Span<const Fingerprint> fingerprints) {
  absl::MutexLock lock(&mu_);
  if (written_.size() + fingerprints.size() > max_entries_) written_.clear();
  for (const Fingerprint& fingerprint : fingerprints) {
    if (written_.size() >= max_entries_) break;
    written_.insert(fingerprint);
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
