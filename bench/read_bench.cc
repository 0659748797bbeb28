// Copyright ebb authors.
//
// Reading one conversation (~20 messages): Store::ReadConversation vs a plain
// RocksDB prefix scan of the same messages laid out conversation-major
// (tenant \0 conversation \0 seq -> serialized v1::Message). Target: ebb
// <= 1.1x the raw time per read.
//
// Setup, once per process and outside any timing: 10,000 conversations (about
// 200k messages, 200 tenants, created over the last 7 days) written to an ebb
// store and to a raw DB, both fully compacted so that reads hit SSTs. Both use
// RocksDB's default table options (8 MB block cache per column family, Snappy).
// Every conversation is then read through both and checked to hold exactly the
// messages written, byte for byte.
//
// Each iteration reads one conversation picked at random (fixed seed, the same
// sequence for every benchmark). Variants:
// - BM_ReadEbb: the public API. Returns parsed v1::Message objects.
// - BM_ReadEbbSerialized: Store::ReadConversationSerialized, the same messages
//   as the serialized bytes they were stored as (no parsing), like the raw
//   scan's values.
// - BM_ReadRawScan: the baseline. Seek + Next while the prefix matches, copying
//   key and value into std::strings.
// - BM_ReadRawScanParse: the baseline plus ParseFromString of each value into a
//   v1::Message, to show how much of ebb's time is protobuf parsing rather than
//   its index seek and per-bucket seeks. Informational, not the target.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "ebb/v1/message.pb.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/options.h"
#include "lib/ebb/store.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace ebb::bench {
namespace {

constexpr int kConversations = 10000;
constexpr size_t kPicks = 1 << 16;

[[noreturn]] void Die(absl::string_view what) {
  std::fprintf(stderr, "read_bench setup: %.*s\n",
               static_cast<int>(what.size()), what.data());
  std::abort();
}

// The two databases, populated on first use and torn down explicitly by main()
// (before static destruction, which RocksDB's own statics may precede).
class ReadFixture {
 public:
  static ReadFixture& Get() {
    if (instance_ == nullptr) instance_ = new ReadFixture();
    return *instance_;
  }
  static void TearDown() {
    delete instance_;
    instance_ = nullptr;
  }

  Store& store() { return **store_; }

  // The baseline read: Seek, then Next while the prefix matches, copying.
  void ScanRaw(const ConversationRef& ref,
               std::vector<std::pair<std::string, std::string>>* out) {
    out->clear();
    const std::string prefix = RawKeyPrefix(ref.tenant, ref.conversation);
    std::unique_ptr<rocksdb::Iterator> it(
        raw_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      out->emplace_back(it->key().ToString(), it->value().ToString());
    }
    if (!it->status().ok()) Die(it->status().ToString());
  }

  // The i-th conversation of the fixed random sequence.
  const ConversationRef& Pick(size_t i) const {
    return conversations_[picks_[i % picks_.size()]];
  }

 private:
  ReadFixture() : ebb_dir_("read-ebb"), raw_dir_("read-raw") {
    Options options;
    options.clock = std::make_shared<ManualClock>(BenchNow());
    store_ = Store::Open(options, ebb_dir_.path());
    if (!store_.ok()) Die(store_.status().ToString());
    rocksdb::Options raw_options;
    raw_options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(raw_options, raw_dir_.path(), &raw);
    if (!s.ok()) Die(s.ToString());
    raw_.reset(raw);

    ChatOptions chat;
    chat.active_conversations = 1;
    chat.spread = absl::Hours(24 * 7);
    chat.seed = 7;
    ChatGenerator gen(chat);
    std::vector<v1::Message> batch;
    std::string key;
    uint64_t messages = 0;
    while (gen.conversations().size() <= kConversations) {
      gen.Next(1000, &batch);
      messages += batch.size();
      if (absl::Status st = store().AppendBatch(batch); !st.ok()) {
        Die(st.ToString());
      }
      rocksdb::WriteBatch wb;
      for (const v1::Message& m : batch) {
        key.clear();
        AppendRawKey(m.tenant(), m.conversation(), m.seq(), &key);
        wb.Put(key, m.SerializeAsString());
      }
      s = raw_->Write(rocksdb::WriteOptions(), &wb);
      if (!s.ok()) Die(s.ToString());
    }
    // Only complete conversations are read; the last one may be partial.
    conversations_.assign(gen.conversations().begin(),
                          gen.conversations().begin() + kConversations);

    if (absl::Status st = store().CompactAll(); !st.ok()) Die(st.ToString());
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForce;
    s = raw_->CompactRange(compact, nullptr, nullptr);
    if (!s.ok()) Die(s.ToString());

    std::mt19937_64 rng(2026);
    picks_.resize(kPicks);
    for (uint32_t& p : picks_)
      p = static_cast<uint32_t>(rng() % kConversations);

    // Both sides must return exactly what was written.
    for (const ConversationRef& ref : conversations_) {
      absl::StatusOr<std::vector<v1::Message>> got =
          store().ReadConversation(ref.tenant, ref.conversation);
      if (!got.ok()) Die(got.status().ToString());
      std::vector<std::pair<std::string, std::string>> raw_got;
      ScanRaw(ref, &raw_got);
      if (got->size() != static_cast<size_t>(ref.length) ||
          raw_got.size() != got->size()) {
        Die(absl::StrFormat("%s/%s: ebb read %d, raw read %d, wrote %d",
                            ref.tenant, ref.conversation, got->size(),
                            raw_got.size(), ref.length));
      }
      absl::StatusOr<std::vector<std::string>> serialized =
          store().ReadConversationSerialized(ref.tenant, ref.conversation);
      if (!serialized.ok()) Die(serialized.status().ToString());
      if (serialized->size() != got->size()) {
        Die(absl::StrFormat("%s/%s: ebb read %d, serialized read %d",
                            ref.tenant, ref.conversation, got->size(),
                            serialized->size()));
      }
      for (size_t i = 0; i < got->size(); ++i) {
        if ((*got)[i].SerializeAsString() != raw_got[i].second ||
            (*serialized)[i] != raw_got[i].second) {
          Die(absl::StrCat(ref.tenant, "/", ref.conversation,
                           ": ebb and raw disagree at message ", i));
        }
      }
    }
    std::fprintf(
        stderr, "read_bench setup: %d conversations, %llu messages, verified\n",
        kConversations, static_cast<unsigned long long>(messages));
  }

