// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: store.h
// -----------------------------------------------------------------------------
//
// A Store keeps chat transcripts in RocksDB for exactly as long as each
// tenant's retention policy allows. Backends append messages as they happen,
// read conversations back, and set each tenant's retention from its settings
// page.
//
// Retention semantics
// -------------------
// Every message has a tenant, a category (transcript, training example,
// diagnostic log) and a created_at. Each (tenant, category) has a TTL: the
// tenant's own, set with SetPolicy, or the operator's default
// (RetentionOptions::default_ttl, 30 days unless configured).
//
// - A message is expired at time `now` if, at some moment t <= now, its age
//   (t - created_at) exceeded the TTL in force for its tenant and category at
//   t. Age equal to the TTL is not yet expired; one microsecond more is.
// - Hence shortening a TTL expires older data at once, and lengthening a TTL
//   never brings back data that had already expired. ebb implements this with a
//   per-(tenant, category) "horizon": on each change at time T, horizon =
//   max(horizon, T - old TTL); a message is expired iff
//   created_at < max(horizon, now - current TTL). Policies and their history
//   are stored durably in the database.
// - No read (ReadConversation, ListConversations) ever returns an expired
//   message or the existence of a conversation whose messages have all expired,
//   whatever compaction or ExpireDue has or has not done yet. Reads, Stats and
//   ExpireDue call the same expiry function.
// - Append refuses a message that is already expired on arrival
//   (FailedPrecondition) and one whose created_at lies more than
//   RetentionOptions::max_clock_skew after now (InvalidArgument): a clock
//   running ahead must not extend retention.
// - Tenants without a policy get the default. Unknown tenants are not an error:
//   reading one returns nothing, GetPolicy returns the default.
// - A stored record whose expiry cannot be decoded (a corrupted header) is
//   never returned by a read and never dropped by compaction: it is kept and
//   counted
//   (StoreStats::messages_undecodable), so an operator can see it.
// - Time is the Options::clock's, never the process's own: tests and the CLI's
//   `--now` simulate months without sleeping. created_at is kept at microsecond
//   precision (finer digits are truncated on Append).
//
// Physical removal
// ----------------
// ExpireDue() carries expiry out: it deletes what has expired (range
// deletions) and writes one audit record per tenant, category and creation day
// in the same atomic write. The compaction filter then drops those records
// from the files as compactions pass over them; it never drops a message whose
// expiry has not been audited. CompactAll() runs ExpireDue and forces a full
// compaction. Messages are laid out by the day their retention runs out, so a
// night's purge can drop whole files: see docs/storage-layout.md.
//
// Erasure, holds and restriction
// ------------------------------
// EraseConversation / EraseUser / EraseTenant delete at once and atomically,
// and guard against replays. A legal hold keeps data past expiry and erasure
// (hidden from normal reads, available to Export with include_held). A
// restriction hides a user's data from normal reads but not from Export. Every
// such change, every policy change and every expiry is recorded in a
// tamper-evident audit ledger (VerifyAudit) that holds no message text and no
// raw user or conversation id.
//
// Durability
// ----------
// When a call that writes returns OK, what it did survives a crash of the
// process (its write-ahead-log record is written before it returns), and a
// crash in the middle of a call leaves all of its write or none of it.
// Policy changes, erasures, holds, restrictions, requests, expiry and the
// purge's worklist are also synced, so they survive a machine crash or power
// cut; appends are synced only with Options::sync_writes. tests/crash kills
// a process running a random mix of calls and checks exactly this against
// what it acknowledged; PowerCutTest (tests/fault_injection_test.cc) cuts
// every file to its synced length after each step of a workload and checks
// the machine-crash half.
//
// I/O errors
// ----------
// A call that meets an I/O error returns it (Unavailable; ResourceExhausted
// for a full disk; DataLoss for corrupt data) and leaves what it was doing
// wholly done or not done at all. A read that cannot read returns the error,
// never a shorter answer. After RocksDB meets an error in the background (a
// flush or compaction on a full disk), the store refuses writes with that
// error and deletes no files until it is closed and reopened; reopening
// recovers from the write-ahead log, and a retried purge finishes the job.
// tests/fault_injection_test.cc fails writes, syncs and reads at points over
// a whole workload and checks exactly this.
//
// Memory: besides RocksDB's own (block cache, memtables), a Store keeps two
// bounded in-process caches: index entries it has written (so appends do not
// rewrite them) and which expiry days hold each conversation (so reads skip an
// index seek); about 30 MiB at most together.
//
// Thread safety: a Store is safe to use from many threads at once, except
// Close() (and the destructor), which must not run while other calls are in
// flight.
//
// Example:
//
//   ebb::Options options;
//   absl::StatusOr<std::unique_ptr<ebb::Store>> store =
//       ebb::Store::Open(options, "/var/lib/chat/ebb");
//   if (!store.ok()) return store.status();
//
//   ebb::v1::Message m;
//   m.set_tenant("acme");
//   m.set_user("user-17");
//   m.set_conversation("conv-2026-11-25-0001");
//   m.set_seq(1);
//   m.set_role(ebb::v1::ROLE_USER);
//   m.set_text("Where is my order?");
//   *m.mutable_created_at() = ...;  // the time the user sent it
//   if (absl::Status s = (*store)->Append(m); !s.ok()) return s;
//
//   // From the tenant's settings page: keep transcripts one week.
//   absl::StatusOr<ebb::TenantPolicy> policy = (*store)->SetPolicy(
//       "acme", ebb::v1::CATEGORY_TRANSCRIPT, absl::Hours(24 * 7));
//
//   absl::StatusOr<std::vector<ebb::v1::Message>> conversation =
//       (*store)->ReadConversation("acme", "conv-2026-11-25-0001");

