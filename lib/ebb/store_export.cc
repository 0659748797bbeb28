// Copyright ebb authors.
//
// Export for access and portability requests, and the requests themselves
// with their deadlines.

#include <string>
#include <utility>
#include <vector>

#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/internal/status_macros.h"
#include "lib/ebb/internal/validation.h"
#include "lib/ebb/json.h"
#include "lib/ebb/store_impl.h"

namespace ebb {

using store_internal::kHoldPrefix;
using store_internal::RequestKey;

namespace {

// A proto as one JSON object with a leading "record" field naming what it is.
std::string RecordLine(absl::string_view record,
                       const google::protobuf::Message& message) {
  const std::string json = ProtoToJson(message);
  return absl::StrCat("{\"record\":\"", record, "\"", json == "{}" ? "" : ",",
                      absl::string_view(json).substr(1));
}

}  // namespace

absl::StatusOr<std::optional<v1::Request>> Store::Impl::GetRequest(
    absl::string_view tenant, absl::string_view request_id) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), deletable_cf(),
                               RequestKey(tenant, request_id), &value);
  if (s.IsNotFound()) return std::optional<v1::Request>();
  EBB_RETURN_IF_ERROR(ToAbslStatus(s, "read request"));
  v1::Request request;
  if (!request.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat("request \"", request_id,
                                            "\" of tenant \"", tenant,
                                            "\" is undecodable"));
  }
  return std::optional<v1::Request>(std::move(request));
}

absl::StatusOr<std::optional<v1::AuditRecord>> Store::Impl::CompleteRequest(
    absl::string_view tenant, absl::string_view request_id,
    v1::RequestKind kind, v1::Scope scope, absl::string_view subject,
    absl::Time received_at, bool pending, absl::Time now,
    rocksdb::WriteBatch* batch) {
  if (request_id.empty()) return std::optional<v1::AuditRecord>();
  EBB_ASSIGN_OR_RETURN(std::optional<v1::Request> request,
                       GetRequest(tenant, request_id));
  std::optional<v1::AuditRecord> receipt;
  if (request.has_value() &&
      (request->kind() != kind || request->subject() != subject)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request \"", request_id, "\" of tenant \"", tenant, "\" is ",
        request->kind() == v1::REQUEST_ERASURE ? "an erasure" : "an export",
        " request about ",
        request->subject() == subject ? "the same subject"
                                      : "another user or conversation",
        "; it cannot be completed by this ",
        kind == v1::REQUEST_ERASURE ? "erasure" : "export"));
  }
  if (!request.has_value()) {
    const absl::Time received =
        received_at == absl::InfinitePast() ? now : received_at;
    request.emplace();
    request->set_tenant(std::string(tenant));
    request->set_request_id(std::string(request_id));
    request->set_kind(kind);
    request->set_scope(scope);
    request->set_subject(std::string(subject));
    *request->mutable_received_at() = internal::ToProtoTimestamp(received);
    *request->mutable_due_at() =
        internal::ToProtoTimestamp(received + options_.request_deadline);
    receipt = NewAuditRecord(v1::AUDIT_REQUEST_RECEIVED, tenant, now);
    receipt->set_scope(scope);
    receipt->set_subject(std::string(subject));
    receipt->set_request_id(std::string(request_id));
    *receipt->mutable_received_at() = request->received_at();
    *receipt->mutable_due_at() = request->due_at();
  }
  request->set_state(pending ? v1::REQUEST_PENDING_HOLD
                             : v1::REQUEST_COMPLETED);
  if (!pending) {
    *request->mutable_completed_at() = internal::ToProtoTimestamp(now);
  }
  batch->Put(deletable_cf(), RequestKey(tenant, request_id),
             request->SerializeAsString());
  return receipt;
}

