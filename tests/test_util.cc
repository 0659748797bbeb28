// Copyright ebb authors.

#include "tests/test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/merge_operator.h"

namespace ebb::testing {
namespace {

// Reading the index column family needs some merge operator; which one does not
// matter for listing keys.
class KeepLastMerge : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice*,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger*) const override {
    new_value->assign(value.data(), value.size());
    return true;
  }
  const char* Name() const override { return "ebb.MaxCreatedAt"; }
};

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors() {
  rocksdb::ColumnFamilyOptions index_options;
  index_options.merge_operator = std::make_shared<KeepLastMerge>();
  return {{rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
          {"messages", rocksdb::ColumnFamilyOptions()},
          {"index", index_options},
          {"deletable", rocksdb::ColumnFamilyOptions()}};
}

int CfIndex(const std::string& cf) {
  if (cf == "messages") return 1;
  if (cf == "index") return 2;
  if (cf == "deletable") return 3;
  return 0;
}

}  // namespace

absl::Time T0() { return absl::FromUnixSeconds(1767225600); }

TempDir::TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ =
      absl::StrCat(base != nullptr ? base : "/tmp", "/ebb-test-XXXXXX");
  char* made = mkdtemp(templ.data());
  EXPECT_NE(made, nullptr);
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

v1::Message MakeMessage(const std::string& tenant, const std::string& user,
                        const std::string& conversation, uint64_t seq,
                        absl::Time created_at, const std::string& text,
                        v1::DataCategory category) {
  v1::Message m;
  m.set_tenant(tenant);
  m.set_user(user);
  m.set_conversation(conversation);
  m.set_seq(seq);
  m.set_role(seq % 2 == 0 ? v1::ROLE_ASSISTANT : v1::ROLE_USER);
  m.set_text(text);
  m.mutable_created_at()->set_seconds(absl::ToUnixSeconds(created_at));
  m.mutable_created_at()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(
          created_at -
          absl::FromUnixSeconds(absl::ToUnixSeconds(created_at)))));
  m.set_category(category);
  return m;
}

Options TestOptions(std::shared_ptr<ManualClock>* clock, absl::Time now) {
  *clock = std::make_shared<ManualClock>(now);
  Options options;
  options.clock = *clock;
  options.target_file_bytes = 64 << 10;
  return options;
}

// Opens the closed store at `path` read-only with plain RocksDB, calls `fn`
// with it and its column family handles (in Descriptors() order), and closes
// it (handles first: Debian's RocksDB asserts on a leaked one).
void WithReadOnlyDb(
    const std::string& path,
    const std::function<void(
        rocksdb::DB*, const std::vector<rocksdb::ColumnFamilyHandle*>&)>& fn) {
  // Only the column families the store has: one written before "deletable"
  // (the last in Descriptors() order) lacks it.
  std::vector<std::string> families;
  rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families)
      .PermitUncheckedError();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const rocksdb::ColumnFamilyDescriptor& d : Descriptors()) {
    if (std::find(families.begin(), families.end(), d.name) != families.end()) {
      descriptors.push_back(d);
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path,
                                                   descriptors, &handles, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return;
  fn(db, handles);
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  delete db;
}

std::vector<std::string> RawKeys(const std::string& path,
                                 const std::string& cf) {
  std::vector<std::string> keys;
  WithReadOnlyDb(path, [&](rocksdb::DB* db, const auto& handles) {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), handles[CfIndex(cf)]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      keys.push_back(it->key().ToString());
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  });
  return keys;
}

void RawPut(const std::string& path, const std::string& cf,
            const std::string& key, const std::string& value) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  rocksdb::Status s =
      rocksdb::DB::Open(options, path, Descriptors(), &handles, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = db->Put(rocksdb::WriteOptions(), handles[CfIndex(cf)], key, value);
  EXPECT_TRUE(s.ok()) << s.ToString();
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  delete db;
}

void RewriteAsStoreBeforeDeletableFamily(const std::string& path) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), path,
                                        Descriptors(), &handles, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), handles[3]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    // The column family's two guard keys (store_impl.h) stay behind.
    if (it->key() == rocksdb::Slice("\0guard", 6) ||
        it->key() == rocksdb::Slice("\xffguard")) {
      continue;
    }
    batch.Put(handles[0], it->key(), it->value());
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  it.reset();
  EXPECT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
  EXPECT_TRUE(db->DropColumnFamily(handles[3]).ok());
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  delete db;
}

std::vector<std::string> SstFilesOf(const std::string& path,
                                    const std::string& cf) {
  std::vector<std::string> files;
  WithReadOnlyDb(path, [&](rocksdb::DB* db, const auto&) {
    std::vector<rocksdb::LiveFileMetaData> live;
    db->GetLiveFilesMetaData(&live);
    for (const rocksdb::LiveFileMetaData& file : live) {
      if (file.column_family_name == cf) {
        files.push_back(file.db_path + file.name);
      }
    }
  });
  return files;
}

