// Copyright ebb authors.

#include "lib/ebb/json.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/internal/status_macros.h"
#include "lib/ebb/internal/validation.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace ebb {
namespace {

using ::ebb::v1::DataCategory;
using ::ebb::v1::Message;
using ::ebb::v1::Role;

// ------------------------------------------------------------- enum names

struct RoleEntry {
  Role role;
  absl::string_view name;
};
constexpr RoleEntry kRoles[] = {
    {v1::ROLE_USER, "user"},
    {v1::ROLE_ASSISTANT, "assistant"},
    {v1::ROLE_AGENT, "agent"},
    {v1::ROLE_SYSTEM, "system"},
};
constexpr absl::string_view kAllowedRoles =
    "must be one of: user, assistant, agent, system";

struct CategoryEntry {
  DataCategory category;
  absl::string_view name;
};
constexpr CategoryEntry kCategories[] = {
    {v1::CATEGORY_TRANSCRIPT, "transcript"},
    {v1::CATEGORY_TRAINING_EXAMPLE, "training_example"},
    {v1::CATEGORY_DIAGNOSTIC_LOG, "diagnostic_log"},
};
constexpr absl::string_view kAllowedCategories =
    "must be one of: transcript, training_example, diagnostic_log";

// `subject` says what was parsed ("role \"x\"" or "field \"role\"") so that
// the JSON path can avoid echoing values while the CLI path quotes them.
absl::StatusOr<Role> ParseRoleAs(absl::string_view name,
                                 absl::string_view subject) {
  for (const RoleEntry& entry : kRoles) {
    if (entry.name == name) return entry.role;
  }
  return absl::InvalidArgumentError(absl::StrCat(subject, " ", kAllowedRoles));
}

absl::StatusOr<DataCategory> ParseCategoryAs(absl::string_view name,
                                             absl::string_view subject) {
  for (const CategoryEntry& entry : kCategories) {
    if (entry.name == name) return entry.category;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(subject, " ", kAllowedCategories));
}

// ------------------------------------------------------------------ time

constexpr absl::string_view kTimestampRange =
    "0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z";

// absl::ParseTime alone is lenient (surrounding whitespace, one-digit months,
// "+0200", "infinite-future"), so the shape is checked first:
// YYYY-MM-DDThh:mm:ss[.f+](Z|+hh:mm|-hh:mm), 'T' and 'Z' in either case.
bool HasRfc3339Shape(absl::string_view s) {
  constexpr absl::string_view kPattern = "dddd-dd-ddTdd:dd:dd";
  if (s.size() < kPattern.size()) return false;
  for (size_t i = 0; i < kPattern.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (kPattern[i]) {
      case 'd':
        if (!absl::ascii_isdigit(c)) return false;
        break;
      case 'T':
        if (c != 'T' && c != 't') return false;
        break;
      default:
        if (c != static_cast<unsigned char>(kPattern[i])) return false;
    }
  }
  s.remove_prefix(kPattern.size());
  if (!s.empty() && s[0] == '.') {
    size_t digits = 1;
    while (digits < s.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(s[digits]))) {
      ++digits;
    }
    if (digits == 1) return false;
    s.remove_prefix(digits);
  }
  if (s == "Z" || s == "z") return true;
  return s.size() == 6 && (s[0] == '+' || s[0] == '-') &&
         absl::ascii_isdigit(static_cast<unsigned char>(s[1])) &&
         absl::ascii_isdigit(static_cast<unsigned char>(s[2])) && s[3] == ':' &&
         absl::ascii_isdigit(static_cast<unsigned char>(s[4])) &&
         absl::ascii_isdigit(static_cast<unsigned char>(s[5]));
}

// Drops any sub-nanosecond part (absl::Time has quarter-nanosecond ticks) so
// that every time this file hands out fits a Timestamp exactly.
absl::Time TruncateToNanos(absl::Time t) {
  const absl::Time epoch = absl::UnixEpoch();
  return epoch + absl::Floor(t - epoch, absl::Nanoseconds(1));
}

absl::StatusOr<absl::Time> ParseRfc3339As(absl::string_view text,
                                          absl::string_view subject) {
  absl::Time t;
  std::string ignored_error;
  if (!HasRfc3339Shape(text) ||
      !absl::ParseTime(absl::RFC3339_full, text, &t, &ignored_error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        subject,
        " is not an RFC 3339 time with a time zone, such as "
        "\"2026-01-02T03:04:05Z\" or \"2026-01-02T05:04:05.5+02:00\""));
  }
  t = TruncateToNanos(t);
  if (t < internal::MinTimestamp() || t > internal::MaxTimestamp()) {
    return absl::InvalidArgumentError(
        absl::StrCat(subject, " is outside ", kTimestampRange));
  }
  return t;
}

