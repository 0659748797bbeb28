// Copyright ebb authors.

#include "lib/ebb/json.h"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "ebb/v1/message.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace ebb {
namespace {

using ::ebb::v1::Message;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::Not;

// A line with every required field and nothing else. Tests derive bad lines
// from it by replacing one member, so each test changes exactly one thing.
constexpr absl::string_view kMinimal =
    R"({"tenant":"acme","user":"u1","conversation":"c1","seq":7,)"
    R"("role":"user","text":"hi","created_at":"2026-01-02T03:04:05Z"})";

// kMinimal with `from` replaced by `to`; fails the test if `from` is absent.
std::string Minimal(absl::string_view from, absl::string_view to) {
  std::string line(kMinimal);
  EXPECT_THAT(line, HasSubstr(std::string(from)));
  return absl::StrReplaceAll(line, {{from, to}});
}

// kMinimal with `members` (",\"k\":v...") added before the closing brace.
std::string MinimalPlus(absl::string_view members) {
  return absl::StrCat(kMinimal.substr(0, kMinimal.size() - 1), members, "}");
}

// A string literal that may contain NUL bytes, without its terminator.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

void ExpectInvalid(absl::string_view line, absl::string_view message) {
  absl::StatusOr<Message> m = ParseMessageJson(line);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(), message);
}

Message ParseOrDie(absl::string_view line) {
  absl::StatusOr<Message> m = ParseMessageJson(line);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : Message();
}

std::string TimeError(absl::string_view subject) {
  return absl::StrCat(subject,
                      " is not an RFC 3339 time with a time zone, such as "
                      "\"2026-01-02T03:04:05Z\" or "
                      "\"2026-01-02T05:04:05.5+02:00\"");
}

std::string RangeError(absl::string_view subject) {
  return absl::StrCat(subject,
                      " is outside "
                      "0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z");
}

// A message using every field, for output and round-trip tests.
Message FullMessage() {
  Message m;
  m.set_tenant("acme");
  m.set_user("u-17");
  m.set_conversation("c-9");
  m.set_seq(3);
  m.set_role(v1::ROLE_ASSISTANT);
  m.set_text("Hello!");
  m.mutable_created_at()->set_seconds(1767323045);  // 2026-01-02T03:04:05Z
  m.set_category(v1::CATEGORY_TRAINING_EXAMPLE);
  (*m.mutable_metadata())["locale"] = "de-CH";
  (*m.mutable_metadata())["channel"] = "web";
  return m;
}

void ExpectRoundTrip(const Message& m) {
  const std::string json = MessageToJson(m);
  absl::StatusOr<Message> back = ParseMessageJson(json);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << json;
  EXPECT_TRUE(MessageDifferencer::Equals(*back, m))
      << json << "\n"
      << back->DebugString() << "\nvs\n"
      << m.DebugString();
}

// ------------------------------------------------------- ParseMessageJson

TEST(ParseMessageJsonTest, ParsesRequiredFields) {
  const Message m = ParseOrDie(kMinimal);
  EXPECT_EQ(m.tenant(), "acme");
  EXPECT_EQ(m.user(), "u1");
  EXPECT_EQ(m.conversation(), "c1");
  EXPECT_EQ(m.seq(), 7u);
  EXPECT_EQ(m.role(), v1::ROLE_USER);
  EXPECT_EQ(m.text(), "hi");
  EXPECT_EQ(m.created_at().seconds(), 1767323045);
  EXPECT_EQ(m.created_at().nanos(), 0);
  EXPECT_TRUE(m.metadata().empty());
}

TEST(ParseMessageJsonTest, AbsentCategoryIsTranscript) {
  EXPECT_EQ(ParseOrDie(kMinimal).category(), v1::CATEGORY_TRANSCRIPT);
}

TEST(ParseMessageJsonTest, ParsesCategoryAndMetadata) {
  const Message m = ParseOrDie(MinimalPlus(
      R"(,"category":"diagnostic_log","metadata":{"a":"1","b":""})"));
  EXPECT_EQ(m.category(), v1::CATEGORY_DIAGNOSTIC_LOG);
  ASSERT_EQ(m.metadata().size(), 2u);
  EXPECT_EQ(m.metadata().at("a"), "1");
  EXPECT_EQ(m.metadata().at("b"), "");
}

TEST(ParseMessageJsonTest, EmptyMetadataObjectIsEmpty) {
  EXPECT_TRUE(ParseOrDie(MinimalPlus(R"(,"metadata":{})")).metadata().empty());
}

