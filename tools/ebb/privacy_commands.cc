// Copyright ebb authors.

#include "tools/ebb/privacy_commands.h"

#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/ebb/duration.h"
#include "lib/ebb/json.h"
#include "lib/ebb/report_json.h"
#include "tools/ebb/exit_codes.h"

namespace ebb {
namespace {

constexpr char kReasons[] =
    "end_user_request, tenant_request, child_data, account_closure, operator "
    "or legal_obligation";

// --user / --conversation, mutually exclusive, on `command`.
void AddSubjectFlags(CLI::App* command, std::string* user,
                     std::string* conversation, const char* what) {
  CLI::Option* u = command->add_option(
      "--user", *user, absl::StrCat("End-user id: ", what, " the user"));
  CLI::Option* c = command->add_option(
      "--conversation", *conversation,
      absl::StrCat("Conversation id: ", what, " one conversation"));
  u->excludes(c);
}

}  // namespace

PrivacyCommands::PrivacyCommands(CLI::App& app) {
  erase_ = app.add_subcommand(
      "erase",
      "Erase a conversation, all of a user's conversations, or a whole tenant, "
      "at once and atomically; prints what was erased as JSON. Appends of "
      "erased data created up to the printed cutoff are refused from then on. "
      "Under a legal hold the erasure is recorded as pending, hidden from "
      "reads, and carried out when the hold is lifted.");
  erase_->add_option("--tenant", tenant_, "Tenant id")->required();
  {
    CLI::Option* c = erase_->add_option("--conversation", conversation_,
                                        "Erase this conversation");
    CLI::Option* u =
        erase_->add_option("--user", user_, "Erase every conversation of the "
                                            "user");
    CLI::Option* a =
        erase_->add_flag("--all", all_, "Erase all of the tenant's data");
    c->excludes(u)->excludes(a);
    u->excludes(a);
  }
  erase_->add_option("--reason", reason_, absl::StrCat("Why: ", kReasons))
      ->required();
  erase_->add_option("--request-id", request_id_,
                     "The data-subject request this erasure answers");
  erase_->add_option("--received-at", received_at_,
                     "When that request was received (RFC 3339; default now)");

  CLI::App* hold = app.add_subcommand(
      "hold",
      "Legal holds: while one stands, neither expiry nor erasure removes the "
      "data it covers (a tenant, a user or a conversation)");
  hold->require_subcommand(1);
  hold_set_ = hold->add_subcommand("set", "Place a hold (audited)");
  hold_set_->add_option("--tenant", tenant_, "Tenant id")->required();
  AddSubjectFlags(hold_set_, &user_, &conversation_, "hold");
  hold_set_->add_option("--reason", reason_, "Why (free text, no personal "
                                             "data)")
      ->required();
  hold_set_->add_option("--by", by_, "Who places it")->required();
  hold_clear_ = hold->add_subcommand(
      "clear",
      "Lift a hold (audited) and carry out the pending erasures no other hold "
      "covers; prints each as JSON");
  hold_clear_->add_option("--tenant", tenant_, "Tenant id")->required();
  AddSubjectFlags(hold_clear_, &user_, &conversation_, "the hold on");
  hold_clear_->add_option("--reason", reason_,
                          "Why it is lifted (default: the hold's reason is "
                          "recorded)");
  hold_clear_->add_option("--by", by_, "Who lifts it")->required();
  hold_list_ = hold->add_subcommand("list", "Print holds as JSON lines");
  hold_list_->add_option("--tenant", tenant_,
                         "Tenant id (default: every tenant)");

  CLI::App* restrict = app.add_subcommand(
      "restrict",
      "Restriction of processing on an end user (GDPR Art. 18): the data is "
      "kept but normal reads do not return it; export still does");
  restrict->require_subcommand(1);
  restrict_set_ = restrict->add_subcommand("set", "Restrict a user (audited)");
  restrict_clear_ =
      restrict->add_subcommand("clear", "Lift a restriction (audited)");
  for (CLI::App* command : {restrict_set_, restrict_clear_}) {
    command->add_option("--tenant", tenant_, "Tenant id")->required();
    command->add_option("--user", user_, "End-user id")->required();
  }

  export_ = app.add_subcommand(
      "export",
      "Print every unexpired, unerased message of a user as JSON lines in the "
      "format 'ebb ingest' reads, then the user's holds, restriction and "
      "requests as lines with a \"record\" field. Streams: memory stays "
      "bounded.");
  export_->add_option("--tenant", tenant_, "Tenant id")->required();
  export_->add_option("--user", user_, "End-user id")->required();
  export_->add_flag("--include-held", include_held_,
                    "Also messages a legal hold keeps past their expiry or "
                    "past an erasure");
  export_->add_flag("--anonymise", anonymise_,
                    "Replace user and conversation ids by their pseudonyms");
  export_->add_option("--request-id", request_id_,
                      "The access request this export answers (completes it)");
  export_->add_option("--received-at", received_at_,
                      "When that request was received (RFC 3339; default "
                      "now)");

  CLI::App* requests = app.add_subcommand(
      "requests",
      "Erasure and export requests and their deadlines (received + 45 days, "
      "extendable once by up to 45 days)");
  requests->require_subcommand(1);
  requests_list_ =
      requests->add_subcommand("list", "Print requests as JSON lines");
  requests_list_->add_flag("--overdue", overdue_,
                           "Only requests not completed whose deadline has "
                           "passed");
  requests_open_ = requests->add_subcommand(
      "open", "Record a request as received, to track its deadline");
  requests_open_->add_option("--tenant", tenant_, "Tenant id")->required();
  requests_open_->add_option("--request-id", request_id_, "Request id")
      ->required();
  requests_open_->add_option("--kind", kind_, "erasure or export")->required();
  requests_open_->add_option("--user", user_, "End-user id")->required();
  requests_open_->add_option("--received-at", received_at_,
                             "RFC 3339 (default now)");
  requests_extend_ = requests->add_subcommand(
      "extend", "Extend a request's deadline, once, with a reason");
  requests_extend_->add_option("--tenant", tenant_, "Tenant id")->required();
  requests_extend_->add_option("--request-id", request_id_, "Request id")
      ->required();
  requests_extend_->add_option("--by", extend_by_,
                               "How much longer, e.g. 30d (at most 45d)")
      ->required();
  requests_extend_->add_option("--reason", reason_, "Why")->required();

  CLI::App* audit = app.add_subcommand(
      "audit",
      "The audit ledger: one record per erasure, hold, restriction, policy "
      "change and request, with no message text and user and conversation "
      "ids pseudonymised (HMAC-SHA256)");
  audit->require_subcommand(1);
  audit_verify_ = audit->add_subcommand(
      "verify",
      "Check the ledger's SHA-256 chain; prints JSON and exits 1 naming the "
      "first bad sequence number if any record was changed, removed, "
      "inserted or reordered");
  audit_export_ = audit->add_subcommand(
      "export", "Print every record as JSON lines, oldest first");
  audit_find_ = audit->add_subcommand(
      "find",
      "Print the records about a user or conversation (found by its "
      "pseudonym), or with neither flag every record of the tenant");
  audit_find_->add_option("--tenant", tenant_, "Tenant id")->required();
  AddSubjectFlags(audit_find_, &user_, &conversation_, "records about");
  audit_trim_ = audit->add_subcommand(
      "trim",
      "Delete records older than the ledger's retention (6 years), keeping "
      "the rest verifiable; prints {\"trimmed\":N}");
}

bool PrivacyCommands::parsed() const {
  for (const CLI::App* c :
       {erase_, hold_set_, hold_clear_, hold_list_, restrict_set_,
        restrict_clear_, export_, requests_list_, requests_open_,
        requests_extend_, audit_verify_, audit_export_, audit_find_,
        audit_trim_}) {
    if (c->parsed()) return true;
  }
  return false;
}

absl::Status PrivacyCommands::Check() {
  if (!user_.empty()) {
    scope_ = v1::SCOPE_USER;
    id_ = user_;
  } else if (!conversation_.empty()) {
    scope_ = v1::SCOPE_CONVERSATION;
    id_ = conversation_;
  } else {
    scope_ = v1::SCOPE_TENANT;
  }
  if (erase_->parsed()) {
    if (scope_ == v1::SCOPE_TENANT && !all_) {
      return absl::InvalidArgumentError(
          "erase: give one of --conversation, --user or --all");
    }
    absl::StatusOr<v1::ErasureReason> reason = ParseErasureReason(reason_);
    if (!reason.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--reason: ", reason.status().message()));
    }
    erasure_reason_ = *reason;
  }
  if (!received_at_.empty()) {
    absl::StatusOr<absl::Time> t = ParseRfc3339(received_at_);
    if (!t.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--received-at: ", t.status().message()));
    }
    parsed_received_at_ = *t;
  }
  if (requests_open_->parsed()) {
    if (kind_ == "erasure") {
      parsed_kind_ = v1::REQUEST_ERASURE;
    } else if (kind_ == "export") {
      parsed_kind_ = v1::REQUEST_EXPORT;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--kind: expected erasure or export, got \"", kind_,
                       "\""));
    }
  }
  if (requests_extend_->parsed()) {
    absl::StatusOr<absl::Duration> by = ParseRetentionDuration(extend_by_);
    if (!by.ok() || *by == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--by: ", by.ok() ? "must be finite" : by.status().message()));
    }
    parsed_extend_by_ = *by;
  }
  return absl::OkStatus();
}

