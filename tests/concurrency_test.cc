// Copyright ebb authors.
//
// Every kind of caller at once on one store: two writers, two readers (one
// through ReadConversation, one through ReadConversationSerialized), an
// eraser, a policy changer and a purge loop, with simulated time running
// through days so that data expires while it is being read and purged.
//
// While they run, every message a reader gets must be
// - intact: its text encodes its own tenant, conversation, seq, user and
//   created_at, so a torn or misplaced record shows;
// - not certainly expired: created more than the longest TTL ever in force
//   before the read began;
// - not erased: no erasure acknowledged before the read began covers it;
// and ListConversations must not list an erased conversation.
//
// Afterwards, as in the crash test: every acknowledged message that is neither
// expired (by the final policies) nor erased reads back identical and every
// other one does not; ListConversations agrees with the messages; the audit
// ledger verifies and holds each acknowledged erasure exactly once; a last
// purge completes and Verify finds nothing on disk.
//
// Seeded: EBB_CONCURRENCY_SEED (default 1) picks what each thread does, and
// EBB_CONCURRENCY_RUNS runs that many seeds from there; the interleaving is
// up to the scheduler. Failures print the seed. Run it under
// --config=asan (CI) and --config=tsan (docs/crash-testing.md).

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/options.h"
#include "lib/ebb/store.h"
#include "tests/test_util.h"

namespace ebb {
namespace {

using ::ebb::testing::Days;
using ::ebb::testing::T0;
using ::ebb::testing::TempDir;

constexpr int kTenants = 3;
constexpr int kUsersPerTenant = 6;
constexpr int kWriters = 2;
constexpr int kReaders = 2;
constexpr int kBatchesPerWriter = 500;
// Each batch moves the clock this far: 1000 batches span about 14 days, so
// data written early expires under every TTL the policy changer sets.
constexpr absl::Duration kClockStep = absl::Minutes(20);
// The TTLs the policy changer picks from; the first is every tenant's at the
// start (set before the threads start, so the 30-day default never applies).
const absl::Duration kTtls[] = {Days(2), Days(1), Days(3)};
constexpr absl::Duration kLongestTtl = absl::Hours(72);

uint64_t Seed() {
  uint64_t seed = 1;
  if (const char* env = std::getenv("EBB_CONCURRENCY_SEED")) {
    (void)absl::SimpleAtoi(env, &seed);
  }
  return seed;
}

std::string Tenant(int i) { return absl::StrCat("t", i); }

// The text a message carries: its own identity, then padding.
std::string TextFor(const v1::Message& m) {
  return absl::StrCat(m.tenant(), "/", m.conversation(), "/", m.seq(), "/",
                      m.user(), "/", m.created_at().seconds(), " ",
                      std::string(30 + m.seq() % 200, 'x'));
}

struct Conversation {
  std::string tenant, user, id;
  uint64_t next_seq = 1;
  bool retired = false;  // chosen for erasure: no writer appends any more
};

struct Erasure {
  bool user = false;  // else conversation
  std::string tenant, id, request_id;
};

// What the threads share: the registry of conversations, the acknowledged
// messages and erasures.
class Shared {
 public:
  explicit Shared(uint64_t seed) : seed_(seed) {}

  uint64_t seed() const { return seed_; }

  // A conversation for a writer to append to: an existing one of its own, or
  // a new one for a user not erased. Returns its index.
  int PickConversation(int writer, std::mt19937_64& rng) {
    absl::MutexLock lock(&mu_);
    std::vector<int> mine;
    for (int i = 0; i < static_cast<int>(conversations_.size()); ++i) {
      if (owner_[i] == writer && !conversations_[i].retired) mine.push_back(i);
    }
    if (mine.empty() || rng() % 4 == 0) {
      const std::string tenant = Tenant(static_cast<int>(rng() % kTenants));
      const std::string user =
          absl::StrCat("u", rng() % kUsersPerTenant, "-w", writer);
      if (erased_users_.count({tenant, user}) == 0) {
        conversations_.push_back(
            {tenant, user, absl::StrCat("w", writer, "-c", next_id_++)});
        owner_.push_back(writer);
        return static_cast<int>(conversations_.size()) - 1;
      }
      if (mine.empty()) return -1;
    }
    return mine[rng() % mine.size()];
  }

