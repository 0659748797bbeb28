// Copyright ebb authors.
//
// Store::Impl, shared by the .cc files that implement Store: store.cc (open,
// append, read, policies), store_erasure.cc (erasure, holds, restriction),
// store_export.cc (export, requests) and store_audit.cc (the audit ledger).
// Private to //lib:store.

#ifndef EBB_STORE_IMPL_H_
#define EBB_STORE_IMPL_H_

#include <array>
#include <atomic>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "ebb/v1/audit.pb.h"
#include "ebb/v1/message.pb.h"
#include "lib/ebb/internal/audit_chain.h"
#include "lib/ebb/internal/bucket_cache.h"
#include "lib/ebb/internal/compaction_filter.h"
#include "lib/ebb/internal/expiry.h"
#include "lib/ebb/internal/expiry_file_stats.h"
#include "lib/ebb/internal/index_write_cache.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/parallel_delete_fs.h"
#include "lib/ebb/internal/policy_snapshot.h"
#include "lib/ebb/internal/protections.h"
#include "lib/ebb/internal/record_codec.h"
#include "lib/ebb/internal/retention_state.h"
#include "lib/ebb/internal/rocksdb_status.h"
#include "lib/ebb/store.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/rate_limiter.h"
#include "rocksdb/write_batch.h"

