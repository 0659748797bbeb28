// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: policy_snapshot.h
// -----------------------------------------------------------------------------
//
// An immutable view of everything the expiry decision needs: the operator's
// default policy, each tenant's policy, and the tenant-id-to-number registry.
// The store swaps in a new snapshot (copy, modify, publish) on every policy
// change or new tenant; readers and compaction filters hold a shared_ptr to the
// one they started with, so nothing on the hot path takes a lock.
//
// ApplyTtlChange is the one place where a policy changes, and where the horizon
// moves forward so that lengthening a TTL never brings expired data back.

#ifndef EBB_INTERNAL_POLICY_SNAPSHOT_H_
#define EBB_INTERNAL_POLICY_SNAPSHOT_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ebb/v1/policy.pb.h"
#include "lib/ebb/internal/expiry.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/protections.h"

namespace ebb::internal {

// The rule in force for one tenant and category.
struct EffectiveRule {
  absl::Duration ttl;  // InfiniteDuration() keeps forever
  absl::Time horizon;  // InfinitePast() when no earlier TTL bounds it
  bool from_default;   // the tenant has no rule of its own for the category
};

// Decodes the rule for `category` in `policy`; nullopt if the policy has none.
// DataLoss if the rule is present but undecodable (neither ttl nor
// keep_forever, or a non-positive ttl).
absl::StatusOr<std::optional<EffectiveRule>> DecodeRule(
    const v1::RetentionPolicy& policy, v1::DataCategory category);

// Returns `current` changed so that `category`'s TTL is `new_ttl` from `now`
// on: version + 1, updated_at = now, and the rule's horizon moved to
// max(in_force.horizon, now - in_force.ttl), where `in_force` is the rule that
// applied until now (the default's, if the tenant had none). Pure.
v1::RetentionPolicy ApplyTtlChange(v1::RetentionPolicy current,
                                   v1::DataCategory category,
                                   const EffectiveRule& in_force,
                                   absl::Duration new_ttl, absl::Time now);

class PolicySnapshot {
 public:
  // Builds a snapshot from stored records. DataLoss if a policy is undecodable
  // or names a tenant without a number; InvalidArgument if `defaults` lacks a
  // rule for some category (the default must cover every category).
  static absl::StatusOr<PolicySnapshot> Build(
      const v1::RetentionPolicy& defaults,
      absl::flat_hash_map<std::string, TenantNumber> tenant_numbers,
      const std::vector<v1::RetentionPolicy>& policies);

  // The tenant's number, if it has been registered.
  std::optional<TenantNumber> FindTenant(absl::string_view tenant) const;

  // The number the next new tenant gets.
  TenantNumber NextTenantNumber() const { return next_tenant_number_; }

  // The tenant's own policy record, or nullptr if it uses the defaults.
  const v1::RetentionPolicy* FindPolicy(absl::string_view tenant) const;

  const v1::RetentionPolicy& defaults() const { return defaults_; }

  // Tenant ids with a policy of their own, sorted.
  std::vector<std::string> TenantsWithPolicy() const;

  // The rule in force for (tenant, category); the default's when the tenant has
  // none (or is unknown). REQUIRES: IsStoredCategory(category).
  EffectiveRule RuleFor(absl::string_view tenant,
                        v1::DataCategory category) const;

  // The tenant's cutoffs at `now` (read path).
  CategoryCutoffs CutoffsFor(absl::string_view tenant, absl::Time now) const;

  // Every tenant's cutoffs at `now` (one compaction).
  ExpiryCutoffs CutoffsAt(absl::Time now) const;

  // Copies with one change; the originals stay valid for their holders.
  PolicySnapshot WithTenant(absl::string_view tenant,
                            TenantNumber number) const;
  // Replaces the tenant's policy (the defaults, if its tenant is ""). DataLoss
  // if the policy does not decode; FailedPrecondition if its tenant has no
  // number.
  absl::StatusOr<PolicySnapshot> WithPolicy(
      const v1::RetentionPolicy& policy) const;
  // Replaces the holds, restrictions and pending erasures.
  PolicySnapshot WithProtections(Protections protections) const;

  // Every registered tenant: (id, number), sorted by id.
  std::vector<std::pair<std::string, TenantNumber>> Tenants() const;

  // Per tenant and category, the "expired through" watermark: every message
  // created before it has had its expiry carried out and audited (or is kept
  // by a hold). The compaction filter drops only messages below it, so no
  // message leaves the disk by expiry without an audit record.
  // std::numeric_limits<int64_t>::min() where nothing has been expired yet.
  CategoryCutoffs ExpiredThrough(TenantNumber tenant) const;
  // The watermarks of every tenant, in the form the compaction filter takes.
  ExpiryCutoffs ExpiredThroughCutoffs() const;
  PolicySnapshot WithExpiredThrough(TenantNumber tenant,
                                    const CategoryCutoffs& through) const;
  // The same for each of `watermarks` (later entries win), in one copy of the
  // snapshot: one copy per tenant, 200 of them, held the store's policy lock
  // for 14 ms after a backlog's expiry (purge_bench).
  PolicySnapshot WithExpiredThrough(
      absl::Span<const std::pair<TenantNumber, CategoryCutoffs>> watermarks)
      const;

  // Holds, restrictions and pending erasures (never null).
  const Protections& protections() const { return *protections_; }

 private:
  using Rules = std::array<EffectiveRule, kCategorySlots>;
  struct Tenant {
    TenantNumber number;
    std::optional<v1::RetentionPolicy> policy;
    Rules rules;  // effective: the tenant's own where set, defaults elsewhere
  };

  PolicySnapshot() = default;
  // Recomputes every tenant's effective rules from its policy and defaults_.
  absl::Status Resolve();
  static CategoryCutoffs Cutoffs(const Rules& rules, absl::Time now);

  v1::RetentionPolicy defaults_;
  Rules default_rules_;
  absl::flat_hash_map<std::string, Tenant> tenants_;
  TenantNumber next_tenant_number_ = 1;
  absl::flat_hash_map<TenantNumber, CategoryCutoffs> expired_through_;
  // Shared between copies: snapshots are copied on every change, protections
  // change rarely.
  std::shared_ptr<const Protections> protections_ =
      std::make_shared<const Protections>();
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_POLICY_SNAPSHOT_H_
