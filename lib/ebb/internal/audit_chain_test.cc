// Copyright ebb authors.

#include "lib/ebb/internal/audit_chain.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

// A ledger as the store keeps it: key -> value, plus the head.
struct Ledger {
  std::map<std::string, std::string> entries;
  ChainPosition head;

  void Append(v1::AuditAction action) {
    v1::AuditRecord record;
    record.set_action(action);
    record.set_tenant("acme");
    ChainPosition next;
    const std::string value = SealAuditRecord(head, &record, &next);
    entries[AuditKey(next.seq)] = value;
    head = next;
  }

  ChainVerifier Verify(ChainPosition checkpoint = {},
                       bool trimmed = false) const {
    ChainVerifier verifier(std::move(checkpoint), trimmed);
    for (const auto& [key, value] : entries) verifier.Feed(key, value);
    verifier.Finish(head);
    return verifier;
  }
};

Ledger FiveRecords() {
  Ledger ledger;
  for (int i = 0; i < 5; ++i) ledger.Append(v1::AUDIT_ERASE);
  return ledger;
}

TEST(AuditChainTest, IntactLedgerVerifies) {
  const ChainVerifier v = FiveRecords().Verify();
  EXPECT_TRUE(v.ok()) << v.problem();
  EXPECT_EQ(v.records(), 5u);
}

TEST(AuditChainTest, EmptyLedgerVerifies) {
  ChainVerifier v(ChainPosition{}, false);
  v.Finish(std::nullopt);
  EXPECT_TRUE(v.ok());
}

TEST(AuditChainTest, ChangedRecordIsNamed) {
  Ledger ledger = FiveRecords();
  std::string& value = ledger.entries[AuditKey(3)];
  value[value.size() - 1] ^= 1;
  const ChainVerifier v = ledger.Verify();
  EXPECT_EQ(v.first_bad_seq(), 3u);
  EXPECT_NE(v.problem().find("changed"), std::string::npos) << v.problem();
}

TEST(AuditChainTest, ChangedRecordWithRecomputedHashIsCaughtByItsSuccessor) {
  Ledger ledger = FiveRecords();
  std::string hash;
  v1::AuditRecord record =
      *OpenAuditEntry(3, ledger.entries[AuditKey(3)], &hash);
  record.set_action(v1::AUDIT_HOLD_SET);
  const std::string body = record.SerializeAsString();
  ledger.entries[AuditKey(3)] = Sha256(body) + body;
  const ChainVerifier v = ledger.Verify();
  EXPECT_EQ(v.first_bad_seq(), 3u);  // the changed record, found by record 4
  EXPECT_NE(v.problem().find("does not follow record 3"), std::string::npos);
}

TEST(AuditChainTest, RemovedRecordIsNamed) {
  Ledger ledger = FiveRecords();
  ledger.entries.erase(AuditKey(2));
  const ChainVerifier v = ledger.Verify();
  EXPECT_EQ(v.first_bad_seq(), 2u);
  EXPECT_NE(v.problem().find("missing"), std::string::npos);
}

TEST(AuditChainTest, RemovedLastRecordIsCaughtByTheHead) {
  Ledger ledger = FiveRecords();
  ledger.entries.erase(AuditKey(5));
  const ChainVerifier v = ledger.Verify();
  EXPECT_EQ(v.first_bad_seq(), 5u);
}

TEST(AuditChainTest, SwappedRecordsAreNamed) {
  Ledger ledger = FiveRecords();
  std::swap(ledger.entries[AuditKey(2)], ledger.entries[AuditKey(3)]);
  const ChainVerifier v = ledger.Verify();
  EXPECT_EQ(v.first_bad_seq(), 2u);
  EXPECT_NE(v.problem().find("reordered"), std::string::npos);
}