#ifndef EBB_STORE_H_
#define EBB_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ebb/v1/audit.pb.h"
#include "ebb/v1/message.pb.h"
#include "lib/ebb/options.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace ebb {
namespace internal {
struct StoreTestingHooks;
}  // namespace internal

// The retention in force for one category of a tenant's data.
struct RetentionRule {
  v1::DataCategory category = v1::CATEGORY_UNSPECIFIED;
  // absl::InfiniteDuration() keeps forever.
  absl::Duration ttl;
  // Messages created before this are expired whatever the TTL says (see the
  // semantics above). absl::InfinitePast() when no earlier TTL bounds it.
  absl::Time horizon;
  // True when the tenant has no rule of its own and the default applies.
  bool from_default = true;
};

// A tenant's retention policy as it applies now.
struct TenantPolicy {
  std::string tenant;
  // True when the tenant has never set a policy: every rule is the default.
  bool is_default = true;
  // 1 for the first SetPolicy, +1 for each after; 0 when is_default.
  uint64_t version = 0;
  // When the current version was set; absl::InfinitePast() when is_default.
  absl::Time updated_at = absl::InfinitePast();
  // One rule per category, in DataCategory order.
  std::vector<RetentionRule> rules;
};

// One of a user's conversations, as ListConversations reports it.
struct ConversationInfo {
  std::string conversation;
  // created_at of the newest unexpired message of the conversation.
  absl::Time last_message_at;
};

// What is stored, and what compaction has done since the store was opened.
struct StoreStats {
  absl::Time now;  // the clock's time the scan was judged at

  // A full scan of the message records RocksDB still holds (compacted-away
  // records are not seen).
  uint64_t messages_live = 0;
  uint64_t messages_expired = 0;      // expired, not yet compacted away
  uint64_t messages_undecodable = 0;  // expiry cannot be decoded: kept, counted
  uint64_t message_bytes_live = 0;    // key + value bytes
  uint64_t message_bytes_expired = 0;

  // The same for the conversation and user indexes.
  uint64_t index_entries_live = 0;
  uint64_t index_entries_expired = 0;
  uint64_t index_entries_undecodable = 0;

  uint64_t tenants = 0;   // tenants ever seen (registered on first use)
  uint64_t policies = 0;  // tenants with a policy of their own

  // Since Open: records the compaction filter dropped as expired, and records
  // it kept because their expiry could not be decoded.
  uint64_t filter_dropped_expired = 0;
  uint64_t filter_kept_undecodable = 0;
  // Since Open: records reads skipped because they could not be decoded.
  uint64_t reads_skipped_undecodable = 0;

  // RocksDB's live SST files, all column families.
  uint64_t sst_files = 0;
  uint64_t sst_bytes = 0;

  // When the store's days begin, UTC (Options::day_start).
  absl::Duration day_start;
};