int PrivacyCommands::Run(Store& store) {
  if (erase_->parsed()) return RunErase(store);
  if (hold_set_->parsed()) {
    absl::Status s = store.SetHold(tenant_, scope_, id_, reason_, by_);
    if (!s.ok()) return Fail("hold set", s);
    absl::StatusOr<std::vector<v1::Hold>> holds = store.ListHolds(tenant_);
    if (!holds.ok()) return Fail("hold set", holds.status());
    for (const v1::Hold& h : *holds) {
      if (h.scope() == scope_ && h.id() == id_) {
        std::cout << ProtoToJson(h) << "\n";
      }
    }
    return kExitOk;
  }
  if (hold_clear_->parsed()) {
    absl::StatusOr<std::vector<EraseResult>> released =
        store.ClearHold(tenant_, scope_, id_, by_, reason_);
    if (!released.ok()) return Fail("hold clear", released.status());
    for (const EraseResult& r : *released) {
      std::cout << EraseResultToJson(tenant_, r) << "\n";
    }
    return kExitOk;
  }
  if (hold_list_->parsed()) {
    absl::StatusOr<std::vector<v1::Hold>> holds = store.ListHolds(tenant_);
    if (!holds.ok()) return Fail("hold list", holds.status());
    for (const v1::Hold& h : *holds) std::cout << ProtoToJson(h) << "\n";
    return kExitOk;
  }
  if (restrict_set_->parsed() || restrict_clear_->parsed()) {
    const bool set = restrict_set_->parsed();
    absl::Status s = set ? store.SetRestriction(tenant_, user_)
                         : store.ClearRestriction(tenant_, user_);
    if (!s.ok()) return Fail(set ? "restrict set" : "restrict clear", s);
    v1::Restriction r;
    r.set_tenant(tenant_);
    r.set_user(user_);
    std::string json = ProtoToJson(r);  // {"tenant":..,"user":..}
    json.pop_back();
    std::cout << json << ",\"restricted\":" << (set ? "true" : "false")
              << "}\n";
    return kExitOk;
  }
  if (export_->parsed()) return RunExport(store);
  if (requests_list_->parsed() || requests_open_->parsed() ||
      requests_extend_->parsed()) {
    return RunRequests(store);
  }
  return RunAudit(store);
}

