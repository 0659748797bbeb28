// Copyright ebb authors.
//
// Expiry carried out and audited: ExpireDue counts what has expired since it
// last ran and, in one synced write for all tenants, writes one AUDIT_EXPIRE
// record per tenant, category and creation day, advances each tenant's
// "expired through" watermark (the deletion: the compaction filter drops
// messages only below it, so it never removes anything unaudited) and notes
// the key ranges for the purge to drop or compact.
//
// Which buckets to visit: a message created at t and written under TTL d sits
// in bucket day(t + d). Messages newly expired for (tenant, category) were
// created in [watermark, cutoff) and written under some TTL the tenant or the
// default ever had (the policy histories list them all), so the buckets to
// visit are, per such TTL, day(watermark + d) .. day(cutoff + d): about one day
// per TTL on a normal night.

#include <algorithm>
#include <atomic>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/internal/status_macros.h"
#include "lib/ebb/store_impl.h"
#include "rocksdb/write_batch.h"

namespace ebb {

using store_internal::kExpiredThroughPrefix;

namespace {

std::string EncodeCutoffs(const CategoryCutoffs& cutoffs) {
  std::string out;
  for (int64_t micros : cutoffs.micros) {
    char buf[8];
    absl::big_endian::Store64(buf, static_cast<uint64_t>(micros));
    out.append(buf, 8);
  }
  return out;
}

std::optional<CategoryCutoffs> DecodeCutoffs(absl::string_view value) {
  CategoryCutoffs out;
  if (value.size() != 8 * out.micros.size()) return std::nullopt;
  for (size_t i = 0; i < out.micros.size(); ++i) {
    out.micros[i] =
        static_cast<int64_t>(absl::big_endian::Load64(value.data() + 8 * i));
  }
  return out;
}

// Counts for one (category, creation day).
struct Group {
  uint64_t messages = 0, bytes = 0, held_back = 0;
  // Conversations seen by reading records, and those counted from file
  // statistics (never the same: see ExpireDue).
  absl::flat_hash_set<std::string> conversations;
  uint64_t counted_conversations = 0;
  uint64_t Conversations() const {
    return conversations.size() + counted_conversations;
  }
};
using Groups = std::map<std::pair<int, int64_t>, Group>;

// What ExpireDue's scan of one tenant found, written for all tenants at once.
struct TenantExpiry {
  std::string tenant;  // empty: nothing to write
  TenantNumber number = 0;
  absl::Time now;  // the clock the scan judged expiry at
  // The snapshot the scan saw: if its protections changed since, the tenant
  // is scanned again. (Held, so that a new snapshot cannot reuse its
  // address.)
  std::shared_ptr<const PolicySnapshot> seen;
  rocksdb::WriteBatch batch;  // the new watermark
  // For the worklist, joined with every other tenant's when written.
  std::vector<store_internal::PendingPurgeRange> purge_ranges;
  Groups groups;
  CategoryCutoffs advanced;
  ExpiryReport counts;  // messages, bytes, held_back and ranges_* only
};

void AddCounts(const ExpiryReport& from, ExpiryReport* to) {
  to->messages += from.messages;
  to->bytes += from.bytes;
  to->held_back += from.held_back;
  to->ranges_deleted += from.ranges_deleted;
  to->ranges_read += from.ranges_read;
  to->ranges_counted_from_files += from.ranges_counted_from_files;
}

}  // namespace

namespace store_internal {

void AddExpiry(ExpiryReport from, ExpiryReport* to) {
  to->now = std::max(to->now, from.now);
  to->groups.insert(to->groups.end(),
                    std::make_move_iterator(from.groups.begin()),
                    std::make_move_iterator(from.groups.end()));
  AddCounts(from, to);
}

}  // namespace store_internal

namespace {

// Appends the puts of `from` (all ExpireDue's batches hold) to `to`.
absl::Status AppendWriteBatch(
    const rocksdb::WriteBatch& from,
    absl::Span<rocksdb::ColumnFamilyHandle* const> handles,
    rocksdb::WriteBatch* to) {
  struct Copier : rocksdb::WriteBatch::Handler {
    absl::Span<rocksdb::ColumnFamilyHandle* const> handles;
    rocksdb::WriteBatch* to = nullptr;
    rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
      for (rocksdb::ColumnFamilyHandle* handle : handles) {
        if (handle->GetID() == cf) return to->Put(handle, key, value);
      }
      return rocksdb::Status::InvalidArgument("unknown column family");
    }
    rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override {
      return Unexpected();
    }
    rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override {
      return Unexpected();
    }
    rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&,
                                  const rocksdb::Slice&) override {
      return Unexpected();
    }
    rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&,
                            const rocksdb::Slice&) override {
      return Unexpected();
    }
    static rocksdb::Status Unexpected() {
      return rocksdb::Status::NotSupported("only puts are copied");
    }
  } copier;
  copier.handles = handles;
  copier.to = to;
  return ToAbslStatus(from.Iterate(&copier), "expire: combine writes");
}