// Expiry carried out for one tenant, category and creation day.
struct ExpiryGroup {
  std::string tenant;
  v1::DataCategory category = v1::CATEGORY_UNSPECIFIED;
  absl::Time created_day;  // start of the creation day (Options::day_start)
  uint64_t messages = 0;   // deleted
  uint64_t conversations = 0;
  uint64_t bytes = 0;      // key + value bytes deleted
  uint64_t held_back = 0;  // expired, but kept by a legal hold
  uint64_t audit_seq = 0;  // its AUDIT_EXPIRE record
};

// What ExpireDue did.
struct ExpiryReport {
  absl::Time now;
  std::vector<ExpiryGroup> groups;  // by tenant, category, day
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t held_back = 0;
  uint64_t ranges_deleted = 0;  // key ranges expired (for Purge to compact)
  // How each (expiry day, tenant) due was counted: from the statistics its
  // SST files keep (a wholly expired day whose files hold nothing else: no
  // record read), or by reading its records.
  uint64_t ranges_counted_from_files = 0;
  uint64_t ranges_read = 0;
};

// How Purge runs.
struct PurgeOptions {
  // Count what a real run would delete (per tenant, category and creation
  // day) and write nothing.
  bool dry_run = false;
  // Stop starting new compactions after this long; the next run finishes the
  // job (the worklist is durable). The run then reports complete = false.
  absl::Duration max_duration = absl::InfiniteDuration();
  // Limit flush and compaction writes to this many bytes per second while the
  // purge runs (0: unlimited), so foreground writes keep their bandwidth.
  int64_t rate_limit_bytes_per_second = 0;
  // Called with a line of progress now and then (may be empty).
  std::function<void(absl::string_view)> progress;
};

// What Purge did (or, for a dry run, would do).
struct PurgeReport {
  absl::Time now;
  bool dry_run = false;
  // False if max_duration stopped the run before its worklist was done.
  bool complete = true;
  ExpiryReport expiry;  // what expired this run, per tenant/category/day
  uint64_t ranges_compacted = 0;  // worklist ranges compacted away
  uint64_t ranges_pending = 0;    // worklist ranges left for the next run
  uint64_t files_dropped = 0;     // whole SST files deleted, not rewritten
  uint64_t bytes_dropped = 0;     // their size
  uint64_t bytes_rewritten = 0;   // written by the purge's own compactions
  // Of which in each column family: the messages (what is left of days and
  // ranges only partly expired or erased), the index (compacted whole every
  // run) and the metadata (holds, requests, the worklist).
  uint64_t bytes_rewritten_messages = 0;
  uint64_t bytes_rewritten_index = 0;
  uint64_t bytes_rewritten_metadata = 0;
  // Written meanwhile by RocksDB's background compactions (level upkeep,
  // which the purge's flushes can trigger sooner), for context.
  uint64_t background_bytes_written = 0;
  uint64_t sst_bytes_before = 0;
  uint64_t sst_bytes_after = 0;
  absl::Duration duration;  // wall time
  // Of which spent waiting for compactions that were running when the
  // watermarks advanced (their filters keep what has just expired, so the
  // purge lets them finish before it drops and compacts).
  absl::Duration waited_for_compactions;
  // The run's audit records: its expiry records and the AUDIT_PURGE_RUN
  // record (0, 0 for a dry run).
  uint64_t audit_first_seq = 0;
  uint64_t audit_last_seq = 0;
};

// A record on disk that should not be there.
struct VerifyFinding {
  std::string file;           // SST or WAL file name
  std::string column_family;  // "messages" or "index"
  std::string tenant;
  std::string conversation;  // empty for undecodable keys
  uint64_t seq = 0;          // messages only
  v1::DataCategory category = v1::CATEGORY_UNSPECIFIED;
  absl::Time created_at;  // for index entries: the bound they carry
  std::string problem;    // "expired" or "erased"
};

// What Verify read and found.
struct VerifyReport {
  absl::Time now;
  uint64_t sst_files = 0;
  uint64_t wal_files = 0;
  uint64_t records = 0;      // entries read, in SST and WAL files
  uint64_t undecodable = 0;  // entries whose expiry cannot be decoded
  std::vector<VerifyFinding> findings;
};

// How an erasure is recorded.
struct EraseOptions {
  // Required: why the data is erased (END_USER_REQUEST, CHILD_DATA, ...).
  v1::ErasureReason reason = v1::ERASURE_REASON_UNSPECIFIED;
  // The caller's request id (optional, an id like any other). With one, the
  // erasure completes that request (see OpenRequest), or records it as received
  // and completed at once.
  std::string request_id;
  // When the request was received, for a request not opened before; the
  // clock's now if InfinitePast().
  absl::Time received_at = absl::InfinitePast();
};

