// Copyright ebb authors.

#include "tools/ebb/purge_commands.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/ebb/duration.h"
#include "lib/ebb/json.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/ebb/exit_codes.h"

namespace ebb {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void String(Writer& w, absl::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

struct Totals {
  uint64_t messages = 0, conversations = 0, bytes = 0, held_back = 0;
};

// Per (tenant, category), summed over creation days.
std::map<std::pair<std::string, int>, Totals> ByTenantAndCategory(
    const ExpiryReport& expiry) {
  std::map<std::pair<std::string, int>, Totals> out;
  for (const ExpiryGroup& g : expiry.groups) {
    Totals& t = out[{g.tenant, g.category}];
    t.messages += g.messages;
    t.conversations += g.conversations;
    t.bytes += g.bytes;
    t.held_back += g.held_back;
  }
  return out;
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  // Written beside and renamed, so a reader (node_exporter) never sees half.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      return absl::UnavailableError(
          absl::StrCat("cannot write \"", temporary, "\""));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot rename \"", temporary, "\" to \"", path, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

std::string PurgeReportToJson(const PurgeReport& r) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("now");
  String(w, FormatRfc3339(r.now));
  w.Key("dry_run");
  w.Bool(r.dry_run);
  w.Key("complete");
  w.Bool(r.complete);
  w.Key("tenants");
  w.StartArray();
  for (const auto& [key, t] : ByTenantAndCategory(r.expiry)) {
    w.StartObject();
    w.Key("tenant");
    String(w, key.first);
    w.Key("category");
    String(w, CategoryName(static_cast<v1::DataCategory>(key.second)));
    w.Key("messages");
    w.Uint64(t.messages);
    w.Key("conversations");
    w.Uint64(t.conversations);
    w.Key("bytes");
    w.Uint64(t.bytes);
    w.Key("held_back");
    w.Uint64(t.held_back);
    w.EndObject();
  }
  w.EndArray();
  const std::pair<const char*, uint64_t> counts[] = {
      {"messages", r.expiry.messages},
      {"bytes", r.expiry.bytes},
      {"held_back", r.expiry.held_back},
      {"ranges_counted_from_files", r.expiry.ranges_counted_from_files},
      {"ranges_read", r.expiry.ranges_read},
      {"ranges_compacted", r.ranges_compacted},
      {"ranges_pending", r.ranges_pending},
      {"files_dropped", r.files_dropped},
      {"bytes_dropped", r.bytes_dropped},
      {"bytes_rewritten", r.bytes_rewritten},
      {"bytes_rewritten_messages", r.bytes_rewritten_messages},
      {"bytes_rewritten_index", r.bytes_rewritten_index},
      {"bytes_rewritten_metadata", r.bytes_rewritten_metadata},
      {"background_bytes_written", r.background_bytes_written},
      {"sst_bytes_before", r.sst_bytes_before},
      {"sst_bytes_after", r.sst_bytes_after},
      {"audit_first_seq", r.audit_first_seq},
      {"audit_last_seq", r.audit_last_seq}};
  for (const auto& [name, value] : counts) {
    w.Key(name);
    w.Uint64(value);
  }
  w.Key("duration_seconds");
  w.Double(absl::ToDoubleSeconds(r.duration));
  w.Key("waited_for_compactions_seconds");
  w.Double(absl::ToDoubleSeconds(r.waited_for_compactions));
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string PurgeReportToPrometheus(const PurgeReport& r) {
  std::string out;
  auto gauge = [&](const char* name, const char* help, double value,
                   const std::string& labels = "") {
    absl::StrAppendFormat(
        &out, "# HELP %s %s\n# TYPE %s gauge\n%s%s %.17g\n", name, help, name,
        name, labels.empty() ? "" : absl::StrCat("{", labels, "}"), value);
  };
  gauge("ebb_purge_last_run_timestamp_seconds",
        "When the last purge ran (the store's clock).",
        absl::ToDoubleSeconds(r.now - absl::UnixEpoch()));
  gauge("ebb_purge_complete", "1 if the last purge finished its worklist.",
        r.complete ? 1 : 0);
  gauge("ebb_purge_duration_seconds", "Wall time of the last purge.",
        absl::ToDoubleSeconds(r.duration));
  gauge("ebb_purge_expired_messages", "Messages the last purge expired.",
        static_cast<double>(r.expiry.messages));
  gauge("ebb_purge_expired_bytes", "Bytes the last purge expired.",
        static_cast<double>(r.expiry.bytes));
  gauge("ebb_purge_held_back_messages",
        "Expired messages kept by legal holds in the last purge.",
        static_cast<double>(r.expiry.held_back));
  gauge("ebb_purge_files_dropped", "Whole SST files the last purge dropped.",
        static_cast<double>(r.files_dropped));
  gauge("ebb_purge_bytes_rewritten",
        "Bytes the last purge's compactions wrote.",
        static_cast<double>(r.bytes_rewritten));
  gauge("ebb_purge_ranges_pending",
        "Deleted ranges left for the next purge (0 after a complete run).",
        static_cast<double>(r.ranges_pending));
  gauge("ebb_sst_bytes", "Live SST bytes after the last purge.",
        static_cast<double>(r.sst_bytes_after));
  out +=
      "# HELP ebb_purge_tenant_expired_messages Messages expired per tenant "
      "and category in the last purge.\n"
      "# TYPE ebb_purge_tenant_expired_messages gauge\n";
  for (const auto& [key, t] : ByTenantAndCategory(r.expiry)) {
    std::string tenant;
    for (char c : key.first) {  // label values escape \, " and newline
      if (c == '\\' || c == '"') tenant.push_back('\\');
      if (c == '\n') {
        tenant += "\\n";
        continue;
      }
      tenant.push_back(c);
    }
    absl::StrAppendFormat(
        &out,
        "ebb_purge_tenant_expired_messages{tenant=\"%s\",category=\"%s\"} %d\n",
        tenant, CategoryName(static_cast<v1::DataCategory>(key.second)),
        t.messages);
  }
  return out;
}

PurgeCommands::PurgeCommands(CLI::App& app) {
  purge_ = app.add_subcommand(
      "purge",
      "The nightly purge: expire what is due (audited), then make every "
      "expired or erased range physically disappear (drop whole SST files, "
      "compact exactly the deleted ranges, flush so old WAL files go). Prints "
      "a JSON report. Safe to run while the store serves traffic; a run cut "
      "short is finished by the next.");
  purge_->add_flag("--dry-run", dry_run_,
                   "Report what a real run would delete, per tenant and "
                   "category, and change nothing");
  purge_->add_option("--max-duration", max_duration_,
                     "Stop starting compactions after this long (e.g. 30m, "
                     "1h); the next run finishes the job");
  purge_->add_option("--rate-limit", rate_limit_mb_,
                     "Limit the purge's disk writes to this many MB/s");
  purge_->add_option("--report", report_file_,
                     "Also write the JSON report to this file");
  purge_->add_option("--metrics-file", metrics_file_,
                     "Write metrics in Prometheus text format to this file "
                     "(node_exporter textfile collector)");
  verify_ = app.add_subcommand(
      "verify",
      "Read every live SST file (including entries range tombstones cover) "
      "and every WAL file, and list each record that is expired or erased at "
      "--now and not held, as JSON lines, then a summary line. Exit 1 if any "
      "is found.");
}

absl::Status PurgeCommands::Check() {
  if (!purge_->parsed()) return absl::OkStatus();
  options_.dry_run = dry_run_;
  if (!max_duration_.empty()) {
    absl::StatusOr<absl::Duration> d = ParseRetentionDuration(max_duration_);
    if (!d.ok() || *d == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--max-duration: ",
          d.ok() ? "must be finite" : std::string(d.status().message())));
    }
    options_.max_duration = *d;
  }
  if (rate_limit_mb_ < 0) {
    return absl::InvalidArgumentError("--rate-limit: must not be negative");
  }
  options_.rate_limit_bytes_per_second =
      static_cast<int64_t>(rate_limit_mb_ * 1024 * 1024);
  if (isatty(STDERR_FILENO)) {
    options_.progress = [](absl::string_view line) {
      std::cerr << "ebb purge: " << line << "\n";
    };
  }
  return absl::OkStatus();
}

