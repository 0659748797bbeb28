// Copyright ebb authors.
//
// A RocksDB FileSystem that makes chosen file operations fail: writes, syncs,
// reads or deletions, of files whose name contains a given text, from the N-th
// such operation on, once or until healed; a write can fail as a full disk
// (NoSpace). Everything else goes to the real (default) file system, so the
// files on disk are real and a store can be reopened on them afterwards
// without faults. Thread-safe: RocksDB's background threads go through it
// too.
//
//   auto fs = std::make_shared<FaultFileSystem>();
//   std::unique_ptr<rocksdb::Env> env = FaultFileSystem::NewEnv(fs);
//   ... open a store on env.get() (internal::StoreTestingHooks) ...
//   fs->Arm({.op = FaultOp::kWrite, .after = 3, .no_space = true});
//   ... the 4th write from now, and every one after it, fails ...
//   fs->Heal();
//
// It also keeps track of how much of each file it wrote has been synced, so
// that a test can take what a power cut at that moment would leave behind:
// CopyDurableState copies a store's directory, each file cut to its synced
// length (files this file system never wrote are copied whole). Simplified:
// creations, renames and deletions are taken as durable at once (RocksDB
// syncs the directory after them; this does not model losing them).

#ifndef EBB_TESTS_FAULT_FS_H_
#define EBB_TESTS_FAULT_FS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace ebb::testing {

enum class FaultOp { kWrite, kSync, kRead, kDelete };

struct FaultPlan {
  FaultOp op = FaultOp::kWrite;
  // How many matching operations succeed before the first failure.
  int64_t after = 0;
  // Keep failing every matching operation until Heal(); else fail once.
  bool sticky = true;
  // For writes: fail as a full disk (IOStatus::NoSpace) instead of IOError.
  bool no_space = false;
  // Only files whose name contains this ("" for all): ".sst", ".log",
  // "MANIFEST", ...
  std::string file_contains;
};

class FaultFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultFileSystem();

  const char* Name() const override { return "ebb.FaultFileSystem"; }

  // An Env whose file operations go through `fs`. The Env holds a reference
  // to it.
  static std::unique_ptr<rocksdb::Env> NewEnv(
      std::shared_ptr<FaultFileSystem> fs);

  void Arm(FaultPlan plan);
  void Heal();
  // Operations seen so far, per kind (counted whether or not armed).
  int64_t operations(FaultOp op) const;
  // Failures injected so far, and the file the first one hit.
  int64_t injected() const;
  std::string first_injected_file() const;

  // Copies the files of directory `from` into `to` (created), each cut to
  // the length a power cut now would leave. False (with a message in *error)
  // if a file cannot be read or written.
  bool CopyDurableState(const std::string& from, const std::string& to,
                        std::string* error) const;

  // Called by the file wrappers: the status the operation returns instead of
  // running, or nullopt to let it run.
  std::optional<rocksdb::IOStatus> Intercept(FaultOp op,
                                             const std::string& file);
  // Called by the file wrappers after a write or sync went through.
  void Written(const std::string& file, uint64_t end);
  void Synced(const std::string& file);
  void Tracked(const std::string& file, uint64_t durable_size);

  rocksdb::IOStatus NewSequentialFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSSequentialFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomAccessFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewWritableFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(
      const std::string& fname, const std::string& old_fname,
      const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src,
                               const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

 private:
  struct Lengths {
    uint64_t written = 0;
    uint64_t synced = 0;
  };
  mutable absl::Mutex mu_;
  std::optional<FaultPlan> plan_ ABSL_GUARDED_BY(mu_);
  int64_t seen_[4] ABSL_GUARDED_BY(mu_) = {0, 0, 0, 0};
  int64_t injected_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_injected_file_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Lengths> files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ebb::testing

#endif  // EBB_TESTS_FAULT_FS_H_
