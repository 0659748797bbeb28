// Copyright ebb authors.

#include "lib/ebb/internal/policy_snapshot.h"

#include <limits>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "lib/ebb/internal/proto_time.h"

namespace ebb::internal {
namespace {

const absl::Duration kDay = absl::Hours(24);
const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

v1::RetentionPolicy Defaults(absl::Duration ttl) {
  v1::RetentionPolicy p;
  p.set_version(1);
  for (v1::DataCategory c :
       {v1::CATEGORY_TRANSCRIPT, v1::CATEGORY_TRAINING_EXAMPLE,
        v1::CATEGORY_DIAGNOSTIC_LOG}) {
    v1::RetentionRule* r = p.add_rules();
    r->set_category(c);
    *r->mutable_ttl() = ToProtoDuration(ttl);
  }
  return p;
}

PolicySnapshot Snapshot() {
  absl::StatusOr<PolicySnapshot> s = PolicySnapshot::Build(
      Defaults(30 * kDay), {{"acme", 1}, {"beta", 2}}, {});
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

bool Expired(const PolicySnapshot& s, absl::string_view tenant,
             absl::Time created_at, absl::Time now) {
  return IsExpired(s.CutoffsFor(tenant, now),
                   {v1::CATEGORY_TRANSCRIPT, ToMicrosFloor(created_at)});
}

// Sets acme's transcript TTL at `now` and returns the new snapshot.
PolicySnapshot SetTtl(const PolicySnapshot& s, absl::Duration ttl,
                      absl::Time now) {
  const v1::RetentionPolicy* current = s.FindPolicy("acme");
  v1::RetentionPolicy base;
  base.set_tenant("acme");
  v1::RetentionPolicy changed =
      ApplyTtlChange(current ? *current : base, v1::CATEGORY_TRANSCRIPT,
                     s.RuleFor("acme", v1::CATEGORY_TRANSCRIPT), ttl, now);
  absl::StatusOr<PolicySnapshot> next = s.WithPolicy(changed);
  EXPECT_TRUE(next.ok()) << next.status();
  return *std::move(next);
}

TEST(PolicySnapshotTest, TenantsWithoutPolicyUseTheDefault) {
  const PolicySnapshot s = Snapshot();
  EffectiveRule rule = s.RuleFor("acme", v1::CATEGORY_TRANSCRIPT);
  EXPECT_EQ(rule.ttl, 30 * kDay);
  EXPECT_TRUE(rule.from_default);
  EXPECT_EQ(s.RuleFor("never-seen", v1::CATEGORY_DIAGNOSTIC_LOG).ttl,
            30 * kDay);
  EXPECT_EQ(s.FindPolicy("acme"), nullptr);
  EXPECT_EQ(s.FindTenant("beta"), 2u);
  EXPECT_FALSE(s.FindTenant("never-seen").has_value());
  EXPECT_EQ(s.NextTenantNumber(), 3u);
}

TEST(PolicySnapshotTest, ShorteningExpiresOlderDataAtOnce) {
  const PolicySnapshot before = Snapshot();
  const absl::Time ten_days_old = kT0 - 10 * kDay;
  EXPECT_FALSE(Expired(before, "acme", ten_days_old, kT0));
  const PolicySnapshot after = SetTtl(before, 7 * kDay, kT0);
  EXPECT_TRUE(Expired(after, "acme", ten_days_old, kT0));
  EXPECT_FALSE(Expired(after, "acme", kT0 - 7 * kDay, kT0));
  // Other tenants are untouched.
  EXPECT_FALSE(Expired(after, "beta", ten_days_old, kT0));
}

TEST(PolicySnapshotTest, LengtheningNeverBringsBackExpiredData) {
  PolicySnapshot s = SetTtl(Snapshot(), 7 * kDay, kT0);
  // At kT0 + 1d, data created before kT0 - 6d has expired under 7 days.
  const absl::Time change = kT0 + kDay;
  const absl::Time expired_at_change = change - 7 * kDay - absl::Seconds(1);
  const absl::Time live_at_change = change - 7 * kDay;
  s = SetTtl(s, 90 * kDay, change);
  EXPECT_TRUE(Expired(s, "acme", expired_at_change, change));
  EXPECT_TRUE(Expired(s, "acme", expired_at_change, change + 30 * kDay));
  // Data still live when the TTL grew gets the longer TTL.
  EXPECT_FALSE(Expired(s, "acme", live_at_change, change + 30 * kDay));
  EXPECT_TRUE(Expired(s, "acme", live_at_change, live_at_change + 91 * kDay));
}

TEST(PolicySnapshotTest, HorizonOnlyMovesForward) {
  PolicySnapshot s = SetTtl(Snapshot(), 1 * kDay, kT0);  // horizon kT0 - 30d
  s = SetTtl(s, 60 * kDay, kT0 + kDay);                  // horizon kT0
  s = SetTtl(s, 1 * kDay, kT0 + 2 * kDay);  // now - 60d is older: keep kT0
  EXPECT_EQ(s.RuleFor("acme", v1::CATEGORY_TRANSCRIPT).horizon, kT0);
  EXPECT_EQ(s.FindPolicy("acme")->version(), 3u);
  EXPECT_EQ(s.FindPolicy("acme")->updated_at().seconds(),
            absl::ToUnixSeconds(kT0 + 2 * kDay));
}

TEST(PolicySnapshotTest, KeepForeverIsStoredExplicitlyAndKeepsHorizon) {
  PolicySnapshot s = SetTtl(Snapshot(), absl::InfiniteDuration(), kT0);
  const v1::RetentionRule& rule = s.FindPolicy("acme")->rules(0);
  EXPECT_TRUE(rule.has_keep_forever());
  EXPECT_FALSE(rule.has_ttl());
  EXPECT_FALSE(Expired(s, "acme", kT0 - 29 * kDay, kT0 + 3650 * kDay));
  EXPECT_TRUE(Expired(s, "acme", kT0 - 31 * kDay, kT0 + 3650 * kDay));
}

TEST(PolicySnapshotTest, FilterCutoffsAgreeWithReadCutoffs) {
  PolicySnapshot s = SetTtl(Snapshot(), 7 * kDay, kT0);
  const ExpiryCutoffs table = s.CutoffsAt(kT0 + kDay);
  EXPECT_EQ(table.ForTenant(1).micros, s.CutoffsFor("acme", kT0 + kDay).micros);
  EXPECT_EQ(table.ForTenant(2).micros, s.CutoffsFor("beta", kT0 + kDay).micros);
  EXPECT_EQ(table.ForTenant(99).micros,
            s.CutoffsFor("unknown", kT0 + kDay).micros);
}

TEST(PolicySnapshotTest, UndecodableStoredPolicyIsDataLoss) {
  v1::RetentionPolicy bad;
  bad.set_tenant("acme");
  bad.add_rules()->set_category(v1::CATEGORY_TRANSCRIPT);  // no ttl
  EXPECT_EQ(PolicySnapshot::Build(Defaults(30 * kDay), {{"acme", 1}}, {bad})
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  v1::RetentionPolicy orphan = Defaults(kDay);
  orphan.set_tenant("ghost");
  EXPECT_EQ(
      PolicySnapshot::Build(Defaults(30 * kDay), {}, {orphan}).status().code(),
      absl::StatusCode::kDataLoss);
}

TEST(PolicySnapshotTest, DefaultsMustCoverEveryCategory) {
  v1::RetentionPolicy partial = Defaults(kDay);
  partial.mutable_rules()->RemoveLast();
  EXPECT_EQ(PolicySnapshot::Build(partial, {}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PolicySnapshotTest, OlderSnapshotsStayValidAfterACopyIsChanged) {
  const PolicySnapshot before = Snapshot();
  const PolicySnapshot after = before.WithTenant("gamma", 3);
  EXPECT_FALSE(before.FindTenant("gamma").has_value());
  EXPECT_EQ(after.FindTenant("gamma"), 3u);
  EXPECT_EQ(after.NextTenantNumber(), 4u);
}

TEST(PolicySnapshotTest, WatermarksAdvanceTogetherAndLeaveTheOriginalAlone) {
  const PolicySnapshot before = Snapshot();
  auto at = [](int64_t micros) {
    CategoryCutoffs c;
    c.micros.fill(micros);
    return c;
  };
  const std::vector<std::pair<TenantNumber, CategoryCutoffs>> watermarks = {
      {1, at(10)}, {2, at(20)}, {1, at(30)}};
  const PolicySnapshot after = before.WithExpiredThrough(watermarks);
  EXPECT_EQ(after.ExpiredThrough(1).micros, at(30).micros);  // the later one
  EXPECT_EQ(after.ExpiredThrough(2).micros, at(20).micros);
  EXPECT_EQ(before.ExpiredThrough(1).micros,
            at(std::numeric_limits<int64_t>::min()).micros);
  // One tenant at a time gives the same.
  const PolicySnapshot one_by_one = before.WithExpiredThrough(1, at(10))
                                        .WithExpiredThrough(2, at(20))
                                        .WithExpiredThrough(1, at(30));
  EXPECT_EQ(one_by_one.ExpiredThrough(1).micros, at(30).micros);
  EXPECT_EQ(one_by_one.ExpiredThrough(2).micros, at(20).micros);
}

}  // namespace
}  // namespace ebb::internal
