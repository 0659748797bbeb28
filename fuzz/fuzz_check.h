// Copyright ebb authors.
//
// The one assertion the fuzz targets use. A fuzz target must crash on a broken
// invariant (that is how libFuzzer and the corpus replay notice it), and must
// do so in every build mode: assert() vanishes under -DNDEBUG.

#ifndef EBB_FUZZ_FUZZ_CHECK_H_
#define EBB_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#include "google/protobuf/stubs/logging.h"

#define EBB_FUZZ_CHECK(condition, what)                                       \
  do {                                                                        \
    if (!(condition)) {                                                       \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n  (%s)\n", __FILE__, \
                   __LINE__, (what), #condition);                             \
      std::abort();                                                           \
    }                                                                         \
  } while (false)

// Protobuf logs an ERROR line for every string field with invalid UTF-8 it is
// asked to parse. Fuzzed bytes are full of them, and the flood would bury the
// one report that matters. Parse failures are still seen: through the return
// value of ParseFromArray, which every decoder checks.
inline const google::protobuf::LogSilencer kSilenceProtobufLogs;

#endif  // EBB_FUZZ_FUZZ_CHECK_H_