TEST(ParseMessageJsonTest, MemberOrderDoesNotMatter) {
  const Message m = ParseOrDie(
      R"({"created_at":"2026-01-02T03:04:05Z","text":"hi","role":"user",)"
      R"("seq":7,"conversation":"c1","user":"u1","tenant":"acme"})");
  EXPECT_TRUE(MessageDifferencer::Equals(m, ParseOrDie(kMinimal)));
}

TEST(ParseMessageJsonTest, AcceptsJsonWhitespaceAroundAndInside) {
  const Message m = ParseOrDie(
      absl::StrCat(" \t", Minimal(R"("seq":7,)", "\"seq\" : 7 ,\r\n"), " \r"));
  EXPECT_EQ(m.seq(), 7u);
}

TEST(ParseMessageJsonTest, EmptyTextIsAccepted) {
  EXPECT_EQ(ParseOrDie(Minimal(R"("text":"hi")", R"("text":"")")).text(), "");
}

TEST(ParseMessageJsonTest, DecodesEscapesInText) {
  const Message m = ParseOrDie(Minimal(
      R"("text":"hi")", R"("text":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00\u0000")"));
  EXPECT_EQ(m.text(), Bytes("a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80\0"));
}

TEST(ParseMessageJsonTest, AcceptsHugeText) {
  const std::string text(2 * 1024 * 1024, 'x');
  const Message m = ParseOrDie(
      Minimal(R"("text":"hi")", absl::StrCat(R"("text":")", text, "\"")));
  EXPECT_EQ(m.text(), text);
}

TEST(ParseMessageJsonTest, ParsesAllRoles) {
  EXPECT_EQ(
      ParseOrDie(Minimal(R"("user","text")", R"("assistant","text")")).role(),
      v1::ROLE_ASSISTANT);
  EXPECT_EQ(ParseOrDie(Minimal(R"("user","text")", R"("agent","text")")).role(),
            v1::ROLE_AGENT);
  EXPECT_EQ(
      ParseOrDie(Minimal(R"("user","text")", R"("system","text")")).role(),
      v1::ROLE_SYSTEM);
}

TEST(ParseMessageJsonTest, SeqAcceptsZeroAndMaximum) {
  EXPECT_EQ(ParseOrDie(Minimal(R"("seq":7)", R"("seq":0)")).seq(), 0u);
  EXPECT_EQ(
      ParseOrDie(Minimal(R"("seq":7)", R"("seq":18446744073709551615)")).seq(),
      std::numeric_limits<uint64_t>::max());
}

TEST(ParseMessageJsonTest, SeqAboveUint64IsRefused) {
  ExpectInvalid(Minimal(R"("seq":7)", R"("seq":18446744073709551616)"),
                "field \"seq\" is larger than 18446744073709551615");
}

TEST(ParseMessageJsonTest, SeqMustBeAnIntegerLiteral) {
  const std::string message = "field \"seq\" must be a non-negative integer";
  ExpectInvalid(Minimal(R"("seq":7)", R"("seq":1.5)"), message);
  ExpectInvalid(Minimal(R"("seq":7)", R"("seq":7.0)"), message);
  ExpectInvalid(Minimal(R"("seq":7)", R"("seq":1e3)"), message);
  ExpectInvalid(Minimal(R"("seq":7)", R"("seq":1E3)"), message);
}

TEST(ParseMessageJsonTest, SeqMustNotBeNegative) {
  const std::string message = "field \"seq\" must be a non-negative integer";
  ExpectInvalid(Minimal(R"("seq":7)", R"("seq":-1)"), message);
  ExpectInvalid(Minimal(R"("seq":7)", R"("seq":-0)"), message);
}

TEST(ParseMessageJsonTest, SeqMustNotBeAString) {
  ExpectInvalid(Minimal(R"("seq":7)", R"("seq":"7")"),
                "field \"seq\" must be a non-negative integer");
}

TEST(ParseMessageJsonTest, SeqMustNotBeNull) {
  ExpectInvalid(Minimal(R"("seq":7)", R"("seq":null)"),
                "field \"seq\" must be a non-negative integer, not null");
}

TEST(ParseMessageJsonTest, StringFieldsRefuseOtherTypes) {
  ExpectInvalid(Minimal(R"("tenant":"acme")", R"("tenant":5)"),
                "field \"tenant\" must be a string");
  ExpectInvalid(Minimal(R"("user":"u1")", R"("user":true)"),
                "field \"user\" must be a string");
  ExpectInvalid(Minimal(R"("conversation":"c1")", R"("conversation":["c1"])"),
                "field \"conversation\" must be a string");
  ExpectInvalid(Minimal(R"("text":"hi")", R"("text":{"a":"b"})"),
                "field \"text\" must be a string");
  ExpectInvalid(Minimal(R"("role":"user")", R"("role":1)"),
                "field \"role\" must be a string");
  ExpectInvalid(
      Minimal(R"("created_at":"2026-01-02T03:04:05Z")", R"("created_at":0)"),
      "field \"created_at\" must be a string");
  ExpectInvalid(MinimalPlus(R"(,"category":2)"),
                "field \"category\" must be a string");
}

