// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: expiry_file_stats.h
// -----------------------------------------------------------------------------
//
// Per-file counts of messages, so that ExpireDue can audit a wholly expired
// expiry day without reading it.
//
// ExpireDue must write, per tenant, category and creation day, how many
// messages, conversations and bytes expired. Reading every expired message to
// count them cost 11.5 s of a 12.2 s backlog purge of 6 M messages
// (bench/README.md), while dropping the files took 0.3 s. A RocksDB
// TablePropertiesCollector sees every record as a flush or compaction writes
// it, so it can count them for free on the way: it stores, per (expiry day,
// tenant) section of the file, counts per (category, creation day) in the
// file's properties (ebb.v1.ExpiryFileStats). ExpireDue then adds up the
// sections of the files that hold a (day, tenant).
//
// Counts from files equal what a read would see only when the files hold no
// more and no less than that: so FileStatsCounter refuses (nullopt), and the
// caller reads the records instead, whenever
// - a file has no statistics (written before ebb kept them),
// - a file counted creation days that begin at another time of day than the
//   store's (key_codec.h; possible only for a flush while the store opens),
// - a file holds anything but plain puts of message records (a deletion, a
//   range deletion or a merge may hide records the counts include),
// - a section holds a record whose header cannot be decoded,
// - two files' sections overlap (they are not one sorted run: the same key
//   may be in both, an older version under a newer one).
// What the files cannot see (memtables, the purge worklist of deleted ranges,
// legal holds) the caller checks itself.
//
// Distinct conversations add up exactly: a conversation's messages are
// adjacent in key order, so one that continues from one file into the next is
// the last of its group in the first file and the first in the next, and is
// counted once.

#ifndef EBB_INTERNAL_EXPIRY_FILE_STATS_H_
#define EBB_INTERNAL_EXPIRY_FILE_STATS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ebb/v1/file_stats.pb.h"
#include "ebb/v1/message.pb.h"
#include "google/protobuf/arena.h"
#include "lib/ebb/internal/key_codec.h"
#include "rocksdb/db.h"  // TablePropertiesCollection
#include "rocksdb/table_properties.h"

namespace ebb::internal {

// The user property the collector writes.
inline constexpr char kExpiryFileStatsProperty[] = "ebb.expiry-file-stats";

// Makes one collector per SST file. For the "messages" column family only:
// every key there is a message key. Each file counts creation days that begin
// `*day_start_micros` after midnight UTC, as read when the file is started
// (the store's day start, key_codec.h), and records which. It is shared
// because RocksDB may flush while it opens a database, before the store has
// read its day start from the metadata: a file written then in other days
// than the store's is merely not counted from.
std::shared_ptr<rocksdb::TablePropertiesCollectorFactory>
NewExpiryFileStatsCollectorFactory(
    std::shared_ptr<const std::atomic<int64_t>> day_start_micros);

// What the files hold of one (category, creation day) of a (day, tenant).
struct ExpiryCounts {
  v1::DataCategory category = v1::CATEGORY_UNSPECIFIED;
  int64_t created_day = 0;  // the store's days (DayOfMicros)
  uint64_t messages = 0;
  uint64_t bytes = 0;  // key + value
  uint64_t conversations = 0;
  int64_t min_created_at_micros = 0;
  int64_t max_created_at_micros = 0;
};

// Adds up the statistics of files. Decodes each file's statistics once (files
// are immutable, so they are remembered by path). Not thread-safe: one per
// ExpireDue run.
class FileStatsCounter {
 public:
  // Counts only files whose creation days begin at `day_start` (the store's).
  explicit FileStatsCounter(absl::Duration day_start)
      : day_start_micros_(absl::ToInt64Microseconds(day_start)) {}

  // What `files` (every file that overlaps the (bucket, tenant) key range, as
  // DB::GetPropertiesOfTablesInRange returns them) hold of that range, by
  // (category, created_day); nullopt if their statistics cannot say exactly
  // (see the top of this file). An empty vector: the files hold none of it.
  std::optional<std::vector<ExpiryCounts>> Count(
      const rocksdb::TablePropertiesCollection& files, ExpiryBucket bucket,
      TenantNumber tenant);

  // Count for each of `buckets` (same tenant) over one listing of `files`
  // that covers them all, in the order of `buckets`. The same answers as one
  // Count per bucket, but each file is decoded once and only files whose
  // sections reach a bucket are searched for it: ExpireDue asks this for
  // every day of every tenant, thousands of ranges a night.
  std::vector<std::optional<std::vector<ExpiryCounts>>> CountEach(
      const rocksdb::TablePropertiesCollection& files,
      absl::Span<const ExpiryBucket> buckets, TenantNumber tenant);

  // True if every file's statistics are usable. Such a file holds nothing
  // but message puts, each in a section, so `files` may then list more files
  // than overlap the range Count is asked about: it passes over the others.
  bool AllUsable(const rocksdb::TablePropertiesCollection& files);

 private:
  struct File {
    // Statistics present, in the store's days, and only message puts.
    bool usable = false;
    const v1::ExpiryFileStats* stats = nullptr;  // on arena_
  };
  const File& Decode(const std::string& path,
                     const rocksdb::TableProperties& properties);
  // Count over decoded, usable files.
  static std::optional<std::vector<ExpiryCounts>> CountIn(
      absl::Span<const File* const> files, ExpiryBucket bucket,
      TenantNumber tenant);

  int64_t day_start_micros_;  // not const: ExpireDue keeps them in a vector
  // The decoded statistics: a backlog's expiry decodes thousands of files'
  // sections (strings each), and parsing into an arena, then freeing it whole,
  // costs a fraction of allocating and freeing every one of them.
  std::unique_ptr<google::protobuf::Arena> arena_ =
      std::make_unique<google::protobuf::Arena>();
  absl::flat_hash_map<std::string, std::unique_ptr<File>> files_;
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_EXPIRY_FILE_STATS_H_