  // Builds the next batch of conversation `index` (seqs reserved); empty if
  // the conversation has been chosen for erasure. `now` was read before the
  // lock: if the conversation is not retired yet, the erasure that will
  // retire it reads the clock later, so these messages fall before its
  // cutoff and are erased (or refused) with the rest.
  std::vector<v1::Message> NextBatch(int index, int size, absl::Time now) {
    absl::MutexLock lock(&mu_);
    Conversation& c = conversations_[index];
    std::vector<v1::Message> batch;
    if (c.retired) return batch;
    for (int i = 0; i < size; ++i) {
      v1::Message& m = batch.emplace_back();
      m.set_tenant(c.tenant);
      m.set_user(c.user);
      m.set_conversation(c.id);
      m.set_seq(c.next_seq++);
      m.set_role(m.seq() % 2 == 1 ? v1::ROLE_USER : v1::ROLE_ASSISTANT);
      m.set_category(v1::CATEGORY_TRANSCRIPT);
      m.mutable_created_at()->set_seconds(absl::ToUnixSeconds(now));
      m.set_text(TextFor(m));
    }
    return batch;
  }

  // A writer's batch is over: stored (`acknowledged`) or refused.
  void BatchDone(std::vector<v1::Message> batch, bool acknowledged) {
    absl::MutexLock lock(&mu_);
    if (acknowledged) {
      for (v1::Message& m : batch) acknowledged_.push_back(std::move(m));
    }
    ++batches_done_;
  }

  void WriterFinished() {
    absl::MutexLock lock(&mu_);
    ++writers_finished_;
  }
  bool AllWritersFinished() const {
    absl::MutexLock lock(&mu_);
    return writers_finished_ == kWriters;
  }

  // Blocks until `batches` batches are done or the writers have finished;
  // false in the latter case.
  bool WaitForBatches(int batches) {
    absl::MutexLock lock(&mu_);
    const BatchesReached reached{this, batches};
    mu_.Await(absl::Condition(&reached, &BatchesReached::Ready));
    return batches_done_ >= batches;
  }

  // Picks something to erase and retires it first, so no writer appends to it
  // afterwards (an append already in flight is refused by the erasure guard:
  // its created_at is before the erasure's cutoff). False if there is nothing.
  bool PickErasure(std::mt19937_64& rng, int k, Erasure* out) {
    absl::MutexLock lock(&mu_);
    if (conversations_.empty()) return false;
    const Conversation& c = conversations_[rng() % conversations_.size()];
    out->user = rng() % 3 == 0;
    out->tenant = c.tenant;
    out->id = out->user ? c.user : c.id;
    out->request_id = absl::StrCat("req-", k);
    for (Conversation& other : conversations_) {
      if (other.tenant != c.tenant) continue;
      if (out->user ? other.user == c.user : other.id == c.id) {
        other.retired = true;
      }
    }
    if (out->user) erased_users_.insert({c.tenant, c.user});
    return true;
  }
  void AcknowledgeErasure(Erasure erasure) {
    absl::MutexLock lock(&mu_);
    erasures_.push_back(std::move(erasure));
  }

  // Copies for a reader: the erasures acknowledged so far, and a few
  // conversations to read.
  std::vector<Erasure> Erasures() const {
    absl::MutexLock lock(&mu_);
    return erasures_;
  }
  std::vector<Conversation> SomeConversations(std::mt19937_64& rng,
                                              int n) const {
    absl::MutexLock lock(&mu_);
    std::vector<Conversation> out;
    for (int i = 0; i < n && !conversations_.empty(); ++i) {
      out.push_back(conversations_[rng() % conversations_.size()]);
    }
    return out;
  }

  // After the threads have stopped.
  const std::vector<v1::Message>& acknowledged() const
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return acknowledged_;
  }
  const std::vector<Conversation>& conversations() const
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return conversations_;
  }

