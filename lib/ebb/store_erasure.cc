// Copyright ebb authors.
//
// Erasure of a conversation, a user or a tenant; the resurrection guard; legal
// holds and restriction of processing.
//
// An erasure is one synced WriteBatch: range deletions of the data and index
// entries (so compaction and the purge drop them in bulk), a marker keyed by
// the subject's pseudonym that the append guard consults, the request record
// and the audit record. Under a hold the data is kept instead, a pending
// erasure is stored, and the protections hide the data from reads until the
// last covering hold is lifted.

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/internal/status_macros.h"
#include "lib/ebb/internal/validation.h"
#include "lib/ebb/store_impl.h"

namespace ebb {

using store_internal::DecodeMicros;
using store_internal::EncodeMicros;
using store_internal::kErasedPrefix;
using store_internal::kHoldPrefix;
using store_internal::kPendingPrefix;
using store_internal::kRestrictPrefix;
using store_internal::ScopedKey;
using store_internal::TenantKeyPrefix;

namespace {

const char* ScopeWord(v1::Scope scope) {
  switch (scope) {
    case v1::SCOPE_TENANT:
      return "tenant";
    case v1::SCOPE_USER:
      return "user";
    case v1::SCOPE_CONVERSATION:
      return "conversation";
    default:
      return "scope";
  }
}

// Checks a (scope, id) pair: the id names a user or conversation, and is empty
// for a tenant.
absl::Status ValidateScope(absl::string_view operation, v1::Scope scope,
                           absl::string_view id) {
  switch (scope) {
    case v1::SCOPE_TENANT:
      if (!id.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            operation, ": a tenant-wide scope takes no user or conversation"));
      }
      return absl::OkStatus();
    case v1::SCOPE_USER:
      return internal::ValidateId("user id", id);
    case v1::SCOPE_CONVERSATION:
      return internal::ValidateId("conversation id", id);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(operation,
                       ": scope must be tenant, user or "
                       "conversation"));
  }
}

// Free text an operator supplies (a hold's reason): UTF-8, bounded.
absl::Status ValidateNote(absl::string_view field, absl::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  }
  if (text.size() > 1024) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is %d bytes; at most 1024 are allowed", field, text.size()));
  }
  return internal::ValidateUtf8(field, text);
}

// The conversation named by a conversation-index key after `prefix_size`
// bytes ([tenant]['C'] for a tenant-wide scan).
absl::string_view ConversationIn(absl::string_view key, size_t prefix_size) {
  const absl::string_view rest = key.substr(prefix_size);
  return rest.substr(0, rest.find('\0'));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> Store::Impl::ConversationsOfUser(
    TenantNumber tenant, absl::string_view user) {
  const std::string prefix = internal::UserConversationsPrefix(tenant, user);
  std::vector<std::string> out;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      index_cf(), prefix, "list the user's conversations",
      [&](absl::string_view key, absl::string_view) {
        auto parts = internal::ParseUserConversationKey(key, prefix.size());
        if (!parts.has_value()) return;
        if (out.empty() || out.back() != parts->conversation) {
          out.emplace_back(parts->conversation);
        }
      }));
  return out;
}

bool Store::Impl::IsHeld(const internal::TenantProtections* protections,
                         v1::Scope scope, absl::string_view id,
                         const std::vector<std::string>& conversations) const {
  if (protections == nullptr) return false;
  switch (scope) {
    case v1::SCOPE_TENANT:
      return protections->HasHold();
    case v1::SCOPE_USER:
      if (protections->KeepsUser(id)) return true;
      break;
    case v1::SCOPE_CONVERSATION:
      break;
    default:
      return false;
  }
  return std::any_of(conversations.begin(), conversations.end(),
                     [&](const std::string& conversation) {
                       return protections->KeepsConversation(conversation);
                     });
}

absl::Status Store::Impl::UsersFromIndex(
    TenantNumber tenant, absl::string_view conversation,
    absl::flat_hash_set<std::string>* users) {
  // [tenant]'U'[user]\0[conversation]\0[bucket][category]: every user entry
  // of the tenant is read (this runs only when messages are gone).
  const std::string prefix =
      TenantKeyPrefix("", tenant) + internal::kUserConversationsTag;
  return ScanPrefix(
      index_cf(), prefix, "erase: user index",
      [&](absl::string_view key, absl::string_view) {
        const size_t user_end = key.find('\0', prefix.size());
        if (user_end == absl::string_view::npos) return;
        const std::optional<internal::UserConversationParts> parts =
            internal::ParseUserConversationKey(key, user_end + 1);
        if (parts.has_value() && parts->conversation == conversation) {
          users->emplace(key.substr(prefix.size(), user_end - prefix.size()));
        }
      });
}

