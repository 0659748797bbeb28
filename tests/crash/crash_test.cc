// Copyright ebb authors.
//
// Crash testing against a model. A child process (crash_child) runs a seeded
// mix of appends, erasures, policy changes, holds and purges against a store
// and reports each operation it completed; this test SIGKILLs it at a random
// moment, reopens the store and checks it against what the reports say was
// acknowledged:
// - every acknowledged message that is neither expired nor erased is read
//   back identical, and no expired or erased message is read;
// - the operation in flight when the child died happened wholly or not at
//   all (an erasure hides all of its data or none);
// - the policies are the acknowledged ones;
// - the audit ledger verifies, and every acknowledged erasure is recorded
//   once (and once more as pending if a hold deferred it);
// - a purge after the crash completes and Verify finds nothing on disk.
//
// Durability under test: what store.h promises for a crash of the process
// (not of the machine) with sync_writes off, ebb's default: an acknowledged
// write survives.
//
// 20 kills by default. Stress: --test_env=EBB_CRASH_KILLS=500, and
// EBB_CRASH_SEED=N to start from another seed. A failure names its seed and
// the operation the child was killed in; EBB_CRASH_KILL_IN=K kills in that
// operation instead of the one the seed picks.

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "lib/ebb/store.h"
#include "tests/crash/crash_workload.h"
#include "tests/test_util.h"