// Not internal::FromProtoTimestamp: MessageToJson has no error to return, and
// printing an out-of-range value is more useful than printing nothing.
absl::Time TimestampToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// ------------------------------------------------------------- JSON input

enum Field {
  kTenant,
  kUser,
  kConversation,
  kSeq,
  kRole,
  kText,
  kCreatedAt,
  kCategory,
  kMetadata,
  kNumFields,
};
constexpr absl::string_view kFieldNames[kNumFields] = {
    "tenant", "user",       "conversation", "seq",      "role",
    "text",   "created_at", "category",     "metadata",
};
// Fields before this one are required.
constexpr int kNumRequiredFields = kCategory;

std::string FieldSubject(Field field) {
  return absl::StrCat("field \"", kFieldNames[field], "\"");
}

// What a field's value must be, for type errors.
absl::string_view ExpectedKind(Field field) {
  switch (field) {
    case kSeq:
      return "a non-negative integer";
    case kMetadata:
      return "an object whose values are strings";
    default:
      return "a string";
  }
}

// Unknown field names are the only input echoed back (see json.h); escaping
// keeps control bytes out of logs and the cap keeps a hostile 1 MB key out.
std::string QuoteFieldName(absl::string_view name) {
  constexpr size_t kMaxEchoBytes = 64;
  if (name.size() <= kMaxEchoBytes) {
    return absl::StrCat("\"", absl::CEscape(name), "\"");
  }
  return absl::StrCat("\"", absl::CEscape(name.substr(0, kMaxEchoBytes)),
                      "\"...");
}

// A RapidJSON SAX handler that fills a Message as the events arrive. It stops
// the parse (returns false) at the first unacceptable event, so a deeply
// nested or enormous value it does not want is never walked, and the status it
// holds then explains why. Numbers arrive as text (kParseNumbersAsStringsFlag)
// so that seq is judged on its literal spelling, not on a double.
class MessageHandler {
 public:
  using Ch = char;

  explicit MessageHandler(Message* message) : message_(message) {}

  const absl::Status& status() const { return status_; }
  bool seen(Field field) const { return seen_[field]; }

