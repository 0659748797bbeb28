// Copyright ebb authors.
//
// End-to-end tests of the `ebb` command line, run as a user would: exact
// stdout, stderr and exit codes, and RocksDB's own `ldb` to check what is
// physically left in the store's files.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace ebb {
namespace {

using ::ebb::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct Result {
  int code;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Runs `command` with /bin/sh, stdin from `input`.
Result Sh(const std::string& work, const std::string& command,
          const std::string& input = "") {
  const std::string in = work + "/stdin", out = work + "/stdout",
                    err = work + "/stderr";
  WriteFile(in, input);
  const int status = std::system(
      absl::StrCat(command, " <", in, " >", out, " 2>", err).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out),
          ReadFile(err)};
}

class CliTest : public ::testing::Test {
 protected:
  // Runs `ebb --db <store> <args>`.
  Result Ebb(const std::string& args, const std::string& input = "") {
    return Sh(dir_.path(), absl::StrCat("tools/ebb/ebb --db ", db(), " ", args),
              input);
  }
  std::string db() const { return dir_.path() + "/store"; }

  std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines = absl::StrSplit(text, '\n');
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
  }

  TempDir dir_;
};

std::string Line(const std::string& conversation, int seq,
                 const std::string& created_at, const std::string& extra = "") {
  return absl::StrCat(R"({"tenant":"acme","user":"u1","conversation":")",
                      conversation, R"(","seq":)", seq,
                      R"(,"role":"user","text":"hello","created_at":")",
                      created_at, "\"", extra, "}\n");
}

const char kNow[] = "--now 2026-01-10T00:00:00Z";

TEST_F(CliTest, HelpExitsZeroAndNamesEverySubcommand) {
  Result r = Sh(dir_.path(), "tools/ebb/ebb --help");
  EXPECT_EQ(r.code, 0);
  for (const char* word : {"ingest", "get", "list", "policy", "stats",
                           "compact", "--db", "--now", "Exit codes"}) {
    EXPECT_THAT(r.out, HasSubstr(word));
  }
  r = Sh(dir_.path(), "tools/ebb/ebb policy set --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--ttl"));
  EXPECT_THAT(r.out, HasSubstr("--category"));
  r = Sh(dir_.path(), "tools/ebb/ebb ingest --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("FILE|-"));
}

