// Copyright ebb authors.
//
// I/O faults: a store opened on a file system that fails writes, syncs or
// reads at chosen points (tests/fault_fs.h) must
// - return a clear error from the call that met the fault, never crash, and
//   never report success for what it did not do;
// - never half-apply an append batch or an erasure;
// - reopen consistent on the same files once the fault is gone: everything
//   acknowledged is there, the ledger verifies, and a retried purge finishes
//   with nothing expired or erased left on disk.
//
// The sweep tests run one workload many times, failing the N-th write (or
// sync) and every one after it, for N spread over the whole run, and check
// all of the above each time.

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/internal/testing_hooks.h"
#include "lib/ebb/options.h"
#include "lib/ebb/store.h"
#include "tests/fault_fs.h"
#include "tests/test_util.h"

namespace ebb {
namespace {

using ::ebb::internal::StoreTestingHooks;
using ::ebb::testing::Days;
using ::ebb::testing::FaultFileSystem;
using ::ebb::testing::FaultOp;
using ::ebb::testing::FaultPlan;
using ::ebb::testing::MakeMessage;
using ::ebb::testing::T0;
using ::ebb::testing::TempDir;

Options FaultOptions(std::shared_ptr<ManualClock> clock) {
  Options options;
  options.clock = std::move(clock);
  options.target_file_bytes = 64 << 10;
  return options;
}

// A store directory on a FaultFileSystem, and the clock its stores use.
struct FaultyDisk {
  TempDir dir;
  std::shared_ptr<FaultFileSystem> fs = std::make_shared<FaultFileSystem>();
  std::unique_ptr<rocksdb::Env> env = FaultFileSystem::NewEnv(fs);
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(T0());

  absl::StatusOr<std::unique_ptr<Store>> Open(bool sync_writes = false) {
    Options options = FaultOptions(clock);
    options.sync_writes = sync_writes;
    return StoreTestingHooks::OpenWithEnv(options, dir.path(), env.get());
  }
};

// The workload: each step is one call, applied in order at its own time.
struct Step {
  enum Kind { kAppend, kSetPolicy, kErase, kPurge, kCompact } kind;
  absl::Time now;
  std::vector<v1::Message> messages;  // kAppend
  std::string conversation;           // kErase
};

std::vector<Step> Workload() {
  std::vector<Step> steps;
  absl::Time now = T0();
  int conversation = 0;
  for (int round = 0; round < 4; ++round) {
    for (int c = 0; c < 3; ++c, ++conversation) {
      Step append{Step::kAppend, now, {}, ""};
      for (int seq = 1; seq <= 40; ++seq) {
        append.messages.push_back(MakeMessage(
            absl::StrCat("t", c % 2), absl::StrCat("u", c),
            absl::StrCat("c", conversation), seq, now - absl::Minutes(seq),
            std::string(200 + seq, 'a' + c)));
      }
      steps.push_back(std::move(append));
    }
    if (round == 1) steps.push_back({Step::kSetPolicy, now, {}, ""});
    if (round >= 1) {
      steps.push_back({Step::kErase, now, {}, absl::StrCat("c", round * 3)});
    }
    steps.push_back({Step::kCompact, now, {}, ""});
    now += Days(3);
    steps.push_back({Step::kPurge, now, {}, ""});
  }
  return steps;
}

absl::Status Apply(Store& store, ManualClock& clock, const Step& step,
                   int index) {
  clock.Set(step.now);
  switch (step.kind) {
    case Step::kAppend:
      return store.AppendBatch(step.messages);
    case Step::kSetPolicy:
      return store.SetPolicy("t0", v1::CATEGORY_TRANSCRIPT, Days(4)).status();
    case Step::kErase: {
      EraseOptions options;
      options.reason = v1::END_USER_REQUEST;
      options.request_id = absl::StrCat("req-", index);
      const std::string tenant =
          std::stoi(step.conversation.substr(1)) % 3 % 2 == 0 ? "t0" : "t1";
      return store.EraseConversation(tenant, step.conversation, options)
          .status();
    }
    case Step::kPurge: {
      absl::StatusOr<PurgeReport> report = store.Purge(PurgeOptions());
      if (report.ok() && !report->complete) {
        return absl::InternalError("purge reported incomplete");
      }
      return report.status();
    }
    case Step::kCompact:
      return store.CompactAll();
  }
  return absl::InternalError("unknown step");
}

// An error a fault may cause: the codes ebb maps RocksDB's I/O errors to,
// with a message that says which operation met it.
void ExpectFaultError(const absl::Status& s, const std::string& where) {
  EXPECT_TRUE(absl::IsUnavailable(s) || absl::IsResourceExhausted(s) ||
              absl::IsDataLoss(s) || absl::IsAborted(s))
      << where << ": " << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "rocksdb") ||
              absl::StrContains(s.message(), "injected fault"))
      << where << ": the message should say what failed: " << s;
}

