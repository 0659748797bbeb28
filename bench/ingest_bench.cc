// Copyright ebb authors.
//
// Ingest: Store::AppendBatch of 1000 chat messages vs a plain RocksDB
// WriteBatch of the same messages' serialized bytes under conversation-major
// keys (tenant \0 conversation \0 seq). Target: ebb >= 0.8x the raw throughput.
//
// Both sides: a fresh directory per run, RocksDB's default options (Snappy,
// 64 MB memtables, 2 background jobs), WAL on, no sync. The clock is wall time
// (UseRealTime), so flushes and compactions on the other core that slow the
// writer down count, as they would in production. Generating each batch is
// excluded from the time (PauseTiming); serializing it is not, for either side.
//
// Arg: how many conversations are open at once. 1: each batch holds ~50 whole
// conversations (an import). 1000: a batch interleaves ~630 conversations, as a
// backend flushing live traffic would send it; ebb then writes more index
// entries per batch.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "ebb/v1/message.pb.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/options.h"
#include "lib/ebb/store.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace ebb::bench {
namespace {

constexpr size_t kBatch = 1000;

ChatOptions IngestChat(int active_conversations) {
  ChatOptions options;
  options.active_conversations = active_conversations;
  options.spread = absl::Hours(4);
  return options;
}

// Writes the warm-up batch (one message per tenant, untimed: ebb registers
// each new tenant with a synced write), then one generated batch per iteration,
// timing only `write`. `write(batch)` returns absl::Status or rocksdb::Status.
template <typename Write>
void RunIngest(benchmark::State& state, Write write) {
  ChatGenerator gen(IngestChat(static_cast<int>(state.range(0))));
  std::vector<v1::Message> batch;
  gen.OnePerTenant(&batch);
  if (auto s = write(batch); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  uint64_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    bytes += gen.Next(kBatch, &batch);
    state.ResumeTiming();
    if (auto s = write(batch); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_IngestEbb(benchmark::State& state) {
  ScratchDir dir("ingest-ebb");
  Options options;  // sync_writes = false: WAL written, not synced
  options.clock = std::make_shared<ManualClock>(BenchNow());
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(options, dir.path());
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  RunIngest(state, [&](const std::vector<v1::Message>& batch) {
    return (*store)->AppendBatch(batch);
  });
  // Waits for background work, outside the timed loop.
  if (absl::Status s = (*store)->Close(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
  }
}

void BM_IngestRawRocksDB(benchmark::State& state) {
  ScratchDir dir("ingest-raw");
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened = rocksdb::DB::Open(options, dir.path(), &raw);
  if (!opened.ok()) {
    state.SkipWithError(opened.ToString().c_str());
    return;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  const rocksdb::WriteOptions write_options;  // WAL written, not synced
  std::string key;
  std::string value;
  RunIngest(state, [&](const std::vector<v1::Message>& batch) {
    rocksdb::WriteBatch wb;
    for (const v1::Message& m : batch) {
      key.clear();
      AppendRawKey(m.tenant(), m.conversation(), m.seq(), &key);
      value = m.SerializeAsString();
      wb.Put(key, value);
    }
    return db->Write(write_options, &wb);
  });
  if (rocksdb::Status s = db->Close(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
  }
}

BENCHMARK(BM_IngestEbb)
    ->ArgName("active_convs")
    ->Arg(1)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_IngestRawRocksDB)
    ->ArgName("active_convs")
    ->Arg(1)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ebb::bench
