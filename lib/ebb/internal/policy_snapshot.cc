// Copyright ebb authors.

#include "lib/ebb/internal/policy_snapshot.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/internal/status_macros.h"

namespace ebb::internal {
namespace {

const v1::RetentionRule* FindRule(const v1::RetentionPolicy& policy,
                                  v1::DataCategory category) {
  for (const v1::RetentionRule& rule : policy.rules()) {
    if (rule.category() == category) return &rule;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::optional<EffectiveRule>> DecodeRule(
    const v1::RetentionPolicy& policy, v1::DataCategory category) {
  const v1::RetentionRule* rule = FindRule(policy, category);
  if (rule == nullptr) return std::nullopt;
  EffectiveRule out{absl::InfiniteDuration(), absl::InfinitePast(), false};
  switch (rule->retention_case()) {
    case v1::RetentionRule::kTtl:
      out.ttl = FromProtoDuration(rule->ttl());
      if (out.ttl <= absl::ZeroDuration()) {
        return absl::DataLossError(
            absl::StrFormat("policy of tenant \"%s\": stored TTL for category "
                            "%d is not positive",
                            policy.tenant(), category));
      }
      break;
    case v1::RetentionRule::kKeepForever:
      break;
    case v1::RetentionRule::RETENTION_NOT_SET:
      return absl::DataLossError(absl::StrFormat(
          "policy of tenant \"%s\": rule for category %d has neither ttl nor "
          "keep_forever",
          policy.tenant(), category));
  }
  if (rule->has_horizon()) {
    EBB_ASSIGN_OR_RETURN(out.horizon, FromProtoTimestamp(rule->horizon()));
  }
  return out;
}

v1::RetentionPolicy ApplyTtlChange(v1::RetentionPolicy current,
                                   v1::DataCategory category,
                                   const EffectiveRule& in_force,
                                   absl::Duration new_ttl, absl::Time now) {
  v1::RetentionRule* rule = nullptr;
  for (v1::RetentionRule& r : *current.mutable_rules()) {
    if (r.category() == category) rule = &r;
  }
  if (rule == nullptr) {
    rule = current.add_rules();
    rule->set_category(category);
  }
  // Everything older than now - old TTL has expired by now; remember that, so a
  // longer TTL cannot bring it back.
  const absl::Time horizon = std::max(in_force.horizon, now - in_force.ttl);
  if (horizon == absl::InfinitePast()) {
    rule->clear_horizon();
  } else {
    *rule->mutable_horizon() = ToProtoTimestamp(horizon);
  }
  if (new_ttl == absl::InfiniteDuration()) {
    rule->mutable_keep_forever();
  } else {
    *rule->mutable_ttl() = ToProtoDuration(new_ttl);
  }
  current.set_version(current.version() + 1);
  *current.mutable_updated_at() = ToProtoTimestamp(now);
  return current;
}

absl::StatusOr<PolicySnapshot> PolicySnapshot::Build(
    const v1::RetentionPolicy& defaults,
    absl::flat_hash_map<std::string, TenantNumber> tenant_numbers,
    const std::vector<v1::RetentionPolicy>& policies) {
  PolicySnapshot snapshot;
  snapshot.defaults_ = defaults;
  for (auto& [id, number] : tenant_numbers) {
    snapshot.tenants_[id] = Tenant{number, std::nullopt, {}};
    snapshot.next_tenant_number_ =
        std::max(snapshot.next_tenant_number_, number + 1);
  }
  for (const v1::RetentionPolicy& policy : policies) {
    auto it = snapshot.tenants_.find(policy.tenant());
    if (it == snapshot.tenants_.end()) {
      return absl::DataLossError(absl::StrFormat(
          "policy of tenant \"%s\" is stored but the tenant has no number",
          policy.tenant()));
    }
    it->second.policy = policy;
  }
  EBB_RETURN_IF_ERROR(snapshot.Resolve());
  return snapshot;
}

absl::Status PolicySnapshot::Resolve() {
  for (v1::DataCategory category : kStoredCategories) {
    EBB_ASSIGN_OR_RETURN(std::optional<EffectiveRule> rule,
                         DecodeRule(defaults_, category));
    if (!rule.has_value()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the default policy has no rule for category %d", category));
    }
    rule->from_default = true;
    default_rules_[category] = *rule;
  }
  for (auto& [id, tenant] : tenants_) {
    tenant.rules = default_rules_;
    if (!tenant.policy.has_value()) continue;
    for (v1::DataCategory category : kStoredCategories) {
      EBB_ASSIGN_OR_RETURN(std::optional<EffectiveRule> rule,
                           DecodeRule(*tenant.policy, category));
      if (rule.has_value()) tenant.rules[category] = *rule;
    }
  }
  return absl::OkStatus();
}

std::optional<TenantNumber> PolicySnapshot::FindTenant(
    absl::string_view tenant) const {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return std::nullopt;
  return it->second.number;
}

const v1::RetentionPolicy* PolicySnapshot::FindPolicy(
    absl::string_view tenant) const {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end() || !it->second.policy.has_value()) return nullptr;
  return &*it->second.policy;
}

std::vector<std::string> PolicySnapshot::TenantsWithPolicy() const {
  std::vector<std::string> out;
  for (const auto& [id, tenant] : tenants_) {
    if (tenant.policy.has_value()) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

EffectiveRule PolicySnapshot::RuleFor(absl::string_view tenant,
                                      v1::DataCategory category) const {
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? default_rules_[category]
                              : it->second.rules[category];
}

CategoryCutoffs PolicySnapshot::Cutoffs(const Rules& rules, absl::Time now) {
  CategoryCutoffs out;
  for (v1::DataCategory category : kStoredCategories) {
    out.micros[category] =
        CutoffMicros(rules[category].ttl, rules[category].horizon, now);
  }
  return out;
}

CategoryCutoffs PolicySnapshot::CutoffsFor(absl::string_view tenant,
                                           absl::Time now) const {
  auto it = tenants_.find(tenant);
  return Cutoffs(it == tenants_.end() ? default_rules_ : it->second.rules, now);
}

ExpiryCutoffs PolicySnapshot::CutoffsAt(absl::Time now) const {
  absl::flat_hash_map<TenantNumber, CategoryCutoffs> tenants;
  for (const auto& [id, tenant] : tenants_) {
    // Tenants on the defaults share the default entry: no need to list them.
    if (tenant.policy.has_value()) {
      tenants[tenant.number] = Cutoffs(tenant.rules, now);
    }
  }
  return ExpiryCutoffs(Cutoffs(default_rules_, now), std::move(tenants));
}

PolicySnapshot PolicySnapshot::WithTenant(absl::string_view tenant,
                                          TenantNumber number) const {
  PolicySnapshot copy = *this;
  copy.tenants_[tenant] = Tenant{number, std::nullopt, default_rules_};
  copy.next_tenant_number_ = std::max(next_tenant_number_, number + 1);
  return copy;
}

absl::StatusOr<PolicySnapshot> PolicySnapshot::WithPolicy(
    const v1::RetentionPolicy& policy) const {
  PolicySnapshot copy = *this;
  if (policy.tenant().empty()) {
    copy.defaults_ = policy;
  } else {
    auto it = copy.tenants_.find(policy.tenant());
    if (it == copy.tenants_.end()) {
      return absl::FailedPreconditionError(
          absl::StrFormat("policy for tenant \"%s\", which has no number yet",
                          policy.tenant()));
    }
    it->second.policy = policy;
  }
  EBB_RETURN_IF_ERROR(copy.Resolve());
  return copy;
}

PolicySnapshot PolicySnapshot::WithProtections(Protections protections) const {
  PolicySnapshot next = *this;
  protections.Prune();
  next.protections_ =
      std::make_shared<const Protections>(std::move(protections));
  return next;
}

std::vector<std::pair<std::string, TenantNumber>> PolicySnapshot::Tenants()
    const {
  std::vector<std::pair<std::string, TenantNumber>> out;
  for (const auto& [id, tenant] : tenants_) out.emplace_back(id, tenant.number);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

CategoryCutoffs NothingExpired() {
  CategoryCutoffs out;
  out.micros.fill(std::numeric_limits<int64_t>::min());
  return out;
}

}  // namespace

CategoryCutoffs PolicySnapshot::ExpiredThrough(TenantNumber tenant) const {
  auto it = expired_through_.find(tenant);
  return it == expired_through_.end() ? NothingExpired() : it->second;
}

ExpiryCutoffs PolicySnapshot::ExpiredThroughCutoffs() const {
  return ExpiryCutoffs(NothingExpired(), expired_through_);
}

PolicySnapshot PolicySnapshot::WithExpiredThrough(
    TenantNumber tenant, const CategoryCutoffs& through) const {
  const std::pair<TenantNumber, CategoryCutoffs> one(tenant, through);
  return WithExpiredThrough(absl::MakeConstSpan(&one, 1));
}

PolicySnapshot PolicySnapshot::WithExpiredThrough(
    absl::Span<const std::pair<TenantNumber, CategoryCutoffs>> watermarks)
    const {
  PolicySnapshot copy = *this;
  for (const auto& [tenant, through] : watermarks) {
    copy.expired_through_[tenant] = through;
  }
  return copy;
}

}  // namespace ebb::internal