TEST(ParseMessageJsonTest, NullIsRefusedForRequiredFields) {
  ExpectInvalid(Minimal(R"("tenant":"acme")", R"("tenant":null)"),
                "field \"tenant\" must be a string, not null");
  ExpectInvalid(Minimal(R"("text":"hi")", R"("text":null)"),
                "field \"text\" must be a string, not null");
}

TEST(ParseMessageJsonTest, NullIsRefusedForOptionalFields) {
  ExpectInvalid(MinimalPlus(R"(,"category":null)"),
                "field \"category\" must be a string, not null");
  ExpectInvalid(MinimalPlus(R"(,"metadata":null)"),
                "field \"metadata\" must be an object whose values are "
                "strings, not null");
}

TEST(ParseMessageJsonTest, UnknownRoleIsRefused) {
  const std::string message =
      "field \"role\" must be one of: user, assistant, agent, system";
  ExpectInvalid(Minimal(R"("role":"user")", R"("role":"bot")"), message);
  ExpectInvalid(Minimal(R"("role":"user")", R"("role":"USER")"), message);
  ExpectInvalid(Minimal(R"("role":"user")", R"("role":"unspecified")"),
                message);
}

TEST(ParseMessageJsonTest, UnknownCategoryIsRefused) {
  ExpectInvalid(MinimalPlus(R"(,"category":"logs")"),
                "field \"category\" must be one of: transcript, "
                "training_example, diagnostic_log");
}

TEST(ParseMessageJsonTest, InvalidIdsAreRefusedByValidateId) {
  ExpectInvalid(Minimal(R"("tenant":"acme")", R"("tenant":"")"),
                "tenant id is empty");
  ExpectInvalid(Minimal(R"("user":"u1")", R"("user":"u\u0001")"),
                "user id contains control byte 0x01 at offset 1");
  ExpectInvalid(
      Minimal(R"("conversation":"c1")",
              absl::StrCat(R"("conversation":")", std::string(257, 'c'), "\"")),
      "conversation id is 257 bytes long; at most 256 are allowed");
}

TEST(ParseMessageJsonTest, UnknownFieldIsNamed) {
  ExpectInvalid(Minimal(R"("created_at")", R"("create_at")"),
                "unknown field \"create_at\"");
}

TEST(ParseMessageJsonTest, UnknownFieldNameIsEscapedAndTruncated) {
  ExpectInvalid(MinimalPlus(R"(,"a\nb\u0000":1)"),
                "unknown field \"a\\nb\\000\"");
  ExpectInvalid(
      MinimalPlus(absl::StrCat(",\"", std::string(100, 'k'), "\":1")),
      absl::StrCat("unknown field \"", std::string(64, 'k'), "\"..."));
}

TEST(ParseMessageJsonTest, DuplicateFieldIsRefused) {
  ExpectInvalid(MinimalPlus(R"(,"seq":7)"), "duplicate field \"seq\"");
  ExpectInvalid(MinimalPlus(R"(,"metadata":{},"metadata":{})"),
                "duplicate field \"metadata\"");
}

TEST(ParseMessageJsonTest, EachMissingRequiredFieldIsNamed) {
  ExpectInvalid(Minimal(R"("tenant":"acme",)", ""), "missing field \"tenant\"");
  ExpectInvalid(Minimal(R"("user":"u1",)", ""), "missing field \"user\"");
  ExpectInvalid(Minimal(R"("conversation":"c1",)", ""),
                "missing field \"conversation\"");
  ExpectInvalid(Minimal(R"("seq":7,)", ""), "missing field \"seq\"");
  ExpectInvalid(Minimal(R"("role":"user",)", ""), "missing field \"role\"");
  ExpectInvalid(Minimal(R"("text":"hi",)", ""), "missing field \"text\"");
  ExpectInvalid(Minimal(R"(,"created_at":"2026-01-02T03:04:05Z")", ""),
                "missing field \"created_at\"");
}

TEST(ParseMessageJsonTest, EmptyObjectReportsFirstMissingField) {
  ExpectInvalid("{}", "missing field \"tenant\"");
}

