// Copyright ebb authors.
//
// Erasure, the resurrection guard, holds, restriction, requests, export and the
// audit ledger, through the public API and checked against raw RocksDB and
// the bytes on disk.

#include <malloc.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/ebb/store.h"
#include "tests/test_util.h"

namespace ebb {
namespace {

using ::ebb::testing::AnyFileContains;
using ::ebb::testing::Days;
using ::ebb::testing::MakeMessage;
using ::ebb::testing::RawKeys;
using ::ebb::testing::T0;
using ::ebb::testing::TempDir;
using ::ebb::testing::TestOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

EraseOptions Because(v1::ErasureReason reason, std::string request_id = "") {
  EraseOptions options;
  options.reason = reason;
  options.request_id = std::move(request_id);
  return options;
}

class ErasureTest : public ::testing::Test {
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

  // Messages 1..n of a conversation, a minute apart, ending an hour ago.
  void Conversation(const std::string& tenant, const std::string& user,
                    const std::string& conversation, int n,
                    const std::string& text = "hello") {
    std::vector<v1::Message> batch;
    for (int i = 1; i <= n; ++i) {
      batch.push_back(MakeMessage(tenant, user, conversation, i,
                                  clock_->Now() - absl::Hours(1) +
                                      absl::Minutes(i - n),
                                  absl::StrCat(text, " ", i)));
    }
    absl::Status s = store_->AppendBatch(batch);
    ASSERT_TRUE(s.ok()) << s;
  }

  size_t Count(const std::string& tenant, const std::string& conversation) {
    absl::StatusOr<std::vector<v1::Message>> read =
        testing::ReadBothWays(*store_, tenant, conversation);
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() ? read->size() : 0;
  }

  std::vector<std::string> Listed(const std::string& tenant,
                                  const std::string& user) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<ConversationInfo>> list =
        store_->ListConversations(tenant, user);
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      for (const ConversationInfo& c : *list) out.push_back(c.conversation);
    }
    return out;
  }

  std::vector<std::string> ExportLines(const std::string& tenant,
                                       const std::string& user,
                                       ExportOptions options = {}) {
    std::vector<std::string> lines;
    absl::StatusOr<ExportSummary> summary = store_->Export(
        tenant, user, options, [&](absl::string_view line) {
          lines.emplace_back(line);
          return absl::OkStatus();
        });
    EXPECT_TRUE(summary.ok()) << summary.status();
    return lines;
  }

  size_t MessageLines(const std::vector<std::string>& lines) {
    size_t n = 0;
    for (const std::string& line : lines) {
      if (!absl::StartsWith(line, "{\"record\"")) ++n;
    }
    return n;
  }

