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
//   whatever compaction has or has not done yet. Reads and the compaction
//   filter call the same expiry function.
// - Append refuses a message that is already expired on arrival
//   (FailedPrecondition) and one whose created_at lies more than
//   RetentionOptions::max_clock_skew after now (InvalidArgument): a clock
//   running ahead must not extend retention.
// - Tenants without a policy get the default. Unknown tenants are not an error:
//   reading one returns nothing, GetPolicy returns the default.
// - A stored record whose expiry cannot be decoded (a corrupted header) is
// never
//   returned by a read and never dropped by compaction: it is kept and counted
//   (StoreStats::messages_undecodable), so an operator can see it.
// - Time is the Options::clock's, never the process's own: tests and the CLI's
//   `--now` simulate months without sleeping. created_at is kept at microsecond
//   precision (finer digits are truncated on Append).
//
// Physical removal
// ----------------
// Expired records leave the disk when a compaction passes over them (a RocksDB
// compaction filter) or when CompactAll() forces one. Messages are laid out by
// the day their retention runs out, so a night's purge can drop whole files:
// see docs/storage-layout.md.
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
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ebb/v1/message.pb.h"
#include "lib/ebb/options.h"

namespace ebb {

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
};

class Store {
 public:
  // Opens (creating if Options::create_if_missing) the store in directory
  // `path`.
  //
  // Errors: InvalidArgument if `options` contradict themselves (the message
  // names the field); NotFound if there is no store at `path` and
  // create_if_missing is false; FailedPrecondition if `path` holds a RocksDB
  // database that is not an ebb store, or one of a newer format; DataLoss if
  // stored policies cannot be decoded; other codes from RocksDB (e.g.
  // Unavailable for I/O errors, Aborted if another process has the store open).
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

  // Forces a full compaction of the message and index column families down to
  // the bottom level, so the compaction filter removes every record expired at
  // the clock's now, then flushes every memtable so RocksDB can delete WAL
  // files that still hold copies of them. Rewrites all data: the nightly purge
  // (a later release) removes expired data in bulk instead. Returns when done.
  absl::Status CompactAll();

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebb

#endif  // EBB_STORE_H_