namespace ebb {

using internal::CategoryCutoffs;
using internal::EffectiveRule;
using internal::ExpiryBucket;
using internal::PolicySnapshot;
using internal::RecordHeader;
using internal::RetentionState;
using internal::TenantNumber;
using internal::ToAbslStatus;

namespace store_internal {

inline absl::string_view View(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

inline bool StartsWith(const rocksdb::Slice& s, absl::string_view prefix) {
  return s.size() >= prefix.size() &&
         memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// One entry of the purge worklist, decoded (store_purge.cc).
struct PurgeRange;
// A range for the purge worklist, not written yet
// (Store::Impl::NoteJoinedPurgeRanges).
struct PendingPurgeRange {
  std::string begin, end;  // end never empty
  // Compact it (PurgeWork::kCompact); false: it held nothing when noted
  // (PurgeWork::kEmpty).
  bool compact = true;
  // The DB's sequence number when its deletion was decided.
  uint64_t deleted_after_seq = 0;
};

// Adds what one ExpireDue did to what earlier ones did (the purge's two
// expiry steps): counts, groups, and the later `now` (store_expiry.cc).
void AddExpiry(ExpiryReport from, ExpiryReport* to);

// The rate limiter's setting outside a purge: far above any disk.
inline constexpr int64_t kUnlimitedBytesPerSecond = int64_t{1} << 40;
// RocksDB's background jobs: one flush and one compaction at a time on this
// 2-core kind of machine (the purge lends compactions one more slot).
inline constexpr int kBackgroundJobs = 2;

// Metadata keys of the default column family.
inline constexpr char kStoreSecretKey[] = "secret";
// Metadata that gets deleted lives in the "deletable" column family instead:
// holds, restrictions, pending erasures, requests and the purge worklist
// (kDeletablePrefixes). Once deleted, their old values and tombstones name
// users until a compaction reaches the bottom level, so the purge compacts
// that column family whole every night; kept in "default", beside the audit
// ledger, which only grows, they made it rewrite the ledger every night.
inline constexpr char kDeletableCf[] = "deletable";
// erased/ + tenant u32 + scope byte + pseudonym -> cutoff µs (i64 BE)
inline constexpr char kErasedPrefix[] = "erased/";
// pending/ + tenant u32 + scope byte + raw id -> v1::PendingErasure
inline constexpr char kPendingPrefix[] = "pending/";
// hold/ + tenant u32 + scope byte + raw id -> v1::Hold
inline constexpr char kHoldPrefix[] = "hold/";
// restrict/ + tenant u32 + scope byte (SCOPE_USER) + raw user ->
// v1::Restriction
inline constexpr char kRestrictPrefix[] = "restrict/";
// request/ + tenant + \0 + request id -> v1::Request
inline constexpr char kRequestPrefix[] = "request/";
// expired/ + tenant u32 -> the tenant's "expired through" watermarks, one i64
// BE (µs) per category slot (policy_snapshot.h)
inline constexpr char kExpiredThroughPrefix[] = "expired/";
// purge/ + id u64 BE -> [column family id u32][begin size u32][begin][end]:
// a range deleted since the last purge, to be compacted away by the next.
inline constexpr char kPurgePrefix[] = "purge/";
// The prefixes of the "deletable" column family (stores written before it
// existed kept them in "default"; Open moves them).
inline constexpr const char* kDeletablePrefixes[] = {
    kHoldPrefix, kPendingPrefix, kPurgePrefix, kRequestPrefix, kRestrictPrefix};

// prefix + tenant number (u32 BE): the keys of one tenant's metadata.
std::string TenantKeyPrefix(absl::string_view prefix, TenantNumber tenant);
// A time in µs since the epoch as a metadata value (i64 BE), and back
// (nullopt unless exactly 8 bytes).
std::string EncodeMicros(int64_t micros);
std::optional<int64_t> DecodeMicros(absl::string_view value);

// prefix + tenant number + scope byte + id.
std::string ScopedKey(absl::string_view prefix, TenantNumber tenant,
                      v1::Scope scope, absl::string_view id);
std::string RequestKey(absl::string_view tenant, absl::string_view request_id);
// Metadata changes are rare and must survive a power cut once acknowledged.
rocksdb::WriteOptions SyncWrite();
// A new audit record stamped with `now`.
v1::AuditRecord NewAuditRecord(v1::AuditAction action, absl::string_view tenant,
                               absl::Time now);

}  // namespace store_internal

// Counts the bytes compactions write, so a purge can report what it rewrote:
// its own (manual) compactions apart from the background ones RocksDB runs
// meanwhile to keep its levels in shape.
// What a store does after RocksDB reports a background I/O error (a full
// disk, a failed flush, compaction or MANIFEST write); see Store::Open.
// - No automatic resume: the store stays read-only until reopened.
// - No more file deletions until reopened. RocksDB 7.8.3 can mistake a new
//   MANIFEST it failed to write for the current one, and then delete the
//   MANIFEST that CURRENT names as obsolete, leaving a store that cannot be
//   opened (fixed upstream in RocksDB 9.5, facebook/rocksdb#12865; found here
//   by tests/fault_injection_test.cc). With deletions off the good MANIFEST
//   stays; the next Open cleans up what is left over.
class BackgroundErrorGuard : public rocksdb::EventListener {
 public:
  // The DB to guard, once it is open.
  void Attach(rocksdb::DB* db) { db_.store(db, std::memory_order_release); }

  void OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/,
                         rocksdb::Status* bg_error) override {
    if (bg_error == nullptr || bg_error->ok()) return;
    rocksdb::DB* db = db_.load(std::memory_order_acquire);
    if (db != nullptr && !deletions_disabled_.exchange(true)) {
      // Called without the DB mutex held; the call takes it briefly.
      db->DisableFileDeletions().PermitUncheckedError();
    }
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/,
                            rocksdb::Status /*bg_error*/,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }

 private:
  std::atomic<rocksdb::DB*> db_{nullptr};
  std::atomic<bool> deletions_disabled_{false};
};

// Bytes written by compactions: manual ones (the purge's), per column
// family, and background ones.
class CompactionBytesListener : public rocksdb::EventListener {
 public:
  enum Family { kMetadata, kMessages, kIndex, kFamilies };