// What an erasure did.
struct EraseResult {
  // What was erased: SCOPE_TENANT, or a user or conversation and its id.
  v1::Scope scope = v1::SCOPE_UNSPECIFIED;
  std::string id;
  // True when a legal hold covers some of the data: it is hidden from reads at
  // once and erased when the last hold covering it is lifted.
  bool pending = false;
  // Data of the scope created at or before this is erased, and appends to the
  // scope created at or before it are refused from now on. It is the clock's
  // now plus max_clock_skew, because a message stamped that far ahead may
  // already be stored.
  absl::Time cutoff;
  // What was (or, if pending, will be) removed: stored messages, including
  // expired ones not yet compacted away; conversations; key + value bytes.
  uint64_t messages = 0;
  uint64_t conversations = 0;
  uint64_t bytes = 0;
  // The audit record of this erasure.
  uint64_t audit_seq = 0;
};

// How Export reads.
struct ExportOptions {
  // Also export messages a legal hold keeps past their expiry or past an
  // erasure (never returned by normal reads).
  bool include_held = false;
  // Replace user and conversation ids by their pseudonyms (as in the audit
  // ledger).
  bool anonymise = false;
  // As EraseOptions: the access request this export answers, if any.
  std::string request_id;
  absl::Time received_at = absl::InfinitePast();
};

struct ExportSummary {
  uint64_t messages = 0;
  uint64_t lines = 0;
};

// The result of checking the audit ledger's hash chain.
struct AuditVerification {
  bool ok = true;
  uint64_t records = 0;    // records checked
  uint64_t first_seq = 0;  // the first kept record (after trimming), 0 if none
  uint64_t last_seq = 0;   // the head's sequence number
  // Hex SHA-256 of the last record: anchor it elsewhere to detect a rewrite of
  // the whole ledger.
  std::string head_hash;
  // When !ok: the first sequence number that is missing, changed, out of
  // place or does not follow its predecessor, and what is wrong with it.
  uint64_t first_bad_seq = 0;
  std::string problem;
};

class Store {
 public:
  // Opens (creating if Options::create_if_missing) the store in directory
  // `path`.
  //
  // Errors: InvalidArgument if `options` contradict themselves (the message
  // names the field); NotFound if there is no store at `path` and
  // create_if_missing is false; FailedPrecondition if `path` holds a RocksDB
  // database that is not an ebb store (left untouched), or one of a newer
  // format; DataLoss if stored policies cannot be decoded; other codes from
  // RocksDB (e.g. Unavailable for I/O errors, Aborted if another process has
  // the store open).
  //
  // A store whose creation was cut short (by a crash or an I/O error) holds
  // nothing yet; Open finishes creating it.
  //
  // If options.retention.default_ttl differs from the one the store was last
  // opened with, that is recorded as a change of the default policy at the
  // clock's now (see RetentionOptions::default_ttl).
  static absl::StatusOr<std::unique_ptr<Store>> Open(const Options& options,
                                                     const std::string& path);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  // Closes the database. Errors while closing are lost; call Close() to see
  // them.
  ~Store();

  // Flushes nothing extra and closes the database; later calls on this Store
  // return FailedPrecondition. Idempotent.
  absl::Status Close();

  // Stores one message. (tenant, conversation, seq) identifies it: appending
  // the same message again is a no-op retry. ebb does not read before writing,
  // so different content under an existing (tenant, conversation, seq) replaces
  // the old message if the tenant's TTL has not changed in between; otherwise
  // both versions are kept and reads return the one written under the earlier
  // expiry day.
  //
  // CATEGORY_UNSPECIFIED is stored as CATEGORY_TRANSCRIPT.
  //
  // Errors (nothing is written on error):
  // - InvalidArgument: an id is empty, longer than 256 bytes, not UTF-8 or has
  // a
  //   control byte; role is unspecified or unknown; the category is unknown;
  //   created_at is missing, outside 0001..9999, or more than max_clock_skew
  //   after now; text or metadata is not UTF-8; the message is larger than
  //   Options::max_message_bytes.
  // - FailedPrecondition: the message has already expired under its tenant's
  //   policy.
  // - Errors from RocksDB (e.g. Unavailable, ResourceExhausted for a full
  // disk).
  absl::Status Append(const v1::Message& message);

