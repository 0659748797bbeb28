// Copyright ebb authors.

#include "lib/ebb/report_json.h"

#include "gtest/gtest.h"

namespace ebb {
namespace {

const absl::Time kT = absl::FromUnixSeconds(1767225600);  // 2026-01-01

TEST(ReportJsonTest, DefaultPolicyOmitsVersionAndHorizon) {
  TenantPolicy p;
  p.tenant = "acme";
  p.rules = {{v1::CATEGORY_TRANSCRIPT, absl::Hours(24 * 30),
              absl::InfinitePast(), true}};
  EXPECT_EQ(PolicyToJson(p),
            R"({"tenant":"acme","default":true,"rules":[{"category":)"
            R"("transcript","ttl":"30d","from_default":true}]})");
}

TEST(ReportJsonTest, OwnPolicyHasVersionUpdatedAtAndHorizon) {
  TenantPolicy p;
  p.tenant = "acme";
  p.is_default = false;
  p.version = 2;
  p.updated_at = kT;
  p.rules = {{v1::CATEGORY_DIAGNOSTIC_LOG, absl::InfiniteDuration(),
              kT - absl::Hours(24), false}};
  EXPECT_EQ(PolicyToJson(p),
            R"({"tenant":"acme","default":false,"version":2,)"
            R"("updated_at":"2026-01-01T00:00:00Z","rules":[{"category":)"
            R"("diagnostic_log","ttl":"forever","from_default":false,)"
            R"("horizon":"2025-12-31T00:00:00Z"}]})");
}

TEST(ReportJsonTest, ConversationInfoUsesTheInputFieldNames) {
  EXPECT_EQ(ConversationInfoToJson("t\"1", "u", {"c", kT}),
            R"({"tenant":"t\"1","user":"u","conversation":"c",)"
            R"("last_message_at":"2026-01-01T00:00:00Z"})");
}

TEST(ReportJsonTest, StatsCarryEveryCounter) {
  StoreStats s;
  s.now = kT;
  s.messages_live = 1;
  s.messages_expired = 2;
  s.messages_undecodable = 3;
  s.message_bytes_live = 4;
  s.message_bytes_expired = 5;
  s.index_entries_live = 6;
  s.index_entries_expired = 7;
  s.index_entries_undecodable = 8;
  s.tenants = 9;
  s.policies = 10;
  s.filter_dropped_expired = 11;
  s.filter_kept_undecodable = 12;
  s.reads_skipped_undecodable = 13;
  s.sst_files = 14;
  s.sst_bytes = 15;
  s.day_start = absl::Hours(2);
  EXPECT_EQ(StatsToJson(s),
            R"({"now":"2026-01-01T00:00:00Z","messages":{"live":1,"expired":2,)"
            R"("undecodable":3,"live_bytes":4,"expired_bytes":5},"index":)"
            R"({"live":6,"expired":7,"undecodable":8},"tenants":9,)"
            R"("policies":10,"compaction_filter":{"dropped_expired":11,)"
            R"("kept_undecodable":12},"reads_skipped_undecodable":13,)"
            R"("sst":{"files":14,"bytes":15},"day_start":"02:00:00"})");
}

}  // namespace
}  // namespace ebb