TEST(ParseMessageJsonTest, MetadataValuesMustBeStrings) {
  ExpectInvalid(MinimalPlus(R"(,"metadata":{"a":1})"),
                "field \"metadata\" values must be strings");
  ExpectInvalid(MinimalPlus(R"(,"metadata":{"a":{}})"),
                "field \"metadata\" values must be strings");
  ExpectInvalid(MinimalPlus(R"(,"metadata":{"a":null})"),
                "field \"metadata\" values must be strings, not null");
}

TEST(ParseMessageJsonTest, MetadataMustBeAnObject) {
  ExpectInvalid(
      MinimalPlus(R"(,"metadata":["a"])"),
      "field \"metadata\" must be an object whose values are strings");
  ExpectInvalid(
      MinimalPlus(R"(,"metadata":"a=b")"),
      "field \"metadata\" must be an object whose values are strings");
}

TEST(ParseMessageJsonTest, DuplicateMetadataKeyIsRefused) {
  ExpectInvalid(MinimalPlus(R"(,"metadata":{"a":"1","a":"2"})"),
                "field \"metadata\" has a duplicate key");
}

TEST(ParseMessageJsonTest, DeeplyNestedMetadataValueIsRefusedWithoutCrashing) {
  constexpr int kDepth = 10000;
  const std::string nested =
      absl::StrCat(std::string(kDepth, '['), std::string(kDepth, ']'));
  ExpectInvalid(MinimalPlus(absl::StrCat(R"(,"metadata":{"a":)", nested, "}")),
                "field \"metadata\" values must be strings");
}

TEST(ParseMessageJsonTest, DeeplyNestedUnclosedInputIsRefusedWithoutCrashing) {
  ExpectInvalid(std::string(10000, '['),
                "top-level JSON value must be an object");
}

TEST(ParseMessageJsonTest, EmptyLineIsInvalidJson) {
  ExpectInvalid("", "invalid JSON at offset 0: The document is empty.");
}

TEST(ParseMessageJsonTest, WhitespaceOnlyLineIsInvalidJson) {
  ExpectInvalid("  ", "invalid JSON at offset 2: The document is empty.");
}

TEST(ParseMessageJsonTest, TopLevelArrayIsRefused) {
  ExpectInvalid(absl::StrCat("[", kMinimal, "]"),
                "top-level JSON value must be an object");
}

TEST(ParseMessageJsonTest, TopLevelScalarIsRefused) {
  ExpectInvalid("\"text\"", "top-level JSON value must be an object");
  ExpectInvalid("null", "top-level JSON value must be an object");
}

TEST(ParseMessageJsonTest, TrailingGarbageIsRefused) {
  ExpectInvalid(absl::StrCat(kMinimal, "x"),
                absl::StrCat("invalid JSON at offset ", kMinimal.size(),
                             ": The document root must not be followed by "
                             "other values."));
}

TEST(ParseMessageJsonTest, SecondObjectOnTheLineIsRefused) {
  ExpectInvalid(absl::StrCat(kMinimal, " {}"),
                absl::StrCat("invalid JSON at offset ", kMinimal.size() + 1,
                             ": The document root must not be followed by "
                             "other values."));
}

TEST(ParseMessageJsonTest, TruncatedLineIsInvalidJson) {
  // Offset 10 is the end of the input, where a value should start.
  ExpectInvalid(R"({"tenant":)", "invalid JSON at offset 10: Invalid value.");
}

TEST(ParseMessageJsonTest, MissingCommaIsInvalidJson) {
  ExpectInvalid(R"({"tenant":"acme" "user":"u1"})",
                "invalid JSON at offset 17: Missing a comma or '}' after an "
                "object member.");
}

TEST(ParseMessageJsonTest, ViewIsNotReadPastItsEnd) {
  // The bytes after the view would make it valid JSON if they were read.
  const std::string buffer = absl::StrCat(kMinimal, "}");
  ExpectInvalid(absl::string_view(buffer.data(), kMinimal.size() - 1),
                absl::StrCat("invalid JSON at offset ", kMinimal.size() - 1,
                             ": Missing a comma or '}' after an object "
                             "member."));
}

TEST(ParseMessageJsonTest, InvalidUtf8InTextIsRefused) {
  const std::string line =
      Minimal(R"("text":"hi")", "\"text\":\"h\xff\"");  // 0xFF is never UTF-8
  const size_t offset = line.find('\xff');
  ExpectInvalid(line, absl::StrCat("invalid JSON at offset ", offset,
                                   ": invalid UTF-8 in string"));
}

TEST(ParseMessageJsonTest, OverlongUtf8InTextIsRefused) {
  const std::string line =
      Minimal(R"("text":"hi")", "\"text\":\"\xc0\xaf\"");  // overlong '/'
  ExpectInvalid(line, absl::StrCat("invalid JSON at offset ", line.find('\xc0'),
                                   ": invalid UTF-8 in string"));
}