absl::Status Store::Impl::EraseConversationData(TenantNumber tenant,
                                                absl::string_view conversation,
                                                int64_t cutoff_micros,
                                                rocksdb::WriteBatch* batch,
                                                EraseResult* result) {
  const std::string index_prefix =
      internal::ConversationBucketsPrefix(tenant, conversation);
  // bucket -> its conversation-index keys
  std::vector<std::pair<ExpiryBucket, std::string>> index_keys;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      index_cf(), index_prefix, "erase: conversation index",
      [&](absl::string_view key, absl::string_view) {
        auto parts =
            internal::ParseConversationBucketKey(key, index_prefix.size());
        if (parts.has_value()) index_keys.emplace_back(parts->bucket, key);
      }));

  absl::flat_hash_set<std::string> users;
  // False once a day the index lists holds no message to name its user.
  bool users_known = true;
  uint64_t messages = 0;
  bool everything_covered = true;
  size_t i = 0;
  while (i < index_keys.size()) {
    const ExpiryBucket bucket = index_keys[i].first;
    size_t end = i;
    while (end < index_keys.size() && index_keys[end].first == bucket) ++end;
    const std::string prefix =
        internal::MessageKeyPrefix(bucket, tenant, conversation);
    std::vector<std::string> covered;
    bool all_covered = true;
    bool any_message = false;
    absl::flat_hash_set<std::string> bucket_users;
    EBB_RETURN_IF_ERROR(ScanPrefix(
        messages_cf(), prefix, "erase: messages",
        [&](absl::string_view key, absl::string_view value) {
          any_message = true;
          // A record whose header cannot be decoded is erased too: when in
          // doubt, an erasure request wins.
          const std::optional<RecordHeader> header =
              internal::DecodeRecordHeader(value);
          if (header.has_value() && header->created_at_micros > cutoff_micros) {
            all_covered = false;
            return;
          }
          ++messages;
          result->bytes += key.size() + value.size();
          covered.emplace_back(key);
          absl::StatusOr<v1::Message> message =
              internal::DecodeMessageRecord(value);
          if (message.ok()) bucket_users.insert(message->user());
        }));
    if (batch != nullptr) {
      if (all_covered) {
        EBB_RETURN_IF_ERROR(DeleteRangeForPurge(
            batch, messages_cf(), prefix, internal::PrefixSuccessor(prefix)));
        // Nothing of the conversation is left in this bucket: its index
        // entries go too.
        for (size_t k = i; k < end; ++k) {
          batch->Delete(index_cf(), index_keys[k].second);
          const auto category = static_cast<v1::DataCategory>(
              static_cast<unsigned char>(index_keys[k].second.back()));
          for (const std::string& user : bucket_users) {
            batch->Delete(index_cf(),
                          internal::UserConversationKey(
                              tenant, user, conversation, bucket, category));
          }
        }
      } else {
        for (const std::string& key : covered)
          batch->Delete(messages_cf(), key);
        if (!covered.empty()) {
          NotePurgeRange(batch, messages_cf(), prefix,
                         internal::PrefixSuccessor(prefix),
                         PurgeWork::kCompactOnly);
        }
      }
    }
    everything_covered = everything_covered && all_covered;
    users_known = users_known && any_message;
    users.insert(bucket_users.begin(), bucket_users.end());
    i = end;
  }
  if (!users_known && batch != nullptr && everything_covered) {
    // An index entry outlives its messages by up to a day (its bound is the
    // end of its expiry day): the messages that named the users may be gone
    // while the user index entries, which name them too, live on.
    EBB_RETURN_IF_ERROR(UsersFromIndex(tenant, conversation, &users));
  }
  if (batch != nullptr && everything_covered) {
    // Also index entries whose messages are gone already (expired, compacted).
    EBB_RETURN_IF_ERROR(
        DeleteRangeForPurge(batch, index_cf(), index_prefix,
                            internal::PrefixSuccessor(index_prefix)));
    for (const std::string& user : users) {
      std::string user_prefix = internal::UserConversationsPrefix(tenant, user);
      user_prefix.append(conversation.data(), conversation.size());
      user_prefix.push_back('\0');
      EBB_RETURN_IF_ERROR(
          DeleteRangeForPurge(batch, index_cf(), user_prefix,
                              internal::PrefixSuccessor(user_prefix)));
    }
  }
  result->messages += messages;
  if (messages > 0) ++result->conversations;
  return absl::OkStatus();
}

absl::Status Store::Impl::EraseTenantData(TenantNumber tenant,
                                          rocksdb::WriteBatch* batch,
                                          EraseResult* result) {
  const std::string tenant_prefix = TenantKeyPrefix("", tenant);
  const std::string index_prefix = absl::StrCat(
      tenant_prefix, std::string(1, internal::kConversationBucketsTag));
  std::string last_conversation;
  EBB_RETURN_IF_ERROR(
      ScanPrefix(index_cf(), index_prefix, "erase tenant: index",
                 [&](absl::string_view key, absl::string_view) {
                   const absl::string_view conversation =
                       ConversationIn(key, index_prefix.size());
                   if (conversation != last_conversation) {
                     last_conversation = std::string(conversation);
                     ++result->conversations;
                   }
                 }));
  // Every bucket that exists, not only those the index names: messages whose
  // index entries have expired and been compacted away are the tenant's data
  // too.
  EBB_ASSIGN_OR_RETURN(const std::vector<ExpiryBucket> buckets,
                       PresentBuckets());
  for (ExpiryBucket bucket : buckets) {
    const std::string prefix = internal::TenantBucketPrefix(bucket, tenant);
    bool found = false;
    EBB_RETURN_IF_ERROR(
        ScanPrefix(messages_cf(), prefix, "erase tenant: messages",
                   [&](absl::string_view key, absl::string_view value) {
                     found = true;
                     ++result->messages;
                     result->bytes += key.size() + value.size();
                   }));
    if (batch != nullptr && found) {
      EBB_RETURN_IF_ERROR(DeleteRangeForPurge(
          batch, messages_cf(), prefix, internal::PrefixSuccessor(prefix)));
    }
  }
  if (batch != nullptr) {
    EBB_RETURN_IF_ERROR(
        DeleteRangeForPurge(batch, index_cf(), tenant_prefix,
                            internal::PrefixSuccessor(tenant_prefix)));
  }
  return absl::OkStatus();
}