absl::StatusOr<v1::Request> Store::Impl::OpenRequest(
    absl::string_view tenant, absl::string_view request_id,
    v1::RequestKind kind, absl::string_view user, absl::Time received_at) {
  EBB_RETURN_IF_ERROR(CheckOpen("request open"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  EBB_RETURN_IF_ERROR(internal::ValidateId("request id", request_id));
  EBB_RETURN_IF_ERROR(internal::ValidateId("user id", user));
  if (kind != v1::REQUEST_ERASURE && kind != v1::REQUEST_EXPORT) {
    return absl::InvalidArgumentError(
        "request open: kind must be erasure or export");
  }
  absl::WriterMutexLock guard(&TenantMutex(tenant));
  const absl::Time now = state_->Observe().now;
  if (received_at == absl::InfinitePast()) received_at = now;
  if (received_at > now + options_.retention.max_clock_skew) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request open: received_at ", absl::FormatTime(received_at),
        " is in the future (now ", absl::FormatTime(now), ")"));
  }
  EBB_ASSIGN_OR_RETURN(std::optional<v1::Request> existing,
                       GetRequest(tenant, request_id));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("request open: tenant \"", tenant,
                     "\" already has request \"", request_id, "\""));
  }
  v1::Request request;
  request.set_tenant(std::string(tenant));
  request.set_request_id(std::string(request_id));
  request.set_kind(kind);
  request.set_scope(v1::SCOPE_USER);
  request.set_subject(PseudonymOf(tenant, v1::SCOPE_USER, user));
  *request.mutable_received_at() = internal::ToProtoTimestamp(received_at);
  *request.mutable_due_at() =
      internal::ToProtoTimestamp(received_at + options_.request_deadline);
  request.set_state(v1::REQUEST_OPEN);
  rocksdb::WriteBatch batch;
  batch.Put(deletable_cf(), RequestKey(tenant, request_id),
            request.SerializeAsString());
  v1::AuditRecord record =
      NewAuditRecord(v1::AUDIT_REQUEST_RECEIVED, tenant, now);
  record.set_scope(v1::SCOPE_USER);
  record.set_subject(request.subject());
  record.set_request_id(std::string(request_id));
  *record.mutable_received_at() = request.received_at();
  *record.mutable_due_at() = request.due_at();
  std::vector<v1::AuditRecord> records = {std::move(record)};
  EBB_RETURN_IF_ERROR(WriteAudited(&batch, &records, "request open"));
  return request;
}

absl::StatusOr<v1::Request> Store::Impl::ExtendRequest(
    absl::string_view tenant, absl::string_view request_id, absl::Duration by,
    absl::string_view reason) {
  EBB_RETURN_IF_ERROR(CheckOpen("request extend"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  EBB_RETURN_IF_ERROR(internal::ValidateId("request id", request_id));
  if (by <= absl::ZeroDuration() || by > options_.max_request_extension) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request extend: the extension must be positive and at most ",
        absl::FormatDuration(options_.max_request_extension),
        " (Options::max_request_extension), got ", absl::FormatDuration(by)));
  }
  if (reason.empty()) {
    return absl::InvalidArgumentError("request extend: a reason is required");
  }
  EBB_RETURN_IF_ERROR(internal::ValidateUtf8("extension reason", reason));
  absl::WriterMutexLock guard(&TenantMutex(tenant));
  const absl::Time now = state_->Observe().now;
  EBB_ASSIGN_OR_RETURN(std::optional<v1::Request> request,
                       GetRequest(tenant, request_id));
  if (!request.has_value()) {
    return absl::NotFoundError(absl::StrCat("request extend: tenant \"", tenant,
                                            "\" has no request \"", request_id,
                                            "\""));
  }
  if (request->has_extended_by()) {
    return absl::FailedPreconditionError(
        absl::StrCat("request extend: request \"", request_id,
                     "\" was extended already; a deadline is extended once"));
  }
  if (request->state() == v1::REQUEST_COMPLETED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request extend: request \"", request_id, "\" is completed"));
  }
  EBB_ASSIGN_OR_RETURN(const absl::Time due,
                       internal::FromProtoTimestamp(request->due_at()));
  *request->mutable_due_at() = internal::ToProtoTimestamp(due + by);
  *request->mutable_extended_by() = internal::ToProtoDuration(by);
  request->set_extension_reason(std::string(reason));
  rocksdb::WriteBatch batch;
  batch.Put(deletable_cf(), RequestKey(tenant, request_id),
            request->SerializeAsString());
  v1::AuditRecord record =
      NewAuditRecord(v1::AUDIT_REQUEST_EXTENDED, tenant, now);
  record.set_scope(request->scope());
  record.set_subject(request->subject());
  record.set_request_id(std::string(request_id));
  record.set_note(std::string(reason));
  *record.mutable_received_at() = request->received_at();
  *record.mutable_due_at() = request->due_at();
  std::vector<v1::AuditRecord> records = {std::move(record)};
  EBB_RETURN_IF_ERROR(WriteAudited(&batch, &records, "request extend"));
  return *std::move(request);
}