std::string TenantOf(int conversation) {
  return absl::StrCat("t", conversation % 3 % 2);
}

// What reads return: every conversation's messages, serialized, and every
// user's conversation list.
std::map<std::string, std::vector<std::string>> View(Store& store) {
  std::map<std::string, std::vector<std::string>> view;
  for (int c = 0; c < 12; ++c) {
    const std::string id = absl::StrCat("c", c);
    absl::StatusOr<std::vector<v1::Message>> read =
        testing::ReadBothWays(store, TenantOf(c), id);
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok()) continue;
    for (const v1::Message& m : *read) {
      view[id].push_back(m.SerializeAsString());
    }
  }
  for (int t = 0; t < 2; ++t) {
    for (int u = 0; u < 3; ++u) {
      const std::string tenant = absl::StrCat("t", t);
      const std::string user = absl::StrCat("u", u);
      absl::StatusOr<std::vector<ConversationInfo>> listed =
          store.ListConversations(tenant, user);
      EXPECT_TRUE(listed.ok()) << listed.status();
      if (!listed.ok()) continue;
      for (const ConversationInfo& info : *listed) {
        view[absl::StrCat(tenant, "/", user)].push_back(info.conversation);
      }
    }
  }
  return view;
}

using ViewMap = std::map<std::string, std::vector<std::string>>;

ViewMap BuildReferenceView(const std::vector<Step>& steps, int end,
                           absl::Time at);

// A clean store with steps [0, end) applied, its view taken at `at`.
// Remembered: the sweeps ask for the same few many times.
ViewMap ReferenceView(const std::vector<Step>& steps, int end, absl::Time at) {
  static auto* cache = new std::map<std::pair<int, int64_t>, ViewMap>();
  const auto key = std::make_pair(end, absl::ToUnixMicros(at));
  auto it = cache->find(key);
  if (it == cache->end()) {
    it = cache->emplace(key, BuildReferenceView(steps, end, at)).first;
  }
  return it->second;
}

ViewMap BuildReferenceView(const std::vector<Step>& steps, int end,
                           absl::Time at) {
  TempDir dir;
  auto clock = std::make_shared<ManualClock>(T0());
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(FaultOptions(clock), dir.path());
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return {};
  for (int i = 0; i < end; ++i) {
    const absl::Status s = Apply(**store, *clock, steps[i], i);
    EXPECT_TRUE(s.ok()) << "reference step " << i << ": " << s;
  }
  clock->Set(at);
  return View(**store);
}

struct FaultRun {
  int failed_step = -1;  // -1: Open failed; steps.size(): no step failed
  int64_t injected = 0;
};

