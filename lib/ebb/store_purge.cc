// Copyright ebb authors.
//
// The nightly purge. Expiry and erasure delete logically with range deletions
// and record each range in a durable worklist (purge/<id>) in the same write.
// Purge turns the worklist into physical removal: flush, drop the SST files
// that lie wholly inside a deleted range (nothing rewritten), compact exactly
// the ranges to the bottom level so the partly covered files lose the deleted
// keys and the tombstones, then flush again so the WAL files that held the
// data become obsolete. A worklist entry is removed only once its range has
// been compacted, so a killed purge is finished by the next one.

#include <algorithm>
#include <atomic>
#include <future>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/ebb/internal/insert_hint.h"
#include "lib/ebb/internal/status_macros.h"
#include "lib/ebb/store_impl.h"
#include "rocksdb/convenience.h"

namespace ebb {

using store_internal::kPurgePrefix;
using store_internal::PurgeRange;

namespace store_internal {

struct PurgeRange {
  char work = 'C';  // Store::Impl::PurgeWork
  // Whether whole files inside it may be dropped (false once any part of it
  // is kCompactOnly).
  bool droppable = true;
  uint32_t cf = 0;
  // The DB's sequence number just before the deletion was written: a file
  // whose entries are all at or below it holds only deleted data. Newer
  // entries in the range (appends after an erasure's cutoff) must survive.
  uint64_t deleted_after_seq = 0;
  std::string begin, end;
  std::vector<std::string> keys;  // the worklist entries it came from
};

}  // namespace store_internal

namespace {

std::string PurgeKey(uint64_t id) {
  char buf[8];
  absl::big_endian::Store64(buf, id);
  return absl::StrCat(kPurgePrefix, absl::string_view(buf, 8));
}

// [work][column family u32][sequence u64][begin size u32][begin][end]
std::string EncodePurgeRange(char work, uint32_t cf, uint64_t seq,
                             absl::string_view begin, absl::string_view end) {
  char buf[17];
  buf[0] = work;
  absl::big_endian::Store32(buf + 1, cf);
  absl::big_endian::Store64(buf + 5, seq);
  absl::big_endian::Store32(buf + 13, static_cast<uint32_t>(begin.size()));
  return absl::StrCat(absl::string_view(buf, 17), begin, end);
}

std::optional<PurgeRange> DecodePurgeRange(absl::string_view value) {
  if (value.size() < 17 ||
      (value[0] != 'C' && value[0] != 'E' && value[0] != 'P')) {
    return std::nullopt;
  }
  PurgeRange out;
  out.work = value[0] == 'E' ? 'E' : 'C';
  out.droppable = value[0] != 'P';
  out.cf = absl::big_endian::Load32(value.data() + 1);
  out.deleted_after_seq = absl::big_endian::Load64(value.data() + 5);
  const uint32_t begin_size = absl::big_endian::Load32(value.data() + 13);
  if (value.size() - 17 < begin_size) return std::nullopt;
  out.begin = std::string(value.substr(17, begin_size));
  out.end = std::string(value.substr(17 + begin_size));
  return out;
}

// Merges overlapping and touching ranges of each column family, so that
// tenants expiring the same day become one range (and one compaction).
std::vector<PurgeRange> Coalesce(std::vector<PurgeRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const PurgeRange& a, const PurgeRange& b) {
              return std::tie(a.cf, a.begin) < std::tie(b.cf, b.begin);
            });
  std::vector<PurgeRange> out;
  for (PurgeRange& r : ranges) {
    if (!out.empty() && out.back().cf == r.cf &&
        (out.back().end.empty() || r.begin <= out.back().end)) {
      PurgeRange& last = out.back();
      if (!last.end.empty() && (r.end.empty() || r.end > last.end)) {
        last.end = r.end;
      }
      last.keys.insert(last.keys.end(), r.keys.begin(), r.keys.end());
      last.deleted_after_seq =
          std::min(last.deleted_after_seq, r.deleted_after_seq);
      if (r.work == 'C') last.work = 'C';  // compact if any part needs it
      last.droppable = last.droppable && r.droppable;
      continue;
    }
    out.push_back(std::move(r));
  }
  return out;
}

uint64_t LiveSstBytes(rocksdb::DB* db,
                      const std::vector<rocksdb::ColumnFamilyHandle*>& cfs) {
  uint64_t total = 0;
  for (rocksdb::ColumnFamilyHandle* cf : cfs) {
    uint64_t bytes = 0;
    if (db->GetIntProperty(cf, rocksdb::DB::Properties::kLiveSstFilesSize,
                           &bytes)) {
      total += bytes;
    }
  }
  return total;
}