// Tenant stripes (distinct, sorted by address: the order appends take theirs
// in, so no deadlock), shared or exclusively; released in reverse.
class TenantStripes {
 public:
  TenantStripes(std::vector<absl::Mutex*> stripes, bool exclusive)
      : stripes_(std::move(stripes)), exclusive_(exclusive) {
    for (absl::Mutex* mu : stripes_) {
      if (exclusive_) {
        mu->Lock();
      } else {
        mu->ReaderLock();
      }
    }
  }
  ~TenantStripes() {
    for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) {
      if (exclusive_) {
        (*it)->Unlock();
      } else {
        (*it)->ReaderUnlock();
      }
    }
  }
  TenantStripes(const TenantStripes&) = delete;
  TenantStripes& operator=(const TenantStripes&) = delete;

 private:
  const std::vector<absl::Mutex*> stripes_;
  const bool exclusive_;
};

// Adds one AUDIT_EXPIRE record per group to `records`. Creation days begin
// `day_start` after midnight UTC (the store's days).
void AppendExpiryRecords(absl::string_view tenant, absl::Time now,
                         absl::Duration day_start, const Groups& groups,
                         absl::string_view note,
                         std::vector<v1::AuditRecord>* records) {
  const int64_t day_start_micros = absl::ToInt64Microseconds(day_start);
  for (const auto& [key, group] : groups) {
    v1::AuditRecord record = NewAuditRecord(v1::AUDIT_EXPIRE, tenant, now);
    record.set_scope(v1::SCOPE_TENANT);
    record.set_category(static_cast<v1::DataCategory>(key.first));
    *record.mutable_created_from() =
        internal::ToProtoTimestamp(absl::FromUnixMicros(
            internal::DayStartMicros(key.second, day_start_micros)));
    *record.mutable_created_until() =
        internal::ToProtoTimestamp(absl::FromUnixMicros(
            internal::DayStartMicros(key.second + 1, day_start_micros)));
    record.mutable_counts()->set_messages(group.messages);
    record.mutable_counts()->set_conversations(group.Conversations());
    record.mutable_counts()->set_bytes(group.bytes);
    if (group.held_back > 0) {
      record.mutable_held_back()->set_messages(group.held_back);
    }
    if (!note.empty()) record.set_note(std::string(note));
    records->push_back(std::move(record));
  }
}

// Adds one ExpiryGroup per group to `report`, with the seq of its audit
// record when `sealed` (the first of AppendExpiryRecords' output for these
// groups, same order) is given.
void AddGroups(absl::string_view tenant, absl::Duration day_start,
               const Groups& groups, const v1::AuditRecord* sealed,
               ExpiryReport* report) {
  size_t r = 0;
  for (const auto& [key, group] : groups) {
    ExpiryGroup out;
    out.tenant = std::string(tenant);
    out.category = static_cast<v1::DataCategory>(key.first);
    out.created_day = absl::FromUnixMicros(internal::DayStartMicros(
        key.second, absl::ToInt64Microseconds(day_start)));
    out.messages = group.messages;
    out.conversations = group.Conversations();
    out.bytes = group.bytes;
    out.held_back = group.held_back;
    if (sealed != nullptr) out.audit_seq = sealed[r++].seq();
    report->groups.push_back(std::move(out));
  }
}

}  // namespace

absl::StatusOr<std::vector<ExpiryBucket>> Store::Impl::PresentBuckets() const {
  std::vector<ExpiryBucket> present;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), messages_cf()));
  it->SeekToFirst();
  while (it->Valid() && it->key().size() >= 4) {
    const ExpiryBucket bucket = absl::big_endian::Load32(it->key().data());
    present.push_back(bucket);
    if (bucket == internal::kKeepForeverBucket) break;
    char next[4];
    absl::big_endian::Store32(next, bucket + 1);
    it->Seek(rocksdb::Slice(next, 4));
  }
  EBB_RETURN_IF_ERROR(ToAbslStatus(it->status(), "list expiry buckets"));
  return present;
}