  // Stores all of `messages` atomically: either every one is stored or, on any
  // error, none is. Errors as Append, prefixed with the failing message's
  // 0-based index ("append: message 3 of 1000: ...").
  absl::Status AppendBatch(absl::Span<const v1::Message> messages);

  // The conversation's unexpired messages, in seq order. Empty (not NotFound)
  // for an unknown tenant or conversation, or one whose messages have all
  // expired: a read must not reveal whether expired data ever existed.
  // InvalidArgument for an invalid id.
  absl::StatusOr<std::vector<v1::Message>> ReadConversation(
      absl::string_view tenant, absl::string_view conversation);

  // The same messages as ReadConversation, in the same order and under the
  // same rules (expiry, erasures, holds, restrictions), each as the serialized
  // ebb.v1.Message bytes it was stored as, without parsing them: for callers
  // that pass messages on as bytes (a gRPC bytes field, a cache) and would
  // otherwise parse only to serialize again. Parsing is about a quarter of a
  // ReadConversation (bench/README.md).
  //
  // Because the bytes are not parsed, a message whose stored protobuf is
  // damaged but whose 10-byte header is intact comes back as stored, where
  // ReadConversation skips it and counts it in
  // StoreStats::reads_skipped_undecodable. (RocksDB's block checksums catch
  // damage on disk first.) Messages of a tenant with a restricted user or an
  // erasure pending under a hold are parsed, to learn their user, and then
  // behave as in ReadConversation. Errors as ReadConversation.
  absl::StatusOr<std::vector<std::string>> ReadConversationSerialized(
      absl::string_view tenant, absl::string_view conversation);

  // The user's conversations that still have an unexpired message, sorted by
  // conversation id. Empty for an unknown tenant or user. InvalidArgument for
  // an invalid id.
  absl::StatusOr<std::vector<ConversationInfo>> ListConversations(
      absl::string_view tenant, absl::string_view user);

  // Sets the TTL of `category` for `tenant` from now on, and returns the policy
  // now in force. The change is durable (synced) when this returns.
  //
  // Errors: InvalidArgument for an invalid tenant id, an unspecified or unknown
  // category, a TTL below RetentionOptions::min_ttl or above max_ttl (the
  // message names the bound), or an infinite TTL where allow_keep_forever is
  // false; FailedPrecondition if the clock reads earlier than the tenant's last
  // policy change (history must stay in order).
  absl::StatusOr<TenantPolicy> SetPolicy(absl::string_view tenant,
                                         v1::DataCategory category,
                                         absl::Duration ttl);

  // The policy in force for `tenant`: its own, or the default (is_default) for
  // a tenant that has none or has never been seen. InvalidArgument for an
  // invalid id.
  absl::StatusOr<TenantPolicy> GetPolicy(absl::string_view tenant);

  // The policies of every tenant that has set one, sorted by tenant id.
  absl::StatusOr<std::vector<TenantPolicy>> ListPolicies();

  // Every version of the tenant's policy, oldest first (empty if it never set
  // one). Pass "" for the operator's default policy. InvalidArgument for an
  // invalid (non-empty) id.
  absl::StatusOr<std::vector<TenantPolicy>> PolicyHistory(
      absl::string_view tenant);

  // Scans the store and reports what it holds (see StoreStats). Costs a full
  // read of the data: meant for operators and tests, not hot paths.
  absl::StatusOr<StoreStats> Stats();

  // Carries out expiry: for each tenant and category, counts the messages
  // that have expired since the last call and, in one atomic write per
  // tenant, appends one AUDIT_EXPIRE record per category and creation day
  // with the counts, advances the tenant's "expired through" watermark (from
  // then on the compaction filter drops those messages) and records their key
  // ranges for Purge, which drops or compacts exactly them. Messages a legal
  // hold covers are counted as held back and kept; they are expired (and
  // audited) when the hold is lifted. The nightly purge runs this first.
  //
  // The compaction filter drops a message only once its expiry has been
  // carried out here, so nothing leaves the disk by expiry unaudited; reads
  // never return expired messages either way.
  //
  // One call at a time (Purge's included): a second waits for the first and
  // then finds only what expired since, so each message is audited once.
  absl::StatusOr<ExpiryReport> ExpireDue();