TEST_F(CliTest, UsageErrorsExitTwoAndCreateNoStore) {
  for (const std::string& args :
       {std::string(""), std::string("frobnicate"),
        std::string("get --tenant a"),
        std::string("get --tenant a --conversation c --bogus"),
        std::string("policy set --tenant a --ttl 7x"),
        std::string("policy set --tenant a --ttl 7d --category movies"),
        std::string("--now yesterday stats"), std::string("policy")}) {
    Result r = Ebb(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_THAT(r.err, HasSubstr("Run 'ebb --help'")) << args;
  }
  Result r = Sh(dir_.path(), "tools/ebb/ebb stats");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--db is required"));
  struct stat st;
  EXPECT_NE(stat(db().c_str(), &st), 0) << "a usage error created the store";
}

TEST_F(CliTest, DayStartIsSetWhenTheStoreIsCreatedAndKept) {
  // A bad time of day is a usage error and creates nothing.
  for (const char* bad : {"24:00", "2:00", "02:00Z", "noon"}) {
    Result r = Ebb(absl::StrCat("--day-start ", bad, " ", kNow, " ingest"),
                   Line("c1", 1, "2026-01-09T00:00:00Z"));
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_THAT(r.err, HasSubstr("--day-start: invalid time of day")) << bad;
  }
  struct stat st;
  ASSERT_NE(stat(db().c_str(), &st), 0) << "a usage error created the store";
  Result r = Ebb(absl::StrCat("--day-start 02:00 ", kNow, " ingest"),
                 Line("c1", 1, "2026-01-09T00:00:00Z"));
  ASSERT_EQ(r.code, 0) << r.err;
  // Later commands need not repeat it; stats shows it.
  r = Ebb(absl::StrCat(kNow, " stats"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("day_start":"02:00:00")"));
  r = Ebb(absl::StrCat("--day-start 02:00:00 ", kNow, " stats"));
  EXPECT_EQ(r.code, 0) << r.err;
  // Another is refused, and the store is untouched.
  r = Ebb(absl::StrCat("--day-start 03:00 ", kNow,
                       " get --tenant acme "
                       "--conversation c1"));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("days that begin at 02:00:00 UTC, not "
                               "03:00:00"));
  r = Ebb(absl::StrCat(kNow, " get --tenant acme --conversation c1"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(Lines(r.out), ::testing::SizeIs(1));
}

TEST_F(CliTest, IngestStoresValidLinesAndReportsEachRejectedOne) {
  const std::string input = absl::StrCat(
      Line("c1", 1, "2026-01-01T10:00:00Z"),  //
      "{not json\n",                          //
      Line("c1", 2, "2026-01-01T10:00:05Z"),  //
      "\n",                                   // blank lines are skipped
      R"({"tenant":"acme","user":"u1","conversation":"c1","seq":3,"role":"user","text":")",
      "\xff",  // a raw byte that is not UTF-8
      R"(","created_at":"2026-01-01T10:00:05Z"})", "\n",
      Line("c1", 4, "2025-11-01T00:00:00Z"),  // expired on arrival
      Line("c1", 5, "2026-03-01T00:00:00Z"),  // in the future
      Line("", 6, "2026-01-01T10:00:00Z"),    // empty conversation id
      R"({"tenant":"acme","user":"u1","conversation":"c1","seq":7,"role":"user","text":"x","created_at":"2026-01-01T10:00:05Z","create_at":1})",
      "\n");
  Result r = Ebb(absl::StrCat(kNow, " ingest -"), input);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "{\"accepted\":2,\"rejected\":6}\n");
  const std::vector<std::string> errors = Lines(r.err);
  ASSERT_EQ(errors.size(), 6u) << r.err;
  EXPECT_THAT(errors[0], HasSubstr("line 2: invalid JSON at offset 1"));
  EXPECT_THAT(errors[1], HasSubstr("line 5: invalid JSON"));
  EXPECT_THAT(errors[1], HasSubstr("UTF-8"));
  EXPECT_THAT(errors[2], HasSubstr("line 6: "));
  EXPECT_THAT(errors[2], HasSubstr("has already expired"));
  EXPECT_THAT(errors[3], HasSubstr("line 7: created_at"));
  EXPECT_THAT(errors[3], HasSubstr("after now"));
  EXPECT_EQ(errors[4], "line 8: conversation id is empty");
  EXPECT_EQ(errors[5], "line 9: unknown field \"create_at\"");
  // No message text in any error.
  EXPECT_THAT(r.err, Not(HasSubstr("hello")));

  r = Ebb(absl::StrCat(kNow, " get --tenant acme --conversation c1"));
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(
      r.out,
      absl::StrCat(
          R"({"tenant":"acme","user":"u1","conversation":"c1","seq":1,"role":"user","text":"hello","created_at":"2026-01-01T10:00:00Z","category":"transcript"})",
          "\n",
          R"({"tenant":"acme","user":"u1","conversation":"c1","seq":2,"role":"user","text":"hello","created_at":"2026-01-01T10:00:05Z","category":"transcript"})",
          "\n"));
}

TEST_F(CliTest, IngestFromAFileAllValidExitsZero) {
  WriteFile(dir_.path() + "/in.jsonl",
            absl::StrCat(
                Line("c1", 1, "2026-01-01T10:00:00Z"),
                Line("c1", 2, "2026-01-01T10:00:01Z",
                     R"(,"category":"diagnostic_log","metadata":{"k":"v"})")));
  Result r = Ebb(absl::StrCat(kNow, " ingest ", dir_.path(), "/in.jsonl"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"accepted\":2,\"rejected\":0}\n");
  EXPECT_EQ(r.err, "");
  r = Ebb(absl::StrCat(kNow, " get --tenant acme --conversation c1"));
  EXPECT_THAT(
      r.out, HasSubstr(R"("category":"diagnostic_log","metadata":{"k":"v"}})"));
  r = Ebb(absl::StrCat(kNow, " ingest /nonexistent/file"));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot open \"/nonexistent/file\""));
}

TEST_F(CliTest, OversizedLineIsRejectedAndTheNextLineStillRead) {
  std::string huge = std::string(9 << 20, 'x');
  Result r =
      Ebb(absl::StrCat(kNow, " ingest"),
          absl::StrCat(huge, "\n", Line("c1", 1, "2026-01-01T10:00:00Z")));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "{\"accepted\":1,\"rejected\":1}\n");
  EXPECT_EQ(r.err, "line 1: line is longer than 8388608 bytes\n");
}