  void OnCompactionCompleted(rocksdb::DB* /*db*/,
                             const rocksdb::CompactionJobInfo& info) override {
    if (info.compaction_reason !=
        rocksdb::CompactionReason::kManualCompaction) {
      background_.fetch_add(info.stats.total_output_bytes,
                            std::memory_order_relaxed);
      return;
    }
    const Family family = info.cf_name == "messages" ? kMessages
                          : info.cf_name == "index"  ? kIndex
                                                     : kMetadata;
    manual_[family].fetch_add(info.stats.total_output_bytes,
                              std::memory_order_relaxed);
  }
  uint64_t manual(Family family) const {
    return manual_[family].load(std::memory_order_relaxed);
  }
  uint64_t background() const {
    return background_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> manual_[kFamilies] = {};
  std::atomic<uint64_t> background_{0};
};

using store_internal::NewAuditRecord;
using store_internal::StartsWith;
using store_internal::SyncWrite;
using store_internal::View;

class Store::Impl {
 public:
  Impl(const Options& options, std::unique_ptr<rocksdb::DB> db,
       std::vector<rocksdb::ColumnFamilyHandle*> handles,
       std::shared_ptr<RetentionState> state,
       std::shared_ptr<internal::FilterCounters> message_counters,
       std::shared_ptr<internal::FilterCounters> index_counters)
      : options_(options),
        db_(std::move(db)),
        handles_(std::move(handles)),
        state_(std::move(state)),
        message_counters_(std::move(message_counters)),
        index_counters_(std::move(index_counters)) {
    write_options_.sync = options_.sync_writes;
  }

  ~Impl() { Close().IgnoreError(); }

  absl::Status Close() {
    if (db_ == nullptr) return absl::OkStatus();
    // Debian's RocksDB keeps assertions on: every handle must go before the DB.
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    handles_.clear();
    absl::Status status = ToAbslStatus(db_->Close(), "close");
    db_.reset();
    return status;
  }

  absl::Status CheckOpen(absl::string_view operation) const {
    if (db_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(operation, ": the store is closed"));
    }
    return absl::OkStatus();
  }

  rocksdb::ColumnFamilyHandle* meta_cf() const { return handles_[0]; }
  rocksdb::ColumnFamilyHandle* messages_cf() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* index_cf() const { return handles_[2]; }
  // Holds, restrictions, pending erasures, requests, the purge worklist.
  rocksdb::ColumnFamilyHandle* deletable_cf() const { return handles_[3]; }
  // Adds to `batch` the two guard keys of the deletable column family, which
  // sort before and after all its records. RocksDB keeps the first and last
  // key of every file it ever wrote in its MANIFEST until the MANIFEST is
  // rewritten (on open, or past 1 GB), even after the file is compacted
  // away. In a column family this small a flushed file can hold one hold or
  // one tombstone, whose key names a user: with the guards written by every
  // write that touches it, every file it flushes or compacts starts and ends
  // with a guard instead.
  void GuardDeletable(rocksdb::WriteBatch* batch) const {
    Guard(deletable_cf(), batch);
  }
  static void Guard(rocksdb::ColumnFamilyHandle* cf,
                    rocksdb::WriteBatch* batch) {
    batch->Put(cf, rocksdb::Slice("\0guard", 6), "");
    batch->Put(cf, "\xffguard", "");
  }

  absl::Status AppendBatch(absl::Span<const v1::Message> messages, bool single);
  absl::StatusOr<std::vector<v1::Message>> ReadConversation(
      absl::string_view tenant, absl::string_view conversation);
  absl::StatusOr<std::vector<std::string>> ReadConversationSerialized(
      absl::string_view tenant, absl::string_view conversation);
  absl::StatusOr<std::vector<ConversationInfo>> ListConversations(
      absl::string_view tenant, absl::string_view user);
  absl::StatusOr<TenantPolicy> SetPolicy(absl::string_view tenant,
                                         v1::DataCategory category,
                                         absl::Duration ttl);
  absl::StatusOr<std::vector<TenantPolicy>> PolicyHistory(
      absl::string_view tenant);
  absl::StatusOr<StoreStats> Stats();
  absl::Status CompactAll();
  absl::Status ReconcileDefaultPolicy();

  const std::shared_ptr<RetentionState>& state() const { return state_; }

