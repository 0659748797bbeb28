// Copyright ebb authors.
//
// `ebb`: the command line for an ebb store. A thin main(): parse flags (CLI11),
// build Options, call the library, print JSON, map the Status to an exit code.
//
// Exit codes (exit_codes.h): 0 success; 1 the store refused or failed the
// operation (for ingest, some lines were rejected; for audit verify, the ledger
// does not verify); 2 usage error (unknown flag, bad flag value, missing
// argument).

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/ebb/clock.h"
#include "lib/ebb/duration.h"
#include "lib/ebb/json.h"
#include "lib/ebb/options.h"
#include "lib/ebb/report_json.h"
#include "lib/ebb/store.h"
#include "tools/ebb/exit_codes.h"
#include "tools/ebb/line_reader.h"
#include "tools/ebb/privacy_commands.h"
#include "tools/ebb/purge_commands.h"

namespace ebb {
namespace {

// A JSON line may escape every byte of a 1 MiB message (\u00XX is 6 bytes), so
// allow well above max_message_bytes; the store enforces the real limit.
constexpr size_t kMaxLineBytes = 8 << 20;
constexpr size_t kIngestBatch = 1000;

struct Flags {
  std::string db;
  std::string now;
  std::string day_start;
  // ingest
  std::string file = "-";
  // get / list / policy
  std::string tenant;
  std::string conversation;
  std::string user;
  std::string ttl;
  std::string category = "transcript";
  // Parsed from ttl and category before the store is opened, so that a usage
  // error never creates or touches a store.
  absl::Duration parsed_ttl;
  v1::DataCategory parsed_category = v1::CATEGORY_TRANSCRIPT;
};

int Usage(absl::string_view message) {
  std::cerr << "ebb: " << message
            << "\nRun 'ebb --help' or 'ebb SUBCOMMAND --help' for usage.\n";
  return kExitUsage;
}

// Options from the global flags; a usage error is returned as InvalidArgument.
absl::StatusOr<Options> MakeOptions(const Flags& flags) {
  Options options;
  if (!flags.now.empty()) {
    absl::StatusOr<absl::Time> now = ParseRfc3339(flags.now);
    if (!now.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--now: ", now.status().message()));
    }
    options.clock = std::make_shared<ManualClock>(*now);
  }
  if (!flags.day_start.empty()) {
    absl::StatusOr<absl::Duration> day_start = ParseTimeOfDay(flags.day_start);
    if (!day_start.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--day-start: ", day_start.status().message()));
    }
    options.day_start = *day_start;
  }
  return options;
}

// Appends `batch` in one atomic write; if the store refuses it because of one
// message, appends one by one so that every valid line is stored and each bad
// one is reported. Returns a non-OK status only for failures that are not about
// a message (I/O, a closed store), which end the ingest.
absl::Status FlushBatch(Store& store, std::vector<v1::Message>& batch,
                        std::vector<int64_t>& lines,
                        std::vector<std::pair<int64_t, std::string>>& rejected,
                        int64_t& accepted) {
  if (batch.empty()) return absl::OkStatus();
  auto is_about_the_message = [](const absl::Status& s) {
    return s.code() == absl::StatusCode::kInvalidArgument ||
           s.code() == absl::StatusCode::kFailedPrecondition;
  };
  absl::Status status = store.AppendBatch(batch);
  if (status.ok()) {
    accepted += batch.size();
  } else if (!is_about_the_message(status)) {
    return status;
  } else {
    for (size_t i = 0; i < batch.size(); ++i) {
      absl::Status one = store.Append(batch[i]);
      if (one.ok()) {
        ++accepted;
      } else if (is_about_the_message(one)) {
        rejected.emplace_back(lines[i], std::string(absl::StripPrefix(
                                            one.message(), "append: ")));
      } else {
        return one;
      }
    }
  }
  batch.clear();
  lines.clear();
  return absl::OkStatus();
}

int RunIngest(Store& store, const Flags& flags) {
  std::FILE* file = stdin;
  if (flags.file != "-") {
    file = std::fopen(flags.file.c_str(), "rb");
    if (file == nullptr) {
      return Fail("ingest", absl::NotFoundError(
                                absl::StrCat("cannot open \"", flags.file,
                                             "\": ", std::strerror(errno))));
    }
  }
  LineReader reader(file, kMaxLineBytes);
  std::vector<v1::Message> batch;
  std::vector<int64_t> lines;
  // Errors of the lines in the current batch, printed in line order once the
  // batch is written (append errors are only known then).
  std::vector<std::pair<int64_t, std::string>> rejected;
  int64_t accepted = 0, rejected_total = 0;
  absl::Status fatal;
  auto flush = [&]() {
    fatal = FlushBatch(store, batch, lines, rejected, accepted);
    std::sort(rejected.begin(), rejected.end());
    for (const auto& [line, reason] : rejected) {
      std::cerr << "line " << line << ": " << reason << "\n";
    }
    rejected_total += rejected.size();
    rejected.clear();
  };
  std::string line;
  int64_t line_number = 0;
  while (fatal.ok()) {
    const LineReader::Result result = reader.Next(&line, &line_number);
    if (result == LineReader::Result::kEof) break;
    if (result == LineReader::Result::kError) {
      fatal = absl::UnavailableError(
          absl::StrCat("read error at line ", line_number, ": ",
                       std::strerror(reader.error_number())));
      break;
    }
    if (result == LineReader::Result::kTooLong) {
      rejected.emplace_back(line_number, absl::StrCat("line is longer than ",
                                                      kMaxLineBytes, " bytes"));
      continue;
    }
    if (absl::StripAsciiWhitespace(line).empty()) continue;  // blank lines
    absl::StatusOr<v1::Message> message = ParseMessageJson(line);
    if (!message.ok()) {
      rejected.emplace_back(line_number,
                            std::string(message.status().message()));
      continue;
    }
    batch.push_back(*std::move(message));
    lines.push_back(line_number);
    if (batch.size() >= kIngestBatch) flush();
  }
  if (fatal.ok()) flush();
  if (file != stdin) std::fclose(file);
  std::cout << "{\"accepted\":" << accepted
            << ",\"rejected\":" << rejected_total << "}\n";
  if (!fatal.ok()) return Fail("ingest", fatal);
  return rejected_total == 0 ? kExitOk : kExitFailed;
}

int RunGet(Store& store, const Flags& flags) {
  absl::StatusOr<std::vector<v1::Message>> messages =
      store.ReadConversation(flags.tenant, flags.conversation);
  if (!messages.ok()) return Fail("get", messages.status());
  for (const v1::Message& m : *messages) std::cout << MessageToJson(m) << "\n";
  return kExitOk;
}

int RunList(Store& store, const Flags& flags) {
  absl::StatusOr<std::vector<ConversationInfo>> list =
      store.ListConversations(flags.tenant, flags.user);
  if (!list.ok()) return Fail("list", list.status());
  for (const ConversationInfo& info : *list) {
    std::cout << ConversationInfoToJson(flags.tenant, flags.user, info) << "\n";
  }
  return kExitOk;
}

int RunPolicySet(Store& store, const Flags& flags) {
  absl::StatusOr<TenantPolicy> policy =
      store.SetPolicy(flags.tenant, flags.parsed_category, flags.parsed_ttl);
  if (!policy.ok()) return Fail("policy set", policy.status());
  std::cout << PolicyToJson(*policy) << "\n";
  return kExitOk;
}

int RunPolicyGet(Store& store, const Flags& flags) {
  absl::StatusOr<TenantPolicy> policy = store.GetPolicy(flags.tenant);
  if (!policy.ok()) return Fail("policy get", policy.status());
  std::cout << PolicyToJson(*policy) << "\n";
  return kExitOk;
}

int RunPolicyList(Store& store) {
  absl::StatusOr<std::vector<TenantPolicy>> policies = store.ListPolicies();
  if (!policies.ok()) return Fail("policy list", policies.status());
  for (const TenantPolicy& p : *policies) std::cout << PolicyToJson(p) << "\n";
  return kExitOk;
}

int RunPolicyHistory(Store& store, const Flags& flags) {
  absl::StatusOr<std::vector<TenantPolicy>> history =
      store.PolicyHistory(flags.tenant);
  if (!history.ok()) return Fail("policy history", history.status());
  for (const TenantPolicy& p : *history) std::cout << PolicyToJson(p) << "\n";
  return kExitOk;
}

int RunStats(Store& store) {
  absl::StatusOr<StoreStats> stats = store.Stats();
  if (!stats.ok()) return Fail("stats", stats.status());
  std::cout << StatsToJson(*stats) << "\n";
  return kExitOk;
}

int RunCompact(Store& store) {
  if (absl::Status s = store.CompactAll(); !s.ok()) return Fail("compact", s);
  return RunStats(store);
}

int Main(int argc, char** argv) {
  Flags flags;
  CLI::App app{
      "ebb: chat transcripts kept exactly as long as each tenant's retention "
      "policy allows.\n\n"
      "Exit codes: 0 success; 1 the store refused or failed the operation (for "
      "ingest: some lines were rejected; for audit verify: the ledger does not "
      "verify); 2 usage error.",
      "ebb"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the subcommand
  app.add_option("--db", flags.db,
                 "Store directory; 'ingest' and 'policy set' create it if "
                 "missing, other commands require it to exist")
      ->required()
      ->type_name("DIR");
  app.add_option("--now", flags.now,
                 "Act as if the time were this RFC 3339 instant, e.g. "
                 "2026-03-01T00:00:00Z (default: the wall clock)")
      ->type_name("RFC3339");
  app.add_option(
         "--day-start", flags.day_start,
         "Time of day (UTC) at which a new store's days begin, e.g. 02:00: "
         "set it a little after the nightly purge runs, so that the purge "
         "rewrites little (default 00:00). A store keeps its own for life: "
         "given for an existing store, it must match ('ebb stats' shows it)")
      ->type_name("HH:MM");

  CLI::App* ingest = app.add_subcommand(
      "ingest",
      "Store messages from JSON lines (fields tenant, user, conversation, seq, "
      "role, text, created_at; optional category, metadata). Prints "
      "{\"accepted\":N,\"rejected\":M}; each rejected line is reported on "
      "stderr as 'line K: reason'. Valid lines are stored even when others are "
      "rejected. Exit 0 only if every line was accepted.");
  ingest->add_option("file", flags.file, "JSON-lines file, or - for stdin")
      ->type_name("FILE|-");

  CLI::App* get = app.add_subcommand(
      "get",
      "Print a conversation's unexpired messages as JSON lines, in seq order");
  get->add_option("--tenant", flags.tenant, "Tenant id")->required();
  get->add_option("--conversation", flags.conversation, "Conversation id")
      ->required();

  CLI::App* list = app.add_subcommand("list",
                                      "Print a user's conversations that still "
                                      "have unexpired messages, as JSON "
                                      "lines");
  list->add_option("--tenant", flags.tenant, "Tenant id")->required();
  list->add_option("--user", flags.user, "End-user id")->required();

  CLI::App* policy =
      app.add_subcommand("policy", "Tenants' retention policies");
  policy->require_subcommand(1);
  CLI::App* policy_set = policy->add_subcommand(
      "set",
      "Set a tenant's TTL for one category from now on; prints the policy in "
      "force. Shortening expires older data at once; lengthening never brings "
      "expired data back.");
  policy_set->add_option("--tenant", flags.tenant, "Tenant id")->required();
  policy_set
      ->add_option("--ttl", flags.ttl,
                   "Time to live: d/h/m/s parts (7d, 36h, 1d12h, 90m) or "
                   "'forever' where the operator allows it")
      ->required();
  policy_set
      ->add_option("--category", flags.category,
                   "transcript (default), training_example or diagnostic_log")
      ->capture_default_str();
  CLI::App* policy_get =
      policy->add_subcommand("get", "Print the policy in force for a tenant");
  policy_get->add_option("--tenant", flags.tenant, "Tenant id")->required();
  CLI::App* policy_list = policy->add_subcommand(
      "list", "Print every tenant's own policy as JSON lines");
  CLI::App* policy_history = policy->add_subcommand(
      "history", "Print every version of a tenant's policy, oldest first");
  policy_history->add_option(
      "--tenant", flags.tenant,
      "Tenant id (omit for the operator's default policy)");

  CLI::App* stats = app.add_subcommand(
      "stats",
      "Scan the store and print what it holds as JSON: live, expired (not yet "
      "compacted away) and undecodable records, tenants, policies, SST files");
  CLI::App* compact = app.add_subcommand(
      "compact",
      "Force a full compaction so every expired record leaves the disk, then "
      "print stats as 'ebb stats' does");
  PrivacyCommands privacy(app);
  PurgeCommands purge(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Usage(e.what());
  }

  if (policy_set->parsed()) {
    absl::StatusOr<absl::Duration> ttl = ParseRetentionDuration(flags.ttl);
    if (!ttl.ok())
      return Usage(absl::StrCat("--ttl: ", ttl.status().message()));
    absl::StatusOr<v1::DataCategory> category = ParseCategory(flags.category);
    if (!category.ok()) {
      return Usage(absl::StrCat("--category: ", category.status().message()));
    }
    flags.parsed_ttl = *ttl;
    flags.parsed_category = *category;
  }
  if (absl::Status s = privacy.Check(); !s.ok()) return Usage(s.message());
  if (absl::Status s = purge.Check(); !s.ok()) return Usage(s.message());
  absl::StatusOr<Options> options = MakeOptions(flags);
  if (!options.ok()) return Usage(options.status().message());
  // A read of a mistyped path must not leave an empty store behind.
  options->create_if_missing = ingest->parsed() || policy_set->parsed();
  absl::StatusOr<std::unique_ptr<Store>> opened =
      Store::Open(*options, flags.db);
  if (!opened.ok()) return Fail("open", opened.status());
  Store& store = **opened;

  int code = kExitUsage;
  if (ingest->parsed())
    code = RunIngest(store, flags);
  else if (get->parsed())
    code = RunGet(store, flags);
  else if (list->parsed())
    code = RunList(store, flags);
  else if (policy_set->parsed())
    code = RunPolicySet(store, flags);
  else if (policy_get->parsed())
    code = RunPolicyGet(store, flags);
  else if (policy_list->parsed())
    code = RunPolicyList(store);
  else if (policy_history->parsed())
    code = RunPolicyHistory(store, flags);
  else if (stats->parsed())
    code = RunStats(store);
  else if (compact->parsed())
    code = RunCompact(store);
  else if (privacy.parsed())
    code = privacy.Run(store);
  else if (purge.parsed())
    code = purge.Run(store);

  if (absl::Status closed = store.Close(); !closed.ok() && code == kExitOk) {
    return Fail("close", closed);
  }
  // RocksDB's MANIFEST lists every SST file the database has had since it
  // was opened, with the file's first and last key, which can be a purged
  // conversation's or user's id; it writes a new one, listing only the files
  // that remain, when a database is opened. So after deleting data, the
  // store is opened once more.
  if (code == kExitOk && (purge.deletes() || compact->parsed())) {
    options->create_if_missing = false;
    absl::StatusOr<std::unique_ptr<Store>> reopened =
        Store::Open(*options, flags.db);
    if (!reopened.ok()) return Fail("reopen", reopened.status());
    if (absl::Status closed = (*reopened)->Close(); !closed.ok()) {
      return Fail("close", closed);
    }
  }
  std::cout.flush();
  return code;
}

}  // namespace
}  // namespace ebb

int main(int argc, char** argv) { return ebb::Main(argc, argv); }