  std::vector<v1::AuditRecord> Ledger() {
    std::vector<v1::AuditRecord> out;
    absl::Status s = store_->ExportAudit([&](const v1::AuditRecord& r) {
      out.push_back(r);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::vector<v1::AuditAction> Actions(const std::string& tenant) {
    std::vector<v1::AuditAction> out;
    for (const v1::AuditRecord& r : Ledger()) {
      if (r.tenant() == tenant) out.push_back(r.action());
    }
    return out;
  }

  void ExpectLedgerVerifies() {
    absl::StatusOr<AuditVerification> v = store_->VerifyAudit();
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->ok) << v->first_bad_seq << ": " << v->problem;
  }

  TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  Options options_;
  std::unique_ptr<Store> store_;
};

// ---------------------------------------------------------------- erasure

TEST_F(ErasureTest, EraseConversationHidesItAtOnceAndLeavesOthers) {
  Conversation("acme", "u1", "c1", 5);
  Conversation("acme", "u1", "c2", 3);
  Conversation("globex", "u1", "c1", 2);

  absl::StatusOr<EraseResult> result = store_->EraseConversation(
      "acme", "c1", Because(v1::END_USER_REQUEST, "ticket-1"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->pending);
  EXPECT_EQ(result->messages, 5u);
  EXPECT_EQ(result->conversations, 1u);
  EXPECT_GT(result->bytes, 0u);
  EXPECT_EQ(result->cutoff, clock_->Now() + options_.retention.max_clock_skew);

  EXPECT_EQ(Count("acme", "c1"), 0u);
  EXPECT_EQ(Count("acme", "c2"), 3u);
  EXPECT_EQ(Count("globex", "c1"), 2u);
  EXPECT_THAT(Listed("acme", "u1"), ElementsAre("c2"));

  // The audit record: what, why, which request, how much; no raw ids.
  const std::vector<v1::AuditRecord> ledger = Ledger();
  const v1::AuditRecord& last = ledger.back();
  EXPECT_EQ(last.seq(), result->audit_seq);
  EXPECT_EQ(last.action(), v1::AUDIT_ERASE);
  EXPECT_EQ(last.tenant(), "acme");
  EXPECT_EQ(last.scope(), v1::SCOPE_CONVERSATION);
  EXPECT_EQ(last.subject(),
            *store_->PseudonymFor("acme", v1::SCOPE_CONVERSATION, "c1"));
  EXPECT_EQ(last.reason(), v1::END_USER_REQUEST);
  EXPECT_EQ(last.request_id(), "ticket-1");
  EXPECT_EQ(last.counts().messages(), 5u);
  EXPECT_EQ(last.counts().conversations(), 1u);
  EXPECT_EQ(last.counts().bytes(), result->bytes);
  ExpectLedgerVerifies();

  // Erased for good: reopen, compact, and the raw column families agree.
  Reopen();
  EXPECT_EQ(Count("acme", "c1"), 0u);
  ASSERT_TRUE(store_->CompactAll().ok());
  Close();
  for (const std::string& key : RawKeys(dir_.path(), "messages")) {
    EXPECT_FALSE(absl::StrContains(key, std::string("c1\0", 3)) &&
                 key.substr(4, 4) == std::string("\0\0\0\1", 4))
        << "an acme c1 message survived";
  }
  for (const std::string& key : RawKeys(dir_.path(), "index")) {
    EXPECT_FALSE(absl::StrContains(key, std::string("c1\0", 3)) &&
                 key.substr(0, 4) == std::string("\0\0\0\1", 4))
        << "an acme c1 index entry survived";
  }
}

TEST_F(ErasureTest, EraseUserTakesEveryConversationOfTheUser) {
  Conversation("acme", "u1", "c1", 4);
  Conversation("acme", "u1", "c2", 2);
  Conversation("acme", "u2", "c3", 3);
  absl::StatusOr<EraseResult> result =
      store_->EraseUser("acme", "u1", Because(v1::CHILD_DATA));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->messages, 6u);
  EXPECT_EQ(result->conversations, 2u);
  EXPECT_EQ(Count("acme", "c1"), 0u);
  EXPECT_EQ(Count("acme", "c2"), 0u);
  EXPECT_EQ(Count("acme", "c3"), 3u);
  EXPECT_THAT(Listed("acme", "u1"), IsEmpty());
  EXPECT_THAT(Listed("acme", "u2"), ElementsAre("c3"));
  EXPECT_EQ(Ledger().back().scope(), v1::SCOPE_USER);
  EXPECT_EQ(Ledger().back().reason(), v1::CHILD_DATA);
}

TEST_F(ErasureTest, EraseTenantTakesAllOfItAndNothingElse) {
  Conversation("acme", "u1", "c1", 4);
  Conversation("acme", "u2", "c2", 2);
  Conversation("globex", "u1", "c1", 3);
  absl::StatusOr<EraseResult> result =
      store_->EraseTenant("acme", Because(v1::ACCOUNT_CLOSURE));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->messages, 6u);
  EXPECT_EQ(result->conversations, 2u);
  EXPECT_EQ(Count("acme", "c1"), 0u);
  EXPECT_EQ(Count("acme", "c2"), 0u);
  EXPECT_THAT(Listed("acme", "u1"), IsEmpty());
  EXPECT_EQ(Count("globex", "c1"), 3u);
  absl::StatusOr<StoreStats> stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->messages_live, 3u);
}

