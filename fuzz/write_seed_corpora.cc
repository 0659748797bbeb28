// Copyright ebb authors.
//
// Writes the seed corpora in fuzz/corpus/: real encodings made by ebb's own
// encoders (so libFuzzer starts from inputs that get past the first checks),
// plus hand-picked edge cases. Run it again after a format change:
//
//   bazel run //fuzz:write_seed_corpora -- "$PWD/fuzz/corpus"
//
// It only adds or overwrites files named seed-*; inputs that libFuzzer found
// and that were added as regressions keep their own names.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ebb/v1/audit.pb.h"
#include "ebb/v1/file_stats.pb.h"
#include "ebb/v1/message.pb.h"
#include "ebb/v1/policy.pb.h"
#include "lib/ebb/internal/audit_chain.h"
#include "lib/ebb/internal/expiry_file_stats.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/proto_time.h"
#include "lib/ebb/internal/record_codec.h"
#include "lib/ebb/json.h"

namespace {

namespace internal = ebb::internal;
namespace fs = std::filesystem;

fs::path root;
bool failed = false;

void Write(const std::string &target, int n, const std::string &bytes) {
  const fs::path dir = root / target;
  fs::create_directories(dir);
  const fs::path file = dir / absl::StrCat("seed-", n);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", file.c_str());
    failed = true;
  }
}

std::string U64(uint64_t v) {
  std::string out(8, '\0');
  absl::big_endian::Store64(out.data(), v);
  return out;
}

ebb::v1::Message SampleMessage(int i) {
  ebb::v1::Message m;
  m.set_tenant("acme");
  m.set_user(absl::StrCat("user-", i));
  m.set_conversation(absl::StrCat("conv-2026-11-25-", i));
  m.set_seq(static_cast<uint64_t>(i) * 7);
  m.set_role(i % 2 == 0 ? ebb::v1::ROLE_USER : ebb::v1::ROLE_ASSISTANT);
  m.set_text(i == 2 ? "caf\xc3\xa9 \xe2\x9c\x93 \"quoted\" \\ back\nline"
                    : "Hello, how can I help?");
  m.set_category(static_cast<ebb::v1::DataCategory>(1 + i % 3));
  *m.mutable_created_at() = internal::ToProtoTimestamp(
      absl::FromUnixSeconds(1795000000 + i) + absl::Microseconds(i * 250));
  if (i == 1) (*m.mutable_metadata())["channel"] = "web";
  return m;
}

void MessageJson() {
  int n = 0;
  for (int i = 0; i < 3; ++i) {
    Write("message_json_fuzzer", n++, ebb::MessageToJson(SampleMessage(i)));
  }
  for (
      const char *line : {
          R"({"tenant":"a","user":"u","conversation":"c","seq":18446744073709551615,"role":"system","text":"","created_at":"9999-12-31T23:59:59.999999999Z"})",
          R"({"tenant":"a","user":"u","conversation":"c","seq":0,"role":"agent","text":"x","created_at":"0001-01-01T00:00:00Z","category":"diagnostic_log","metadata":{}})",
          R"({"tenant":"a","seq":1.5})",
          R"({"tenant":null})",
          R"([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])",
          "{\"tenant\":\"\xff\xfe\"}",
          R"({"tenant":"a","tenant":"b"})",
          R"({"tenant":"a\u0000b"})",
      }) {
    Write("message_json_fuzzer", n++, line);
  }
}

void Durations() {
  int n = 0;
  for (const char *text : {"7d",
                           "1d12h",
                           "30d",
                           "90d",
                           "forever",
                           "inf",
                           "0s",
                           "1h30m",
                           "59s",
                           "106751991167300d",
                           "2026-01-02T03:04:05Z",
                           "2026-01-02T05:04:05.123456789+02:00",
                           "9999-12-31T23:59:59.999999999Z",
                           "0001-01-01T00:00:00Z",
                           "2038-01-19T03:14:08Z",
                           "2016-12-31T23:59:60Z",
                           "1970-01-01t00:00:00z",
                           "02:00",
                           "23:59:59",
                           "24:00"}) {
    Write("duration_fuzzer", n++, text);
  }
}

void Keys() {
  int n = 0;
  Write("key_codec_fuzzer", n++,
        internal::MessageKey(20800, 17, "conv-2026-11-25-0001", 42));
  Write("key_codec_fuzzer", n++,
        internal::MessageKey(internal::kKeepForeverBucket, 1, "c", 0));
  const std::string cb_prefix =
      internal::ConversationBucketsPrefix(17, "conv-2026-11-25-0001");
  Write("key_codec_fuzzer", n++,
        std::string(1, static_cast<char>(cb_prefix.size())) +
            internal::ConversationBucketKey(17, "conv-2026-11-25-0001", 20800,
                                            ebb::v1::CATEGORY_TRANSCRIPT));
  const std::string uc_prefix = internal::UserConversationsPrefix(17, "u-1");
  Write("key_codec_fuzzer", n++,
        std::string(1, static_cast<char>(uc_prefix.size())) +
            internal::UserConversationKey(17, "u-1", "conv-1", 20800,
                                          ebb::v1::CATEGORY_DIAGNOSTIC_LOG));
  // (created_at micros, ttl seconds): 2038's int32 edge, the epoch, far past.
  Write("key_codec_fuzzer", n++, U64(2147483648LL * 1000000) + U64(86400 * 30));
  Write("key_codec_fuzzer", n++, U64(0) + U64(1));
  Write("key_codec_fuzzer", n++, U64(uint64_t{1} << 63) + U64(~uint64_t{0}));
}