  // The nightly purge: ExpireDue, then makes every range expired or erased
  // since the last run physically disappear: drops the SST files that lie
  // wholly inside such a range and hold nothing newer than its deletion
  // (DeleteFilesInRanges, nothing rewritten), compacts what is left with one
  // bottommost (kForce) compaction per expiry day while the small index is
  // compacted whole beside them, compacts the metadata that gets deleted
  // (never the audit ledger), and flushes so RocksDB deletes WAL files that
  // still hold purged data (then scans the directory for any a failed run
  // left). Ends with an AUDIT_PURGE_RUN record. Automatic compactions of the
  // message and index data are held off while it runs, and it first waits
  // for the ones already running (their filters would predate the expiry it
  // carries out); flushes go on. Safe to call from a backend's own thread
  // while it serves reads and writes (one purge at a time). Idempotent and
  // resumable: the worklist of ranges is durable and each entry is removed
  // only once its range has been compacted. See docs/storage-layout.md.
  //
  // One place keeps ids of what was purged until the store is next opened:
  // RocksDB's MANIFEST lists every SST file the database has had since it
  // was opened with the file's first and last key (a conversation id; in the
  // index, a user id), and RocksDB writes a new MANIFEST only when a database
  // is opened (or past 1 GB). Close and reopen the store after the nightly
  // purge to leave a MANIFEST that lists only the remaining files: `ebb purge`
  // does.
  absl::StatusOr<PurgeReport> Purge(const PurgeOptions& options);

  // The proof on disk: reads every live SST file with rocksdb::SstFileReader
  // (which shows entries even when a range tombstone in another file, or in
  // the same one, covers them) and every live WAL file, and lists each
  // message or index entry that is expired or erased at the clock's now and
  // that no hold keeps. After a complete Purge it finds nothing.
  absl::StatusOr<VerifyReport> Verify();

  // Runs ExpireDue, then forces a full compaction of every column family
  // down to the bottom level (so expired and erased records, their range
  // tombstones and deleted metadata leave the SST files), then flushes every
  // memtable so RocksDB can delete WAL files that still hold copies of them.
  // Rewrites all data: the nightly purge (a later release) removes expired
  // data in bulk instead. Returns when done.
  absl::Status CompactAll();

  // ------------------------------------------------------------ erasure
  //
  // Each call erases the scope's data logically at once and atomically: when
  // it returns OK no read returns any of it, and a crash at any point leaves
  // either all of it erased and audited or none of it. Messages and their index
  // entries are deleted with range deletions, so compaction and the purge
  // remove them in bulk. Erasing what holds no data still records the erasure
  // and guards against it: after an erasure, Append refuses messages of that
  // conversation, user or tenant created at or before EraseResult::cutoff
  // (FailedPrecondition), so a retry, replay or restored backup cannot bring
  // the data back. Later messages (new conversations) are accepted.
  //
  // A user's data is every conversation the user appears in. Under a legal
  // hold the erasure is recorded as pending (audited), the data is hidden from
  // reads but kept, and it is erased when the last covering hold is lifted.
  //
  // Errors: InvalidArgument for an invalid id or request id, or an unspecified
  // reason; errors from RocksDB. Nothing is written on error.
  absl::StatusOr<EraseResult> EraseConversation(absl::string_view tenant,
                                                absl::string_view conversation,
                                                const EraseOptions& options);
  absl::StatusOr<EraseResult> EraseUser(absl::string_view tenant,
                                        absl::string_view user,
                                        const EraseOptions& options);
  absl::StatusOr<EraseResult> EraseTenant(absl::string_view tenant,
                                          const EraseOptions& options);

  // ------------------------------------------------------------ holds
  //
  // A legal hold on a tenant (scope SCOPE_TENANT, id ""), an end user or a
  // conversation: while it stands, neither expiry nor erasure removes the data
  // it covers. Expired data under hold is not returned by normal reads, only by
  // Export with include_held. Setting a hold that exists already is
  // AlreadyExists; clearing one that does not is NotFound. Audited.
  absl::Status SetHold(absl::string_view tenant, v1::Scope scope,
                       absl::string_view id, absl::string_view reason,
                       absl::string_view set_by);
  // Lifts the hold and carries out every pending erasure no other hold still
  // covers; returns what those erasures did. `reason` (optional) is recorded
  // in the audit record; without one the hold's own reason is.
  absl::StatusOr<std::vector<EraseResult>> ClearHold(
      absl::string_view tenant, v1::Scope scope, absl::string_view id,
      absl::string_view cleared_by, absl::string_view reason = "");
  // The tenant's holds, or every tenant's when `tenant` is empty.
  absl::StatusOr<std::vector<v1::Hold>> ListHolds(absl::string_view tenant);