TEST_F(ErasureTest, BadArgumentsAreRefusedAndWriteNothing) {
  Conversation("acme", "u1", "c1", 2);
  const size_t records = Ledger().size();
  EXPECT_EQ(store_->EraseConversation("acme", "c1", EraseOptions()).status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(
          store_->EraseConversation("acme", "c1", EraseOptions()).status()
              .message()),
      HasSubstr("reason is required"));
  EXPECT_EQ(store_->EraseUser("acme", "", Because(v1::OPERATOR)).status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->EraseConversation("", "c1", Because(v1::OPERATOR))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->EraseConversation("acme", "c1",
                                      Because(v1::OPERATOR, "bad\nid"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("acme", "c1"), 2u);
  EXPECT_EQ(Ledger().size(), records);
}

// ---------------------------------------------------------------- guard

TEST_F(ErasureTest, ReplayedAppendsOfErasedDataAreRefusedAcrossReopen) {
  Conversation("acme", "u1", "c1", 3);
  const v1::Message old =
      MakeMessage("acme", "u1", "c1", 2, clock_->Now() - absl::Hours(1));
  ASSERT_TRUE(
      store_->EraseConversation("acme", "c1", Because(v1::END_USER_REQUEST))
          .ok());
  absl::Status replay = store_->Append(old);
  EXPECT_EQ(replay.code(), absl::StatusCode::kFailedPrecondition) << replay;
  EXPECT_THAT(std::string(replay.message()),
              HasSubstr("conversation \"c1\" was erased"));
  Reopen();
  EXPECT_EQ(store_->Append(old).code(), absl::StatusCode::kFailedPrecondition);
  // A batch with one replayed message stores nothing.
  const v1::Message fresh =
      MakeMessage("acme", "u1", "c9", 1, clock_->Now() - absl::Minutes(1));
  EXPECT_EQ(store_->AppendBatch({fresh, old}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count("acme", "c9"), 0u);
  EXPECT_EQ(Count("acme", "c1"), 0u);

  // Later messages are new data and are accepted, in the same conversation
  // too.
  clock_->Advance(options_.retention.max_clock_skew + absl::Seconds(1));
  ASSERT_TRUE(store_->Append(fresh).ok());
  ASSERT_TRUE(
      store_->Append(MakeMessage("acme", "u1", "c1", 7, clock_->Now())).ok());
  EXPECT_EQ(Count("acme", "c1"), 1u);
}

TEST_F(ErasureTest, UserErasureGuardsEveryConversationOfTheUser) {
  Conversation("acme", "u1", "c1", 2);
  ASSERT_TRUE(store_->EraseUser("acme", "u1", Because(v1::END_USER_REQUEST))
                  .ok());
  // A restored backup replays the user's messages in a conversation id the
  // store never saw: still refused, by the user's marker.
  EXPECT_EQ(store_
                ->Append(MakeMessage("acme", "u1", "restored", 1,
                                     clock_->Now() - Days(2)))
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // Another user is unaffected.
  EXPECT_TRUE(store_
                  ->Append(MakeMessage("acme", "u2", "c5", 1,
                                       clock_->Now() - Days(2)))
                  .ok());
}

TEST_F(ErasureTest, TenantErasureGuardsTheWholeTenantUntilItsCutoff) {
  Conversation("acme", "u1", "c1", 2);
  ASSERT_TRUE(store_->EraseTenant("acme", Because(v1::ACCOUNT_CLOSURE)).ok());
  EXPECT_EQ(store_
                ->Append(MakeMessage("acme", "u7", "c7", 1,
                                     clock_->Now() - absl::Minutes(1)))
                .code(),
            absl::StatusCode::kFailedPrecondition);
  clock_->Advance(Days(1));
  EXPECT_TRUE(
      store_->Append(MakeMessage("acme", "u7", "c7", 1, clock_->Now())).ok());
}

TEST_F(ErasureTest, ErasingWhatIsNotThereIsRecordedAndGuarded) {
  absl::StatusOr<EraseResult> result =
      store_->EraseUser("acme", "ghost", Because(v1::END_USER_REQUEST));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->messages, 0u);
  EXPECT_EQ(Ledger().back().action(), v1::AUDIT_ERASE);
  EXPECT_EQ(store_
                ->Append(MakeMessage("acme", "ghost", "c1", 1,
                                     clock_->Now() - absl::Hours(1)))
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------- holds

TEST_F(ErasureTest, EraseUnderHoldIsPendingHiddenAndRunsWhenTheHoldIsLifted) {
  Conversation("acme", "u1", "c1", 3);
  ASSERT_TRUE(
      store_->SetHold("acme", v1::SCOPE_USER, "u1", "litigation 42", "legal")
          .ok());
  absl::StatusOr<EraseResult> erased = store_->EraseConversation(
      "acme", "c1", Because(v1::END_USER_REQUEST, "r-9"));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_TRUE(erased->pending);
  EXPECT_EQ(erased->messages, 3u);
  // Hidden from reads, kept on disk, exportable with include_held.
  EXPECT_EQ(Count("acme", "c1"), 0u);
  EXPECT_THAT(Listed("acme", "u1"), IsEmpty());
  EXPECT_EQ(MessageLines(ExportLines("acme", "u1")), 0u);
  ExportOptions held;
  held.include_held = true;
  EXPECT_EQ(MessageLines(ExportLines("acme", "u1", held)), 3u);
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), SizeIs(3));
  EXPECT_EQ(Ledger().back().action(), v1::AUDIT_ERASE_PENDING);
  absl::StatusOr<std::vector<v1::Request>> requests =
      store_->ListRequests(false);
  ASSERT_TRUE(requests.ok());
  ASSERT_THAT(*requests, SizeIs(1));
  EXPECT_EQ((*requests)[0].state(), v1::REQUEST_PENDING_HOLD);

  // Pending survives a restart.
  Reopen();
  EXPECT_EQ(Count("acme", "c1"), 0u);
  EXPECT_EQ(MessageLines(ExportLines("acme", "u1", held)), 3u);

  absl::StatusOr<std::vector<EraseResult>> released =
      store_->ClearHold("acme", v1::SCOPE_USER, "u1", "legal");
  ASSERT_TRUE(released.ok()) << released.status();
  ASSERT_THAT(*released, SizeIs(1));
  EXPECT_FALSE((*released)[0].pending);
  EXPECT_EQ((*released)[0].messages, 3u);
  EXPECT_EQ(MessageLines(ExportLines("acme", "u1", held)), 0u);
  EXPECT_THAT(Actions("acme"),
              ElementsAre(v1::AUDIT_HOLD_SET, v1::AUDIT_REQUEST_RECEIVED,
                          v1::AUDIT_ERASE_PENDING, v1::AUDIT_HOLD_CLEAR,
                          v1::AUDIT_ERASE));
  requests = store_->ListRequests(false);
  ASSERT_TRUE(requests.ok());
  EXPECT_EQ((*requests)[0].state(), v1::REQUEST_COMPLETED);
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), IsEmpty());
  ExpectLedgerVerifies();
}

TEST_F(ErasureTest, PendingErasureSparesMessagesAppendedAfterItsCutoff) {
  Conversation("acme", "u1", "c1", 2);
  ASSERT_TRUE(store_->SetHold("acme", v1::SCOPE_CONVERSATION, "c1", "audit",
                              "legal")
                  .ok());
  ASSERT_TRUE(
      store_->EraseConversation("acme", "c1", Because(v1::OPERATOR)).ok());
  clock_->Advance(absl::Hours(1));
  ASSERT_TRUE(
      store_->Append(MakeMessage("acme", "u1", "c1", 10, clock_->Now())).ok());
  EXPECT_EQ(Count("acme", "c1"), 1u);
  ASSERT_TRUE(
      store_->ClearHold("acme", v1::SCOPE_CONVERSATION, "c1", "legal").ok());
  absl::StatusOr<std::vector<v1::Message>> read =
      testing::ReadBothWays(*store_, "acme", "c1");
  ASSERT_TRUE(read.ok());
  ASSERT_THAT(*read, SizeIs(1));
  EXPECT_EQ((*read)[0].seq(), 10u);
}

TEST_F(ErasureTest, TwoHoldsMustBothBeLiftedBeforeThePendingErasureRuns) {
  Conversation("acme", "u1", "c1", 2);
  ASSERT_TRUE(store_->SetHold("acme", v1::SCOPE_TENANT, "", "regulator",
                              "legal")
                  .ok());
  ASSERT_TRUE(store_->SetHold("acme", v1::SCOPE_CONVERSATION, "c1", "case",
                              "legal")
                  .ok());
  ASSERT_TRUE(store_->EraseUser("acme", "u1", Because(v1::OPERATOR)).ok());
  absl::StatusOr<std::vector<EraseResult>> first =
      store_->ClearHold("acme", v1::SCOPE_TENANT, "", "legal");
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(*first, IsEmpty());
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), SizeIs(2));
  absl::StatusOr<std::vector<EraseResult>> second =
      store_->ClearHold("acme", v1::SCOPE_CONVERSATION, "c1", "legal");
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(*second, SizeIs(1));
}

