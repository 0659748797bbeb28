// Copyright ebb authors.

#include "tests/crash/crash_workload.h"

#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ebb::crash {
namespace {

constexpr int kTenants = 3;
constexpr int kUsersPerTenant = 5;

struct Conversation {
  std::string tenant, user, id;
  uint64_t next_seq = 1;
};

}  // namespace

Options CrashOptions(std::shared_ptr<ManualClock> clock) {
  Options options;
  options.clock = std::move(clock);
  // Small files, so that flushes, compactions and whole-file drops happen
  // within a few hundred operations.
  options.target_file_bytes = 64 << 10;
  return options;
}

std::vector<Op> Workload(uint64_t seed, int count, absl::Time start) {
  std::mt19937_64 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::vector<Conversation> conversations;
  std::set<std::pair<std::string, std::string>> held;  // (tenant, user)
  std::vector<Op> ops;
  absl::Time now = start;
  for (int k = 0; k < count; ++k) {
    Op op;
    const int roll = static_cast<int>(pick(100));
    now += roll >= 95 ? absl::Hours(24 * (1 + pick(2)))  // a day or two
                      : absl::Minutes(pick(90));
    op.now = now;
    op.tenant = absl::StrCat("t", pick(kTenants));
    op.user = absl::StrCat("u", pick(kUsersPerTenant));
    op.request_id = absl::StrCat("req-", k);
    if (roll < 55 || (roll >= 80 && roll < 85 && held.empty()) ||
        conversations.empty()) {
      op.kind = OpKind::kAppend;
      Conversation* c;
      if (conversations.empty() || pick(10) < 4) {
        conversations.push_back({op.tenant, op.user, absl::StrCat("c", k), 1});
        c = &conversations.back();
      } else {
        c = &conversations[pick(conversations.size())];
      }
      op.tenant = c->tenant;
      op.user = c->user;
      op.conversation = c->id;
      const int n = 1 + static_cast<int>(pick(5));
      // Created up to 10 hours before now: some of it expires within days.
      const absl::Time created = now - absl::Minutes(pick(600));
      for (int i = 0; i < n; ++i) {
        v1::Message& m = op.messages.emplace_back();
        m.set_tenant(c->tenant);
        m.set_user(c->user);
        m.set_conversation(c->id);
        m.set_seq(c->next_seq++);
        m.set_role(m.seq() % 2 == 1 ? v1::ROLE_USER : v1::ROLE_ASSISTANT);
        m.set_text(absl::StrFormat("op %d message %d %s", k, i,
                                   std::string(40 + pick(400), 'a' + k % 26)));
        m.mutable_created_at()->set_seconds(
            absl::ToUnixSeconds(created + absl::Seconds(i)));
        m.set_category(v1::CATEGORY_TRANSCRIPT);
      }
    } else if (roll < 62) {
      op.kind = OpKind::kEraseConversation;
      const Conversation& c = conversations[pick(conversations.size())];
      op.tenant = c.tenant;
      op.conversation = c.id;
    } else if (roll < 67) {
      op.kind = OpKind::kEraseUser;
    } else if (roll < 75) {
      op.kind = OpKind::kSetPolicy;
      const absl::Duration ttls[] = {absl::Hours(36), absl::Hours(24 * 3),
                                     absl::Hours(24 * 7)};
      op.ttl = ttls[pick(3)];
    } else if (roll < 80) {
      if (held.count({op.tenant, op.user}) > 0) {
        op.kind = OpKind::kClearHold;
        held.erase({op.tenant, op.user});
      } else {
        op.kind = OpKind::kSetHold;
        held.insert({op.tenant, op.user});
      }
    } else if (roll < 85) {
      op.kind = OpKind::kClearHold;
      auto it = held.begin();
      std::advance(it, pick(held.size()));
      op.tenant = it->first;
      op.user = it->second;
      held.erase(it);
    } else {
      op.kind = OpKind::kPurge;
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

absl::Status Apply(Store& store, ManualClock& clock, const Op& op) {
  clock.Set(op.now);
  EraseOptions erase;
  erase.request_id = op.request_id;
  switch (op.kind) {
    case OpKind::kAppend:
      return store.AppendBatch(op.messages);
    case OpKind::kEraseConversation:
      erase.reason = v1::OPERATOR;
      return store.EraseConversation(op.tenant, op.conversation, erase)
          .status();
    case OpKind::kEraseUser:
      erase.reason = v1::END_USER_REQUEST;
      return store.EraseUser(op.tenant, op.user, erase).status();
    case OpKind::kSetPolicy:
      return store.SetPolicy(op.tenant, v1::CATEGORY_TRANSCRIPT, op.ttl)
          .status();
    case OpKind::kSetHold:
      return store.SetHold(op.tenant, v1::SCOPE_USER, op.user, "crash test",
                           "legal");
    case OpKind::kClearHold:
      return store.ClearHold(op.tenant, v1::SCOPE_USER, op.user, "legal")
          .status();
    case OpKind::kPurge:
      return store.Purge(PurgeOptions()).status();
  }
  return absl::InternalError("unknown operation");
}

}  // namespace ebb::crash