  // Erasure, holds, restriction (store_erasure.cc).
  absl::StatusOr<EraseResult> Erase(v1::Scope scope, absl::string_view tenant,
                                    absl::string_view id,
                                    const EraseOptions& options);
  absl::Status SetHold(absl::string_view tenant, v1::Scope scope,
                       absl::string_view id, absl::string_view reason,
                       absl::string_view set_by);
  absl::StatusOr<std::vector<EraseResult>> ClearHold(
      absl::string_view tenant, v1::Scope scope, absl::string_view id,
      absl::string_view cleared_by, absl::string_view reason);
  absl::StatusOr<std::vector<v1::Hold>> ListHolds(absl::string_view tenant);
  absl::Status SetRestriction(absl::string_view tenant, absl::string_view user,
                              bool restricted);
  // Loads holds, restrictions and pending erasures at Open.
  absl::Status LoadProtections();

  // Export and requests (store_export.cc).
  absl::StatusOr<ExportSummary> Export(
      absl::string_view tenant, absl::string_view user,
      const ExportOptions& options,
      absl::FunctionRef<absl::Status(absl::string_view line)> sink);
  absl::StatusOr<v1::Request> OpenRequest(absl::string_view tenant,
                                          absl::string_view request_id,
                                          v1::RequestKind kind,
                                          absl::string_view user,
                                          absl::Time received_at);
  absl::StatusOr<v1::Request> ExtendRequest(absl::string_view tenant,
                                            absl::string_view request_id,
                                            absl::Duration by,
                                            absl::string_view reason);
  absl::StatusOr<std::vector<v1::Request>> ListRequests(bool overdue_only);

  // Deletes [begin, end) of `cf` in `batch` and records the range in the
  // purge worklist (same batch), so the next Purge compacts exactly it.
  // Internal error, and nothing added, if `begin` is a complete key of the
  // messages or index column family (insert_hint.h).
  absl::Status DeleteRangeForPurge(rocksdb::WriteBatch* batch,
                                   rocksdb::ColumnFamilyHandle* cf,
                                   absl::string_view begin,
                                   absl::string_view end);
  // What a worklist range asks of the purge.
  enum class PurgeWork : char {
    // Compact it: it holds deleted or expired-and-audited records. (Whole
    // files inside it that predate the note may be dropped.)
    kCompact = 'C',
    // It held nothing when noted: only whole files inside it that predate
    // the note may be dropped (it lets neighbouring ranges join up).
    kEmpty = 'E',
    // Compact it, but never drop a file in it: records that stay (not yet
    // expired, or appended after an erasure's cutoff) sit between the
    // deleted ones.
    kCompactOnly = 'P',
  };
  // Records [begin, end) in the worklist only.
  void NotePurgeRange(rocksdb::WriteBatch* batch,
                      rocksdb::ColumnFamilyHandle* cf, absl::string_view begin,
                      absl::string_view end,
                      PurgeWork work = PurgeWork::kCompact);
  // Records `ranges` in the worklist, ranges that touch or overlap joined
  // into one entry as the purge would join them: a backlog's expiry notes a
  // range per day and tenant (17 091 in purge_bench), which the purge joins
  // into 454. Written and then deleted one by one, they took 80 ms of CPU
  // time in RocksDB's writes (perf), against 18 ms joined.
  void NoteJoinedPurgeRanges(
      rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf,
      std::vector<store_internal::PendingPurgeRange> ranges);

  // The key ranges of `cf` in the purge worklist: deleted, or expired and
  // audited, and not compacted yet. `end` empty: up to the end.
  struct KeyRange {
    std::string begin, end;
  };
  absl::StatusOr<std::vector<KeyRange>> WorklistRanges(
      rocksdb::ColumnFamilyHandle* cf);

  // The expiry buckets that hold any message, ascending: one seek each.
  absl::StatusOr<std::vector<ExpiryBucket>> PresentBuckets() const;

  // Set once by Open, before the store is used.
  void AttachPurgeHelpers(std::shared_ptr<CompactionBytesListener> listener,
                          std::shared_ptr<rocksdb::RateLimiter> limiter) {
    compaction_bytes_ = std::move(listener);
    rate_limiter_ = std::move(limiter);
  }

