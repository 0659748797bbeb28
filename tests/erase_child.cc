// Copyright ebb authors.
//
// The child of erasure_crash_test: opens a store, erases one user and says so.
// The parent SIGKILLs it at a random moment; whatever the moment, the store
// must reopen with the erasure either complete and audited or not there at
// all.
//
// Usage: erase_child STORE TENANT USER UNIX_SECONDS

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "absl/time/time.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/options.h"
#include "lib/ebb/store.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: erase_child STORE TENANT USER UNIX_SECONDS\n");
    return 2;
  }
  ebb::Options options;
  options.clock = std::make_shared<ebb::ManualClock>(
      absl::FromUnixSeconds(std::atoll(argv[4])));
  options.create_if_missing = false;
  options.target_file_bytes = 64 << 10;
  absl::StatusOr<std::unique_ptr<ebb::Store>> store =
      ebb::Store::Open(options, argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::printf("opened\n");
  std::fflush(stdout);
  ebb::EraseOptions erase;
  erase.reason = ebb::v1::END_USER_REQUEST;
  erase.request_id = "crash-1";
  absl::StatusOr<ebb::EraseResult> result =
      (*store)->EraseUser(argv[2], argv[3], erase);
  if (!result.ok()) {
    std::fprintf(stderr, "erase: %s\n", result.status().ToString().c_str());
    return 1;
  }
  std::printf("erased %llu\n",
              static_cast<unsigned long long>(result->messages));
  std::fflush(stdout);
  return (*store)->Close().ok() ? 0 : 1;
}
