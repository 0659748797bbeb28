// Copyright ebb authors.
//
// The one place where rocksdb::Status becomes absl::Status.

#ifndef EBB_INTERNAL_ROCKSDB_STATUS_H_
#define EBB_INTERNAL_ROCKSDB_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace ebb::internal {

// Maps `status` to the closest absl code and prefixes its message with
// `operation` (e.g. "append: write batch"). OK maps to OK.
absl::Status ToAbslStatus(const rocksdb::Status& status,
                          absl::string_view operation);

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_ROCKSDB_STATUS_H_