  // Set once by Open, right after the database is opened on them.
  void AttachFileSystem(
      std::shared_ptr<internal::ParallelDeleteFileSystem> file_system,
      std::unique_ptr<rocksdb::Env> env) {
    file_system_ = std::move(file_system);
    env_ = std::move(env);
  }
  // Set once by Open, before anything is written.
  void SetDayStart(absl::Duration day_start) { day_start_ = day_start; }

  // The proof on disk (store_verify.cc).
  absl::StatusOr<VerifyReport> Verify();

  // The purge (store_purge.cc).
  absl::StatusOr<PurgeReport> Purge(const PurgeOptions& options);
  // Loads next_purge_id_ at Open.
  absl::Status LoadPurgeWorklist();

  // Expiry with its audit records (store_expiry.cc).
  // With dry_run, counts what a real run would delete and writes nothing.
  // With `as_of` before the clock, carries out only what had expired by
  // then, as a run at that time would have (the purge's first step).
  absl::StatusOr<ExpiryReport> ExpireDue(
      bool dry_run = false, absl::Time as_of = absl::InfiniteFuture());
  void SetAfterExpiryScanForTesting(std::function<void()> hook) {
    after_expiry_scan_for_testing_ = std::move(hook);
  }
  // The buckets of `buckets` whose messages of tenant `number` can be
  // counted from file statistics and are all newly expired (created in
  // [through, cutoffs) of their category), with their counts; and in
  // `*unexpired`, those whose statistics show nothing expired at all.
  // Leaves out any bucket with records in memtables, in `deleted`, or whose
  // files' statistics cannot say exactly (expiry_file_stats.h).
  absl::StatusOr<std::map<ExpiryBucket, std::vector<internal::ExpiryCounts>>>
  CountExpiredFromFiles(TenantNumber number,
                        const std::set<ExpiryBucket>& buckets,
                        const CategoryCutoffs& cutoffs,
                        const CategoryCutoffs& through,
                        absl::Span<const KeyRange> deleted,
                        internal::FileStatsCounter* counter,
                        std::set<ExpiryBucket>* unexpired);
  // Loads the "expired through" watermarks at Open.
  absl::Status LoadExpiredThrough();
  // After a hold is lifted: deletes and audits the messages of
  // `conversations` that expired while held (below the watermark) and that
  // no other hold covers.
  // `protections`: the tenant's protections once the hold is gone. Adds the
  // deletions to `batch` and the records to `records`; writes nothing.
  absl::Status ExpireReleased(absl::string_view tenant, TenantNumber number,
                              const std::vector<std::string>& conversations,
                              const internal::TenantProtections* protections,
                              absl::Time now, rocksdb::WriteBatch* batch,
                              std::vector<v1::AuditRecord>* records);

  // The audit ledger (store_audit.cc).
  // Loads the store secret and the ledger head at Open (creating the secret
  // in a new store).
  absl::Status LoadAudit();
  // Moves records of kDeletablePrefixes that a store written before the
  // "deletable" column family keeps in "default" there, and compacts their
  // old copies away (Open). `upgrade`: the column family was just created.
  absl::Status MoveDeletableMetadata(bool upgrade);
  // True if no column family holds any key (a store whose creation was cut
  // short before its format marker).
  absl::StatusOr<bool> HoldsNothing();
  // Seals `records` (in order) onto the chain, puts them and the new head into
  // `batch`, writes it synced, and fills in each record's seq. Serialised: the
  // chain has one writer at a time.
  absl::Status WriteAudited(rocksdb::WriteBatch* batch,
                            std::vector<v1::AuditRecord>* records,
                            absl::string_view operation);
  absl::StatusOr<AuditVerification> VerifyAudit();
  absl::Status ExportAudit(
      absl::FunctionRef<absl::Status(const v1::AuditRecord&)> sink);
  absl::StatusOr<std::vector<v1::AuditRecord>> FindAudit(
      absl::string_view tenant, v1::Scope scope, absl::string_view id);
  absl::StatusOr<uint64_t> TrimAudit();
  // The ledger pseudonym of a user or conversation id.
  std::string PseudonymOf(absl::string_view tenant, v1::Scope scope,
                          absl::string_view id) const;

