// Copyright ebb authors.
//
// purge_bench: the nightly purge against the naive way and RocksDB's own TTL,
// on the same workload, in one run.
//
// Workload: 200 tenants (TTL 7 d for every tenth, 90 d for the next tenth, 30 d
// for the rest), ~400-byte chat messages in 20-message conversations spread
// evenly over 90 simulated days; at "now" (day 90) about 60 % have expired.
//
// Strategies, each on its own copy of the data:
//   (a) naive: conversation-major keys (tenant \0 conversation \0 seq); scan
//       everything, Delete each expired key, then a full CompactRange (kForce).
//   (b) DBWithTTL-style: the same keys and bytes, a compaction filter that
//       looks up the tenant's TTL per key, and a full CompactRange (kForce).
//   (c) ebb: the store as ebb lays it out (written through Store::AppendBatch
//       day by day, the clock following), then Store::Purge.
// The raw database for (a) and (b) is built once and copied. Values are the
// same bytes in all three (ebb's record: header + serialized message).
//
// Then the steady state: --nights more simulated days of ingest + purge on the
// ebb store, with some tenants shortening and lengthening their policies on
// the way; per night, the bytes the purge rewrote as a fraction of the live
// SST bytes. A full compaction rewrites 100 % every night.
//
// --rounds=N runs the three backlog purges N times, (a), (b), (c) in turn,
// each on a fresh copy, and reports each strategy's median time to physically
// gone: on this shared machine one run of (a) took 23-28 s and one of (c)
// 0.49-0.63 s with the same code.
//
// Usage: purge_bench [--messages=N] [--nights=N] [--rounds=N] [--json=FILE]
//                    [--tenant_cut_file_bytes=N] [--day_start=HH:MM]
// Build with -c opt. Prints a table and, with --json, writes the figures.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "ebb/v1/message.pb.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/duration.h"
#include "lib/ebb/internal/record_codec.h"
#include "lib/ebb/options.h"
#include "lib/ebb/store.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/write_batch.h"

namespace ebb::bench {
namespace {

constexpr int kTenants = 200;
constexpr int kDays = 90;
constexpr int kPerConversation = 20;

absl::Duration TtlOf(int tenant) {
  if (tenant % 10 == 0) return absl::Hours(24 * 7);
  if (tenant % 10 == 1) return absl::Hours(24 * 90);
  return absl::Hours(24 * 30);
}

std::string TenantName(int tenant) {
  return absl::StrFormat("tenant-%03d", tenant);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

uint64_t SstBytes(const std::string& dir) {
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() &&
        absl::EndsWith(entry.path().string(), ".sst")) {
      bytes += entry.file_size();
    }
  }
  return bytes;
}

void Check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

// The messages of one simulated day, in conversations of 20, deterministic.
class Workload {
 public:
  Workload(int64_t messages, absl::Time start)
      : per_day_(messages / kDays), start_(start) {}

  absl::Time DayStart(int day) const { return start_ + absl::Hours(24) * day; }

  // Calls fn(batch) with batches of up to 1000 messages of day `day`.
  template <typename Fn>
  void Day(int day, Fn&& fn) {
    std::mt19937_64 rng(1000 + day);
    std::vector<v1::Message> batch;
    const int conversations = static_cast<int>(per_day_ / kPerConversation);
    for (int c = 0; c < conversations; ++c) {
      const int tenant = static_cast<int>(rng() % kTenants);
      const absl::Time begins =
          DayStart(day) + absl::Seconds(rng() % (86400 - 3600));
      const std::string conversation =
          absl::StrFormat("conv-%02d-%06d", day, c);
      const std::string user = absl::StrFormat("user-%05d", rng() % 5000);
      for (int i = 1; i <= kPerConversation; ++i) {
        v1::Message& m = batch.emplace_back();
        m.set_tenant(TenantName(tenant));
        m.set_user(user);
        m.set_conversation(conversation);
        m.set_seq(i);
        m.set_role(i % 2 == 1 ? v1::ROLE_USER : v1::ROLE_ASSISTANT);
        ChatText(rng, 400, m.mutable_text());
        m.mutable_created_at()->set_seconds(
            absl::ToUnixSeconds(begins + absl::Seconds(15 * i)));
        m.set_category(v1::CATEGORY_TRANSCRIPT);
      }
      if (batch.size() >= 1000) {
        fn(batch);
        batch.clear();
      }
    }
    if (!batch.empty()) fn(batch);
  }