absl::Status Store::Impl::UpdateProtections(
    absl::FunctionRef<void(internal::Protections*)> change,
    rocksdb::WriteBatch* batch, std::vector<v1::AuditRecord>* records,
    absl::string_view operation) {
  return state_->Update([&](const RetentionState::View& view)
                            -> absl::StatusOr<std::optional<PolicySnapshot>> {
    internal::Protections next = view.snapshot->protections();
    change(&next);
    if (batch != nullptr) {
      EBB_RETURN_IF_ERROR(WriteAudited(batch, records, operation));
    }
    return std::optional<PolicySnapshot>(
        view.snapshot->WithProtections(std::move(next)));
  });
}

absl::StatusOr<EraseResult> Store::Impl::Erase(v1::Scope scope,
                                               absl::string_view tenant,
                                               absl::string_view id,
                                               const EraseOptions& options) {
  EBB_RETURN_IF_ERROR(CheckOpen("erase"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  EBB_RETURN_IF_ERROR(ValidateScope("erase", scope, id));
  if (options.reason == v1::ERASURE_REASON_UNSPECIFIED ||
      !v1::ErasureReason_IsValid(options.reason)) {
    return absl::InvalidArgumentError(
        "erase: a reason is required (END_USER_REQUEST, TENANT_REQUEST, "
        "CHILD_DATA, ACCOUNT_CLOSURE, OPERATOR, LEGAL_OBLIGATION)");
  }
  if (!options.request_id.empty()) {
    EBB_RETURN_IF_ERROR(internal::ValidateId("request id", options.request_id));
  }

  absl::WriterMutexLock guard(&TenantMutex(tenant));
  EBB_ASSIGN_OR_RETURN(const RetentionState::View view,
                       EnsureTenants({tenant}));
  const TenantNumber number = *view.snapshot->FindTenant(tenant);
  const internal::TenantProtections* protections =
      view.snapshot->protections().Find(number);

  EraseResult result;
  result.scope = scope;
  result.id = std::string(id);
  result.cutoff = view.now + options_.retention.max_clock_skew;
  const int64_t cutoff_micros = internal::ToMicrosFloor(result.cutoff);
  const std::string subject =
      scope == v1::SCOPE_TENANT ? "" : PseudonymOf(tenant, scope, id);

  std::vector<std::string> conversations;
  if (scope == v1::SCOPE_CONVERSATION) {
    conversations.emplace_back(id);
  } else if (scope == v1::SCOPE_USER) {
    EBB_ASSIGN_OR_RETURN(conversations, ConversationsOfUser(number, id));
  }
  result.pending = IsHeld(protections, scope, id, conversations);

  rocksdb::WriteBatch batch;
  rocksdb::WriteBatch* apply = result.pending ? nullptr : &batch;
  if (scope == v1::SCOPE_TENANT) {
    EBB_RETURN_IF_ERROR(EraseTenantData(number, apply, &result));
  } else {
    for (const std::string& conversation : conversations) {
      EBB_RETURN_IF_ERROR(EraseConversationData(number, conversation,
                                                cutoff_micros, apply, &result));
    }
  }

  // The guard's markers: the scope's, and each erased conversation's, so a
  // replay under another user id cannot bring one back either.
  batch.Put(meta_cf(), ScopedKey(kErasedPrefix, number, scope, subject),
            EncodeMicros(cutoff_micros));
  if (scope == v1::SCOPE_USER) {
    for (const std::string& conversation : conversations) {
      batch.Put(
          meta_cf(),
          ScopedKey(kErasedPrefix, number, v1::SCOPE_CONVERSATION,
                    PseudonymOf(tenant, v1::SCOPE_CONVERSATION, conversation)),
          EncodeMicros(cutoff_micros));
    }
  }
  if (result.pending) {
    // A second erasure of a scope already pending: one record, the later
    // cutoff, every request id kept so each is completed on release.
    const std::string pending_key =
        ScopedKey(kPendingPrefix, number, scope, id);
    std::string earlier_value;
    std::vector<std::string> earlier_requests;
    rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), deletable_cf(),
                                   pending_key, &earlier_value);
    if (got.ok()) {
      v1::PendingErasure earlier;
      if (earlier.ParseFromString(earlier_value)) {
        if (!earlier.request_id().empty()) {
          earlier_requests.push_back(earlier.request_id());
        }
        earlier_requests.insert(earlier_requests.end(),
                                earlier.more_request_ids().begin(),
                                earlier.more_request_ids().end());
      }
    } else if (!got.IsNotFound()) {
      return ToAbslStatus(got, "erase: read pending erasure");
    }
    v1::PendingErasure pending;
    for (const std::string& r : earlier_requests) {
      if (r != options.request_id) pending.add_more_request_ids(r);
    }
    for (const std::string& c : conversations) pending.add_conversations(c);
    pending.set_tenant(std::string(tenant));
    pending.set_scope(scope);
    pending.set_id(std::string(id));
    pending.set_reason(options.reason);
    pending.set_request_id(options.request_id);
    *pending.mutable_requested_at() = internal::ToProtoTimestamp(view.now);
    *pending.mutable_cutoff() = internal::ToProtoTimestamp(result.cutoff);
    batch.Put(deletable_cf(), pending_key, pending.SerializeAsString());
  }

  std::vector<v1::AuditRecord> records;
  EBB_ASSIGN_OR_RETURN(
      std::optional<v1::AuditRecord> receipt,
      CompleteRequest(tenant, options.request_id, v1::REQUEST_ERASURE, scope,
                      subject, options.received_at, result.pending, view.now,
                      &batch));
  if (receipt.has_value()) records.push_back(*std::move(receipt));
  v1::AuditRecord record =
      NewAuditRecord(result.pending ? v1::AUDIT_ERASE_PENDING : v1::AUDIT_ERASE,
                     tenant, view.now);
  record.set_scope(scope);
  record.set_subject(subject);
  record.set_reason(options.reason);
  record.set_request_id(options.request_id);
  *record.mutable_cutoff() = internal::ToProtoTimestamp(result.cutoff);
  record.mutable_counts()->set_messages(result.messages);
  record.mutable_counts()->set_conversations(result.conversations);
  record.mutable_counts()->set_bytes(result.bytes);
  records.push_back(std::move(record));

  if (result.pending) {
    EBB_RETURN_IF_ERROR(UpdateProtections(
        [&](internal::Protections* p) {
          internal::TenantProtections& t = p->Mutable(number);
          switch (scope) {
            case v1::SCOPE_TENANT:
              t.tenant_erased_through = cutoff_micros;
              break;
            case v1::SCOPE_USER:
              t.users_erased_through[id] = cutoff_micros;
              for (const std::string& c : conversations) {
                t.conversations_erased_through[c] = cutoff_micros;
              }
              break;
            default:
              t.conversations_erased_through[id] = cutoff_micros;
          }
        },
        &batch, &records, "erase"));
  } else {
    EBB_RETURN_IF_ERROR(WriteAudited(&batch, &records, "erase"));
  }
  result.audit_seq = records.back().seq();
  any_erasure_.store(true, std::memory_order_release);
  // Index entries were deleted: the caches must not claim they still exist.
  index_cache_.Clear();
  bucket_cache_.Clear();
  return result;
}

