// Copyright ebb authors.

#include "tests/fault_fs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

namespace ebb::testing {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class FaultWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(FaultFileSystem* fs, std::string name,
                    std::unique_ptr<rocksdb::FSWritableFile> file,
                    uint64_t size = 0)
      : FSWritableFileOwnerWrapper(std::move(file)),
        fs_(fs),
        name_(std::move(name)),
        end_(size) {}

  IOStatus Append(const Slice& data, const IOOptions& options,
                  IODebugContext* dbg) override {
    if (auto s = fs_->Intercept(FaultOp::kWrite, name_)) return *s;
    return Wrote(FSWritableFileOwnerWrapper::Append(data, options, dbg),
                 end_ + data.size());
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& info,
                  IODebugContext* dbg) override {
    if (auto s = fs_->Intercept(FaultOp::kWrite, name_)) return *s;
    return Wrote(FSWritableFileOwnerWrapper::Append(data, options, info, dbg),
                 end_ + data.size());
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                            const IOOptions& options,
                            IODebugContext* dbg) override {
    if (auto s = fs_->Intercept(FaultOp::kWrite, name_)) return *s;
    return Wrote(FSWritableFileOwnerWrapper::PositionedAppend(data, offset,
                                                              options, dbg),
                 std::max(end_, offset + data.size()));
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                            const IOOptions& options,
                            const rocksdb::DataVerificationInfo& info,
                            IODebugContext* dbg) override {
    if (auto s = fs_->Intercept(FaultOp::kWrite, name_)) return *s;
    return Wrote(FSWritableFileOwnerWrapper::PositionedAppend(
                     data, offset, options, info, dbg),
                 std::max(end_, offset + data.size()));
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    if (auto s = fs_->Intercept(FaultOp::kSync, name_)) return *s;
    return SyncedIf(FSWritableFileOwnerWrapper::Sync(options, dbg));
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    if (auto s = fs_->Intercept(FaultOp::kSync, name_)) return *s;
    return SyncedIf(FSWritableFileOwnerWrapper::Fsync(options, dbg));
  }

  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& options,
                     IODebugContext* dbg) override {
    if (auto s = fs_->Intercept(FaultOp::kSync, name_)) return *s;
    return FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, options, dbg);
  }

 private:
  IOStatus Wrote(IOStatus s, uint64_t end) {
    if (s.ok()) {
      end_ = end;
      fs_->Written(name_, end_);
    }
    return s;
  }
  IOStatus SyncedIf(IOStatus s) {
    if (s.ok()) fs_->Synced(name_);
    return s;
  }

  FaultFileSystem* fs_;
  const std::string name_;
  uint64_t end_;
};

class FaultRandomAccessFile : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  FaultRandomAccessFile(FaultFileSystem* fs, std::string name,
                        std::unique_ptr<rocksdb::FSRandomAccessFile> file)
      : FSRandomAccessFileOwnerWrapper(std::move(file)),
        fs_(fs),
        name_(std::move(name)) {}

  IOStatus Read(uint64_t offset, size_t n, const IOOptions& options,
                Slice* result, char* scratch,
                IODebugContext* dbg) const override {
    if (auto s = fs_->Intercept(FaultOp::kRead, name_)) return *s;
    return FSRandomAccessFileOwnerWrapper::Read(offset, n, options, result,
                                                scratch, dbg);
  }
  IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t num_reqs,
                     const IOOptions& options, IODebugContext* dbg) override {
    if (auto s = fs_->Intercept(FaultOp::kRead, name_)) {
      for (size_t i = 0; i < num_reqs; ++i) reqs[i].status = *s;
      return *s;
    }
    return FSRandomAccessFileOwnerWrapper::MultiRead(reqs, num_reqs, options,
                                                     dbg);
  }

 private:
  FaultFileSystem* fs_;
  const std::string name_;
};

class FaultSequentialFile : public rocksdb::FSSequentialFileOwnerWrapper {
 public:
  FaultSequentialFile(FaultFileSystem* fs, std::string name,
                      std::unique_ptr<rocksdb::FSSequentialFile> file)
      : FSSequentialFileOwnerWrapper(std::move(file)),
        fs_(fs),
        name_(std::move(name)) {}

  IOStatus Read(size_t n, const IOOptions& options, Slice* result,
                char* scratch, IODebugContext* dbg) override {
    if (auto s = fs_->Intercept(FaultOp::kRead, name_)) return *s;
    return FSSequentialFileOwnerWrapper::Read(n, options, result, scratch, dbg);
  }

 private:
  FaultFileSystem* fs_;
  const std::string name_;
};

}  // namespace

FaultFileSystem::FaultFileSystem()
    : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

std::unique_ptr<rocksdb::Env> FaultFileSystem::NewEnv(
    std::shared_ptr<FaultFileSystem> fs) {
  return rocksdb::NewCompositeEnv(std::move(fs));
}

void FaultFileSystem::Arm(FaultPlan plan) {
  absl::MutexLock lock(&mu_);
  plan_ = std::move(plan);
}

void FaultFileSystem::Heal() {
  absl::MutexLock lock(&mu_);
  plan_.reset();
}

int64_t FaultFileSystem::operations(FaultOp op) const {
  absl::MutexLock lock(&mu_);
  return seen_[static_cast<int>(op)];
}