TEST_F(CliTest, AOneGibibyteLineIsRejectedAndTheNextLineStillRead) {
  // 1 GiB of NUL bytes (a sparse file: no disk space, read from zero pages),
  // then a newline and a valid line.
  const std::string file = dir_.path() + "/huge.jsonl";
  {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(ftruncate(fileno(f), off_t{1} << 30), 0);
    ASSERT_EQ(std::fseek(f, 0, SEEK_END), 0);
    const std::string tail =
        absl::StrCat("\n", Line("c1", 1, "2026-01-01T10:00:00Z"));
    ASSERT_EQ(std::fwrite(tail.data(), 1, tail.size(), f), tail.size());
    ASSERT_EQ(std::fclose(f), 0);
  }
  Result r = Ebb(absl::StrCat(kNow, " ingest ", file));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "{\"accepted\":1,\"rejected\":1}\n");
  EXPECT_EQ(r.err, "line 1: line is longer than 8388608 bytes\n");
  r = Ebb(absl::StrCat(kNow, " get --tenant acme --conversation c1"));
  EXPECT_EQ(Lines(r.out).size(), 1u) << "only the valid line is stored";
}

TEST_F(CliTest, HugeTextIsRejectedByTheStoreLimitNamingIt) {
  const std::string huge = absl::StrCat(
      R"({"tenant":"acme","user":"u1","conversation":"c1","seq":1,"role":"user","text":")",
      std::string(2 << 20, 'x'), R"(","created_at":"2026-01-01T10:00:00Z"})",
      "\n");
  Result r = Ebb(absl::StrCat(kNow, " ingest"),
                 absl::StrCat(huge, Line("c1", 2, "2026-01-01T10:00:00Z")));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "{\"accepted\":1,\"rejected\":1}\n");
  EXPECT_THAT(r.err, HasSubstr("line 1: message is "));
  EXPECT_THAT(r.err, HasSubstr("Options::max_message_bytes allows 1048576"));
}

TEST_F(CliTest, MessagesExpireAsTheSimulatedClockAdvances) {
  ASSERT_EQ(Ebb(absl::StrCat(kNow, " ingest"),
                absl::StrCat(Line("c1", 1, "2026-01-01T10:00:00Z"),
                             Line("c1", 2, "2026-01-09T10:00:00Z")))
                .code,
            0);
  Result r =
      Ebb("--now 2026-01-31T10:00:00Z get --tenant acme --conversation c1");
  EXPECT_EQ(Lines(r.out).size(), 2u);  // age exactly 30 days: kept
  r = Ebb(
      "--now 2026-01-31T10:00:00.000001Z get --tenant acme --conversation c1");
  ASSERT_EQ(Lines(r.out).size(), 1u);
  EXPECT_THAT(r.out, HasSubstr(R"("seq":2)"));
  r = Ebb("--now 2026-02-09T10:00:01Z list --tenant acme --user u1");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, PolicySetShortensAtOnceAndLengtheningDoesNotResurrect) {
  ASSERT_EQ(Ebb(absl::StrCat(kNow, " ingest"),
                absl::StrCat(Line("c1", 1, "2026-01-01T10:00:00Z"),
                             Line("c1", 2, "2026-01-08T10:00:00Z")))
                .code,
            0);
  Result r = Ebb(absl::StrCat(kNow, " policy set --tenant acme --ttl 7d"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      R"({"tenant":"acme","default":false,"version":1,"updated_at":"2026-01-10T00:00:00Z","rules":[{"category":"transcript","ttl":"7d","from_default":false,"horizon":"2025-12-11T00:00:00Z"},{"category":"training_example","ttl":"30d","from_default":true},{"category":"diagnostic_log","ttl":"30d","from_default":true}]})"
      "\n");
  r = Ebb(absl::StrCat(kNow, " get --tenant acme --conversation c1"));
  ASSERT_EQ(Lines(r.out).size(), 1u);
  EXPECT_THAT(r.out, HasSubstr(R"("seq":2)"));
  r = Ebb("--now 2026-01-11T00:00:00Z policy set --tenant acme --ttl 90d");
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ebb("--now 2026-02-20T00:00:00Z get --tenant acme --conversation c1");
  ASSERT_EQ(Lines(r.out).size(), 1u);
  EXPECT_THAT(r.out, HasSubstr(R"("seq":2)"));

  r = Ebb("--now 2026-01-12T00:00:00Z policy history --tenant acme");
  EXPECT_EQ(Lines(r.out).size(), 2u);
  r = Ebb("policy list");
  EXPECT_EQ(Lines(r.out).size(), 1u);
  EXPECT_THAT(r.out, HasSubstr(R"("ttl":"90d")"));
  r = Ebb("policy get --tenant nobody");
  EXPECT_EQ(
      r.out,
      R"({"tenant":"nobody","default":true,"rules":[{"category":"transcript","ttl":"30d","from_default":true},{"category":"training_example","ttl":"30d","from_default":true},{"category":"diagnostic_log","ttl":"30d","from_default":true}]})"
      "\n");
}

TEST_F(CliTest, PolicyOutsideTheOperatorBoundsExitsOneNamingTheBound) {
  Result r = Ebb(absl::StrCat(kNow, " policy set --tenant acme --ttl 30m"));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("below the operator's minimum 1h"));
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
  r = Ebb(absl::StrCat(kNow, " policy set --tenant acme --ttl forever"));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("allow_keep_forever is false"));
}