// A file of levels 1 and up: its key span, by which the purge decides which
// files a range covers wholly (to drop them, or not to rewrite them for
// nothing), and what dropping it would take and remove.
struct FileKeys {
  std::string smallest, largest;
  uint64_t size = 0;
  uint64_t largest_seqno = 0;
};

// The first file of `files` (sorted by smallest key) that begins at or after
// `key`: a range looks only at the files that begin inside it (a backlog's
// 454 ranges against every one of 5 700 files were 2.6 million key
// comparisons).
std::vector<FileKeys>::const_iterator FirstFileFrom(
    const std::vector<FileKeys>& files, absl::string_view key) {
  return std::lower_bound(
      files.begin(), files.end(), key,
      [](const FileKeys& f, absl::string_view k) { return f.smallest < k; });
}

// True if a file of `files` (sorted by smallest key) lies wholly within
// [begin, end).
bool AnyFileWhollyInside(const std::vector<FileKeys>& files,
                         absl::string_view begin, absl::string_view end) {
  for (auto it = FirstFileFrom(files, begin);
       it != files.end() && it->smallest < end; ++it) {
    if (it->largest < end) return true;
  }
  return false;
}

// Every file of levels 1 and up of `cf`, sorted by smallest key.
std::vector<FileKeys> FilesOfLevelsOneAndUp(rocksdb::DB* db,
                                            rocksdb::ColumnFamilyHandle* cf) {
  rocksdb::ColumnFamilyMetaData metadata;
  db->GetColumnFamilyMetaData(cf, &metadata);
  std::vector<FileKeys> files;
  for (size_t level = 1; level < metadata.levels.size(); ++level) {
    for (const rocksdb::SstFileMetaData& f : metadata.levels[level].files) {
      files.push_back({f.smallestkey, f.largestkey, f.size, f.largest_seqno});
    }
  }
  std::sort(files.begin(), files.end(),
            [](const FileKeys& a, const FileKeys& b) {
              return a.smallest < b.smallest;
            });
  return files;
}

}  // namespace

void Store::Impl::NotePurgeRange(rocksdb::WriteBatch* batch,
                                 rocksdb::ColumnFamilyHandle* cf,
                                 absl::string_view begin, absl::string_view end,
                                 PurgeWork work) {
  batch->Put(deletable_cf(), PurgeKey(next_purge_id_.fetch_add(1)),
             EncodePurgeRange(static_cast<char>(work), cf->GetID(),
                              db_->GetLatestSequenceNumber(), begin, end));
}

void Store::Impl::NoteJoinedPurgeRanges(
    rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf,
    std::vector<store_internal::PendingPurgeRange> pending) {
  std::vector<PurgeRange> ranges;
  ranges.reserve(pending.size());
  for (store_internal::PendingPurgeRange& p : pending) {
    PurgeRange r;
    r.work =
        static_cast<char>(p.compact ? PurgeWork::kCompact : PurgeWork::kEmpty);
    r.cf = cf->GetID();
    r.deleted_after_seq = p.deleted_after_seq;
    r.begin = std::move(p.begin);
    r.end = std::move(p.end);
    ranges.push_back(std::move(r));
  }
  for (const PurgeRange& r : Coalesce(std::move(ranges))) {
    batch->Put(
        deletable_cf(), PurgeKey(next_purge_id_.fetch_add(1)),
        EncodePurgeRange(r.work, r.cf, r.deleted_after_seq, r.begin, r.end));
  }
}

absl::Status Store::Impl::DeleteRangeForPurge(rocksdb::WriteBatch* batch,
                                              rocksdb::ColumnFamilyHandle* cf,
                                              absl::string_view begin,
                                              absl::string_view end) {
  // RocksDB 7.8 would put a range deletion that starts at a complete key
  // through the memtable insert hint of the point keys' skiplist and corrupt
  // it (insert_hint.h). ebb deletes only from prefixes; this keeps it so.
  if ((cf == messages_cf() && internal::IsCompleteMessageKey(begin)) ||
      (cf == index_cf() && internal::IsCompleteIndexKey(begin))) {
    return absl::InternalError(absl::StrCat(
        "refusing a range deletion in column family \"", cf->GetName(),
        "\" that starts at a complete key (", absl::CHexEscape(begin),
        "): the memtable insert hints cannot take it"));
  }
  batch->DeleteRange(cf, rocksdb::Slice(begin.data(), begin.size()),
                     rocksdb::Slice(end.data(), end.size()));
  NotePurgeRange(batch, cf, begin, end);
  return absl::OkStatus();
}

