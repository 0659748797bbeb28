// Copyright ebb authors.

#include "lib/ebb/internal/compaction_filter.h"

#include <optional>
#include <utility>

#include "absl/strings/string_view.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/record_codec.h"
#include "rocksdb/listener.h"

namespace ebb::internal {

RetentionFilter::RetentionFilter(ExpiryCutoffs cutoffs, size_t tenant_offset,
                                 std::shared_ptr<FilterCounters> counters,
                                 std::shared_ptr<const PolicySnapshot> snapshot)
    : cutoffs_(std::move(cutoffs)),
      tenant_offset_(tenant_offset),
      counters_(std::move(counters)),
      snapshot_(std::move(snapshot)),
      protections_(snapshot_ != nullptr && !snapshot_->protections().empty()
                       ? &snapshot_->protections()
                       : nullptr) {}

RetentionFilter::~RetentionFilter() {
  counters_->dropped_expired.fetch_add(dropped_, std::memory_order_relaxed);
  counters_->kept_undecodable.fetch_add(undecodable_,
                                        std::memory_order_relaxed);
  counters_->kept_held.fetch_add(held_, std::memory_order_relaxed);
}

rocksdb::CompactionFilter::Decision RetentionFilter::FilterV2(
    int /*level*/, const rocksdb::Slice& key, ValueType value_type,
    const rocksdb::Slice& existing_value, std::string* /*new_value*/,
    std::string* /*skip_until*/) const {
  if (value_type != ValueType::kValue &&
      value_type != ValueType::kMergeOperand) {
    return Decision::kKeep;
  }
  switch (ClassifyRecord(
      cutoffs_, absl::string_view(key.data(), key.size()), tenant_offset_,
      absl::string_view(existing_value.data(), existing_value.size()))) {
    case RecordState::kLive:
      return Decision::kKeep;
    case RecordState::kExpired:
      if (protections_ != nullptr &&
          protections_->KeepsExpiredRecord(
              absl::string_view(key.data(), key.size()),
              tenant_offset_ == kMessageKeyTenantOffset)) {
        ++held_;
        return Decision::kKeep;
      }
      ++dropped_;
      return Decision::kRemove;
    case RecordState::kUndecodable:
      ++undecodable_;
      return Decision::kKeep;
  }
  return Decision::kKeep;
}

RetentionFilterFactory::RetentionFilterFactory(
    std::shared_ptr<const RetentionState> state, size_t tenant_offset,
    std::shared_ptr<FilterCounters> counters, Drop drop)
    : state_(std::move(state)),
      tenant_offset_(tenant_offset),
      counters_(std::move(counters)),
      drop_(drop) {}

bool RetentionFilterFactory::ShouldFilterTableFileCreation(
    rocksdb::TableFileCreationReason reason) const {
  return reason == rocksdb::TableFileCreationReason::kCompaction ||
         reason == rocksdb::TableFileCreationReason::kFlush;
}

std::unique_ptr<rocksdb::CompactionFilter>
RetentionFilterFactory::CreateCompactionFilter(
    const rocksdb::CompactionFilter::Context& /*context*/) {
  // Never the locking Observe(): see RetentionState::ObserveWithoutWaiting.
  const RetentionState::View view = state_->ObserveWithoutWaiting();
  return std::make_unique<RetentionFilter>(
      drop_ == Drop::kExpiredNow ? view.snapshot->CutoffsAt(view.now)
                                 : view.snapshot->ExpiredThroughCutoffs(),
      tenant_offset_, counters_, view.snapshot);
}

}  // namespace ebb::internal
