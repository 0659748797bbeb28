// Copyright ebb authors.

#include "lib/ebb/store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/ebb/duration.h"
#include "lib/ebb/internal/bucket_cache.h"
#include "lib/ebb/internal/compaction_filter.h"
#include "lib/ebb/internal/expiry.h"
#include "lib/ebb/internal/expiry_file_stats.h"
#include "lib/ebb/internal/index_write_cache.h"
#include "lib/ebb/internal/insert_hint.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/max_created_at_merge.h"
#include "lib/ebb/internal/message_partitioner.h"
#include "lib/ebb/internal/policy_snapshot.h"
#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/internal/record_codec.h"
#include "lib/ebb/internal/retention_state.h"
#include "lib/ebb/internal/rocksdb_status.h"
#include "lib/ebb/internal/status_macros.h"
#include "lib/ebb/internal/validation.h"
#include "lib/ebb/store_impl.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace ebb {

namespace store_internal {

std::string TenantKeyPrefix(absl::string_view prefix, TenantNumber tenant) {
  std::string key(prefix);
  char buf[4];
  absl::big_endian::Store32(buf, tenant);
  key.append(buf, 4);
  return key;
}

std::string EncodeMicros(int64_t micros) {
  char buf[8];
  absl::big_endian::Store64(buf, static_cast<uint64_t>(micros));
  return std::string(buf, 8);
}

std::optional<int64_t> DecodeMicros(absl::string_view value) {
  if (value.size() != 8) return std::nullopt;
  return static_cast<int64_t>(absl::big_endian::Load64(value.data()));
}

std::string ScopedKey(absl::string_view prefix, TenantNumber tenant,
                      v1::Scope scope, absl::string_view id) {
  std::string key = TenantKeyPrefix(prefix, tenant);
  key.push_back(static_cast<char>(scope));
  key.append(id.data(), id.size());
  return key;
}

std::string RequestKey(absl::string_view tenant, absl::string_view request_id) {
  std::string key = absl::StrCat(kRequestPrefix, tenant);
  key.push_back('\0');
  key.append(request_id.data(), request_id.size());
  return key;
}

rocksdb::WriteOptions SyncWrite() {
  rocksdb::WriteOptions options;
  options.sync = true;
  return options;
}

}  // namespace store_internal

namespace {

// Column families. "default" holds metadata: the format marker, the tenant
// registry, the policies with their history and the audit ledger;
// "deletable" (store_internal::kDeletableCf) the metadata that gets deleted.
constexpr char kMessagesCf[] = "messages";
constexpr char kIndexCf[] = "index";
using store_internal::kDeletableCf;

// Metadata keys.
constexpr char kFormatKey[] = "format";
constexpr char kFormatV1[] = "1";
// -> the store's day start, microseconds after midnight UTC (i64 BE). Absent
// in stores created before it existed, whose days begin at midnight.
constexpr char kDayStartKey[] = "day-start";
constexpr char kTenantPrefix[] = "tenant/";  // + id -> u32 BE number
constexpr char kPolicyPrefix[] = "policy/";  // + id -> RetentionPolicy
constexpr char kDefaultPolicyKey[] = "defaults";
constexpr char kHistoryPrefix[] = "history/";  // + id + \0 + u64 BE version

std::string HistoryKey(absl::string_view tenant, uint64_t version) {
  std::string key = absl::StrCat(kHistoryPrefix, tenant);
  key.push_back('\0');
  char buf[8];
  absl::big_endian::Store64(buf, version);
  key.append(buf, 8);
  return key;
}

// Writes `policy` as the current record of its tenant (the default policy if
// its tenant is "") and as its version in the history.
void PutPolicyRecord(rocksdb::ColumnFamilyHandle* meta,
                     const v1::RetentionPolicy& policy,
                     rocksdb::WriteBatch* batch) {
  const std::string bytes = policy.SerializeAsString();
  batch->Put(meta,
             policy.tenant().empty()
                 ? std::string(kDefaultPolicyKey)
                 : absl::StrCat(kPolicyPrefix, policy.tenant()),
             bytes);
  batch->Put(meta, HistoryKey(policy.tenant(), policy.version()), bytes);
}

std::string FormatTtl(absl::Duration ttl) {
  return ttl == absl::InfiniteDuration() ? "forever"
                                         : absl::FormatDuration(ttl);
}

absl::Status ValidateOptions(const Options& options) {
  const RetentionOptions& r = options.retention;
  if (options.clock == nullptr) {
    return absl::InvalidArgumentError("Options::clock is null");
  }
  if (r.min_ttl <= absl::ZeroDuration() ||
      r.min_ttl == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RetentionOptions::min_ttl must be positive and finite, got ",
        FormatTtl(r.min_ttl)));
  }
  if (r.max_ttl < r.min_ttl || r.max_ttl == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RetentionOptions::max_ttl must be finite and at least min_ttl (",
        FormatTtl(r.min_ttl), "), got ", FormatTtl(r.max_ttl)));
  }
  if (r.default_ttl == absl::InfiniteDuration()) {
    if (!r.allow_keep_forever) {
      return absl::InvalidArgumentError(
          "RetentionOptions::default_ttl is infinite but allow_keep_forever is "
          "false");
    }
  } else if (r.default_ttl < r.min_ttl || r.default_ttl > r.max_ttl) {
    return absl::InvalidArgumentError(
        absl::StrCat("RetentionOptions::default_ttl ", FormatTtl(r.default_ttl),
                     " is outside [min_ttl ", FormatTtl(r.min_ttl),
                     ", max_ttl ", FormatTtl(r.max_ttl), "]"));
  }
  if (r.max_clock_skew < absl::ZeroDuration() ||
      r.max_clock_skew > absl::Hours(24)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RetentionOptions::max_clock_skew must be within [0, 24h], got ",
        FormatTtl(r.max_clock_skew)));
  }
  if (options.max_message_bytes == 0 ||
      options.max_message_bytes > (64 << 20)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Options::max_message_bytes must be within [1, 64 MiB], got %d",
        options.max_message_bytes));
  }
  if (options.target_file_bytes < (64 << 10)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Options::target_file_bytes must be at least 64 KiB, got %d",
        options.target_file_bytes));
  }
  if (options.day_start.has_value() &&
      (*options.day_start < absl::ZeroDuration() ||
       *options.day_start >= absl::Hours(24) ||
       *options.day_start !=
           absl::Trunc(*options.day_start, absl::Seconds(1)))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Options::day_start must be a time of day: at least 0 and less than "
        "24h, in whole seconds; got ",
        absl::FormatDuration(*options.day_start)));
  }
  if (options.write_buffer_bytes < (64 << 10)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Options::write_buffer_bytes must be at least 64 KiB, got %d",
        options.write_buffer_bytes));
  }
  return absl::OkStatus();
}

// The store's day start, from the metadata (midnight if it has none).
absl::StatusOr<absl::Duration> ReadDayStart(rocksdb::DB* db,
                                            rocksdb::ColumnFamilyHandle* meta) {
  std::string value;
  const rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), meta, kDayStartKey, &value);
  if (s.IsNotFound()) return absl::ZeroDuration();
  EBB_RETURN_IF_ERROR(ToAbslStatus(s, "open: read day start"));
  const int64_t micros =
      value.size() == 8
          ? static_cast<int64_t>(absl::big_endian::Load64(value.data()))
          : -1;
  if (micros < 0 || micros >= internal::kMicrosPerDay) {
    return absl::DataLossError(
        "open: the store's day start record is undecodable");
  }
  return absl::Microseconds(micros);
}

// The audit record of `policy`'s rule for `category` as just set.
v1::AuditRecord PolicyChangeRecord(const v1::RetentionPolicy& policy,
                                   v1::DataCategory category, absl::Time now) {
  v1::AuditRecord record =
      NewAuditRecord(v1::AUDIT_POLICY_CHANGE, policy.tenant(), now);
  record.set_scope(v1::SCOPE_TENANT);
  record.set_category(category);
  record.set_policy_version(policy.version());
  for (const v1::RetentionRule& rule : policy.rules()) {
    if (rule.category() == category && rule.has_ttl()) {
      *record.mutable_ttl() = rule.ttl();
    }
  }
  return record;
}

