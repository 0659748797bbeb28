// Copyright ebb authors.
//
// The nightly purge and Verify, through the public API, checked against the
// bytes on disk.

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/ebb/internal/testing_hooks.h"
#include "lib/ebb/store.h"
#include "tests/test_util.h"

namespace ebb {
namespace {

using ::ebb::testing::AnyFileContains;
using ::ebb::testing::Days;
using ::ebb::testing::MakeMessage;
using ::ebb::testing::RawKeys;
using ::ebb::testing::RawPut;
using ::ebb::testing::Scrambled;
using ::ebb::testing::SstFilesOf;
using ::ebb::testing::T0;
using ::ebb::testing::TempDir;
using ::ebb::testing::TestOptions;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class PurgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = TestOptions(&clock_);
    Reopen();
  }

  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(options_, dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void Close() {
    ASSERT_TRUE(store_->Close().ok());
    store_.reset();
  }

  // n messages of a conversation, a second apart, created at `at`, appended
  // as a chat server would have: with the clock at the time of writing (set
  // back for old data, then restored).
  void Conversation(const std::string& tenant, const std::string& conversation,
                    int n, absl::Time at, const std::string& text = "words") {
    const absl::Time now = clock_->Now();
    clock_->Set(std::max(now, at) == now && at + Days(1) < now
                    ? at + absl::Minutes(1)
                    : now);
    std::vector<v1::Message> batch;
    for (int i = 1; i <= n; ++i) {
      batch.push_back(MakeMessage(tenant, "u-" + conversation, conversation, i,
                                  at + absl::Seconds(i),
                                  absl::StrCat(text, "-", i)));
    }
    absl::Status s = store_->AppendBatch(batch);
    clock_->Set(now);
    ASSERT_TRUE(s.ok()) << s;
  }

  size_t Count(const std::string& tenant, const std::string& conversation) {
    absl::StatusOr<std::vector<v1::Message>> read =
        testing::ReadBothWays(*store_, tenant, conversation);
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() ? read->size() : 0;
  }

  std::vector<VerifyFinding> Findings() {
    absl::StatusOr<VerifyReport> report = store_->Verify();
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? report->findings : std::vector<VerifyFinding>();
  }

  PurgeReport PurgeOk(PurgeOptions options = {}) {
    absl::StatusOr<PurgeReport> report = store_->Purge(options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : PurgeReport();
  }

  TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  Options options_;
  std::unique_ptr<Store> store_;
};

TEST_F(PurgeTest, VerifyFindsExpiredAndErasedDataAndPurgeRemovesIt) {
  // Written 40 days ago (expired under the 30-day default) and yesterday.
  Conversation("acme", "old", 3, clock_->Now() - Days(40), "old-RXhwaXJlZA");
  Conversation("acme", "new", 3, clock_->Now() - Days(1), "new-TGl2ZQ");
  Conversation("acme", "gone", 2, clock_->Now() - Days(1), "gone-RXJhc2Vk");
  ASSERT_TRUE(store_
                  ->EraseConversation("acme", "gone",
                                      EraseOptions{v1::OPERATOR, "", {}})
                  .ok());
  // The old messages were accepted in the past: move the clock now.
  std::vector<VerifyFinding> findings = Findings();
  size_t expired = 0, erased = 0;
  for (const VerifyFinding& f : findings) {
    if (f.problem == "expired" && f.column_family == "messages") ++expired;
    if (f.problem == "erased" && f.column_family == "messages") ++erased;
  }
  EXPECT_EQ(expired, 3u);
  EXPECT_EQ(erased, 2u);

  const PurgeReport report = PurgeOk();
  EXPECT_TRUE(report.complete);
  EXPECT_EQ(report.expiry.messages, 3u);
  EXPECT_EQ(report.ranges_pending, 0u);
  EXPECT_GT(report.audit_last_seq, 0u);
  EXPECT_THAT(Findings(), IsEmpty());
  EXPECT_EQ(Count("acme", "new"), 3u);
  Close();
  EXPECT_FALSE(AnyFileContains(dir_.path(), "old-RXhwaXJlZA"));
  EXPECT_FALSE(AnyFileContains(dir_.path(), "gone-RXJhc2Vk"));
  EXPECT_TRUE(AnyFileContains(dir_.path(), "new-TGl2ZQ"));
}

TEST_F(PurgeTest, DryRunPredictsTheRealRunAndChangesNothing) {
  Conversation("acme", "a", 4, clock_->Now() - Days(10));
  Conversation("globex", "b", 2, clock_->Now() - Days(10));
  clock_->Advance(absl::Hours(1));
  ASSERT_TRUE(store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(7)).ok());
  PurgeOptions dry;
  dry.dry_run = true;
  const PurgeReport preview = PurgeOk(dry);
  EXPECT_TRUE(preview.dry_run);
  EXPECT_EQ(preview.expiry.messages, 4u);
  ASSERT_THAT(preview.expiry.groups, SizeIs(1));
  EXPECT_EQ(preview.expiry.groups[0].tenant, "acme");
  EXPECT_EQ(preview.audit_last_seq, 0u);
  // Nothing happened: a second preview says the same, the data is on disk.
  EXPECT_EQ(PurgeOk(dry).expiry.messages, 4u);
  EXPECT_THAT(Findings(), SizeIs(4 + 2));  // 4 messages, 2 index entries
  const PurgeReport real = PurgeOk();
  EXPECT_EQ(real.expiry.messages, preview.expiry.messages);
  EXPECT_EQ(real.expiry.bytes, preview.expiry.bytes);
  EXPECT_THAT(Findings(), IsEmpty());
  EXPECT_EQ(Count("globex", "b"), 2u);
}

TEST_F(PurgeTest, AppendsAfterAnErasureCutoffSurviveThePurge) {
  // The erased range [bucket][tenant][c]... will also hold a message written
  // after the cutoff; compacted into the same file, that file lies wholly in
  // the range, and must not be dropped.
  Conversation("acme", "c", 3, clock_->Now() - absl::Hours(2));
  ASSERT_TRUE(store_->CompactAll().ok());
  ASSERT_TRUE(
      store_->EraseConversation("acme", "c", EraseOptions{v1::OPERATOR, "", {}})
          .ok());
  clock_->Advance(absl::Minutes(10));
  ASSERT_TRUE(
      store_->Append(MakeMessage("acme", "u", "c", 9, clock_->Now(), "later"))
          .ok());
  EXPECT_EQ(Count("acme", "c"), 1u);
  // Push everything to the bottom level without touching the worklist.
  absl::StatusOr<PurgeReport> first = store_->Purge(PurgeOptions());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Count("acme", "c"), 1u);
  EXPECT_THAT(Findings(), IsEmpty());
  Reopen();
  EXPECT_EQ(Count("acme", "c"), 1u);
}

