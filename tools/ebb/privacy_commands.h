// Copyright ebb authors.
//
// The `ebb` subcommands for data-subject rights and their proof: erase, hold,
// restrict, export, requests and audit. Registered on the main CLI11 app;
// flag values are checked right after parsing, before any store is opened, so
// a usage error never touches a store.

#ifndef EBB_TOOLS_EBB_PRIVACY_COMMANDS_H_
#define EBB_TOOLS_EBB_PRIVACY_COMMANDS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lib/ebb/store.h"

namespace ebb {

class PrivacyCommands {
 public:
  // Adds the subcommands to `app`.
  explicit PrivacyCommands(CLI::App& app);

  // Whether one of these subcommands was given.
  bool parsed() const;

  // Checks and converts flag values. InvalidArgument is a usage error.
  absl::Status Check();

  // Runs the parsed subcommand; returns the exit code.
  int Run(Store& store);

 private:
  int RunErase(Store& store);
  int RunExport(Store& store);
  int RunRequests(Store& store);
  int RunAudit(Store& store);

  CLI::App* erase_;
  CLI::App* hold_set_;
  CLI::App* hold_clear_;
  CLI::App* hold_list_;
  CLI::App* restrict_set_;
  CLI::App* restrict_clear_;
  CLI::App* export_;
  CLI::App* requests_list_;
  CLI::App* requests_open_;
  CLI::App* requests_extend_;
  CLI::App* audit_verify_;
  CLI::App* audit_export_;
  CLI::App* audit_find_;
  CLI::App* audit_trim_;

  std::string tenant_;
  std::string user_;
  std::string conversation_;
  bool all_ = false;
  std::string reason_;
  std::string by_;
  std::string request_id_;
  std::string received_at_;
  std::string kind_;
  std::string extend_by_;
  bool overdue_ = false;
  bool include_held_ = false;
  bool anonymise_ = false;

  // Converted by Check().
  v1::Scope scope_ = v1::SCOPE_UNSPECIFIED;
  std::string id_;
  v1::ErasureReason erasure_reason_ = v1::ERASURE_REASON_UNSPECIFIED;
  absl::Time parsed_received_at_ = absl::InfinitePast();
  absl::Duration parsed_extend_by_;
  v1::RequestKind parsed_kind_ = v1::REQUEST_KIND_UNSPECIFIED;
};

}  // namespace ebb

#endif  // EBB_TOOLS_EBB_PRIVACY_COMMANDS_H_