absl::Status Store::Impl::CheckNotErased(
    absl::Span<const v1::Message> messages, const RetentionState::View& view,
    absl::FunctionRef<std::string(size_t)> where) {
  // (tenant, scope, raw id) -> the marker's cutoff, if any; looked up once per
  // batch.
  absl::flat_hash_map<std::string, std::optional<int64_t>> markers;
  auto marker =
      [&](absl::string_view tenant, TenantNumber number, v1::Scope scope,
          absl::string_view id) -> absl::StatusOr<std::optional<int64_t>> {
    std::string memo_key = ScopedKey("", number, scope, id);
    if (auto it = markers.find(memo_key); it != markers.end()) {
      return it->second;
    }
    const std::string subject =
        scope == v1::SCOPE_TENANT ? "" : PseudonymOf(tenant, scope, id);
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), meta_cf(),
                 ScopedKey(kErasedPrefix, number, scope, subject), &value);
    std::optional<int64_t> cutoff;
    if (s.ok()) {
      cutoff = DecodeMicros(value);
      // A damaged marker still guards: refuse everything up to forever.
      if (!cutoff.has_value()) cutoff = std::numeric_limits<int64_t>::max();
    } else if (!s.IsNotFound()) {
      return ToAbslStatus(s, "append: read erasure marker");
    }
    markers.emplace(std::move(memo_key), cutoff);
    return cutoff;
  };
  for (size_t i = 0; i < messages.size(); ++i) {
    const v1::Message& m = messages[i];
    const TenantNumber number = *view.snapshot->FindTenant(m.tenant());
    const int64_t micros =
        internal::ToMicrosFloor(*internal::FromProtoTimestamp(m.created_at()));
    for (const auto& [scope, id] :
         {std::pair<v1::Scope, absl::string_view>{v1::SCOPE_TENANT, ""},
          {v1::SCOPE_CONVERSATION, m.conversation()},
          {v1::SCOPE_USER, m.user()}}) {
      EBB_ASSIGN_OR_RETURN(std::optional<int64_t> cutoff,
                           marker(m.tenant(), number, scope, id));
      if (cutoff.has_value() && micros <= *cutoff) {
        return absl::FailedPreconditionError(absl::StrCat(
            where(i), ScopeWord(scope),
            scope == v1::SCOPE_TENANT ? absl::StrCat(" \"", m.tenant(), "\"")
                                      : absl::StrCat(" \"", id, "\""),
            " was erased; messages created at or before ",
            absl::FormatTime(absl::FromUnixMicros(*cutoff)),
            " are refused so erased data cannot come back (this one: ",
            absl::FormatTime(absl::FromUnixMicros(micros)), ")"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RetentionState::View> Store::Impl::ExtendUserHolds(
    absl::Span<const v1::Message> messages, RetentionState::View view) {
  std::vector<std::tuple<TenantNumber, std::string, std::string>> added;
  for (const v1::Message& m : messages) {
    const TenantNumber number = *view.snapshot->FindTenant(m.tenant());
    const internal::TenantProtections* t =
        view.snapshot->protections().Find(number);
    if (t == nullptr || !t->held_users.contains(m.user())) continue;
    auto it = t->conversations_of_held_users.find(m.conversation());
    if (it != t->conversations_of_held_users.end() &&
        it->second.contains(m.user())) {
      continue;
    }
    added.emplace_back(number, m.conversation(), m.user());
  }
  if (added.empty()) return view;
  EBB_RETURN_IF_ERROR(UpdateProtections(
      [&](internal::Protections* p) {
        for (const auto& [number, conversation, user] : added) {
          p->Mutable(number).conversations_of_held_users[conversation].insert(
              user);
        }
      },
      nullptr, nullptr, "append"));
  return state_->Observe();
}

absl::Status Store::Impl::SetHold(absl::string_view tenant, v1::Scope scope,
                                  absl::string_view id,
                                  absl::string_view reason,
                                  absl::string_view set_by) {
  EBB_RETURN_IF_ERROR(CheckOpen("hold set"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  EBB_RETURN_IF_ERROR(ValidateScope("hold set", scope, id));
  EBB_RETURN_IF_ERROR(ValidateNote("hold reason", reason));
  EBB_RETURN_IF_ERROR(ValidateNote("hold set by", set_by));
  absl::WriterMutexLock guard(&TenantMutex(tenant));
  EBB_ASSIGN_OR_RETURN(const RetentionState::View view,
                       EnsureTenants({tenant}));
  const TenantNumber number = *view.snapshot->FindTenant(tenant);
  const std::string key = ScopedKey(kHoldPrefix, number, scope, id);
  std::string existing;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), deletable_cf(), key, &existing);
  if (s.ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("hold set: tenant \"", tenant, "\" already has a hold on ",
                     scope == v1::SCOPE_TENANT
                         ? "the whole tenant"
                         : absl::StrCat(ScopeWord(scope), " \"", id, "\"")));
  }
  if (!s.IsNotFound()) return ToAbslStatus(s, "hold set");
  std::vector<std::string> conversations;
  if (scope == v1::SCOPE_USER) {
    EBB_ASSIGN_OR_RETURN(conversations, ConversationsOfUser(number, id));
  }
  v1::Hold hold;
  hold.set_tenant(std::string(tenant));
  hold.set_scope(scope);
  hold.set_id(std::string(id));
  hold.set_reason(std::string(reason));
  hold.set_set_by(std::string(set_by));
  *hold.mutable_set_at() = internal::ToProtoTimestamp(view.now);
  rocksdb::WriteBatch batch;
  batch.Put(deletable_cf(), key, hold.SerializeAsString());
  v1::AuditRecord record = NewAuditRecord(v1::AUDIT_HOLD_SET, tenant, view.now);
  record.set_scope(scope);
  if (scope != v1::SCOPE_TENANT) {
    record.set_subject(PseudonymOf(tenant, scope, id));
  }
  record.set_note(std::string(reason));
  record.set_actor(std::string(set_by));
  std::vector<v1::AuditRecord> records = {std::move(record)};
  return UpdateProtections(
      [&](internal::Protections* p) {
        internal::TenantProtections& t = p->Mutable(number);
        switch (scope) {
          case v1::SCOPE_TENANT:
            t.tenant_held = true;
            break;
          case v1::SCOPE_USER:
            t.held_users.insert(std::string(id));
            for (const std::string& c : conversations) {
              t.conversations_of_held_users[c].insert(std::string(id));
            }
            break;
          default:
            t.held_conversations.insert(std::string(id));
        }
      },
      &batch, &records, "hold set");
}

absl::StatusOr<std::vector<EraseResult>> Store::Impl::ClearHold(
    absl::string_view tenant, v1::Scope scope, absl::string_view id,
    absl::string_view cleared_by, absl::string_view reason) {
  EBB_RETURN_IF_ERROR(CheckOpen("hold clear"));
  if (!reason.empty()) {
    EBB_RETURN_IF_ERROR(ValidateNote("hold clear reason", reason));
  }
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  EBB_RETURN_IF_ERROR(ValidateScope("hold clear", scope, id));
  EBB_RETURN_IF_ERROR(ValidateNote("hold cleared by", cleared_by));
  absl::WriterMutexLock guard(&TenantMutex(tenant));
  const RetentionState::View view = state_->Observe();
  const std::optional<TenantNumber> number = view.snapshot->FindTenant(tenant);
  auto not_found = [&] {
    return absl::NotFoundError(
        absl::StrCat("hold clear: tenant \"", tenant, "\" has no hold on ",
                     scope == v1::SCOPE_TENANT
                         ? "the whole tenant"
                         : absl::StrCat(ScopeWord(scope), " \"", id, "\"")));
  };
  if (!number.has_value()) return not_found();
  const std::string key = ScopedKey(kHoldPrefix, *number, scope, id);
  std::string existing;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), deletable_cf(), key, &existing);
  if (s.IsNotFound()) return not_found();
  EBB_RETURN_IF_ERROR(ToAbslStatus(s, "hold clear"));
  v1::Hold hold;
  hold.ParseFromString(existing);  // only its reason is used, for the record

  rocksdb::WriteBatch batch;
  batch.Delete(deletable_cf(), key);
  v1::AuditRecord record =
      NewAuditRecord(v1::AUDIT_HOLD_CLEAR, tenant, view.now);
  record.set_scope(scope);
  if (scope != v1::SCOPE_TENANT) {
    record.set_subject(PseudonymOf(tenant, scope, id));
  }
  record.set_note(reason.empty() ? hold.reason() : std::string(reason));
  record.set_actor(std::string(cleared_by));
  std::vector<v1::AuditRecord> records = {std::move(record)};

  // Everything the lifted hold releases goes in the same atomic write as the
  // lift: what it kept past expiry, and the pending erasures no other hold
  // covers. A crash leaves the hold in place with all of it, or none.
  internal::Protections next = view.snapshot->protections();
  {
    internal::TenantProtections& t = next.Mutable(*number);
    switch (scope) {
      case v1::SCOPE_TENANT:
        t.tenant_held = false;
        break;
      case v1::SCOPE_USER: {
        t.held_users.erase(id);
        for (auto it = t.conversations_of_held_users.begin();
             it != t.conversations_of_held_users.end();) {
          it->second.erase(id);
          if (it->second.empty()) {
            t.conversations_of_held_users.erase(it++);
          } else {
            ++it;
          }
        }
        break;
      }
      default:
        t.held_conversations.erase(id);
    }
  }
  std::vector<std::string> released;
  if (scope == v1::SCOPE_CONVERSATION) {
    released.emplace_back(id);
  } else if (scope == v1::SCOPE_USER) {
    EBB_ASSIGN_OR_RETURN(released, ConversationsOfUser(*number, id));
  } else {
    const std::string prefix =
        absl::StrCat(TenantKeyPrefix("", *number),
                     std::string(1, internal::kConversationBucketsTag));
    EBB_RETURN_IF_ERROR(ScanPrefix(
        index_cf(), prefix, "hold clear: index",
        [&](absl::string_view key, absl::string_view) {
          const absl::string_view c = ConversationIn(key, prefix.size());
          if (released.empty() || released.back() != c) {
            released.emplace_back(c);
          }
        }));
  }
  EBB_RETURN_IF_ERROR(ExpireReleased(tenant, *number, released,
                                     next.Find(*number), view.now, &batch,
                                     &records));
  EBB_ASSIGN_OR_RETURN(std::vector<EraseResult> erased,
                       ReleasePendingErasures(tenant, *number, view.now, &next,
                                              &batch, &records));
  EBB_RETURN_IF_ERROR(
      UpdateProtections([&](internal::Protections* p) { *p = next; }, &batch,
                        &records, "hold clear"));
  for (EraseResult& e : erased) e.audit_seq = records[e.audit_seq].seq();
  index_cache_.Clear();
  bucket_cache_.Clear();
  return erased;
}

absl::Status Store::Impl::EraseTenantUpTo(TenantNumber tenant,
                                          int64_t cutoff_micros,
                                          rocksdb::WriteBatch* batch,
                                          EraseResult* result) {
  const std::string tenant_prefix = TenantKeyPrefix("", tenant);
  EBB_ASSIGN_OR_RETURN(const std::vector<ExpiryBucket> buckets,
                       PresentBuckets());
  absl::flat_hash_set<std::string> conversations;
  for (ExpiryBucket bucket : buckets) {
    const std::string prefix = internal::TenantBucketPrefix(bucket, tenant);
    bool deleted = false;
    EBB_RETURN_IF_ERROR(ScanPrefix(
        messages_cf(), prefix, "release tenant erasure: messages",
        [&](absl::string_view key, absl::string_view value) {
          const std::optional<RecordHeader> header =
              internal::DecodeRecordHeader(value);
          if (header.has_value() && header->created_at_micros > cutoff_micros) {
            return;  // appended after the erasure: stays
          }
          ++result->messages;
          result->bytes += key.size() + value.size();
          if (auto parts = internal::ParseMessageKey(key); parts.has_value()) {
            conversations.emplace(parts->conversation);
          }
          batch->Delete(messages_cf(), rocksdb::Slice(key.data(), key.size()));
          deleted = true;
        }));
    if (deleted) {
      NotePurgeRange(batch, messages_cf(), prefix,
                     internal::PrefixSuccessor(prefix),
                     PurgeWork::kCompactOnly);
    }
  }
  result->conversations += conversations.size();
  // Index entries whose messages were all created by the cutoff.
  bool deleted = false;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      index_cf(), tenant_prefix, "release tenant erasure: index",
      [&](absl::string_view key, absl::string_view value) {
        const std::optional<RecordHeader> header =
            internal::DecodeRecordHeader(value);
        if (header.has_value() && header->created_at_micros > cutoff_micros) {
          return;
        }
        batch->Delete(index_cf(), rocksdb::Slice(key.data(), key.size()));
        deleted = true;
      }));
  if (deleted) {
    NotePurgeRange(batch, index_cf(), tenant_prefix,
                   internal::PrefixSuccessor(tenant_prefix),
                   PurgeWork::kCompactOnly);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EraseResult>> Store::Impl::ReleasePendingErasures(
    absl::string_view tenant, TenantNumber number, absl::Time now,
    internal::Protections* next, rocksdb::WriteBatch* batch,
    std::vector<v1::AuditRecord>* records) {
  std::vector<v1::PendingErasure> pending;
  std::vector<std::string> keys;
  absl::Status decode;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      deletable_cf(), TenantKeyPrefix(kPendingPrefix, number),
      "release erasures", [&](absl::string_view key, absl::string_view value) {
        v1::PendingErasure p;
        if (!p.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          decode = absl::DataLossError(
              "release erasures: undecodable pending "
              "erasure record");
          return;
        }
        pending.push_back(std::move(p));
        keys.emplace_back(key);
      }));
  EBB_RETURN_IF_ERROR(decode);
  std::vector<EraseResult> out;
  for (size_t i = 0; i < pending.size(); ++i) {
    const v1::PendingErasure& p = pending[i];
    const internal::TenantProtections* protections = next->Find(number);
    std::vector<std::string> conversations;
    if (p.scope() == v1::SCOPE_CONVERSATION) {
      conversations.push_back(p.id());
    } else if (p.scope() == v1::SCOPE_USER) {
      conversations.assign(p.conversations().begin(), p.conversations().end());
    }
    if (IsHeld(protections, p.scope(), p.id(), conversations)) continue;

    EraseResult result;
    result.scope = p.scope();
    result.id = p.id();
    EBB_ASSIGN_OR_RETURN(result.cutoff,
                         internal::FromProtoTimestamp(p.cutoff()));
    const int64_t cutoff_micros = internal::ToMicrosFloor(result.cutoff);
    // Data newer than the cutoff was appended after the erasure and stays,
    // so everything is erased up to the cutoff, not wholesale.
    if (p.scope() == v1::SCOPE_TENANT) {
      EBB_RETURN_IF_ERROR(
          EraseTenantUpTo(number, cutoff_micros, batch, &result));
    } else {
      for (const std::string& conversation : conversations) {
        EBB_RETURN_IF_ERROR(EraseConversationData(
            number, conversation, cutoff_micros, batch, &result));
      }
    }
    batch->Delete(deletable_cf(), keys[i]);
    const std::string subject = p.scope() == v1::SCOPE_TENANT
                                    ? ""
                                    : PseudonymOf(tenant, p.scope(), p.id());
    std::vector<std::string> request_ids;
    if (!p.request_id().empty()) request_ids.push_back(p.request_id());
    request_ids.insert(request_ids.end(), p.more_request_ids().begin(),
                       p.more_request_ids().end());
    for (const std::string& request_id : request_ids) {
      EBB_ASSIGN_OR_RETURN(
          std::optional<v1::AuditRecord> receipt,
          CompleteRequest(tenant, request_id, v1::REQUEST_ERASURE, p.scope(),
                          subject, absl::InfinitePast(), /*pending=*/false, now,
                          batch));
      if (receipt.has_value()) records->push_back(*std::move(receipt));
    }
    v1::AuditRecord record = NewAuditRecord(v1::AUDIT_ERASE, tenant, now);
    record.set_scope(p.scope());
    record.set_subject(subject);
    record.set_reason(p.reason());
    record.set_request_id(p.request_id());
    record.set_note("carried out after the last covering hold was lifted");
    *record.mutable_cutoff() = p.cutoff();
    record.mutable_counts()->set_messages(result.messages);
    record.mutable_counts()->set_conversations(result.conversations);
    record.mutable_counts()->set_bytes(result.bytes);
    records->push_back(std::move(record));
    // Its index in `records` for now; the caller turns it into the seq.
    result.audit_seq = records->size() - 1;
    internal::TenantProtections& t = next->Mutable(number);
    switch (p.scope()) {
      case v1::SCOPE_TENANT:
        t.tenant_erased_through.reset();
        break;
      case v1::SCOPE_USER:
        t.users_erased_through.erase(p.id());
        for (const std::string& c : conversations) {
          t.conversations_erased_through.erase(c);
        }
        break;
      default:
        t.conversations_erased_through.erase(p.id());
    }
    out.push_back(result);
  }
  return out;
}

