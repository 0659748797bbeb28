// Copyright ebb authors.

#include "lib/ebb/internal/validation.h"

#include "absl/strings/str_format.h"
#include "google/protobuf/stubs/common.h"
#include "rapidjson/encodings.h"
#include "rapidjson/stringbuffer.h"

namespace ebb::internal {
namespace {

// Validates one code point at a time with RapidJSON's UTF-8 decoder (the same
// one that checks JSON input) and returns the offset of the first invalid
// sequence, or npos when all of `text` is valid.
size_t FirstInvalidUtf8Offset(absl::string_view text) {
  // RapidJSON's streams need a NUL-terminated buffer only to stop at the end;
  // the explicit bound below does that, so a MemoryStream-like reader is
  // enough.
  struct Reader {
    typedef char Ch;
    const char* p;
    const char* end;
    Ch Peek() const { return p < end ? *p : '\0'; }
    Ch Take() { return p < end ? *p++ : '\0'; }
    size_t Tell() const { return 0; }
  };
  struct NullWriter {
    typedef char Ch;
    void Put(Ch) {}
  };
  Reader reader{text.data(), text.data() + text.size()};
  NullWriter writer;
  while (reader.p < reader.end) {
    const char* start = reader.p;
    if (!rapidjson::UTF8<char>::Validate(reader, writer))
      return start - text.data();
    // A multi-byte sequence cut off by the end of the buffer reads '\0' as its
    // continuation byte, which Validate rejects; nothing else to check here.
  }
  return absl::string_view::npos;
}

}  // namespace

absl::Status ValidateUtf8(absl::string_view what, absl::string_view text) {
  // protobuf's validator (the one its parser uses on string fields) is several
  // times faster than a per-code-point decode; Append checks every message's
  // text, so the common, valid case takes the fast path. RapidJSON's decoder
  // then only runs to locate the bad byte for the message.
  if (google::protobuf::internal::IsStructurallyValidUTF8(
          text.data(), static_cast<int>(text.size()))) {
    return absl::OkStatus();
  }
  const size_t bad = FirstInvalidUtf8Offset(text);
  if (bad == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is not valid UTF-8", what));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s is not valid UTF-8 (bad byte at offset %d)", what, bad));
}

absl::Status ValidateId(absl::string_view what, absl::string_view id) {
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat("%s is empty", what));
  }
  if (id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is %d bytes long; at most %d are allowed", what,
                        id.size(), kMaxIdBytes));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s contains control byte 0x%02X at offset %d", what, c, i));
    }
  }
  return ValidateUtf8(what, id);
}

}  // namespace ebb::internal