// Runs the workload on a fault file system armed with `plan` (before Open if
// `arm_before_open`), stopping at the first failed step. Then, on the real
// file system: the store reopens; reads show exactly the acknowledged steps,
// plus the failed one wholly or not at all; retrying from the failed step to
// the end gives what a run without faults gives; the ledger verifies and
// records each acknowledged erasure once; a last purge leaves nothing
// expired or erased on disk.
FaultRun RunWithFault(const FaultPlan& plan, bool arm_before_open) {
  const std::vector<Step> steps = Workload();
  const int n = static_cast<int>(steps.size());
  FaultyDisk disk;
  const TempDir& dir = disk.dir;
  std::shared_ptr<FaultFileSystem> fs = disk.fs;
  std::shared_ptr<ManualClock> clock = disk.clock;
  if (arm_before_open) fs->Arm(plan);
  FaultRun run;
  {
    absl::StatusOr<std::unique_ptr<Store>> store = disk.Open();
    if (!store.ok()) {
      ExpectFaultError(store.status(), "open");
    } else {
      if (!arm_before_open) fs->Arm(plan);
      run.failed_step = n;
      for (int i = 0; i < n; ++i) {
        const absl::Status s = Apply(**store, *clock, steps[i], i);
        if (!s.ok()) {
          ExpectFaultError(s, absl::StrCat("step ", i));
          run.failed_step = i;
          break;
        }
      }
      // Close may report the fault again; it must not crash.
      (void)(*store)->Close();
    }
  }
  fs->Heal();
  run.injected = fs->injected();
  const std::string where = absl::StrCat(
      "fault after ", plan.after, " operations of kind ",
      static_cast<int>(plan.op), " (first in ", fs->first_injected_file(),
      "), failed step ", run.failed_step);

  // Reopen on the real file system, at the failed step's time.
  const int resume = std::max(run.failed_step, 0);
  const absl::Time at = resume < n ? steps[resume].now : steps[n - 1].now;
  clock->Set(at);
  absl::StatusOr<std::unique_ptr<Store>> reopened =
      Store::Open(FaultOptions(clock), dir.path());
  EXPECT_TRUE(reopened.ok()) << where << ": reopen: " << reopened.status();
  if (!reopened.ok()) return run;
  Store& store = **reopened;

  if (run.failed_step >= 0) {
    const auto view = View(store);
    const auto without = ReferenceView(steps, resume, at);
    const auto with = ReferenceView(steps, std::min(resume + 1, n), at);
    EXPECT_TRUE(view == without || view == with)
        << where << ": reads show neither the acknowledged steps nor those "
        << "plus the failed one";
  }

  // Retry from the failed step on; the end state is a clean run's.
  for (int i = resume; i < n; ++i) {
    const absl::Status s = Apply(store, *clock, steps[i], i);
    EXPECT_TRUE(s.ok()) << where << ": retried step " << i << ": " << s;
  }
  EXPECT_TRUE(View(store) == ReferenceView(steps, n, steps[n - 1].now))
      << where << ": after the retry, reads differ from a run without faults";

  absl::StatusOr<AuditVerification> verified = store.VerifyAudit();
  EXPECT_TRUE(verified.ok() && verified->ok)
      << where << ": audit: "
      << (verified.ok() ? verified->problem : verified.status().ToString());
  std::map<std::string, int> erase_records =
      ::ebb::testing::AuditRecordsByRequest(store, v1::AUDIT_ERASE);
  for (int i = 0; i < n; ++i) {
    if (steps[i].kind != Step::kErase) continue;
    const int records = erase_records[absl::StrCat("req-", i)];
    if (i == run.failed_step) {
      // Failed, then retried: the first attempt may have committed.
      EXPECT_TRUE(records == 1 || records == 2) << where << ": req-" << i;
    } else {
      EXPECT_EQ(records, 1) << where << ": req-" << i;
    }
  }

  ::ebb::testing::ExpectPurgeLeavesNothingOnDisk(store,
                                                 absl::StrCat(where, ": "));
  EXPECT_TRUE(store.Close().ok());
  return run;
}