TenantPolicy ToTenantPolicy(const PolicySnapshot& snapshot,
                            absl::string_view tenant) {
  TenantPolicy out;
  out.tenant = std::string(tenant);
  const v1::RetentionPolicy* own = snapshot.FindPolicy(tenant);
  out.is_default = own == nullptr;
  if (own != nullptr) {
    out.version = own->version();
    out.updated_at = internal::FromProtoTimestamp(own->updated_at())
                         .value_or(absl::InfinitePast());
  }
  for (v1::DataCategory category : internal::kStoredCategories) {
    const EffectiveRule rule = snapshot.RuleFor(tenant, category);
    out.rules.push_back({category, rule.ttl, rule.horizon, rule.from_default});
  }
  return out;
}

// A record version of a policy (for history), decoded on its own.
absl::StatusOr<TenantPolicy> PolicyRecordToTenantPolicy(
    const v1::RetentionPolicy& record) {
  TenantPolicy out;
  out.tenant = record.tenant();
  out.is_default = false;
  out.version = record.version();
  EBB_ASSIGN_OR_RETURN(out.updated_at,
                       internal::FromProtoTimestamp(record.updated_at()));
  for (v1::DataCategory category : internal::kStoredCategories) {
    EBB_ASSIGN_OR_RETURN(std::optional<EffectiveRule> rule,
                         internal::DecodeRule(record, category));
    if (rule.has_value()) {
      out.rules.push_back({category, rule->ttl, rule->horizon, false});
    }
  }
  return out;
}

}  // namespace

absl::Status Store::Impl::ValidateMessage(const v1::Message& m,
                                          const v1::Message* previous,
                                          absl::Time* created_at) const {
  // Consecutive messages of a batch mostly share their ids, and comparing an
  // id with one already checked is cheaper than checking it again.
  if (previous == nullptr || m.tenant() != previous->tenant()) {
    EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", m.tenant()));
  }
  if (previous == nullptr || m.user() != previous->user()) {
    EBB_RETURN_IF_ERROR(internal::ValidateId("user id", m.user()));
  }
  if (previous == nullptr || m.conversation() != previous->conversation()) {
    EBB_RETURN_IF_ERROR(
        internal::ValidateId("conversation id", m.conversation()));
  }
  if (m.role() == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(m.role())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "role %d is not one of user, assistant, agent, system", m.role()));
  }
  if (m.category() != v1::CATEGORY_UNSPECIFIED &&
      !internal::IsStoredCategory(m.category())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "category %d is not one of transcript, training_example, "
        "diagnostic_log",
        m.category()));
  }
  if (!m.has_created_at()) {
    return absl::InvalidArgumentError("created_at is missing");
  }
  absl::StatusOr<absl::Time> time =
      internal::FromProtoTimestamp(m.created_at());
  if (!time.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("created_at: ", time.status().message()));
  }
  *created_at = *time;
  EBB_RETURN_IF_ERROR(internal::ValidateUtf8("text", m.text()));
  for (const auto& [key, value] : m.metadata()) {
    EBB_RETURN_IF_ERROR(internal::ValidateUtf8("metadata key", key));
    EBB_RETURN_IF_ERROR(internal::ValidateUtf8("metadata value", value));
  }
  const size_t size = m.ByteSizeLong();
  if (size > options_.max_message_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "message is %d bytes; Options::max_message_bytes allows %d", size,
        options_.max_message_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<RetentionState::View> Store::Impl::EnsureTenants(
    const std::vector<absl::string_view>& tenants) {
  RetentionState::View view = state_->Observe();
  bool all_known = true;
  for (absl::string_view t : tenants) {
    all_known = all_known && view.snapshot->FindTenant(t).has_value();
  }
  if (all_known) return view;
  EBB_RETURN_IF_ERROR(
      state_->Update([&](const RetentionState::View& current)
                         -> absl::StatusOr<std::optional<PolicySnapshot>> {
        PolicySnapshot next = *current.snapshot;
        rocksdb::WriteBatch batch;
        bool added = false;
        for (absl::string_view t : tenants) {
          if (next.FindTenant(t).has_value()) continue;
          const TenantNumber number = next.NextTenantNumber();
          if (number == std::numeric_limits<TenantNumber>::max()) {
            return absl::ResourceExhaustedError("no tenant numbers left");
          }
          batch.Put(meta_cf(), absl::StrCat(kTenantPrefix, t),
                    store_internal::TenantKeyPrefix("", number));
          next = next.WithTenant(t, number);
          added = true;
        }
        if (!added) return std::nullopt;
        EBB_RETURN_IF_ERROR(
            ToAbslStatus(db_->Write(SyncWrite(), &batch), "register tenant"));
        return std::optional<PolicySnapshot>(std::move(next));
      }));
  return state_->Observe();
}

absl::Status Store::Impl::AppendBatch(absl::Span<const v1::Message> messages,
                                      bool single) {
  EBB_RETURN_IF_ERROR(CheckOpen("append"));
  auto where = [&](size_t i) {
    return single ? std::string("append: ")
                  : absl::StrFormat("append: message %d of %d: ", i,
                                    messages.size());
  };
  std::vector<absl::string_view> tenants;
  // Kept from validation: the write loop would otherwise reach into each
  // message's Timestamp a second time.
  std::vector<absl::Time> created(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    absl::Status valid = ValidateMessage(
        messages[i], i == 0 ? nullptr : &messages[i - 1], &created[i]);
    if (!valid.ok()) {
      return absl::Status(valid.code(),
                          absl::StrCat(where(i), valid.message()));
    }
    if (tenants.empty() || tenants.back() != messages[i].tenant()) {
      tenants.push_back(messages[i].tenant());
    }
  }
  // The batch's tenant stripes, shared, in ascending order (no deadlock
  // between two batches); exclusive holders are erasures and the like of
  // those tenants only.
  std::vector<absl::Mutex*> stripes;
  for (absl::string_view t : tenants) stripes.push_back(&TenantMutex(t));
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  struct SharedLocks {
    const std::vector<absl::Mutex*>& mutexes;
    explicit SharedLocks(const std::vector<absl::Mutex*>& m) : mutexes(m) {
      for (absl::Mutex* mu : mutexes) mu->ReaderLock();
    }
    ~SharedLocks() {
      for (auto it = mutexes.rbegin(); it != mutexes.rend(); ++it) {
        (*it)->ReaderUnlock();
      }
    }
  } guard(stripes);
  EBB_ASSIGN_OR_RETURN(RetentionState::View view, EnsureTenants(tenants));
  if (!view.snapshot->protections().empty()) {
    EBB_ASSIGN_OR_RETURN(view, ExtendUserHolds(messages, std::move(view)));
  }
  if (any_erasure_.load(std::memory_order_acquire)) {
    EBB_RETURN_IF_ERROR(CheckNotErased(messages, view, where));
  }
  const PolicySnapshot& snapshot = *view.snapshot;
  const absl::Time latest_allowed =
      view.now + options_.retention.max_clock_skew;

  rocksdb::WriteBatch batch;
  // The index writes the batch needs: each a conversation's two index entries
  // (ConversationBucketKey, UserConversationKey) for a bucket, whose value is
  // the bucket's bound (LatestCreatedAtIn), the same for every message of the
  // conversation in that bucket. So consecutive messages of one conversation
  // ask once, and writes this process already made are skipped
  // (IndexWriteCache); entries are built only for the rest.
  struct IndexWrite {
    internal::IndexWriteCache::Fingerprint fingerprint;
    TenantNumber tenant;
    // Views into `messages`, which outlive this function; `m` may be a copy.
    absl::string_view conversation, user;
    ExpiryBucket bucket;
    v1::DataCategory category;
    int64_t bound;
  };
  std::vector<IndexWrite> index_writes;
  std::string identity;
  // What the loop needs of each tenant, looked up once per batch: consecutive
  // messages of live traffic mostly belong to different tenants.
  struct TenantInBatch {
    TenantNumber number;
    CategoryCutoffs cutoffs;
    std::array<absl::Duration, internal::kCategorySlots> ttls;
  };
  absl::flat_hash_map<absl::string_view, TenantInBatch> tenants_in_batch;
  const TenantInBatch* tenant = nullptr;
  absl::string_view tenant_id;
  std::string value;
  for (size_t i = 0; i < messages.size(); ++i) {
    const v1::Message& original = messages[i];
    const absl::Time created_at = created[i];
    if (created_at > latest_allowed) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(i), "created_at ", absl::FormatTime(created_at),
                       " is more than max_clock_skew (",
                       absl::FormatDuration(options_.retention.max_clock_skew),
                       ") after now (", absl::FormatTime(view.now), ")"));
    }
    if (tenant == nullptr || original.tenant() != tenant_id) {
      tenant_id = original.tenant();
      auto [it, inserted] = tenants_in_batch.try_emplace(tenant_id);
      if (inserted) {
        it->second.number = *snapshot.FindTenant(tenant_id);
        it->second.cutoffs = snapshot.CutoffsFor(tenant_id, view.now);
        for (v1::DataCategory category : internal::kStoredCategories) {
          it->second.ttls[category] = snapshot.RuleFor(tenant_id, category).ttl;
        }
      }
      tenant = &it->second;
    }
    // Normalise only when needed: copying every message would cost a text copy.
    std::optional<v1::Message> normalised;
    const int64_t micros = internal::ToMicrosFloor(created_at);
    if (original.category() == v1::CATEGORY_UNSPECIFIED ||
        original.created_at().nanos() % 1000 != 0) {
      normalised = original;
      if (normalised->category() == v1::CATEGORY_UNSPECIFIED) {
        normalised->set_category(v1::CATEGORY_TRANSCRIPT);
      }
      *normalised->mutable_created_at() =
          internal::ToProtoTimestamp(absl::FromUnixMicros(micros));
    }
    const v1::Message& m = normalised.has_value() ? *normalised : original;
    if (internal::IsExpired(tenant->cutoffs, {m.category(), micros})) {
      return absl::FailedPreconditionError(absl::StrCat(
          where(i), "message ", m.seq(), " of conversation \"",
          m.conversation(), "\" created at ", absl::FormatTime(created_at),
          " has already expired under tenant \"", m.tenant(), "\"'s policy"));
    }
    const absl::Duration ttl = tenant->ttls[m.category()];
    const ExpiryBucket bucket =
        internal::ExpiryBucketFor(created_at, ttl, day_start_);

    internal::EncodeMessageRecord(m, &value);
    batch.Put(
        messages_cf(),
        internal::MessageKey(bucket, tenant->number, m.conversation(), m.seq()),
        value);

    const int64_t bound =
        std::max(micros, internal::ToMicrosFloor(internal::LatestCreatedAtIn(
                             bucket, ttl, day_start_)));
    if (!index_writes.empty()) {
      const IndexWrite& last = index_writes.back();
      if (last.tenant == tenant->number &&
          last.conversation == m.conversation() && last.user == m.user() &&
          last.bucket == bucket && last.category == m.category() &&
          last.bound == bound) {
        continue;
      }
    }
    // The identity: every field the two entries are made of, NUL-terminated
    // ids (ids hold no NUL) and fixed-width numbers, so no two writes share
    // one.
    identity.clear();
    identity.append(reinterpret_cast<const char*>(&tenant->number),
                    sizeof(TenantNumber));
    identity.append(m.conversation());
    identity.push_back('\0');
    identity.append(m.user());
    identity.push_back('\0');
    identity.append(reinterpret_cast<const char*>(&bucket), sizeof(bucket));
    identity.push_back(static_cast<char>(m.category()));
    identity.append(reinterpret_cast<const char*>(&bound), sizeof(bound));
    index_writes.push_back({internal::IndexWriteCache::FingerprintOf(identity),
                            tenant->number, original.conversation(),
                            original.user(), bucket, m.category(), bound});
  }
  // One write per identity, then only those not made before.
  std::sort(index_writes.begin(), index_writes.end(),
            [](const IndexWrite& a, const IndexWrite& b) {
              return a.fingerprint < b.fingerprint;
            });
  index_writes.erase(std::unique(index_writes.begin(), index_writes.end(),
                                 [](const IndexWrite& a, const IndexWrite& b) {
                                   return a.fingerprint == b.fingerprint;
                                 }),
                     index_writes.end());
  std::vector<internal::IndexWriteCache::Fingerprint> fingerprints;
  fingerprints.reserve(index_writes.size());
  for (const IndexWrite& w : index_writes)
    fingerprints.push_back(w.fingerprint);
  const std::vector<bool> written = index_cache_.Written(fingerprints);
  size_t kept = 0;
  for (size_t i = 0; i < index_writes.size(); ++i) {
    if (!written[i]) index_writes[kept++] = index_writes[i];
  }
  index_writes.resize(kept);
  // Each entry is its key followed by its value; sorted, so that RocksDB
  // inserts them into the memtable in order.
  std::vector<std::string> index_entries;
  index_entries.reserve(2 * index_writes.size());
  for (const IndexWrite& w : index_writes) {
    for (std::string entry :
         {internal::ConversationBucketKey(w.tenant, w.conversation, w.bucket,
                                          w.category),
          internal::UserConversationKey(w.tenant, w.user, w.conversation,
                                        w.bucket, w.category)}) {
      internal::AppendRecordHeader({w.category, w.bound}, &entry);
      index_entries.push_back(std::move(entry));
    }
  }
  std::sort(index_entries.begin(), index_entries.end());
  index_entries.erase(std::unique(index_entries.begin(), index_entries.end()),
                      index_entries.end());
  for (const std::string& entry : index_entries) {
    const absl::string_view bytes(entry);
    const size_t key_size = bytes.size() - internal::kRecordHeaderSize;
    batch.Merge(
        index_cf(), rocksdb::Slice(bytes.data(), key_size),
        rocksdb::Slice(bytes.data() + key_size, internal::kRecordHeaderSize));
  }
  EBB_RETURN_IF_ERROR(
      ToAbslStatus(db_->Write(write_options_, &batch), "append: write"));
  fingerprints.clear();
  for (const IndexWrite& w : index_writes) {
    fingerprints.push_back(w.fingerprint);
    // Now that the entries are visible, tell the read cache (bucket_cache.h).
    bucket_cache_.Added(w.tenant, w.conversation,
                        {w.bucket, RecordHeader{w.category, w.bound}});
  }
  index_cache_.MarkWritten(fingerprints);
  return absl::OkStatus();
}