absl::StatusOr<std::vector<v1::Request>> Store::Impl::ListRequests(
    bool overdue_only) {
  EBB_RETURN_IF_ERROR(CheckOpen("request list"));
  const absl::Time now = state_->Observe().now;
  std::vector<v1::Request> out;
  absl::Status decode;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      deletable_cf(), store_internal::kRequestPrefix, "request list",
      [&](absl::string_view, absl::string_view value) {
        v1::Request request;
        if (!request.ParseFromArray(value.data(),
                                    static_cast<int>(value.size()))) {
          decode = absl::DataLossError("request list: undecodable request");
          return;
        }
        if (overdue_only) {
          const absl::Time due = internal::FromProtoTimestamp(request.due_at())
                                     .value_or(absl::InfiniteFuture());
          if (request.state() == v1::REQUEST_COMPLETED || due >= now) return;
        }
        out.push_back(std::move(request));
      }));
  EBB_RETURN_IF_ERROR(decode);
  return out;
}

absl::StatusOr<ExportSummary> Store::Impl::Export(
    absl::string_view tenant, absl::string_view user,
    const ExportOptions& options,
    absl::FunctionRef<absl::Status(absl::string_view line)> sink) {
  EBB_RETURN_IF_ERROR(CheckOpen("export"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  EBB_RETURN_IF_ERROR(internal::ValidateId("user id", user));
  if (!options.request_id.empty()) {
    EBB_RETURN_IF_ERROR(internal::ValidateId("request id", options.request_id));
  }
  const RetentionState::View view = state_->Observe();
  ExportSummary summary;
  const std::optional<TenantNumber> number = view.snapshot->FindTenant(tenant);
  const std::string user_pseudonym = PseudonymOf(tenant, v1::SCOPE_USER, user);
  if (!options.request_id.empty()) {
    // Refuse a request of another kind or user before printing anything.
    EBB_ASSIGN_OR_RETURN(std::optional<v1::Request> request,
                         GetRequest(tenant, options.request_id));
    if (request.has_value() && (request->kind() != v1::REQUEST_EXPORT ||
                                request->subject() != user_pseudonym)) {
      return absl::InvalidArgumentError(
          absl::StrCat("export: request \"", options.request_id,
                       "\" is not an export request about this user"));
    }
  }
  auto emit = [&](absl::string_view line) -> absl::Status {
    ++summary.lines;
    return sink(line);
  };

  if (number.has_value()) {
    const CategoryCutoffs cutoffs = view.snapshot->CutoffsFor(tenant, view.now);
    const internal::TenantProtections* protections =
        view.snapshot->protections().Find(*number);
    // The user index, streamed: one iterator over the user's entries, one
    // per (conversation, bucket) over its messages. Nothing accumulates.
    const std::string prefix = internal::UserConversationsPrefix(*number, user);
    const std::string upper = internal::PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions read;
    read.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, index_cf()));
    std::string last_conversation;
    ExpiryBucket last_bucket = 0;
    absl::Status status;
    for (it->Seek(prefix); it->Valid() && status.ok(); it->Next()) {
      auto parts =
          internal::ParseUserConversationKey(View(it->key()), prefix.size());
      if (!parts.has_value()) continue;
      if (parts->conversation == last_conversation &&
          parts->bucket == last_bucket) {
        continue;  // another category of the same bucket
      }
      last_conversation = std::string(parts->conversation);
      last_bucket = parts->bucket;
      const bool held = protections != nullptr &&
                        (protections->KeepsUser(user) ||
                         protections->KeepsConversation(last_conversation));
      EBB_RETURN_IF_ERROR(ScanPrefix(
          messages_cf(),
          internal::MessageKeyPrefix(last_bucket, *number, last_conversation),
          "export: messages", [&](absl::string_view, absl::string_view value) {
            if (!status.ok()) return;
            const std::optional<RecordHeader> header =
                internal::DecodeRecordHeader(value);
            if (!header.has_value()) return;
            const bool shown_anyway = options.include_held && held;
            if (internal::IsExpired(cutoffs, *header) && !shown_anyway) return;
            absl::StatusOr<v1::Message> m =
                internal::DecodeMessageRecord(value);
            if (!m.ok() || m->user() != user) return;
            if (protections != nullptr && !shown_anyway &&
                protections->ErasurePendingCovers(last_conversation, user,
                                                  header->created_at_micros)) {
              return;
            }
            if (options.anonymise) {
              m->set_user(user_pseudonym);
              m->set_conversation(PseudonymOf(tenant, v1::SCOPE_CONVERSATION,
                                              last_conversation));
            }
            ++summary.messages;
            status = emit(MessageToJson(*m));
          }));
    }
    EBB_RETURN_IF_ERROR(ToAbslStatus(it->status(), "export: user index"));
    EBB_RETURN_IF_ERROR(status);

    // Holds that cover the user: on the tenant, on the user, or on one of
    // the user's conversations.
    auto user_has_conversation =
        [&](absl::string_view conversation) -> absl::StatusOr<bool> {
      std::string entry = prefix;
      entry.append(conversation.data(), conversation.size());
      entry.push_back('\0');
      bool found = false;
      EBB_RETURN_IF_ERROR(ScanPrefix(
          index_cf(), entry, "export: holds",
          [&](absl::string_view, absl::string_view) { found = true; }));
      return found;
    };
    std::vector<v1::Hold> holds;
    const std::string hold_prefix =
        store_internal::TenantKeyPrefix(kHoldPrefix, *number);
    EBB_RETURN_IF_ERROR(
        ScanPrefix(deletable_cf(), hold_prefix, "export: holds",
                   [&](absl::string_view, absl::string_view value) {
                     v1::Hold hold;
                     if (hold.ParseFromArray(value.data(),
                                             static_cast<int>(value.size()))) {
                       holds.push_back(std::move(hold));
                     }
                   }));
    for (v1::Hold& hold : holds) {
      bool covers = hold.scope() == v1::SCOPE_TENANT ||
                    (hold.scope() == v1::SCOPE_USER && hold.id() == user);
      if (hold.scope() == v1::SCOPE_CONVERSATION) {
        EBB_ASSIGN_OR_RETURN(covers, user_has_conversation(hold.id()));
      }
      if (!covers) continue;
      if (options.anonymise && hold.scope() != v1::SCOPE_TENANT) {
        hold.set_id(PseudonymOf(tenant, hold.scope(), hold.id()));
      }
      EBB_RETURN_IF_ERROR(emit(RecordLine("hold", hold)));
    }
    if (protections != nullptr &&
        protections->restricted_users.contains(user)) {
      v1::Restriction r;
      r.set_tenant(std::string(tenant));
      r.set_user(options.anonymise ? user_pseudonym : std::string(user));
      EBB_RETURN_IF_ERROR(emit(RecordLine("restriction", r)));
    }
  }

  // The user's requests (matched by pseudonym: requests store no raw ids).
  std::string request_prefix = RequestKey(tenant, "");
  absl::Status status;
  EBB_RETURN_IF_ERROR(
      ScanPrefix(deletable_cf(), request_prefix, "export: requests",
                 [&](absl::string_view, absl::string_view value) {
                   if (!status.ok()) return;
                   v1::Request request;
                   if (!request.ParseFromArray(
                           value.data(), static_cast<int>(value.size())) ||
                       request.subject() != user_pseudonym) {
                     return;
                   }
                   status = emit(RecordLine("request", request));
                 }));
  EBB_RETURN_IF_ERROR(status);

  if (!options.request_id.empty()) {
    absl::WriterMutexLock guard(&TenantMutex(tenant));
    rocksdb::WriteBatch batch;
    std::vector<v1::AuditRecord> records;
    EBB_ASSIGN_OR_RETURN(
        std::optional<v1::AuditRecord> receipt,
        CompleteRequest(tenant, options.request_id, v1::REQUEST_EXPORT,
                        v1::SCOPE_USER, user_pseudonym, options.received_at,
                        /*pending=*/false, view.now, &batch));
    if (receipt.has_value()) records.push_back(*std::move(receipt));
    v1::AuditRecord record = NewAuditRecord(v1::AUDIT_EXPORT, tenant, view.now);
    record.set_scope(v1::SCOPE_USER);
    record.set_subject(user_pseudonym);
    record.set_request_id(options.request_id);
    record.mutable_counts()->set_messages(summary.messages);
    records.push_back(std::move(record));
    EBB_RETURN_IF_ERROR(WriteAudited(&batch, &records, "export"));
  }
  return summary;
}

}  // namespace ebb