TEST(ParseMessageJsonTest, InvalidUtf8InKeyIsRefused) {
  ExpectInvalid("{\"te\xe2\x82nant\":\"acme\"}",
                "invalid JSON at offset 4: invalid UTF-8 in string");
}

TEST(ParseMessageJsonTest, InvalidUtf8InMetadataKeyIsRefused) {
  const std::string line =
      MinimalPlus(",\"metadata\":{\"\xed\xa0\x80\":\"v\"}");
  ExpectInvalid(line, absl::StrCat("invalid JSON at offset ", line.find('\xed'),
                                   ": invalid UTF-8 in string"));
}

TEST(ParseMessageJsonTest, UnpairedLowSurrogateEscapeIsRefused) {
  // RapidJSON decodes this escape to bytes that are not UTF-8 instead of
  // failing, so the field validation has to catch it.
  ExpectInvalid(Minimal(R"("text":"hi")", R"("text":"ok\udc00")"),
                "field \"text\" is not valid UTF-8 (bad byte at offset 2)");
  ExpectInvalid(MinimalPlus(R"(,"metadata":{"\udc00":"v"})"),
                "a key in field \"metadata\" is not valid UTF-8 (bad byte at "
                "offset 0)");
  ExpectInvalid(MinimalPlus(R"(,"metadata":{"k":"\udc00"})"),
                "a value in field \"metadata\" is not valid UTF-8 (bad byte "
                "at offset 0)");
}

TEST(ParseMessageJsonTest, UnpairedHighSurrogateEscapeIsRefused) {
  const std::string line = Minimal(R"("text":"hi")", R"("text":"\ud800x")");
  ExpectInvalid(line,
                absl::StrCat("invalid JSON at offset ", line.find("\\ud800"),
                             ": The surrogate pair in string is invalid."));
}

TEST(ParseMessageJsonTest, RawControlCharacterInTextIsRefused) {
  const std::string tab = Minimal(R"("text":"hi")", "\"text\":\"a\tb\"");
  ExpectInvalid(tab, absl::StrCat("invalid JSON at offset ", tab.find('\t'),
                                  ": unescaped control character in string"));
  const std::string nul = Minimal(R"("text":"hi")", Bytes("\"text\":\"a\0b\""));
  ExpectInvalid(nul, absl::StrCat("invalid JSON at offset ", nul.find('\0'),
                                  ": unescaped control character in string"));
}

TEST(ParseMessageJsonTest, ErrorsDoNotContainValues) {
  const std::string secret = "my card is 4111 1111 1111 1111";
  const std::string text = absl::StrCat(R"("text":")", secret, "\"");
  for (const std::string& line : {
           absl::StrCat("{", text, R"(,"seq":-1})"),
           absl::StrCat("{", text, R"(,"created_at":"yesterday"})"),
           absl::StrCat("{", text, R"(,"metadata":{"a":"\udc00"}})"),
           absl::StrCat("{", text, "}"),
           absl::StrCat("{", text, ",", text, "}"),
           absl::StrCat("{", text, " x}"),
           absl::StrCat("[", text, "]"),
           Minimal(R"("text":"hi")", text) + "x",
           Minimal(R"("role":"user")",
                   absl::StrCat(R"("role":")", secret, "\"")),
           Minimal(R"("created_at":"2026-01-02T03:04:05Z")",
                   absl::StrCat(R"("created_at":")", secret, "\"")),
           Minimal(R"("tenant":"acme")",
                   absl::StrCat(R"("tenant":"\u0001)", secret, "\"")),
       }) {
    const absl::StatusOr<Message> m = ParseMessageJson(line);
    ASSERT_FALSE(m.ok()) << line;
    EXPECT_THAT(std::string(m.status().message()), Not(HasSubstr("card")))
        << line;
  }
}

TEST(ParseMessageJsonTest, CreatedAtKeepsNanoseconds) {
  const Message m = ParseOrDie(Minimal(R"(05Z")", R"(05.123456789Z")"));
  EXPECT_EQ(m.created_at().seconds(), 1767323045);
  EXPECT_EQ(m.created_at().nanos(), 123456789);
}

TEST(ParseMessageJsonTest, CreatedAtAppliesTheOffset) {
  const Message m =
      ParseOrDie(Minimal(R"(03:04:05Z")", R"(05:04:05.5+02:00")"));
  EXPECT_EQ(m.created_at().seconds(), 1767323045);
  EXPECT_EQ(m.created_at().nanos(), 500000000);
}

