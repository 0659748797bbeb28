// Copyright ebb authors.

#include "lib/ebb/internal/expiry.h"

#include <limits>

#include "gtest/gtest.h"
#include "lib/ebb/internal/proto_time.h"

namespace ebb::internal {
namespace {

// The same cutoff for every category.
CategoryCutoffs AllCategories(int64_t micros) {
  CategoryCutoffs cutoffs;
  cutoffs.micros.fill(micros);
  return cutoffs;
}

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const absl::Duration kWeek = absl::Hours(24 * 7);

RecordHeader Transcript(absl::Time created_at) {
  return {v1::CATEGORY_TRANSCRIPT, ToMicrosFloor(created_at)};
}

CategoryCutoffs TranscriptCutoff(absl::Duration ttl, absl::Time horizon) {
  CategoryCutoffs c;
  c.micros[v1::CATEGORY_TRANSCRIPT] = CutoffMicros(ttl, horizon, kNow);
  return c;
}

TEST(ExpiryTest, AgeEqualToTheTtlIsNotExpiredOneMicrosecondMoreIs) {
  const CategoryCutoffs c = TranscriptCutoff(kWeek, absl::InfinitePast());
  EXPECT_FALSE(IsExpired(c, Transcript(kNow - kWeek)));
  EXPECT_TRUE(IsExpired(c, Transcript(kNow - kWeek - absl::Microseconds(1))));
  EXPECT_FALSE(IsExpired(c, Transcript(kNow)));
}

TEST(ExpiryTest, SubMicrosecondCutoffRoundsSoTheRuleStaysExact) {
  // now - ttl falls half-way through a microsecond: a record stored at the
  // microsecond before it is older than the cutoff, the one after is not.
  const absl::Time now = kNow + absl::Nanoseconds(500);
  CategoryCutoffs c;
  c.micros[v1::CATEGORY_TRANSCRIPT] =
      CutoffMicros(kWeek, absl::InfinitePast(), now);
  EXPECT_TRUE(IsExpired(c, Transcript(kNow - kWeek)));
  EXPECT_FALSE(IsExpired(c, Transcript(kNow - kWeek + absl::Microseconds(1))));
}

TEST(ExpiryTest, HorizonExpiresOlderDataWhateverTheTtl) {
  const CategoryCutoffs c =
      TranscriptCutoff(absl::Hours(24 * 365), kNow - absl::Hours(1));
  EXPECT_TRUE(IsExpired(c, Transcript(kNow - absl::Hours(2))));
  EXPECT_FALSE(IsExpired(c, Transcript(kNow - absl::Hours(1))));
}

TEST(ExpiryTest, KeepForeverWithoutHorizonNeverExpires) {
  const CategoryCutoffs c =
      TranscriptCutoff(absl::InfiniteDuration(), absl::InfinitePast());
  EXPECT_EQ(c.micros[v1::CATEGORY_TRANSCRIPT],
            std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(IsExpired(
      c, {v1::CATEGORY_TRANSCRIPT, std::numeric_limits<int64_t>::min()}));
}

TEST(ExpiryTest, CutoffsAreLookedUpPerTenantWithDefaultsForTheRest) {
  const CategoryCutoffs defaults = AllCategories(100);
  const CategoryCutoffs tenant7 = AllCategories(200);
  ExpiryCutoffs table(defaults, {{7, tenant7}});
  const RecordHeader h{v1::CATEGORY_DIAGNOSTIC_LOG, 150};
  EXPECT_TRUE(IsExpired(table.ForTenant(7), h));
  EXPECT_FALSE(IsExpired(table.ForTenant(8), h));
}

TEST(ExpiryTest, UnlistedTenantsBetweenListedOnesGetTheDefaults) {
  const CategoryCutoffs defaults = AllCategories(100);
  const CategoryCutoffs listed = AllCategories(200);
  const ExpiryCutoffs table(defaults, {{0, listed}, {7, listed}});
  const RecordHeader h{v1::CATEGORY_TRANSCRIPT, 150};
  EXPECT_TRUE(IsExpired(table.ForTenant(0), h));
  EXPECT_FALSE(IsExpired(table.ForTenant(3), h));
  EXPECT_TRUE(IsExpired(table.ForTenant(7), h));
  EXPECT_FALSE(IsExpired(table.ForTenant(8), h));
}

// A table indexed by number would need 4 billion slots here.
TEST(ExpiryTest, FewTenantsWithHugeNumbersAreLookedUpToo) {
  const CategoryCutoffs defaults = AllCategories(100);
  const CategoryCutoffs listed = AllCategories(200);
  constexpr TenantNumber kHuge = 4'000'000'000u;
  const ExpiryCutoffs table(defaults, {{5, listed}, {kHuge, listed}});
  const RecordHeader h{v1::CATEGORY_TRAINING_EXAMPLE, 150};
  EXPECT_TRUE(IsExpired(table.ForTenant(5), h));
  EXPECT_TRUE(IsExpired(table.ForTenant(kHuge), h));
  EXPECT_FALSE(IsExpired(table.ForTenant(6), h));
  EXPECT_FALSE(IsExpired(table.ForTenant(kHuge - 1), h));
}

TEST(ExpiryTest, ClassifyRecordReadsTenantAndHeaderAsStored) {
  const CategoryCutoffs defaults = AllCategories(100);
  const CategoryCutoffs tenant7 = AllCategories(200);
  const ExpiryCutoffs table(defaults, {{7, tenant7}});
  std::string value;
  AppendRecordHeader({v1::CATEGORY_TRANSCRIPT, 150}, &value);
  EXPECT_EQ(ClassifyRecord(table, MessageKey(1, 7, "c", 1),
                           kMessageKeyTenantOffset, value),
            RecordState::kExpired);
  EXPECT_EQ(ClassifyRecord(table, MessageKey(1, 8, "c", 1),
                           kMessageKeyTenantOffset, value),
            RecordState::kLive);
  EXPECT_EQ(ClassifyRecord(table, "ab", kMessageKeyTenantOffset, value),
            RecordState::kUndecodable);
  EXPECT_EQ(ClassifyRecord(table, MessageKey(1, 7, "c", 1),
                           kMessageKeyTenantOffset, "short"),
            RecordState::kUndecodable);
}

}  // namespace
}  // namespace ebb::internal
