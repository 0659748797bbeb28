// Copyright ebb authors.

#include "lib/ebb/internal/protections.h"

#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

constexpr TenantNumber kTenant = 7;

TEST(ProtectionsTest, EmptyKeepsNothing) {
  Protections p;
  EXPECT_EQ(p.Find(kTenant), nullptr);
  EXPECT_FALSE(p.KeepsExpiredRecord(MessageKey(1, kTenant, "c", 1), true));
}

TEST(ProtectionsTest, ConversationHoldKeepsItsMessagesAndIndexEntries) {
  Protections p;
  p.Mutable(kTenant).held_conversations.insert("c1");
  EXPECT_TRUE(p.KeepsExpiredRecord(MessageKey(1, kTenant, "c1", 1), true));
  EXPECT_FALSE(p.KeepsExpiredRecord(MessageKey(1, kTenant, "c2", 1), true));
  EXPECT_FALSE(p.KeepsExpiredRecord(MessageKey(1, kTenant + 1, "c1", 1), true));
  EXPECT_TRUE(p.KeepsExpiredRecord(
      ConversationBucketKey(kTenant, "c1", 1, v1::CATEGORY_TRANSCRIPT), false));
  EXPECT_FALSE(p.KeepsExpiredRecord(
      ConversationBucketKey(kTenant, "c2", 1, v1::CATEGORY_TRANSCRIPT), false));
  EXPECT_TRUE(p.KeepsExpiredRecord(
      UserConversationKey(kTenant, "u", "c1", 1, v1::CATEGORY_TRANSCRIPT),
      false));
  EXPECT_FALSE(p.KeepsExpiredRecord(
      UserConversationKey(kTenant, "u", "c2", 1, v1::CATEGORY_TRANSCRIPT),
      false));
}

TEST(ProtectionsTest, UserHoldKeepsUserEntriesAndTheirConversations) {
  Protections p;
  TenantProtections& t = p.Mutable(kTenant);
  t.held_users.insert("u");
  t.conversations_of_held_users["c1"].insert("u");
  EXPECT_TRUE(p.KeepsExpiredRecord(
      UserConversationKey(kTenant, "u", "c9", 0x00000100,
                          v1::CATEGORY_TRANSCRIPT),
      false));
  EXPECT_TRUE(p.KeepsExpiredRecord(MessageKey(0, kTenant, "c1", 3), true));
  EXPECT_FALSE(p.KeepsExpiredRecord(MessageKey(0, kTenant, "c2", 3), true));
}

TEST(ProtectionsTest, TenantHoldKeepsEverythingOfTheTenant) {
  Protections p;
  p.Mutable(kTenant).tenant_held = true;
  EXPECT_TRUE(p.KeepsExpiredRecord(MessageKey(1, kTenant, "any", 1), true));
  EXPECT_TRUE(p.KeepsExpiredRecord(
      UserConversationKey(kTenant, "u", "c", 1, v1::CATEGORY_TRANSCRIPT),
      false));
}

TEST(ProtectionsTest, HidesRestrictedUsersAndPendingErasures) {
  TenantProtections t;
  t.restricted_users.insert("r");
  t.conversations_erased_through["c"] = 100;
  t.users_erased_through["e"] = 50;
  EXPECT_TRUE(t.HidesMessage("x", "r", 1));
  EXPECT_TRUE(t.HidesMessage("c", "u", 100));
  EXPECT_FALSE(t.HidesMessage("c", "u", 101));
  EXPECT_TRUE(t.HidesMessage("x", "e", 50));
  EXPECT_FALSE(t.HidesMessage("x", "e", 51));
  EXPECT_FALSE(t.HidesMessage("x", "u", 1));
  t.tenant_erased_through = 10;
  EXPECT_TRUE(t.HidesMessage("x", "u", 10));
}

TEST(ProtectionsTest, PruneDropsTenantsWithNothingLeft) {
  Protections p;
  p.Mutable(kTenant);
  p.Mutable(kTenant + 1).restricted_users.insert("r");
  p.Prune();
  EXPECT_EQ(p.Find(kTenant), nullptr);
  EXPECT_NE(p.Find(kTenant + 1), nullptr);
}

}  // namespace
}  // namespace ebb::internal
