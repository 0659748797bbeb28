// Copyright ebb authors.
//
// The audit ledger: appending sealed records in the same write as the change
// they record, verifying the chain, exporting, finding and trimming.

#include "absl/strings/escaping.h"
#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/internal/status_macros.h"
#include "lib/ebb/internal/validation.h"
#include "lib/ebb/store_impl.h"

namespace ebb {

namespace store_internal {

v1::AuditRecord NewAuditRecord(v1::AuditAction action, absl::string_view tenant,
                               absl::Time now) {
  v1::AuditRecord record;
  record.set_action(action);
  record.set_tenant(std::string(tenant));
  *record.mutable_at() = internal::ToProtoTimestamp(now);
  return record;
}

}  // namespace store_internal

absl::Status Store::Impl::LoadAudit() {
  std::string secret;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf(),
                               store_internal::kStoreSecretKey, &secret);
  if (s.IsNotFound()) {
    EBB_ASSIGN_OR_RETURN(secret, internal::NewSecret());
    EBB_RETURN_IF_ERROR(
        ToAbslStatus(db_->Put(SyncWrite(), meta_cf(),
                              store_internal::kStoreSecretKey, secret),
                     "open: write the pseudonym secret"));
  } else {
    EBB_RETURN_IF_ERROR(ToAbslStatus(s, "open: read the pseudonym secret"));
    if (secret.size() != internal::kSha256Size) {
      return absl::DataLossError(
          "open: the pseudonym secret is damaged (wrong size)");
    }
  }
  store_secret_ = std::move(secret);

  std::string head;
  s = db_->Get(rocksdb::ReadOptions(), meta_cf(), internal::kAuditHeadKey,
               &head);
  absl::MutexLock lock(&audit_mu_);
  if (s.IsNotFound()) {
    audit_head_ = internal::ChainPosition();
    return absl::OkStatus();
  }
  EBB_RETURN_IF_ERROR(ToAbslStatus(s, "open: read the audit head"));
  absl::StatusOr<internal::ChainPosition> position =
      internal::DecodeChainPosition(head);
  if (!position.ok()) {
    return absl::DataLossError(
        absl::StrCat("open: ", position.status().message()));
  }
  audit_head_ = *std::move(position);
  return absl::OkStatus();
}

absl::Status Store::Impl::WriteAudited(rocksdb::WriteBatch* batch,
                                       std::vector<v1::AuditRecord>* records,
                                       absl::string_view operation) {
  absl::MutexLock lock(&audit_mu_);
  internal::ChainPosition position = audit_head_;
  for (v1::AuditRecord& record : *records) {
    internal::ChainPosition next;
    const std::string entry =
        internal::SealAuditRecord(position, &record, &next);
    batch->Put(meta_cf(), internal::AuditKey(next.seq), entry);
    position = std::move(next);
  }
  if (!records->empty()) {
    batch->Put(meta_cf(), internal::kAuditHeadKey,
               internal::EncodeChainPosition(position));
  }
  // Audited writes are the ones that write holds, restrictions, pending
  // erasures, requests and worklist entries (and a few others): guard them
  // all rather than tell them apart.
  GuardDeletable(batch);
  EBB_RETURN_IF_ERROR(ToAbslStatus(db_->Write(SyncWrite(), batch), operation));
  audit_head_ = std::move(position);
  return absl::OkStatus();
}

std::string Store::Impl::PseudonymOf(absl::string_view tenant, v1::Scope scope,
                                     absl::string_view id) const {
  return internal::Pseudonym(internal::TenantKey(store_secret_, tenant), scope,
                             id);
}

absl::StatusOr<AuditVerification> Store::Impl::VerifyAudit() {
  EBB_RETURN_IF_ERROR(CheckOpen("audit verify"));
  // A consistent view: the ledger is read under one snapshot, so records
  // appended meanwhile neither appear half-way nor move the head.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  auto release = [&] { db_->ReleaseSnapshot(snapshot); };

  std::string value;
  internal::ChainPosition checkpoint;
  bool trimmed = false;
  rocksdb::Status s =
      db_->Get(read, meta_cf(), internal::kAuditCheckpointKey, &value);
  if (s.ok()) {
    absl::StatusOr<internal::ChainPosition> decoded =
        internal::DecodeChainPosition(value);
    if (!decoded.ok()) {
      release();
      AuditVerification out;
      out.ok = false;
      out.problem = absl::StrCat("the ledger's checkpoint is damaged: ",
                                 decoded.status().message());
      return out;
    }
    checkpoint = *std::move(decoded);
    trimmed = true;
  } else if (!s.IsNotFound()) {
    release();
    return ToAbslStatus(s, "audit verify: read checkpoint");
  }
  std::optional<internal::ChainPosition> head;
  s = db_->Get(read, meta_cf(), internal::kAuditHeadKey, &value);
  if (s.ok()) {
    absl::StatusOr<internal::ChainPosition> decoded =
        internal::DecodeChainPosition(value);
    if (decoded.ok()) head = *std::move(decoded);
  } else if (!s.IsNotFound()) {
    release();
    return ToAbslStatus(s, "audit verify: read head");
  }

  internal::ChainVerifier verifier(checkpoint, trimmed);
  // Every store records its first default policy when it is created, so an
  // empty ledger has lost its records.
  if (!head.has_value() && !trimmed) {
    std::string any;
    std::unique_ptr<rocksdb::Iterator> probe(db_->NewIterator(read, meta_cf()));
    probe->Seek(internal::kAuditPrefix);
    const bool has_records =
        probe->Valid() && StartsWith(probe->key(), internal::kAuditPrefix);
    const rocksdb::Status probe_status = probe->status();
    probe.reset();
    if (!probe_status.ok()) {
      release();
      return ToAbslStatus(probe_status, "audit verify: scan");
    }
    if (!has_records) {
      release();
      AuditVerification out;
      out.ok = false;
      out.first_bad_seq = 1;
      out.problem =
          "the ledger is empty, but every store records its first policy when "
          "it is created: records and head were removed";
      return out;
    }
  }
  const std::string upper = internal::PrefixSuccessor(internal::kAuditPrefix);
  rocksdb::Slice upper_slice(upper);
  read.iterate_upper_bound = &upper_slice;
  absl::Status status;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, meta_cf()));
    for (it->Seek(internal::kAuditPrefix); it->Valid(); it->Next()) {
      if (!verifier.Feed(View(it->key()), View(it->value()))) break;
    }
    status = ToAbslStatus(it->status(), "audit verify: scan");
  }
  release();
  EBB_RETURN_IF_ERROR(status);
  verifier.Finish(head);

  AuditVerification out;
  out.ok = verifier.ok();
  out.records = verifier.records();
  out.first_seq = verifier.records() > 0 ? checkpoint.seq + 1 : 0;
  out.last_seq = head.has_value() ? head->seq : 0;
  out.head_hash = absl::BytesToHexString(
      head.has_value() ? head->hash : internal::ChainPosition().hash);
  if (!out.ok) {
    out.first_bad_seq = verifier.first_bad_seq().value_or(0);
    out.problem = verifier.problem();
  }
  return out;
}

