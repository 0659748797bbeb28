// Copyright ebb authors.
//
// End-to-end tests of the `ebb` command line, run as a user would: exact
// stdout, stderr and exit codes, and RocksDB's own `ldb` to check what is
// physically left in the store's files.

#include <sys/stat.h>
#include <sys/wait.h>

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

using ::ebb::testing::AnyFileContains;
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

class PrivacyCliTest : public ::testing::Test {
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
const char kLater[] = "--now 2026-01-10T01:00:00Z";

TEST_F(PrivacyCliTest, EraseUnderHoldThenLiftAndVerifyFromTheOutside) {
  ASSERT_EQ(Ebb(absl::StrCat(kNow, " ingest"),
                Line("c1", 1, "2026-01-09T23:00:00Z") +
                    Line("c1", 2, "2026-01-09T23:00:01Z") +
                    Line("c2", 1, "2026-01-09T23:00:00Z"))
                .code,
            0);
  Result r = Ebb(absl::StrCat(kNow,
                              " hold set --tenant acme --conversation c1 "
                              "--reason 'case 12' --by legal"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("reason":"case 12")"));

  r = Ebb(absl::StrCat(kNow,
                       " erase --tenant acme --conversation c1 "
                       "--reason end_user_request --request-id t-1"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            R"({"tenant":"acme","conversation":"c1","scope":"conversation",)"
            R"("pending":true,"cutoff":"2026-01-10T00:05:00Z","messages":2,)"
            R"("conversations":1,"bytes":)" +
                r.out.substr(r.out.find(R"("bytes":)") + 8));
  EXPECT_EQ(Ebb(absl::StrCat(kNow, " get --tenant acme --conversation c1")).out,
            "");
  EXPECT_THAT(Lines(Ebb(absl::StrCat(kNow,
                                     " export --tenant acme --user u1 "
                                     "--include-held"))
                        .out),
              ::testing::SizeIs(4));  // 3 messages + the hold
  r = Ebb(absl::StrCat(kNow, " requests list"));
  EXPECT_THAT(r.out, HasSubstr(R"("state":"REQUEST_PENDING_HOLD")"));

  r = Ebb(absl::StrCat(kLater,
                       " hold clear --tenant acme --conversation c1 "
                       "--by legal --reason 'case closed'"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("pending":false)"));
  EXPECT_THAT(r.out, HasSubstr(R"("messages":2)"));

  // The replayed message is refused, and says why.
  r = Ebb(absl::StrCat(kLater, " ingest"),
          Line("c1", 1, "2026-01-09T23:00:00Z"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, R"({"accepted":0,"rejected":1})"
                   "\n");
  EXPECT_THAT(r.err, HasSubstr("line 1: conversation \"c1\" was erased"));

  r = Ebb(absl::StrCat(kLater, " audit verify"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("ok":true)"));
  r = Ebb(absl::StrCat(kLater, " audit find --tenant acme --conversation c1"));
  EXPECT_EQ(r.code, 0);
  const std::vector<std::string> found = Lines(r.out);
  ASSERT_EQ(found.size(), 5u) << r.out;  // hold, request, pending, clear, erase
  EXPECT_THAT(found[2], HasSubstr("AUDIT_ERASE_PENDING"));
  EXPECT_THAT(found[4], HasSubstr("AUDIT_ERASE"));
  EXPECT_THAT(found[3], HasSubstr(R"("note":"case closed")"));
  // The ledger names nobody.
  r = Ebb(absl::StrCat(kLater, " audit export"));
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, Not(HasSubstr("\"c1\"")));
  EXPECT_THAT(r.out, Not(HasSubstr("\"u1\"")));

  // Compacted away; RocksDB's own ldb sees only c2's message.
  ASSERT_EQ(Ebb(absl::StrCat(kLater, " compact")).code, 0);
  r = Sh(dir_.path(), absl::StrCat("ldb --db=", db(),
                                   " --column_family=messages scan --hex"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 1u) << r.out;
}

TEST_F(PrivacyCliTest, RestrictExportAndRequests) {
  ASSERT_EQ(
      Ebb(absl::StrCat(kNow, " ingest"), Line("c1", 1, "2026-01-09T23:00:00Z"))
          .code,
      0);
  Result r = Ebb(absl::StrCat(kNow, " restrict set --tenant acme --user u1"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, R"({"tenant":"acme","user":"u1","restricted":true})"
                   "\n");
  EXPECT_EQ(Ebb(absl::StrCat(kNow, " list --tenant acme --user u1")).out, "");
  r = Ebb(absl::StrCat(kNow, " restrict set --tenant acme --user u1"));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("already restricted (ALREADY_EXISTS)"));

  r = Ebb(absl::StrCat(kNow,
                       " requests open --tenant acme --request-id d-1 "
                       "--kind export --user u1 "
                       "--received-at 2025-11-01T00:00:00Z"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("due_at":"2025-12-16T00:00:00Z")"));
  r = Ebb(absl::StrCat(kNow, " requests list --overdue"));
  EXPECT_THAT(r.out, HasSubstr(R"("request_id":"d-1")"));
  r = Ebb(absl::StrCat(kNow,
                       " requests extend --tenant acme --request-id d-1 "
                       "--by 45d --reason 'volume'"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("due_at":"2026-01-30T00:00:00Z")"));
  EXPECT_EQ(Ebb(absl::StrCat(kNow, " requests list --overdue")).out, "");
  EXPECT_EQ(Ebb(absl::StrCat(kNow,
                             " requests extend --tenant acme "
                             "--request-id d-1 --by 1d --reason again"))
                .code,
            1);

  r = Ebb(
      absl::StrCat(kNow, " export --tenant acme --user u1 --request-id d-1"));
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  // The message, the restriction, and the request as it stood during the
  // export (completed once the export is written out).
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], absl::StrCat(R"({"tenant":"acme","user":"u1",)",
                                   R"("conversation":"c1","seq":1,)",
                                   R"("role":"user","text":"hello",)",
                                   R"("created_at":"2026-01-09T23:00:00Z",)",
                                   R"("category":"transcript"})"));
  EXPECT_THAT(lines[1], HasSubstr(R"("record":"restriction")"));
  EXPECT_THAT(lines[2], HasSubstr(R"("request_id":"d-1")"));
  EXPECT_THAT(Ebb(absl::StrCat(kNow, " requests list")).out,
              HasSubstr(R"("state":"REQUEST_COMPLETED")"));
  r = Ebb(absl::StrCat(kNow, " export --tenant acme --user u1 --anonymise"));
  EXPECT_THAT(r.out, Not(HasSubstr("\"u1\"")));
}

TEST_F(PrivacyCliTest, TamperedLedgerExitsOneNamingTheRecord) {
  ASSERT_EQ(
      Ebb(absl::StrCat(kNow, " restrict set --tenant acme --user u1")).code,
      1);  // no store yet: restrict never creates one
  ASSERT_EQ(
      Ebb(absl::StrCat(kNow, " ingest"), Line("c1", 1, "2026-01-09T23:00:00Z"))
          .code,
      0);
  ASSERT_EQ(
      Ebb(absl::StrCat(kNow, " restrict set --tenant acme --user u1")).code, 0);
  ASSERT_EQ(
      Ebb(absl::StrCat(kNow, " restrict clear --tenant acme --user u1")).code,
      0);
  // Overwrite record 4 with RocksDB's own tool.
  Result put = Sh(dir_.path(),
                  absl::StrCat("ldb --db=", db(),
                               " put --key_hex 0x61756469742F0000000000000004 "
                               "--value_hex 0x00"));
  ASSERT_EQ(put.code, 0) << put.err;
  Result r = Ebb(absl::StrCat(kNow, " audit verify"));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr(R"("ok":false)"));
  EXPECT_THAT(r.out, HasSubstr(R"("first_bad_seq":4)"));
  EXPECT_THAT(r.err, HasSubstr("record 4"));

  // Removing the whole ledger, head included, is caught too.
  Result wipe = Sh(dir_.path(), absl::StrCat("ldb --db=", db(),
                                             " deleterange audit- audit0"));
  ASSERT_EQ(wipe.code, 0) << wipe.err;
  r = Ebb(absl::StrCat(kNow, " audit verify"));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr(R"("first_bad_seq":1)"));
  EXPECT_THAT(r.err, HasSubstr("the ledger is empty"));
}

TEST_F(PrivacyCliTest, UsageErrorsExitTwo) {
  ASSERT_EQ(
      Ebb(absl::StrCat(kNow, " ingest"), Line("c1", 1, "2026-01-09T23:00:00Z"))
          .code,
      0);
  for (const std::string& args :
       {std::string("erase --tenant acme --reason operator"),
        std::string("erase --tenant acme --all --reason sunspots"),
        std::string("erase --tenant acme --user u --conversation c --reason "
                    "operator"),
        std::string("erase --tenant acme --all"),
        std::string("hold set --tenant acme --user u1 --reason r"),
        std::string("hold"), std::string("audit"),
        std::string("requests open --tenant a --request-id r --kind gossip "
                    "--user u"),
        std::string("requests extend --tenant a --request-id r --by soon "
                    "--reason r"),
        std::string("export --tenant acme --user u1 --received-at tuesday")}) {
    Result r = Ebb(absl::StrCat(kNow, " ", args));
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr("Run 'ebb --help'")) << args;
  }
  Result help = Ebb("erase --help");
  EXPECT_EQ(help.code, 0);
  for (const char* word :
       {"--conversation", "--user", "--all", "--reason", "--request-id"}) {
    EXPECT_THAT(help.out, HasSubstr(word));
  }
}

TEST_F(PrivacyCliTest, AfterEraseAndPurgeNoFileNamesTheErasedUser) {
  const std::string erased =
      R"({"tenant":"acme","user":"zz-erased-user","conversation":)"
      R"("zz-erased-conv","seq":1,"role":"user","text":"hello",)"
      R"("created_at":"2026-01-09T00:00:00Z"})"
      "\n";
  ASSERT_EQ(Ebb(absl::StrCat(kNow, " ingest"),
                erased + Line("c1", 1, "2026-01-09T00:00:00Z"))
                .code,
            0);
  // Into SST files first, so that files begin or end with the user's keys.
  ASSERT_EQ(Ebb(absl::StrCat(kNow, " compact")).code, 0);
  ASSERT_EQ(Ebb(absl::StrCat(kNow,
                             " erase --tenant acme --user zz-erased-user "
                             "--reason end_user_request"))
                .code,
            0);
  Result r = Ebb(absl::StrCat(kNow, " purge"));
  ASSERT_EQ(r.code, 0) << r.err;
  // Nowhere: not in an SST or WAL file, and not in the MANIFEST, which lists
  // the first and last key of every file the store had since it was opened
  // (ebb purge opens the store once more to have it rewritten).
  EXPECT_FALSE(AnyFileContains(db(), "zz-erased-user"));
  EXPECT_FALSE(AnyFileContains(db(), "zz-erased-conv"));
  r = Ebb(absl::StrCat(kNow, " get --tenant acme --conversation c1"));
  EXPECT_EQ(Lines(r.out).size(), 1u);
}

TEST_F(PrivacyCliTest, PurgeThenVerifyFindsNothing) {
  ASSERT_EQ(Ebb("--now 2025-12-01T12:00:00Z ingest",
                Line("old", 1, "2025-12-01T11:00:00Z"))
                .code,
            0);
  ASSERT_EQ(
      Ebb(absl::StrCat(kNow, " ingest"), Line("new", 1, "2026-01-09T23:00:00Z"))
          .code,
      0);
  // 40 days on, "old" has expired under the 30-day default.
  Result r = Ebb(absl::StrCat(kNow, " verify"));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr(R"({"problem":"expired","file":")"));
  EXPECT_THAT(r.out, HasSubstr(R"("conversation":"old","seq":1)"));
  EXPECT_THAT(r.err, HasSubstr("still on disk"));

  r = Ebb(absl::StrCat(kNow, " purge --dry-run"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("dry_run":true)"));
  EXPECT_THAT(r.out, HasSubstr(R"("tenants":[{"tenant":"acme","category":)"
                               R"("transcript","messages":1,)"));
  // The ingest's data went into an SST file when the next command opened the
  // store: its day is counted from the file's statistics, not read.
  EXPECT_THAT(r.out,
              HasSubstr(R"("ranges_counted_from_files":1,"ranges_read":0,)"));
  EXPECT_EQ(Ebb(absl::StrCat(kNow, " verify")).code, 1);  // nothing changed

  const std::string report = dir_.path() + "/report.json";
  const std::string metrics = dir_.path() + "/ebb.prom";
  r = Ebb(absl::StrCat(kNow,
                       " purge --max-duration 1h --rate-limit 50 "
                       "--report ",
                       report, " --metrics-file ", metrics));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("complete":true)"));
  EXPECT_THAT(r.out, HasSubstr(R"("messages":1,)"));
  EXPECT_THAT(r.out, HasSubstr(R"("bytes_rewritten_messages":)"));
  EXPECT_THAT(r.out, HasSubstr(R"("bytes_rewritten_index":)"));
  EXPECT_THAT(r.out, HasSubstr(R"("bytes_rewritten_metadata":)"));
  EXPECT_EQ(ReadFile(report), r.out);
  const std::string prom = ReadFile(metrics);
  EXPECT_THAT(prom, HasSubstr("# TYPE ebb_purge_complete gauge\n"
                              "ebb_purge_complete 1\n"));
  EXPECT_THAT(
      prom,
      HasSubstr(
          R"(ebb_purge_tenant_expired_messages{tenant="acme",category="transcript"} 1)"));

  r = Ebb(absl::StrCat(kNow, " verify"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(R"("findings":0})"));
  EXPECT_EQ(Lines(Ebb(absl::StrCat(kNow,
                                   " get --tenant acme --conversation "
                                   "new"))
                      .out)
                .size(),
            1u);
  r = Ebb(absl::StrCat(kNow, " audit export"));
  EXPECT_THAT(r.out, HasSubstr("AUDIT_EXPIRE"));
  EXPECT_THAT(r.out, HasSubstr("AUDIT_PURGE_RUN"));

  for (const std::string& args :
       {std::string("purge --max-duration soon"),
        std::string("purge --rate-limit -1"),
        std::string("purge --max-duration forever")}) {
    Result bad = Ebb(absl::StrCat(kNow, " ", args));
    EXPECT_EQ(bad.code, 2) << args << "\n" << bad.err;
  }
}

}  // namespace
}  // namespace ebb