TEST(AuditChainTest, InsertedRecordIsNamed) {
  // A forger renumbers 3..5 to 4..6 and slips a record in at 3 that follows
  // record 2 correctly (the forger can hash). The chain breaks at 4, the first
  // record that no longer follows its predecessor.
  Ledger ledger = FiveRecords();
  Ledger forged;
  forged.Append(v1::AUDIT_ERASE);
  forged.Append(v1::AUDIT_ERASE);
  forged.Append(v1::AUDIT_HOLD_CLEAR);
  ledger.entries[AuditKey(6)] = ledger.entries[AuditKey(5)];
  ledger.entries[AuditKey(5)] = ledger.entries[AuditKey(4)];
  ledger.entries[AuditKey(4)] = ledger.entries[AuditKey(3)];
  ledger.entries[AuditKey(3)] = forged.entries[AuditKey(3)];
  const ChainVerifier v = ledger.Verify();
  EXPECT_EQ(v.first_bad_seq(), 4u) << v.problem();
}

TEST(AuditChainTest, TrimmedLedgerVerifiesFromItsCheckpoint) {
  Ledger ledger = FiveRecords();
  ChainPosition checkpoint;
  checkpoint.seq = 2;
  std::string hash;
  ASSERT_TRUE(OpenAuditEntry(2, ledger.entries[AuditKey(2)], &hash).ok());
  checkpoint.hash = hash;
  ledger.entries.erase(AuditKey(1));
  ledger.entries.erase(AuditKey(2));
  // Without a trim record naming the checkpoint, it is not vouched for.
  EXPECT_FALSE(ledger.Verify(checkpoint, true).ok());

  v1::AuditRecord trim;
  trim.set_action(v1::AUDIT_LEDGER_TRIM);
  trim.set_trimmed_through(2);
  trim.set_trimmed_hash(hash);
  ChainPosition next;
  ledger.entries[AuditKey(6)] = SealAuditRecord(ledger.head, &trim, &next);
  ledger.head = next;
  const ChainVerifier v = ledger.Verify(checkpoint, true);
  EXPECT_TRUE(v.ok()) << v.problem();
  EXPECT_EQ(v.records(), 4u);

  // Moving the checkpoint (hiding record 3 as well) is caught.
  ChainPosition moved;
  moved.seq = 3;
  ASSERT_TRUE(OpenAuditEntry(3, ledger.entries[AuditKey(3)], &hash).ok());
  moved.hash = hash;
  ledger.entries.erase(AuditKey(3));
  EXPECT_FALSE(ledger.Verify(moved, true).ok());
}

TEST(AuditChainTest, PseudonymsDependOnKeyScopeAndId) {
  const std::string k1 = TenantKey("secret", "acme");
  const std::string k2 = TenantKey("secret", "globex");
  const std::string p = Pseudonym(k1, v1::SCOPE_USER, "u1");
  EXPECT_EQ(p.size(), 32u);
  EXPECT_EQ(p, Pseudonym(k1, v1::SCOPE_USER, "u1"));
  EXPECT_NE(p, Pseudonym(k2, v1::SCOPE_USER, "u1"));
  EXPECT_NE(p, Pseudonym(k1, v1::SCOPE_CONVERSATION, "u1"));
  EXPECT_NE(p, Pseudonym(k1, v1::SCOPE_USER, "u2"));
  EXPECT_EQ(p.find("u1"), std::string::npos);
}

TEST(AuditChainTest, NewSecretsDiffer) {
  EXPECT_NE(*NewSecret(), *NewSecret());
}

TEST(AuditChainTest, ChainPositionRoundTripsAndRejectsBadSizes) {
  ChainPosition p;
  p.seq = 42;
  p.hash = Sha256("x");
  const absl::StatusOr<ChainPosition> back =
      DecodeChainPosition(EncodeChainPosition(p));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->seq, 42u);
  EXPECT_EQ(back->hash, p.hash);
  EXPECT_EQ(DecodeChainPosition("short").status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ebb::internal