  ~ReadFixture() {
    (*store_)->Close().IgnoreError();
    raw_->Close().PermitUncheckedError();
    raw_.reset();
  }

 private:
  static ReadFixture* instance_;
  ScratchDir ebb_dir_;
  ScratchDir raw_dir_;
  absl::StatusOr<std::unique_ptr<Store>> store_;
  std::unique_ptr<rocksdb::DB> raw_;
  std::vector<ConversationRef> conversations_;
  std::vector<uint32_t> picks_;
};

ReadFixture* ReadFixture::instance_ = nullptr;

// One read per iteration, of the next picked conversation. `read(ref)` returns
// the number of messages read, or an error that ends the run.
template <typename Read>
void RunReads(benchmark::State& state, Read read) {
  ReadFixture& f = ReadFixture::Get();
  size_t i = 0;
  uint64_t messages = 0;
  for (auto _ : state) {
    absl::StatusOr<size_t> n = read(f, f.Pick(i++));
    if (!n.ok()) {
      state.SkipWithError(n.status().ToString().c_str());
      break;
    }
    messages += *n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["msgs_per_read"] =
      static_cast<double>(messages) / static_cast<double>(state.iterations());
}

void BM_ReadEbb(benchmark::State& state) {
  RunReads(
      state,
      [](ReadFixture& f, const ConversationRef& ref) -> absl::StatusOr<size_t> {
        absl::StatusOr<std::vector<v1::Message>> got =
            f.store().ReadConversation(ref.tenant, ref.conversation);
        if (!got.ok()) return got.status();
        benchmark::DoNotOptimize(got->data());
        return got->size();
      });
}

void BM_ReadEbbSerialized(benchmark::State& state) {
  RunReads(
      state,
      [](ReadFixture& f, const ConversationRef& ref) -> absl::StatusOr<size_t> {
        absl::StatusOr<std::vector<std::string>> got =
            f.store().ReadConversationSerialized(ref.tenant, ref.conversation);
        if (!got.ok()) return got.status();
        benchmark::DoNotOptimize(got->data());
        return got->size();
      });
}

void BM_ReadRawScan(benchmark::State& state) {
  RunReads(
      state,
      [](ReadFixture& f, const ConversationRef& ref) -> absl::StatusOr<size_t> {
        std::vector<std::pair<std::string, std::string>> got;
        f.ScanRaw(ref, &got);
        benchmark::DoNotOptimize(got.data());
        return got.size();
      });
}

void BM_ReadRawScanParse(benchmark::State& state) {
  RunReads(
      state,
      [](ReadFixture& f, const ConversationRef& ref) -> absl::StatusOr<size_t> {
        std::vector<std::pair<std::string, std::string>> got;
        f.ScanRaw(ref, &got);
        std::vector<v1::Message> parsed(got.size());
        for (size_t j = 0; j < got.size(); ++j) {
          if (!parsed[j].ParseFromString(got[j].second)) {
            return absl::DataLossError("raw read: unparsable message");
          }
        }
        benchmark::DoNotOptimize(parsed.data());
        return parsed.size();
      });
}

BENCHMARK(BM_ReadEbb)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ReadEbbSerialized)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ReadRawScan)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ReadRawScanParse)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace ebb::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  ebb::bench::ReadFixture::TearDown();
  benchmark::Shutdown();
  return 0;
}
