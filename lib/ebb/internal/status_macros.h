// Copyright ebb authors.
//
// Early-return helpers for absl::Status and absl::StatusOr. Abseil 20220623 has
// none, and spelling the checks out by hand at every call hides the logic.

#ifndef EBB_INTERNAL_STATUS_MACROS_H_
#define EBB_INTERNAL_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status from the enclosing function if `expr` is not OK.
#define EBB_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status ebb_status_ = (expr);       \
    if (!ebb_status_.ok()) return ebb_status_; \
  } while (false)

#define EBB_INTERNAL_CONCAT_INNER(a, b) a##b
#define EBB_INTERNAL_CONCAT(a, b) EBB_INTERNAL_CONCAT_INNER(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs`, which may be a declaration:
// `EBB_ASSIGN_OR_RETURN(auto x, F());`
#define EBB_ASSIGN_OR_RETURN(lhs, rexpr)                                      \
  EBB_INTERNAL_ASSIGN_OR_RETURN(EBB_INTERNAL_CONCAT(ebb_statusor_, __LINE__), \
                                lhs, rexpr)

#define EBB_INTERNAL_ASSIGN_OR_RETURN(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = *std::move(statusor)

#endif  // EBB_INTERNAL_STATUS_MACROS_H_