TEST_F(CliTest, CompactRemovesExpiredRecordsFromDiskAsLdbSeesIt) {
  ASSERT_EQ(Ebb(absl::StrCat(kNow, " ingest"),
                absl::StrCat(Line("gone", 1, "2026-01-01T10:00:00Z"),
                             Line("gone", 2, "2026-01-01T10:00:01Z"),
                             Line("kept", 1, "2026-01-09T10:00:00Z")))
                .code,
            0);
  const std::string later = "--now 2026-02-05T00:00:00Z";
  Result r = Ebb(absl::StrCat(later, " stats"));
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr(R"("messages":{"live":1,"expired":2,)"));
  const std::string ldb =
      absl::StrCat("ldb --db=", db(), " --column_family=messages scan --hex");
  EXPECT_EQ(Lines(Sh(dir_.path(), ldb).out).size(), 3u);

  r = Ebb(absl::StrCat(later, " compact"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("messages":{"live":1,"expired":0,)"));
  Result scan = Sh(dir_.path(), ldb);
  EXPECT_EQ(scan.code, 0) << scan.err;
  const std::vector<std::string> left = Lines(scan.out);
  ASSERT_EQ(left.size(), 1u) << scan.out;
  EXPECT_THAT(left[0], HasSubstr("6B657074"));  // "kept"
  Result index =
      Sh(dir_.path(),
         absl::StrCat("ldb --db=", db(), " --column_family=index scan --hex"));
  EXPECT_EQ(index.code, 0) << index.err;
  EXPECT_THAT(index.out, HasSubstr("6B657074"));
  EXPECT_THAT(index.out, Not(HasSubstr("676F6E65")));  // "gone"
}

TEST_F(CliTest, ReadCommandsOnAMissingStoreFailWithoutCreatingIt) {
  for (const char* args :
       {"stats", "get --tenant a --conversation c", "list --tenant a --user u",
        "policy get --tenant a", "policy list", "compact"}) {
    Result r = Ebb(args);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_THAT(r.err, HasSubstr("no ebb store at")) << args;
    EXPECT_THAT(r.err, HasSubstr("NOT_FOUND")) << args;
  }
  struct stat st;
  EXPECT_NE(stat(db().c_str(), &st), 0) << "a read created the store";
}

TEST_F(CliTest, ReadsOfUnknownTenantsPrintNothingAndBadIdsExitOne) {
  ASSERT_EQ(Ebb("policy list").code, 1);  // no store yet
  ASSERT_EQ(Ebb(absl::StrCat(kNow, " policy set --tenant x --ttl 1d")).code, 0);
  Result r = Ebb(absl::StrCat(kNow, " get --tenant nobody --conversation c"));
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, IsEmpty());
  r = Ebb(absl::StrCat(kNow, " get --tenant '' --conversation c"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ebb get: tenant id is empty (INVALID_ARGUMENT)\n");
}

}  // namespace
}  // namespace ebb