 private:
  const uint64_t seed_;
  mutable absl::Mutex mu_;
  std::vector<Conversation> conversations_ ABSL_GUARDED_BY(mu_);
  std::vector<int> owner_ ABSL_GUARDED_BY(mu_);
  int next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::pair<std::string, std::string>> erased_users_
      ABSL_GUARDED_BY(mu_);
  std::vector<v1::Message> acknowledged_ ABSL_GUARDED_BY(mu_);
  std::vector<Erasure> erasures_ ABSL_GUARDED_BY(mu_);
  int batches_done_ ABSL_GUARDED_BY(mu_) = 0;
  int writers_finished_ ABSL_GUARDED_BY(mu_) = 0;

  struct BatchesReached {
    const Shared* shared;
    int batches;
    bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared->mu_) {
      return shared->batches_done_ >= batches ||
             shared->writers_finished_ == kWriters;
    }
  };
};

bool Covers(const Erasure& e, const v1::Message& m) {
  return e.tenant == m.tenant() &&
         (e.user ? e.id == m.user() : e.id == m.conversation());
}

absl::Time CreatedAt(const v1::Message& m) {
  return absl::FromUnixSeconds(m.created_at().seconds());
}

// ReadConversationSerialized's answer, parsed; DataLoss for bytes that do not
// parse (none should: this test damages nothing).
absl::StatusOr<std::vector<v1::Message>> ParseAll(
    absl::StatusOr<std::vector<std::string>> serialized) {
  if (!serialized.ok()) return serialized.status();
  std::vector<v1::Message> out(serialized->size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out[i].ParseFromString((*serialized)[i])) {
      return absl::DataLossError(
          absl::StrCat("serialized message ", i, " does not parse"));
    }
  }
  return out;
}