TEST_F(ErasureTest, HoldKeepsExpiredDataThroughCompactionButReadsHideIt) {
  Conversation("acme", "u1", "c1", 3);
  Conversation("acme", "u2", "c2", 2);
  ASSERT_TRUE(store_->SetHold("acme", v1::SCOPE_CONVERSATION, "c1", "case 7",
                              "legal")
                  .ok());
  clock_->Advance(Days(31));  // past the 30-day default
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_EQ(Count("acme", "c1"), 0u);
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), SizeIs(3));  // c1 kept
  ExportOptions held;
  held.include_held = true;
  EXPECT_EQ(MessageLines(ExportLines("acme", "u1", held)), 3u);
  EXPECT_EQ(MessageLines(ExportLines("acme", "u1")), 0u);

  ASSERT_TRUE(
      store_->ClearHold("acme", v1::SCOPE_CONVERSATION, "c1", "legal").ok());
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), IsEmpty());
}

TEST_F(ErasureTest, UserHoldCoversConversationsStartedAfterIt) {
  ASSERT_TRUE(
      store_->SetHold("acme", v1::SCOPE_USER, "u1", "case 8", "legal").ok());
  Conversation("acme", "u1", "later", 2);
  Reopen();  // the hold's conversations are rebuilt from the user index
  clock_->Advance(Days(40));
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), SizeIs(2));
  EXPECT_EQ(Count("acme", "later"), 0u);
}

TEST_F(ErasureTest, ShorterPolicyDuringHoldKeepsHeldDataAndExpiresTheRest) {
  Conversation("acme", "u1", "c1", 2);
  Conversation("acme", "u2", "c2", 2);
  ASSERT_TRUE(
      store_->SetHold("acme", v1::SCOPE_USER, "u1", "case", "legal").ok());
  clock_->Advance(Days(3));
  ASSERT_TRUE(
      store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, absl::Hours(24)).ok());
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_EQ(Count("acme", "c1"), 0u);
  EXPECT_EQ(Count("acme", "c2"), 0u);
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), SizeIs(2));
  // The expiry is audited: u2's two messages deleted, u1's two held back.
  const v1::AuditRecord expiry = Ledger().back();
  EXPECT_EQ(expiry.action(), v1::AUDIT_EXPIRE);
  EXPECT_EQ(expiry.counts().messages(), 2u);
  EXPECT_EQ(expiry.counts().conversations(), 1u);
  EXPECT_EQ(expiry.held_back().messages(), 2u);

  // Lifting the hold expires (and audits) what it kept.
  ASSERT_TRUE(
      store_->ClearHold("acme", v1::SCOPE_USER, "u1", "legal").ok());
  const v1::AuditRecord released = Ledger().back();
  EXPECT_EQ(released.action(), v1::AUDIT_EXPIRE);
  EXPECT_EQ(released.counts().messages(), 2u);
  EXPECT_THAT(released.note(), HasSubstr("hold was lifted"));
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), IsEmpty());
  ExpectLedgerVerifies();
}

// ---------------------------------------------------------------- expiry

