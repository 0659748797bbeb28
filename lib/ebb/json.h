// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: json.h
// -----------------------------------------------------------------------------
//
// The JSON-lines form of an ebb::v1::Message: what `ebb ingest` reads and
// `ebb get` prints, one message per line, with the same field names both ways:
//
//   {"tenant":"acme","user":"u-17","conversation":"c-9","seq":3,
//    "role":"assistant","text":"Hello!","created_at":"2026-01-02T03:04:05Z",
//    "category":"transcript","metadata":{"channel":"web"}}
//
// (shown wrapped; a real line has no newline inside it).
//
// Parsing is strict because a line that is half understood is worse than one
// that is refused: a misspelt "create_at" silently dropped would store the
// message with the wrong age and so the wrong expiry. Unknown fields, duplicate
// fields, nulls, wrong types, numbers that are not exact non-negative integers,
// and times outside protobuf Timestamp's range are all InvalidArgument.
//
// Error messages name fields and byte offsets, and never contain message text,
// ids, metadata or any other value from the line: they end up in logs, and the
// line holds personal data. The one exception is the name of an unknown field,
// which is quoted (C-escaped, at most 64 bytes) because it is what the caller
// must fix.
//
// Example:
//
//   absl::StatusOr<ebb::v1::Message> m = ebb::ParseMessageJson(line);
//   if (!m.ok()) {
//     // e.g. InvalidArgument: missing field "text"
//     return m.status();
//   }
//   m->seq();                                   // uint64, exact
//   std::string back = ebb::MessageToJson(*m);  // parses back to *m
//
//   absl::StatusOr<absl::Time> now = ebb::ParseRfc3339("2026-01-02T03:04:05Z");
//   ebb::FormatRfc3339(*now);                   // "2026-01-02T03:04:05Z"
//
// All functions here are thread-safe: they keep no state between calls.

#ifndef EBB_JSON_H_
#define EBB_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ebb/v1/message.pb.h"
#include "google/protobuf/message.h"

namespace ebb {

// Parses one JSON line (without its line terminator) into a Message. `line`
// need not be NUL-terminated and may be any size; size limits are the caller's
// and the store's business.
//
// The line must hold exactly one JSON object (surrounding JSON whitespace is
// allowed, nothing else) with these members, each at most once:
//
//   tenant, user, conversation  required strings; internal::ValidateId rules
//                               (1..256 bytes of UTF-8, no control bytes).
//   seq          required; a JSON integer literal in 0..18446744073709551615.
//                "1.5", "1e3", "-0", "-1" and "\"7\"" are refused: a sequence
//                number that went through a double may no longer be exact.
//   role         required; "user" | "assistant" | "agent" | "system".
//   text         required string; any valid UTF-8, including "".
//   created_at   required; RFC 3339 string as accepted by ParseRfc3339 below.
//                Nanoseconds are kept; finer digits are truncated.
//   category     optional; "transcript" | "training_example" |
//                "diagnostic_log". Absent means CATEGORY_TRANSCRIPT.
//   metadata     optional object whose values are all strings (UTF-8 keys and
//                values, no duplicate keys). Absent or {} means empty.
//
// null is refused for every field, optional ones included: MessageToJson never
// writes null, so a null comes from some other producer whose intent is
// unclear.
//
// Returns InvalidArgument, with messages such as:
//   invalid JSON at offset 17: <RapidJSON's English description>
//   invalid JSON at offset 17: invalid UTF-8 in string
//   top-level JSON value must be an object
//   unknown field "create_at"
//   duplicate field "seq"
//   missing field "text"
//   field "seq" must be a non-negative integer
//   field "tenant" must be a string, not null
// The first problem in document order is reported; missing fields are
// reported (in the order listed above) only once the whole line has parsed.
// Nesting depth cannot exhaust the stack: parsing is iterative and stops at the
// first value of the wrong type.
absl::StatusOr<ebb::v1::Message> ParseMessageJson(absl::string_view line);

// Formats `m` as one line of compact JSON, without a trailing newline. Members
// appear in the order tenant, user, conversation, seq (a number), role, text,
// created_at (FormatRfc3339, always UTC "Z"), category, metadata (keys sorted
// bytewise; omitted when empty). Non-ASCII text is written as raw UTF-8;
// quotes, backslashes and control characters are escaped.
//
// ParseMessageJson(MessageToJson(m)) reproduces `m` exactly when `m` is valid,
// which is every message the store accepts or returns:
// REQUIRES: ids, text and metadata are valid UTF-8; role is not
//           ROLE_UNSPECIFIED; category is not CATEGORY_UNSPECIFIED;
//           created_at is set, within Timestamp's range, with nanos in
//           0..999999999.
// Violations do not crash; they produce a line that ParseMessageJson refuses or
// reads differently (e.g. role "unspecified", a missing created_at printed as
// the Unix epoch).
std::string MessageToJson(const ebb::v1::Message& m);

// A stored record (audit record, hold, request) as protobuf's canonical JSON
// with the .proto field names (tenant, request_id, ...), on one line.
std::string ProtoToJson(const google::protobuf::Message& message);

// The JSON/CLI name of `role`: "user", "assistant", "agent", "system";
// "unspecified" for ROLE_UNSPECIFIED and "unknown" for values outside the enum
// (neither is accepted by ParseRole).
absl::string_view RoleName(ebb::v1::Role role);

// Inverse of RoleName for the four real roles (exact, lowercase match).
// Returns InvalidArgument naming the input and listing the allowed values
// otherwise, including for "unspecified".
absl::StatusOr<ebb::v1::Role> ParseRole(absl::string_view name);

// The JSON/CLI name of `category`: "transcript", "training_example",
// "diagnostic_log"; "unspecified" and "unknown" as for RoleName.
absl::string_view CategoryName(ebb::v1::DataCategory category);

// Inverse of CategoryName for the three real categories (exact, lowercase).
// Returns InvalidArgument naming the input and listing the allowed values
// otherwise.
absl::StatusOr<ebb::v1::DataCategory> ParseCategory(absl::string_view name);

// Parses an RFC 3339 date-time with a mandatory zone, e.g.
// "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.25Z",
// "2026-01-02T05:04:05+02:00". Strict about shape: a four-digit year,
// two-digit fields, 'T' (or 't') and 'Z' (or 'z') or a "+hh:mm"/"-hh:mm"
// offset; no surrounding whitespace. Any number of fractional digits is
// accepted; the result is truncated to whole nanoseconds (toward the past). A
// leap second ":60" is read as the first second of the next minute.
//
// Returns InvalidArgument, quoting the input, if the text is not of that shape,
// names an impossible date or time ("2026-13-01", "2026-02-30", "24:00:00"),
// or lies outside protobuf Timestamp's range, 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z, once its offset is applied (e.g.
// "0001-01-01T00:00:00+01:00").
absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text);

// Formats `t` in UTC as "YYYY-MM-DDThh:mm:ss[.fffffffff]Z", with as many
// fractional digits as needed (none for whole seconds, at most nine; finer
// parts are truncated). Infinite times become "infinite-past" and
// "infinite-future". For every finite time in the Timestamp range,
// ParseRfc3339(FormatRfc3339(t)) == t truncated to nanoseconds. Times outside
// that range are still formatted (with a year that may not have four digits)
// but do not parse back.
std::string FormatRfc3339(absl::Time t);

}  // namespace ebb

#endif  // EBB_JSON_H_
