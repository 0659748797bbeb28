// Copyright ebb authors.

#include "lib/ebb/internal/expiry.h"

#include <algorithm>

#include "lib/ebb/internal/proto_time.h"

namespace ebb::internal {

int64_t CutoffMicros(absl::Duration ttl, absl::Time horizon, absl::Time now) {
  // now - InfiniteDuration() is InfinitePast(): keep forever leaves the
  // horizon.
  return ToMicrosCeil(std::max(horizon, now - ttl));
}

}  // namespace ebb::internal