 private:
  // Every entry of the purge worklist.
  absl::StatusOr<std::vector<store_internal::PurgeRange>> ReadWorklist();
  // Automatic compactions of the messages and index column families stop
  // starting (running ones go on; flushes go on) until ResumeCompactions.
  // For the purge and CompactAll: a compaction that started before
  // ExpireDue advanced the watermarks keeps what has just expired.
  absl::Status HoldOffCompactions();
  absl::Status ResumeCompactions();
  // The end of a purge: its AUDIT_PURGE_RUN record (and the audit sequence
  // range in `report`), a flush unless `flushed` (every memtable flushed after
  // the run's last deletion), and a scan of the directory for obsolete files.
  absl::Status RecordPurgeRun(bool flushed, PurgeReport* report);
  // Compacts the whole of `cf` (the index, or the deletable metadata) so that
  // every entry passes the filter once and deleted records go, rewriting
  // each file once where it can.
  absl::Status CompactWhole(rocksdb::ColumnFamilyHandle* cf);
  // Adds to `users` every user the tenant's user index lists `conversation`
  // under (a scan of the tenant's user index).
  absl::Status UsersFromIndex(TenantNumber tenant,
                              absl::string_view conversation,
                              absl::flat_hash_set<std::string>* users);
  // Returns once no compaction is running, or at `deadline`. (A real wait on
  // RocksDB's threads: it polls, as RocksDB 7.8 has no call for it.)
  absl::Status WaitForRunningCompactions(absl::Time deadline);
  // Drops the SST files of `cf` that lie wholly inside one of `ranges` and
  // hold nothing newer than its deletion. REQUIRES: no compaction of `cf`
  // runs or can start meanwhile.
  absl::Status DropWholeFiles(
      rocksdb::ColumnFamilyHandle* cf,
      const std::vector<const store_internal::PurgeRange*>& ranges,
      const std::function<void(const std::string&)>& progress,
      PurgeReport* report);

  // Refuses messages that an erasure covers (the resurrection guard).
  // REQUIRES: the messages' tenant stripes held (shared).
  absl::Status CheckNotErased(absl::Span<const v1::Message> messages,
                              const RetentionState::View& view,
                              absl::FunctionRef<std::string(size_t)> where);
  // Makes the conversations of held users that `messages` start known to the
  // holds, before they are written. REQUIRES: the messages' tenant stripes
  // held (shared).
  absl::StatusOr<RetentionState::View> ExtendUserHolds(
      absl::Span<const v1::Message> messages, RetentionState::View view);
  // Removes (or with batch == nullptr only counts) the conversation's messages
  // created at or before `cutoff_micros`, and its index entries where nothing
  // is left. Adds to *result.
  absl::Status EraseConversationData(TenantNumber tenant,
                                     absl::string_view conversation,
                                     int64_t cutoff_micros,
                                     rocksdb::WriteBatch* batch,
                                     EraseResult* result);
  // Removes (or counts) all of a tenant's messages and index entries with
  // range deletions. Only valid when nothing of the tenant is newer than the
  // erasure's cutoff (no pending erasure).
  absl::Status EraseTenantData(TenantNumber tenant, rocksdb::WriteBatch* batch,
                               EraseResult* result);
  // Adds to `batch` and `records` the tenant's pending erasures that no hold
  // in `next` covers, and removes what they hid from `next`. Writes nothing.
  absl::StatusOr<std::vector<EraseResult>> ReleasePendingErasures(
      absl::string_view tenant, TenantNumber number, absl::Time now,
      internal::Protections* next, rocksdb::WriteBatch* batch,
      std::vector<v1::AuditRecord>* records);
  // Deletes (into `batch`) the tenant's messages created at or before
  // `cutoff_micros` in every expiry day, and the index entries whose messages
  // all were; adds to *result. For a pending tenant erasure.
  absl::Status EraseTenantUpTo(TenantNumber tenant, int64_t cutoff_micros,
                               rocksdb::WriteBatch* batch, EraseResult* result);
  // Copies the protections, applies `change`, writes `batch` with `records`
  // sealed onto the audit chain (if batch is not null), then publishes: all
  // under the retention state's lock, so no reader or compaction sees the
  // change before it is durable, nor misses it after.
  absl::Status UpdateProtections(
      absl::FunctionRef<void(internal::Protections*)> change,
      rocksdb::WriteBatch* batch, std::vector<v1::AuditRecord>* records,
      absl::string_view operation);
  // Whether a hold covers the scope's data now.
  bool IsHeld(const internal::TenantProtections* protections, v1::Scope scope,
              absl::string_view id,
              const std::vector<std::string>& conversations) const;
  // The distinct conversations the user index lists for `user`.
  absl::StatusOr<std::vector<std::string>> ConversationsOfUser(
      TenantNumber tenant, absl::string_view user);
  // The request record for `request_id`, if stored.
  absl::StatusOr<std::optional<v1::Request>> GetRequest(
      absl::string_view tenant, absl::string_view request_id);
  // Adds to `batch` the request completed (or pending) by an erasure or
  // export, and returns the audit record of its receipt if it is new.
  absl::StatusOr<std::optional<v1::AuditRecord>> CompleteRequest(
      absl::string_view tenant, absl::string_view request_id,
      v1::RequestKind kind, v1::Scope scope, absl::string_view subject,
      absl::Time received_at, bool pending, absl::Time now,
      rocksdb::WriteBatch* batch);