template <typename Visit>
absl::StatusOr<size_t> Store::Impl::VisitConversation(
    absl::string_view tenant, absl::string_view conversation,
    absl::string_view operation, uint64_t* undecodable, Visit&& visit) {
  EBB_RETURN_IF_ERROR(CheckOpen(operation));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  EBB_RETURN_IF_ERROR(internal::ValidateId("conversation id", conversation));
  const RetentionState::View view = state_->Observe();
  const std::optional<TenantNumber> number = view.snapshot->FindTenant(tenant);
  if (!number.has_value()) return 0;
  const CategoryCutoffs cutoffs = view.snapshot->CutoffsFor(tenant, view.now);
  // Restricted users and erasures pending under a hold hide messages.
  const internal::TenantProtections* protections =
      view.snapshot->protections().Find(*number);
  if (protections != nullptr && !protections->HidesAnything()) {
    protections = nullptr;
  }

  // Which buckets hold this conversation: from the cache, or from the index
  // (then cached). An entry whose bound has expired needs no visit; one whose
  // header we cannot decode is visited anyway (bound "forever"), since each
  // message carries its own header.
  std::vector<internal::BucketCache::Entry> entries;
  if (!bucket_cache_.Lookup(*number, conversation, &entries)) {
    const uint64_t epoch = bucket_cache_.Epoch(*number, conversation);
    const std::string prefix =
        internal::ConversationBucketsPrefix(*number, conversation);
    EBB_RETURN_IF_ERROR(ScanPrefix(
        index_cf(), prefix, absl::StrCat(operation, ": index"),
        [&](absl::string_view key, absl::string_view value) {
          auto parts = internal::ParseConversationBucketKey(key, prefix.size());
          if (!parts.has_value()) return;
          entries.push_back(
              {parts->bucket,
               internal::DecodeRecordHeader(value).value_or(RecordHeader{
                   parts->category, std::numeric_limits<int64_t>::max()})});
        }));
    bucket_cache_.Fill(*number, conversation, epoch, entries);
  }
  std::vector<ExpiryBucket> buckets;
  for (const internal::BucketCache::Entry& entry : entries) {
    if (internal::IsExpired(cutoffs, entry.header)) continue;
    if (buckets.empty() || buckets.back() != entry.bucket) {
      buckets.push_back(entry.bucket);
    }
  }
  const std::string messages_operation = absl::StrCat(operation, ": messages");
  for (ExpiryBucket bucket : buckets) {
    EBB_RETURN_IF_ERROR(ScanLiveMessages(
        *number, conversation, bucket, cutoffs, messages_operation, undecodable,
        [&](absl::string_view key, absl::string_view value,
            const RecordHeader& header) {
          // The key ends in the seq (key_codec.h).
          const uint64_t seq = absl::big_endian::Load64(
              key.data() + key.size() - sizeof(uint64_t));
          visit(seq, value, header, protections);
        }));
  }
  return buckets.size();
}