// Counts each kind of operation in a run without faults, so the sweeps can
// spread their fault points over all of it.
int64_t OperationsInCleanRun(FaultOp op) {
  FaultyDisk disk;
  std::shared_ptr<FaultFileSystem> fs = disk.fs;
  std::shared_ptr<ManualClock> clock = disk.clock;
  absl::StatusOr<std::unique_ptr<Store>> store = disk.Open();
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return 0;
  const std::vector<Step> steps = Workload();
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_TRUE(Apply(**store, *clock, steps[i], i).ok());
  }
  EXPECT_TRUE((*store)->Close().ok());
  return fs->operations(op);
}

void Sweep(FaultOp op, bool no_space, int points) {
  const int64_t total = OperationsInCleanRun(op);
  ASSERT_GT(total, points) << "too few operations to sweep";
  int64_t injected = 0;
  int failed_runs = 0;
  for (int k = 0; k < points; ++k) {
    FaultPlan plan;
    plan.op = op;
    plan.no_space = no_space;
    plan.after = total * k / points;
    const FaultRun run = RunWithFault(plan, /*arm_before_open=*/true);
    injected += run.injected;
    if (run.injected > 0) ++failed_runs;
    if (::testing::Test::HasFailure()) break;
  }
  std::printf(
      "%s sweep: %d fault points over %lld operations, %d runs met a "
      "fault, %lld faults injected\n",
      op == FaultOp::kWrite ? (no_space ? "full-disk" : "write") : "sync",
      points, static_cast<long long>(total), failed_runs,
      static_cast<long long>(injected));
  EXPECT_GT(failed_runs, points / 2) << "most fault points were never reached";
}

// Regression: at the 14th of these points (a compaction's output file the
// first write to fail, every write failing after it) RocksDB 7.8.3 deleted
// the MANIFEST that CURRENT names, and the store could not be opened again
// ("MANIFEST-000005: No such file or directory"). Fixed by
// BackgroundErrorGuard (store_impl.h), which turns file deletions off after a
// background error.
TEST(FaultInjectionTest, WriteErrorsAnywhereLeaveAConsistentStore) {
  Sweep(FaultOp::kWrite, /*no_space=*/false, 24);
}

// Regression: without BackgroundErrorGuard, RocksDB resumed by itself after
// a full disk and Debian's 7.8.3 aborted the process on an assertion in
// DBImpl::ResumeImpl (`file_deletion_disabled').
TEST(FaultInjectionTest, FullDiskAnywhereLeavesAConsistentStore) {
  Sweep(FaultOp::kWrite, /*no_space=*/true, 12);
}

TEST(FaultInjectionTest, SyncErrorsAnywhereLeaveAConsistentStore) {
  Sweep(FaultOp::kSync, /*no_space=*/false, 12);
}

TEST(FaultInjectionTest, ReadErrorsAreReportedNotHidden) {
  FaultyDisk disk;
  std::shared_ptr<FaultFileSystem> fs = disk.fs;
  std::shared_ptr<ManualClock> clock = disk.clock;
  absl::StatusOr<std::unique_ptr<Store>> store = disk.Open();
  ASSERT_TRUE(store.ok()) << store.status();
  const std::vector<Step> steps = Workload();
  ASSERT_TRUE(Apply(**store, *clock, steps[0], 0).ok());
  ASSERT_TRUE((*store)->CompactAll().ok());  // the messages now live in SSTs
  // A fresh open, so that nothing is cached in memory.
  ASSERT_TRUE((*store)->Close().ok());
  store = disk.Open();
  ASSERT_TRUE(store.ok()) << store.status();

  FaultPlan plan;
  plan.op = FaultOp::kRead;
  plan.file_contains = ".sst";
  fs->Arm(plan);
  const v1::Message& first = steps[0].messages.front();
  absl::StatusOr<std::vector<v1::Message>> read =
      (*store)->ReadConversation(first.tenant(), first.conversation());
  // An error, not an empty conversation: "no messages" would be a lie.
  ASSERT_FALSE(read.ok()) << "read " << read->size()
                          << " messages through failing reads";
  ExpectFaultError(read.status(), "read conversation");
  EXPECT_GT(fs->injected(), 0);

  absl::StatusOr<std::vector<ConversationInfo>> listed =
      (*store)->ListConversations(first.tenant(), first.user());
  EXPECT_FALSE(listed.ok());

  fs->Heal();
  read = (*store)->ReadConversation(first.tenant(), first.conversation());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->size(), steps[0].messages.size());
  EXPECT_TRUE((*store)->Close().ok());
}