absl::Status Store::Impl::LoadPurgeWorklist() {
  const std::string upper = internal::PrefixSuccessor(kPurgePrefix);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, deletable_cf()));
  it->SeekForPrev(rocksdb::Slice(upper));
  if (it->Valid() && StartsWith(it->key(), kPurgePrefix) &&
      it->key().size() == sizeof(kPurgePrefix) - 1 + 8) {
    next_purge_id_.store(
        absl::big_endian::Load64(it->key().data() + it->key().size() - 8) + 1);
  }
  return ToAbslStatus(it->status(), "open: purge worklist");
}

absl::StatusOr<std::vector<PurgeRange>> Store::Impl::ReadWorklist() {
  std::vector<PurgeRange> ranges;
  absl::Status decode;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      deletable_cf(), kPurgePrefix, "purge: worklist",
      [&](absl::string_view key, absl::string_view value) {
        std::optional<PurgeRange> r = DecodePurgeRange(value);
        if (!r.has_value()) {
          decode = absl::DataLossError(
              "purge: undecodable worklist entry; the store is damaged");
          return;
        }
        r->keys.emplace_back(key);
        ranges.push_back(*std::move(r));
      }));
  EBB_RETURN_IF_ERROR(decode);
  return ranges;
}

absl::StatusOr<std::vector<Store::Impl::KeyRange>> Store::Impl::WorklistRanges(
    rocksdb::ColumnFamilyHandle* cf) {
  EBB_ASSIGN_OR_RETURN(std::vector<PurgeRange> ranges, ReadWorklist());
  std::vector<KeyRange> out;
  for (PurgeRange& r : ranges) {
    if (r.cf == cf->GetID()) {
      out.push_back({std::move(r.begin), std::move(r.end)});
    }
  }
  return out;
}

absl::Status Store::Impl::DropWholeFiles(
    rocksdb::ColumnFamilyHandle* cf,
    const std::vector<const PurgeRange*>& ranges,
    const std::function<void(const std::string&)>& progress,
    PurgeReport* report) {
  // Levels 1 and up: RocksDB never drops level-0 files this way.
  const std::vector<FileKeys> level_files =
      FilesOfLevelsOneAndUp(db_.get(), cf);
  // A range qualifies only if every file wholly inside it predates its
  // deletion.
  std::vector<const PurgeRange*> safe;
  uint64_t files = 0, bytes = 0;
  for (const PurgeRange* r : ranges) {
    bool ok = true;
    uint64_t r_files = 0, r_bytes = 0;
    for (auto file = FirstFileFrom(level_files, r->begin);
         file != level_files.end() && file->smallest < r->end; ++file) {
      if (file->largest >= r->end) continue;  // not wholly inside
      if (file->largest_seqno > r->deleted_after_seq) ok = false;
      ++r_files;
      r_bytes += file->size;
    }
    if (!ok || r_files == 0) continue;
    safe.push_back(r);
    files += r_files;
    bytes += r_bytes;
  }
  if (safe.empty()) return absl::OkStatus();
  std::vector<rocksdb::Slice> bounds;
  bounds.reserve(2 * safe.size());
  for (const PurgeRange* r : safe) {
    bounds.emplace_back(r->begin);
    bounds.emplace_back(r->end);
  }
  std::vector<rocksdb::RangePtr> pointers;
  for (size_t i = 0; i < safe.size(); ++i) {
    pointers.emplace_back(&bounds[2 * i], &bounds[2 * i + 1]);
  }
  progress(absl::StrFormat("dropping %d whole files", files));
  EBB_RETURN_IF_ERROR(ToAbslStatus(
      rocksdb::DeleteFilesInRanges(db_.get(), cf, pointers.data(),
                                   pointers.size(), /*include_end=*/false),
      "purge: drop files"));
  progress(absl::StrFormat("dropped %d files", files));
  report->files_dropped += files;
  report->bytes_dropped += bytes;
  return absl::OkStatus();
}