absl::Status Store::Impl::LoadExpiredThrough() {
  std::vector<std::pair<TenantNumber, CategoryCutoffs>> loaded;
  absl::Status decode;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      meta_cf(), kExpiredThroughPrefix, "open: expiry watermarks",
      [&](absl::string_view key, absl::string_view value) {
        const std::optional<CategoryCutoffs> cutoffs = DecodeCutoffs(value);
        if (key.size() != sizeof(kExpiredThroughPrefix) - 1 + 4 ||
            !cutoffs.has_value()) {
          decode = absl::DataLossError("open: undecodable expiry watermark");
          return;
        }
        loaded.emplace_back(
            absl::big_endian::Load32(key.data() + key.size() - 4), *cutoffs);
      }));
  EBB_RETURN_IF_ERROR(decode);
  if (loaded.empty()) return absl::OkStatus();
  return state_->Update([&](const RetentionState::View& view)
                            -> absl::StatusOr<std::optional<PolicySnapshot>> {
    return std::optional<PolicySnapshot>(
        view.snapshot->WithExpiredThrough(loaded));
  });
}

absl::StatusOr<ExpiryReport> Store::Impl::ExpireDue(bool dry_run,
                                                    absl::Time as_of) {
  EBB_RETURN_IF_ERROR(CheckOpen("expire"));
  absl::MutexLock one_at_a_time(&expire_mu_);
  ExpiryReport report;
  const RetentionState::View start = state_->Observe();
  report.now = std::min(start.now, as_of);
  // Creation days of the records read below, per record: converted once.
  const int64_t day_start_micros = absl::ToInt64Microseconds(day_start_);

  EBB_ASSIGN_OR_RETURN(const std::vector<ExpiryBucket> present,
                       PresentBuckets());
  if (present.empty()) return report;

  // Every TTL the default ever had, per category.
  std::array<std::set<absl::Duration>, internal::kCategorySlots> default_ttls;
  EBB_ASSIGN_OR_RETURN(const std::vector<TenantPolicy> default_history,
                       PolicyHistory(""));
  for (const TenantPolicy& version : default_history) {
    for (const RetentionRule& rule : version.rules) {
      default_ttls[rule.category].insert(rule.ttl);
    }
  }

  // Ranges of messages deleted and not yet compacted: their files may still
  // hold records no read sees, which file statistics would count.
  EBB_ASSIGN_OR_RETURN(const std::vector<KeyRange> deleted,
                       WorklistRanges(messages_cf()));

  // Scans one tenant: what is due, counted, and the write that records it
  // (nullopt if nothing is due). `locked`: the caller holds the tenant's
  // stripe. Otherwise it is taken once as a barrier: appends of this tenant
  // in flight (judged live at an earlier clock) finish, and later ones read a
  // clock at least `now`, so none can land below the new watermark
  // unaudited. The scan itself runs without the lock, so the tenant's appends
  // wait only for the barrier and the final write.
  auto scan_tenant = [&](const std::string& tenant, TenantNumber number,
                         bool locked, internal::FileStatsCounter* file_stats)
      -> absl::StatusOr<std::optional<TenantExpiry>> {
    RetentionState::View view;
    if (locked) {
      view = state_->Observe();
    } else {
      absl::WriterMutexLock barrier(&TenantMutex(tenant));
      view = state_->Observe();
    }
    // Judged at `as_of` if that is earlier: a lower watermark than the
    // clock allows is always safe (it is what an earlier run would leave).
    const absl::Time judged_at = std::min(view.now, as_of);
    const CategoryCutoffs cutoffs =
        view.snapshot->CutoffsFor(tenant, judged_at);
    const CategoryCutoffs through = view.snapshot->ExpiredThrough(number);
    bool due = false;
    for (v1::DataCategory c : internal::kStoredCategories) {
      due = due || cutoffs.micros[c] > through.micros[c];
    }
    if (!due) return std::optional<TenantExpiry>();
    TenantExpiry out;
    out.tenant = tenant;
    out.number = number;
    out.now = judged_at;
    out.seen = view.snapshot;
    ExpiryReport& totals = out.counts;
    rocksdb::WriteBatch& batch = out.batch;
    Groups& groups = out.groups;

    std::array<std::set<absl::Duration>, internal::kCategorySlots> ttls =
        default_ttls;
    EBB_ASSIGN_OR_RETURN(const std::vector<TenantPolicy> history,
                         PolicyHistory(tenant));
    for (const TenantPolicy& version : history) {
      for (const RetentionRule& rule : version.rules) {
        ttls[rule.category].insert(rule.ttl);
      }
    }
    std::set<ExpiryBucket> buckets;
    for (v1::DataCategory c : internal::kStoredCategories) {
      if (cutoffs.micros[c] <= through.micros[c]) continue;
      ttls[c].insert(view.snapshot->RuleFor(tenant, c).ttl);
      for (absl::Duration ttl : ttls[c]) {
        // The bucket of the newest expired created_at (expired: before the
        // cutoff). At a cutoff on a day boundary, the bucket that begins
        // there holds nothing expired and is not read: the purge's first
        // expiry step stops at the start of the current day.
        const ExpiryBucket last = internal::ExpiryBucketFor(
            absl::FromUnixMicros(cutoffs.micros[c] - 1), ttl, day_start_);
        const ExpiryBucket first =
            through.micros[c] == std::numeric_limits<int64_t>::min()
                ? 0
                : internal::ExpiryBucketFor(
                      absl::FromUnixMicros(through.micros[c]), ttl, day_start_);
        for (auto it = std::lower_bound(present.begin(), present.end(), first);
             it != present.end() && *it <= last; ++it) {
          buckets.insert(*it);
        }
      }
    }

    const internal::TenantProtections* protections =
        view.snapshot->protections().Find(number);
    std::string run_first, run_last;
    // Runs of expired keys of the current bucket, and what else it holds.
    std::vector<std::pair<std::string, std::string>> runs;
    uint64_t seen = 0, kept = 0;
    auto close_run = [&] {
      if (run_first.empty()) return;
      std::string end = run_last;
      end.push_back('\0');  // the smallest key after run_last
      runs.emplace_back(std::move(run_first), std::move(end));
      run_first.clear();
    };
    // No fixed readahead: what is read is each partly expired day of the
    // tenant, a range of tens of kilobytes (the rest is counted from file
    // statistics), and a 2 MB readahead per Seek read ~30x that. RocksDB's own
    // readahead still grows on a long range.
    rocksdb::ReadOptions scan_options;
    scan_options.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(scan_options, messages_cf()));
    // Notes the bucket's expired keys for the purge: the whole
    // [bucket][tenant] range when all of it went (or it holds nothing), so
    // that it can join neighbouring tenants, drop whole files across them
    // and compact the day once; otherwise each run of expired keys. No range
    // tombstones: the watermark advanced below is the deletion (reads never
    // returned these records, and the filter now drops them).
    auto note_ranges = [&](const std::string& prefix) {
      std::string end = internal::PrefixSuccessor(prefix);
      const uint64_t seq = db_->GetLatestSequenceNumber();
      if (seen == 0) {
        out.purge_ranges.push_back(
            {prefix, std::move(end), /*compact=*/false, seq});
      } else if (kept == 0) {
        out.purge_ranges.push_back(
            {prefix, std::move(end), /*compact=*/true, seq});
        ++totals.ranges_deleted;
      } else {
        for (const auto& [first, last] : runs) {
          out.purge_ranges.push_back({first, last, /*compact=*/true, seq});
          ++totals.ranges_deleted;
        }
      }
    };
    // Counts a bucket by reading its records.
    auto read_bucket = [&](ExpiryBucket bucket) -> absl::Status {
      const std::string prefix = internal::TenantBucketPrefix(bucket, number);
      runs.clear();
      seen = kept = 0;
      auto visit = [&](absl::string_view key, absl::string_view value) {
        ++seen;
        ++kept;  // until shown to be deleted below
        const std::optional<RecordHeader> header =
            internal::DecodeRecordHeader(value);
        // Undecodable records are kept (and counted by Stats).
        if (!header.has_value() ||
            header->created_at_micros >= cutoffs.micros[header->category] ||
            header->created_at_micros < through.micros[header->category]) {
          close_run();
          return;
        }
        const std::optional<internal::MessageKeyParts> parts =
            internal::ParseMessageKey(key);
        Group& group = groups[{header->category,
                               internal::DayOfMicros(header->created_at_micros,
                                                     day_start_micros)}];
        if (parts.has_value() && protections != nullptr &&
            protections->KeepsConversation(parts->conversation)) {
          ++group.held_back;
          ++totals.held_back;
          close_run();
          return;
        }
        ++group.messages;
        group.bytes += key.size() + value.size();
        if (parts.has_value()) {
          group.conversations.emplace(parts->conversation);
        }
        ++totals.messages;
        totals.bytes += key.size() + value.size();
        --kept;
        if (run_first.empty()) run_first = std::string(key);
        run_last = std::string(key);
      };
      // One iterator for all of the tenant's days; the data is read once and
      // need not displace the block cache.
      for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix);
           it->Next()) {
        visit(View(it->key()), View(it->value()));
      }
      EBB_RETURN_IF_ERROR(ToAbslStatus(it->status(), "expire: messages"));
      close_run();
      note_ranges(prefix);
      ++totals.ranges_read;
      return absl::OkStatus();
    };

    // Buckets whose file statistics can count them (wholly and newly
    // expired, nothing held) are counted without reading them. A group's
    // distinct conversations add up only within one count, so a bucket whose
    // groups meet another bucket's is read instead.
    // Buckets whose statistics show nothing expired are neither read nor
    // noted: a tenant whose history holds a longer TTL than its rule (the
    // default's 30 d, for a tenant that set 7 d before writing anything)
    // has every bucket up to that TTL ahead scanned for messages written
    // under it. purge_bench's twenty 7-day tenants had eight such buckets
    // each, 160 of the backlog's 169 buckets read, and all of it live.
    std::map<ExpiryBucket, std::vector<internal::ExpiryCounts>> from_files;
    std::set<ExpiryBucket> unexpired;
    if (protections == nullptr) {
      EBB_ASSIGN_OR_RETURN(
          from_files, CountExpiredFromFiles(number, buckets, cutoffs, through,
                                            deleted, file_stats, &unexpired));
    }
    std::map<std::pair<int, int64_t>, int> counted_groups;
    for (const auto& [bucket, counts] : from_files) {
      for (const internal::ExpiryCounts& c : counts) {
        ++counted_groups[{c.category, c.created_day}];
      }
    }
    auto meets_another =
        [&](const std::vector<internal::ExpiryCounts>& counts) {
          for (const internal::ExpiryCounts& c : counts) {
            if (counted_groups[{c.category, c.created_day}] > 1 ||
                groups.count({c.category, c.created_day}) > 0) {
              return true;
            }
          }
          return false;
        };
    for (auto f = from_files.begin(); f != from_files.end();) {
      f = meets_another(f->second) ? from_files.erase(f) : std::next(f);
    }
    for (ExpiryBucket bucket : buckets) {
      if (from_files.count(bucket) == 0 && unexpired.count(bucket) == 0) {
        EBB_RETURN_IF_ERROR(read_bucket(bucket));
      }
    }
    for (const auto& [bucket, counts] : from_files) {
      // Only read buckets' groups can meet it now.
      if (meets_another(counts)) {
        EBB_RETURN_IF_ERROR(read_bucket(bucket));
        continue;
      }
      runs.clear();
      seen = kept = 0;
      for (const internal::ExpiryCounts& c : counts) {
        Group& group = groups[{c.category, c.created_day}];
        group.messages += c.messages;
        group.bytes += c.bytes;
        group.counted_conversations += c.conversations;
        totals.messages += c.messages;
        totals.bytes += c.bytes;
        seen += c.messages;
      }
      note_ranges(internal::TenantBucketPrefix(bucket, number));
      ++totals.ranges_counted_from_files;
    }

    for (v1::DataCategory c : internal::kStoredCategories) {
      out.advanced.micros[c] = std::max(through.micros[c], cutoffs.micros[c]);
    }
    batch.Put(meta_cf(),
              store_internal::TenantKeyPrefix(kExpiredThroughPrefix, number),
              EncodeCutoffs(out.advanced));
    return std::optional<TenantExpiry>(std::move(out));
  };

  // Tenants are independent until the write: they are scanned on a thread
  // per core (up to 4), each with its own file statistics cache. The scans
  // are most of a backlog's ExpireDue, and CPU-bound. Threads take a few
  // tenants at a time, in key order (by number): neighbouring tenants share
  // files, and each thread decodes the statistics of every file its tenants
  // touch (taken one by one in turn, every file was decoded by up to four).
  const std::vector<std::pair<std::string, TenantNumber>> tenants =
      start.snapshot->Tenants();
  std::vector<size_t> key_order(tenants.size());
  std::iota(key_order.begin(), key_order.end(), 0);
  std::sort(key_order.begin(), key_order.end(), [&](size_t a, size_t b) {
    return tenants[a].second < tenants[b].second;
  });
  const size_t threads = std::min<size_t>(
      tenants.size(),
      std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4));
  std::vector<std::optional<TenantExpiry>> results(tenants.size());
  std::vector<internal::FileStatsCounter> counters;
  counters.reserve(threads);
  for (size_t i = 0; i < threads; ++i) counters.emplace_back(day_start_);
  constexpr size_t kTenantsPerTake = 4;
  std::atomic<size_t> next_take{0};
  auto scan_share = [&](size_t thread) -> absl::Status {
    for (size_t first = next_take.fetch_add(kTenantsPerTake);
         first < key_order.size();
         first = next_take.fetch_add(kTenantsPerTake)) {
      const size_t last = std::min(first + kTenantsPerTake, key_order.size());
      for (size_t k = first; k < last; ++k) {
        const size_t i = key_order[k];
        EBB_ASSIGN_OR_RETURN(results[i],
                             scan_tenant(tenants[i].first, tenants[i].second,
                                         /*locked=*/false, &counters[thread]));
      }
    }
    return absl::OkStatus();
  };
  {
    std::vector<std::future<absl::Status>> helpers;
    for (size_t t = 1; t < threads; ++t) {
      helpers.push_back(std::async(std::launch::async, scan_share, t));
    }
    absl::Status scans = threads > 0 ? scan_share(0) : absl::OkStatus();
    for (std::future<absl::Status>& helper : helpers) {
      const absl::Status s = helper.get();
      if (scans.ok()) scans = s;
    }
    EBB_RETURN_IF_ERROR(scans);
  }
  std::vector<TenantExpiry> scanned;
  for (std::optional<TenantExpiry>& due : results) {
    if (due.has_value()) scanned.push_back(*std::move(due));
  }
  if (dry_run) {
    for (const TenantExpiry& t : scanned) {
      AddCounts(t.counts, &report);
      AddGroups(t.tenant, day_start_, t.groups, nullptr, &report);
    }
    return report;
  }
  if (scanned.empty()) return report;
  if (after_expiry_scan_for_testing_) after_expiry_scan_for_testing_();

  // One synced write for all tenants, not one each (200 syncs were a tenth
  // of a 6 M-message backlog purge), built before any lock is taken.
  rocksdb::WriteBatch batch;
  std::vector<v1::AuditRecord> records;
  std::vector<size_t> first_record;  // per scanned tenant
  auto combine = [&]() -> absl::Status {
    batch.Clear();
    records.clear();
    first_record.clear();
    std::vector<store_internal::PendingPurgeRange> purge_ranges;
    for (const TenantExpiry& t : scanned) {
      EBB_RETURN_IF_ERROR(AppendWriteBatch(t.batch, handles_, &batch));
      purge_ranges.insert(purge_ranges.end(), t.purge_ranges.begin(),
                          t.purge_ranges.end());
      first_record.push_back(records.size());
      AppendExpiryRecords(t.tenant, t.now, day_start_, t.groups, "", &records);
    }
    NoteJoinedPurgeRanges(&batch, messages_cf(), std::move(purge_ranges));
    return absl::OkStatus();
  };
  EBB_RETURN_IF_ERROR(combine());
  // The stripes of the tenants with something due are then held until the
  // watermarks are published, shared (only theirs: a thread can hold at
  // most 64 locks under TSan): erasures, holds and their release take a stripe
  // exclusively, and none of them may see the new watermark on disk and the old
  // one in memory (lifting a hold audits what expired under it by the in-memory
  // one), or set a hold between the check below and the write. Appends take
  // stripes shared too, and need not wait: the barriers ordered them (anything
  // they accept now is live at a later clock than the scans judged at).
  std::vector<absl::Mutex*> due_stripes;
  for (const TenantExpiry& t : scanned) {
    due_stripes.push_back(&TenantMutex(t.tenant));
  }
  std::sort(due_stripes.begin(), due_stripes.end());
  due_stripes.erase(std::unique(due_stripes.begin(), due_stripes.end()),
                    due_stripes.end());
  std::optional<TenantStripes> stripes;
  stripes.emplace(due_stripes, /*exclusive=*/false);
  auto changed_during_scan = [&](const TenantExpiry& t) {
    return !t.tenant.empty() &&
           &t.seen->protections() != &state_->Observe().snapshot->protections();
  };
  if (std::any_of(scanned.begin(), scanned.end(), changed_during_scan)) {
    // A hold, restriction or pending erasure changed during the scan (rare):
    // with those stripes held exclusively, so that no append of those
    // tenants runs either, the tenants it may concern are scanned again.
    stripes.reset();
    stripes.emplace(due_stripes, /*exclusive=*/true);
    for (TenantExpiry& t : scanned) {
      if (!changed_during_scan(t)) continue;
      EBB_ASSIGN_OR_RETURN(
          std::optional<TenantExpiry> again,
          scan_tenant(t.tenant, t.number, /*locked=*/true, &counters[0]));
      if (again.has_value()) {
        t = *std::move(again);
      } else {
        t = TenantExpiry{};  // nothing due after all: writes nothing
      }
    }
    EBB_RETURN_IF_ERROR(combine());
  }
  // Written before it is published, and not under the policy lock, which
  // every read and append takes: a synced write of a backlog's records can
  // wait a while on a busy disk. Until the watermarks are published the
  // filter keeps what they expire, which is safe.
  EBB_RETURN_IF_ERROR(WriteAudited(&batch, &records, "expire"));
  EBB_RETURN_IF_ERROR(
      state_->Update([&](const RetentionState::View& view)
                         -> absl::StatusOr<std::optional<PolicySnapshot>> {
        std::vector<std::pair<TenantNumber, CategoryCutoffs>> advanced;
        for (const TenantExpiry& t : scanned) {
          if (!t.tenant.empty()) advanced.emplace_back(t.number, t.advanced);
        }
        return std::optional<PolicySnapshot>(
            view.snapshot->WithExpiredThrough(advanced));
      }));
  stripes.reset();
  for (size_t i = 0; i < scanned.size(); ++i) {
    AddCounts(scanned[i].counts, &report);
    AddGroups(scanned[i].tenant, day_start_, scanned[i].groups,
              records.data() + first_record[i], &report);
  }
  if (!dry_run && report.messages > 0) bucket_cache_.Clear();
  return report;
}