int64_t FaultFileSystem::injected() const {
  absl::MutexLock lock(&mu_);
  return injected_;
}

std::string FaultFileSystem::first_injected_file() const {
  absl::MutexLock lock(&mu_);
  return first_injected_file_;
}

std::optional<IOStatus> FaultFileSystem::Intercept(FaultOp op,
                                                   const std::string& file) {
  absl::MutexLock lock(&mu_);
  ++seen_[static_cast<int>(op)];
  if (!plan_.has_value() || plan_->op != op ||
      file.find(plan_->file_contains) == std::string::npos) {
    return std::nullopt;
  }
  if (plan_->after > 0) {
    --plan_->after;
    return std::nullopt;
  }
  if (injected_++ == 0) first_injected_file_ = file;
  IOStatus status =
      plan_->no_space
          ? IOStatus::NoSpace("injected fault: no space left on device")
          : IOStatus::IOError("injected fault: I/O error on " + file);
  if (!plan_->sticky) plan_.reset();
  return status;
}

IOStatus FaultFileSystem::NewSequentialFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSSequentialFile>* result, IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSSequentialFile> file;
  IOStatus s = target()->NewSequentialFile(fname, options, &file, dbg);
  if (s.ok()) {
    *result =
        std::make_unique<FaultSequentialFile>(this, fname, std::move(file));
  }
  return s;
}

IOStatus FaultFileSystem::NewRandomAccessFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSRandomAccessFile>* result, IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSRandomAccessFile> file;
  IOStatus s = target()->NewRandomAccessFile(fname, options, &file, dbg);
  if (s.ok()) {
    *result =
        std::make_unique<FaultRandomAccessFile>(this, fname, std::move(file));
  }
  return s;
}

IOStatus FaultFileSystem::NewWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->NewWritableFile(fname, options, &file, dbg);
  if (s.ok()) {
    Tracked(fname, 0);
    *result = std::make_unique<FaultWritableFile>(this, fname, std::move(file));
  }
  return s;
}

IOStatus FaultFileSystem::ReopenWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReopenWritableFile(fname, options, &file, dbg);
  if (s.ok()) {
    // What the file held before is taken as durable.
    uint64_t size = 0;
    s = target()->GetFileSize(fname, rocksdb::IOOptions(), &size, dbg);
    if (!s.ok()) return s;
    Tracked(fname, size);
    *result =
        std::make_unique<FaultWritableFile>(this, fname, std::move(file), size);
  }
  return s;
}

IOStatus FaultFileSystem::ReuseWritableFile(
    const std::string& fname, const std::string& old_fname,
    const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s =
      target()->ReuseWritableFile(fname, old_fname, options, &file, dbg);
  if (s.ok()) {
    Tracked(fname, 0);
    *result = std::make_unique<FaultWritableFile>(this, fname, std::move(file));
  }
  return s;
}

IOStatus FaultFileSystem::RenameFile(const std::string& src,
                                     const std::string& target_name,
                                     const IOOptions& options,
                                     IODebugContext* dbg) {
  IOStatus s = target()->RenameFile(src, target_name, options, dbg);
  if (s.ok()) {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(src);
    files_.erase(target_name);
    if (it != files_.end()) {
      files_[target_name] = it->second;
      files_.erase(it);
    }
  }
  return s;
}

IOStatus FaultFileSystem::DeleteFile(const std::string& fname,
                                     const IOOptions& options,
                                     IODebugContext* dbg) {
  if (std::optional<IOStatus> fault = Intercept(FaultOp::kDelete, fname)) {
    return *fault;
  }
  IOStatus s = target()->DeleteFile(fname, options, dbg);
  if (s.ok()) {
    absl::MutexLock lock(&mu_);
    files_.erase(fname);
  }
  return s;
}

void FaultFileSystem::Written(const std::string& file, uint64_t end) {
  absl::MutexLock lock(&mu_);
  Lengths& lengths = files_[file];
  lengths.written = std::max(lengths.written, end);
}

void FaultFileSystem::Synced(const std::string& file) {
  absl::MutexLock lock(&mu_);
  Lengths& lengths = files_[file];
  lengths.synced = lengths.written;
}

void FaultFileSystem::Tracked(const std::string& file, uint64_t durable_size) {
  absl::MutexLock lock(&mu_);
  files_[file] = Lengths{durable_size, durable_size};
}

bool FaultFileSystem::CopyDurableState(const std::string& from,
                                       const std::string& to,
                                       std::string* error) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) {
    *error = "create " + to + ": " + ec.message();
    return false;
  }
  // Holding the lock: no write is recorded while the copy is taken.
  absl::MutexLock lock(&mu_);
  for (const fs::directory_entry& entry : fs::directory_iterator(from, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    if (in.bad()) {
      *error = "read " + path;
      return false;
    }
    auto it = files_.find(path);
    if (it != files_.end() && it->second.synced < bytes.size()) {
      bytes.resize(it->second.synced);
    }
    std::ofstream out(to + "/" + entry.path().filename().string(),
                      std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      *error = "write into " + to;
      return false;
    }
  }
  if (ec) {
    *error = "list " + from + ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace ebb::testing
