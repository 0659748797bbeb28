// Copyright ebb authors.
//
// Verify: an independent check of what is physically on disk. It does not
// trust the purge's bookkeeping: it reads the files themselves.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "lib/ebb/internal/max_created_at_merge.h"
#include "lib/ebb/internal/status_macros.h"
#include "lib/ebb/store_impl.h"
#include "rocksdb/sst_file_reader.h"
#include "rocksdb/transaction_log.h"

namespace ebb {

using store_internal::kErasedPrefix;
using store_internal::DecodeMicros;
using store_internal::ScopedKey;

absl::StatusOr<VerifyReport> Store::Impl::Verify() {
  EBB_RETURN_IF_ERROR(CheckOpen("verify"));
  const RetentionState::View view = state_->Observe();
  const internal::ExpiryCutoffs cutoffs = view.snapshot->CutoffsAt(view.now);
  const internal::Protections& protections = view.snapshot->protections();
  VerifyReport report;
  report.now = view.now;

  absl::flat_hash_map<TenantNumber, std::string> tenant_ids;
  for (const auto& [id, number] : view.snapshot->Tenants()) {
    tenant_ids[number] = id;
  }
  // Erasure cutoffs, looked up once per (tenant, scope, id).
  std::map<std::pair<TenantNumber, std::string>, std::optional<int64_t>>
      erased_memo;
  absl::Status lookup_status;
  auto erased_through = [&](TenantNumber number, v1::Scope scope,
                            absl::string_view id) -> std::optional<int64_t> {
    const auto memo_key = std::make_pair(
        number, absl::StrCat(static_cast<int>(scope), ":", id));
    if (auto it = erased_memo.find(memo_key); it != erased_memo.end()) {
      return it->second;
    }
    std::optional<int64_t> cutoff;
    auto tenant = tenant_ids.find(number);
    if (tenant != tenant_ids.end()) {
      const std::string subject =
          scope == v1::SCOPE_TENANT ? ""
                                    : PseudonymOf(tenant->second, scope, id);
      std::string value;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf(),
                                   ScopedKey(kErasedPrefix, number, scope,
                                             subject),
                                   &value);
      if (s.ok()) {
        cutoff = DecodeMicros(value).value_or(
            std::numeric_limits<int64_t>::max());
      } else if (!s.IsNotFound() && lookup_status.ok()) {
        lookup_status = ToAbslStatus(s, "verify: erasure marker");
      }
    }
    erased_memo.emplace(memo_key, cutoff);
    return cutoff;
  };

  // Judges one entry; records a finding if it should not be on disk.
  auto judge = [&](const std::string& file, bool is_message,
                   absl::string_view key, absl::string_view value) {
    ++report.records;
    const size_t tenant_offset = is_message ? internal::kMessageKeyTenantOffset
                                            : internal::kIndexKeyTenantOffset;
    const std::optional<TenantNumber> number =
        internal::TenantAt(key, tenant_offset);
    const std::optional<RecordHeader> header =
        internal::DecodeRecordHeader(value);
    if (!number.has_value() || !header.has_value()) {
      ++report.undecodable;
      return;
    }
    std::string conversation;
    uint64_t seq = 0;
    if (is_message) {
      const std::optional<internal::MessageKeyParts> parts =
          internal::ParseMessageKey(key);
      if (parts.has_value()) {
        conversation = std::string(parts->conversation);
        seq = parts->seq;
      }
    } else if (key.size() > 5 && key[4] == internal::kConversationBucketsTag) {
      const absl::string_view rest = key.substr(5);
      conversation = std::string(rest.substr(0, rest.find('\0')));
    } else if (key.size() > 5 && key[4] == internal::kUserConversationsTag) {
      absl::string_view rest = key.substr(5);
      rest = rest.substr(rest.find('\0') + 1);
      conversation = std::string(rest.substr(0, rest.find('\0')));
    }
    std::string problem;
    const internal::TenantProtections* held = protections.Find(*number);
    const bool kept_by_hold =
        held != nullptr &&
        (held->tenant_held || held->KeepsConversation(conversation) ||
         protections.KeepsExpiredRecord(key, is_message));
    if (internal::IsExpired(cutoffs.ForTenant(*number), *header)) {
      if (!kept_by_hold) problem = "expired";
    }
    if (problem.empty() && !kept_by_hold) {
      for (const auto& [scope, id] :
           {std::pair<v1::Scope, absl::string_view>{v1::SCOPE_TENANT, ""},
            {v1::SCOPE_CONVERSATION, conversation}}) {
        if (scope == v1::SCOPE_CONVERSATION && id.empty()) continue;
        const std::optional<int64_t> cutoff = erased_through(*number, scope, id);
        if (cutoff.has_value() && header->created_at_micros <= *cutoff) {
          problem = "erased";
          break;
        }
      }
    }
    if (problem.empty()) return;
    VerifyFinding finding;
    finding.file = file;
    finding.column_family = is_message ? "messages" : "index";
    auto tenant = tenant_ids.find(*number);
    finding.tenant = tenant == tenant_ids.end()
                         ? absl::StrCat("#", *number)
                         : tenant->second;
    finding.conversation = std::move(conversation);
    finding.seq = seq;
    finding.category = header->category;
    finding.created_at = absl::FromUnixMicros(header->created_at_micros);
    finding.problem = std::move(problem);
    report.findings.push_back(std::move(finding));
  };