namespace {

// Puts messages read from several buckets, each bucket's in seq order, in seq
// order. Buckets were visited in ascending order, so after a stable sort the
// first of two versions of one seq is the one with the earlier expiry day,
// which is the one kept.
template <typename T, typename SeqOf>
void MergeBuckets(size_t buckets, SeqOf seq_of, std::vector<T>* out) {
  if (buckets <= 1) return;
  std::stable_sort(out->begin(), out->end(), [&](const T& a, const T& b) {
    return seq_of(a) < seq_of(b);
  });
  out->erase(std::unique(out->begin(), out->end(),
                         [&](const T& a, const T& b) {
                           return seq_of(a) == seq_of(b);
                         }),
             out->end());
}

}  // namespace

absl::StatusOr<std::vector<v1::Message>> Store::Impl::ReadConversation(
    absl::string_view tenant, absl::string_view conversation) {
  std::vector<v1::Message> out;
  out.reserve(32);
  uint64_t undecodable = 0;
  absl::StatusOr<size_t> buckets = VisitConversation(
      tenant, conversation, "read conversation", &undecodable,
      [&](uint64_t, absl::string_view value, const RecordHeader& header,
          const internal::TenantProtections* protections) {
        absl::StatusOr<v1::Message> message =
            internal::DecodeMessageRecord(value);
        if (!message.ok()) {
          ++undecodable;
          return;
        }
        if (protections != nullptr &&
            protections->HidesMessage(conversation, message->user(),
                                      header.created_at_micros)) {
          return;
        }
        out.push_back(*std::move(message));
      });
  CountUndecodable(undecodable);
  if (!buckets.ok()) return buckets.status();
  MergeBuckets(
      *buckets, [](const v1::Message& m) { return m.seq(); }, &out);
  return out;
}

absl::StatusOr<std::vector<std::string>>
Store::Impl::ReadConversationSerialized(absl::string_view tenant,
                                        absl::string_view conversation) {
  struct Serialized {
    uint64_t seq;
    std::string bytes;
  };
  std::vector<Serialized> read;
  read.reserve(32);
  uint64_t undecodable = 0;
  absl::StatusOr<size_t> buckets = VisitConversation(
      tenant, conversation, "read conversation", &undecodable,
      [&](uint64_t seq, absl::string_view value, const RecordHeader& header,
          const internal::TenantProtections* protections) {
        // Only a tenant with restricted users or held erasures makes a read
        // look at the message's user, and so parse it.
        if (protections != nullptr) {
          absl::StatusOr<v1::Message> message =
              internal::DecodeMessageRecord(value);
          if (!message.ok()) {
            ++undecodable;
            return;
          }
          if (protections->HidesMessage(conversation, message->user(),
                                        header.created_at_micros)) {
            return;
          }
        }
        read.push_back(
            {seq, std::string(value.substr(internal::kRecordHeaderSize))});
      });
  CountUndecodable(undecodable);
  if (!buckets.ok()) return buckets.status();
  MergeBuckets(
      *buckets, [](const Serialized& s) { return s.seq; }, &read);
  std::vector<std::string> out;
  out.reserve(read.size());
  for (Serialized& s : read) out.push_back(std::move(s.bytes));
  return out;
}

absl::StatusOr<std::vector<ConversationInfo>> Store::Impl::ListConversations(
    absl::string_view tenant, absl::string_view user) {
  EBB_RETURN_IF_ERROR(CheckOpen("list conversations"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  EBB_RETURN_IF_ERROR(internal::ValidateId("user id", user));
  const RetentionState::View view = state_->Observe();
  std::vector<ConversationInfo> out;
  const std::optional<TenantNumber> number = view.snapshot->FindTenant(tenant);
  if (!number.has_value()) return out;
  const CategoryCutoffs cutoffs = view.snapshot->CutoffsFor(tenant, view.now);
  const internal::TenantProtections* protections =
      view.snapshot->protections().Find(*number);
  if (protections != nullptr && protections->HidesUser(user)) return out;
  if (protections != nullptr && !protections->HidesAnything()) {
    protections = nullptr;
  }
  const std::string prefix = internal::UserConversationsPrefix(*number, user);
  // Index entries carry an upper bound on their messages' created_at, not the
  // newest one, so an entry that has not expired may still cover only expired
  // messages: each candidate bucket is confirmed against its messages, which
  // also gives last_message_at exactly.
  struct Candidate {
    std::string conversation;
    ExpiryBucket bucket;
  };
  std::vector<Candidate> candidates;
  uint64_t undecodable = 0;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      index_cf(), prefix, "list conversations: index",
      [&](absl::string_view key, absl::string_view value) {
        auto parts = internal::ParseUserConversationKey(key, prefix.size());
        std::optional<RecordHeader> header =
            internal::DecodeRecordHeader(value);
        if (!parts.has_value() || !header.has_value()) {
          ++undecodable;
          return;
        }
        if (internal::IsExpired(cutoffs, *header)) return;
        // Sorted by conversation, bucket, category: skip repeats.
        if (!candidates.empty() &&
            candidates.back().conversation == parts->conversation &&
            candidates.back().bucket == parts->bucket) {
          return;
        }
        candidates.push_back({std::string(parts->conversation), parts->bucket});
      }));
  for (const Candidate& candidate : candidates) {
    std::optional<absl::Time> last;
    EBB_RETURN_IF_ERROR(ScanLiveMessages(
        *number, candidate.conversation, candidate.bucket, cutoffs,
        "list conversations: messages", &undecodable,
        [&](absl::string_view, absl::string_view, const RecordHeader& header) {
          if (protections != nullptr &&
              protections->HidesMessage(candidate.conversation, user,
                                        header.created_at_micros)) {
            return;
          }
          const absl::Time created_at =
              absl::FromUnixMicros(header.created_at_micros);
          last = last.has_value() ? std::max(*last, created_at) : created_at;
        }));
    if (!last.has_value()) continue;
    if (!out.empty() && out.back().conversation == candidate.conversation) {
      out.back().last_message_at = std::max(out.back().last_message_at, *last);
    } else {
      out.push_back({candidate.conversation, *last});
    }
  }
  CountUndecodable(undecodable);
  return out;
}

absl::StatusOr<TenantPolicy> Store::Impl::SetPolicy(absl::string_view tenant,
                                                    v1::DataCategory category,
                                                    absl::Duration ttl) {
  EBB_RETURN_IF_ERROR(CheckOpen("set policy"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  if (!internal::IsStoredCategory(category)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "set policy: category %d is not one of transcript, training_example, "
        "diagnostic_log",
        category));
  }
  const RetentionOptions& bounds = options_.retention;
  if (ttl == absl::InfiniteDuration()) {
    if (!bounds.allow_keep_forever) {
      return absl::InvalidArgumentError(
          "set policy: keeping data forever is not allowed by the operator "
          "(RetentionOptions::allow_keep_forever is false)");
    }
  } else if (ttl < bounds.min_ttl) {
    return absl::InvalidArgumentError(absl::StrCat(
        "set policy: TTL ", FormatTtl(ttl), " is below the operator's minimum ",
        FormatTtl(bounds.min_ttl), " (RetentionOptions::min_ttl)"));
  } else if (ttl > bounds.max_ttl) {
    return absl::InvalidArgumentError(absl::StrCat(
        "set policy: TTL ", FormatTtl(ttl), " is above the operator's maximum ",
        FormatTtl(bounds.max_ttl), " (RetentionOptions::max_ttl)"));
  }
  TenantPolicy result;
  EBB_RETURN_IF_ERROR(
      state_->Update([&](const RetentionState::View& view)
                         -> absl::StatusOr<std::optional<PolicySnapshot>> {
        PolicySnapshot next = *view.snapshot;
        rocksdb::WriteBatch batch;
        if (!next.FindTenant(tenant).has_value()) {
          const TenantNumber number = next.NextTenantNumber();
          batch.Put(meta_cf(), absl::StrCat(kTenantPrefix, tenant),
                    store_internal::TenantKeyPrefix("", number));
          next = next.WithTenant(tenant, number);
        }
        v1::RetentionPolicy current;
        current.set_tenant(std::string(tenant));
        if (const v1::RetentionPolicy* own = next.FindPolicy(tenant)) {
          current = *own;
          EBB_ASSIGN_OR_RETURN(absl::Time updated_at,
                               internal::FromProtoTimestamp(own->updated_at()));
          if (view.now < updated_at) {
            return absl::FailedPreconditionError(absl::StrCat(
                "set policy: the clock (", absl::FormatTime(view.now),
                ") is earlier than tenant \"", tenant,
                "\"'s last policy change (", absl::FormatTime(updated_at),
                ")"));
          }
        }
        const v1::RetentionPolicy changed = internal::ApplyTtlChange(
            std::move(current), category, next.RuleFor(tenant, category), ttl,
            view.now);
        PutPolicyRecord(meta_cf(), changed, &batch);
        std::vector<v1::AuditRecord> audit = {
            PolicyChangeRecord(changed, category, view.now)};
        EBB_RETURN_IF_ERROR(WriteAudited(&batch, &audit, "set policy"));
        EBB_ASSIGN_OR_RETURN(next, next.WithPolicy(changed));
        result = ToTenantPolicy(next, tenant);
        return std::optional<PolicySnapshot>(std::move(next));
      }));
  return result;
}