int PrivacyCommands::RunErase(Store& store) {
  EraseOptions options;
  options.reason = erasure_reason_;
  options.request_id = request_id_;
  options.received_at = parsed_received_at_;
  absl::StatusOr<EraseResult> result =
      scope_ == v1::SCOPE_USER
          ? store.EraseUser(tenant_, id_, options)
          : scope_ == v1::SCOPE_CONVERSATION
                ? store.EraseConversation(tenant_, id_, options)
                : store.EraseTenant(tenant_, options);
  if (!result.ok()) return Fail("erase", result.status());
  std::cout << EraseResultToJson(tenant_, *result) << "\n";
  return kExitOk;
}

int PrivacyCommands::RunExport(Store& store) {
  ExportOptions options;
  options.include_held = include_held_;
  options.anonymise = anonymise_;
  options.request_id = request_id_;
  options.received_at = parsed_received_at_;
  absl::StatusOr<ExportSummary> summary = store.Export(
      tenant_, user_, options, [](absl::string_view line) -> absl::Status {
        std::cout << line << "\n";
        if (!std::cout) {
          return absl::UnavailableError("cannot write to standard output");
        }
        return absl::OkStatus();
      });
  if (!summary.ok()) return Fail("export", summary.status());
  return kExitOk;
}

int PrivacyCommands::RunRequests(Store& store) {
  if (requests_open_->parsed()) {
    absl::StatusOr<v1::Request> r = store.OpenRequest(
        tenant_, request_id_, parsed_kind_, user_, parsed_received_at_);
    if (!r.ok()) return Fail("requests open", r.status());
    std::cout << ProtoToJson(*r) << "\n";
    return kExitOk;
  }
  if (requests_extend_->parsed()) {
    absl::StatusOr<v1::Request> r =
        store.ExtendRequest(tenant_, request_id_, parsed_extend_by_, reason_);
    if (!r.ok()) return Fail("requests extend", r.status());
    std::cout << ProtoToJson(*r) << "\n";
    return kExitOk;
  }
  absl::StatusOr<std::vector<v1::Request>> list = store.ListRequests(overdue_);
  if (!list.ok()) return Fail("requests list", list.status());
  for (const v1::Request& r : *list) std::cout << ProtoToJson(r) << "\n";
  return kExitOk;
}