  bool Null() { return WrongType(/*is_null=*/true); }
  bool Bool(bool) { return WrongType(/*is_null=*/false); }
  // Never called with kParseNumbersAsStringsFlag; refuse rather than guess.
  bool Int(int) { return WrongType(false); }
  bool Uint(unsigned) { return WrongType(false); }
  bool Int64(int64_t) { return WrongType(false); }
  bool Uint64(uint64_t) { return WrongType(false); }
  bool Double(double) { return WrongType(false); }

  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    if (state_ != State::kValue || field_ != kSeq) return WrongType(false);
    const absl::string_view digits(str, length);
    // JSON grammar already excludes "+1", "01" and "", so digits-only is
    // exactly a non-negative integer literal.
    for (char c : digits) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        return WrongType(false);
      }
    }
    uint64_t seq = 0;
    if (!absl::SimpleAtoi(digits, &seq)) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          FieldSubject(kSeq), " is larger than 18446744073709551615")));
    }
    message_->set_seq(seq);
    state_ = State::kKey;
    return true;
  }

  bool String(const char* str, rapidjson::SizeType length, bool) {
    const absl::string_view value(str, length);
    if (state_ == State::kMetadataValue) {
      absl::Status status =
          internal::ValidateUtf8("a value in field \"metadata\"", value);
      if (!status.ok()) return Fail(std::move(status));
      (*message_->mutable_metadata())[metadata_key_] = std::string(value);
      state_ = State::kMetadataKey;
      return true;
    }
    if (state_ != State::kValue || field_ == kSeq || field_ == kMetadata) {
      return WrongType(false);
    }
    absl::Status status = SetStringField(value);
    if (!status.ok()) return Fail(std::move(status));
    state_ = State::kKey;
    return true;
  }

  bool StartObject() {
    if (state_ == State::kRoot) {
      state_ = State::kKey;
      return true;
    }
    if (state_ == State::kValue && field_ == kMetadata) {
      state_ = State::kMetadataKey;
      return true;
    }
    return WrongType(false);
  }

  bool Key(const char* str, rapidjson::SizeType length, bool) {
    const absl::string_view key(str, length);
    if (state_ == State::kMetadataKey) {
      absl::Status status =
          internal::ValidateUtf8("a key in field \"metadata\"", key);
      if (!status.ok()) return Fail(std::move(status));
      metadata_key_.assign(key.data(), key.size());
      if (message_->metadata().contains(metadata_key_)) {
        return Fail(absl::InvalidArgumentError(
            "field \"metadata\" has a duplicate key"));
      }
      state_ = State::kMetadataValue;
      return true;
    }
    // RapidJSON only calls Key inside an object, and the only objects this
    // handler enters are the top level and metadata.
    const auto* it =
        std::find(std::begin(kFieldNames), std::end(kFieldNames), key);
    if (it == std::end(kFieldNames)) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("unknown field ", QuoteFieldName(key))));
    }
    field_ = static_cast<Field>(it - std::begin(kFieldNames));
    if (seen_[field_]) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("duplicate ", FieldSubject(field_))));
    }
    seen_[field_] = true;
    state_ = State::kValue;
    return true;
  }

  bool EndObject(rapidjson::SizeType) {
    // The metadata object closes back into the top level; the top level
    // closing ends the document. RapidJSON matches the braces.
    state_ = state_ == State::kMetadataKey ? State::kKey : State::kDone;
    return true;
  }

  bool StartArray() { return WrongType(false); }
  bool EndArray(rapidjson::SizeType) { return WrongType(false); }

 private:
  enum class State {
    kRoot,           // Before the top-level value.
    kKey,            // Inside the top-level object, before a member name.
    kValue,          // Before the value of field_.
    kMetadataKey,    // Inside metadata, before a key.
    kMetadataValue,  // Inside metadata, before the value for metadata_key_.
    kDone,           // After the top-level object.
  };

  bool Fail(absl::Status status) {
    status_ = std::move(status);
    return false;
  }

  // Any value event that the current state does not accept.
  bool WrongType(bool is_null) {
    switch (state_) {
      case State::kRoot:
        return Fail(absl::InvalidArgumentError(
            "top-level JSON value must be an object"));
      case State::kValue:
        return Fail(absl::InvalidArgumentError(
            absl::StrCat(FieldSubject(field_), " must be ",
                         ExpectedKind(field_), is_null ? ", not null" : "")));
      case State::kMetadataValue:
        return Fail(absl::InvalidArgumentError(
            absl::StrCat("field \"metadata\" values must be strings",
                         is_null ? ", not null" : "")));
      default:
        // Unreachable: RapidJSON only reports values where values may be.
        return Fail(absl::InternalError("unexpected JSON event"));
    }
  }

  absl::Status SetStringField(absl::string_view value) {
    switch (field_) {
      case kTenant:
        EBB_RETURN_IF_ERROR(internal::ValidateId("tenant id", value));
        message_->set_tenant(std::string(value));
        return absl::OkStatus();
      case kUser:
        EBB_RETURN_IF_ERROR(internal::ValidateId("user id", value));
        message_->set_user(std::string(value));
        return absl::OkStatus();
      case kConversation:
        EBB_RETURN_IF_ERROR(internal::ValidateId("conversation id", value));
        message_->set_conversation(std::string(value));
        return absl::OkStatus();
      case kRole: {
        EBB_ASSIGN_OR_RETURN(Role role,
                             ParseRoleAs(value, FieldSubject(kRole)));
        message_->set_role(role);
        return absl::OkStatus();
      }
      case kText:
        // RapidJSON validates raw bytes, but "\udc00" (an unpaired low
        // surrogate) decodes to bytes that are not UTF-8.
        EBB_RETURN_IF_ERROR(internal::ValidateUtf8(FieldSubject(kText), value));
        message_->set_text(std::string(value));
        return absl::OkStatus();
      case kCreatedAt: {
        EBB_ASSIGN_OR_RETURN(absl::Time t,
                             ParseRfc3339As(value, FieldSubject(kCreatedAt)));
        *message_->mutable_created_at() = internal::ToProtoTimestamp(t);
        return absl::OkStatus();
      }
      case kCategory: {
        EBB_ASSIGN_OR_RETURN(DataCategory category,
                             ParseCategoryAs(value, FieldSubject(kCategory)));
        message_->set_category(category);
        return absl::OkStatus();
      }
      default:
        // Unreachable: String() routes seq and metadata to WrongType().
        return absl::InternalError("string for a non-string field");
    }
  }

  Message* message_;
  absl::Status status_;
  State state_ = State::kRoot;
  Field field_ = kTenant;
  bool seen_[kNumFields] = {};
  std::string metadata_key_;
};