absl::Status Store::Impl::ReconcileDefaultPolicy() {
  const absl::Duration wanted = options_.retention.default_ttl;
  return state_->Update([&](const RetentionState::View& view)
                            -> absl::StatusOr<std::optional<PolicySnapshot>> {
    v1::RetentionPolicy defaults = view.snapshot->defaults();
    bool changed = false;
    for (v1::DataCategory category : internal::kStoredCategories) {
      const EffectiveRule in_force = view.snapshot->RuleFor("", category);
      if (in_force.ttl == wanted) continue;
      defaults = internal::ApplyTtlChange(std::move(defaults), category,
                                          in_force, wanted, view.now);
      changed = true;
    }
    if (!changed) return std::nullopt;
    // One version per reconciliation, not one per category.
    defaults.set_version(view.snapshot->defaults().version() + 1);
    rocksdb::WriteBatch batch;
    PutPolicyRecord(meta_cf(), defaults, &batch);
    std::vector<v1::AuditRecord> audit;
    for (v1::DataCategory category : internal::kStoredCategories) {
      audit.push_back(PolicyChangeRecord(defaults, category, view.now));
    }
    EBB_RETURN_IF_ERROR(
        WriteAudited(&batch, &audit, "open: update default policy"));
    EBB_ASSIGN_OR_RETURN(PolicySnapshot next,
                         view.snapshot->WithPolicy(defaults));
    return std::optional<PolicySnapshot>(std::move(next));
  });
}

absl::StatusOr<std::vector<TenantPolicy>> Store::Impl::PolicyHistory(
    absl::string_view tenant) {
  EBB_RETURN_IF_ERROR(CheckOpen("policy history"));
  if (!tenant.empty()) {
    EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  }
  std::string prefix = absl::StrCat(kHistoryPrefix, tenant);
  prefix.push_back('\0');
  std::vector<TenantPolicy> out;
  absl::Status decode_status;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      meta_cf(), prefix, "policy history",
      [&](absl::string_view, absl::string_view value) {
        if (!decode_status.ok()) return;
        v1::RetentionPolicy record;
        if (!record.ParseFromArray(value.data(),
                                   static_cast<int>(value.size()))) {
          decode_status = absl::DataLossError(absl::StrCat(
              "policy history of \"", tenant, "\": undecodable record"));
          return;
        }
        absl::StatusOr<TenantPolicy> policy =
            PolicyRecordToTenantPolicy(record);
        if (!policy.ok()) {
          decode_status = policy.status();
          return;
        }
        out.push_back(*std::move(policy));
      }));
  EBB_RETURN_IF_ERROR(decode_status);
  return out;
}

absl::StatusOr<StoreStats> Store::Impl::Stats() {
  EBB_RETURN_IF_ERROR(CheckOpen("stats"));
  const RetentionState::View view = state_->Observe();
  const internal::ExpiryCutoffs cutoffs = view.snapshot->CutoffsAt(view.now);
  StoreStats stats;
  stats.now = view.now;
  stats.day_start = day_start_;

  struct Counts {
    uint64_t live = 0, expired = 0, undecodable = 0, live_bytes = 0,
             expired_bytes = 0;
  };
  auto scan = [&](rocksdb::ColumnFamilyHandle* cf, size_t tenant_offset,
                  Counts* counts) -> absl::Status {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const uint64_t bytes = it->key().size() + it->value().size();
      switch (internal::ClassifyRecord(cutoffs, View(it->key()), tenant_offset,
                                       View(it->value()))) {
        case internal::RecordState::kUndecodable:
          ++counts->undecodable;
          break;
        case internal::RecordState::kExpired:
          ++counts->expired;
          counts->expired_bytes += bytes;
          break;
        case internal::RecordState::kLive:
          ++counts->live;
          counts->live_bytes += bytes;
          break;
      }
    }
    return ToAbslStatus(it->status(), "stats: scan");
  };
  Counts messages_counts, index_counts;
  EBB_RETURN_IF_ERROR(
      scan(messages_cf(), internal::kMessageKeyTenantOffset, &messages_counts));
  EBB_RETURN_IF_ERROR(
      scan(index_cf(), internal::kIndexKeyTenantOffset, &index_counts));
  stats.messages_live = messages_counts.live;
  stats.messages_expired = messages_counts.expired;
  stats.messages_undecodable = messages_counts.undecodable;
  stats.message_bytes_live = messages_counts.live_bytes;
  stats.message_bytes_expired = messages_counts.expired_bytes;
  stats.index_entries_live = index_counts.live;
  stats.index_entries_expired = index_counts.expired;
  stats.index_entries_undecodable = index_counts.undecodable;

  EBB_RETURN_IF_ERROR(ScanPrefix(
      meta_cf(), kTenantPrefix, "stats: tenants",
      [&](absl::string_view, absl::string_view) { ++stats.tenants; }));
  stats.policies = view.snapshot->TenantsWithPolicy().size();
  stats.filter_dropped_expired = message_counters_->dropped_expired.load() +
                                 index_counters_->dropped_expired.load();
  stats.filter_kept_undecodable = message_counters_->kept_undecodable.load() +
                                  index_counters_->kept_undecodable.load();
  stats.reads_skipped_undecodable = reads_skipped_undecodable_.load();
  for (rocksdb::ColumnFamilyHandle* cf : handles_) {
    rocksdb::ColumnFamilyMetaData metadata;
    db_->GetColumnFamilyMetaData(cf, &metadata);
    stats.sst_files += metadata.file_count;
    stats.sst_bytes += metadata.size;
  }
  return stats;
}

absl::Status Store::Impl::CompactAll() {
  EBB_RETURN_IF_ERROR(CheckOpen("compact"));
  EBB_RETURN_IF_ERROR(ExpireDue().status());
  rocksdb::CompactRangeOptions compact;
  // kForce, not kForceOptimized: the latter silently skips files in RocksDB 7.8
  // (shared/notes/rocksdb-purge-facts.md).
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  // A full compaction covers every range in the purge worklist: clear it
  // (it names conversations and users) before compacting the metadata.
  absl::MutexLock no_purge(&purge_mu_);
  // As in Purge: no compaction with a filter from before ExpireDue may
  // install its output after the one below.
  EBB_RETURN_IF_ERROR(HoldOffCompactions());
  absl::Status compacted = WaitForRunningCompactions(absl::InfiniteFuture());
  for (rocksdb::ColumnFamilyHandle* cf : {messages_cf(), index_cf()}) {
    if (!compacted.ok()) break;
    compacted = ToAbslStatus(db_->CompactRange(compact, cf, nullptr, nullptr),
                             "compact");
  }
  const absl::Status resumed = ResumeCompactions();
  EBB_RETURN_IF_ERROR(compacted);
  EBB_RETURN_IF_ERROR(resumed);
  rocksdb::WriteBatch done;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      deletable_cf(), store_internal::kPurgePrefix, "compact: worklist",
      [&](absl::string_view key, absl::string_view) {
        done.Delete(deletable_cf(), rocksdb::Slice(key.data(), key.size()));
      }));
  GuardDeletable(&done);
  EBB_RETURN_IF_ERROR(
      ToAbslStatus(db_->Write(SyncWrite(), &done), "compact: worklist"));
  // The metadata too: deleted holds, restrictions, pending erasures and
  // worklist entries name users, and only a bottommost compaction drops their
  // old values and tombstones.
  for (rocksdb::ColumnFamilyHandle* cf : {deletable_cf(), meta_cf()}) {
    EBB_RETURN_IF_ERROR(ToAbslStatus(
        db_->CompactRange(compact, cf, nullptr, nullptr), "compact"));
  }
  // A WAL file is kept until every column family with data in it has flushed;
  // flushing the metadata too lets RocksDB delete WAL files that still hold
  // copies of the expired messages just compacted away.
  EBB_RETURN_IF_ERROR(ToAbslStatus(
      db_->Flush(rocksdb::FlushOptions(), handles_), "compact: flush"));
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Open