// One run with `seed`; failures are reported through gtest.
void RunEveryKindOfCallerAtOnce(uint64_t seed) {
  SCOPED_TRACE(absl::StrCat("EBB_CONCURRENCY_SEED=", seed));
  TempDir dir;
  auto clock = std::make_shared<ManualClock>(T0());
  Options options;
  options.clock = clock;
  // Small files: flushes, compactions and whole-file drops while it runs.
  options.target_file_bytes = 64 << 10;
  absl::StatusOr<std::unique_ptr<Store>> opened =
      Store::Open(options, dir.path());
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  for (int t = 0; t < kTenants; ++t) {
    ASSERT_TRUE(
        store.SetPolicy(Tenant(t), v1::CATEGORY_TRANSCRIPT, kTtls[0]).ok());
  }

  Shared shared(seed);
  std::atomic<int> reads{0}, lists{0}, purges{0}, erasures{0},
      policy_changes{0};
  // Failures from the threads carry the seed: SCOPED_TRACE covers only this
  // one.
  const std::string where = absl::StrCat("[EBB_CONCURRENCY_SEED=", seed, "] ");

  auto writer = [&](int w) {
    std::mt19937_64 rng(seed * 1000 + w);
    for (int b = 0; b < kBatchesPerWriter; ++b) {
      const int index = shared.PickConversation(w, rng);
      clock->Advance(kClockStep);
      std::vector<v1::Message> batch;
      if (index >= 0) {
        batch = shared.NextBatch(index, 1 + static_cast<int>(rng() % 5),
                                 clock->Now());
      }
      bool stored = false;
      if (!batch.empty()) {
        const absl::Status s = store.AppendBatch(batch);
        stored = s.ok();
        // Refused only when an erasure got there first.
        if (!s.ok() && !absl::IsFailedPrecondition(s)) {
          ADD_FAILURE() << where << "append: " << s;
        }
      }
      shared.BatchDone(std::move(batch), stored);
    }
    shared.WriterFinished();
  };

  auto reader = [&](int r) {
    std::mt19937_64 rng(seed * 2000 + r);
    do {
      const absl::Time before = clock->Now();
      const std::vector<Erasure> erased = shared.Erasures();
      for (const Conversation& c : shared.SomeConversations(rng, 4)) {
        // Reader 1 reads serialized bytes and parses them itself, so both
        // read forms are held to the invariants under concurrency.
        absl::StatusOr<std::vector<v1::Message>> read =
            r == 0 ? store.ReadConversation(c.tenant, c.id)
                   : ParseAll(store.ReadConversationSerialized(c.tenant, c.id));
        if (!read.ok()) {
          ADD_FAILURE() << where << "read: " << read.status();
          continue;
        }
        for (const v1::Message& m : *read) {
          if (m.tenant() != c.tenant || m.conversation() != c.id ||
              m.user() != c.user || m.text() != TextFor(m)) {
            ADD_FAILURE() << where << "torn or misplaced message in "
                          << c.tenant << "/" << c.id << ": " << m.text();
          }
          if (CreatedAt(m) < before - kLongestTtl) {
            ADD_FAILURE() << where << "expired message read: " << m.text()
                          << " at " << before;
          }
          for (const Erasure& e : erased) {
            if (Covers(e, m)) {
              ADD_FAILURE() << where << "erased message read: " << m.text()
                            << " (erasure " << e.request_id << ")";
            }
          }
        }
        ++reads;
        if (rng() % 4 != 0) continue;
        absl::StatusOr<std::vector<ConversationInfo>> listed =
            store.ListConversations(c.tenant, c.user);
        if (!listed.ok()) {
          ADD_FAILURE() << where << "list: " << listed.status();
          continue;
        }
        for (const ConversationInfo& info : *listed) {
          for (const Erasure& e : erased) {
            if (e.tenant == c.tenant &&
                (e.user ? e.id == c.user : e.id == info.conversation)) {
              ADD_FAILURE()
                  << where
                  << "erased conversation listed: " << info.conversation;
            }
          }
          if (info.last_message_at < before - kLongestTtl) {
            ADD_FAILURE() << where << "expired conversation listed: "
                          << info.conversation;
          }
        }
        ++lists;
      }
    } while (!shared.AllWritersFinished());
  };

  auto eraser = [&] {
    std::mt19937_64 rng(seed * 3000);
    for (int k = 0; shared.WaitForBatches((k + 1) * 12); ++k) {
      Erasure e;
      if (!shared.PickErasure(rng, k, &e)) continue;
      EraseOptions erase_options;
      erase_options.reason = v1::END_USER_REQUEST;
      erase_options.request_id = e.request_id;
      absl::StatusOr<EraseResult> result =
          e.user ? store.EraseUser(e.tenant, e.id, erase_options)
                 : store.EraseConversation(e.tenant, e.id, erase_options);
      if (!result.ok()) {
        ADD_FAILURE() << where << "erase: " << result.status();
        continue;
      }
      shared.AcknowledgeErasure(std::move(e));
      ++erasures;
    }
  };

  auto policy_changer = [&] {
    std::mt19937_64 rng(seed * 4000);
    for (int k = 0; shared.WaitForBatches((k + 1) * 20); ++k) {
      const std::string tenant = Tenant(static_cast<int>(rng() % kTenants));
      const absl::Duration ttl = kTtls[rng() % 3];
      absl::StatusOr<TenantPolicy> policy =
          store.SetPolicy(tenant, v1::CATEGORY_TRANSCRIPT, ttl);
      if (!policy.ok()) {
        ADD_FAILURE() << where << "set policy: " << policy.status();
        continue;
      }
      ++policy_changes;
    }
  };

  auto purger = [&] {
    do {
      absl::StatusOr<PurgeReport> report = store.Purge(PurgeOptions());
      if (!report.ok()) {
        ADD_FAILURE() << where << "purge: " << report.status();
        return;
      }
      if (!report->complete) ADD_FAILURE() << where << "purge incomplete";
      ++purges;
    } while (!shared.AllWritersFinished());
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) threads.emplace_back(writer, w);
  for (int r = 0; r < kReaders; ++r) threads.emplace_back(reader, r);
  threads.emplace_back(eraser);
  threads.emplace_back(policy_changer);
  threads.emplace_back(purger);
  for (std::thread& t : threads) t.join();

  // ---- afterwards: the whole store against the model.
  const absl::Time now = clock->Now();
  std::map<std::string, RetentionRule> rules;
  for (int t = 0; t < kTenants; ++t) {
    absl::StatusOr<TenantPolicy> policy = store.GetPolicy(Tenant(t));
    ASSERT_TRUE(policy.ok()) << policy.status();
    for (const RetentionRule& rule : policy->rules) {
      if (rule.category == v1::CATEGORY_TRANSCRIPT) rules[Tenant(t)] = rule;
    }
  }
  const std::vector<Erasure> erased = shared.Erasures();
  auto live = [&](const v1::Message& m) {
    const RetentionRule& rule = rules[m.tenant()];
    if (CreatedAt(m) < rule.horizon || now - CreatedAt(m) > rule.ttl) {
      return false;
    }
    for (const Erasure& e : erased) {
      if (Covers(e, m)) return false;
    }
    return true;
  };
  // tenant/conversation -> seq -> message
  std::map<std::string, std::map<uint64_t, const v1::Message*>> expected;
  std::map<std::string, const v1::Message*> acknowledged;
  for (const v1::Message& m : shared.acknowledged()) {
    const std::string key = absl::StrCat(m.tenant(), "/", m.conversation());
    acknowledged[absl::StrCat(key, "/", m.seq())] = &m;
    if (live(m)) expected[key][m.seq()] = &m;
  }
  size_t live_messages = 0;
  std::map<std::pair<std::string, std::string>, std::set<std::string>>
      expected_lists;  // (tenant, user) -> conversations
  std::set<std::pair<std::string, std::string>> users;
  for (const Conversation& c : shared.conversations()) {
    const std::string key = absl::StrCat(c.tenant, "/", c.id);
    users.insert({c.tenant, c.user});
    if (!expected[key].empty()) expected_lists[{c.tenant, c.user}].insert(c.id);
    absl::StatusOr<std::vector<v1::Message>> read =
        store.ReadConversation(c.tenant, c.id);
    ASSERT_TRUE(read.ok()) << read.status();
    std::set<uint64_t> seen;
    for (const v1::Message& m : *read) {
      const auto it = expected[key].find(m.seq());
      if (it == expected[key].end()) {
        ADD_FAILURE() << key << " seq " << m.seq() << " is read back but is "
                      << (acknowledged.count(absl::StrCat(key, "/", m.seq()))
                              ? "expired or erased"
                              : "was never acknowledged");
        continue;
      }
      EXPECT_EQ(m.SerializeAsString(), it->second->SerializeAsString())
          << key << " seq " << m.seq() << " differs";
      seen.insert(m.seq());
    }
    for (const auto& [seq, m] : expected[key]) {
      EXPECT_EQ(seen.count(seq), 1u)
          << key << " seq " << seq << " was acknowledged, is live, and is lost";
    }
    live_messages += seen.size();
  }
  for (const auto& [tenant, user] : users) {
    absl::StatusOr<std::vector<ConversationInfo>> listed =
        store.ListConversations(tenant, user);
    ASSERT_TRUE(listed.ok()) << listed.status();
    std::set<std::string> got;
    for (const ConversationInfo& info : *listed) got.insert(info.conversation);
    const std::set<std::string>& want = expected_lists[{tenant, user}];
    EXPECT_EQ(got, want) << tenant << "/" << user;
  }

  // The ledger verifies and records each acknowledged erasure exactly once.
  absl::StatusOr<AuditVerification> verified = store.VerifyAudit();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->ok) << verified->problem;
  std::map<std::string, int> erase_records =
      ::ebb::testing::AuditRecordsByRequest(store, v1::AUDIT_ERASE);
  for (const Erasure& e : erased) {
    EXPECT_EQ(erase_records[e.request_id], 1) << e.request_id;
  }
  EXPECT_EQ(erase_records.size(), erased.size());

  // One last purge leaves nothing expired or erased on disk.
  ::ebb::testing::ExpectPurgeLeavesNothingOnDisk(store, "");
  ASSERT_TRUE(store.Close().ok());

  // Enough happened at once for the run to mean something.
  EXPECT_GE(erasures.load(), 1);
  EXPECT_GE(policy_changes.load(), 1);
  EXPECT_GE(purges.load(), 1);
  EXPECT_GE(reads.load(), 1);
  EXPECT_GT(live_messages, 0u);
  EXPECT_LT(live_messages, shared.acknowledged().size())
      << "nothing expired or was erased";
  std::printf(
      "seed %llu: %zu messages acknowledged, %zu live at the end; %d reads, "
      "%d lists, %d erasures, %d policy changes, %d purges ran alongside\n",
      static_cast<unsigned long long>(seed), shared.acknowledged().size(),
      live_messages, reads.load(), lists.load(), erasures.load(),
      policy_changes.load(), purges.load());
}