  // Every live SST file of the messages and index column families. Background
  // compactions go on meanwhile: keep the files they obsolete on disk until
  // the scan is done, so every listed file can still be opened.
  EBB_RETURN_IF_ERROR(
      ToAbslStatus(db_->DisableFileDeletions(), "verify: pin files"));
  struct Reenable {
    rocksdb::DB* db;
    ~Reenable() {
      db->EnableFileDeletions(/*force=*/false).PermitUncheckedError();
    }
  } reenable{db_.get()};
  std::vector<rocksdb::LiveFileMetaData> files;
  db_->GetLiveFilesMetaData(&files);
  for (const rocksdb::LiveFileMetaData& file : files) {
    const bool is_message = file.column_family_name == "messages";
    if (!is_message && file.column_family_name != "index") continue;
    rocksdb::Options options;
    if (!is_message) {
      options.merge_operator =
          std::make_shared<internal::MaxCreatedAtMergeOperator>();
    }
    rocksdb::SstFileReader reader(options);
    const std::string path = file.directory + "/" + file.relative_filename;
    EBB_RETURN_IF_ERROR(
        ToAbslStatus(reader.Open(path), absl::StrCat("verify: open ", path)));
    ++report.sst_files;
    std::unique_ptr<rocksdb::Iterator> it(
        reader.NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      judge(file.relative_filename, is_message, View(it->key()),
            View(it->value()));
    }
    EBB_RETURN_IF_ERROR(
        ToAbslStatus(it->status(), absl::StrCat("verify: read ", path)));
  }

  // Every live WAL file, batch by batch.
  rocksdb::VectorLogPtr wal_files;
  EBB_RETURN_IF_ERROR(
      ToAbslStatus(db_->GetSortedWalFiles(wal_files), "verify: list WAL"));
  report.wal_files = wal_files.size();
  std::unique_ptr<rocksdb::TransactionLogIterator> it;
  if (!wal_files.empty()) {
    rocksdb::Status s = db_->GetUpdatesSince(
        std::max<rocksdb::SequenceNumber>(1, wal_files.front()->StartSequence()),
        &it);
    // A WAL file just started after a flush holds nothing yet: its start
    // sequence is one RocksDB has not written.
    if (s.IsNotFound()) it.reset();
    else if (!s.ok()) return ToAbslStatus(s, "verify: read WAL");
  }
  if (it != nullptr) {
    struct Handler : rocksdb::WriteBatch::Handler {
      uint32_t messages_id, index_id;
      std::function<void(bool, absl::string_view, absl::string_view)> judge;
      rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                            const rocksdb::Slice& value) override {
        if (cf == messages_id || cf == index_id) {
          judge(cf == messages_id, View(key), View(value));
        }
        return rocksdb::Status::OK();
      }
      rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& key,
                              const rocksdb::Slice& value) override {
        return PutCF(cf, key, value);
      }
      rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override {
        return rocksdb::Status::OK();
      }
      rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&,
                                    const rocksdb::Slice&) override {
        return rocksdb::Status::OK();
      }
    } handler;
    handler.messages_id = messages_cf()->GetID();
    handler.index_id = index_cf()->GetID();
    handler.judge = [&](bool is_message, absl::string_view key,
                        absl::string_view value) {
      judge("WAL", is_message, key, value);
    };
    for (; it->Valid(); it->Next()) {
      rocksdb::BatchResult batch = it->GetBatch();
      EBB_RETURN_IF_ERROR(ToAbslStatus(batch.writeBatchPtr->Iterate(&handler),
                                       "verify: decode WAL batch"));
    }
    // The iterator ends with NotFound-like statuses at the live end of the
    // log; only corruption is an error here.
    if (it->status().IsCorruption()) {
      return ToAbslStatus(it->status(), "verify: read WAL");
    }
  }
  EBB_RETURN_IF_ERROR(lookup_status);
  return report;
}

}  // namespace ebb