TEST_F(PurgeTest, WholeFilesOfAnExpiredDayAreDroppedNotRewritten) {
  // Enough data in one expiry day to fill files of the 64 KiB test target.
  const std::string text = Scrambled(300, 7);
  for (int c = 0; c < 40; ++c) {
    Conversation("acme", absl::StrCat("c", c), 30, clock_->Now() - Days(29),
                 text + absl::StrCat(c));
  }
  Conversation("acme", "live", 2, clock_->Now() - Days(1));
  // Compact into the bottom level first, as days of background work would
  // (nothing has expired yet, so this removes nothing).
  ASSERT_TRUE(store_->CompactAll().ok());
  // Files are cut at every expiry day: one holds the live day.
  const size_t files = SstFilesOf(dir_.path(), "messages").size();
  ASSERT_GT(files, 2u);
  clock_->Advance(Days(2));  // the 29-day-old day has now expired
  const PurgeReport report = PurgeOk();
  EXPECT_EQ(report.expiry.messages, 40u * 30u);
  // Every file of the expired day.
  EXPECT_EQ(report.files_dropped, files - 1);
  EXPECT_GT(report.bytes_dropped, 0u);
  // Most of the expired day went as whole files, not through compaction.
  EXPECT_LT(report.bytes_rewritten, report.bytes_dropped)
      << report.files_dropped << " files dropped";
  EXPECT_THAT(Findings(), IsEmpty());
  // The dropped files are deleted from disk (off the purge's main thread)
  // by the time Purge returns.
  EXPECT_FALSE(AnyFileContains(dir_.path(), text.substr(0, 40)));
  EXPECT_EQ(Count("acme", "live"), 2u);
}

TEST_F(PurgeTest, ShorteningTwoTenantsRewritesOnlyTheFilesThatHoldThem) {
  // Twelve tenants' messages in one expiry day, about 40 KB each. Files are
  // cut only at the day and, past 48 KB, at tenants: two tenants a file.
  options_.target_file_bytes = 16 << 20;
  options_.tenant_cut_file_bytes = 48 << 10;
  Reopen();
  auto tenant = [](int t) { return absl::StrCat("t", t < 10 ? "0" : "", t); };
  const absl::Time now = clock_->Now();
  const absl::Time at = now - Days(10);
  clock_->Set(at + absl::Minutes(1));  // appended as they happened
  uint32_t seed = 1;
  std::vector<std::string> expiring_texts;
  for (int t = 0; t < 12; ++t) {
    for (int c = 0; c < 4; ++c) {
      std::vector<v1::Message> batch;
      for (int i = 1; i <= 30; ++i) {
        batch.push_back(MakeMessage(tenant(t), "u", absl::StrCat("c", c), i,
                                    at + absl::Seconds(i),
                                    Scrambled(300, seed++)));
        if (t == 2 || t == 9) expiring_texts.push_back(batch.back().text());
      }
      ASSERT_TRUE(store_->AppendBatch(batch).ok());
    }
  }
  clock_->Set(now);
  ASSERT_TRUE(store_->CompactAll().ok());
  // Two tenants far apart in key order shorten their policy: their part of
  // the day expires, the other ten tenants' does not.
  for (int t : {2, 9}) {
    ASSERT_TRUE(
        store_->SetPolicy(tenant(t), v1::CATEGORY_TRANSCRIPT, Days(7)).ok());
  }
  const PurgeReport report = PurgeOk();
  EXPECT_EQ(report.expiry.messages, 2u * 4u * 30u);
  // What was rewritten is the other tenant in each of the two tenants'
  // files: about 2/12 of the day. Compacting the day from the first
  // tenant's range to the second's end would rewrite the files between
  // (about 6/12), and without tenant cuts the whole day would be.
  EXPECT_LT(report.bytes_rewritten, report.sst_bytes_before * 3 / 10)
      << report.bytes_rewritten << " of " << report.sst_bytes_before;
  EXPECT_THAT(Findings(), IsEmpty());
  for (const std::string& text : expiring_texts) {
    ASSERT_FALSE(AnyFileContains(dir_.path(), text)) << text;
  }
  for (int t = 0; t < 12; ++t) {
    EXPECT_EQ(Count(tenant(t), "c3"), t == 2 || t == 9 ? 0u : 30u) << t;
  }
}

