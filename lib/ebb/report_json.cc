// Copyright ebb authors.

#include "lib/ebb/report_json.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/ebb/duration.h"
#include "lib/ebb/json.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace ebb {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(Writer& w, const char* key) { w.Key(key); }

void String(Writer& w, absl::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void Field(Writer& w, const char* key, absl::string_view value) {
  Key(w, key);
  String(w, value);
}

void Field(Writer& w, const char* key, uint64_t value) {
  Key(w, key);
  w.Uint64(value);
}

// Without this overload a string literal value would convert to bool.
void Field(Writer& w, const char* key, const char* value) {
  Field(w, key, absl::string_view(value));
}

void Field(Writer& w, const char* key, bool value) {
  Key(w, key);
  w.Bool(value);
}

std::string Done(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::string PolicyToJson(const TenantPolicy& policy) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Field(w, "tenant", policy.tenant);
  Field(w, "default", policy.is_default);
  if (!policy.is_default) {
    Field(w, "version", policy.version);
    Field(w, "updated_at", FormatRfc3339(policy.updated_at));
  }
  Key(w, "rules");
  w.StartArray();
  for (const RetentionRule& rule : policy.rules) {
    w.StartObject();
    Field(w, "category", CategoryName(rule.category));
    Field(w, "ttl", FormatRetentionDuration(rule.ttl));
    Field(w, "from_default", rule.from_default);
    if (rule.horizon != absl::InfinitePast()) {
      Field(w, "horizon", FormatRfc3339(rule.horizon));
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Done(buffer);
}

std::string ConversationInfoToJson(absl::string_view tenant,
                                   absl::string_view user,
                                   const ConversationInfo& info) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Field(w, "tenant", tenant);
  Field(w, "user", user);
  Field(w, "conversation", info.conversation);
  Field(w, "last_message_at", FormatRfc3339(info.last_message_at));
  w.EndObject();
  return Done(buffer);
}

std::string StatsToJson(const StoreStats& s) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Field(w, "now", FormatRfc3339(s.now));
  Key(w, "messages");
  w.StartObject();
  Field(w, "live", s.messages_live);
  Field(w, "expired", s.messages_expired);
  Field(w, "undecodable", s.messages_undecodable);
  Field(w, "live_bytes", s.message_bytes_live);
  Field(w, "expired_bytes", s.message_bytes_expired);
  w.EndObject();
  Key(w, "index");
  w.StartObject();
  Field(w, "live", s.index_entries_live);
  Field(w, "expired", s.index_entries_expired);
  Field(w, "undecodable", s.index_entries_undecodable);
  w.EndObject();
  Field(w, "tenants", s.tenants);
  Field(w, "policies", s.policies);
  Key(w, "compaction_filter");
  w.StartObject();
  Field(w, "dropped_expired", s.filter_dropped_expired);
  Field(w, "kept_undecodable", s.filter_kept_undecodable);
  w.EndObject();
  Field(w, "reads_skipped_undecodable", s.reads_skipped_undecodable);
  Key(w, "sst");
  w.StartObject();
  Field(w, "files", s.sst_files);
  Field(w, "bytes", s.sst_bytes);
  w.EndObject();
  Field(w, "day_start", FormatTimeOfDay(s.day_start));
  w.EndObject();
  return Done(buffer);
}

std::string EraseResultToJson(absl::string_view tenant,
                              const EraseResult& result) {
  const v1::Scope scope = result.scope;
  const absl::string_view id = result.id;
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Field(w, "tenant", tenant);
  if (scope == v1::SCOPE_USER) Field(w, "user", id);
  if (scope == v1::SCOPE_CONVERSATION) Field(w, "conversation", id);
  Field(w, "scope",
        scope == v1::SCOPE_TENANT ? "tenant"
        : scope == v1::SCOPE_USER ? "user"
                                  : "conversation");
  Field(w, "pending", result.pending);
  Field(w, "cutoff", FormatRfc3339(result.cutoff));
  Field(w, "messages", result.messages);
  Field(w, "conversations", result.conversations);
  Field(w, "bytes", result.bytes);
  Field(w, "audit_seq", result.audit_seq);
  w.EndObject();
  return Done(buffer);
}

std::string AuditVerificationToJson(const AuditVerification& v) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Field(w, "ok", v.ok);
  Field(w, "records", v.records);
  Field(w, "first_seq", v.first_seq);
  Field(w, "last_seq", v.last_seq);
  Field(w, "head_hash", v.head_hash);
  if (!v.ok) {
    Field(w, "first_bad_seq", v.first_bad_seq);
    Field(w, "problem", v.problem);
  }
  w.EndObject();
  return Done(buffer);
}

absl::StatusOr<v1::ErasureReason> ParseErasureReason(absl::string_view name) {
  v1::ErasureReason reason;
  if (v1::ErasureReason_Parse(absl::AsciiStrToUpper(name), &reason) &&
      reason != v1::ERASURE_REASON_UNSPECIFIED) {
    return reason;
  }
  std::vector<std::string> names;
  const google::protobuf::EnumDescriptor* d = v1::ErasureReason_descriptor();
  for (int i = 0; i < d->value_count(); ++i) {
    if (d->value(i)->number() == 0) continue;
    names.push_back(absl::AsciiStrToLower(d->value(i)->name()));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown reason \"", name,
                                                 "\"; expected one of ",
                                                 absl::StrJoin(names, ", ")));
}

}  // namespace ebb
