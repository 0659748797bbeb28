// Copyright ebb authors.
//
// Exit codes and error printing shared by the `ebb` subcommands.

#ifndef EBB_TOOLS_EBB_EXIT_CODES_H_
#define EBB_TOOLS_EBB_EXIT_CODES_H_

#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ebb {

inline constexpr int kExitOk = 0;
// The store refused or failed the operation; for ingest, some lines were
// rejected; for audit verify, the ledger does not verify.
inline constexpr int kExitFailed = 1;
// Unknown flag, bad flag value, missing argument.
inline constexpr int kExitUsage = 2;

// Prints "ebb COMMAND: message (CODE)" on stderr; returns kExitFailed.
inline int Fail(absl::string_view command, const absl::Status& status) {
  std::cerr << "ebb " << command << ": " << status.message() << " ("
            << absl::StatusCodeToString(status.code()) << ")\n";
  return kExitFailed;
}

}  // namespace ebb

#endif  // EBB_TOOLS_EBB_EXIT_CODES_H_
