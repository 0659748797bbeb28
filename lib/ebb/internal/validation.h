// Copyright ebb authors.
//
// Validation of the identifiers and strings that callers hand to ebb. Ids end
// up inside RocksDB keys (where a NUL byte terminates them) and in log lines
// and audit records, so they are refused early with a message that says what is
// wrong without echoing the bad bytes back.

#ifndef EBB_INTERNAL_VALIDATION_H_
#define EBB_INTERNAL_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ebb::internal {

// The longest tenant, user or conversation id ebb accepts, in bytes.
inline constexpr size_t kMaxIdBytes = 256;

// OK if `id` is 1..kMaxIdBytes bytes of valid UTF-8 with no control bytes
// (0x00-0x1F, 0x7F). Otherwise InvalidArgument naming `what` ("tenant id",
// ...), the problem and the byte offset; the id itself is not repeated.
absl::Status ValidateId(absl::string_view what, absl::string_view id);

// OK if `text` is valid UTF-8; otherwise InvalidArgument naming `what` and the
// offset of the first bad byte.
absl::Status ValidateUtf8(absl::string_view what, absl::string_view text);

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_VALIDATION_H_