absl::StatusOr<std::vector<v1::Hold>> Store::Impl::ListHolds(
    absl::string_view tenant) {
  EBB_RETURN_IF_ERROR(CheckOpen("hold list"));
  std::string prefix = kHoldPrefix;
  if (!tenant.empty()) {
    EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
    const std::optional<TenantNumber> number =
        state_->Observe().snapshot->FindTenant(tenant);
    if (!number.has_value()) return std::vector<v1::Hold>();
    prefix = TenantKeyPrefix(kHoldPrefix, *number);
  }
  std::vector<v1::Hold> out;
  absl::Status decode;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      deletable_cf(), prefix, "hold list",
      [&](absl::string_view, absl::string_view value) {
        v1::Hold hold;
        if (!hold.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
          decode = absl::DataLossError("hold list: undecodable hold record");
          return;
        }
        out.push_back(std::move(hold));
      }));
  EBB_RETURN_IF_ERROR(decode);
  std::sort(out.begin(), out.end(), [](const v1::Hold& a, const v1::Hold& b) {
    return std::make_tuple(a.tenant(), static_cast<int>(a.scope()), a.id()) <
           std::make_tuple(b.tenant(), static_cast<int>(b.scope()), b.id());
  });
  return out;
}

absl::Status Store::Impl::SetRestriction(absl::string_view tenant,
                                         absl::string_view user,
                                         bool restricted) {
  const char* operation = restricted ? "restrict set" : "restrict clear";
  EBB_RETURN_IF_ERROR(CheckOpen(operation));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  EBB_RETURN_IF_ERROR(internal::ValidateId("user id", user));
  absl::WriterMutexLock guard(&TenantMutex(tenant));
  RetentionState::View view = state_->Observe();
  if (restricted) {
    EBB_ASSIGN_OR_RETURN(view, EnsureTenants({tenant}));
  }
  const std::optional<TenantNumber> number = view.snapshot->FindTenant(tenant);
  const internal::TenantProtections* t =
      number.has_value() ? view.snapshot->protections().Find(*number) : nullptr;
  const bool is_restricted = t != nullptr && t->restricted_users.contains(user);
  if (restricted && is_restricted) {
    return absl::AlreadyExistsError(absl::StrCat(operation, ": user \"", user,
                                                 "\" of tenant \"", tenant,
                                                 "\" is already restricted"));
  }
  if (!restricted && !is_restricted) {
    return absl::NotFoundError(absl::StrCat(operation, ": user \"", user,
                                            "\" of tenant \"", tenant,
                                            "\" is not restricted"));
  }
  const std::string key =
      ScopedKey(kRestrictPrefix, *number, v1::SCOPE_USER, user);
  rocksdb::WriteBatch batch;
  if (restricted) {
    v1::Restriction r;
    r.set_tenant(std::string(tenant));
    r.set_user(std::string(user));
    *r.mutable_set_at() = internal::ToProtoTimestamp(view.now);
    batch.Put(deletable_cf(), key, r.SerializeAsString());
  } else {
    batch.Delete(deletable_cf(), key);
  }
  v1::AuditRecord record = NewAuditRecord(
      restricted ? v1::AUDIT_RESTRICT_SET : v1::AUDIT_RESTRICT_CLEAR, tenant,
      view.now);
  record.set_scope(v1::SCOPE_USER);
  record.set_subject(PseudonymOf(tenant, v1::SCOPE_USER, user));
  std::vector<v1::AuditRecord> records = {std::move(record)};
  return UpdateProtections(
      [&](internal::Protections* p) {
        if (restricted) {
          p->Mutable(*number).restricted_users.insert(std::string(user));
        } else {
          p->Mutable(*number).restricted_users.erase(user);
        }
      },
      &batch, &records, operation);
}