namespace ebb::crash {
namespace {

using ::ebb::testing::T0;
using ::ebb::testing::TempDir;

constexpr int kOps = 160;

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  int out = 0;
  return value != nullptr && absl::SimpleAtoi(value, &out) ? out : fallback;
}

// What the child said: the status of each operation it completed, and the
// last one it began.
struct ChildReport {
  std::map<int, std::string> done;  // op -> status code name
  int last_begun = -1;
  bool finished = false;
};

// Runs the child on `path` and SIGKILLs it shortly after it begins operation
// `kill_in` (a random 0-2 ms later, so the kill lands anywhere in it or a few
// operations on).
ChildReport RunAndKill(const std::string& path, uint64_t seed, int kill_in,
                       std::mt19937_64& rng) {
  ::ebb::testing::ChildProcess child(
      "tests/crash/crash_child", {path, absl::StrCat(seed), absl::StrCat(kOps),
                                  absl::StrCat(absl::ToUnixSeconds(T0()))});
  ChildReport report;
  bool killed = false;
  while (std::optional<std::string> line = child.ReadLine()) {
    const std::vector<std::string> words = absl::StrSplit(*line, ' ');
    int op = -1;
    if (words.size() >= 2) (void)absl::SimpleAtoi(words[1], &op);
    if (words[0] == "begin") {
      report.last_begun = op;
      if (op == kill_in && !killed) {
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
        child.Kill();
        killed = true;
      }
    } else if (words[0] == "done" && words.size() == 3) {
      report.done[op] = words[2];
    } else if (words[0] == "finished") {
      report.finished = true;
    }
  }
  const int status = child.Wait();
  EXPECT_TRUE(killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
      << "the child failed on its own (status " << status << ")";
  return report;
}

std::string Key(const std::string& tenant, const std::string& conversation) {
  return absl::StrCat(tenant, "/", conversation);
}

// One kill and every check.
void KillAndCheck(uint64_t seed) {
  // The seed alone picks the operation to kill in (the moment within it is
  // left to timing).
  std::mt19937_64 rng(seed * 7919);
  const std::vector<Op> ops = Workload(seed, kOps, T0());
  const int drawn = static_cast<int>(rng() % kOps);
  const int kill_in = EnvInt("EBB_CRASH_KILL_IN", drawn);
  SCOPED_TRACE(absl::StrCat("seed ", seed, ", kill in op ", kill_in));
  TempDir dir;
  const ChildReport child = RunAndKill(dir.path(), seed, kill_in, rng);
  ASSERT_GE(child.last_begun, 0) << "the child never began";
  // The operation in flight, if any: it happened wholly or not at all.
  const int uncertain =
      child.done.count(child.last_begun) == 0 ? child.last_begun : -1;
  auto acked_ok = [&](int k) {
    auto it = child.done.find(k);
    return it != child.done.end() && it->second == "OK";
  };
  for (const auto& [k, code] : child.done) {
    // Only an append may be refused: expired on arrival, or replaying an
    // erased conversation or user (FailedPrecondition).
    if (code != "OK") {
      EXPECT_TRUE(ops[k].kind == OpKind::kAppend &&
                  code == "FAILED_PRECONDITION")
          << "op " << k << " failed with " << code;
    }
  }

  auto clock = std::make_shared<ManualClock>(ops[child.last_begun].now);
  absl::StatusOr<std::unique_ptr<Store>> reopened =
      Store::Open(CrashOptions(clock), dir.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  Store& store = **reopened;
  const absl::Time now = clock->Now();

  // Policies: the acknowledged ones (or the one in flight).
  std::map<std::string, std::set<absl::Duration>> allowed_ttls;
  std::map<std::string, absl::Duration> acked_ttl;
  for (int k = 0; k <= child.last_begun; ++k) {
    if (ops[k].kind != OpKind::kSetPolicy) continue;
    if (acked_ok(k)) acked_ttl[ops[k].tenant] = ops[k].ttl;
    if (k == uncertain) allowed_ttls[ops[k].tenant].insert(ops[k].ttl);
  }
  std::map<std::string, RetentionRule> rules;
  for (const char* tenant : {"t0", "t1", "t2"}) {
    absl::StatusOr<TenantPolicy> policy = store.GetPolicy(tenant);
    ASSERT_TRUE(policy.ok()) << policy.status();
    for (const RetentionRule& rule : policy->rules) {
      if (rule.category == v1::CATEGORY_TRANSCRIPT) rules[tenant] = rule;
    }
    std::set<absl::Duration>& allowed = allowed_ttls[tenant];
    allowed.insert(acked_ttl.count(tenant) > 0 ? acked_ttl[tenant]
                                               : absl::Hours(24 * 30));
    EXPECT_EQ(allowed.count(rules[tenant].ttl), 1u)
        << tenant << " has TTL " << rules[tenant].ttl;
  }
  auto expired = [&](const v1::Message& m) {
    const RetentionRule& rule = rules[m.tenant()];
    const absl::Time created = absl::FromUnixSeconds(m.created_at().seconds());
    return created < rule.horizon || now - created > rule.ttl;
  };

  // The model: per conversation, the messages that must be read back and
  // those that may be.
  struct Expected {
    std::map<uint64_t, const v1::Message*> must, may;
  };
  std::map<std::string, Expected> model;
  std::set<std::string> conversations;
  // Does erasure op `e` cover message `m` appended by op `a`?
  auto covers = [&](int e, int a, const v1::Message& m) {
    const Op& erase = ops[e];
    if (e < a || erase.tenant != m.tenant()) return false;
    return erase.kind == OpKind::kEraseConversation
               ? erase.conversation == m.conversation()
               : erase.kind == OpKind::kEraseUser && erase.user == m.user();
  };
  // Messages the in-flight erasure would hide: all of them or none.
  std::vector<const v1::Message*> in_flight_erasure;
  for (int a = 0; a <= child.last_begun; ++a) {
    if (ops[a].kind != OpKind::kAppend) continue;
    conversations.insert(Key(ops[a].tenant, ops[a].conversation));
    if (!acked_ok(a) && a != uncertain) continue;
    for (const v1::Message& m : ops[a].messages) {
      if (expired(m)) continue;
      bool erased = false, maybe_erased = false;
      for (int e = a + 1; e <= child.last_begun; ++e) {
        if (!covers(e, a, m)) continue;
        if (acked_ok(e)) erased = true;
        if (e == uncertain) maybe_erased = true;
      }
      if (erased) continue;
      Expected& expected = model[Key(m.tenant(), m.conversation())];
      if (a == uncertain || maybe_erased) {
        expected.may[m.seq()] = &m;
        if (maybe_erased) in_flight_erasure.push_back(&m);
      } else {
        expected.must[m.seq()] = &m;
      }
    }
  }

  size_t read_back = 0, in_flight_read = 0;
  for (const std::string& key : conversations) {
    const std::vector<std::string> parts = absl::StrSplit(key, '/');
    absl::StatusOr<std::vector<v1::Message>> read =
        store.ReadConversation(parts[0], parts[1]);
    ASSERT_TRUE(read.ok()) << read.status();
    const Expected& expected = model[key];
    std::map<uint64_t, const v1::Message*> seen;
    for (const v1::Message& m : *read) {
      const v1::Message* want = nullptr;
      if (auto it = expected.must.find(m.seq()); it != expected.must.end()) {
        want = it->second;
      } else if (auto it = expected.may.find(m.seq());
                 it != expected.may.end()) {
        want = it->second;
      }
      ASSERT_NE(want, nullptr)
          << key << " seq " << m.seq()
          << " is read back but was never acknowledged, or is expired or "
             "erased";
      EXPECT_EQ(m.SerializeAsString(), want->SerializeAsString())
          << key << " seq " << m.seq() << " differs";
      seen[m.seq()] = &m;
      for (const v1::Message* f : in_flight_erasure) {
        if (f->conversation() == m.conversation() && f->seq() == m.seq()) {
          ++in_flight_read;
        }
      }
    }
    for (const auto& [seq, m] : expected.must) {
      EXPECT_EQ(seen.count(seq), 1u)
          << key << " seq " << seq << " was acknowledged, is live, and is lost";
    }
    read_back += seen.size();
  }
  EXPECT_TRUE(in_flight_read == 0 || in_flight_read == in_flight_erasure.size())
      << "the erasure in flight is half applied: " << in_flight_read << " of "
      << in_flight_erasure.size() << " messages still read";

  // The ledger verifies, and every acknowledged erasure is recorded once.
  absl::StatusOr<AuditVerification> verified = store.VerifyAudit();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->ok) << "first bad record " << verified->first_bad_seq
                            << ": " << verified->problem;
  std::map<std::string, int> erase_records =
      ::ebb::testing::AuditRecordsByRequest(store, v1::AUDIT_ERASE);
  std::map<std::string, int> pending_records =
      ::ebb::testing::AuditRecordsByRequest(store, v1::AUDIT_ERASE_PENDING);
  for (int e = 0; e <= child.last_begun; ++e) {
    if (ops[e].kind != OpKind::kEraseConversation &&
        ops[e].kind != OpKind::kEraseUser) {
      continue;
    }
    const std::string& id = ops[e].request_id;
    EXPECT_LE(erase_records[id], 1) << id;
    EXPECT_LE(pending_records[id], 1) << id;
    if (acked_ok(e)) {
      EXPECT_GE(erase_records[id] + pending_records[id], 1)
          << id << " was acknowledged and is not in the ledger";
    }
  }

  // A purge after the crash completes, and nothing expired or erased is left
  // on disk.
  const VerifyReport on_disk_report =
      ::ebb::testing::ExpectPurgeLeavesNothingOnDisk(store, "");
  const VerifyReport* on_disk = &on_disk_report;
  if (!on_disk->findings.empty()) {
    // The history of the first finding's conversation, to debug from.
    const VerifyFinding& f = on_disk->findings[0];
    std::string user;
    for (int k = 0; k <= child.last_begun; ++k) {
      if (ops[k].conversation == f.conversation) user = ops[k].user;
    }
    for (int k = 0; k <= child.last_begun; ++k) {
      const Op& op = ops[k];
      if (op.tenant != f.tenant) continue;
      if (op.kind == OpKind::kPurge || op.kind == OpKind::kSetPolicy ||
          op.conversation == f.conversation || op.user == user) {
        std::printf(
            "  op %d (%s): kind %d user %s conversation %s at %s\n", k,
            child.done.count(k) ? child.done.at(k).c_str() : "in flight",
            static_cast<int>(op.kind), op.user.c_str(), op.conversation.c_str(),
            absl::FormatTime(op.now).c_str());
      }
    }
  }
  verified = store.VerifyAudit();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->ok) << verified->problem;
  ASSERT_TRUE(store.Close().ok());
  std::printf(
      "seed %llu: killed in op %d (last begun %d, %zu acknowledged), "
      "%zu messages read back\n",
      static_cast<unsigned long long>(seed), kill_in, child.last_begun,
      child.done.size(), read_back);
}

TEST(CrashTest, KilledAtRandomTheStoreMatchesWhatWasAcknowledged) {
  const int kills = EnvInt("EBB_CRASH_KILLS", 20);
  const uint64_t first_seed =
      static_cast<uint64_t>(EnvInt("EBB_CRASH_SEED", 1));
  int survived = 0;
  for (int i = 0; i < kills; ++i) {
    KillAndCheck(first_seed + i);
    if (::testing::Test::HasFailure()) break;
    ++survived;
  }
  std::printf("%d kills survived\n", survived);
}

}  // namespace
}  // namespace ebb::crash
