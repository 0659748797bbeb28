// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: bench_util.h
// -----------------------------------------------------------------------------
//
// Shared by the benchmarks in bench/: a deterministic generator of chat-like
// traffic, a scratch directory per benchmark run, and the plain-RocksDB
// "conversation-major" layout every ebb benchmark is measured against.
//
// (tests/test_util is testonly, and a benchmark binary is not a test, so these
// few helpers live here.)
//
// Example:
//
//   ebb::bench::ChatOptions options;
//   options.active_conversations = 1000;  // live traffic: interleaved
//   ebb::bench::ChatGenerator gen(options);
//   std::vector<ebb::v1::Message> batch;
//   uint64_t bytes = gen.Next(1000, &batch);  // 1000 messages, `bytes`
//   serialized

#ifndef EBB_BENCH_BENCH_UTIL_H_
#define EBB_BENCH_BENCH_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ebb/v1/message.pb.h"

namespace ebb::bench {

// 2026-01-10T12:00:00Z: "now" on every benchmark's ManualClock.
absl::Time BenchNow();

// A new empty directory under $TEST_TMPDIR (or /tmp), removed with everything
// in it when the object goes away. Aborts the process if it cannot be made: a
// benchmark without its directory has nothing to measure.
class ScratchDir {
 public:
  explicit ScratchDir(absl::string_view label);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Replaces *text with chat-like words, uniform in [0.75, 1.25] x mean_bytes
// long, ending in '.': compresses like real text, unlike random bytes.
void ChatText(std::mt19937_64& rng, int mean_bytes, std::string* text);

struct ChatOptions {
  // Tenants "tenant-000" .. ; users "user-00000" .. per tenant.
  int tenants = 200;
  int users_per_tenant = 500;
  // Conversation lengths are uniform in [min, max] (mean 20).
  int min_conversation_length = 10;
  int max_conversation_length = 30;
  // How many conversations are open at once. Each message comes from one of
  // them picked at random, so a batch interleaves about this many
  // conversations; 1 writes each conversation's messages contiguously (an
  // import or backfill).
  int active_conversations = 1;
  // Conversations start uniformly in [now - spread, now - length * step], so
  // every created_at lies in [now - spread, now].
  absl::Time now = BenchNow();
  absl::Duration spread = absl::Hours(4);
  absl::Duration step = absl::Seconds(15);  // between two messages of one
  // Mean message text length; each text is uniform in [0.75, 1.25] of it,
  // made of chat-like words (compressible like real text, unlike random bytes).
  int text_bytes = 400;
  uint64_t seed = 42;
};

// One conversation the generator has started.
struct ConversationRef {
  std::string tenant;
  std::string conversation;
  int length;  // messages it has when complete
};

// Deterministic: the same options give the same messages in the same order.
// Every message is valid for Store::Append (ids, role, category, created_at at
// whole microseconds, at most `now`). Not thread-safe.
class ChatGenerator {
 public:
  explicit ChatGenerator(const ChatOptions& options);

  // Replaces `out` with the next `n` messages (reusing its elements' storage)
  // and returns their total serialized size, ByteSizeLong().
  uint64_t Next(size_t n, std::vector<v1::Message>* out);

  // One message per tenant, in a conversation of its own: lets a benchmark
  // register every tenant before it starts timing.
  uint64_t OnePerTenant(std::vector<v1::Message>* out);

  // Every conversation started so far, in order of start.
  const std::vector<ConversationRef>& conversations() const {
    return conversations_;
  }

 private:
  struct Open {
    int tenant;
    int user;
    size_t ref;  // into conversations_
    int next_seq;
    absl::Time start;
  };
  Open StartConversation();
  void Fill(const Open& open, v1::Message* m);
  void FillText(std::string* text);

  ChatOptions options_;
  std::mt19937_64 rng_;
  std::vector<Open> open_;
  std::vector<ConversationRef> conversations_;
  std::vector<uint64_t> next_conversation_number_;  // per tenant
};

// The baseline layout: plain RocksDB, key = tenant \0 conversation \0 seq
// (u64 big-endian), value = the serialized v1::Message.
std::string RawKeyPrefix(absl::string_view tenant,
                         absl::string_view conversation);
void AppendRawKey(absl::string_view tenant, absl::string_view conversation,
                  uint64_t seq, std::string* out);

}  // namespace ebb::bench

#endif  // EBB_BENCH_BENCH_UTIL_H_