TEST(ParseMessageJsonTest, CreatedAtBeforeEpochHasNonNegativeNanos) {
  const Message m =
      ParseOrDie(Minimal("2026-01-02T03:04:05Z", "1969-12-31T23:59:59.25Z"));
  EXPECT_EQ(m.created_at().seconds(), -1);
  EXPECT_EQ(m.created_at().nanos(), 250000000);
}

TEST(ParseMessageJsonTest, CreatedAtWithoutZoneIsRefused) {
  ExpectInvalid(Minimal("03:04:05Z", "03:04:05"),
                TimeError("field \"created_at\""));
}

TEST(ParseMessageJsonTest, CreatedAtWithImpossibleDateIsRefused) {
  ExpectInvalid(Minimal("2026-01-02T", "2026-13-01T"),
                TimeError("field \"created_at\""));
  ExpectInvalid(Minimal("2026-01-02T", "2026-02-30T"),
                TimeError("field \"created_at\""));
}

TEST(ParseMessageJsonTest, CreatedAtBeforeYearOneIsRefused) {
  ExpectInvalid(Minimal("2026-01-02T03:04:05Z", "0000-12-31T23:59:59Z"),
                RangeError("field \"created_at\""));
  ExpectInvalid(Minimal("2026-01-02T03:04:05Z", "0001-01-01T00:00:00+00:01"),
                RangeError("field \"created_at\""));
}

TEST(ParseMessageJsonTest, CreatedAtAfterYear9999IsRefused) {
  ExpectInvalid(Minimal("2026-01-02T03:04:05Z", "9999-12-31T23:59:59-00:01"),
                RangeError("field \"created_at\""));
  ExpectInvalid(Minimal("2026-01-02T03:04:05Z", "10000-01-01T00:00:00Z"),
                TimeError("field \"created_at\""));
}

TEST(ParseMessageJsonTest, CreatedAtAtTheRangeLimitsIsAccepted) {
  const Message min =
      ParseOrDie(Minimal("2026-01-02T03:04:05Z", "0001-01-01T00:00:00Z"));
  EXPECT_EQ(min.created_at().seconds(), -62135596800);
  EXPECT_EQ(min.created_at().nanos(), 0);
  const Message max = ParseOrDie(
      Minimal("2026-01-02T03:04:05Z", "9999-12-31T23:59:59.999999999Z"));
  EXPECT_EQ(max.created_at().seconds(), 253402300799);
  EXPECT_EQ(max.created_at().nanos(), 999999999);
}

// ---------------------------------------------------------- MessageToJson

TEST(MessageToJsonTest, WritesFieldsInOrderWithSortedMetadata) {
  EXPECT_EQ(MessageToJson(FullMessage()),
            R"({"tenant":"acme","user":"u-17","conversation":"c-9","seq":3,)"
            R"("role":"assistant","text":"Hello!",)"
            R"("created_at":"2026-01-02T03:04:05Z","category":)"
            R"("training_example","metadata":{"channel":"web",)"
            R"("locale":"de-CH"}})");
}

TEST(MessageToJsonTest, OmitsEmptyMetadata) {
  Message m = FullMessage();
  m.clear_metadata();
  EXPECT_EQ(MessageToJson(m),
            R"({"tenant":"acme","user":"u-17","conversation":"c-9","seq":3,)"
            R"("role":"assistant","text":"Hello!",)"
            R"("created_at":"2026-01-02T03:04:05Z","category":)"
            R"("training_example"})");
}

TEST(MessageToJsonTest, WritesFractionalSecondsOnlyWhenNonZero) {
  Message m = FullMessage();
  m.mutable_created_at()->set_nanos(500000000);
  EXPECT_THAT(MessageToJson(m),
              HasSubstr(R"("created_at":"2026-01-02T03:04:05.5Z")"));
  m.mutable_created_at()->set_nanos(1);
  EXPECT_THAT(MessageToJson(m),
              HasSubstr(R"("created_at":"2026-01-02T03:04:05.000000001Z")"));
}

