// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: parallel_delete_fs.h
// -----------------------------------------------------------------------------
//
// A RocksDB file system that, while asked to, deletes SST files on a few
// threads of its own instead of in the caller.
//
// The nightly purge drops whole SST files; RocksDB then deletes them one after
// the other in the thread that resumes file deletions. On a file system
// mounted with `discard` each unlink waits for the device: the 2 881 files of
// purge_bench's backlog took 0.5 s, the longest step of the purge, and the
// same unlinks from Python took 0.42 s on one thread, 0.32-0.39 s on four
// and 0.27-0.35 s on eight (the store uses eight; bench/README.md). Between
// BeginParallelDeletes and EndParallelDeletes, DeleteFile of a ".sst" file
// queues the file and returns at once; EndParallelDeletes waits until every
// queued file is deleted. RocksDB never reuses a file number, so a file it
// believes deleted is never recreated under the same name meanwhile. A deletion
// that fails makes the purge fail; the file, which RocksDB no longer tracks, is
// deleted by the full scan for obsolete files that ends the next purge.

#ifndef EBB_INTERNAL_PARALLEL_DELETE_FS_H_
#define EBB_INTERNAL_PARALLEL_DELETE_FS_H_

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/file_system.h"

namespace ebb::internal {

class ParallelDeleteFileSystem : public rocksdb::FileSystemWrapper {
 public:
  // Deletes through `base`, on `threads` threads while parallel deletes are
  // on.
  ParallelDeleteFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base,
                           int threads);
  ~ParallelDeleteFileSystem() override;

  const char* Name() const override { return "ebb.ParallelDeleteFileSystem"; }

  rocksdb::IOStatus DeleteFile(const std::string& path,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

  // Starts the threads; from now on SST files are deleted on them. One
  // Begin/End pair at a time.
  void BeginParallelDeletes();
  // Waits until every queued file is deleted and stops the threads. The first
  // deletion that failed, if any.
  absl::Status EndParallelDeletes();

 private:
  void Work();
  bool WorkReady() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || stopping_;
  }

  absl::Mutex mu_;
  bool parallel_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  const int thread_count_;
  std::vector<std::thread> threads_;  // only Begin/End touch it
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_PARALLEL_DELETE_FS_H_
