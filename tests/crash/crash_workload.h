// Copyright ebb authors.
//
// The operations of the crash test, generated from a seed: the child process
// (crash_child) carries them out against a store and reports each one it
// completed; the parent (crash_test) generates the same list to know what the
// reported operations did, SIGKILLs the child at a random moment and checks
// the reopened store against that model.
//
// The mix: appends of message batches to new and existing conversations,
// erasures of conversations and users, policy changes, legal holds set and
// lifted, and nightly purges, with the clock moving minutes to days between
// them, so that data expires, erasures meet holds, and purges drop files.

#ifndef EBB_TESTS_CRASH_CRASH_WORKLOAD_H_
#define EBB_TESTS_CRASH_CRASH_WORKLOAD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ebb/v1/message.pb.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/options.h"
#include "lib/ebb/store.h"

namespace ebb::crash {

enum class OpKind {
  kAppend,             // messages: one batch of one conversation
  kEraseConversation,  // tenant, conversation
  kEraseUser,          // tenant, user
  kSetPolicy,          // tenant, ttl (transcripts)
  kSetHold,            // tenant, user
  kClearHold,          // tenant, user
  kPurge,
};

struct Op {
  OpKind kind = OpKind::kAppend;
  absl::Time now;  // the clock while the operation runs
  std::string tenant;
  std::string user;
  std::string conversation;
  std::vector<v1::Message> messages;
  absl::Duration ttl;
  std::string request_id;  // erasures: unique per operation
};

// `count` operations for `seed`, starting at `start`; always the same list
// for the same arguments.
std::vector<Op> Workload(uint64_t seed, int count, absl::Time start);

// The options the child writes with and the parent reopens with.
Options CrashOptions(std::shared_ptr<ManualClock> clock);

// Sets the clock to op.now and carries the operation out.
absl::Status Apply(Store& store, ManualClock& clock, const Op& op);

}  // namespace ebb::crash

#endif  // EBB_TESTS_CRASH_CRASH_WORKLOAD_H_