namespace {

// True if none of `handles`' column families of `db` holds a key.
absl::StatusOr<bool> HoldsNoKey(
    rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  for (rocksdb::ColumnFamilyHandle* cf : handles) {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), cf));
    it->SeekToFirst();
    EBB_RETURN_IF_ERROR(ToAbslStatus(it->status(), "open: check for data"));
    if (it->Valid()) return false;
  }
  return true;
}

// True if the database at `path` (with column families `families`) holds no
// key, checked read-only.
absl::StatusOr<bool> HoldsNothingReadOnly(
    const std::string& path, const std::vector<std::string>& families,
    rocksdb::Env* env) {
  rocksdb::DBOptions options;
  options.env = env;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : families) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  EBB_RETURN_IF_ERROR(ToAbslStatus(
      rocksdb::DB::OpenForReadOnly(options, path, descriptors, &handles, &raw),
      absl::StrCat("open: inspect \"", path, "\"")));
  std::unique_ptr<rocksdb::DB> db(raw);
  absl::StatusOr<bool> empty = HoldsNoKey(db.get(), handles);
  for (rocksdb::ColumnFamilyHandle* cf : handles) {
    db->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
  }
  return empty;
}

}  // namespace

absl::StatusOr<bool> Store::Impl::HoldsNothing() {
  return HoldsNoKey(db_.get(), handles_);
}

absl::Status Store::Impl::MoveDeletableMetadata(bool upgrade) {
  // Written with the move, deleted once the old copies are compacted away:
  // a crash in between finishes the job at the next Open.
  constexpr char kCompactionDueKey[] = "deletable-moved";
  rocksdb::WriteBatch batch;
  for (const char* prefix : store_internal::kDeletablePrefixes) {
    EBB_RETURN_IF_ERROR(
        ScanPrefix(meta_cf(), prefix, "open: move deletable metadata",
                   [&](absl::string_view key, absl::string_view value) {
                     const rocksdb::Slice k(key.data(), key.size());
                     batch.Put(deletable_cf(), k,
                               rocksdb::Slice(value.data(), value.size()));
                     batch.Delete(meta_cf(), k);
                   }));
  }
  if (upgrade || batch.Count() > 0) {
    batch.Put(meta_cf(), kCompactionDueKey, "");
    GuardDeletable(&batch);
    // The tombstones left in "default" become the first and last keys of
    // the files that hold them on their way down, in the MANIFEST until it
    // is rewritten at the next Open: guard those files too.
    Guard(meta_cf(), &batch);
    EBB_RETURN_IF_ERROR(ToAbslStatus(db_->Write(SyncWrite(), &batch),
                                     "open: move deletable metadata"));
  }
  std::string due;
  const rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), meta_cf(), kCompactionDueKey, &due);
  if (s.IsNotFound()) return absl::OkStatus();
  EBB_RETURN_IF_ERROR(ToAbslStatus(s, "open: move deletable metadata"));
  // The old copies, and the tombstones of records deleted before, name users
  // until a bottommost compaction drops them; the purge no longer compacts
  // "default", so this is their one.
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  for (const char* prefix : store_internal::kDeletablePrefixes) {
    const std::string end = internal::PrefixSuccessor(prefix);
    const rocksdb::Slice begin_slice(prefix), end_slice(end);
    EBB_RETURN_IF_ERROR(ToAbslStatus(
        db_->CompactRange(compact, meta_cf(), &begin_slice, &end_slice),
        "open: compact moved metadata"));
  }
  return ToAbslStatus(db_->Delete(SyncWrite(), meta_cf(), kCompactionDueKey),
                      "open: move deletable metadata");
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const Options& options,
                                                   const std::string& path) {
  return OpenWithEnv(options, path, rocksdb::Env::Default());
}

