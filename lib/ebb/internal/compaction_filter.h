// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: compaction_filter.h
// -----------------------------------------------------------------------------
//
// The RocksDB compaction filter that drops expired records as compactions (and
// flushes) pass over them. It is a thin adapter over IsExpired (expiry.h): the
// factory takes one consistent (now, policy snapshot) view per compaction and
// builds the table of cutoffs; per record the filter reads the tenant number at
// a fixed offset of the key and the 10-byte header of the value, and compares.
// No lock, no I/O, no protobuf parsing, no allocation per record.
//
// Hazards, stated first as RocksDB's own TTL utility does:
// - The filter never writes to the DB: writing from a compaction thread can
//   deadlock under a write stall. Audit records of expiry are written by the
//   component that decides a purge, not here.
// - A record whose header or key cannot be decoded is kept and counted
//   (FilterCounters::kept_undecodable): dropping data we cannot read would turn
//   corruption into silent loss; keeping it lets Stats report it.
// - Correctness never depends on the filter: reads apply the same rule. The
//   filter only decides when bytes leave the disk.

#ifndef EBB_INTERNAL_COMPACTION_FILTER_H_
#define EBB_INTERNAL_COMPACTION_FILTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "lib/ebb/internal/expiry.h"
#include "lib/ebb/internal/retention_state.h"
#include "rocksdb/compaction_filter.h"

namespace ebb::internal {

// Running totals across every filter of one column family since the store was
// opened.
struct FilterCounters {
  std::atomic<uint64_t> dropped_expired{0};
  std::atomic<uint64_t> kept_undecodable{0};
  // Expired records kept because a legal hold covers them.
  std::atomic<uint64_t> kept_held{0};
};

// One per compaction or flush. Not thread-safe (RocksDB gives each thread its
// own).
class RetentionFilter : public rocksdb::CompactionFilter {
 public:
  // `tenant_offset`: where keys of this column family keep the tenant number.
  // `protections`: holds that keep expired records (may be null: none).
  RetentionFilter(ExpiryCutoffs cutoffs, size_t tenant_offset,
                  std::shared_ptr<FilterCounters> counters,
                  std::shared_ptr<const PolicySnapshot> protections = nullptr);
  ~RetentionFilter() override;

  Decision FilterV2(int level, const rocksdb::Slice& key, ValueType value_type,
                    const rocksdb::Slice& existing_value,
                    std::string* new_value,
                    std::string* skip_until) const override;

  const char* Name() const override { return "ebb.RetentionFilter"; }

 private:
  const ExpiryCutoffs cutoffs_;
  const size_t tenant_offset_;
  const std::shared_ptr<FilterCounters> counters_;
  // Keeps the snapshot whose protections the filter consults alive.
  const std::shared_ptr<const PolicySnapshot> snapshot_;
  const Protections* const protections_;
  // Counted locally and added to counters_ once, in the destructor, so the
  // per-record path touches no shared cache line.
  mutable uint64_t dropped_ = 0;
  mutable uint64_t undecodable_ = 0;
  mutable uint64_t held_ = 0;
};

class RetentionFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  // `state` must outlive the factory's use by RocksDB (the store closes the DB
  // before releasing it).
  // Which records count as expired for the filter.
  enum class Drop {
    // Expired at the compaction's now (the index: entries expire with the
    // data they point to, and need no audit record of their own).
    kExpiredNow,
    // Below the tenant's "expired through" watermark only (messages: their
    // expiry is audited by Store::ExpireDue first; see policy_snapshot.h).
    kExpiredAndAudited,
  };
  RetentionFilterFactory(std::shared_ptr<const RetentionState> state,
                         size_t tenant_offset,
                         std::shared_ptr<FilterCounters> counters,
                         Drop drop = Drop::kExpiredNow);

  // Filters flushes too: data that expired while in the memtable (a shortened
  // policy) need not reach the disk at all.
  bool ShouldFilterTableFileCreation(
      rocksdb::TableFileCreationReason reason) const override;

  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override;

  const char* Name() const override { return "ebb.RetentionFilterFactory"; }

 private:
  const std::shared_ptr<const RetentionState> state_;
  const size_t tenant_offset_;
  const std::shared_ptr<FilterCounters> counters_;
  const Drop drop_;
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_COMPACTION_FILTER_H_