absl::Status Store::Impl::LoadProtections() {
  internal::Protections loaded;
  absl::Status decode;
  std::vector<std::pair<TenantNumber, std::string>> held_users;
  auto tenant_of = [](absl::string_view key, size_t prefix_size) {
    return absl::big_endian::Load32(key.data() + prefix_size);
  };
  EBB_RETURN_IF_ERROR(ScanPrefix(
      deletable_cf(), kHoldPrefix, "open: holds",
      [&](absl::string_view key, absl::string_view value) {
        v1::Hold hold;
        if (key.size() < sizeof(kHoldPrefix) - 1 + 5 ||
            !hold.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
          decode = absl::DataLossError("open: undecodable hold record");
          return;
        }
        const TenantNumber number = tenant_of(key, sizeof(kHoldPrefix) - 1);
        internal::TenantProtections& t = loaded.Mutable(number);
        switch (hold.scope()) {
          case v1::SCOPE_TENANT:
            t.tenant_held = true;
            break;
          case v1::SCOPE_USER:
            t.held_users.insert(hold.id());
            held_users.emplace_back(number, hold.id());
            break;
          default:
            t.held_conversations.insert(hold.id());
        }
      }));
  EBB_RETURN_IF_ERROR(ScanPrefix(
      deletable_cf(), kRestrictPrefix, "open: restrictions",
      [&](absl::string_view key, absl::string_view value) {
        v1::Restriction r;
        if (key.size() < sizeof(kRestrictPrefix) - 1 + 5 ||
            !r.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          decode = absl::DataLossError("open: undecodable restriction record");
          return;
        }
        loaded.Mutable(tenant_of(key, sizeof(kRestrictPrefix) - 1))
            .restricted_users.insert(r.user());
      }));
  std::vector<std::pair<TenantNumber, v1::PendingErasure>> pending;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      deletable_cf(), kPendingPrefix, "open: pending erasures",
      [&](absl::string_view key, absl::string_view value) {
        v1::PendingErasure p;
        if (key.size() < sizeof(kPendingPrefix) - 1 + 5 ||
            !p.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          decode = absl::DataLossError("open: undecodable pending erasure");
          return;
        }
        pending.emplace_back(tenant_of(key, sizeof(kPendingPrefix) - 1),
                             std::move(p));
      }));
  EBB_RETURN_IF_ERROR(decode);
  for (const auto& [number, user] : held_users) {
    EBB_ASSIGN_OR_RETURN(std::vector<std::string> conversations,
                         ConversationsOfUser(number, user));
    for (std::string& c : conversations) {
      loaded.Mutable(number).conversations_of_held_users[std::move(c)].insert(
          user);
    }
  }
  for (const auto& [number, p] : pending) {
    EBB_ASSIGN_OR_RETURN(const absl::Time cutoff,
                         internal::FromProtoTimestamp(p.cutoff()));
    const int64_t micros = internal::ToMicrosFloor(cutoff);
    internal::TenantProtections& t = loaded.Mutable(number);
    switch (p.scope()) {
      case v1::SCOPE_TENANT:
        t.tenant_erased_through = micros;
        break;
      case v1::SCOPE_USER:
        t.users_erased_through[p.id()] = micros;
        for (const std::string& c : p.conversations()) {
          t.conversations_erased_through[c] = micros;
        }
        break;
      default:
        t.conversations_erased_through[p.id()] = micros;
    }
  }
  bool any_marker = false;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), meta_cf()));
    it->Seek(kErasedPrefix);
    any_marker = it->Valid() && StartsWith(it->key(), kErasedPrefix);
    EBB_RETURN_IF_ERROR(ToAbslStatus(it->status(), "open: erasure markers"));
  }
  any_erasure_.store(any_marker, std::memory_order_release);
  return UpdateProtections(
      [&](internal::Protections* p) { *p = std::move(loaded); }, nullptr,
      nullptr, "open");
}

}  // namespace ebb
