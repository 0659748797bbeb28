// Copyright ebb authors.
//
// Fuzzes ParseMessageJson, the parser of every line `ebb ingest` reads.
// Invariants: it never crashes, whatever the bytes; a line it accepts holds
// valid ids and UTF-8 text (what json.h promises), and prints back with
// MessageToJson to a line that parses to the same message.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/util/message_differencer.h"
#include "lib/ebb/internal/validation.h"
#include "lib/ebb/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const absl::string_view line(reinterpret_cast<const char *>(data), size);
  absl::StatusOr<ebb::v1::Message> message = ebb::ParseMessageJson(line);
  if (!message.ok()) {
    EBB_FUZZ_CHECK(!message.status().message().empty(),
                   "a refused line gets a reason");
    return 0;
  }
  EBB_FUZZ_CHECK(ebb::internal::ValidateId("tenant id", message->tenant()).ok(),
                 "accepted tenant id is valid");
  EBB_FUZZ_CHECK(ebb::internal::ValidateId("user id", message->user()).ok(),
                 "accepted user id is valid");
  EBB_FUZZ_CHECK(
      ebb::internal::ValidateId("conversation id", message->conversation())
          .ok(),
      "accepted conversation id is valid");
  EBB_FUZZ_CHECK(ebb::internal::ValidateUtf8("text", message->text()).ok(),
                 "accepted text is UTF-8");
  const std::string printed = ebb::MessageToJson(*message);
  absl::StatusOr<ebb::v1::Message> again = ebb::ParseMessageJson(printed);
  EBB_FUZZ_CHECK(again.ok(), "MessageToJson output parses");
  EBB_FUZZ_CHECK(
      google::protobuf::util::MessageDifferencer::Equals(*message, *again),
      "parse(print(m)) == m");
  EBB_FUZZ_CHECK(ebb::MessageToJson(*again) == printed,
                 "printing is deterministic");
  return 0;
}