TEST(MessageToJsonTest, EscapesQuotesBackslashesAndControlCharacters) {
  Message m = FullMessage();
  m.set_text(Bytes("say \"hi\"\\\n\t\x01\0end"));
  EXPECT_THAT(MessageToJson(m),
              HasSubstr(R"("text":"say \"hi\"\\\n\t\u0001\u0000end")"));
}

TEST(MessageToJsonTest, WritesNonAsciiAsRawUtf8) {
  Message m = FullMessage();
  m.set_text(
      "Gr\xc3\xbc\xc3\x9f"
      "e \xf0\x9f\x91\x8b");  // "Grüße 👋"
  EXPECT_THAT(MessageToJson(m), HasSubstr("\"text\":\"Gr\xc3\xbc\xc3\x9f"
                                          "e \xf0\x9f\x91\x8b\""));
}

TEST(MessageToJsonTest, HasNoNewline) {
  Message m = FullMessage();
  m.set_text("line one\nline two\r\n");
  EXPECT_THAT(MessageToJson(m), Not(HasSubstr("\n")));
}

TEST(MessageToJsonTest, RoundTripsFullMessage) {
  ExpectRoundTrip(FullMessage());
}

TEST(MessageToJsonTest, RoundTripsNonAsciiEmojiAndEscapes) {
  Message m = FullMessage();
  m.set_tenant("t\xc3\xa9nant");
  m.set_text(Bytes(
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80 \"quoted\" \\ / "
      "\n\r\t\b\f \x01\x1f\x7f \0 \xe2\x80\xa8 </script>"));
  (*m.mutable_metadata())["k\xc3\xa9y \"q\""] = "v\na\xf0\x9f\x8e\x89";
  ExpectRoundTrip(m);
}

TEST(MessageToJsonTest, RoundTripsEmptyText) {
  Message m = FullMessage();
  m.set_text("");
  ExpectRoundTrip(m);
}

TEST(MessageToJsonTest, RoundTripsMaximumSeq) {
  Message m = FullMessage();
  m.set_seq(std::numeric_limits<uint64_t>::max());
  EXPECT_THAT(MessageToJson(m), HasSubstr(R"("seq":18446744073709551615,)"));
  ExpectRoundTrip(m);
}

TEST(MessageToJsonTest, RoundTripsEveryRoleAndCategory) {
  for (v1::Role role :
       {v1::ROLE_USER, v1::ROLE_ASSISTANT, v1::ROLE_AGENT, v1::ROLE_SYSTEM}) {
    for (v1::DataCategory category :
         {v1::CATEGORY_TRANSCRIPT, v1::CATEGORY_TRAINING_EXAMPLE,
          v1::CATEGORY_DIAGNOSTIC_LOG}) {
      Message m = FullMessage();
      m.set_role(role);
      m.set_category(category);
      ExpectRoundTrip(m);
    }
  }
}

TEST(MessageToJsonTest, RoundTripsTimestampsAcrossTheRange) {
  for (auto [seconds, nanos] : std::initializer_list<std::pair<int64_t, int>>{
           {-62135596800, 0},
           {-62135596800, 1},
           {-1, 999999999},
           {0, 0},
           {1767323045, 123000000},
           {253402300799, 999999999}}) {
    Message m = FullMessage();
    m.mutable_created_at()->set_seconds(seconds);
    m.mutable_created_at()->set_nanos(nanos);
    ExpectRoundTrip(m);
  }
}

// ------------------------------------------------------------------ names

TEST(RoleNameTest, NamesEveryRole) {
  EXPECT_EQ(RoleName(v1::ROLE_USER), "user");
  EXPECT_EQ(RoleName(v1::ROLE_ASSISTANT), "assistant");
  EXPECT_EQ(RoleName(v1::ROLE_AGENT), "agent");
  EXPECT_EQ(RoleName(v1::ROLE_SYSTEM), "system");
  EXPECT_EQ(RoleName(v1::ROLE_UNSPECIFIED), "unspecified");
  EXPECT_EQ(RoleName(static_cast<v1::Role>(17)), "unknown");
}

TEST(ParseRoleTest, ParsesEveryRole) {
  EXPECT_EQ(*ParseRole("user"), v1::ROLE_USER);
  EXPECT_EQ(*ParseRole("assistant"), v1::ROLE_ASSISTANT);
  EXPECT_EQ(*ParseRole("agent"), v1::ROLE_AGENT);
  EXPECT_EQ(*ParseRole("system"), v1::ROLE_SYSTEM);
}

TEST(ParseRoleTest, RefusesOtherNamesListingTheAllowedOnes) {
  const absl::StatusOr<v1::Role> role = ParseRole("unspecified");
  EXPECT_EQ(role.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(role.status().message(),
            "role \"unspecified\" must be one of: user, assistant, agent, "
            "system");
  EXPECT_EQ(ParseRole("User").status().message(),
            "role \"User\" must be one of: user, assistant, agent, system");
}

TEST(CategoryNameTest, NamesEveryCategory) {
  EXPECT_EQ(CategoryName(v1::CATEGORY_TRANSCRIPT), "transcript");
  EXPECT_EQ(CategoryName(v1::CATEGORY_TRAINING_EXAMPLE), "training_example");
  EXPECT_EQ(CategoryName(v1::CATEGORY_DIAGNOSTIC_LOG), "diagnostic_log");
  EXPECT_EQ(CategoryName(v1::CATEGORY_UNSPECIFIED), "unspecified");
  EXPECT_EQ(CategoryName(static_cast<v1::DataCategory>(17)), "unknown");
}

TEST(ParseCategoryTest, ParsesEveryCategory) {
  EXPECT_EQ(*ParseCategory("transcript"), v1::CATEGORY_TRANSCRIPT);
  EXPECT_EQ(*ParseCategory("training_example"), v1::CATEGORY_TRAINING_EXAMPLE);
  EXPECT_EQ(*ParseCategory("diagnostic_log"), v1::CATEGORY_DIAGNOSTIC_LOG);
}

TEST(ParseCategoryTest, RefusesOtherNamesListingTheAllowedOnes) {
  const absl::StatusOr<v1::DataCategory> category = ParseCategory("training");
  EXPECT_EQ(category.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(category.status().message(),
            "category \"training\" must be one of: transcript, "
            "training_example, diagnostic_log");
}

// ------------------------------------------------------------------- time

TEST(ParseRfc3339Test, ParsesUtcAndOffsets) {
  const absl::Time expected = absl::FromUnixSeconds(1767323045);
  EXPECT_EQ(*ParseRfc3339("2026-01-02T03:04:05Z"), expected);
  EXPECT_EQ(*ParseRfc3339("2026-01-02t03:04:05z"), expected);
  EXPECT_EQ(*ParseRfc3339("2026-01-02T05:04:05+02:00"), expected);
  EXPECT_EQ(*ParseRfc3339("2026-01-01T22:04:05-05:00"), expected);
}

TEST(ParseRfc3339Test, TruncatesBelowNanoseconds) {
  EXPECT_EQ(*ParseRfc3339("2026-01-02T03:04:05.1234567899Z"),
            absl::FromUnixSeconds(1767323045) + absl::Nanoseconds(123456789));
}

TEST(ParseRfc3339Test, LeapSecondIsTheNextMinute) {
  EXPECT_EQ(*ParseRfc3339("2016-12-31T23:59:60Z"),
            *ParseRfc3339("2017-01-01T00:00:00Z"));
}

TEST(ParseRfc3339Test, RefusesLenientForms) {
  for (absl::string_view text :
       {"", " 2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z ",
        "2026-1-2T03:04:05Z", "2026-01-02 03:04:05Z",
        "2026-01-02T03:04:05+0200", "2026-01-02T03:04:05.Z",
        "2026-01-02T03:04Z", "2026-01-02", "infinite-future",
        "+2026-01-02T03:04:05Z", "2026-01-02T24:00:00Z"}) {
    const absl::StatusOr<absl::Time> t = ParseRfc3339(text);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseRfc3339Test, ErrorQuotesTheInput) {
  EXPECT_EQ(ParseRfc3339("2026-13-01T00:00:00Z").status().message(),
            TimeError("time \"2026-13-01T00:00:00Z\""));
  EXPECT_EQ(ParseRfc3339("0000-01-01T00:00:00Z").status().message(),
            RangeError("time \"0000-01-01T00:00:00Z\""));
}

TEST(FormatRfc3339Test, FormatsUtcWithZ) {
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(1767323045)),
            "2026-01-02T03:04:05Z");
}

TEST(FormatRfc3339Test, PadsSmallYears) {
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(-62135596800)),
            "0001-01-01T00:00:00Z");
}