 private:
  int64_t per_day_;
  absl::Time start_;
};

// Counts the bytes compactions write.
class CompactionBytes : public rocksdb::EventListener {
 public:
  void OnCompactionCompleted(rocksdb::DB*,
                             const rocksdb::CompactionJobInfo& info) override {
    written_ += info.stats.total_output_bytes;
  }
  uint64_t written() const { return written_.load(); }

 private:
  std::atomic<uint64_t> written_{0};
};

// Per-tenant cutoffs at `now` for the raw layouts: expired iff created_at <
// cutoff of the key's tenant.
absl::flat_hash_map<std::string, int64_t> RawCutoffs(absl::Time now) {
  absl::flat_hash_map<std::string, int64_t> out;
  for (int t = 0; t < kTenants; ++t) {
    out[TenantName(t)] = absl::ToUnixMicros(now - TtlOf(t));
  }
  return out;
}

bool RawExpired(const absl::flat_hash_map<std::string, int64_t>& cutoffs,
                const rocksdb::Slice& key, const rocksdb::Slice& value) {
  const absl::string_view k(key.data(), key.size());
  const auto header = internal::DecodeRecordHeader(
      absl::string_view(value.data(), value.size()));
  if (!header.has_value()) return false;
  auto it = cutoffs.find(k.substr(0, k.find('\0')));
  return it != cutoffs.end() && header->created_at_micros < it->second;
}

// (b): the DBWithTTL-style filter: one TTL lookup per key.
class TtlFilter : public rocksdb::CompactionFilter {
 public:
  explicit TtlFilter(const absl::flat_hash_map<std::string, int64_t>* cutoffs)
      : cutoffs_(cutoffs) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string*, bool*) const override {
    return active_.load(std::memory_order_relaxed) &&
           RawExpired(*cutoffs_, key, value);
  }
  const char* Name() const override { return "bench.TtlFilter"; }
  // Off while the database settles after opening, so that nothing expires
  // before the clock starts.
  void Activate() { active_.store(true); }

 private:
  const absl::flat_hash_map<std::string, int64_t>* cutoffs_;
  std::atomic<bool> active_{false};
};

struct Result {
  std::string name;
  double unreadable_s = 0;  // until no read returns expired data
  double gone_s = 0;        // until expired data has left the SST files
  uint64_t sst_before = 0, sst_after = 0, rewritten = 0, live_keys = 0;
  // ebb only: ReadConversation right after the purge / in a store that never
  // held the expired data, for purged and for live conversations.
  double read_purged_ratio = 0, read_live_ratio = 0;
  // Before the clock starts, (a) and (b) wait for the compactions their
  // bulk-loaded database needs anyway; (c)'s purge waits for the running
  // ones itself, and that wait is subtracted from gone_s.
  double settle_s = 0;
};

std::unique_ptr<rocksdb::DB> OpenRaw(const std::string& dir,
                                     std::shared_ptr<CompactionBytes> bytes,
                                     const rocksdb::CompactionFilter* filter) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_background_jobs = 2;
  if (bytes) options.listeners.push_back(bytes);
  options.compaction_filter = filter;
  rocksdb::DB* db = nullptr;
  Check(rocksdb::DB::Open(options, dir, &db), "open raw");
  return std::unique_ptr<rocksdb::DB>(db);
}

// Waits until RocksDB has no compaction pending or running: the state a
// store is in when nothing has been bulk-loaded into it lately.
double Settle(rocksdb::DB* db) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    uint64_t pending = 0, running = 0;
    db->GetIntProperty(rocksdb::DB::Properties::kCompactionPending, &pending);
    db->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions,
                       &running);
    if (pending == 0 && running == 0) return Seconds(start);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

uint64_t CountKeys(rocksdb::DB* db) {
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions()));
  uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  Check(it->status(), "count");
  return n;
}

rocksdb::CompactRangeOptions ForceBottommost() {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return o;
}

Result Naive(const std::string& dir, absl::Time now) {
  Result r{"(a) naive: scan + Delete + full compaction"};
  const auto cutoffs = RawCutoffs(now);
  auto bytes = std::make_shared<CompactionBytes>();
  auto db = OpenRaw(dir, bytes, nullptr);
  r.settle_s = Settle(db.get());
  r.sst_before = SstBytes(dir);
  const auto start = std::chrono::steady_clock::now();
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions()));
    rocksdb::WriteBatch batch;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (RawExpired(cutoffs, it->key(), it->value())) {
        batch.Delete(it->key());
        if (batch.Count() >= 10000) {
          Check(db->Write(rocksdb::WriteOptions(), &batch), "delete");
          batch.Clear();
        }
      }
    }
    Check(db->Write(rocksdb::WriteOptions(), &batch), "delete");
    Check(it->status(), "scan");
  }
  r.unreadable_s = Seconds(start);
  const uint64_t written_before = bytes->written();
  Check(db->CompactRange(ForceBottommost(), nullptr, nullptr), "compact");
  r.gone_s = Seconds(start);
  r.rewritten = bytes->written() - written_before;
  r.live_keys = CountKeys(db.get());
  Check(db->Close(), "close");
  db.reset();
  r.sst_after = SstBytes(dir);
  return r;
}