  // Checks everything about `m` that does not depend on the policy, and sets
  // *created_at. Ids equal to those of `previous` (already checked; may be
  // null) are not checked again.
  absl::Status ValidateMessage(const v1::Message& m,
                               const v1::Message* previous,
                               absl::Time* created_at) const;
  // Registers tenants not yet in the snapshot; returns the view to use.
  absl::StatusOr<RetentionState::View> EnsureTenants(
      const std::vector<absl::string_view>& tenants);
  // What both ReadConversation forms share: checks the ids, finds the
  // conversation's buckets, and calls visit(seq, value, header, protections)
  // for each message no expiry hides, bucket by bucket, each bucket's in seq
  // order. `protections` is null unless the tenant has restricted users or
  // held erasures, which the caller must then apply (HidesMessage needs the
  // message's user). Returns how many buckets were read: messages from more
  // than one need merging by seq. Undecodable headers are counted in
  // *undecodable.
  template <typename Visit>
  absl::StatusOr<size_t> VisitConversation(absl::string_view tenant,
                                           absl::string_view conversation,
                                           absl::string_view operation,
                                           uint64_t* undecodable,
                                           Visit&& visit);
  void CountUndecodable(uint64_t n) {
    if (n > 0) {
      reads_skipped_undecodable_.fetch_add(n, std::memory_order_relaxed);
    }
  }
  // Calls fn(key, value, header) for each message of `conversation` in `bucket`
  // that has not expired under `cutoffs`: the one place reads apply the expiry
  // rule to messages. Messages whose header cannot be decoded are skipped and
  // counted in *undecodable.
  template <typename Fn>
  absl::Status ScanLiveMessages(TenantNumber tenant,
                                absl::string_view conversation,
                                ExpiryBucket bucket,
                                const CategoryCutoffs& cutoffs,
                                absl::string_view operation,
                                uint64_t* undecodable, Fn&& fn) const;
  // Scans [prefix, successor(prefix)) of `cf`, calling fn(key, value) per
  // entry.
  template <typename Fn>
  absl::Status ScanPrefix(rocksdb::ColumnFamilyHandle* cf,
                          absl::string_view prefix, absl::string_view operation,
                          Fn&& fn) const;