absl::StatusOr<std::map<ExpiryBucket, std::vector<internal::ExpiryCounts>>>
Store::Impl::CountExpiredFromFiles(TenantNumber number,
                                   const std::set<ExpiryBucket>& buckets,
                                   const CategoryCutoffs& cutoffs,
                                   const CategoryCutoffs& through,
                                   absl::Span<const KeyRange> deleted,
                                   internal::FileStatsCounter* counter,
                                   std::set<ExpiryBucket>* unexpired) {
  std::map<ExpiryBucket, std::vector<internal::ExpiryCounts>> out;
  // What is still in memtables has no file statistics yet. Checked before
  // the files are listed, so that a flush in between moves nothing unseen.
  rocksdb::ReadOptions memtables_only;
  memtables_only.read_tier = rocksdb::kMemtableTier;
  std::unique_ptr<rocksdb::Iterator> memtables(
      db_->NewIterator(memtables_only, messages_cf()));
  std::vector<ExpiryBucket> candidates;
  std::vector<std::string> bounds;  // begin, end of each candidate
  for (ExpiryBucket bucket : buckets) {
    std::string prefix = internal::TenantBucketPrefix(bucket, number);
    std::string end = internal::PrefixSuccessor(prefix);
    memtables->Seek(prefix);
    EBB_RETURN_IF_ERROR(ToAbslStatus(memtables->status(), "expire: memtables"));
    if (memtables->Valid() && StartsWith(memtables->key(), prefix)) continue;
    const bool was_deleted =
        std::any_of(deleted.begin(), deleted.end(), [&](const KeyRange& r) {
          return r.begin < end && (r.end.empty() || r.end > prefix);
        });
    if (was_deleted) continue;
    candidates.push_back(bucket);
    bounds.push_back(std::move(prefix));
    bounds.push_back(std::move(end));
  }
  if (candidates.empty()) return out;
  // One listing for all of them: a file with usable statistics holds only
  // puts of messages, so it has a section for every range it holds data of,
  // and Count passes over it for the others. Only a file without them needs
  // a listing per range to tell which ranges it touches.
  auto list_files = [&](size_t first, size_t count,
                        rocksdb::TablePropertiesCollection* files) {
    std::vector<rocksdb::Slice> slices(bounds.begin() + 2 * first,
                                       bounds.begin() + 2 * (first + count));
    std::vector<rocksdb::Range> ranges;
    for (size_t i = 0; i < count; ++i) {
      ranges.emplace_back(slices[2 * i], slices[2 * i + 1]);
    }
    return ToAbslStatus(db_->GetPropertiesOfTablesInRange(
                            messages_cf(), ranges.data(), ranges.size(), files),
                        "expire: file statistics");
  };
  rocksdb::TablePropertiesCollection all_files;
  EBB_RETURN_IF_ERROR(list_files(0, candidates.size(), &all_files));
  const bool shared = counter->AllUsable(all_files);
  std::vector<std::optional<std::vector<internal::ExpiryCounts>>> counted;
  if (shared) counted = counter->CountEach(all_files, candidates, number);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const ExpiryBucket bucket = candidates[i];
    std::optional<std::vector<internal::ExpiryCounts>> counts;
    if (shared) {
      counts = std::move(counted[i]);
    } else {
      rocksdb::TablePropertiesCollection own;
      EBB_RETURN_IF_ERROR(list_files(i, 1, &own));
      counts = counter->Count(own, bucket, number);
    }
    if (!counts.has_value()) continue;
    // Wholly and newly expired: nothing live, nothing expired before (the
    // filter may not have dropped that yet).
    const bool all_newly_expired = std::all_of(
        counts->begin(), counts->end(), [&](const internal::ExpiryCounts& c) {
          return c.min_created_at_micros >= through.micros[c.category] &&
                 c.max_created_at_micros < cutoffs.micros[c.category];
        });
    // Nothing expired: every record created at or after its cutoff. (An
    // empty count, a range with nothing in it, is "all newly expired":
    // noted as empty, so neighbouring ranges join across it.)
    const bool none_expired =
        !counts->empty() && std::all_of(counts->begin(), counts->end(),
                                        [&](const internal::ExpiryCounts& c) {
                                          return c.min_created_at_micros >=
                                                 cutoffs.micros[c.category];
                                        });
    if (none_expired) {
      unexpired->insert(bucket);
    } else if (all_newly_expired) {
      out.emplace(bucket, *std::move(counts));
    }
  }
  return out;
}