TEST_F(ErasureTest, ExpiryIsAuditedPerTenantCategoryAndCreationDay) {
  // Two creation days of transcripts and one of diagnostic logs for acme;
  // globex keeps its default 30 days.
  const absl::Time day1 = clock_->Now() - Days(3);
  ASSERT_TRUE(store_
                  ->AppendBatch({MakeMessage("acme", "u1", "c1", 1, day1),
                                 MakeMessage("acme", "u1", "c1", 2, day1),
                                 MakeMessage("acme", "u2", "c2", 1, day1),
                                 MakeMessage("acme", "u1", "c3", 1,
                                             day1 + Days(1)),
                                 MakeMessage("acme", "u1", "c4", 1, day1,
                                             "log", v1::CATEGORY_DIAGNOSTIC_LOG),
                                 MakeMessage("globex", "u1", "g1", 1, day1)})
                  .ok());
  ASSERT_TRUE(
      store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, absl::Hours(24)).ok());
  ASSERT_TRUE(store_
                  ->SetPolicy("acme", v1::CATEGORY_DIAGNOSTIC_LOG,
                              absl::Hours(24))
                  .ok());
  absl::StatusOr<ExpiryReport> report = store_->ExpireDue();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->messages, 5u);
  ASSERT_THAT(report->groups, SizeIs(3));
  EXPECT_EQ(report->groups[0].category, v1::CATEGORY_TRANSCRIPT);
  EXPECT_EQ(report->groups[0].messages, 3u);
  EXPECT_EQ(report->groups[0].conversations, 2u);
  EXPECT_EQ(report->groups[1].category, v1::CATEGORY_TRANSCRIPT);
  EXPECT_EQ(report->groups[1].messages, 1u);
  EXPECT_EQ(report->groups[1].created_day - report->groups[0].created_day,
            Days(1));
  EXPECT_EQ(report->groups[2].category, v1::CATEGORY_DIAGNOSTIC_LOG);
  EXPECT_EQ(report->groups[2].messages, 1u);

  // The ledger says the same, with no ids.
  std::vector<v1::AuditRecord> expiries;
  for (const v1::AuditRecord& r : Ledger()) {
    if (r.action() == v1::AUDIT_EXPIRE) expiries.push_back(r);
  }
  ASSERT_THAT(expiries, SizeIs(3));
  EXPECT_EQ(expiries[0].tenant(), "acme");
  EXPECT_EQ(expiries[0].counts().messages(), 3u);
  EXPECT_EQ(expiries[0].counts().bytes(), report->groups[0].bytes);
  EXPECT_EQ(expiries[0].created_until().seconds() -
                expiries[0].created_from().seconds(),
            86400);
  EXPECT_TRUE(expiries[0].subject().empty());

  // Expired and audited; on disk until a compaction passes (the filter now
  // may drop them); globex untouched. A second run finds nothing new.
  absl::StatusOr<StoreStats> stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->messages_live, 1u);
  EXPECT_EQ(stats->messages_expired, 5u);
  ASSERT_TRUE(store_->CompactAll().ok());
  stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->messages_live, 1u);
  EXPECT_EQ(stats->messages_expired, 0u);
  absl::StatusOr<ExpiryReport> again = store_->ExpireDue();
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(again->groups, IsEmpty());
  Reopen();  // the watermark is durable
  again = store_->ExpireDue();
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(again->groups, IsEmpty());
  ExpectLedgerVerifies();
}

TEST_F(ErasureTest, ExpiryFindsMessagesWrittenUnderAnEarlierTtl) {
  // Written under 30 days (bucket day+30), then the TTL drops to 2 days:
  // ExpireDue must look in the old bucket too.
  ASSERT_TRUE(store_
                  ->Append(MakeMessage("acme", "u1", "c1", 1,
                                       clock_->Now() - Days(5),
                                       "token-T2xkVHRs"))
                  .ok());
  clock_->Advance(absl::Hours(1));
  ASSERT_TRUE(
      store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(2)).ok());
  absl::StatusOr<ExpiryReport> report = store_->ExpireDue();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->messages, 1u);
  // Expired and audited, still in the files until compaction.
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), SizeIs(1));
  EXPECT_TRUE(AnyFileContains(dir_.path(), "token-T2xkVHRs"));
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_FALSE(AnyFileContains(dir_.path(), "token-T2xkVHRs"));
}