TEST(ConcurrencyTest, EveryKindOfCallerAtOnceKeepsTheInvariants) {
  // EBB_CONCURRENCY_RUNS runs seeds from EBB_CONCURRENCY_SEED on (the stress
  // target runs 10).
  uint64_t runs = 1;
  if (const char* env = std::getenv("EBB_CONCURRENCY_RUNS")) {
    (void)absl::SimpleAtoi(env, &runs);
  }
  for (uint64_t i = 0; i < runs && !HasFailure(); ++i) {
    RunEveryKindOfCallerAtOnce(Seed() + i);
  }
}

// Two callers carrying expiry out at once (Store::ExpireDue from a backend's
// scheduler, Purge from the nightly job) must together audit each expired
// message once. Each run scans a tenant without its lock and writes under it,
// so without one run at a time both could count the same messages from the
// same watermark and both write AUDIT_EXPIRE records for them.
TEST(ConcurrencyTest, ConcurrentExpiryAuditsEachMessageOnce) {
  constexpr int kExpiringTenants = 60;
  constexpr int kMessagesEach = 40;
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    TempDir dir;
    std::shared_ptr<ManualClock> clock;
    Options options = testing::TestOptions(&clock);
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(options, dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    for (int t = 0; t < kExpiringTenants; ++t) {
      std::vector<v1::Message> batch;
      for (int seq = 1; seq <= kMessagesEach; ++seq) {
        batch.push_back(testing::MakeMessage(absl::StrCat("tenant-", t), "u",
                                             absl::StrCat("c", seq % 4), seq,
                                             T0()));
      }
      ASSERT_TRUE((*store)->AppendBatch(batch).ok());
    }
    clock->Set(T0() + Days(31));  // past the 30-day default
    std::atomic<int> ready{0};
    uint64_t expired[2] = {0, 0};
    absl::Status status[2];
    auto expire = [&](int i) {
      ++ready;
      while (ready.load() < 2) {
      }
      if (i == 0) {
        absl::StatusOr<ExpiryReport> report = (*store)->ExpireDue();
        status[i] = report.status();
        if (report.ok()) expired[i] = report->messages;
      } else {
        absl::StatusOr<PurgeReport> report = (*store)->Purge(PurgeOptions());
        status[i] = report.status();
        if (report.ok()) expired[i] = report->expiry.messages;
      }
    };
    std::thread first(expire, 0), second(expire, 1);
    first.join();
    second.join();
    ASSERT_TRUE(status[0].ok()) << status[0];
    ASSERT_TRUE(status[1].ok()) << status[1];
    const uint64_t total = kExpiringTenants * kMessagesEach;
    EXPECT_EQ(expired[0] + expired[1], total);
    uint64_t audited = 0;
    ASSERT_TRUE((*store)
                    ->ExportAudit([&](const v1::AuditRecord& record) {
                      if (record.action() == v1::AUDIT_EXPIRE) {
                        audited += record.counts().messages();
                      }
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_EQ(audited, total);
  }
}

}  // namespace
}  // namespace ebb