Result TtlCompaction(const std::string& dir, absl::Time now) {
  Result r{"(b) DBWithTTL-style: filter + full compaction"};
  const auto cutoffs = RawCutoffs(now);
  TtlFilter filter(&cutoffs);
  auto bytes = std::make_shared<CompactionBytes>();
  auto db = OpenRaw(dir, bytes, &filter);
  r.settle_s = Settle(db.get());
  filter.Activate();
  r.sst_before = SstBytes(dir);
  const auto start = std::chrono::steady_clock::now();
  const uint64_t written_before = bytes->written();
  Check(db->CompactRange(ForceBottommost(), nullptr, nullptr), "compact");
  r.gone_s = r.unreadable_s = Seconds(start);
  r.rewritten = bytes->written() - written_before;
  r.live_keys = CountKeys(db.get());
  Check(db->Close(), "close");
  db.reset();
  r.sst_after = SstBytes(dir);
  return r;
}

// --tenant_cut_file_bytes, when given: Options::tenant_cut_file_bytes.
std::optional<size_t> tenant_cut_file_bytes;
// --day_start, when given: Options::day_start of the ebb stores. The purges
// here run at noon (BenchNow), so 12:10 is the setting an operator would pick.
std::optional<absl::Duration> day_start;

Options EbbOptions(std::shared_ptr<ManualClock> clock) {
  Options options;
  options.clock = std::move(clock);
  if (tenant_cut_file_bytes.has_value()) {
    options.tenant_cut_file_bytes = *tenant_cut_file_bytes;
  }
  options.day_start = day_start;
  return options;
}

std::unique_ptr<Store> OpenEbb(const std::string& dir,
                               std::shared_ptr<ManualClock> clock) {
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(EbbOptions(std::move(clock)), dir);
  Check(store.status(), "open ebb");
  return *std::move(store);
}

// A conversation to read back after the purge, and whether it should still
// be there.
struct Probe {
  std::string tenant, conversation;
  bool live = false;
};

// Microseconds per ReadConversation of `probes` of the kind `live`: the
// median of 5 passes after one to warm the caches. Exits if a read returns
// the wrong number of messages.
double ReadMicros(Store* store, const std::vector<Probe>& probes, bool live) {
  std::vector<double> passes;
  for (int pass = 0; pass < 6; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    size_t reads = 0;
    for (const Probe& p : probes) {
      if (p.live != live) continue;
      absl::StatusOr<std::vector<v1::Message>> read =
          store->ReadConversation(p.tenant, p.conversation);
      Check(read.status(), "read probe");
      if (read->size() != (live ? kPerConversation : 0)) {
        std::fprintf(stderr, "probe %s/%s: %zu messages\n", p.tenant.c_str(),
                     p.conversation.c_str(), read->size());
        std::exit(1);
      }
      ++reads;
    }
    if (pass > 0)
      passes.push_back(1e6 * Seconds(t0) / std::max<size_t>(reads, 1));
  }
  std::sort(passes.begin(), passes.end());
  return passes[passes.size() / 2];
}

// Copies, then writes everything still in the page cache to disk: a copy
// is timed as data written long ago (an unlink of a file whose pages were
// never written back frees no blocks and discards nothing: (c) took 0.39-0.41
// s on fresh copies against 0.59 s on its store in the same run), and no
// strategy's run competes with the writeback of the previous one's output.
void CopyDir(const std::string& from, const std::string& to) {
  std::filesystem::remove_all(to);
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
  ::sync();
}

std::string Mb(uint64_t bytes) {
  return absl::StrFormat("%.1f MB", static_cast<double>(bytes) / 1e6);
}