// Regression: a creation cut short (after RocksDB made CURRENT, before every
// column family or the format marker was written) left a directory that Open
// refused for ever, as "not an ebb store" or "no format marker". An empty one
// is now finished instead.
// Regression (found by the write sweep once purges wrote less): a MANIFEST
// write that fails during a compaction turns file deletions off
// (BackgroundErrorGuard), so the WAL files of that run outlive it; after a
// reopen RocksDB no longer tracks them and only a full scan of the directory
// deletes them. They hold the messages as written, so the next purge must
// get rid of them, however expired those messages are by then.
TEST(FaultInjectionTest, PurgeRemovesWalFilesLeftByAFailedRun) {
  // Every write of a compaction in turn is the first to fail (and every one
  // after it): one of them is the MANIFEST write that leaves the WAL behind.
  int failed_runs = 0;
  for (int after = 0;; ++after) {
    ASSERT_LT(after, 200) << "the compaction never stopped failing";
    FaultyDisk disk;
    bool failed = false;
    {
      absl::StatusOr<std::unique_ptr<Store>> store = disk.Open();
      ASSERT_TRUE(store.ok()) << store.status();
      for (int c = 0; c < 3; ++c) {
        std::vector<v1::Message> batch;
        for (int seq = 1; seq <= 40; ++seq) {
          batch.push_back(MakeMessage("acme", "u", absl::StrCat("c", c), seq,
                                      T0() - absl::Minutes(seq),
                                      std::string(200 + seq, 'a' + c)));
        }
        ASSERT_TRUE((*store)->AppendBatch(batch).ok());
      }
      disk.fs->Arm({.op = FaultOp::kWrite, .after = after});
      failed = !(*store)->CompactAll().ok();
      (void)(*store)->Close();
    }
    disk.fs->Heal();
    if (!failed) break;
    ++failed_runs;
    disk.clock->Set(T0() + Days(60));
    absl::StatusOr<std::unique_ptr<Store>> reopened = disk.Open();
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    ::ebb::testing::ExpectPurgeLeavesNothingOnDisk(
        **reopened, absl::StrCat("fault after ", after, " writes (first in ",
                                 disk.fs->first_injected_file(), "): "));
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(failed_runs, 2);
}

// The purge deletes its worklist entries and compacts the metadata while the
// dropped files are still being unlinked (on a disk mounted with discard the
// unlinks are most of a backlog purge). A file whose unlink fails is no
// longer the database's: the purge reports the failure, and the next one
// deletes the file in its scan for obsolete files, without auditing the
// expiry twice.
TEST(FaultInjectionTest, AFailedUnlinkFailsThePurgeAndTheNextDeletesTheFile) {
  FaultyDisk disk;
  absl::StatusOr<std::unique_ptr<Store>> store = disk.Open();
  ASSERT_TRUE(store.ok()) << store.status();
  // One expiry day, several files of the 64 KiB target.
  const std::string text = ::ebb::testing::Scrambled(300, 11);
  for (int c = 0; c < 40; ++c) {
    std::vector<v1::Message> batch;
    for (int seq = 1; seq <= 30; ++seq) {
      batch.push_back(MakeMessage("acme", "u", absl::StrCat("c", c), seq,
                                  T0() - Days(29) + absl::Seconds(seq),
                                  absl::StrCat(text, c, "-", seq)));
    }
    ASSERT_TRUE((*store)->AppendBatch(batch).ok());
  }
  ASSERT_TRUE((*store)->CompactAll().ok());  // nothing has expired yet
  disk.clock->Set(T0() + Days(2));

  disk.fs->Arm({.op = FaultOp::kDelete, .file_contains = ".sst"});
  absl::StatusOr<PurgeReport> failed = (*store)->Purge({});
  disk.fs->Heal();
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.status().message()),
              ::testing::HasSubstr(".sst"));
  ASSERT_GT(disk.fs->injected(), 0);
  EXPECT_TRUE(
      ::ebb::testing::AnyFileContains(disk.dir.path(), text.substr(0, 40)));

  absl::StatusOr<PurgeReport> again = (*store)->Purge({});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->expiry.messages, 0u) << "the expiry was audited twice";
  EXPECT_EQ(again->ranges_pending, 0u);
  EXPECT_FALSE(
      ::ebb::testing::AnyFileContains(disk.dir.path(), text.substr(0, 40)));
  absl::StatusOr<VerifyReport> verify = (*store)->Verify();
  ASSERT_TRUE(verify.ok()) << verify.status();
  EXPECT_TRUE(verify->findings.empty());
  absl::StatusOr<AuditVerification> audit = (*store)->VerifyAudit();
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_TRUE(audit->ok) << audit->problem;
}

