// Copyright ebb authors.
//
// Unit tests of the filter adapter, called directly as RocksDB would. The
// integration tests in tests/ check that compactions really drop the records.

#include "lib/ebb/internal/compaction_filter.h"

#include "gtest/gtest.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/internal/record_codec.h"

namespace ebb::internal {
namespace {

using Decision = rocksdb::CompactionFilter::Decision;
using ValueType = rocksdb::CompactionFilter::ValueType;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

std::string Value(absl::Time created_at) {
  std::string out;
  AppendRecordHeader({v1::CATEGORY_TRANSCRIPT, ToMicrosFloor(created_at)},
                     &out);
  out += "body";
  return out;
}

ExpiryCutoffs Cutoffs() {
  CategoryCutoffs defaults;
  defaults.micros.fill(ToMicrosFloor(kNow - absl::Hours(24 * 30)));
  CategoryCutoffs short_tenant;
  short_tenant.micros.fill(ToMicrosFloor(kNow - absl::Hours(24)));
  return ExpiryCutoffs(defaults, {{2, short_tenant}});
}

Decision Decide(RetentionFilter& filter, const std::string& key,
                const std::string& value, ValueType type = ValueType::kValue) {
  std::string new_value, skip_until;
  return filter.FilterV2(1, key, type, value, &new_value, &skip_until);
}

TEST(RetentionFilterTest, DropsExpiredKeepsLiveAndCountsOnDestruction) {
  auto counters = std::make_shared<FilterCounters>();
  {
    RetentionFilter filter(Cutoffs(), kMessageKeyTenantOffset, counters);
    const absl::Time two_days_ago = kNow - absl::Hours(48);
    // Tenant 2 keeps one day: expired. Tenant 1 uses the 30-day default: kept.
    EXPECT_EQ(Decide(filter, MessageKey(5, 2, "c", 1), Value(two_days_ago)),
              Decision::kRemove);
    EXPECT_EQ(Decide(filter, MessageKey(5, 1, "c", 1), Value(two_days_ago)),
              Decision::kKeep);
    EXPECT_EQ(counters->dropped_expired.load(), 0u);
  }
  EXPECT_EQ(counters->dropped_expired.load(), 1u);
  EXPECT_EQ(counters->kept_undecodable.load(), 0u);
}

TEST(RetentionFilterTest, MergeOperandsAreJudgedLikeValues) {
  auto counters = std::make_shared<FilterCounters>();
  RetentionFilter filter(Cutoffs(), kIndexKeyTenantOffset, counters);
  const std::string key =
      ConversationBucketKey(2, "c", 5, v1::CATEGORY_TRANSCRIPT);
  EXPECT_EQ(Decide(filter, key, Value(kNow - absl::Hours(48)),
                   ValueType::kMergeOperand),
            Decision::kRemove);
  EXPECT_EQ(Decide(filter, key, Value(kNow), ValueType::kMergeOperand),
            Decision::kKeep);
}

TEST(RetentionFilterTest, UndecodableRecordsAreKeptAndCounted) {
  auto counters = std::make_shared<FilterCounters>();
  {
    RetentionFilter filter(Cutoffs(), kMessageKeyTenantOffset, counters);
    EXPECT_EQ(Decide(filter, MessageKey(5, 2, "c", 1), "x"), Decision::kKeep);
    EXPECT_EQ(Decide(filter, "ab", Value(kNow - absl::Hours(48))),
              Decision::kKeep);
  }
  EXPECT_EQ(counters->kept_undecodable.load(), 2u);
  EXPECT_EQ(counters->dropped_expired.load(), 0u);
}

TEST(RetentionFilterFactoryTest, UsesTheStateSnapshotAndClock) {
  v1::RetentionPolicy defaults;
  for (v1::DataCategory c :
       {v1::CATEGORY_TRANSCRIPT, v1::CATEGORY_TRAINING_EXAMPLE,
        v1::CATEGORY_DIAGNOSTIC_LOG}) {
    v1::RetentionRule* r = defaults.add_rules();
    r->set_category(c);
    *r->mutable_ttl() = ToProtoDuration(absl::Hours(24));
  }
  absl::StatusOr<PolicySnapshot> snapshot =
      PolicySnapshot::Build(defaults, {}, {});
  ASSERT_TRUE(snapshot.ok());
  auto clock = std::make_shared<ManualClock>(kNow);
  auto state = std::make_shared<RetentionState>(clock, *std::move(snapshot));
  auto counters = std::make_shared<FilterCounters>();
  RetentionFilterFactory factory(state, kMessageKeyTenantOffset, counters);
  EXPECT_TRUE(factory.ShouldFilterTableFileCreation(
      rocksdb::TableFileCreationReason::kFlush));
  const std::string key = MessageKey(5, 9, "c", 1);
  const std::string value = Value(kNow - absl::Hours(23));
  std::string new_value, skip_until;
  {
    auto filter = factory.CreateCompactionFilter({});
    EXPECT_EQ(filter->FilterV2(1, key, ValueType::kValue, value, &new_value,
                               &skip_until),
              Decision::kKeep);
  }
  clock->Advance(absl::Hours(2));
  {
    auto filter = factory.CreateCompactionFilter({});
    EXPECT_EQ(filter->FilterV2(1, key, ValueType::kValue, value, &new_value,
                               &skip_until),
              Decision::kRemove);
  }
}

TEST(RetentionFilterFactoryTest, AuditedModeDropsOnlyBelowTheWatermark) {
  v1::RetentionPolicy defaults;
  for (v1::DataCategory c : kStoredCategories) {
    v1::RetentionRule* r = defaults.add_rules();
    r->set_category(c);
    *r->mutable_ttl() = ToProtoDuration(absl::Hours(24));
  }
  absl::StatusOr<PolicySnapshot> snapshot = PolicySnapshot::Build(
      defaults, {{"acme", 9}}, {});
  ASSERT_TRUE(snapshot.ok());
  auto clock = std::make_shared<ManualClock>(kNow);
  auto state = std::make_shared<RetentionState>(clock, *std::move(snapshot));
  RetentionFilterFactory factory(
      state, kMessageKeyTenantOffset, std::make_shared<FilterCounters>(),
      RetentionFilterFactory::Drop::kExpiredAndAudited);
  const std::string key = MessageKey(5, 9, "c", 1);
  const std::string value = Value(kNow - absl::Hours(48));  // long expired
  std::string new_value, skip_until;
  {
    // Expired, but its expiry is not audited yet: kept.
    auto filter = factory.CreateCompactionFilter({});
    EXPECT_EQ(filter->FilterV2(1, key, ValueType::kValue, value, &new_value,
                               &skip_until),
              Decision::kKeep);
  }
  CategoryCutoffs through;
  through.micros.fill(ToMicrosFloor(kNow - absl::Hours(24)));
  ASSERT_TRUE(state
                  ->Update([&](const RetentionState::View& view)
                               -> absl::StatusOr<std::optional<PolicySnapshot>> {
                    return std::optional<PolicySnapshot>(
                        view.snapshot->WithExpiredThrough(9, through));
                  })
                  .ok());
  {
    auto filter = factory.CreateCompactionFilter({});
    EXPECT_EQ(filter->FilterV2(1, key, ValueType::kValue, value, &new_value,
                               &skip_until),
              Decision::kRemove);
    // Another tenant's watermark is not this one's.
    EXPECT_EQ(filter->FilterV2(1, MessageKey(5, 10, "c", 1), ValueType::kValue,
                               value, &new_value, &skip_until),
              Decision::kKeep);
  }
}

}  // namespace
}  // namespace ebb::internal