  // Restriction of processing on an end user (GDPR Art. 18, LGPD blocking):
  // the data is kept, expires as usual, but no normal read returns it until the
  // restriction is lifted; Export still does. AlreadyExists / NotFound as for
  // holds. Audited.
  absl::Status SetRestriction(absl::string_view tenant, absl::string_view user);
  absl::Status ClearRestriction(absl::string_view tenant,
                                absl::string_view user);

  // ------------------------------------------------------------ export
  //
  // Streams, as JSON lines passed one at a time to `sink`, every message of
  // `user` that is neither expired nor erased (restricted ones included), in
  // the format `ebb get` prints and `ebb ingest` reads, grouped by
  // conversation; then the user's holds, restriction and requests as lines
  // with a "record" field. Memory stays bounded whatever the user's volume.
  // A sink error stops the export and is returned.
  absl::StatusOr<ExportSummary> Export(
      absl::string_view tenant, absl::string_view user,
      const ExportOptions& options,
      absl::FunctionRef<absl::Status(absl::string_view line)> sink);

  // ------------------------------------------------------------ requests
  //
  // Erasure and export requests, with deadlines: due_at = received_at +
  // Options::request_deadline (45 days by default), extendable once by up to
  // Options::max_request_extension with a reason. Erase* and Export with a
  // request id complete the request.

  // Records a request as received (state REQUEST_OPEN). AlreadyExists if the
  // tenant has a request with this id.
  absl::StatusOr<v1::Request> OpenRequest(absl::string_view tenant,
                                          absl::string_view request_id,
                                          v1::RequestKind kind,
                                          absl::string_view user,
                                          absl::Time received_at);
  // Extends the deadline once. FailedPrecondition if already extended or
  // completed; InvalidArgument for a non-positive or too long extension or an
  // empty reason; NotFound for an unknown request.
  absl::StatusOr<v1::Request> ExtendRequest(absl::string_view tenant,
                                            absl::string_view request_id,
                                            absl::Duration by,
                                            absl::string_view reason);
  // Every request (sorted by tenant, id); with `overdue_only`, those not
  // completed whose due_at has passed.
  absl::StatusOr<std::vector<v1::Request>> ListRequests(bool overdue_only);

  // ------------------------------------------------------------ audit ledger
  //
  // Every erasure, hold, restriction, policy change and request appends a
  // record, in the same atomic write as the change it records. Records carry
  // no message text and no raw user or conversation id: those are
  // pseudonymised with HMAC-SHA256 under a per-tenant key.

  // Checks the hash chain from its start (or its trimmed checkpoint) to the
  // head. Tampering is reported in the result, not as an error; errors are
  // RocksDB's.
  absl::StatusOr<AuditVerification> VerifyAudit();
  // Every record, oldest first.
  absl::Status ExportAudit(
      absl::FunctionRef<absl::Status(const v1::AuditRecord&)> sink);
  // The records about a user or conversation (by pseudonym) or, for
  // SCOPE_TENANT, every record of the tenant.
  absl::StatusOr<std::vector<v1::AuditRecord>> FindAudit(
      absl::string_view tenant, v1::Scope scope, absl::string_view id);
  // Deletes records older than Options::audit_retention, keeping the rest
  // verifiable: a checkpoint holds the hash of the last trimmed record and an
  // AUDIT_LEDGER_TRIM record repeats it inside the chain. Returns how many
  // records were trimmed.
  absl::StatusOr<uint64_t> TrimAudit();

  // The pseudonym the ledger uses for a user or conversation id of `tenant`.
  absl::StatusOr<std::string> PseudonymFor(absl::string_view tenant,
                                           v1::Scope scope,
                                           absl::string_view id);

 private:
  class Impl;
  friend struct internal::StoreTestingHooks;
  explicit Store(std::unique_ptr<Impl> impl);
  // Open with every file operation going through `env` (Open passes RocksDB's
  // default); tests inject I/O faults through it (internal/testing_hooks.h).
  static absl::StatusOr<std::unique_ptr<Store>> OpenWithEnv(
      const Options& options, const std::string& path, rocksdb::Env* env);
  // See StoreTestingHooks::SetAfterExpiryScan.
  void SetAfterExpiryScanForTesting(std::function<void()> hook);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebb

#endif  // EBB_STORE_H_