// ExpireDue writes every tenant's audit records and watermark in one synced
// write: many tenants cost one WAL sync, not one each (the 6 M-message
// backlog purge spent a tenth of its time in 200 per-tenant syncs). And that
// write is durable: after a power cut right after it, nothing is expired
// again (the watermarks survived) and the ledger holds every record.
TEST(FaultInjectionTest, ExpiryOfManyTenantsSyncsTheLogOnce) {
  FaultyDisk disk;
  constexpr int kTenants = 40;
  absl::StatusOr<std::unique_ptr<Store>> store = disk.Open();
  ASSERT_TRUE(store.ok()) << store.status();
  for (int t = 0; t < kTenants; ++t) {
    ASSERT_TRUE((*store)
                    ->AppendBatch({MakeMessage(absl::StrCat("t", t), "u", "c",
                                               1, T0(), "hello")})
                    .ok());
  }
  disk.clock->Set(T0() + Days(31));  // the default TTL is 30 days
  const int64_t syncs_before = disk.fs->operations(FaultOp::kSync);
  absl::StatusOr<ExpiryReport> report = (*store)->ExpireDue();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->messages, kTenants);
  EXPECT_EQ(disk.fs->operations(FaultOp::kSync) - syncs_before, 1);
  absl::StatusOr<AuditVerification> audit = (*store)->VerifyAudit();
  ASSERT_TRUE(audit.ok()) << audit.status();

  TempDir cut;
  const std::string cut_path = cut.path() + "/store";
  std::string error;
  ASSERT_TRUE(disk.fs->CopyDurableState(disk.dir.path(), cut_path, &error))
      << error;
  absl::StatusOr<std::unique_ptr<Store>> reopened =
      Store::Open(FaultOptions(disk.clock), cut_path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  absl::StatusOr<ExpiryReport> again = (*reopened)->ExpireDue();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->messages, 0u) << "the watermarks were not durable";
  absl::StatusOr<AuditVerification> cut_audit = (*reopened)->VerifyAudit();
  ASSERT_TRUE(cut_audit.ok()) << cut_audit.status();
  EXPECT_TRUE(cut_audit->ok) << cut_audit->problem;
  EXPECT_EQ(cut_audit->records, audit->records);
}