TEST_F(ErasureTest, HoldArgumentsAndDuplicatesAreRefused) {
  EXPECT_EQ(store_->SetHold("acme", v1::SCOPE_USER, "u1", "", "legal").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SetHold("acme", v1::SCOPE_TENANT, "u1", "r", "legal")
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store_->SetHold("acme", v1::SCOPE_UNSPECIFIED, "u1", "r", "legal").code(),
      absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->SetHold("acme", v1::SCOPE_USER, "u1", "r", "legal").ok());
  EXPECT_EQ(store_->SetHold("acme", v1::SCOPE_USER, "u1", "r", "legal").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->ClearHold("acme", v1::SCOPE_USER, "u2", "legal")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<v1::Hold>> holds = store_->ListHolds("acme");
  ASSERT_TRUE(holds.ok());
  ASSERT_THAT(*holds, SizeIs(1));
  EXPECT_EQ((*holds)[0].reason(), "r");
  EXPECT_EQ((*holds)[0].set_by(), "legal");
}

// ---------------------------------------------------------------- restriction

TEST_F(ErasureTest, RestrictionHidesTheUserFromReadsButNotFromExport) {
  Conversation("acme", "u1", "c1", 3);
  Conversation("acme", "u2", "c2", 1);
  ASSERT_TRUE(store_->SetRestriction("acme", "u1").ok());
  EXPECT_EQ(store_->SetRestriction("acme", "u1").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Count("acme", "c1"), 0u);
  EXPECT_THAT(Listed("acme", "u1"), IsEmpty());
  EXPECT_EQ(Count("acme", "c2"), 1u);
  const std::vector<std::string> lines = ExportLines("acme", "u1");
  EXPECT_EQ(MessageLines(lines), 3u);
  EXPECT_THAT(lines.back(), HasSubstr("\"record\":\"restriction\""));
  Reopen();
  EXPECT_EQ(Count("acme", "c1"), 0u);
  ASSERT_TRUE(store_->ClearRestriction("acme", "u1").ok());
  EXPECT_EQ(Count("acme", "c1"), 3u);
  EXPECT_EQ(store_->ClearRestriction("acme", "u1").code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(Actions("acme"),
              ElementsAre(v1::AUDIT_RESTRICT_SET, v1::AUDIT_RESTRICT_CLEAR));
}

// ---------------------------------------------------------------- export

TEST_F(ErasureTest, ExportGivesTheUsersMessagesAsIngestableLines) {
  Conversation("acme", "u1", "c1", 2, "first words");
  Conversation("acme", "u2", "c2", 1);
  const std::vector<std::string> lines = ExportLines("acme", "u1");
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[0], HasSubstr("\"tenant\":\"acme\""));
  EXPECT_THAT(lines[0], HasSubstr("\"user\":\"u1\""));
  EXPECT_THAT(lines[0], HasSubstr("\"conversation\":\"c1\""));
  EXPECT_THAT(lines[0], HasSubstr("first words 1"));

  ExportOptions anonymous;
  anonymous.anonymise = true;
  const std::vector<std::string> anon = ExportLines("acme", "u1", anonymous);
  ASSERT_THAT(anon, SizeIs(2));
  EXPECT_THAT(anon[0], Not(HasSubstr("\"u1\"")));
  EXPECT_THAT(anon[0], Not(HasSubstr("\"c1\"")));
  EXPECT_THAT(anon[0],
              HasSubstr(*store_->PseudonymFor("acme", v1::SCOPE_USER, "u1")));
}

TEST_F(ErasureTest, ExportWithARequestIdCompletesItAndIsAudited) {
  Conversation("acme", "u1", "c1", 2);
  ASSERT_TRUE(store_
                  ->OpenRequest("acme", "dsar-1", v1::REQUEST_EXPORT, "u1",
                                clock_->Now() - Days(3))
                  .ok());
  ExportOptions options;
  options.request_id = "dsar-1";
  const std::vector<std::string> lines = ExportLines("acme", "u1", options);
  EXPECT_EQ(MessageLines(lines), 2u);
  EXPECT_THAT(lines.back(), HasSubstr("\"record\":\"request\""));
  EXPECT_EQ(Ledger().back().action(), v1::AUDIT_EXPORT);
  EXPECT_EQ(Ledger().back().counts().messages(), 2u);
  absl::StatusOr<std::vector<v1::Request>> requests =
      store_->ListRequests(false);
  ASSERT_TRUE(requests.ok());
  EXPECT_EQ((*requests)[0].state(), v1::REQUEST_COMPLETED);
}

TEST_F(ErasureTest, LargeUserIsExportedAndErasedWithBoundedMemory) {
  // 100k messages of ~300 bytes: ~40 MB of export. The export streams, so
  // the heap it holds stays far below what it printed.
  constexpr int kConversations = 2000;
  constexpr int kPerConversation = 50;
  const std::string text(280, 'x');
  for (int c = 0; c < kConversations; c += 20) {
    std::vector<v1::Message> batch;
    for (int k = c; k < c + 20; ++k) {
      for (int i = 1; i <= kPerConversation; ++i) {
        batch.push_back(MakeMessage("acme", "big", absl::StrCat("conv-", k), i,
                                    clock_->Now() - Days(1) + absl::Seconds(i),
                                    text));
      }
    }
    ASSERT_TRUE(store_->AppendBatch(batch).ok());
  }
  ASSERT_TRUE(store_->CompactAll().ok());
  // Live heap, sampled at every line the sink receives: what Export holds
  // while it streams (RSS would also count freed memory malloc keeps).
  const size_t baseline = mallinfo2().uordblks;
  size_t peak = baseline;
  uint64_t lines = 0, bytes = 0;
  absl::StatusOr<ExportSummary> summary = store_->Export(
      "acme", "big", ExportOptions(), [&](absl::string_view line) {
        ++lines;
        bytes += line.size();
        peak = std::max(peak, mallinfo2().uordblks);
        return absl::OkStatus();
      });
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->messages, uint64_t{kConversations} * kPerConversation);
  EXPECT_EQ(lines, summary->messages);
#if !defined(__SANITIZE_ADDRESS__)  // ASan's allocator does not report here
  EXPECT_LT(peak - baseline, bytes / 4)
      << "export held " << peak - baseline << " bytes of heap while printing "
      << bytes << " bytes";
#endif

  absl::StatusOr<EraseResult> erased =
      store_->EraseUser("acme", "big", Because(v1::END_USER_REQUEST));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->messages, summary->messages);
  EXPECT_EQ(erased->conversations, uint64_t{kConversations});
  EXPECT_THAT(Listed("acme", "big"), IsEmpty());
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_THAT(RawKeys(dir_.path(), "messages"), IsEmpty());
}

// ---------------------------------------------------------------- requests

