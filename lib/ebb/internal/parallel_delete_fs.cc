// Copyright ebb authors.

#include "lib/ebb/internal/parallel_delete_fs.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ebb::internal {

ParallelDeleteFileSystem::ParallelDeleteFileSystem(
    const std::shared_ptr<rocksdb::FileSystem>& base, int threads)
    : rocksdb::FileSystemWrapper(base), thread_count_(threads) {}

ParallelDeleteFileSystem::~ParallelDeleteFileSystem() {
  EndParallelDeletes().IgnoreError();
}

rocksdb::IOStatus ParallelDeleteFileSystem::DeleteFile(
    const std::string& path, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  if (absl::EndsWith(path, ".sst")) {
    absl::MutexLock lock(&mu_);
    if (parallel_) {
      queue_.push_back(path);
      return rocksdb::IOStatus::OK();
    }
  }
  return target()->DeleteFile(path, options, dbg);
}

void ParallelDeleteFileSystem::BeginParallelDeletes() {
  {
    absl::MutexLock lock(&mu_);
    if (parallel_) return;
    parallel_ = true;
    stopping_ = false;
    first_error_ = absl::OkStatus();
  }
  for (int i = 0; i < thread_count_; ++i) {
    threads_.emplace_back([this] { Work(); });
  }
}

absl::Status ParallelDeleteFileSystem::EndParallelDeletes() {
  {
    absl::MutexLock lock(&mu_);
    if (!parallel_) return absl::OkStatus();
    // New deletions go straight to the file system again; the threads empty
    // the queue, then stop.
    parallel_ = false;
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  absl::MutexLock lock(&mu_);
  return first_error_;
}

void ParallelDeleteFileSystem::Work() {
  for (;;) {
    std::string path;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &ParallelDeleteFileSystem::WorkReady));
      if (queue_.empty()) return;  // stopping, and nothing left
      path = std::move(queue_.front());
      queue_.pop_front();
    }
    const rocksdb::IOStatus s =
        target()->DeleteFile(path, rocksdb::IOOptions(), nullptr);
    // Already gone is what was asked.
    if (!s.ok() && !s.IsNotFound() && !s.IsPathNotFound()) {
      absl::MutexLock lock(&mu_);
      if (first_error_.ok()) {
        first_error_ = absl::InternalError(
            absl::StrCat("delete \"", path, "\": ", s.ToString()));
      }
    }
  }
}

}  // namespace ebb::internal