TEST(FaultInjectionTest, FaultsDuringCreationLeaveAStoreThatOpens) {
  // The first few writes happen inside Store::Open of a new store.
  for (int after = 0; after < 8; ++after) {
    FaultPlan plan;
    plan.op = FaultOp::kWrite;
    plan.after = after;
    RunWithFault(plan, /*arm_before_open=*/true);
    if (::testing::Test::HasFailure()) break;
  }
}

// A power cut after each step of the workload: the store's directory as the
// disk would hold it (every file cut to its synced length, FaultFileSystem::
// CopyDurableState) must open, verify, and purge clean. With synced writes
// it must hold exactly the acknowledged steps. Without them (the default) it
// must still hold every policy change, erasure and purge, which ebb always
// syncs; appends since the last sync may be lost, each batch wholly, and
// nothing erased or expired may come back.
void PowerCutAfterEachStep(bool sync_writes) {
  const std::vector<Step> steps = Workload();
  FaultyDisk disk;
  const TempDir& dir = disk.dir;
  std::shared_ptr<FaultFileSystem> fs = disk.fs;
  std::shared_ptr<ManualClock> clock = disk.clock;
  absl::StatusOr<std::unique_ptr<Store>> store = disk.Open(sync_writes);
  ASSERT_TRUE(store.ok()) << store.status();
  int lost_batches = 0;
  for (int i = 0; i < static_cast<int>(steps.size()); ++i) {
    ASSERT_TRUE(Apply(**store, *clock, steps[i], i).ok()) << "step " << i;
    TempDir cut;
    const std::string cut_path = cut.path() + "/store";
    std::string error;
    ASSERT_TRUE(fs->CopyDurableState(dir.path(), cut_path, &error)) << error;
    const std::string where = absl::StrCat("power cut after step ", i);

    auto cut_clock = std::make_shared<ManualClock>(steps[i].now);
    absl::StatusOr<std::unique_ptr<Store>> reopened =
        Store::Open(FaultOptions(cut_clock), cut_path);
    ASSERT_TRUE(reopened.ok()) << where << ": " << reopened.status();
    const ViewMap view = View(**reopened);
    const ViewMap acknowledged = ReferenceView(steps, i + 1, steps[i].now);
    if (sync_writes) {
      EXPECT_TRUE(view == acknowledged)
          << where << ": with synced writes, acknowledged data was lost";
    } else {
      for (int c = 0; c < 12; ++c) {
        const std::string id = absl::StrCat("c", c);
        const auto got = view.find(id);
        const auto want = acknowledged.find(id);
        if (got == view.end()) {
          if (want != acknowledged.end()) ++lost_batches;
          continue;
        }
        EXPECT_TRUE(want != acknowledged.end() && got->second == want->second)
            << where << ": conversation " << id << " reads "
            << got->second.size() << " messages, acknowledged "
            << (want == acknowledged.end() ? 0 : want->second.size())
            << " (a batch half there, or data that is gone came back)";
      }
    }
    absl::StatusOr<AuditVerification> verified = (*reopened)->VerifyAudit();
    EXPECT_TRUE(verified.ok() && verified->ok) << where << ": audit";
    ::ebb::testing::ExpectPurgeLeavesNothingOnDisk(**reopened,
                                                   absl::StrCat(where, ": "));
    EXPECT_TRUE((*reopened)->Close().ok());
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_TRUE((*store)->Close().ok());
  std::printf(
      "power cuts (sync_writes=%d): %zu cuts, %d unsynced batches "
      "lost in them\n",
      sync_writes, steps.size(), lost_batches);
}

TEST(PowerCutTest, WithSyncedWritesEverythingAcknowledgedSurvives) {
  PowerCutAfterEachStep(/*sync_writes=*/true);
}

TEST(PowerCutTest, WithoutSyncedWritesOnlyUnsyncedAppendsAreLost) {
  PowerCutAfterEachStep(/*sync_writes=*/false);
}

}  // namespace
}  // namespace ebb