TEST_F(ErasureTest, RequestsHaveDeadlinesThatExtendOnce) {
  const absl::Time received = clock_->Now();
  absl::StatusOr<v1::Request> opened =
      store_->OpenRequest("acme", "r1", v1::REQUEST_ERASURE, "u1", received);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->due_at().seconds(),
            absl::ToUnixSeconds(received + Days(45)));
  EXPECT_EQ(store_->OpenRequest("acme", "r1", v1::REQUEST_ERASURE, "u1",
                                received)
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  clock_->Advance(Days(46));
  absl::StatusOr<std::vector<v1::Request>> overdue = store_->ListRequests(true);
  ASSERT_TRUE(overdue.ok());
  EXPECT_THAT(*overdue, SizeIs(1));

  EXPECT_EQ(store_->ExtendRequest("acme", "r1", Days(46), "complex").status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ExtendRequest("acme", "r1", Days(10), "").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<v1::Request> extended =
      store_->ExtendRequest("acme", "r1", Days(45), "many systems");
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->due_at().seconds(),
            absl::ToUnixSeconds(received + Days(90)));
  EXPECT_EQ(store_->ExtendRequest("acme", "r1", Days(1), "again").status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  overdue = store_->ListRequests(true);
  ASSERT_TRUE(overdue.ok());
  EXPECT_THAT(*overdue, IsEmpty());

  ASSERT_TRUE(store_->EraseUser("acme", "u1", Because(v1::END_USER_REQUEST,
                                                      "r1"))
                  .ok());
  absl::StatusOr<std::vector<v1::Request>> all = store_->ListRequests(false);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)[0].state(), v1::REQUEST_COMPLETED);
  EXPECT_EQ(store_->ExtendRequest("acme", "nope", Days(1), "x").status()
                .code(),
            absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------- ledger

TEST_F(ErasureTest, LedgerNamesNobodyAndDiskKeepsNoErasedBytes) {
  const std::string user = "user-QmV4aW5n7";
  const std::string conversation = "conv-ZXJhc2Vk3";
  const std::string text = "secret-words-Zm9yZ2V0bWU";
  Conversation("acme", user, conversation, 4, text);
  // Snappy compresses repeats: tokens that repeat nothing before them are
  // stored verbatim, so the positive check below shows the scan can see text.
  Conversation("acme", "other", "c-other", 2, "retained-UXVpZXQ");
  ASSERT_TRUE(store_->SetRestriction("acme", user).ok());
  ASSERT_TRUE(store_->EraseUser("acme", user, Because(v1::END_USER_REQUEST,
                                                      "ticket-77"))
                  .ok());
  ASSERT_TRUE(store_->ClearRestriction("acme", user).ok());
  ASSERT_TRUE(store_->CompactAll().ok());
  Close();  // a reopen also rolls the MANIFEST, which names old key ranges
  Reopen();
  Close();
  EXPECT_FALSE(AnyFileContains(dir_.path(), user));
  EXPECT_FALSE(AnyFileContains(dir_.path(), conversation));
  EXPECT_FALSE(AnyFileContains(dir_.path(), "secret-words"));
  EXPECT_TRUE(AnyFileContains(dir_.path(), "retained-UXVpZXQ"));
  Reopen();
  // The auditor who knows the id can still ask.
  absl::StatusOr<std::vector<v1::AuditRecord>> found =
      store_->FindAudit("acme", v1::SCOPE_USER, user);
  ASSERT_TRUE(found.ok()) << found.status();
  std::vector<v1::AuditAction> actions;
  for (const v1::AuditRecord& r : *found) actions.push_back(r.action());
  EXPECT_THAT(actions,
              ElementsAre(v1::AUDIT_RESTRICT_SET, v1::AUDIT_REQUEST_RECEIVED,
                          v1::AUDIT_ERASE, v1::AUDIT_RESTRICT_CLEAR));
  EXPECT_EQ((*found)[2].request_id(), "ticket-77");
}

TEST_F(ErasureTest, TamperedLedgerIsCaughtAtTheChangedRecord) {
  Conversation("acme", "u1", "c1", 1);
  ASSERT_TRUE(store_->SetRestriction("acme", "u1").ok());
  ASSERT_TRUE(store_->ClearRestriction("acme", "u1").ok());
  ASSERT_TRUE(store_->EraseUser("acme", "u1", Because(v1::OPERATOR)).ok());
  const std::vector<v1::AuditRecord> ledger = Ledger();
  ASSERT_GE(ledger.size(), 4u);
  const uint64_t victim = ledger[ledger.size() - 2].seq();
  Close();
  // Rewrite one record's reason in place, as an intruder with the files
  // would: same key, different bytes.
  std::string key = "audit/";
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((victim >> shift) & 0xFF));
  }
  ::ebb::testing::RawPut(dir_.path(), "default", key, std::string(40, 'z'));
  Reopen();
  absl::StatusOr<AuditVerification> v = store_->VerifyAudit();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, victim);
  EXPECT_THAT(v->problem, HasSubstr(absl::StrCat("record ", victim)));
  // A broken ledger is never trimmed.
  clock_->Advance(Days(365 * 7));
  EXPECT_EQ(store_->TrimAudit().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ErasureTest, TrimmingOldRecordsKeepsTheRestVerifiable) {
  ASSERT_TRUE(store_->SetRestriction("acme", "u1").ok());
  ASSERT_TRUE(store_->ClearRestriction("acme", "u1").ok());
  const size_t before = Ledger().size();
  clock_->Advance(Days(365 * 6 + 2));
  ASSERT_TRUE(store_->SetRestriction("acme", "u2").ok());
  absl::StatusOr<uint64_t> trimmed = store_->TrimAudit();
  ASSERT_TRUE(trimmed.ok()) << trimmed.status();
  EXPECT_EQ(*trimmed, before);
  const std::vector<v1::AuditRecord> ledger = Ledger();
  ASSERT_THAT(ledger, SizeIs(2));
  EXPECT_EQ(ledger[0].action(), v1::AUDIT_RESTRICT_SET);
  EXPECT_EQ(ledger[1].action(), v1::AUDIT_LEDGER_TRIM);
  EXPECT_EQ(ledger[1].trimmed_through(), before);
  ExpectLedgerVerifies();
  Reopen();
  ExpectLedgerVerifies();
  EXPECT_EQ(*store_->TrimAudit(), 0u);
}