TEST(FormatRfc3339Test, WritesOnlyNeededFractionalDigits) {
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(0) + absl::Milliseconds(250)),
            "1970-01-01T00:00:00.25Z");
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(0) - absl::Nanoseconds(1)),
            "1969-12-31T23:59:59.999999999Z");
}

TEST(FormatRfc3339Test, TruncatesBelowNanoseconds) {
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(0) + absl::Nanoseconds(1) / 4),
            "1970-01-01T00:00:00Z");
}

TEST(FormatRfc3339Test, FormatsInfiniteTimes) {
  EXPECT_EQ(FormatRfc3339(absl::InfinitePast()), "infinite-past");
  EXPECT_EQ(FormatRfc3339(absl::InfiniteFuture()), "infinite-future");
}

TEST(FormatRfc3339Test, RoundTripsThroughParse) {
  for (absl::Time t :
       {absl::FromUnixSeconds(-62135596800),
        absl::FromUnixSeconds(-1) + absl::Nanoseconds(7), absl::UnixEpoch(),
        absl::FromUnixSeconds(1767323045) + absl::Microseconds(1),
        absl::FromUnixSeconds(253402300799) + absl::Nanoseconds(999999999)}) {
    const std::string text = FormatRfc3339(t);
    absl::StatusOr<absl::Time> back = ParseRfc3339(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(*back, t) << text;
  }
}

}  // namespace
}  // namespace ebb