absl::Status Store::Impl::ExpireReleased(
    absl::string_view tenant, TenantNumber number,
    const std::vector<std::string>& conversations,
    const internal::TenantProtections* protections, absl::Time now,
    rocksdb::WriteBatch* batch, std::vector<v1::AuditRecord>* records) {
  const CategoryCutoffs through =
      state_->Observe().snapshot->ExpiredThrough(number);
  Groups groups;
  const int64_t day_start_micros = absl::ToInt64Microseconds(day_start_);
  for (const std::string& conversation : conversations) {
    if (protections != nullptr &&
        protections->KeepsConversation(conversation)) {
      continue;  // another hold still covers it
    }
    const std::string index_prefix =
        internal::ConversationBucketsPrefix(number, conversation);
    std::set<ExpiryBucket> buckets;
    EBB_RETURN_IF_ERROR(ScanPrefix(
        index_cf(), index_prefix, "release held expiry: index",
        [&](absl::string_view key, absl::string_view) {
          auto parts =
              internal::ParseConversationBucketKey(key, index_prefix.size());
          if (parts.has_value()) buckets.insert(parts->bucket);
        }));
    for (ExpiryBucket bucket : buckets) {
      const std::string prefix =
          internal::MessageKeyPrefix(bucket, number, conversation);
      bool deleted = false;
      EBB_RETURN_IF_ERROR(ScanPrefix(
          messages_cf(), prefix, "release held expiry: messages",
          [&](absl::string_view key, absl::string_view value) {
            const std::optional<RecordHeader> header =
                internal::DecodeRecordHeader(value);
            // Below the watermark: expired while held, never audited.
            if (!header.has_value() ||
                header->created_at_micros >= through.micros[header->category]) {
              return;
            }
            Group& group =
                groups[{header->category,
                        internal::DayOfMicros(header->created_at_micros,
                                              day_start_micros)}];
            ++group.messages;
            group.bytes += key.size() + value.size();
            group.conversations.insert(conversation);
            batch->Delete(messages_cf(),
                          rocksdb::Slice(key.data(), key.size()));
            deleted = true;
          }));
      if (deleted) {
        NotePurgeRange(batch, messages_cf(), prefix,
                       internal::PrefixSuccessor(prefix),
                       PurgeWork::kCompactOnly);
      }
    }
  }
  AppendExpiryRecords(
      tenant, now, day_start_, groups,
      "expired while held; carried out when the hold was lifted", records);
  return absl::OkStatus();
}

}  // namespace ebb
