// Copyright ebb authors.
//
// Fuzzes the decoding of stored retention policies (ebb.v1.RetentionPolicy
// records, read back from disk when a store opens) into the PolicySnapshot
// every read and compaction decides expiry from, and the TTL-change step.
// Invariants:
// - no crash (and, under UBSan, no overflow) on any bytes, including TTLs and
//   horizons at the edges of int64 seconds and Timestamp's range;
// - a policy either builds into a snapshot or is refused with DataLoss or
//   InvalidArgument;
// - expiry never un-happens: a tenant's cutoff at a later instant is never
//   earlier than at an earlier one;
// - changing a TTL at T (longer or shorter) never makes the cutoff at T
//   earlier: lengthening a TTL cannot bring back expired data.
//
// Input: [8 bytes: "now" in seconds][8 bytes: new TTL in seconds][policy
// record bytes]. Short inputs are used as a policy record alone.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/base/internal/endian.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ebb/v1/policy.pb.h"
#include "fuzz/fuzz_check.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/policy_snapshot.h"
#include "lib/ebb/internal/proto_time.h"

namespace {

namespace internal = ebb::internal;
using ebb::v1::RetentionPolicy;

RetentionPolicy SaneDefaults() {
  RetentionPolicy defaults;
  defaults.set_version(1);
  for (ebb::v1::DataCategory category : internal::kStoredCategories) {
    ebb::v1::RetentionRule *rule = defaults.add_rules();
    rule->set_category(category);
    *rule->mutable_ttl() = internal::ToProtoDuration(absl::Hours(24 * 30));
  }
  return defaults;
}

bool IsRefusal(const absl::Status &status) {
  return absl::IsDataLoss(status) || absl::IsInvalidArgument(status) ||
         absl::IsFailedPrecondition(status);
}

// A time in Timestamp's range, from 8 fuzzed bytes.
absl::Time TimeFrom(uint64_t raw) {
  const int64_t min = absl::ToUnixSeconds(internal::MinTimestamp());
  const int64_t max = absl::ToUnixSeconds(internal::MaxTimestamp());
  return absl::FromUnixSeconds(
      min + static_cast<int64_t>(raw % static_cast<uint64_t>(max - min + 1)));
}

void CheckCutoffsNeverMoveBack(const internal::PolicySnapshot &snapshot,
                               absl::string_view tenant, absl::Time now) {
  const absl::Time instants[] = {internal::MinTimestamp(), absl::UnixEpoch(),
                                 now, now + absl::Hours(24 * 365),
                                 internal::MaxTimestamp()};
  std::optional<internal::CategoryCutoffs> previous;
  absl::Time previous_at = absl::InfinitePast();
  for (absl::Time at : instants) {
    if (at < previous_at) continue;
    const internal::CategoryCutoffs cutoffs = snapshot.CutoffsFor(tenant, at);
    if (previous.has_value()) {
      for (ebb::v1::DataCategory category : internal::kStoredCategories) {
        EBB_FUZZ_CHECK(cutoffs.micros[category] >= previous->micros[category],
                       "a cutoff never moves back as time passes");
      }
    }
    previous = cutoffs;
    previous_at = at;
  }
}

void CheckPolicy(const RetentionPolicy &policy, absl::Time now,
                 absl::Duration new_ttl) {
  const std::string tenant =
      policy.tenant().empty() ? std::string("t") : policy.tenant();
  RetentionPolicy own = policy;
  own.set_tenant(tenant);

  // As the tenant's own policy, and as the operator's defaults.
  absl::StatusOr<internal::PolicySnapshot> snapshot =
      internal::PolicySnapshot::Build(SaneDefaults(), {{tenant, 1}}, {own});
  absl::StatusOr<internal::PolicySnapshot> as_defaults =
      internal::PolicySnapshot::Build(policy, {}, {});
  if (!as_defaults.ok()) {
    EBB_FUZZ_CHECK(IsRefusal(as_defaults.status()), "bad defaults are refused");
  } else {
    CheckCutoffsNeverMoveBack(*as_defaults, "anyone", now);
  }
  if (!snapshot.ok()) {
    EBB_FUZZ_CHECK(IsRefusal(snapshot.status()), "a bad policy is refused");
    return;
  }
  CheckCutoffsNeverMoveBack(*snapshot, tenant, now);

  for (ebb::v1::DataCategory category : internal::kStoredCategories) {
    const internal::EffectiveRule in_force =
        snapshot->RuleFor(tenant, category);
    const RetentionPolicy changed = internal::ApplyTtlChange(
        *snapshot->FindPolicy(tenant), category, in_force, new_ttl, now);
    absl::StatusOr<internal::PolicySnapshot> after =
        snapshot->WithPolicy(changed);
    if (!after.ok()) {
      EBB_FUZZ_CHECK(IsRefusal(after.status()), "a bad change is refused");
      continue;
    }
    EBB_FUZZ_CHECK(after->CutoffsFor(tenant, now).micros[category] >=
                       snapshot->CutoffsFor(tenant, now).micros[category],
                   "a TTL change never brings back expired data");
    CheckCutoffsNeverMoveBack(*after, tenant, now);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  absl::Time now = absl::FromUnixSeconds(1798761600);  // 2027-01-01
  absl::Duration new_ttl = absl::Hours(24 * 7);
  absl::string_view record(reinterpret_cast<const char *>(data), size);
  if (size >= 16) {
    now = TimeFrom(absl::big_endian::Load64(data));
    const uint64_t ttl_raw = absl::big_endian::Load64(data + 8);
    // 1 s .. ~292 billion years, or forever.
    new_ttl = ttl_raw == 0
                  ? absl::InfiniteDuration()
                  : absl::Seconds(static_cast<int64_t>(
                        ttl_raw % std::numeric_limits<int64_t>::max() + 1));
    record.remove_prefix(16);
  }
  RetentionPolicy policy;
  if (!policy.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
    return 0;
  }
  CheckPolicy(policy, now, new_ttl);
  return 0;
}
