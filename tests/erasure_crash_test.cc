// Copyright ebb authors.
//
// Crash atomicity of erasure: a child process erases a user with thousands of
// messages and is SIGKILLed at a random moment (before, during or after the
// erasure's write). The reopened store must show either the whole erasure,
// audited once, with the guard in force, or none of it. Seeded: the seed is
// printed on failure.

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/ebb/store.h"
#include "tests/test_util.h"

namespace ebb {
namespace {

using ::ebb::testing::MakeMessage;
using ::ebb::testing::TempDir;
using ::ebb::testing::TestOptions;

constexpr int kConversations = 200;
constexpr int kPerConversation = 40;

void Populate(const std::string& path, std::shared_ptr<ManualClock>* clock) {
  Options options = TestOptions(clock);
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options, path);
  ASSERT_TRUE(store.ok()) << store.status();
  for (int c = 0; c < kConversations; c += 10) {
    std::vector<v1::Message> batch;
    for (int k = c; k < c + 10; ++k) {
      for (int i = 1; i <= kPerConversation; ++i) {
        batch.push_back(
            MakeMessage("acme", "victim", absl::StrCat("c", k), i,
                        (*clock)->Now() - absl::Hours(2) + absl::Seconds(i),
                        std::string(200, 'w')));
      }
    }
    batch.push_back(MakeMessage("acme", "bystander", absl::StrCat("b", c), 1,
                                (*clock)->Now() - absl::Hours(1)));
    ASSERT_TRUE((*store)->AppendBatch(batch).ok());
  }
  ASSERT_TRUE((*store)->Close().ok());
}

// Runs the child and kills it after `delay`. Returns what it printed.
std::string RunAndKill(const std::string& path, absl::Time now,
                       std::chrono::microseconds delay) {
  ::ebb::testing::ChildProcess child(
      "tests/erase_child",
      {path, "acme", "victim", absl::StrCat(absl::ToUnixSeconds(now))});
  std::this_thread::sleep_for(delay);
  child.Kill();
  child.Wait();
  return child.ReadAll();
}

TEST(ErasureCrashTest, KilledErasureIsAllOrNothing) {
  const uint64_t seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 random(seed);
  int erased_runs = 0, untouched_runs = 0;
  for (int run = 0; run < 8; ++run) {
    SCOPED_TRACE(absl::StrCat("run ", run));
    TempDir dir;
    std::shared_ptr<ManualClock> clock;
    Populate(dir.path(), &clock);
    // Opening takes a few ms, the erasure some tens: spread the kills over
    // both and past the end.
    const auto delay = std::chrono::microseconds(
        std::uniform_int_distribution<int>(0, 400'000)(random));
    const std::string printed = RunAndKill(dir.path(), clock->Now(), delay);

    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(TestOptions(&clock), dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    int full = 0, empty = 0;
    for (int c = 0; c < kConversations; ++c) {
      absl::StatusOr<std::vector<v1::Message>> read =
          (*store)->ReadConversation("acme", absl::StrCat("c", c));
      ASSERT_TRUE(read.ok());
      if (read->size() == kPerConversation) ++full;
      if (read->empty()) ++empty;
    }
    std::vector<v1::AuditRecord> erasures;
    ASSERT_TRUE((*store)
                    ->ExportAudit([&](const v1::AuditRecord& r) {
                      if (r.action() == v1::AUDIT_ERASE) erasures.push_back(r);
                      return absl::OkStatus();
                    })
                    .ok());
    absl::StatusOr<AuditVerification> verified = (*store)->VerifyAudit();
    ASSERT_TRUE(verified.ok());
    EXPECT_TRUE(verified->ok) << verified->problem;
    const absl::Status replay = (*store)->Append(
        MakeMessage("acme", "victim", "c0", 1, clock->Now() - absl::Hours(2)));
    if (empty == kConversations) {
      ++erased_runs;
      ASSERT_EQ(erasures.size(), 1u);
      EXPECT_EQ(erasures[0].counts().messages(),
                uint64_t{kConversations} * kPerConversation);
      EXPECT_EQ(replay.code(), absl::StatusCode::kFailedPrecondition);
    } else {
      ++untouched_runs;
      EXPECT_EQ(full, kConversations) << "a half-applied erasure";
      EXPECT_TRUE(erasures.empty());
      EXPECT_FALSE(absl::StrContains(printed, "erased"));
    }
    // The bystander is never touched.
    absl::StatusOr<std::vector<ConversationInfo>> bystander =
        (*store)->ListConversations("acme", "bystander");
    ASSERT_TRUE(bystander.ok());
    EXPECT_EQ(bystander->size(), size_t{kConversations / 10});
  }
  // Not asserted (timing-dependent), but shown: both outcomes should occur.
  std::printf("erasure crash test: %d runs erased, %d untouched\n", erased_runs,
              untouched_runs);
}

}  // namespace
}  // namespace ebb