void Records() {
  int n = 0;
  std::string value;
  for (int i = 0; i < 3; ++i) {
    internal::EncodeMessageRecord(SampleMessage(i), &value);
    Write("record_codec_fuzzer", n++, value);
  }
  std::string a;
  std::string b;
  internal::AppendRecordHeader({ebb::v1::CATEGORY_TRANSCRIPT, 1795000000000000},
                               &a);
  internal::AppendRecordHeader(
      {ebb::v1::CATEGORY_TRAINING_EXAMPLE, -62135596800000000}, &b);
  Write("record_codec_fuzzer", n++,
        std::string(1, static_cast<char>(a.size())) + a + b);

  ebb::v1::ExpiryFileStats stats;
  for (uint32_t tenant : {3u, 17u}) {
    ebb::v1::ExpirySection *section = stats.add_sections();
    section->set_bucket(20800);
    section->set_tenant(tenant);
    section->set_first_key(internal::MessageKey(20800, tenant, "c-1", 1));
    section->set_last_key(internal::MessageKey(20800, tenant, "c-9", 20));
    ebb::v1::ExpiryGroupStats *group = section->add_groups();
    group->set_category(ebb::v1::CATEGORY_TRANSCRIPT);
    group->set_created_day(20770);
    group->set_messages(40);
    group->set_bytes(18000);
    group->set_conversations(2);
    group->set_first_conversation("c-1");
    group->set_last_conversation("c-9");
    group->set_min_created_at_micros(20770 * internal::kMicrosPerDay);
    group->set_max_created_at_micros(20771 * internal::kMicrosPerDay - 1);
  }
  // [bucket][tenant] then the property, as the fuzzer reads it.
  Write("record_codec_fuzzer", n++,
        std::string("\x00\x00\x51\x40\x00\x00\x00\x11", 8) +
            stats.SerializeAsString());
}

void Audit() {
  int n = 0;
  std::string chain;
  for (int i = 0; i < 3; ++i) {
    ebb::v1::AuditRecord record;
    *record.mutable_at() =
        internal::ToProtoTimestamp(absl::FromUnixSeconds(1795000000 + i));
    record.set_action(i == 0   ? ebb::v1::AUDIT_ERASE
                      : i == 1 ? ebb::v1::AUDIT_EXPIRE
                               : ebb::v1::AUDIT_LEDGER_TRIM);
    record.set_tenant("acme");
    record.set_scope(ebb::v1::SCOPE_USER);
    record.set_subject("0123456789abcdef0123456789abcdef");
    record.set_request_id("req-1");
    record.mutable_counts()->set_messages(12);
    *record.mutable_ttl() = internal::ToProtoDuration(absl::Hours(720));
    const std::string body = record.SerializeAsString();
    Write("audit_record_fuzzer", n++, body);
    if (i > 0) chain.push_back('\xfe');
    chain += body;
  }
  Write("audit_record_fuzzer", n++, chain);
  Write("audit_record_fuzzer", n++, internal::AuditKey(1));
  internal::ChainPosition position;
  position.seq = 3;
  position.hash = internal::Sha256("x");
  Write("audit_record_fuzzer", n++, internal::EncodeChainPosition(position));
}

void Policies() {
  int n = 0;
  ebb::v1::RetentionPolicy policy;
  policy.set_tenant("acme");
  policy.set_version(3);
  *policy.mutable_updated_at() =
      internal::ToProtoTimestamp(absl::FromUnixSeconds(1795000000));
  ebb::v1::RetentionRule *rule = policy.add_rules();
  rule->set_category(ebb::v1::CATEGORY_TRANSCRIPT);
  *rule->mutable_ttl() = internal::ToProtoDuration(absl::Hours(24 * 7));
  *rule->mutable_horizon() =
      internal::ToProtoTimestamp(absl::FromUnixSeconds(1790000000));
  rule = policy.add_rules();
  rule->set_category(ebb::v1::CATEGORY_TRAINING_EXAMPLE);
  rule->mutable_keep_forever();
  const std::string now_and_ttl = U64(1795000000) + U64(86400 * 90);
  Write("policy_record_fuzzer", n++, now_and_ttl + policy.SerializeAsString());
  Write("policy_record_fuzzer", n++,
        U64(0) + U64(0) + policy.SerializeAsString());
  // A TTL at the edge of int64 seconds and a horizon at Timestamp's minimum.
  rule = policy.mutable_rules(0);
  rule->mutable_ttl()->set_seconds(315576000000);
  rule->mutable_horizon()->set_seconds(-62135596800);
  Write("policy_record_fuzzer", n++, now_and_ttl + policy.SerializeAsString());
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (e.g. \"$PWD/fuzz/corpus\")\n",
                 argv[0]);
    return 2;
  }
  root = argv[1];
  MessageJson();
  Durations();
  Keys();
  Records();
  Audit();
  Policies();
  return failed ? 1 : 0;
}