// Appends 10-message batches of live chat until *stop, recording each
// AppendBatch's latency in microseconds (from the call, not the schedule).
void LatencyWriter(Store* store, absl::Time now, int run,
                   const std::atomic<bool>* stop, std::vector<double>* micros) {
  std::mt19937_64 rng(7 + run);
  std::vector<v1::Message> batch(10);
  // Paced like a busy backend, not flat out: one batch per millisecond
  // (10 000 messages/s).
  auto next = std::chrono::steady_clock::now();
  for (int c = 0; !stop->load(); ++c) {
    next += std::chrono::milliseconds(1);
    std::this_thread::sleep_until(next);
    for (int i = 0; i < 10; ++i) {
      v1::Message& m = batch[i];
      m.set_tenant(TenantName(c % kTenants));
      m.set_user("user-live");
      m.set_conversation(absl::StrFormat("live-%d-%07d", run, c));
      m.set_seq(i + 1);
      m.set_role(v1::ROLE_USER);
      ChatText(rng, 400, m.mutable_text());
      m.mutable_created_at()->set_seconds(absl::ToUnixSeconds(now) - 60 + i);
      m.set_category(v1::CATEGORY_TRANSCRIPT);
    }
    const auto t0 = std::chrono::steady_clock::now();
    Check(store->AppendBatch(batch), "latency append");
    micros->push_back(Seconds(t0) * 1e6);
    if (micros->back() > 100'000 && getenv("PURGE_BENCH_DEBUG")) {
      std::printf("  slow append: %.3f s\n", micros->back() / 1e6);
      std::fflush(stdout);
    }
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

int Main(int argc, char** argv) {
  int64_t messages = 6'000'000;
  int nights = 60;
  int rounds = 1;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (absl::StartsWith(arg, "--messages=")) {
      if (!absl::SimpleAtoi(arg.substr(11), &messages)) return 2;
    } else if (absl::StartsWith(arg, "--nights=")) {
      if (!absl::SimpleAtoi(arg.substr(9), &nights)) return 2;
    } else if (absl::StartsWith(arg, "--rounds=")) {
      if (!absl::SimpleAtoi(arg.substr(9), &rounds) || rounds < 1) {
        std::fprintf(stderr, "--rounds must be a whole number from 1\n");
        return 2;
      }
    } else if (absl::StartsWith(arg, "--json=")) {
      json_path = std::string(arg.substr(7));
    } else if (absl::StartsWith(arg, "--tenant_cut_file_bytes=")) {
      size_t bytes = 0;
      if (!absl::SimpleAtoi(arg.substr(24), &bytes)) return 2;
      tenant_cut_file_bytes = bytes;
    } else if (absl::StartsWith(arg, "--day_start=")) {
      absl::StatusOr<absl::Duration> parsed = ParseTimeOfDay(arg.substr(12));
      if (!parsed.ok()) {
        std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
        return 2;
      }
      day_start = *parsed;
    } else {
      std::fprintf(stderr,
                   "usage: purge_bench [--messages=N] [--nights=N] "
                   "[--rounds=N] [--json=FILE] [--tenant_cut_file_bytes=N] "
                   "[--day_start=HH:MM]\n");
      return 2;
    }
  }
  ScratchDir scratch("purge_bench");
  const std::string raw = scratch.path() + "/raw";
  const std::string naive_dir = scratch.path() + "/naive";
  const std::string ttl_dir = scratch.path() + "/ttl";
  const std::string ebb_dir = scratch.path() + "/ebb";
  const std::string latency_dir = scratch.path() + "/ebb-latency";
  const std::string clean_dir = scratch.path() + "/ebb-clean";
  std::vector<Probe> probes;
  const absl::Time now = BenchNow();
  const absl::Time start = now - absl::Hours(24 * kDays);
  Workload workload(messages, start);

  // Build the raw database once; count what should survive.
  std::printf("building %lld messages over %d days...\n",
              static_cast<long long>(messages), kDays);
  uint64_t expected_live = 0, total = 0;
  {
    auto db = OpenRaw(raw, nullptr, nullptr);
    const auto cutoffs = RawCutoffs(now);
    std::string key, value;
    for (int day = 0; day < kDays; ++day) {
      workload.Day(day, [&](const std::vector<v1::Message>& batch) {
        rocksdb::WriteBatch wb;
        for (const v1::Message& m : batch) {
          key.clear();
          AppendRawKey(m.tenant(), m.conversation(), m.seq(), &key);
          internal::EncodeMessageRecord(m, &value);
          wb.Put(key, value);
          ++total;
          if (!RawExpired(cutoffs, key, value)) ++expected_live;
        }
        Check(db->Write(rocksdb::WriteOptions(), &wb), "write raw");
      });
    }
    Check(db->Close(), "close raw");
  }

  // The ebb store, written as a backend would have over the 90 days.
  auto clock = std::make_shared<ManualClock>(start);
  {
    auto store = OpenEbb(ebb_dir, clock);
    for (int t = 0; t < kTenants; ++t) {
      Check(store->SetPolicy(TenantName(t), v1::CATEGORY_TRANSCRIPT, TtlOf(t))
                .status(),
            "policy");
    }
    // The same store as if the expired data had never been written: what a
    // read into a purged region is compared with.
    auto clean = OpenEbb(clean_dir, clock);
    for (int t = 0; t < kTenants; ++t) {
      Check(clean->SetPolicy(TenantName(t), v1::CATEGORY_TRANSCRIPT, TtlOf(t))
                .status(),
            "policy");
    }
    const auto cutoffs = RawCutoffs(now);
    std::string key, value;
    std::vector<v1::Message> live;
    for (int day = 0; day < kDays; ++day) {
      clock->Set(workload.DayStart(day + 1));
      workload.Day(day, [&](const std::vector<v1::Message>& batch) {
        Check(store->AppendBatch(batch), "append");
        live.clear();
        for (const v1::Message& m : batch) {
          key.clear();
          AppendRawKey(m.tenant(), m.conversation(), m.seq(), &key);
          internal::EncodeMessageRecord(m, &value);
          const bool is_live = !RawExpired(cutoffs, key, value);
          if (is_live) live.push_back(m);
          // Every 25th conversation, by its last message.
          if (m.seq() == kPerConversation &&
              std::hash<std::string>()(m.conversation()) % 25 == 0) {
            probes.push_back({m.tenant(), m.conversation(), is_live});
          }
        }
        if (!live.empty()) Check(clean->AppendBatch(live), "append clean");
      });
    }
    Check(clean->Close(), "close clean");
    Check(store->Close(), "close ebb");
  }
  clock->Set(now);
  std::printf("%llu messages, %llu (%.1f %%) live at now\n",
              static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(expected_live),
              100.0 * expected_live / total);

  // (a) and (b) on fresh copies of the raw database.
  auto naive = [&] {
    CopyDir(raw, naive_dir);
    Result r = Naive(naive_dir, now);
    std::filesystem::remove_all(naive_dir);
    return r;
  };
  auto ttl = [&] {
    CopyDir(raw, ttl_dir);
    Result r = TtlCompaction(ttl_dir, now);
    std::filesystem::remove_all(ttl_dir);
    return r;
  };
  // Seconds to physically gone, per round: (a), (b), (c).
  std::vector<std::array<double, 3>> round_gone;
  auto print_round = [&] {
    const std::array<double, 3>& g = round_gone.back();
    std::printf(
        "round %zu of %d, to physically gone: (a) %.3f s, (b) %.3f s, (c) "
        "%.3f s; ebb %.1fx faster than (a), %.1fx faster than (b)\n",
        round_gone.size(), rounds, g[0], g[1], g[2], g[0] / g[2], g[1] / g[2]);
    std::fflush(stdout);
  };
  // Every round but the last purges a copy of the ebb store; the last purges
  // the store itself, which the latency run and the nights start from.
  for (int round = 1; round < rounds; ++round) {
    const Result a = naive();
    const Result b = ttl();
    if (a.live_keys != expected_live || b.live_keys != expected_live) {
      std::printf(
          "round %d: live keys MISMATCH: (a) %llu, (b) %llu, expected "
          "%llu\n",
          round, static_cast<unsigned long long>(a.live_keys),
          static_cast<unsigned long long>(b.live_keys),
          static_cast<unsigned long long>(expected_live));
      return 1;
    }
    const std::string copy = scratch.path() + "/ebb-round";
    CopyDir(ebb_dir, copy);
    auto store = OpenEbb(copy, clock);
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<PurgeReport> report = store->Purge(PurgeOptions());
    Check(report.status(), "purge");
    const double c =
        Seconds(t0) - absl::ToDoubleSeconds(report->waited_for_compactions);
    absl::StatusOr<VerifyReport> verify = store->Verify();
    Check(verify.status(), "verify");
    if (!verify->findings.empty()) {
      std::fprintf(stderr, "round %d: verify found %zu records\n", round,
                   verify->findings.size());
      return 1;
    }
    Check(store->Close(), "close");
    store.reset();
    std::filesystem::remove_all(copy);
    round_gone.push_back({a.gone_s, b.gone_s, c});
    print_round();
  }
  std::vector<Result> results;
  results.push_back(naive());
  results.push_back(ttl());
  std::filesystem::remove_all(raw);
  {
    Result r{"(c) ebb: ExpireDue + Purge"};
    // The same store, copied, for the latency run after the headline.
    CopyDir(ebb_dir, latency_dir);
    // For profiling the backlog purge alone: `ebb --db DIR purge --now
    // 2026-01-10T12:00:00Z` on copies of the store, without the build.
    if (const char* keep = getenv("PURGE_BENCH_KEEP_STORE")) {
      CopyDir(ebb_dir, keep);
    }
    auto store = OpenEbb(ebb_dir, clock);
    r.sst_before = SstBytes(ebb_dir);
    const auto t0 = std::chrono::steady_clock::now();
    PurgeOptions purge_options;
    if (getenv("PURGE_BENCH_DEBUG")) {
      purge_options.progress = [t0](absl::string_view line) {
        std::printf("  %.3f s: %.*s\n", Seconds(t0),
                    static_cast<int>(line.size()), line.data());
      };
    }
    absl::StatusOr<PurgeReport> report = store->Purge(purge_options);
    Check(report.status(), "purge");
    r.settle_s = absl::ToDoubleSeconds(report->waited_for_compactions);
    r.gone_s = Seconds(t0) - r.settle_s;
    // ebb's reads never return expired data; ExpireDue makes it deleted
    // (and audited) logically.
    r.unreadable_s = 0;
    r.rewritten = report->bytes_rewritten;
    absl::StatusOr<StoreStats> stats = store->Stats();
    Check(stats.status(), "stats");
    r.live_keys = stats->messages_live + stats->messages_expired;
    absl::StatusOr<VerifyReport> verify = store->Verify();
    Check(verify.status(), "verify");
    std::printf(
        "ebb purge: expired %llu messages, %llu files dropped (%s); "
        "verify: %zu findings\n",
        static_cast<unsigned long long>(report->expiry.messages),
        static_cast<unsigned long long>(report->files_dropped),
        Mb(report->bytes_dropped).c_str(), verify->findings.size());
    // Reads right after the purge, against the store that never held the
    // expired data: tombstones or leftovers in a purged region would slow
    // them down.
    {
      auto clean = OpenEbb(clean_dir, clock);
      for (bool live : {false, true}) {
        const double purged_us = ReadMicros(store.get(), probes, live);
        const double clean_us = ReadMicros(clean.get(), probes, live);
        std::printf(
            "read right after the purge, %s conversations: %.2f us "
            "vs %.2f us in a store that never held the expired data "
            "(%.2fx)\n",
            live ? "live" : "purged", purged_us, clean_us,
            purged_us / clean_us);
        (live ? r.read_live_ratio : r.read_purged_ratio) = purged_us / clean_us;
      }
      Check(clean->Close(), "close clean");
      std::filesystem::remove_all(clean_dir);
    }
    Check(store->Close(), "close");
    r.sst_after = SstBytes(ebb_dir);
    results.push_back(r);
  }
  round_gone.push_back(
      {results[0].gone_s, results[1].gone_s, results[2].gone_s});
  if (rounds > 1) {
    print_round();
    // The table shows each strategy's median over the rounds (the other
    // columns are the last round's).
    for (size_t i = 0; i < 3; ++i) {
      std::vector<double> gone;
      for (const std::array<double, 3>& g : round_gone) gone.push_back(g[i]);
      results[i].gone_s = Percentile(gone, 0.5);
      if (i == 1) results[i].unreadable_s = results[i].gone_s;
    }
  }

  // Foreground appends during the backlog purge, on the copy, against the
  // same appends without a purge.
  {
    auto store = OpenEbb(latency_dir, clock);
    std::vector<double> quiet_latency, purge_latency;
    {
      std::atomic<bool> stop{false};
      std::thread writer(LatencyWriter, store.get(), now, 0, &stop,
                         &quiet_latency);
      std::this_thread::sleep_for(std::chrono::seconds(5));
      stop.store(true);
      writer.join();
    }
    std::atomic<bool> stop{false};
    std::thread writer(LatencyWriter, store.get(), now, 1, &stop,
                       &purge_latency);
    const auto t0 = std::chrono::steady_clock::now();
    PurgeOptions loaded_options;
    if (getenv("PURGE_BENCH_DEBUG")) {
      loaded_options.progress = [t0](absl::string_view line) {
        std::printf("  under load %.3f s: %.*s\n", Seconds(t0),
                    static_cast<int>(line.size()), line.data());
        std::fflush(stdout);
      };
    }
    Check(store->Purge(loaded_options).status(), "purge under load");
    const double purge_s = Seconds(t0);
    stop.store(true);
    writer.join();
    for (const auto& [label, latency] :
         {std::pair<const char*, const std::vector<double>*>{"without purge",
                                                             &quiet_latency},
          {"during the backlog purge", &purge_latency}}) {
      std::printf(
          "append latency, 10-message batches at 1 per ms, %s: p50 "
          "%.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us (%zu "
          "batches)\n",
          label, Percentile(*latency, 0.5), Percentile(*latency, 0.99),
          Percentile(*latency, 0.999), Percentile(*latency, 1.0),
          latency->size());
    }
    std::printf("(the purge under load took %.3f s)\n", purge_s);
    Check(store->Close(), "close");
    std::filesystem::remove_all(latency_dir);
  }

  std::printf(
      "\n| strategy | settling (not counted) | to unreadable | to "
      "physically gone%s | SST before | SST after | rewritten | live "
      "keys after (expected %llu) |\n",
      rounds > 1 ? absl::StrFormat(" (median of %d rounds)", rounds).c_str()
                 : "",
      static_cast<unsigned long long>(expected_live));
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const Result& r : results) {
    std::printf("| %s | %.3f s | %.3f s | %.3f s | %s | %s | %s | %llu%s |\n",
                r.name.c_str(), r.settle_s, r.unreadable_s, r.gone_s,
                Mb(r.sst_before).c_str(), Mb(r.sst_after).c_str(),
                Mb(r.rewritten).c_str(),
                static_cast<unsigned long long>(r.live_keys),
                r.live_keys == expected_live ? "" : " MISMATCH");
  }
  const double vs_naive = results[0].gone_s / results[2].gone_s;
  const double vs_ttl = results[1].gone_s / results[2].gone_s;
  const double disk_vs_live =
      static_cast<double>(results[2].sst_after) / results[1].sst_after;
  std::printf(
      "\nebb to physically gone: %.1fx faster than (a), %.1fx faster "
      "than (b); SST after / (b)'s fully compacted live data: %.2fx\n",
      vs_naive, vs_ttl, disk_vs_live);

  // Steady state: one more day per night, then the purge.
  std::vector<double> night_fraction;
  std::vector<bool> night_after_change;
  std::vector<double> night_seconds;  // purge time, waits excluded
  // Of night_fraction: messages, index, metadata.
  std::vector<std::array<double, 3>> night_parts;
  {
    auto store = OpenEbb(ebb_dir, clock);
    Workload more(messages, now);
    for (int night = 0; night < nights; ++night) {
      clock->Set(now + absl::Hours(24) * (night + 1));
      more.Day(night, [&](const std::vector<v1::Message>& batch) {
        Check(store->AppendBatch(batch), "append");
      });
      // Every 15th night: tenants 2..11 shorten 30 d -> 14 d, and the 7-day
      // tenants 10, 20 lengthen to 30 d.
      const bool change = night % 15 == 7;
      if (change) {
        for (int t = 2; t < 12; ++t) {
          if (t % 10 >= 2) {
            Check(store
                      ->SetPolicy(TenantName(t), v1::CATEGORY_TRANSCRIPT,
                                  absl::Hours(24 * 14))
                      .status(),
                  "shorten");
          }
        }
        for (int t : {10, 20}) {
          Check(store
                    ->SetPolicy(TenantName(t), v1::CATEGORY_TRANSCRIPT,
                                absl::Hours(24 * 30))
                    .status(),
                "lengthen");
        }
      }
      absl::StatusOr<PurgeReport> report = store->Purge(PurgeOptions());
      Check(report.status(), "nightly purge");
      const double fraction = static_cast<double>(report->bytes_rewritten) /
                              std::max<uint64_t>(1, report->sst_bytes_after);
      night_fraction.push_back(fraction);
      const double live =
          static_cast<double>(std::max<uint64_t>(1, report->sst_bytes_after));
      night_parts.push_back({report->bytes_rewritten_messages / live,
                             report->bytes_rewritten_index / live,
                             report->bytes_rewritten_metadata / live});
      night_after_change.push_back(change);
      night_seconds.push_back(absl::ToDoubleSeconds(
          report->duration - report->waited_for_compactions));
      if (getenv("PURGE_BENCH_DEBUG")) {
        std::printf(
            "night %d: expired %llu, ranges %llu, dropped %llu files, "
            "rewritten %llu (messages %llu, index %llu, metadata %llu; "
            "background %llu), sst %llu -> %llu, %.3f s (waited %.3f s)\n",
            night, (unsigned long long)report->expiry.messages,
            (unsigned long long)report->ranges_compacted,
            (unsigned long long)report->files_dropped,
            (unsigned long long)report->bytes_rewritten,
            (unsigned long long)report->bytes_rewritten_messages,
            (unsigned long long)report->bytes_rewritten_index,
            (unsigned long long)report->bytes_rewritten_metadata,
            (unsigned long long)report->background_bytes_written,
            (unsigned long long)report->sst_bytes_before,
            (unsigned long long)report->sst_bytes_after,
            absl::ToDoubleSeconds(report->duration),
            absl::ToDoubleSeconds(report->waited_for_compactions));
      }
    }
    if (getenv("PURGE_BENCH_KEEP")) {  // leave the store for inspection
      std::printf("keeping %s\n", ebb_dir.c_str());
      std::fflush(stdout);
      std::_Exit(0);
    }
    absl::StatusOr<VerifyReport> verify = store->Verify();
    Check(verify.status(), "verify");
    std::printf("after %d nights: verify found %zu records\n", nights,
                verify->findings.size());
    Check(store->Close(), "close");
  }
  double quiet_sum = 0, change_sum = 0, quiet_max = 0, change_max = 0;
  int quiet = 0, changes = 0;
  for (size_t i = 0; i < night_fraction.size(); ++i) {
    if (night_after_change[i]) {
      change_sum += night_fraction[i];
      change_max = std::max(change_max, night_fraction[i]);
      ++changes;
    } else {
      quiet_sum += night_fraction[i];
      quiet_max = std::max(quiet_max, night_fraction[i]);
      ++quiet;
    }
  }
  std::printf(
      "steady state, bytes rewritten / live SST bytes: nights without "
      "a policy change: mean %.2f %%, max %.2f %% (%d nights); nights "
      "with one: mean %.2f %%, max %.2f %% (%d nights)\n",
      quiet ? 100 * quiet_sum / quiet : 0.0, 100 * quiet_max, quiet,
      changes ? 100 * change_sum / changes : 0.0, 100 * change_max, changes);
  {
    std::array<double, 3> quiet_parts{};
    for (size_t i = 0; i < night_parts.size(); ++i) {
      if (night_after_change[i]) continue;
      for (int p = 0; p < 3; ++p) quiet_parts[p] += night_parts[i][p];
    }
    if (quiet > 0) {
      std::printf(
          "of which, on nights without a change: messages %.2f %%, index "
          "%.2f %%, metadata %.2f %%\n",
          100 * quiet_parts[0] / quiet, 100 * quiet_parts[1] / quiet,
          100 * quiet_parts[2] / quiet);
    }
  }
  if (!night_seconds.empty()) {
    std::vector<double> sorted = night_seconds;
    std::sort(sorted.begin(), sorted.end());
    double sum = 0;
    for (double x : sorted) sum += x;
    std::printf(
        "nightly purge time (waits for running compactions "
        "excluded): mean %.3f s, median %.3f s, max %.3f s\n",
        sum / sorted.size(), sorted[sorted.size() / 2], sorted.back());
  }
  std::printf("per night (%%):");
  for (size_t i = 0; i < night_fraction.size(); ++i) {
    std::printf(" %s%.2f", night_after_change[i] ? "*" : "",
                100 * night_fraction[i]);
  }
  std::printf("\n");

  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << "{\"messages\":" << total << ",\"expected_live\":" << expected_live
        << ",\"strategies\":[";
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      out << (i ? "," : "") << "{\"name\":\"" << r.name
          << "\",\"unreadable_s\":" << r.unreadable_s
          << ",\"gone_s\":" << r.gone_s << ",\"settle_s\":" << r.settle_s
          << ",\"sst_before\":" << r.sst_before
          << ",\"sst_after\":" << r.sst_after
          << ",\"rewritten\":" << r.rewritten
          << ",\"live_keys\":" << r.live_keys << "}";
    }
    out << "],\"rounds\":[";
    for (size_t i = 0; i < round_gone.size(); ++i) {
      out << (i ? "," : "") << "{\"naive_gone_s\":" << round_gone[i][0]
          << ",\"ttl_gone_s\":" << round_gone[i][1]
          << ",\"ebb_gone_s\":" << round_gone[i][2] << "}";
    }
    out << "],\"ebb_vs_naive\":" << vs_naive << ",\"ebb_vs_ttl\":" << vs_ttl
        << ",\"disk_after_vs_live\":" << disk_vs_live
        << ",\"read_purged_vs_clean\":" << results[2].read_purged_ratio
        << ",\"read_live_vs_clean\":" << results[2].read_live_ratio
        << ",\"nights\":[";
    for (size_t i = 0; i < night_fraction.size(); ++i) {
      out << (i ? "," : "") << "{\"rewritten_fraction\":" << night_fraction[i]
          << ",\"messages_fraction\":" << night_parts[i][0]
          << ",\"index_fraction\":" << night_parts[i][1]
          << ",\"metadata_fraction\":" << night_parts[i][2]
          << ",\"policy_change\":" << (night_after_change[i] ? "true" : "false")
          << "}";
    }
    out << "]}\n";
  }
  const bool ok = results[0].live_keys == expected_live &&
                  results[1].live_keys == expected_live &&
                  results[2].live_keys == expected_live;
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ebb::bench

int main(int argc, char** argv) { return ebb::bench::Main(argc, argv); }