  const Options options_;
  // When the store's days begin (Options::day_start, key_codec.h), read from
  // the metadata at Open before anything is written.
  absl::Duration day_start_ = absl::ZeroDuration();
  // The database's file system, which deletes SST files on threads of its own
  // while the purge unlinks dropped files, and the Env over it. Declared
  // before db_: the database uses them until it is destroyed.
  std::shared_ptr<internal::ParallelDeleteFileSystem> file_system_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::shared_ptr<RetentionState> state_;
  std::shared_ptr<internal::FilterCounters> message_counters_;
  std::shared_ptr<internal::FilterCounters> index_counters_;
  std::atomic<uint64_t> reads_skipped_undecodable_{0};
  // About 100 bytes an entry: bounded at ~20 MiB.
  internal::IndexWriteCache index_cache_{200'000};
  // About 100 bytes a conversation: bounded at ~10 MiB.
  internal::BucketCache bucket_cache_{100'000};
  rocksdb::WriteOptions write_options_;

  // Per tenant (striped by a hash of the tenant id): appends hold their
  // tenants' stripes shared; erasures, holds, restrictions, requests and
  // ExpireDue hold their tenant's stripe exclusively. So an erasure sees
  // every append of its tenant either before it (and erases it) or after it
  // (and the guard checks it), and ExpireDue's watermark never passes an
  // append judged live at an earlier clock. ExpireDue takes each tenant's
  // stripe in turn as a barrier, then the due tenants' stripes shared (in
  // ascending address order, as appends take theirs) for its one write.
  static constexpr size_t kTenantStripes = 64;
  absl::Mutex& TenantMutex(absl::string_view tenant) {
    return tenant_mu_[absl::Hash<absl::string_view>{}(tenant) % kTenantStripes];
  }
  std::array<absl::Mutex, kTenantStripes> tenant_mu_;
  // Whether any erasure marker exists: appends skip the guard's lookups until
  // the first erasure.
  std::atomic<bool> any_erasure_{false};

  std::shared_ptr<CompactionBytesListener> compaction_bytes_;
  std::shared_ptr<rocksdb::RateLimiter> rate_limiter_;
  // One purge at a time.
  absl::Mutex purge_mu_;
  // One ExpireDue at a time (taken after purge_mu_ where both are): it scans
  // each tenant without the tenant's lock, so two runs could count the same
  // messages from the same watermark and both audit them.
  absl::Mutex expire_mu_;
  // Ids of purge worklist entries (purge/<id>), from the last stored + 1.
  std::atomic<uint64_t> next_purge_id_{1};
  // Tests only (StoreTestingHooks::SetAfterExpiryScan): called by ExpireDue
  // between its scan and its write, with no lock held. Set before use.
  std::function<void()> after_expiry_scan_for_testing_;

  std::string store_secret_;  // set once at Open
  absl::Mutex audit_mu_;
  internal::ChainPosition audit_head_ ABSL_GUARDED_BY(audit_mu_);
};

template <typename Fn>
absl::Status Store::Impl::ScanPrefix(rocksdb::ColumnFamilyHandle* cf,
                                     absl::string_view prefix,
                                     absl::string_view operation,
                                     Fn&& fn) const {
  const std::string upper = internal::PrefixSuccessor(prefix);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  if (!upper.empty()) read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, cf));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid();
       it->Next()) {
    if (!StartsWith(it->key(), prefix)) break;
    fn(View(it->key()), View(it->value()));
  }
  return ToAbslStatus(it->status(), operation);
}

template <typename Fn>
absl::Status Store::Impl::ScanLiveMessages(
    TenantNumber tenant, absl::string_view conversation, ExpiryBucket bucket,
    const CategoryCutoffs& cutoffs, absl::string_view operation,
    uint64_t* undecodable, Fn&& fn) const {
  return ScanPrefix(
      messages_cf(), internal::MessageKeyPrefix(bucket, tenant, conversation),
      operation, [&](absl::string_view key, absl::string_view value) {
        std::optional<RecordHeader> header =
            internal::DecodeRecordHeader(value);
        if (!header.has_value()) {
          ++*undecodable;
          return;
        }
        if (internal::IsExpired(cutoffs, *header)) return;
        fn(key, value, *header);
      });
}

}  // namespace ebb

#endif  // EBB_STORE_IMPL_H_
