// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: expiry.h
// -----------------------------------------------------------------------------
//
// The expiry decision: one pure function, shared by every read and by the
// compaction filter, so that a read and a compaction can never disagree about
// what has expired.
//
// The rule (see lib/ebb/store.h): a record of tenant t and category c is
// expired at `now` iff
//
//     created_at < max(horizon(t, c), now - ttl(t, c))
//
// where ttl is the TTL in force now and horizon remembers every earlier TTL
// (it only moves forward), so lengthening a TTL never brings data back. The
// right-hand side, the "cutoff", depends only on (t, c, now): callers compute
// it once per tenant (a read) or once per compaction (the filter), and the
// per-record decision is a single integer comparison.

#ifndef EBB_INTERNAL_EXPIRY_H_
#define EBB_INTERNAL_EXPIRY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/record_codec.h"

namespace ebb::internal {

// Indexed by DataCategory value; slot 0 (UNSPECIFIED) is never consulted
// because DecodeRecordHeader refuses it.
inline constexpr int kCategorySlots = 4;
static_assert(v1::DataCategory_MAX < kCategorySlots,
              "a new DataCategory needs a cutoff slot");

// For one tenant at one instant: records created before micros[category] are
// expired.
struct CategoryCutoffs {
  std::array<int64_t, kCategorySlots> micros{};
};

// The cutoff of one rule: max(horizon, now - ttl), in microseconds, rounded up
// so that comparing a whole-microsecond created_at against it is exact. An
// infinite TTL contributes no bound (only the horizon applies).
int64_t CutoffMicros(absl::Duration ttl, absl::Time horizon, absl::Time now);

// THE expiry decision. Pure; no lock, no I/O, no allocation.
inline bool IsExpired(const CategoryCutoffs& cutoffs,
                      const RecordHeader& header) {
  return header.created_at_micros < cutoffs.micros[header.category];
}

// Cutoffs of every tenant at one instant, for a compaction filter. Immutable.
// Tenants without an entry use the defaults.
//
// Tenant numbers are handed out in order from 0, so the listed ones are
// usually dense: they are then kept in an array indexed by number, which the
// filter reads in one load where a hash lookup cost it about 3 ns a record
// (bench_filter). Where few of many tenants are listed (most on the defaults)
// an array would be mostly defaults, built for every compaction: those stay in
// a hash map.
class ExpiryCutoffs {
 public:
  ExpiryCutoffs(CategoryCutoffs defaults,
                absl::flat_hash_map<TenantNumber, CategoryCutoffs> tenants);

  const CategoryCutoffs& ForTenant(TenantNumber tenant) const {
    if (tenant < dense_.size()) return dense_[tenant];
    if (sparse_.empty()) return defaults_;
    auto it = sparse_.find(tenant);
    return it == sparse_.end() ? defaults_ : it->second;
  }

 private:
  CategoryCutoffs defaults_;
  // Slot n: tenant n's cutoffs, or the defaults. Empty when sparse.
  std::vector<CategoryCutoffs> dense_;
  // Only when too sparse for `dense_`.
  absl::flat_hash_map<TenantNumber, CategoryCutoffs> sparse_;
};

enum class RecordState { kLive, kExpired, kUndecodable };

// The decision for one record as RocksDB stores it: the tenant number at
// `tenant_offset` of `key`, the header at the start of `value`. kUndecodable
// when either cannot be read: such a record is kept and counted, never dropped
// or served. Used by the compaction filter and by full-store scans, so they
// cannot disagree. Inline: the filter calls it for every record.
inline RecordState ClassifyRecord(const ExpiryCutoffs& cutoffs,
                                  absl::string_view key, size_t tenant_offset,
                                  absl::string_view value) {
  const std::optional<TenantNumber> tenant = TenantAt(key, tenant_offset);
  const std::optional<RecordHeader> header = DecodeRecordHeader(value);
  if (!tenant.has_value() || !header.has_value()) {
    return RecordState::kUndecodable;
  }
  return IsExpired(cutoffs.ForTenant(*tenant), *header) ? RecordState::kExpired
                                                        : RecordState::kLive;
}

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_EXPIRY_H_
