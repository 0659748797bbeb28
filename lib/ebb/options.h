// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: options.h
// -----------------------------------------------------------------------------
//
// Options control how a Store is opened: the clock it asks for "now", the
// bounds the operator puts on tenants' retention policies, the default policy
// for tenants that have none, and limits on what Append accepts. Every field
// has a safe default; an Options that contradicts itself is refused by
// Store::Open with InvalidArgument.
//
// Example:
//
//   ebb::Options options;
//   // Tenants may keep data between 1 day and 1 year; 30 days unless they
//   // choose.
//   options.retention.min_ttl = absl::Hours(24);
//   options.retention.max_ttl = absl::Hours(24 * 365);
//   options.retention.default_ttl = absl::Hours(24 * 30);
//   absl::StatusOr<std::unique_ptr<ebb::Store>> store =
//       ebb::Store::Open(options, "/var/lib/chat/ebb");

#ifndef EBB_OPTIONS_H_
#define EBB_OPTIONS_H_

#include <cstddef>
#include <memory>
#include <optional>

#include "absl/time/time.h"
#include "lib/ebb/clock.h"

namespace ebb {

// Operator-wide limits on retention, and the default for tenants without a
// policy.
struct RetentionOptions {
  // The TTL of every category for a tenant that has not set one. It must lie
  // within [min_ttl, max_ttl] (or be infinite, if allow_keep_forever).
  //
  // The default is stored in the database like a tenant policy. Opening a store
  // with a different default_ttl than last time is a policy change made at
  // "now": lengthening it does not bring back data that had already expired,
  // shortening it expires older data at once.
  absl::Duration default_ttl = absl::Hours(24 * 30);

  // The shortest TTL a tenant may set. SetPolicy refuses shorter ones with
  // InvalidArgument naming this bound.
  absl::Duration min_ttl = absl::Hours(1);

  // The longest finite TTL a tenant may set. SetPolicy refuses longer ones with
  // InvalidArgument naming this bound.
  absl::Duration max_ttl = absl::Hours(24 * 3650);

  // Whether a tenant may keep data forever (a TTL of absl::InfiniteDuration()).
  bool allow_keep_forever = false;

  // How far in the future a message's created_at may lie, to absorb clock skew
  // between the chat servers and this one. Anything later is refused: a
  // created_at in the future would otherwise extend the message's retention.
  absl::Duration max_clock_skew = absl::Minutes(5);
};

// How a Store is opened.
struct Options {
  // Where "now" comes from. Defaults to the wall clock. Shared because
  // RocksDB's compaction threads read it too; it must outlive nothing in
  // particular.
  std::shared_ptr<Clock> clock = SystemClock();

  RetentionOptions retention;

  // Create the database if the directory holds none. When false, opening a path
  // without a database fails with NotFound.
  bool create_if_missing = true;

  // Whether Append/AppendBatch sync the write-ahead log before returning.
  // Without it an acknowledged append survives a process crash but may be
  // lost in a machine crash or power cut. Everything that writes an audit
  // record (policy changes, erasures, holds, restrictions, requests, expiry)
  // is synced whatever this says. See "Durability" in store.h.
  bool sync_writes = false;

  // The largest message Append accepts, counted as its serialized size (text,
  // ids and metadata together). Larger ones are refused with InvalidArgument.
  size_t max_message_bytes = 1 << 20;

  // Target size of the SST files that hold messages. Files are also cut
  // wherever the expiry day changes, so that a whole file can be dropped once
  // its day has passed; smaller files make that cut finer. Must be at least 64
  // KiB.
  size_t target_file_bytes = 16 << 20;

  // Once a messages file holds this many bytes, it is also cut where the
  // tenant changes. Whatever removes one tenant's part of a day before the
  // rest (a shortened policy, an erasure) then makes the purge rewrite the
  // few files that hold that tenant, not the whole day. Smaller means less
  // rewritten for other tenants and more files; 0 gives each tenant's day
  // its own files. A tenant's day is never split by this, only by
  // target_file_bytes.
  size_t tenant_cut_file_bytes = 256 << 10;

  // Size of the memtable that collects new messages before they are written
  // to a file. The write-ahead log is kept to about twice this (see "The
  // write-ahead log" in docs/storage-layout.md). Must be at least 64 KiB.
  size_t write_buffer_bytes = 64 << 20;

  // The time of day (UTC) at which the store's days begin: the expiry days
  // messages are grouped by on disk, and the creation days that audit records
  // count expiry per. Set it a little after the time the nightly purge runs
  // (the purge at 01:50, days beginning at 02:00): the purge then finds the
  // current expiry day almost wholly expired and rewrites only what is left
  // of it, where with days beginning at midnight and the purge at noon it
  // rewrites the live half of a day of every tenant's data (about 1.5 % of
  // all live data a night in purge_bench). Reads and expiry are exact either
  // way: it only decides what the purge rewrites.
  //
  // Fixed when the store is created (unset: midnight) and kept for its life:
  // unset, an existing store keeps its own; set to another value than the
  // store's, Open fails with FailedPrecondition. Must be at least zero and
  // less than 24 hours, in whole seconds.
  std::optional<absl::Duration> day_start;
  // How long audit records are kept before TrimAudit may remove them.
  absl::Duration audit_retention = absl::Hours(24 * 365 * 6);

  // Deadline of an erasure or export request, from when it was received.
  absl::Duration request_deadline = absl::Hours(24 * 45);

  // The longest one-time extension of a request's deadline.
  absl::Duration max_request_extension = absl::Hours(24 * 45);
};

}  // namespace ebb

#endif  // EBB_OPTIONS_H_