TEST_F(PurgeTest, APurgeCutShortIsFinishedByTheNextWithoutDuplicateRecords) {
  for (int c = 0; c < 5; ++c) {
    Conversation(absl::StrCat("t", c), "c", 3, clock_->Now() - Days(40));
  }
  PurgeOptions short_run;
  short_run.max_duration = absl::Nanoseconds(1);
  const PurgeReport first = PurgeOk(short_run);
  EXPECT_FALSE(first.complete);
  EXPECT_GT(first.ranges_pending, 0u);
  EXPECT_EQ(first.expiry.messages, 15u);  // logically expired at once
  Reopen();                               // as after a kill
  const PurgeReport second = PurgeOk();
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.expiry.messages, 0u);  // already expired and audited
  EXPECT_THAT(Findings(), IsEmpty());
  size_t expiry_records = 0;
  ASSERT_TRUE(store_
                  ->ExportAudit([&](const v1::AuditRecord& r) {
                    if (r.action() == v1::AUDIT_EXPIRE) ++expiry_records;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(expiry_records, 5u);  // one per tenant and day, written once
}

TEST_F(PurgeTest, VerifyFindsRecordsPlantedBehindTheStoresBack) {
  Conversation("acme", "c1", 1, clock_->Now() - Days(1));
  ASSERT_TRUE(
      store_
          ->EraseConversation("acme", "c2", EraseOptions{v1::OPERATOR, "", {}})
          .ok());
  ASSERT_TRUE(store_->Purge(PurgeOptions()).ok());
  EXPECT_THAT(Findings(), IsEmpty());
  Close();
  // A message 60 days old (expired) and one of the erased conversation, put
  // straight into RocksDB.
  auto header = [](absl::Time created_at) {
    std::string value;
    value.push_back(1);  // format
    value.push_back(static_cast<char>(v1::CATEGORY_TRANSCRIPT));
    const int64_t micros = absl::ToUnixMicros(created_at);
    for (int shift = 56; shift >= 0; shift -= 8) {
      value.push_back(static_cast<char>((micros >> shift) & 0xFF));
    }
    return value;
  };
  auto key = [](uint32_t bucket, const std::string& conversation) {
    std::string k;
    for (uint32_t v : {bucket, uint32_t{1}}) {  // acme is tenant number 1
      for (int shift = 24; shift >= 0; shift -= 8) {
        k.push_back(static_cast<char>((v >> shift) & 0xFF));
      }
    }
    k += conversation;
    k.push_back('\0');
    k += std::string(7, '\0') + "\x01";
    return k;
  };
  RawPut(dir_.path(), "messages", key(20000, "planted"),
         header(clock_->Now() - Days(60)));
  RawPut(dir_.path(), "messages", key(20001, "c2"),
         header(clock_->Now() - absl::Hours(3)));
  Reopen();
  std::vector<VerifyFinding> findings = Findings();
  ASSERT_THAT(findings, SizeIs(2));
  std::sort(findings.begin(), findings.end(),
            [](const VerifyFinding& a, const VerifyFinding& b) {
              return a.problem < b.problem;
            });
  EXPECT_EQ(findings[0].problem, "erased");
  EXPECT_EQ(findings[0].conversation, "c2");
  EXPECT_EQ(findings[0].tenant, "acme");
  EXPECT_EQ(findings[1].problem, "expired");
  EXPECT_EQ(findings[1].conversation, "planted");
}

TEST_F(PurgeTest, PurgeRunsWhileTheBackendKeepsWriting) {
  Conversation("acme", "old", 50, clock_->Now() - Days(40));
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 1; !stop.load() && i <= 2000; ++i) {
      if (store_
              ->Append(MakeMessage("acme", "w", "live", i,
                                   clock_->Now() - absl::Minutes(1)))
              .ok()) {
        written.fetch_add(1);
      }
    }
  });
  const PurgeReport report = PurgeOk();
  stop.store(true);
  writer.join();
  EXPECT_EQ(report.expiry.messages, 50u);
  EXPECT_EQ(Count("acme", "live"), static_cast<size_t>(written.load()));
  EXPECT_THAT(PurgeOk().expiry.groups, IsEmpty());
}