absl::StatusOr<std::unique_ptr<Store>> Store::OpenWithEnv(
    const Options& options, const std::string& path, rocksdb::Env* env) {
  EBB_RETURN_IF_ERROR(ValidateOptions(options));
  std::error_code ec;
  bool creation_cut_short = false;
  bool upgrade = false;
  const bool exists =
      std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec);
  if (!exists && !options.create_if_missing) {
    return absl::NotFoundError(absl::StrCat("open: no ebb store at \"", path,
                                            "\" (create_if_missing is false)"));
  }
  if (exists) {
    std::vector<std::string> families;
    rocksdb::DBOptions list_options;
    list_options.env = env;
    EBB_RETURN_IF_ERROR(ToAbslStatus(
        rocksdb::DB::ListColumnFamilies(list_options, path, &families),
        "open: list column families"));
    std::sort(families.begin(), families.end());
    const std::vector<std::string> expected = {"default", kDeletableCf,
                                               kIndexCf, kMessagesCf};
    // A store written before the "deletable" column family: Open creates it
    // and moves those records there.
    const std::vector<std::string> before_deletable = {"default", kIndexCf,
                                                       kMessagesCf};
    upgrade = families == before_deletable;
    if (families != expected && !upgrade) {
      // Only some of ebb's own: a creation cut short before every column
      // family was made. Confirmed below (no format marker, no data).
      creation_cut_short = std::includes(expected.begin(), expected.end(),
                                         families.begin(), families.end());
      if (creation_cut_short) {
        // Look before creating anything: a plain RocksDB database with data
        // in "default" is somebody else's and must be left untouched.
        EBB_ASSIGN_OR_RETURN(creation_cut_short,
                             HoldsNothingReadOnly(path, families, env));
      }
      if (!creation_cut_short) {
        return absl::FailedPreconditionError(absl::StrCat(
            "open: \"", path,
            "\" holds a RocksDB database that is not an ebb store (column "
            "families differ)"));
      }
    }
  }

  // The filters need the policy state, which is loaded from the DB they are
  // installed in: they start with an empty placeholder, replaced below before
  // anything can compact (nothing is written until Open returns).
  v1::RetentionPolicy bootstrap_defaults;
  for (v1::DataCategory category : internal::kStoredCategories) {
    v1::RetentionRule* rule = bootstrap_defaults.add_rules();
    rule->set_category(category);
    rule->mutable_keep_forever();
  }
  EBB_ASSIGN_OR_RETURN(PolicySnapshot bootstrap,
                       PolicySnapshot::Build(bootstrap_defaults, {}, {}));
  auto state =
      std::make_shared<RetentionState>(options.clock, std::move(bootstrap));
  auto message_counters = std::make_shared<internal::FilterCounters>();
  auto index_counters = std::make_shared<internal::FilterCounters>();

  // The purge drops thousands of files at once on a large backlog, and RocksDB
  // unlinks them one after the other; this file system lets the purge have
  // them unlinked on eight threads (internal/parallel_delete_fs.h). The
  // threads mostly wait for the device (a file system mounted with discard):
  // 2 881 files of 300 KB took 0.32-0.39 s on four, 0.27-0.35 s on eight
  // and 0.25-0.33 s on sixteen (bench/README.md).
  auto file_system = std::make_shared<internal::ParallelDeleteFileSystem>(
      env->GetFileSystem(), /*threads=*/8);
  std::unique_ptr<rocksdb::Env> store_env =
      rocksdb::NewCompositeEnv(file_system);
  rocksdb::DBOptions db_options;
  db_options.env = store_env.get();
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families =
      !exists || creation_cut_short || upgrade;
  db_options.max_background_jobs = store_internal::kBackgroundJobs;
  db_options.keep_log_file_num = 5;
  // Debian builds librocksdb without NDEBUG, so DBOptions' default log level
  // is DEBUG: two LOG lines per deleted file, one per flush and compaction
  // step. A backlog purge that drops 2 881 files wrote 4 200 DEBUG lines,
  // formatted on the thread that hands the files to the unlink threads.
  db_options.info_log_level = rocksdb::InfoLogLevel::INFO_LEVEL;
  // A WAL file is deleted only once every column family with data in it has
  // flushed, and the index and metadata memtables fill far more slowly than
  // the messages one. RocksDB's default bound (4x all write buffers, 1.5 GB
  // here) let WAL files pile up until the kernel had to write them to disk,
  // where a single column family's WAL is deleted while still in page cache:
  // appends spent 4x as long in the WAL write() (bench_ingest, perf). Past
  // two messages memtables' worth, RocksDB flushes the column families that
  // hold the oldest WAL back. Fewer WAL bytes also means less to replay on
  // open and fewer files that can still hold purged messages.
  db_options.max_total_wal_size = 2 * options.write_buffer_bytes;
  // Purge reports what its compactions wrote, and may slow them down.
  auto compaction_bytes = std::make_shared<CompactionBytesListener>();
  db_options.listeners.push_back(compaction_bytes);
  // After a background I/O error (a full disk, a failed flush or MANIFEST
  // write) the store stays read-only, every write returning the error, and
  // deletes no files, until it is reopened (BackgroundErrorGuard). RocksDB
  // would otherwise resume by itself, and Debian's RocksDB 7.8.3 aborts on an
  // assertion in DBImpl::ResumeImpl when it resumes after a failed MANIFEST
  // write (tests/fault_injection_test.cc, full disk).
  auto error_guard = std::make_shared<BackgroundErrorGuard>();
  db_options.listeners.push_back(error_guard);
  db_options.max_bgerror_resume_count = 0;
  std::shared_ptr<rocksdb::RateLimiter> rate_limiter(
      rocksdb::NewGenericRateLimiter(store_internal::kUnlimitedBytesPerSecond));
  db_options.rate_limiter = rate_limiter;

  rocksdb::ColumnFamilyOptions meta_options;
  // Appends look up erasure markers here once a store has any: most lookups
  // miss, and a Bloom filter answers those without reading blocks.
  rocksdb::BlockBasedTableOptions meta_table;
  meta_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  meta_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(meta_table));
  rocksdb::ColumnFamilyOptions message_options;
  // Messages leave by expiry only once ExpireDue has audited it.
  message_options.compaction_filter_factory =
      std::make_shared<internal::RetentionFilterFactory>(
          state, internal::kMessageKeyTenantOffset, message_counters,
          internal::RetentionFilterFactory::Drop::kExpiredAndAudited);
  // Cut files where the expiry day changes, so a day that has passed can be
  // dropped as whole files, and between tenants once a file is big enough,
  // so one tenant's early expiry or erasure rewrites a few tenants' data.
  message_options.sst_partitioner_factory =
      internal::NewMessagePartitionerFactory(options.tenant_cut_file_bytes);
  message_options.target_file_size_base = options.target_file_bytes;
  message_options.write_buffer_size = options.write_buffer_bytes;
  // Complete keys only: see insert_hint.h for why, and the RocksDB bug it
  // avoids.
  message_options.memtable_insert_with_hint_prefix_extractor =
      internal::NewMessageInsertHint();
  // Every file counts its messages per tenant, category and creation day, so
  // ExpireDue can audit a wholly expired day without reading it. In the
  // store's days, which are known only once the metadata is read below: until
  // then, a flush during recovery counts in the days asked for (or midnight's),
  // and its files are not counted from if the store's days differ.
  auto day_start_micros =
      std::make_shared<std::atomic<int64_t>>(absl::ToInt64Microseconds(
          options.day_start.value_or(absl::ZeroDuration())));
  message_options.table_properties_collector_factories.push_back(
      internal::NewExpiryFileStatsCollectorFactory(day_start_micros));
  rocksdb::ColumnFamilyOptions index_options;
  index_options.merge_operator =
      std::make_shared<internal::MaxCreatedAtMergeOperator>();
  index_options.memtable_insert_with_hint_prefix_extractor =
      internal::NewIndexInsertHint();
  index_options.compaction_filter_factory =
      std::make_shared<internal::RetentionFilterFactory>(
          state, internal::kIndexKeyTenantOffset, index_counters);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, meta_options},
      {kMessagesCf, message_options},
      {kIndexCf, index_options},
      {kDeletableCf, rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  EBB_RETURN_IF_ERROR(ToAbslStatus(
      rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw_db),
      absl::StrCat("open \"", path, "\"")));
  auto impl = std::make_unique<Impl>(
      options, std::unique_ptr<rocksdb::DB>(raw_db), std::move(handles), state,
      std::move(message_counters), std::move(index_counters));
  impl->AttachFileSystem(std::move(file_system), std::move(store_env));
  rocksdb::DB* db = raw_db;
  error_guard->Attach(db);
  impl->AttachPurgeHelpers(std::move(compaction_bytes),
                           std::move(rate_limiter));

  // Format marker: written once, in a new store.
  std::string format;
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), impl->meta_cf(), kFormatKey, &format);
  if (s.IsNotFound()) {
    // A store whose creation was cut short (a crash or an I/O error after
    // RocksDB created its files, before the marker was written) holds nothing
    // at all: finish creating it. Anything else without the marker is not
    // ebb's to interpret.
    if (exists) {
      EBB_ASSIGN_OR_RETURN(const bool empty, impl->HoldsNothing());
      if (!empty) {
        return absl::FailedPreconditionError(
            absl::StrCat("open: \"", path,
                         "\" has ebb's column families but no format marker"));
      }
    }
    // The day start with the marker: a store never has one without the other.
    rocksdb::WriteBatch batch;
    batch.Put(impl->meta_cf(), kFormatKey, kFormatV1);
    char day_start[8];
    absl::big_endian::Store64(day_start,
                              static_cast<uint64_t>(day_start_micros->load()));
    batch.Put(impl->meta_cf(), kDayStartKey,
              rocksdb::Slice(day_start, sizeof(day_start)));
    EBB_RETURN_IF_ERROR(
        ToAbslStatus(db->Write(SyncWrite(), &batch), "open: write format"));
  } else {
    EBB_RETURN_IF_ERROR(ToAbslStatus(s, "open: read format"));
    if (creation_cut_short) {
      return absl::DataLossError(absl::StrCat(
          "open: \"", path,
          "\" has ebb's format marker but lacked some of its column families"));
    }
    if (format != kFormatV1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "open: store format \"", format,
          "\" is not supported (this build reads ", kFormatV1, ")"));
    }
  }

  EBB_ASSIGN_OR_RETURN(const absl::Duration day_start,
                       ReadDayStart(db, impl->meta_cf()));
  if (options.day_start.has_value() && *options.day_start != day_start) {
    return absl::FailedPreconditionError(absl::StrCat(
        "open: \"", path, "\" was created with days that begin at ",
        FormatTimeOfDay(day_start), " UTC, not ",
        FormatTimeOfDay(*options.day_start),
        " (Options::day_start): a store keeps its day start for life; leave "
        "it unset to use the store's"));
  }
  impl->SetDayStart(day_start);
  day_start_micros->store(absl::ToInt64Microseconds(day_start),
                          std::memory_order_release);

  EBB_RETURN_IF_ERROR(impl->MoveDeletableMetadata(upgrade));
  EBB_RETURN_IF_ERROR(impl->LoadAudit());

  // Tenants, policies and the stored default.
  absl::flat_hash_map<std::string, TenantNumber> tenants;
  std::vector<v1::RetentionPolicy> policies;
  std::optional<v1::RetentionPolicy> stored_defaults;
  absl::Status decode;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), impl->meta_cf()));
    for (it->SeekToFirst(); it->Valid() && decode.ok(); it->Next()) {
      const absl::string_view key = View(it->key());
      const absl::string_view value = View(it->value());
      if (absl::StartsWith(key, kTenantPrefix)) {
        if (value.size() != 4) {
          decode =
              absl::DataLossError("open: undecodable tenant registry entry");
          break;
        }
        tenants[key.substr(strlen(kTenantPrefix))] =
            absl::big_endian::Load32(value.data());
      } else if (absl::StartsWith(key, kPolicyPrefix) ||
                 key == kDefaultPolicyKey) {
        v1::RetentionPolicy policy;
        if (!policy.ParseFromArray(value.data(),
                                   static_cast<int>(value.size()))) {
          decode = absl::DataLossError(
              absl::StrCat("open: undecodable policy record \"", key, "\""));
          break;
        }
        if (key == kDefaultPolicyKey) {
          stored_defaults = std::move(policy);
        } else {
          policies.push_back(std::move(policy));
        }
      }
    }
    if (decode.ok()) decode = ToAbslStatus(it->status(), "open: read metadata");
  }
  EBB_RETURN_IF_ERROR(decode);

  if (!stored_defaults.has_value()) {
    // A new store: the first default policy, version 1, no horizon.
    v1::RetentionPolicy defaults;
    defaults.set_version(1);
    *defaults.mutable_updated_at() =
        internal::ToProtoTimestamp(options.clock->Now());
    for (v1::DataCategory category : internal::kStoredCategories) {
      v1::RetentionRule* rule = defaults.add_rules();
      rule->set_category(category);
      if (options.retention.default_ttl == absl::InfiniteDuration()) {
        rule->mutable_keep_forever();
      } else {
        *rule->mutable_ttl() =
            internal::ToProtoDuration(options.retention.default_ttl);
      }
    }
    rocksdb::WriteBatch batch;
    PutPolicyRecord(impl->meta_cf(), defaults, &batch);
    std::vector<v1::AuditRecord> audit;
    for (v1::DataCategory category : internal::kStoredCategories) {
      audit.push_back(
          PolicyChangeRecord(defaults, category, options.clock->Now()));
    }
    EBB_RETURN_IF_ERROR(
        impl->WriteAudited(&batch, &audit, "open: write default policy"));
    stored_defaults = std::move(defaults);
  }
  EBB_ASSIGN_OR_RETURN(
      PolicySnapshot loaded,
      PolicySnapshot::Build(*stored_defaults, std::move(tenants), policies));
  EBB_RETURN_IF_ERROR(impl->state()->Update(
      [&](const RetentionState::View&)
          -> absl::StatusOr<std::optional<PolicySnapshot>> {
        return std::optional<PolicySnapshot>(std::move(loaded));
      }));
  EBB_RETURN_IF_ERROR(impl->LoadProtections());
  EBB_RETURN_IF_ERROR(impl->LoadExpiredThrough());
  EBB_RETURN_IF_ERROR(impl->LoadPurgeWorklist());
  EBB_RETURN_IF_ERROR(impl->ReconcileDefaultPolicy());
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

