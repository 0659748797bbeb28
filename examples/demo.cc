// Copyright ebb authors.
//
// The ebb demo: three tenants keep chat transcripts for 1 day, 7 days and 30
// days. Over 40 simulated days (a ManualClock: nothing sleeps) each tenant has
// a conversation every few days; at checkpoints the demo shows what reads
// return, changes a policy, and at the end compacts and counts what is left on
// disk.
//
// It checks its own claims: it exits non-zero if any read returns a message
// older than its tenant's retention, or if compaction leaves an expired record.
//
// Usage: demo [DIR]   (default: a new directory under /tmp)

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/duration.h"
#include "lib/ebb/json.h"
#include "lib/ebb/store.h"

namespace {

struct Tenant {
  std::string id;
  absl::Duration ttl;
};

const absl::Duration kDay = absl::Hours(24);

int failures = 0;

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::cout << "  !! CHECK FAILED: " << what << "\n";
    ++failures;
  }
}

template <typename T>
T OrDie(absl::StatusOr<T> value, absl::string_view what) {
  if (!value.ok()) {
    std::cerr << "demo: " << what << ": " << value.status() << "\n";
    std::exit(1);
  }
  return *std::move(value);
}

void OrDie(const absl::Status& status, absl::string_view what) {
  if (!status.ok()) {
    std::cerr << "demo: " << what << ": " << status << "\n";
    std::exit(1);
  }
}

std::string Day(absl::Time t, absl::Time start) {
  return absl::StrFormat("day %d", absl::ToInt64Hours(t - start) / 24);
}

// What a reader of `tenant` sees now: each conversation and its message count.
void ShowReads(ebb::Store& store, const Tenant& tenant, absl::Time now,
               absl::Time start, absl::Duration ttl_in_force) {
  auto conversations =
      OrDie(store.ListConversations(tenant.id, "user-1"), "list");
  std::vector<std::string> shown;
  for (const ebb::ConversationInfo& info : conversations) {
    auto messages =
        OrDie(store.ReadConversation(tenant.id, info.conversation), "read");
    for (const ebb::v1::Message& m : messages) {
      const absl::Time created =
          absl::FromUnixSeconds(m.created_at().seconds());
      Check(now - created <= ttl_in_force,
            absl::StrCat(tenant.id, " returned a message ",
                         absl::FormatDuration(now - created), " old"));
    }
    shown.push_back(absl::StrCat(info.conversation, "(", messages.size(), ")"));
  }
  std::cout << absl::StrFormat(
      "  %-9s ttl %-4s sees %2d conversations: %s\n", tenant.id,
      ebb::FormatRetentionDuration(ttl_in_force), shown.size(),
      shown.empty() ? "-" : absl::StrJoin(shown, " "));
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  if (argc > 1) {
    dir = argv[1];
  } else {
    std::string templ = "/tmp/ebb-demo-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      std::perror("demo: mkdtemp");
      return 1;
    }
    dir = templ + "/store";
  }

  const absl::Time start =
      absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone());
  auto clock = std::make_shared<ebb::ManualClock>(start);
  ebb::Options options;
  options.clock = clock;
  auto store = OrDie(ebb::Store::Open(options, dir), "open");

  std::vector<Tenant> tenants = {
      {"bakery", kDay}, {"clinic", 7 * kDay}, {"retailer", 30 * kDay}};
  std::cout
      << "ebb demo: store in " << dir << "\n\n"
      << "Setting each tenant's transcript retention (the default is 30d):\n";
  for (const Tenant& t : tenants) {
    auto policy =
        OrDie(store->SetPolicy(t.id, ebb::v1::CATEGORY_TRANSCRIPT, t.ttl),
              "set policy");
    std::cout << "  " << t.id << ": transcripts kept "
              << ebb::FormatRetentionDuration(policy.rules[0].ttl) << "\n";
  }

  // Day by day: every tenant's user-1 opens a conversation every 3 days, with
  // three messages a few minutes apart. At checkpoints, show the reads.
  const std::vector<int> checkpoints = {0, 1, 8, 20, 39};
  int64_t appended = 0;
  for (int day = 0; day < 40; ++day) {
    clock->Set(start + day * kDay + absl::Hours(9));
    if (day % 3 == 0) {
      for (const Tenant& t : tenants) {
        std::vector<ebb::v1::Message> batch;
        for (int seq = 1; seq <= 3; ++seq) {
          ebb::v1::Message m;
          m.set_tenant(t.id);
          m.set_user("user-1");
          m.set_conversation(absl::StrFormat("d%02d", day));
          m.set_seq(seq);
          m.set_role(seq == 2 ? ebb::v1::ROLE_ASSISTANT : ebb::v1::ROLE_USER);
          m.set_text(seq == 2 ? "Happy to help with that."
                              : "I have a question.");
          m.mutable_created_at()->set_seconds(
              absl::ToUnixSeconds(clock->Now() + absl::Minutes(seq)) - 600);
          batch.push_back(m);
        }
        OrDie(store->AppendBatch(batch), "append");
        appended += batch.size();
      }
    }
    if (day == 20) {
      // The clinic tightens its policy: older transcripts expire at once.
      std::cout
          << "\nday 20: clinic shortens its transcript TTL from 7d to 3d\n";
      OrDie(store->SetPolicy("clinic", ebb::v1::CATEGORY_TRANSCRIPT, 3 * kDay),
            "shorten");
      tenants[1].ttl = 3 * kDay;
    }
    if (day == 30) {
      // The bakery relaxes its policy: nothing that expired comes back.
      std::cout
          << "\nday 30: bakery lengthens its transcript TTL from 1d to 14d "
             "(expired data stays expired)\n";
      OrDie(store->SetPolicy("bakery", ebb::v1::CATEGORY_TRANSCRIPT, 14 * kDay),
            "lengthen");
      tenants[0].ttl = 14 * kDay;
      auto old = OrDie(store->ReadConversation("bakery", "d27"), "read");
      Check(old.empty(),
            "bakery's day-27 conversation came back after lengthening");
    }
    for (int checkpoint : checkpoints) {
      if (day != checkpoint) continue;
      clock->Set(start + day * kDay + absl::Hours(12));
      std::cout << "\n" << Day(clock->Now(), start) << " (noon):\n";
      for (const Tenant& t : tenants) {
        // Reads are checked against the TTL in force; after the bakery's
        // lengthening, only conversations written after day 29 can be older
        // than 1 day.
        ShowReads(*store, t, clock->Now(), start, t.ttl);
      }
    }
  }

  clock->Set(start + 40 * kDay);
  auto before = OrDie(store->Stats(), "stats");
  std::cout << "\nday 40: " << appended
            << " messages were appended; on disk: " << before.messages_live
            << " live, " << before.messages_expired
            << " expired but not yet compacted away\n";
  OrDie(store->CompactAll(), "compact");
  auto after = OrDie(store->Stats(), "stats");
  std::cout << "after a full compaction: " << after.messages_live << " live, "
            << after.messages_expired << " expired on disk ("
            << after.filter_dropped_expired
            << " records dropped by the compaction filter, " << after.sst_files
            << " SST files, " << after.sst_bytes << " bytes)\n";
  Check(after.messages_expired == 0 && after.index_entries_expired == 0,
        "compaction left expired records on disk");
  Check(after.messages_live == before.messages_live,
        "compaction changed the number of live messages");

  OrDie(store->Close(), "close");
  if (failures > 0) {
    std::cout << "\n" << failures << " check(s) FAILED\n";
    return 1;
  }
  std::cout
      << "\nAll checks passed: no read returned expired data, and none is "
         "left on disk.\n";
  return 0;
}