absl::Status Store::Impl::ExportAudit(
    absl::FunctionRef<absl::Status(const v1::AuditRecord&)> sink) {
  EBB_RETURN_IF_ERROR(CheckOpen("audit export"));
  absl::Status sink_status;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      meta_cf(), internal::kAuditPrefix, "audit export",
      [&](absl::string_view key, absl::string_view value) {
        if (!sink_status.ok()) return;
        const uint64_t seq = internal::ParseAuditKey(key).value_or(0);
        std::string hash;
        absl::StatusOr<v1::AuditRecord> record =
            internal::OpenAuditEntry(seq, value, &hash);
        sink_status = record.ok() ? sink(*record) : record.status();
      }));
  return sink_status;
}

absl::StatusOr<std::vector<v1::AuditRecord>> Store::Impl::FindAudit(
    absl::string_view tenant, v1::Scope scope, absl::string_view id) {
  EBB_RETURN_IF_ERROR(CheckOpen("audit find"));
  EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", tenant));
  std::string subject;
  if (scope == v1::SCOPE_USER || scope == v1::SCOPE_CONVERSATION) {
    EBB_RETURN_IF_ERROR(internal::ValidateId(
        scope == v1::SCOPE_USER ? "user id" : "conversation id", id));
    subject = PseudonymOf(tenant, scope, id);
  } else if (scope != v1::SCOPE_TENANT) {
    return absl::InvalidArgumentError("audit find: scope is unspecified");
  }
  std::vector<v1::AuditRecord> out;
  EBB_RETURN_IF_ERROR(ExportAudit([&](const v1::AuditRecord& record) {
    if (record.tenant() != tenant) return absl::OkStatus();
    if (scope == v1::SCOPE_TENANT ||
        (record.scope() == scope && record.subject() == subject)) {
      out.push_back(record);
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<uint64_t> Store::Impl::TrimAudit() {
  EBB_RETURN_IF_ERROR(CheckOpen("audit trim"));
  // Trimming a broken ledger would destroy the evidence of the break.
  EBB_ASSIGN_OR_RETURN(const AuditVerification verification, VerifyAudit());
  if (!verification.ok) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit trim: the ledger does not verify (record ",
                     verification.first_bad_seq, ": ", verification.problem,
                     "); not trimming"));
  }
  const absl::Time now = state_->Observe().now;
  const absl::Time cutoff = now - options_.audit_retention;
  // Records are appended in clock order, so the old ones form the head of the
  // ledger: trim from the start up to the first record that is not old.
  rocksdb::WriteBatch batch;
  uint64_t trimmed = 0;
  internal::ChainPosition last_trimmed;
  absl::Status problem;
  bool done = false;
  EBB_RETURN_IF_ERROR(ScanPrefix(
      meta_cf(), internal::kAuditPrefix, "audit trim",
      [&](absl::string_view key, absl::string_view value) {
        if (done || !problem.ok()) return;
        const uint64_t seq = internal::ParseAuditKey(key).value_or(0);
        std::string hash;
        absl::StatusOr<v1::AuditRecord> record =
            internal::OpenAuditEntry(seq, value, &hash);
        if (!record.ok()) {
          // Never trim past damage: it would destroy the evidence.
          problem = record.status();
          return;
        }
        absl::StatusOr<absl::Time> at =
            internal::FromProtoTimestamp(record->at());
        if (!at.ok() || *at >= cutoff) {
          done = true;
          return;
        }
        batch.Delete(meta_cf(), rocksdb::Slice(key.data(), key.size()));
        last_trimmed.seq = seq;
        last_trimmed.hash = std::move(hash);
        ++trimmed;
      }));
  EBB_RETURN_IF_ERROR(problem);
  if (trimmed == 0) return 0;
  batch.Put(meta_cf(), internal::kAuditCheckpointKey,
            internal::EncodeChainPosition(last_trimmed));
  v1::AuditRecord record = NewAuditRecord(v1::AUDIT_LEDGER_TRIM, "", now);
  record.set_trimmed_through(last_trimmed.seq);
  record.set_trimmed_hash(last_trimmed.hash);
  std::vector<v1::AuditRecord> records = {std::move(record)};
  EBB_RETURN_IF_ERROR(WriteAudited(&batch, &records, "audit trim"));
  return trimmed;
}

}  // namespace ebb
