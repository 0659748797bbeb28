// Copyright ebb authors.
//
// Helpers shared by the integration tests: a fresh directory per test, message
// builders, and a raw RocksDB view of a store's directory for checking what is
// physically on disk (independently of ebb's own read path).

#ifndef EBB_TESTS_TEST_UTIL_H_
#define EBB_TESTS_TEST_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ebb/v1/message.pb.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/options.h"
#include "lib/ebb/store.h"

namespace ebb::testing {

// 2026-01-01T00:00:00Z: the start of simulated time in tests.
absl::Time T0();

inline absl::Duration Days(int64_t n) { return absl::Hours(24 * n); }

// A new empty directory under TEST_TMPDIR, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

v1::Message MakeMessage(const std::string& tenant, const std::string& user,
                        const std::string& conversation, uint64_t seq,
                        absl::Time created_at, const std::string& text = "hi",
                        v1::DataCategory category = v1::CATEGORY_TRANSCRIPT);

// Options with a ManualClock at `now`, returned through `clock`.
Options TestOptions(std::shared_ptr<ManualClock>* clock, absl::Time now = T0());

// Every key RocksDB still holds in column family `cf` of the (closed) store at
// `path`, read with plain RocksDB in read-only mode. Includes expired records
// that have not been compacted away.
std::vector<std::string> RawKeys(const std::string& path,
                                 const std::string& cf);

// Overwrites the value of `key` in column family `cf` of the closed store at
// `path` with `value`, bypassing ebb (to plant corruption).
void RawPut(const std::string& path, const std::string& cf,
            const std::string& key, const std::string& value);

// Turns the closed store at `path` into one as written before the "deletable"
// column family: its records (holds, restrictions, pending erasures, requests,
// the purge worklist) copied into "default", the column family dropped.
void RewriteAsStoreBeforeDeletableFamily(const std::string& path);

// The live SST files of column family `cf` of the closed store at `path`,
// as paths, read with plain RocksDB in read-only mode.
std::vector<std::string> SstFilesOf(const std::string& path,
                                    const std::string& cf);

// Inverts the byte at `offset` of `file` (to plant corruption).
void FlipByte(const std::string& file, size_t offset);

// A child process whose standard output comes back through a pipe, for the
// crash tests. Not thread-safe.
class ChildProcess {
 public:
  // Starts `program` (a path relative to the test's working directory, the
  // runfiles root) with `args`.
  ChildProcess(const std::string& program,
               const std::vector<std::string>& args);
  // Kills the child if it still runs, and reaps it.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next line the child printed, without its newline; nullopt once its
  // output has ended.
  std::optional<std::string> ReadLine();
  // Everything it prints from now until its output ends.
  std::string ReadAll();
  // SIGKILL.
  void Kill();
  // Waits for it to end; its waitpid status.
  int Wait();

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  bool reaped_ = false;
  int status_ = 0;
};

// True if any file under `path` contains `needle` (a raw byte search of SSTs,
// WAL and logs).
bool AnyFileContains(const std::string& path, const std::string& needle);

// `n` letters that compress little (a fixed sequence per seed), so files are
// as large as what is written and stay searchable for the text.
std::string Scrambled(int n, uint32_t seed);
// True if `file` contains `needle` (a raw byte search).
bool FileContains(const std::string& file, const std::string& needle);

// How many records of `action` the store's audit ledger holds, by request id.
// Adds a test failure if the ledger cannot be read.
std::map<std::string, int> AuditRecordsByRequest(Store& store,
                                                 v1::AuditAction action);

// ReadConversation, after checking that ReadConversationSerialized returns
// the same messages in the same order as serialized bytes (adding a test
// failure where they differ), so every test that reads a conversation this way
// holds both read forms to the same rules.
absl::StatusOr<std::vector<v1::Message>> ReadBothWays(
    Store& store, const std::string& tenant, const std::string& conversation);

// Runs a purge and Verify, and expects the purge to complete and Verify to
// find nothing expired or erased on disk. `where` prefixes failures. Returns
// Verify's report (empty if it failed).
VerifyReport ExpectPurgeLeavesNothingOnDisk(Store& store,
                                            const std::string& where);

}  // namespace ebb::testing

#endif  // EBB_TESTS_TEST_UTIL_H_