int PurgeCommands::Run(Store& store) {
  return purge_->parsed() ? RunPurge(store) : RunVerify(store);
}

int PurgeCommands::RunPurge(Store& store) {
  absl::StatusOr<PurgeReport> report = store.Purge(options_);
  if (!report.ok()) return Fail("purge", report.status());
  const std::string json = PurgeReportToJson(*report);
  std::cout << json << "\n";
  if (!report_file_.empty()) {
    if (absl::Status s = WriteFile(report_file_, json + "\n"); !s.ok()) {
      return Fail("purge", s);
    }
  }
  if (!metrics_file_.empty()) {
    if (absl::Status s =
            WriteFile(metrics_file_, PurgeReportToPrometheus(*report));
        !s.ok()) {
      return Fail("purge", s);
    }
  }
  return kExitOk;
}

int PurgeCommands::RunVerify(Store& store) {
  absl::StatusOr<VerifyReport> report = store.Verify();
  if (!report.ok()) return Fail("verify", report.status());
  for (const VerifyFinding& f : report->findings) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("problem");
    String(w, f.problem);
    w.Key("file");
    String(w, f.file);
    w.Key("column_family");
    String(w, f.column_family);
    w.Key("tenant");
    String(w, f.tenant);
    w.Key("conversation");
    String(w, f.conversation);
    if (f.column_family == "messages") {
      w.Key("seq");
      w.Uint64(f.seq);
    }
    w.Key("category");
    String(w, CategoryName(f.category));
    w.Key("created_at");
    String(w, FormatRfc3339(f.created_at));
    w.EndObject();
    std::cout << buffer.GetString() << "\n";
  }
  std::cout << absl::StrFormat(
      "{\"now\":\"%s\",\"sst_files\":%d,\"wal_files\":%d,\"records\":%d,"
      "\"undecodable\":%d,\"findings\":%d}\n",
      FormatRfc3339(report->now), report->sst_files, report->wal_files,
      report->records, report->undecodable, report->findings.size());
  if (!report->findings.empty()) {
    std::cerr << "ebb verify: " << report->findings.size()
              << " expired or erased records are still on disk\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace ebb
