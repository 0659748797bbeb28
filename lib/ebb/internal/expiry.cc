// Copyright ebb authors.

#include "lib/ebb/internal/expiry.h"

#include <algorithm>

#include "lib/ebb/internal/proto_time.h"

namespace ebb::internal {

ExpiryCutoffs::ExpiryCutoffs(
    CategoryCutoffs defaults,
    absl::flat_hash_map<TenantNumber, CategoryCutoffs> tenants)
    : defaults_(defaults) {
  TenantNumber highest = 0;
  for (const auto& [number, cutoffs] : tenants) {
    highest = std::max(highest, number);
  }
  // At most a few defaults per listed tenant, or a small table anyway (4096
  // slots are 128 KiB).
  constexpr size_t kAlwaysDenseSlots = 4096;
  const size_t slots = tenants.empty() ? 0 : size_t{highest} + 1;
  if (slots <= std::max(kAlwaysDenseSlots, 4 * tenants.size())) {
    dense_.assign(slots, defaults_);
    for (const auto& [number, cutoffs] : tenants) dense_[number] = cutoffs;
  } else {
    sparse_ = std::move(tenants);
  }
}

int64_t CutoffMicros(absl::Duration ttl, absl::Time horizon, absl::Time now) {
  // now - InfiniteDuration() is InfinitePast(): keep forever leaves the
  // horizon.
  return ToMicrosCeil(std::max(horizon, now - ttl));
}

}  // namespace ebb::internal