TEST_F(ErasureTest, PolicyChangesAreAudited) {
  ASSERT_TRUE(
      store_->SetPolicy("acme", v1::CATEGORY_TRANSCRIPT, Days(7)).ok());
  const v1::AuditRecord last = Ledger().back();
  EXPECT_EQ(last.action(), v1::AUDIT_POLICY_CHANGE);
  EXPECT_EQ(last.tenant(), "acme");
  EXPECT_EQ(last.category(), v1::CATEGORY_TRANSCRIPT);
  EXPECT_EQ(last.policy_version(), 1u);
  EXPECT_EQ(last.ttl().seconds(), 7 * 86400);
}

TEST_F(ErasureTest, PendingUserErasureSparesConversationsTheUserJoinsLater) {
  Conversation("acme", "u1", "mine", 2);
  Conversation("acme", "u2", "shared", 3);  // before the erasure
  ASSERT_TRUE(
      store_->SetHold("acme", v1::SCOPE_USER, "u1", "case", "legal").ok());
  ASSERT_TRUE(store_->EraseUser("acme", "u1", Because(v1::OPERATOR)).ok());
  // Later u1 joins "shared"; u2's earlier messages there are not u1's data.
  clock_->Advance(absl::Hours(1));
  ASSERT_TRUE(
      store_->Append(MakeMessage("acme", "u1", "shared", 9, clock_->Now()))
          .ok());
  Reopen();
  EXPECT_EQ(Count("acme", "shared"), 4u);
  absl::StatusOr<std::vector<EraseResult>> released =
      store_->ClearHold("acme", v1::SCOPE_USER, "u1", "legal");
  ASSERT_TRUE(released.ok()) << released.status();
  ASSERT_THAT(*released, SizeIs(1));
  EXPECT_EQ((*released)[0].messages, 2u);
  EXPECT_EQ(Count("acme", "mine"), 0u);
  EXPECT_EQ(Count("acme", "shared"), 4u);
}

TEST_F(ErasureTest, TwoRequestsForOnePendingErasureAreBothCompleted) {
  Conversation("acme", "u1", "c1", 2);
  ASSERT_TRUE(
      store_->SetHold("acme", v1::SCOPE_USER, "u1", "case", "legal").ok());
  ASSERT_TRUE(store_
                  ->EraseUser("acme", "u1",
                              Because(v1::END_USER_REQUEST, "first"))
                  .ok());
  clock_->Advance(absl::Minutes(1));
  ASSERT_TRUE(store_
                  ->EraseUser("acme", "u1",
                              Because(v1::END_USER_REQUEST, "second"))
                  .ok());
  ASSERT_TRUE(store_->ClearHold("acme", v1::SCOPE_USER, "u1", "legal").ok());
  absl::StatusOr<std::vector<v1::Request>> requests =
      store_->ListRequests(false);
  ASSERT_TRUE(requests.ok());
  ASSERT_THAT(*requests, SizeIs(2));
  EXPECT_EQ((*requests)[0].state(), v1::REQUEST_COMPLETED);
  EXPECT_EQ((*requests)[1].state(), v1::REQUEST_COMPLETED);
}

TEST_F(ErasureTest, ARequestIsCompletedOnlyByItsOwnKindAndSubject) {
  Conversation("acme", "u1", "c1", 1);
  Conversation("acme", "u2", "c2", 1);
  ASSERT_TRUE(store_
                  ->OpenRequest("acme", "r1", v1::REQUEST_ERASURE, "u1",
                                clock_->Now())
                  .ok());
  absl::StatusOr<EraseResult> wrong_user =
      store_->EraseUser("acme", "u2", Because(v1::END_USER_REQUEST, "r1"));
  EXPECT_EQ(wrong_user.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("acme", "c2"), 1u);  // nothing was erased
  ExportOptions export_options;
  export_options.request_id = "r1";
  int lines = 0;
  absl::StatusOr<ExportSummary> wrong_kind = store_->Export(
      "acme", "u1", export_options, [&](absl::string_view) {
        ++lines;
        return absl::OkStatus();
      });
  EXPECT_EQ(wrong_kind.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(lines, 0);  // refused before anything was printed
  EXPECT_TRUE(
      store_->EraseUser("acme", "u1", Because(v1::END_USER_REQUEST, "r1"))
          .ok());
}

}  // namespace
}  // namespace ebb
