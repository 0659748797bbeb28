// Copyright ebb authors.
//
// `ebb purge` and `ebb verify`: the nightly purge and the proof on disk.
// Registered on the main CLI11 app; flag values are checked before any store
// is opened.

#ifndef EBB_TOOLS_EBB_PURGE_COMMANDS_H_
#define EBB_TOOLS_EBB_PURGE_COMMANDS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "lib/ebb/store.h"

namespace ebb {

class PurgeCommands {
 public:
  explicit PurgeCommands(CLI::App& app);
  bool parsed() const { return purge_->parsed() || verify_->parsed(); }
  // Checks and converts flag values. InvalidArgument is a usage error.
  absl::Status Check();
  int Run(Store& store);
  // True if the command deleted data (a purge that was not a dry run).
  bool deletes() const { return purge_->parsed() && !options_.dry_run; }

 private:
  int RunPurge(Store& store);
  int RunVerify(Store& store);

  CLI::App* purge_;
  CLI::App* verify_;
  bool dry_run_ = false;
  std::string max_duration_;
  double rate_limit_mb_ = 0;
  std::string report_file_;
  std::string metrics_file_;
  PurgeOptions options_;
};

// The purge report as one JSON object (see PurgeReport), with per tenant and
// category totals.
std::string PurgeReportToJson(const PurgeReport& report);

// The purge report as Prometheus text exposition format, for node_exporter's
// textfile collector.
std::string PurgeReportToPrometheus(const PurgeReport& report);

}  // namespace ebb

#endif  // EBB_TOOLS_EBB_PURGE_COMMANDS_H_
