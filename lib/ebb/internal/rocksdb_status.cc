// Copyright ebb authors.

#include "lib/ebb/internal/rocksdb_status.h"

#include "absl/strings/str_cat.h"

namespace ebb::internal {

absl::Status ToAbslStatus(const rocksdb::Status& status,
                          absl::string_view operation) {
  if (status.ok()) return absl::OkStatus();
  const std::string message =
      absl::StrCat(operation, ": rocksdb: ", status.ToString());
  using Code = rocksdb::Status::Code;
  switch (status.code()) {
    case Code::kNotFound:
      return absl::NotFoundError(message);
    case Code::kCorruption:
      return absl::DataLossError(message);
    case Code::kNotSupported:
      return absl::UnimplementedError(message);
    case Code::kInvalidArgument:
      return absl::InvalidArgumentError(message);
    case Code::kIOError:
      // A full disk is the operator's to fix; say so with the code too.
      if (status.IsNoSpace()) return absl::ResourceExhaustedError(message);
      return absl::UnavailableError(message);
    case Code::kMergeInProgress:
    case Code::kBusy:
    case Code::kTryAgain:
      return absl::AbortedError(message);
    case Code::kIncomplete:
      return absl::FailedPreconditionError(message);
    case Code::kShutdownInProgress:
    case Code::kColumnFamilyDropped:
      return absl::CancelledError(message);
    case Code::kTimedOut:
      return absl::DeadlineExceededError(message);
    case Code::kAborted:
      return absl::AbortedError(message);
    case Code::kExpired:
      return absl::DeadlineExceededError(message);
    case Code::kOk:
    case Code::kCompactionTooLarge:
    case Code::kMaxCode:
      break;
  }
  return absl::InternalError(message);
}

}  // namespace ebb::internal