TEST_F(PurgeTest, BadOptionsAreRefused) {
  PurgeOptions bad;
  bad.rate_limit_bytes_per_second = -1;
  EXPECT_EQ(store_->Purge(bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = PurgeOptions();
  bad.max_duration = absl::ZeroDuration();
  EXPECT_EQ(store_->Purge(bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PurgeTest, LiftingAHoldNeverLetsThePurgeDropLiveMessages) {
  // 400 messages of one conversation over one UTC day D, ~300 bytes each:
  // several 64 KiB files, all inside the conversation's key range.
  const absl::Time day = absl::FromUnixSeconds(
      absl::ToUnixSeconds(clock_->Now()) / 86400 * 86400 + 86400);
  clock_->Set(day + absl::Hours(24) + absl::Minutes(1));
  std::vector<v1::Message> batch;
  for (int i = 1; i <= 400; ++i) {
    batch.push_back(MakeMessage("acme", "u", "big", i,
                                day + absl::Seconds(200 * i),
                                std::string(300, 'z')));
  }
  ASSERT_TRUE(store_->AppendBatch(batch).ok());
  ASSERT_TRUE(
      store_->SetHold("acme", v1::SCOPE_CONVERSATION, "big", "case", "legal")
          .ok());
  ASSERT_TRUE(store_->CompactAll().ok());  // bottom level, nothing expired
  // Thirty days on, half the day has expired: held back, then released.
  clock_->Set(day + Days(30) + absl::Seconds(200 * 200) + absl::Seconds(100));
  absl::StatusOr<ExpiryReport> expiry = store_->ExpireDue();
  ASSERT_TRUE(expiry.ok());
  EXPECT_EQ(expiry->held_back, 200u);
  ASSERT_TRUE(
      store_->ClearHold("acme", v1::SCOPE_CONVERSATION, "big", "legal").ok());
  const PurgeReport report = PurgeOk();
  EXPECT_TRUE(report.complete);
  EXPECT_EQ(Count("acme", "big"), 200u);
  EXPECT_THAT(Findings(), IsEmpty());
  Reopen();
  EXPECT_EQ(Count("acme", "big"), 200u);
}

// ExpireDue scans every tenant without its lock, then writes all of them at
// once. A hold set in between (by another thread) must still keep what it
// covers: the tenant is scanned again before the write, so its conversation
// is held back, not expired and audited, and the purge leaves it on disk.
TEST_F(PurgeTest, HoldSetBetweenExpiryScanAndWriteKeepsWhatItCovers) {
  Conversation("acme", "held", 10, clock_->Now(), "held-SG9sZA");
  Conversation("acme", "free", 10, clock_->Now(), "free-RnJlZQ");
  Conversation("globex", "other", 5, clock_->Now(), "other-T3RoZXI");
  clock_->Set(clock_->Now() + Days(31));
  int calls = 0;
  internal::StoreTestingHooks::SetAfterExpiryScan(*store_, [&] {
    ++calls;
    EXPECT_TRUE(
        store_->SetHold("acme", v1::SCOPE_CONVERSATION, "held", "case", "legal")
            .ok());
  });
  absl::StatusOr<ExpiryReport> expiry = store_->ExpireDue();
  internal::StoreTestingHooks::SetAfterExpiryScan(*store_, nullptr);
  ASSERT_TRUE(expiry.ok()) << expiry.status();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(expiry->messages, 15u);
  EXPECT_EQ(expiry->held_back, 10u);
  const PurgeReport report = PurgeOk();
  EXPECT_TRUE(report.complete);
  EXPECT_EQ(report.expiry.messages, 0u);
  EXPECT_THAT(Findings(), IsEmpty());
  ExportOptions held;
  held.include_held = true;
  absl::StatusOr<ExportSummary> exported =
      store_->Export("acme", "u-held", held,
                     [](absl::string_view) { return absl::OkStatus(); });
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->messages, 10u);
  Close();
  EXPECT_FALSE(AnyFileContains(dir_.path(), "free-RnJlZQ"));
  EXPECT_FALSE(AnyFileContains(dir_.path(), "other-T3RoZXI"));
}

// A lifted hold's key names whom it held (raw id: holds are looked up by
// it). The purge compacts the metadata where such records get deleted, so
// neither the record nor its tombstone stays on disk.
TEST_F(PurgeTest, PurgeLeavesNoLiftedHoldOnDisk) {
  Conversation("acme", "c1", 3, clock_->Now());
  ASSERT_TRUE(
      store_->SetHold("acme", v1::SCOPE_USER, "u-SG9sZGVu", "case 7", "legal")
          .ok());
  ASSERT_TRUE(
      store_->ClearHold("acme", v1::SCOPE_USER, "u-SG9sZGVu", "legal").ok());
  const PurgeReport report = PurgeOk();
  EXPECT_TRUE(report.complete);
  Close();
  EXPECT_FALSE(AnyFileContains(dir_.path(), "u-SG9sZGVu"));
}

TEST_F(PurgeTest, VerifyWhileCompactionsReplaceFilesNeverFails) {
  // Found by purge_bench: a file listed as live was compacted away before
  // Verify opened it ("No such file or directory").
  const std::string text(300, 'v');
  for (int c = 0; c < 40; ++c) {
    Conversation("acme", absl::StrCat("c", c), 30, clock_->Now() - Days(1),
                 text);
  }
  std::atomic<bool> stop{false};
  std::thread compactor([&] {
    while (!stop.load()) ASSERT_TRUE(store_->CompactAll().ok());
  });
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<VerifyReport> report = store_->Verify();
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_THAT(report->findings, IsEmpty());
  }
  stop.store(true);
  compactor.join();
}

TEST_F(PurgeTest, ErasingAConversationWhoseMessagesExpiredRemovesItsUserIndex) {
  // Found by crash_test (seed 1066, killed in op 144). Index entries carry a
  // bound up to a day later than their messages, so they can outlive them;
  // the erasure took the conversation's users from its messages, found none,
  // and left the user index entry (which names the user) behind.
  clock_->Set(T0() - absl::Hours(6));
  Conversation("acme", "c-ZXJhc2Vk", 2, T0() - Days(30) - absl::Hours(12));
  EXPECT_TRUE(PurgeOk().complete);  // the messages expire and go
  ASSERT_TRUE(
      store_
          ->EraseConversation("acme", "c-ZXJhc2Vk",
                              EraseOptions{v1::END_USER_REQUEST, "", {}})
          .ok());
  EXPECT_TRUE(PurgeOk().complete);
  EXPECT_THAT(Findings(), IsEmpty());
  // (A raw byte search would still find the user id: in the MANIFEST, which
  // keeps the boundary keys of deleted files until it rolls over.)
}

TEST_F(PurgeTest, ExpiredIndexEntriesGoWhereNoNewerFileOverlapsThem) {
  // Found by crash_test (seed 5, killed in op 150): the purge compacted the
  // index without forcing its bottom level when it had several levels, and
  // bottom-level files that no upper file overlapped kept expired entries.
  const std::string text(300, 'x');
  for (int c = 0; c < 40; ++c) {
    Conversation("acme", absl::StrCat("old-", c), 5, clock_->Now() - Days(29),
                 text);
  }
  ASSERT_TRUE(store_->CompactAll().ok());  // to the bottom; nothing expired
  // A later tenant's index entries, in an upper level and another key range.
  Conversation("zeta", "new", 3, clock_->Now() - absl::Hours(1));
  Reopen();                  // the memtable goes to a level-0 file
  clock_->Advance(Days(2));  // acme's day has expired
  EXPECT_TRUE(PurgeOk().complete);
  EXPECT_THAT(Findings(), IsEmpty());
  EXPECT_EQ(Count("zeta", "new"), 3u);
}

// Writes the same traffic into `stores`: three tenants (initech with a TTL of
// 30.5 days, so one creation day lands in two expiry days), conversations of 30
// messages a minute apart, some crossing midnight, every fourth message a
// diagnostic log, over days 32 to 45 before the clock's now. Each batch is
// written with the clock just after it, as a chat server would have.
void WriteTraffic(ManualClock* clock, const std::vector<Store*>& stores) {
  const absl::Time now = clock->Now();
  clock->Set(now - Days(50));
  for (Store* store : stores) {
    ASSERT_TRUE(store
                    ->SetPolicy("initech", v1::CATEGORY_TRANSCRIPT,
                                Days(30) + absl::Hours(12))
                    .ok());
  }
  for (int day = 45; day >= 32; --day) {
    for (const char* tenant : {"acme", "globex", "initech"}) {
      for (int c = 0; c < 3; ++c) {
        const absl::Time start = now - Days(day) +
                                 absl::Hours(c == 0 ? 23 : 8 * c) +
                                 absl::Minutes(45);
        std::vector<v1::Message> batch;
        for (int seq = 1; seq <= 30; ++seq) {
          batch.push_back(MakeMessage(
              tenant, absl::StrCat("u", c), absl::StrCat("conv-", day, "-", c),
              seq, start + absl::Minutes(seq), std::string(200 + seq, 'w'),
              seq % 4 == 0 ? v1::CATEGORY_DIAGNOSTIC_LOG
                           : v1::CATEGORY_TRANSCRIPT));
        }
        clock->Set(start + absl::Minutes(31));
        for (Store* store : stores) {
          absl::Status s = store->AppendBatch(batch);
          ASSERT_TRUE(s.ok()) << s;
        }
      }
    }
  }
  clock->Set(now);
}

TEST_F(PurgeTest, APurgeJustBeforeTheDayStartRewritesLittleOfTheCurrentDay) {
  // Two stores with the same traffic: one whose days begin at midnight, and
  // one whose days begin at 12:10, ten minutes after the purge at noon.
  // Conversations every 30 minutes of one day, 30 days ago: at noon, the
  // first half has expired.
  const absl::Time midnight = T0() + Days(40);
  const absl::Duration day_start = absl::Hours(12) + absl::Minutes(10);
  TempDir shifted_dir;
  Options shifted_options = options_;
  shifted_options.day_start = day_start;
  absl::StatusOr<std::unique_ptr<Store>> shifted =
      Store::Open(shifted_options, shifted_dir.path());
  ASSERT_TRUE(shifted.ok()) << shifted.status();
  // Reopened without saying: it keeps its days.
  ASSERT_TRUE((*shifted)->Close().ok());
  shifted_options.day_start.reset();
  shifted = Store::Open(shifted_options, shifted_dir.path());
  ASSERT_TRUE(shifted.ok()) << shifted.status();
  std::vector<std::string> live_texts;
  uint32_t seed = 1;
  for (int c = 0; c < 48; ++c) {
    const absl::Time at = midnight - Days(30) + absl::Minutes(30) * c;
    clock_->Set(at + absl::Minutes(1));
    std::vector<v1::Message> batch;
    for (int i = 1; i <= 10; ++i) {
      batch.push_back(MakeMessage("acme", "u", absl::StrCat("c", c), i,
                                  at + absl::Seconds(i),
                                  Scrambled(1000, seed++)));
      if (c >= 24) live_texts.push_back(batch.back().text());
    }
    ASSERT_TRUE(store_->AppendBatch(batch).ok());
    ASSERT_TRUE((*shifted)->AppendBatch(batch).ok());
  }
  ASSERT_TRUE(store_->CompactAll().ok());  // nothing has expired yet
  ASSERT_TRUE((*shifted)->CompactAll().ok());

  clock_->Set(midnight + absl::Hours(12));
  const PurgeReport at_midnight = PurgeOk();
  absl::StatusOr<PurgeReport> at_day_start = (*shifted)->Purge({});
  ASSERT_TRUE(at_day_start.ok()) << at_day_start.status();
  EXPECT_EQ(at_midnight.expiry.messages, 24u * 10u);
  EXPECT_EQ(at_day_start->expiry.messages, 24u * 10u);
  // Days from midnight: the purge rewrites the live half of the day, about
  // 200 KB. Days from 12:10: only the ten minutes left of its current day.
  EXPECT_GT(at_midnight.bytes_rewritten_messages, 150'000u);
  for (const PurgeReport* r :
       std::vector<const PurgeReport*>{&at_midnight, &*at_day_start}) {
    EXPECT_EQ(r->bytes_rewritten, r->bytes_rewritten_messages +
                                      r->bytes_rewritten_index +
                                      r->bytes_rewritten_metadata);
    EXPECT_GT(r->bytes_rewritten_index, 0u);  // compacted whole every run
  }
  EXPECT_LT(at_day_start->bytes_rewritten, at_midnight.bytes_rewritten / 5)
      << at_day_start->bytes_rewritten << " vs " << at_midnight.bytes_rewritten;
  // The audit counts the same messages, per creation day of the store's
  // days: 00:00-12:00 lies in the day that began at 12:10 the day before.
  ASSERT_THAT(at_midnight.expiry.groups, SizeIs(1));
  ASSERT_THAT(at_day_start->expiry.groups, SizeIs(1));
  EXPECT_EQ(at_midnight.expiry.groups[0].created_day, midnight - Days(30));
  EXPECT_EQ(at_day_start->expiry.groups[0].created_day,
            midnight - Days(31) + day_start);
  EXPECT_EQ(at_day_start->expiry.groups[0].conversations, 24u);
  absl::StatusOr<VerifyReport> verified = (*shifted)->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(verified->findings, IsEmpty());
  EXPECT_THAT(Findings(), IsEmpty());
  for (size_t i = 0; i < live_texts.size(); i += 40) {  // still on disk
    ASSERT_TRUE(AnyFileContains(shifted_dir.path(), live_texts[i])) << i;
  }
  absl::StatusOr<std::vector<v1::Message>> read =
      (*shifted)->ReadConversation("acme", "c24");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(*read, SizeIs(10));
}

TEST_F(PurgeTest, ThePurgeRewritesTheIndexOnce) {
  // As on any night: the index compacted into the bottom level by the last
  // purge, and the day's new entries still in its memtable.
  for (int c = 0; c < 300; ++c) {
    Conversation("acme", absl::StrCat("old-", c), 2, clock_->Now() - Days(29));
  }
  ASSERT_TRUE(store_->CompactAll().ok());
  for (int c = 0; c < 300; ++c) {
    Conversation("acme", absl::StrCat("new-", c), 2, clock_->Now());
  }
  clock_->Advance(Days(2));  // the old conversations expire
  const PurgeReport report = PurgeOk();
  EXPECT_EQ(report.expiry.messages, 600u);
  EXPECT_THAT(Findings(), IsEmpty());
  Close();
  uint64_t index_bytes = 0;
  for (const std::string& file : SstFilesOf(dir_.path(), "index")) {
    index_bytes += std::filesystem::file_size(file);
  }
  // Every entry passes the filter once: what was written is the index that
  // is left (the old entries are gone), not twice that.
  EXPECT_GT(report.bytes_rewritten_index, 0u);
  EXPECT_LE(report.bytes_rewritten_index, index_bytes * 13 / 10)
      << index_bytes << " bytes of index left";
}

TEST_F(PurgeTest, TenantsExpiringTheSameDayTakeOneWorklistEntry) {
  // Expiry notes a [day][tenant] range per tenant, and these five touch. A
  // backlog's ranges (17 091 in purge_bench), written one by one and deleted
  // one by one, were a fifth of the CPU time of the expiry's write and of
  // the purge's worklist write.
  for (int t = 0; t < 5; ++t) {
    Conversation(absl::StrCat("tenant-", t), "c", 3, clock_->Now() - Days(31));
  }
  absl::StatusOr<ExpiryReport> expiry = store_->ExpireDue();
  ASSERT_TRUE(expiry.ok()) << expiry.status();
  EXPECT_EQ(expiry->messages, 15u);
  EXPECT_EQ(expiry->ranges_deleted, 5u);
  Close();
  std::vector<std::string> worklist;
  for (const std::string& key : RawKeys(dir_.path(), "deletable")) {
    if (absl::StartsWith(key, "purge/")) worklist.push_back(key);
  }
  EXPECT_THAT(worklist, SizeIs(1));
  Reopen();
  const PurgeReport report = PurgeOk();
  EXPECT_EQ(report.ranges_compacted, 1u);
  EXPECT_EQ(report.ranges_pending, 0u);
  EXPECT_THAT(Findings(), IsEmpty());
  for (int t = 0; t < 5; ++t) {
    EXPECT_EQ(Count(absl::StrCat("tenant-", t), "c"), 0u);
  }
}

TEST_F(PurgeTest, ThePurgeLeavesTheAuditLedgerAlone) {
  // A ledger of a few thousand records (policy changes), then nights whose
  // purges each add a few records, delete worklist entries and a lifted
  // hold: what they rewrite of the metadata must not include the ledger.
  // (Few tenants: ExpireDue holds every due tenant's lock at once, and
  // ThreadSanitizer tracks at most 64 locks held by one thread.)
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(store_
                    ->SetPolicy(absl::StrCat("tenant-", i % 20),
                                v1::CATEGORY_TRANSCRIPT, Days(7 + i % 23))
                    .ok());
  }
  ASSERT_TRUE(store_->CompactAll().ok());
  for (int night = 0; night < 3; ++night) {
    Conversation("acme", absl::StrCat("c", night), 3, clock_->Now() - Days(31));
    ASSERT_TRUE(
        store_->SetHold("acme", v1::SCOPE_USER, "u-lifted", "case", "legal")
            .ok());
    ASSERT_TRUE(
        store_->ClearHold("acme", v1::SCOPE_USER, "u-lifted", "legal").ok());
    const PurgeReport report = PurgeOk();
    EXPECT_EQ(report.expiry.messages, 3u);
    // The 600 policy changes alone take ~100 KB of ledger.
    EXPECT_LT(report.bytes_rewritten_metadata, 20'000u) << "night " << night;
    clock_->Advance(Days(1));
  }
  Close();
  EXPECT_FALSE(AnyFileContains(dir_.path(), "u-lifted"));
  EXPECT_THAT(RawKeys(dir_.path(), "default"),
              ::testing::Each(::testing::Not(::testing::StartsWith("hold/"))));
}

TEST_F(PurgeTest, AStoreFromBeforeTheDeletableFamilyHasItsRecordsMoved) {
  Conversation("acme", "held", 3, clock_->Now() - Days(40));
  Conversation("acme", "gone", 3, clock_->Now() - Days(40));
  ASSERT_TRUE(
      store_->SetHold("acme", v1::SCOPE_CONVERSATION, "held", "case", "legal")
          .ok());
  ASSERT_TRUE(
      store_->SetHold("acme", v1::SCOPE_USER, "u-was-held", "case", "legal")
          .ok());
  ASSERT_TRUE(store_
                  ->OpenRequest("acme", "req-1", v1::REQUEST_ERASURE, "u-1",
                                clock_->Now())
                  .ok());
  Close();
  testing::RewriteAsStoreBeforeDeletableFamily(dir_.path());
  ASSERT_THAT(RawKeys(dir_.path(), "default"),
              ::testing::Contains(::testing::StartsWith("hold/")));

  // Open moves the records; the copies it leaves in "default" must go too,
  // or the user hold lifted below would still be named there.
  Reopen();
  ASSERT_TRUE(
      store_->ClearHold("acme", v1::SCOPE_USER, "u-was-held", "legal").ok());
  absl::StatusOr<std::vector<v1::Hold>> holds = store_->ListHolds("acme");
  ASSERT_TRUE(holds.ok()) << holds.status();
  ASSERT_THAT(*holds, SizeIs(1));
  EXPECT_EQ((*holds)[0].id(), "held");
  absl::StatusOr<std::vector<v1::Request>> requests =
      store_->ListRequests(false);
  ASSERT_TRUE(requests.ok()) << requests.status();
  EXPECT_THAT(*requests, SizeIs(1));
  // The hold still keeps what it covers through expiry.
  const PurgeReport report = PurgeOk();
  EXPECT_EQ(report.expiry.messages, 3u);
  EXPECT_EQ(report.expiry.held_back, 3u);
  EXPECT_THAT(Findings(), IsEmpty());
  Close();
  EXPECT_THAT(
      RawKeys(dir_.path(), "default"),
      ::testing::Each(::testing::Not(::testing::AnyOf(
          ::testing::StartsWith("hold/"), ::testing::StartsWith("request/")))));
  // Gone from every SST and WAL file at once. The MANIFEST written when the
  // old store was opened lists its files with their first and last keys,
  // and one of them began with the hold: RocksDB rewrites the MANIFEST at the
  // next open.
  for (const std::string& cf : {"default", "deletable", "messages", "index"}) {
    for (const std::string& file : SstFilesOf(dir_.path(), cf)) {
      EXPECT_FALSE(testing::FileContains(file, "u-was-held")) << file;
    }
  }
  Reopen();
  Close();
  EXPECT_FALSE(AnyFileContains(dir_.path(), "u-was-held"));
}

TEST_F(PurgeTest, ExpiryCountedFromFileStatisticsEqualsReadingTheRecords) {
  // This store's data goes into SST files, where ExpireDue counts it from the
  // files' statistics; the other's stays in memtables, where it is read.
  TempDir memtable_dir;
  absl::StatusOr<std::unique_ptr<Store>> in_memtables =
      Store::Open(options_, memtable_dir.path());
  ASSERT_TRUE(in_memtables.ok()) << in_memtables.status();
  WriteTraffic(clock_.get(), {store_.get(), in_memtables->get()});
  // Into files of the bottom level without expiring anything (the oldest
  // day expires only after the clock moves).
  clock_->Set(clock_->Now() - Days(20));
  ASSERT_TRUE(store_->CompactAll().ok());
  clock_->Set(clock_->Now() + Days(20));

  absl::StatusOr<ExpiryReport> from_files = store_->ExpireDue();
  absl::StatusOr<ExpiryReport> read = (*in_memtables)->ExpireDue();
  ASSERT_TRUE(from_files.ok()) << from_files.status();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_GT(from_files->ranges_counted_from_files, 10u);
  EXPECT_EQ(read->ranges_counted_from_files, 0u);
  // 14 days x 3 tenants x 3 conversations x 30 messages, all expired.
  EXPECT_EQ(from_files->messages, 14u * 3 * 3 * 30);
  EXPECT_EQ(read->messages, from_files->messages);
  EXPECT_EQ(read->bytes, from_files->bytes);
  ASSERT_EQ(read->groups.size(), from_files->groups.size());
  for (size_t i = 0; i < read->groups.size(); ++i) {
    const ExpiryGroup& a = from_files->groups[i];
    const ExpiryGroup& b = read->groups[i];
    SCOPED_TRACE(absl::StrCat(b.tenant, " ", b.category, " ",
                              absl::FormatTime(b.created_day)));
    EXPECT_EQ(a.tenant, b.tenant);
    EXPECT_EQ(a.category, b.category);
    EXPECT_EQ(a.created_day, b.created_day);
    EXPECT_EQ(a.messages, b.messages);
    EXPECT_EQ(a.conversations, b.conversations);
    EXPECT_EQ(a.bytes, b.bytes);
  }
  // And the purge that follows leaves nothing behind.
  EXPECT_TRUE(PurgeOk().complete);
  EXPECT_THAT(Findings(), IsEmpty());
}

TEST_F(PurgeTest, APurgeInTwoStepsAuditsWhatOneExpiryRunWould) {
  // The purge expires what had expired by the start of the current day,
  // drops those files, then expires the rest of the day. Its audit must be
  // what one ExpireDue at the same clock finds (initech's 30.5-day TTL
  // splits a creation day between the steps).
  TempDir single_dir;
  absl::StatusOr<std::unique_ptr<Store>> single =
      Store::Open(options_, single_dir.path());
  ASSERT_TRUE(single.ok()) << single.status();
  WriteTraffic(clock_.get(), {store_.get(), single->get()});
  // And a conversation that expires this morning: the second step's.
  const absl::Time now = clock_->Now();
  const absl::Time morning = now - Days(30) + absl::Hours(6);
  std::vector<v1::Message> batch;
  for (int seq = 1; seq <= 4; ++seq) {
    batch.push_back(MakeMessage("acme", "u-m", "morning", seq,
                                morning + absl::Seconds(seq), "early"));
  }
  clock_->Set(morning + absl::Minutes(1));
  ASSERT_TRUE(store_->AppendBatch(batch).ok());
  ASSERT_TRUE((*single)->AppendBatch(batch).ok());
  clock_->Set(now - Days(20));
  ASSERT_TRUE(store_->CompactAll().ok());
  ASSERT_TRUE((*single)->CompactAll().ok());
  // Midday: the current day is half expired.
  clock_->Set(now + absl::Hours(12));

  const PurgeReport purged = PurgeOk();
  absl::StatusOr<ExpiryReport> once = (*single)->ExpireDue();
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_GT(once->messages, 0u);
  EXPECT_EQ(purged.expiry.messages, once->messages);
  EXPECT_EQ(purged.expiry.bytes, once->bytes);
  using Key = std::tuple<std::string, int, absl::Time>;
  auto by_day = [](const ExpiryReport& r) {
    std::map<Key, std::pair<uint64_t, uint64_t>> out;  // messages, bytes
    for (const ExpiryGroup& g : r.groups) {
      auto& [messages, bytes] = out[{g.tenant, g.category, g.created_day}];
      messages += g.messages;
      bytes += g.bytes;
    }
    return out;
  };
  EXPECT_EQ(by_day(purged.expiry), by_day(*once));
  EXPECT_EQ(purged.expiry.now, clock_->Now());
  EXPECT_THAT(Findings(), IsEmpty());
  absl::StatusOr<AuditVerification> audit = store_->VerifyAudit();
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_TRUE(audit->ok) << audit->problem;
  // Nothing is left to expire, and nothing is audited twice.
  EXPECT_EQ(PurgeOk().expiry.messages, 0u);
}

TEST_F(PurgeTest, DaysWhoseStatisticsShowNothingExpiredAreNotRead) {
  // A 7-day tenant whose history holds the default's 30 days: ExpireDue
  // looks for messages written under 30 days in every day up to 30 days
  // ahead, which here hold only live 7-day data. Their file statistics say
  // so; reading them found nothing (purge_bench: 160 of 169 days read).
  ASSERT_TRUE(store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(7)).ok());
  for (int d = 1; d <= 7; ++d) {  // c7 expires an hour from now
    Conversation("acme", absl::StrCat("c", d), 5,
                 clock_->Now() - Days(d) + absl::Hours(1));
  }
  // Into files without an expiry run, whose watermark would bound the days
  // looked at (in purge_bench nothing had ever expired): RocksDB flushes
  // what it recovers from the WAL.
  Reopen();
  clock_->Advance(Days(1));  // the day of c7 has expired, the others live
  absl::StatusOr<ExpiryReport> expiry = store_->ExpireDue();
  ASSERT_TRUE(expiry.ok()) << expiry.status();
  EXPECT_EQ(expiry->messages, 5u);
  EXPECT_EQ(expiry->ranges_counted_from_files, 1u);
  EXPECT_EQ(expiry->ranges_read, 0u);
  EXPECT_EQ(Count("acme", "c7"), 0u);
  EXPECT_EQ(Count("acme", "c6"), 5u);
  EXPECT_TRUE(PurgeOk().complete);
  EXPECT_THAT(Findings(), IsEmpty());
  EXPECT_EQ(Count("acme", "c1"), 5u);
}

TEST_F(PurgeTest, ExpiryOfFilesWithErasedOrHeldDataCountsOnlyWhatExpired) {
  Conversation("acme", "plain", 5, clock_->Now() - Days(40));
  Conversation("acme", "erased", 4, clock_->Now() - Days(40));
  Conversation("globex", "held", 3, clock_->Now() - Days(40));
  Conversation("initech", "other", 2, clock_->Now() - Days(40));
  clock_->Set(clock_->Now() - Days(20));
  ASSERT_TRUE(store_->CompactAll().ok());  // into files; nothing expires
  clock_->Set(clock_->Now() + Days(20));
  // The erasure's range tombstone and the hold are not in the files'
  // statistics: those tenants' days must be read.
  ASSERT_TRUE(store_
                  ->EraseConversation("acme", "erased",
                                      EraseOptions{v1::OPERATOR, "", {}})
                  .ok());
  ASSERT_TRUE(
      store_->SetHold("globex", v1::SCOPE_USER, "u-held", "case 1", "legal")
          .ok());
  absl::StatusOr<ExpiryReport> report = store_->ExpireDue();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->messages, 5u + 2u);  // acme/plain and initech/other
  EXPECT_EQ(report->held_back, 3u);
  EXPECT_EQ(report->ranges_counted_from_files, 1u);  // initech's day
  EXPECT_EQ(report->ranges_read, 2u);
  ASSERT_THAT(report->groups, SizeIs(3));
  EXPECT_EQ(report->groups[0].tenant, "acme");
  EXPECT_EQ(report->groups[0].messages, 5u);
  EXPECT_EQ(report->groups[0].conversations, 1u);
  EXPECT_EQ(report->groups[1].tenant, "globex");
  EXPECT_EQ(report->groups[1].held_back, 3u);
  EXPECT_EQ(report->groups[2].tenant, "initech");
  EXPECT_EQ(report->groups[2].messages, 2u);
  EXPECT_EQ(report->groups[2].conversations, 1u);
}

}  // namespace
}  // namespace ebb