absl::Status SyntaxError(absl::string_view line,
                         const rapidjson::ParseResult& result) {
  const size_t offset = result.Offset();
  absl::string_view what = rapidjson::GetParseError_En(result.Code());
  switch (result.Code()) {
    case rapidjson::kParseErrorStringInvalidEncoding:
    case rapidjson::kParseErrorStringEscapeInvalid:
    case rapidjson::kParseErrorStringMissQuotationMark:
      // RapidJSON reports a raw control byte inside a string as one of these
      // (a NUL as a missing quote); say what is actually wrong.
      if (offset < line.size() &&
          static_cast<unsigned char>(line[offset]) < 0x20) {
        what = "unescaped control character in string";
      } else if (result.Code() == rapidjson::kParseErrorStringInvalidEncoding) {
        what = "invalid UTF-8 in string";
      }
      break;
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSON at offset ", offset, ": ", what));
}

// ------------------------------------------------------------ JSON output

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& writer, absl::string_view s) {
  writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

absl::string_view RoleName(Role role) {
  if (role == v1::ROLE_UNSPECIFIED) return "unspecified";
  for (const RoleEntry& entry : kRoles) {
    if (entry.role == role) return entry.name;
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  return ParseRoleAs(name, absl::StrCat("role \"", absl::CEscape(name), "\""));
}

absl::string_view CategoryName(DataCategory category) {
  if (category == v1::CATEGORY_UNSPECIFIED) return "unspecified";
  for (const CategoryEntry& entry : kCategories) {
    if (entry.category == category) return entry.name;
  }
  return "unknown";
}

absl::StatusOr<DataCategory> ParseCategory(absl::string_view name) {
  return ParseCategoryAs(
      name, absl::StrCat("category \"", absl::CEscape(name), "\""));
}

absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text) {
  return ParseRfc3339As(text,
                        absl::StrCat("time \"", absl::CEscape(text), "\""));
}

std::string FormatRfc3339(absl::Time t) {
  // absl::RFC3339_full would write "+00:00" and an unpadded year ("1-01-01");
  // %E4Y and a literal Z give the canonical UTC form.
  return absl::FormatTime("%E4Y-%m-%d%ET%H:%M:%E*SZ", TruncateToNanos(t),
                          absl::UTCTimeZone());
}

absl::StatusOr<Message> ParseMessageJson(absl::string_view line) {
  Message message;
  MessageHandler handler(&message);
  rapidjson::MemoryStream stream(line.data(), line.size());
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseIterativeFlag |
                              rapidjson::kParseNumbersAsStringsFlag;
  const rapidjson::ParseResult result = reader.Parse<kFlags>(stream, handler);
  if (!handler.status().ok()) return handler.status();
  if (result.IsError()) return SyntaxError(line, result);
  for (int field = 0; field < kNumRequiredFields; ++field) {
    if (!handler.seen(static_cast<Field>(field))) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing field \"", kFieldNames[field], "\""));
    }
  }
  if (!handler.seen(kCategory)) {
    message.set_category(v1::CATEGORY_TRANSCRIPT);
  }
  return message;
}

std::string MessageToJson(const Message& m) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("tenant");
  WriteString(writer, m.tenant());
  writer.Key("user");
  WriteString(writer, m.user());
  writer.Key("conversation");
  WriteString(writer, m.conversation());
  writer.Key("seq");
  writer.Uint64(m.seq());
  writer.Key("role");
  WriteString(writer, RoleName(m.role()));
  writer.Key("text");
  WriteString(writer, m.text());
  writer.Key("created_at");
  WriteString(writer, FormatRfc3339(TimestampToTime(m.created_at())));
  writer.Key("category");
  WriteString(writer, CategoryName(m.category()));
  if (!m.metadata().empty()) {
    // protobuf map iteration order is unspecified; sorted keys make the
    // output deterministic (diffable, testable).
    std::vector<std::pair<absl::string_view, absl::string_view>> entries(
        m.metadata().begin(), m.metadata().end());
    std::sort(entries.begin(), entries.end());
    writer.Key("metadata");
    writer.StartObject();
    for (const auto& [key, value] : entries) {
      writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      WriteString(writer, value);
    }
    writer.EndObject();
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string ProtoToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    // Only a message with invalid UTF-8 in a string fails; ebb validates
    // every string it stores, so this marks a damaged record.
    return "{\"error\":\"record cannot be printed as JSON\"}";
  }
  return json;
}

}  // namespace ebb
