// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: report_json.h
// -----------------------------------------------------------------------------
//
// JSON forms of what a Store reports: policies, a user's conversations and
// stats. The `ebb` command line prints these; backends can serve them from an
// admin endpoint. Field names match the JSON ebb reads (`tenant`, `user`,
// `conversation`, `category`, times in RFC 3339 UTC, durations as "7d",
// "1d12h" or "forever", as ParseRetentionDuration reads them).
//
// Example:
//
//   absl::StatusOr<ebb::TenantPolicy> policy = store->GetPolicy("acme");
//   if (policy.ok()) std::cout << ebb::PolicyToJson(*policy) << "\n";
//   // {"tenant":"acme","default":false,"version":1,
//   //  "updated_at":"2026-01-02T00:00:00Z",
//   //  "rules":[{"category":"transcript","ttl":"7d","from_default":false,
//   //            "horizon":"2025-12-03T00:00:00Z"}, ...]}

#ifndef EBB_REPORT_JSON_H_
#define EBB_REPORT_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "lib/ebb/store.h"

namespace ebb {

// One line: tenant, default, version and updated_at (both omitted for a tenant
// on the default policy), and rules: category, ttl, from_default, and horizon
// (omitted when there is none).
std::string PolicyToJson(const TenantPolicy& policy);

// One line: tenant, user, conversation, last_message_at.
std::string ConversationInfoToJson(absl::string_view tenant,
                                   absl::string_view user,
                                   const ConversationInfo& info);

// One line with every StoreStats field, grouped: now; messages {live, expired,
// undecodable, live_bytes, expired_bytes}; index {live, expired, undecodable};
// tenants; policies; compaction_filter {dropped_expired, kept_undecodable};
// reads_skipped_undecodable; sst {files, bytes}.
std::string StatsToJson(const StoreStats& stats);

// An erasure's outcome: {"tenant", "user"|"conversation" (the id erased, absent
// for a whole tenant), "scope", "pending", "cutoff", "messages",
// "conversations", "bytes", "audit_seq"}.
std::string EraseResultToJson(absl::string_view tenant,
                              const EraseResult& result);

// {"ok", "records", "first_seq", "last_seq", "head_hash"[, "first_bad_seq",
// "problem"]}.
std::string AuditVerificationToJson(const AuditVerification& verification);

// "END_USER_REQUEST" or "end_user_request" -> v1::END_USER_REQUEST.
// InvalidArgument listing the accepted names otherwise.
absl::StatusOr<v1::ErasureReason> ParseErasureReason(absl::string_view name);

}  // namespace ebb

#endif  // EBB_REPORT_JSON_H_