void FlipByte(const std::string& file, size_t offset) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(io.good()) << file;
  io.seekg(static_cast<std::streamoff>(offset));
  char byte = 0;
  io.read(&byte, 1);
  ASSERT_TRUE(io.good()) << file << " has no byte " << offset;
  byte = static_cast<char>(byte ^ 0xFF);
  io.seekp(static_cast<std::streamoff>(offset));
  io.write(&byte, 1);
  ASSERT_TRUE(io.good()) << file;
}

ChildProcess::ChildProcess(const std::string& program,
                           const std::vector<std::string>& args) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(pipe_fds[1], 1);
    close(pipe_fds[0]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const std::string& arg : args) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  out_ = fdopen(pipe_fds[0], "r");
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    Kill();
    Wait();
  }
  if (out_ != nullptr) fclose(out_);
}

std::optional<std::string> ChildProcess::ReadLine() {
  char* line = nullptr;
  size_t capacity = 0;
  const ssize_t n = getline(&line, &capacity, out_);
  std::optional<std::string> out;
  if (n > 0) {
    out = std::string(line, n);
    if (!out->empty() && out->back() == '\n') out->pop_back();
  }
  free(line);
  return out;
}

std::string ChildProcess::ReadAll() {
  std::string all;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), out_)) > 0) all.append(buf, n);
  return all;
}

void ChildProcess::Kill() {
  if (!reaped_) kill(pid_, SIGKILL);
}

int ChildProcess::Wait() {
  if (!reaped_) {
    waitpid(pid_, &status_, 0);
    reaped_ = true;
  }
  return status_;
}

bool FileContains(const std::string& file, const std::string& needle) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  return bytes.find(needle) != std::string::npos;
}

std::string Scrambled(int n, uint32_t seed) {
  std::string out(n, 'a');
  for (char& c : out) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>('a' + (seed >> 16) % 26);
  }
  return out;
}

bool AnyFileContains(const std::string& path, const std::string& needle) {
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(path)) {
    if (entry.is_regular_file() && FileContains(entry.path(), needle)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::vector<v1::Message>> ReadBothWays(
    Store& store, const std::string& tenant, const std::string& conversation) {
  absl::StatusOr<std::vector<v1::Message>> read =
      store.ReadConversation(tenant, conversation);
  absl::StatusOr<std::vector<std::string>> serialized =
      store.ReadConversationSerialized(tenant, conversation);
  const std::string where =
      absl::StrCat("conversation \"", conversation, "\" of \"", tenant, "\"");
  EXPECT_EQ(read.status(), serialized.status()) << where;
  if (!read.ok() || !serialized.ok()) return read;
  EXPECT_EQ(read->size(), serialized->size()) << where;
  for (size_t i = 0; i < std::min(read->size(), serialized->size()); ++i) {
    v1::Message parsed;
    EXPECT_TRUE(parsed.ParseFromString((*serialized)[i]))
        << where << ", message " << i;
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(parsed, (*read)[i]))
        << where << ", message " << i
        << ":\n  serialized: " << parsed.ShortDebugString()
        << "\n  parsed:     " << (*read)[i].ShortDebugString();
  }
  return read;
}

std::map<std::string, int> AuditRecordsByRequest(Store& store,
                                                 v1::AuditAction action) {
  std::map<std::string, int> records;
  const absl::Status s = store.ExportAudit([&](const v1::AuditRecord& r) {
    if (r.action() == action) ++records[r.request_id()];
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << "export audit: " << s;
  return records;
}

VerifyReport ExpectPurgeLeavesNothingOnDisk(Store& store,
                                            const std::string& where) {
  absl::StatusOr<PurgeReport> purge = store.Purge(PurgeOptions());
  EXPECT_TRUE(purge.ok()) << where << "purge: " << purge.status();
  if (purge.ok()) {
    EXPECT_TRUE(purge->complete) << where << "purge incomplete";
  }
  absl::StatusOr<VerifyReport> on_disk = store.Verify();
  EXPECT_TRUE(on_disk.ok()) << where << "verify: " << on_disk.status();
  if (!on_disk.ok()) return VerifyReport();
  EXPECT_TRUE(on_disk->findings.empty())
      << where << on_disk->findings.size()
      << " expired or erased records on disk, the first in "
      << on_disk->findings[0].file << ": " << on_disk->findings[0].tenant << "/"
      << on_disk->findings[0].conversation << " seq "
      << on_disk->findings[0].seq << " " << on_disk->findings[0].problem;
  return *std::move(on_disk);
}

}  // namespace ebb::testing