int PrivacyCommands::RunAudit(Store& store) {
  if (audit_verify_->parsed()) {
    absl::StatusOr<AuditVerification> v = store.VerifyAudit();
    if (!v.ok()) return Fail("audit verify", v.status());
    std::cout << AuditVerificationToJson(*v) << "\n";
    if (!v->ok) {
      std::cerr << "ebb audit verify: record " << v->first_bad_seq << ": "
                << v->problem << " (DATA_LOSS)\n";
      return kExitFailed;
    }
    return kExitOk;
  }
  if (audit_export_->parsed()) {
    absl::Status s = store.ExportAudit([](const v1::AuditRecord& r) {
      std::cout << ProtoToJson(r) << "\n";
      if (!std::cout) {
        return absl::UnavailableError("cannot write to standard output");
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return Fail("audit export", s);
    return kExitOk;
  }
  if (audit_find_->parsed()) {
    absl::StatusOr<std::vector<v1::AuditRecord>> found =
        store.FindAudit(tenant_, scope_, id_);
    if (!found.ok()) return Fail("audit find", found.status());
    for (const v1::AuditRecord& r : *found) std::cout << ProtoToJson(r) << "\n";
    return kExitOk;
  }
  absl::StatusOr<uint64_t> trimmed = store.TrimAudit();
  if (!trimmed.ok()) return Fail("audit trim", trimmed.status());
  std::cout << "{\"trimmed\":" << *trimmed << "}\n";
  return kExitOk;
}

}  // namespace ebb