absl::Status Store::Impl::HoldOffCompactions() {
  for (rocksdb::ColumnFamilyHandle* cf : {messages_cf(), index_cf()}) {
    const absl::Status held = ToAbslStatus(
        db_->SetOptions(cf, {{"disable_auto_compactions", "true"}}),
        "hold off compactions");
    if (!held.ok()) {
      ResumeCompactions().IgnoreError();
      return held;
    }
  }
  // A second compaction slot while nothing else compacts the two: the
  // index compaction runs beside the day compactions (with one slot, the
  // days waited for it). RocksDB gives one slot to flushes, the rest to
  // compactions.
  const absl::Status slots = ToAbslStatus(
      db_->SetDBOptions({{"max_background_jobs",
                          absl::StrCat(store_internal::kBackgroundJobs + 1)}}),
      "hold off compactions");
  if (!slots.ok()) ResumeCompactions().IgnoreError();
  return slots;
}

absl::Status Store::Impl::ResumeCompactions() {
  const absl::Status slots = ToAbslStatus(
      db_->SetDBOptions({{"max_background_jobs",
                          absl::StrCat(store_internal::kBackgroundJobs)}}),
      "resume compactions");
  const absl::Status resumed =
      ToAbslStatus(db_->EnableAutoCompaction({messages_cf(), index_cf()}),
                   "resume compactions");
  return slots.ok() ? resumed : slots;
}

absl::Status Store::Impl::WaitForRunningCompactions(absl::Time deadline) {
  for (;;) {
    uint64_t running = 0;
    if (!db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions,
                             &running)) {
      return absl::InternalError(
          "purge: RocksDB does not report its running compactions");
    }
    if (running == 0 || absl::Now() >= deadline) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(5));
  }
}

