// Copyright ebb authors.
//
// The child of crash_test: carries out Workload(SEED, COUNT, START) against
// the store in STORE, printing "begin K" before operation K and "done K CODE"
// (absl::StatusCode name, "OK" on success) once it has returned, each line
// flushed before the next step. The parent SIGKILLs it at a random moment.
//
// Usage: crash_child STORE SEED COUNT START_UNIX_SECONDS

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/store.h"
#include "tests/crash/crash_workload.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr,
                 "usage: crash_child STORE SEED COUNT START_UNIX_SECONDS\n");
    return 2;
  }
  const uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  const int count = std::atoi(argv[3]);
  const absl::Time start = absl::FromUnixSeconds(std::atoll(argv[4]));
  const std::vector<ebb::crash::Op> ops =
      ebb::crash::Workload(seed, count, start);
  auto clock = std::make_shared<ebb::ManualClock>(start);
  absl::StatusOr<std::unique_ptr<ebb::Store>> store =
      ebb::Store::Open(ebb::crash::CrashOptions(clock), argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  for (int k = 0; k < count; ++k) {
    std::printf("begin %d\n", k);
    std::fflush(stdout);
    const absl::Status s = ebb::crash::Apply(**store, *clock, ops[k]);
    std::printf("done %d %s\n", k, absl::StatusCodeToString(s.code()).c_str());
    std::fflush(stdout);
  }
  std::printf("finished\n");
  std::fflush(stdout);
  return (*store)->Close().ok() ? 0 : 1;
}