// ---------------------------------------------------------------- Store

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

absl::Status Store::Close() { return impl_->Close(); }

absl::Status Store::Append(const v1::Message& message) {
  return impl_->AppendBatch(absl::MakeConstSpan(&message, 1), /*single=*/true);
}

absl::Status Store::AppendBatch(absl::Span<const v1::Message> messages) {
  return impl_->AppendBatch(messages, /*single=*/false);
}

absl::StatusOr<std::vector<v1::Message>> Store::ReadConversation(
    absl::string_view tenant, absl::string_view conversation) {
  return impl_->ReadConversation(tenant, conversation);
}

absl::StatusOr<std::vector<std::string>> Store::ReadConversationSerialized(
    absl::string_view tenant, absl::string_view conversation) {
  return impl_->ReadConversationSerialized(tenant, conversation);
}

absl::StatusOr<std::vector<ConversationInfo>> Store::ListConversations(
    absl::string_view tenant, absl::string_view user) {
  return impl_->ListConversations(tenant, user);
}

absl::StatusOr<TenantPolicy> Store::SetPolicy(absl::string_view tenant,
                                              v1::DataCategory category,
                                              absl::Duration ttl) {
  return impl_->SetPolicy(tenant, category, ttl);
}

absl::StatusOr<TenantPolicy> Store::GetPolicy(absl::string_view tenant) {
  EBB_RETURN_IF_ERROR(impl_->CheckOpen("get policy"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  return ToTenantPolicy(*impl_->state()->Observe().snapshot, tenant);
}

absl::StatusOr<std::vector<TenantPolicy>> Store::ListPolicies() {
  EBB_RETURN_IF_ERROR(impl_->CheckOpen("list policies"));
  const RetentionState::View view = impl_->state()->Observe();
  std::vector<TenantPolicy> out;
  for (const std::string& tenant : view.snapshot->TenantsWithPolicy()) {
    out.push_back(ToTenantPolicy(*view.snapshot, tenant));
  }
  return out;
}

absl::StatusOr<std::vector<TenantPolicy>> Store::PolicyHistory(
    absl::string_view tenant) {
  return impl_->PolicyHistory(tenant);
}

absl::StatusOr<StoreStats> Store::Stats() { return impl_->Stats(); }

absl::Status Store::CompactAll() { return impl_->CompactAll(); }

absl::StatusOr<ExpiryReport> Store::ExpireDue() { return impl_->ExpireDue(); }

void Store::SetAfterExpiryScanForTesting(std::function<void()> hook) {
  impl_->SetAfterExpiryScanForTesting(std::move(hook));
}

absl::StatusOr<VerifyReport> Store::Verify() { return impl_->Verify(); }

absl::StatusOr<PurgeReport> Store::Purge(const PurgeOptions& options) {
  return impl_->Purge(options);
}

absl::StatusOr<EraseResult> Store::EraseConversation(
    absl::string_view tenant, absl::string_view conversation,
    const EraseOptions& options) {
  return impl_->Erase(v1::SCOPE_CONVERSATION, tenant, conversation, options);
}

absl::StatusOr<EraseResult> Store::EraseUser(absl::string_view tenant,
                                             absl::string_view user,
                                             const EraseOptions& options) {
  return impl_->Erase(v1::SCOPE_USER, tenant, user, options);
}

absl::StatusOr<EraseResult> Store::EraseTenant(absl::string_view tenant,
                                               const EraseOptions& options) {
  return impl_->Erase(v1::SCOPE_TENANT, tenant, "", options);
}

absl::Status Store::SetHold(absl::string_view tenant, v1::Scope scope,
                            absl::string_view id, absl::string_view reason,
                            absl::string_view set_by) {
  return impl_->SetHold(tenant, scope, id, reason, set_by);
}

absl::StatusOr<std::vector<EraseResult>> Store::ClearHold(
    absl::string_view tenant, v1::Scope scope, absl::string_view id,
    absl::string_view cleared_by, absl::string_view reason) {
  return impl_->ClearHold(tenant, scope, id, cleared_by, reason);
}

absl::StatusOr<std::vector<v1::Hold>> Store::ListHolds(
    absl::string_view tenant) {
  return impl_->ListHolds(tenant);
}

absl::Status Store::SetRestriction(absl::string_view tenant,
                                   absl::string_view user) {
  return impl_->SetRestriction(tenant, user, true);
}

absl::Status Store::ClearRestriction(absl::string_view tenant,
                                     absl::string_view user) {
  return impl_->SetRestriction(tenant, user, false);
}

absl::StatusOr<ExportSummary> Store::Export(
    absl::string_view tenant, absl::string_view user,
    const ExportOptions& options,
    absl::FunctionRef<absl::Status(absl::string_view line)> sink) {
  return impl_->Export(tenant, user, options, sink);
}

absl::StatusOr<v1::Request> Store::OpenRequest(absl::string_view tenant,
                                               absl::string_view request_id,
                                               v1::RequestKind kind,
                                               absl::string_view user,
                                               absl::Time received_at) {
  return impl_->OpenRequest(tenant, request_id, kind, user, received_at);
}

absl::StatusOr<v1::Request> Store::ExtendRequest(absl::string_view tenant,
                                                 absl::string_view request_id,
                                                 absl::Duration by,
                                                 absl::string_view reason) {
  return impl_->ExtendRequest(tenant, request_id, by, reason);
}

absl::StatusOr<std::vector<v1::Request>> Store::ListRequests(
    bool overdue_only) {
  return impl_->ListRequests(overdue_only);
}

absl::StatusOr<AuditVerification> Store::VerifyAudit() {
  return impl_->VerifyAudit();
}

absl::Status Store::ExportAudit(
    absl::FunctionRef<absl::Status(const v1::AuditRecord&)> sink) {
  return impl_->ExportAudit(sink);
}

absl::StatusOr<std::vector<v1::AuditRecord>> Store::FindAudit(
    absl::string_view tenant, v1::Scope scope, absl::string_view id) {
  return impl_->FindAudit(tenant, scope, id);
}

absl::StatusOr<uint64_t> Store::TrimAudit() { return impl_->TrimAudit(); }

absl::StatusOr<std::string> Store::PseudonymFor(absl::string_view tenant,
                                                v1::Scope scope,
                                                absl::string_view id) {
  EBB_RETURN_IF_ERROR(impl_->CheckOpen("pseudonym"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  if (scope != v1::SCOPE_USER && scope != v1::SCOPE_CONVERSATION) {
    return absl::InvalidArgumentError(
        "pseudonym: scope must be user or conversation");
  }
  EBB_RETURN_IF_ERROR(internal::ValidateId(
      scope == v1::SCOPE_USER ? "user id" : "conversation id", id));
  return impl_->PseudonymOf(tenant, scope, id);
}

}  // namespace ebb