absl::Status Store::Impl::CompactWhole(rocksdb::ColumnFamilyHandle* cf) {
  // Every entry must pass the filter (index entries) or meet its tombstone
  // at the bottom level (deleted metadata) once. If the column family sits
  // in one level, that takes one bottommost compaction (kForce). Otherwise the
  // compactions that move the upper levels down rewrite the bottom-level
  // files under them, and forcing the bottom level would rewrite those a
  // second time; but bottom-level files that no upper file overlaps are not
  // rewritten at all (crash_test found expired entries left in them). So
  // the files that survive the first pass unrewritten are compacted again,
  // each on its own key range. The memtable is flushed first, or the levels
  // would be counted without the file CompactRange flushes it into: on a
  // night with new entries in memory and the index in one level, the index
  // was rewritten twice (purge_bench: 1.29 % of live data instead of 0.65 %).
  EBB_RETURN_IF_ERROR(
      ToAbslStatus(db_->Flush(rocksdb::FlushOptions(), cf),
                   absl::StrCat("purge: flush ", cf->GetName())));
  rocksdb::ColumnFamilyMetaData before;
  db_->GetColumnFamilyMetaData(cf, &before);
  std::set<std::string> old_files;
  int levels_with_files = 0;
  for (const rocksdb::LevelMetaData& level : before.levels) {
    if (!level.files.empty()) ++levels_with_files;
    for (const rocksdb::SstFileMetaData& file : level.files) {
      old_files.insert(file.name);
    }
  }
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      levels_with_files > 1 ? rocksdb::BottommostLevelCompaction::kSkip
                            : rocksdb::BottommostLevelCompaction::kForce;
  compact.exclusive_manual_compaction = false;
  EBB_RETURN_IF_ERROR(
      ToAbslStatus(db_->CompactRange(compact, cf, nullptr, nullptr),
                   absl::StrCat("purge: compact ", cf->GetName())));
  if (levels_with_files <= 1) return absl::OkStatus();
  rocksdb::ColumnFamilyMetaData after;
  db_->GetColumnFamilyMetaData(cf, &after);
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  for (const rocksdb::LevelMetaData& level : after.levels) {
    for (const rocksdb::SstFileMetaData& file : level.files) {
      if (old_files.count(file.name) == 0) continue;
      const rocksdb::Slice begin(file.smallestkey), end(file.largestkey);
      EBB_RETURN_IF_ERROR(
          ToAbslStatus(db_->CompactRange(compact, cf, &begin, &end),
                       absl::StrCat("purge: compact ", cf->GetName())));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PurgeReport> Store::Impl::Purge(const PurgeOptions& options) {
  EBB_RETURN_IF_ERROR(CheckOpen("purge"));
  if (options.rate_limit_bytes_per_second < 0) {
    return absl::InvalidArgumentError(
        "purge: the rate limit must not be negative");
  }
  if (options.max_duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "purge: the maximum duration must be positive");
  }
  absl::MutexLock one_at_a_time(&purge_mu_);
  const absl::Time started = absl::Now();  // wall time, for the duration only
  const absl::Time deadline = options.max_duration == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : started + options.max_duration;
  // Helper threads report too (the index compaction, the unlinks): one
  // line at a time, so the caller's callback need not be thread-safe.
  absl::Mutex progress_mu;
  auto progress = [&](const std::string& line) {
    absl::MutexLock one_line_at_a_time(&progress_mu);
    if (options.progress) options.progress(line);
  };
  PurgeReport report;
  report.dry_run = options.dry_run;
  report.sst_bytes_before = LiveSstBytes(db_.get(), handles_);

  // Expiry (audited) of what had expired by `as_of` (or by now), added to
  // the report, then the whole worklist.
  auto expire =
      [&](absl::Time as_of) -> absl::StatusOr<std::vector<PurgeRange>> {
    progress(as_of == absl::InfiniteFuture()
                 ? std::string("expiring")
                 : absl::StrCat("expiring what had expired by ",
                                absl::FormatTime(as_of, absl::UTCTimeZone())));
    EBB_ASSIGN_OR_RETURN(ExpiryReport expired,
                         ExpireDue(options.dry_run, as_of));
    progress(absl::StrFormat(
        "expired %d messages: %d (day, tenant) ranges counted from file "
        "statistics, %d read",
        expired.messages, expired.ranges_counted_from_files,
        expired.ranges_read));
    store_internal::AddExpiry(std::move(expired), &report.expiry);
    report.now = report.expiry.now;
    EBB_ASSIGN_OR_RETURN(std::vector<PurgeRange> ranges, ReadWorklist());
    return Coalesce(std::move(ranges));
  };
  if (options.dry_run) {
    EBB_ASSIGN_OR_RETURN(const std::vector<PurgeRange> ranges,
                         expire(absl::InfiniteFuture()));
    report.ranges_pending = ranges.size();
    report.sst_bytes_after = report.sst_bytes_before;
    report.duration = absl::Now() - started;
    return report;
  }

  using Family = CompactionBytesListener::Family;
  const uint64_t messages_before = compaction_bytes_->manual(Family::kMessages);
  const uint64_t index_before = compaction_bytes_->manual(Family::kIndex);
  const uint64_t metadata_before = compaction_bytes_->manual(Family::kMetadata);
  const uint64_t background_before = compaction_bytes_->background();
  if (options.rate_limit_bytes_per_second > 0) {
    rate_limiter_->SetBytesPerSecond(options.rate_limit_bytes_per_second);
  }
  // Compactions that started before ExpireDue advanced the watermarks
  // carry filters that keep what has just expired, and may install their
  // output into a range after it was compacted here: verify found 61 724
  // expired records left that way when the purge did not wait for them. So
  // automatic compactions of the filtered column families are held off for
  // the whole purge (flushes go on, so writers do not stall), and the purge
  // waits for the running ones to finish before ExpireDue, which then has
  // the cores to itself. Nothing but the purge then compacts those column
  // families, so no compaction can move newer data into a range between the
  // check and the drop below either.
  const absl::Status held = HoldOffCompactions();
  if (!held.ok()) {
    rate_limiter_->SetBytesPerSecond(store_internal::kUnlimitedBytesPerSecond);
    return held;
  }
  std::vector<PurgeRange> ranges;
  bool flushed = false;  // every memtable, after the run's last deletion
  absl::Status status = [&]() -> absl::Status {
    // No flush first: the files dropped below are never level 0, and
    // CompactRange flushes a memtable that overlaps its range by itself. The
    // flush after the last deletion makes the WAL files that held purged
    // data obsolete.

    const absl::Time wait_started = absl::Now();
    EBB_RETURN_IF_ERROR(WaitForRunningCompactions(deadline));
    report.waited_for_compactions = absl::Now() - wait_started;
    if (report.waited_for_compactions > absl::Milliseconds(100)) {
      progress(absl::StrFormat(
          "waited %.3f s for running compactions",
          absl::ToDoubleSeconds(report.waited_for_compactions)));
    }
    // The small index is compacted whole (so expired and erased index
    // entries, which name users, go), beside everything else from here on.
    // It needs nothing from ExpireDue: the index's filter drops entries by
    // the retention rule at the store's clock, not by the audited
    // watermarks ExpireDue advances. Started after it, it was the longest
    // step of a backlog purge (purge_bench: 0.4 s after 0.2 s of expiry).
    // If this returns early, the future's destructor waits for it.
    progress("compacting the index");
    std::future<absl::Status> index_compacted =
        std::async(std::launch::async, [this, &progress] {
          absl::Status compacted = CompactWhole(index_cf());
          if (compacted.ok()) progress("compacted the index");
          return compacted;
        });
    // Expiry in two steps, each audited before it becomes physical. First
    // what had expired by the start of the current expiry day: whole days,
    // counted from file statistics, so it is quick, and the files of those
    // days are dropped and their unlinks begin. Then the rest, up to now:
    // the expired part of the current day, whose records must be read to be
    // counted, while the unlinks go on. (purge_bench's backlog: the unlinks
    // of its 2 881 files take 0.3 s and had waited for 0.2 s of expiry; the
    // first step takes 0.11-0.15 s.) On a night with nothing but the current
    // day due, the first step finds nothing.
    const int64_t day_start_micros = absl::ToInt64Microseconds(day_start_);
    const absl::Time today_began =
        absl::FromUnixMicros(internal::DayStartMicros(
            internal::DayOfMicros(absl::ToUnixMicros(state_->Observe().now),
                                  day_start_micros),
            day_start_micros));
    EBB_ASSIGN_OR_RETURN(ranges, expire(today_began));
    if (absl::Now() >= deadline) {
      report.complete = false;
      report.ranges_pending = ranges.size();
      return absl::OkStatus();
    }

    // Whole files first: dropping them rewrites nothing.
    auto drop = [&](rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
      std::vector<const PurgeRange*> mine;
      for (const PurgeRange& r : ranges) {
        if (r.cf == cf->GetID() && !r.end.empty() && r.droppable) {
          mine.push_back(&r);
        }
      }
      if (mine.empty()) return absl::OkStatus();
      return DropWholeFiles(cf, mine, progress, &report);
    };
    for (rocksdb::ColumnFamilyHandle* cf : handles_) {
      if (cf != messages_cf()) EBB_RETURN_IF_ERROR(drop(cf));
    }
    // Deleting the dropped files from disk need not hold up the day
    // compactions: it is an unlink per file, and on a file system mounted
    // with discard a wait for the device per file (about 0.2 ms each, 0.2 s
    // for 1077 files in purge_bench, in series before the compactions). So
    // file deletions are paused across the drop and resumed on a thread of
    // their own, which deletes the files while the days compact. The purge
    // waits for it before it returns: the files are then gone.
    EBB_RETURN_IF_ERROR(ToAbslStatus(db_->DisableFileDeletions(),
                                     "purge: pause file deletions"));
    const absl::Status dropped = drop(messages_cf());
    std::future<absl::Status> dropped_files_deleted =
        std::async(std::launch::async, [this]() -> absl::Status {
          // RocksDB unlinks the files one by one in this thread; the store's
          // file system has them unlinked on eight (2 881 files: 0.42 s on
          // one thread, 0.27-0.35 s on eight, bench/README.md).
          file_system_->BeginParallelDeletes();
          const absl::Status resumed =
              ToAbslStatus(db_->EnableFileDeletions(/*force=*/false),
                           "purge: delete dropped files");
          const absl::Status deleted = file_system_->EndParallelDeletes();
          EBB_RETURN_IF_ERROR(resumed);
          return deleted;
        });
    EBB_RETURN_IF_ERROR(dropped);
    EBB_ASSIGN_OR_RETURN(ranges, expire(absl::InfiniteFuture()));
    EBB_RETURN_IF_ERROR(drop(messages_cf()));

    // Then compact what is left of the deleted ranges, bottommost forced:
    // kForce, not kForceOptimized, which silently skips files in RocksDB 7.8
    // (shared/notes/rocksdb-purge-facts.md). Message files are cut at every
    // expiry day, and between tenants once big enough, so a day's ranges are
    // compacted together (compacting each range alone would rewrite a file
    // they share again and again) except across a file that lies wholly
    // between two of them: that file holds nothing deleted, and a span
    // over it would rewrite it for nothing. Index ranges are left to the
    // whole-index compaction below.
    const std::vector<FileKeys> files_left =
        FilesOfLevelsOneAndUp(db_.get(), messages_cf());
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForce;
    compact.exclusive_manual_compaction = false;
    struct Span {
      std::string begin, end;
      std::vector<const PurgeRange*> ranges;
    };
    std::vector<Span> spans;
    std::vector<const PurgeRange*> index_ranges;
    std::vector<const PurgeRange*> empty_ranges;
    for (const PurgeRange& r : ranges) {
      if (r.cf != messages_cf()->GetID()) {
        index_ranges.push_back(&r);
        continue;
      }
      if (r.work == 'E') {  // nothing to compact: done once files are dropped
        empty_ranges.push_back(&r);
        continue;
      }
      const absl::string_view day = absl::string_view(r.begin).substr(0, 4);
      if (!spans.empty() && absl::StartsWith(spans.back().begin, day) &&
          day.size() == 4 &&
          (spans.back().end.empty() ||
           !AnyFileWhollyInside(files_left, spans.back().end, r.begin))) {
        Span& span = spans.back();
        if (r.end.empty() || (!span.end.empty() && r.end > span.end)) {
          span.end = r.end;
        }
        span.ranges.push_back(&r);
      } else {
        spans.push_back({r.begin, r.end, {&r}});
      }
    }
    // The worklist entries of the ranges done, deleted in one synced write
    // after the compactions (the index's too) rather than one per day (84 on
    // a backlog): an entry deleted late only makes a killed run compact its
    // range again.
    rocksdb::WriteBatch done_batch;
    size_t done_ranges = 0;
    auto mark_done = [&](const PurgeRange* r) {
      for (const std::string& key : r->keys)
        done_batch.Delete(deletable_cf(), key);
      ++done_ranges;
    };
    for (const PurgeRange* r : empty_ranges) mark_done(r);
    // Two spans at a time (the purge lent compactions a second slot): spans
    // are disjoint key ranges, so RocksDB runs both compactions, and the
    // partly expired days, which are most of the rewrite, need not take
    // turns on one core. Only the last span can be open at the end (ranges
    // after an open one are coalesced into it); it overlaps every later day,
    // so it goes alone, after the others.
    const size_t bounded = !spans.empty() && spans.back().end.empty()
                               ? spans.size() - 1
                               : spans.size();
    std::vector<char> compacted(spans.size(), 0);  // by span
    std::atomic<size_t> next_span{0};
    std::atomic<bool> out_of_time{false};
    auto compact_span = [&](size_t i) -> absl::Status {
      if (absl::Now() >= deadline) {
        out_of_time = true;
        return absl::OkStatus();
      }
      const rocksdb::Slice begin(spans[i].begin), end(spans[i].end);
      EBB_RETURN_IF_ERROR(
          ToAbslStatus(db_->CompactRange(compact, messages_cf(), &begin,
                                         spans[i].end.empty() ? nullptr : &end),
                       "purge: compact"));
      compacted[i] = 1;
      return absl::OkStatus();
    };
    auto compact_spans = [&]() -> absl::Status {
      for (size_t i = next_span.fetch_add(1); i < bounded && !out_of_time;
           i = next_span.fetch_add(1)) {
        EBB_RETURN_IF_ERROR(compact_span(i));
      }
      return absl::OkStatus();
    };
    {
      std::future<absl::Status> second =
          std::async(std::launch::async, compact_spans);
      const absl::Status first = compact_spans();
      const absl::Status other = second.get();
      EBB_RETURN_IF_ERROR(first);
      EBB_RETURN_IF_ERROR(other);
    }
    if (bounded < spans.size() && !out_of_time) {
      EBB_RETURN_IF_ERROR(compact_span(bounded));
    }
    if (out_of_time) report.complete = false;
    size_t spans_done = 0;
    for (size_t i = 0; i < spans.size(); ++i) {
      if (!compacted[i]) continue;
      ++spans_done;
      for (const PurgeRange* r : spans[i].ranges) mark_done(r);
    }
    progress(absl::StrFormat("compacted %d of %d spans of expiry days",
                             spans_done, spans.size()));
    EBB_RETURN_IF_ERROR(index_compacted.get());
    // The worklist and the metadata need not wait for the dropped files'
    // unlinks, which are most of a backlog purge on this kind of disk: the
    // dropped files are no longer the database's, so a run killed before
    // they are all gone leaves them to RocksDB's obsolete-file scan (at the
    // next open, or the end of the next purge), not to the worklist.
    for (const PurgeRange* r : index_ranges) mark_done(r);
    if (done_ranges > 0) {
      GuardDeletable(&done_batch);
      EBB_RETURN_IF_ERROR(ToAbslStatus(db_->Write(SyncWrite(), &done_batch),
                                       "purge: worklist"));
      report.ranges_compacted += done_ranges;
    }

    // The metadata that gets deleted is small too, and in a column family
    // of its own: compacting it whole drops deleted holds, restrictions,
    // pending erasures, requests and worklist entries, which name users.
    // The rest of the metadata (the audit ledger, which only grows) is
    // left alone.
    if (report.complete) {
      progress("compacting the metadata");
      EBB_RETURN_IF_ERROR(CompactWhole(deletable_cf()));
    }
    report.ranges_pending = ranges.size() - report.ranges_compacted;
    // Every logical deletion of this run is written by now: flushing every
    // memtable makes the WAL files that held purged data obsolete (file
    // deletions are on again), while the unlinks go on. After them, in
    // purge_bench's backlog, it was 10-25 ms of the purge's tail, its
    // MANIFEST writes queued behind those of the compactions just resumed.
    EBB_RETURN_IF_ERROR(ToAbslStatus(
        db_->Flush(rocksdb::FlushOptions(), handles_), "purge: flush"));
    flushed = true;
    EBB_RETURN_IF_ERROR(dropped_files_deleted.get());
    progress("deleted the dropped files");
    return absl::OkStatus();
  }();
  if (status.ok()) status = RecordPurgeRun(flushed, &report);
  // Compactions resume last: resumed before the run's record, they competed
  // with its write and the flush for the MANIFEST.
  rate_limiter_->SetBytesPerSecond(store_internal::kUnlimitedBytesPerSecond);
  const absl::Status resumed = ResumeCompactions();
  EBB_RETURN_IF_ERROR(status);
  EBB_RETURN_IF_ERROR(resumed);
  report.bytes_rewritten_messages =
      compaction_bytes_->manual(Family::kMessages) - messages_before;
  report.bytes_rewritten_index =
      compaction_bytes_->manual(Family::kIndex) - index_before;
  report.bytes_rewritten_metadata =
      compaction_bytes_->manual(Family::kMetadata) - metadata_before;
  report.bytes_rewritten = report.bytes_rewritten_messages +
                           report.bytes_rewritten_index +
                           report.bytes_rewritten_metadata;
  report.background_bytes_written =
      compaction_bytes_->background() - background_before;
  report.sst_bytes_after = LiveSstBytes(db_.get(), handles_);
  report.duration = absl::Now() - started;
  progress("done");
  return report;
}

absl::Status Store::Impl::RecordPurgeRun(bool flushed, PurgeReport* report) {
  // The run's own record, then (unless the run flushed after its last
  // deletion) a last flush so no WAL file keeps purged data.
  PurgeReport& r = *report;
  v1::AuditRecord record = NewAuditRecord(v1::AUDIT_PURGE_RUN, "", r.now);
  record.mutable_counts()->set_messages(r.expiry.messages);
  record.mutable_counts()->set_bytes(r.expiry.bytes);
  record.mutable_held_back()->set_messages(r.expiry.held_back);
  record.set_note(absl::StrFormat(
      "%s; %d ranges compacted, %d pending; %d files dropped (%d bytes)",
      r.complete ? "complete" : "stopped at max_duration", r.ranges_compacted,
      r.ranges_pending, r.files_dropped, r.bytes_dropped));
  std::vector<v1::AuditRecord> records = {std::move(record)};
  rocksdb::WriteBatch batch;
  EBB_RETURN_IF_ERROR(WriteAudited(&batch, &records, "purge: audit"));
  r.audit_last_seq = records.back().seq();
  r.audit_first_seq = r.audit_last_seq;
  for (const ExpiryGroup& g : r.expiry.groups) {
    if (g.audit_seq != 0) {
      r.audit_first_seq = std::min(r.audit_first_seq, g.audit_seq);
    }
  }
  if (!flushed) {
    EBB_RETURN_IF_ERROR(ToAbslStatus(
        db_->Flush(rocksdb::FlushOptions(), handles_), "purge: final flush"));
  }
  // Then a full scan of the directory for obsolete files. WAL files left by
  // a run that met a background error (file deletions were off; after a
  // reopen RocksDB no longer tracks them) go only this way, and they hold
  // messages as written: fault_injection_test's write sweep found one still
  // holding expired messages after a purge. force = false: a pause of
  // deletions that someone else holds (a checkpoint) stays in force.
  EBB_RETURN_IF_ERROR(ToAbslStatus(db_->DisableFileDeletions(),
                                   "purge: scan for obsolete files"));
  return ToAbslStatus(db_->EnableFileDeletions(/*force=*/false),
                      "purge: scan for obsolete files");
}

}  // namespace ebb
