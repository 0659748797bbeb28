// Copyright ebb authors.

#include "tools/ebb/line_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ebb {
namespace {

using Result = LineReader::Result;

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// A temporary file holding `content`, positioned at its start.
File TempFileWith(const std::string& content) {
  File file(std::tmpfile());
  EXPECT_NE(file, nullptr);
  if (file == nullptr) return file;
  EXPECT_EQ(std::fwrite(content.data(), 1, content.size(), file.get()),
            content.size());
  std::rewind(file.get());
  return file;
}

// One call's outcome, for comparing whole reads at once.
struct Event {
  Result result;
  std::string line;
  int64_t line_number;

  bool operator==(const Event& other) const {
    return result == other.result && line == other.line &&
           line_number == other.line_number;
  }
};

void PrintTo(const Event& e, std::ostream* os) {
  static const char* const kNames[] = {"kLine", "kTooLong", "kEof", "kError"};
  *os << "{" << kNames[static_cast<int>(e.result)] << ", \"" << e.line << "\", "
      << e.line_number << "}";
}

// Calls Next until kEof or kError and returns every outcome, the last one
// included.
std::vector<Event> ReadAll(LineReader& reader) {
  std::vector<Event> events;
  for (int i = 0; i < 1000; ++i) {  // Bounded, so a bug cannot hang the test.
    Event e{Result::kError, "garbage", -7};
    e.result = reader.Next(&e.line, &e.line_number);
    events.push_back(e);
    if (e.result == Result::kEof || e.result == Result::kError) break;
  }
  return events;
}

// Every behaviour is checked with buffer sizes that split lines, "\r\n" pairs
// and caps across reads, and with the default size.
class LineReaderTest : public testing::TestWithParam<size_t> {
 protected:
  std::vector<Event> ReadAllOf(const std::string& content,
                               size_t max_line_bytes) {
    File file = TempFileWith(content);
    if (file == nullptr) return {};
    LineReader reader(file.get(), max_line_bytes, GetParam());
    return ReadAll(reader);
  }
};

INSTANTIATE_TEST_SUITE_P(BufferSizes, LineReaderTest,
                         testing::Values(1, 2, 3, 5,
                                         LineReader::kDefaultBufferBytes));

TEST_P(LineReaderTest, ReadsLinesWithNumbers) {
  EXPECT_THAT(ReadAllOf("a\nbb\nccc\n", 100),
              testing::ElementsAre(
                  Event{Result::kLine, "a", 1}, Event{Result::kLine, "bb", 2},
                  Event{Result::kLine, "ccc", 3}, Event{Result::kEof, "", 3}));
}

TEST_P(LineReaderTest, EmptyInputIsEof) {
  EXPECT_THAT(ReadAllOf("", 100),
              testing::ElementsAre(Event{Result::kEof, "", 0}));
}

TEST_P(LineReaderTest, StripsCarriageReturnBeforeNewline) {
  EXPECT_THAT(ReadAllOf("a\r\nbb\r\n", 100),
              testing::ElementsAre(Event{Result::kLine, "a", 1},
                                   Event{Result::kLine, "bb", 2},
                                   Event{Result::kEof, "", 2}));
}

TEST_P(LineReaderTest, KeepsCarriageReturnsElsewhere) {
  EXPECT_THAT(ReadAllOf("a\rb\n\r\r\n", 100),
              testing::ElementsAre(Event{Result::kLine, "a\rb", 1},
                                   Event{Result::kLine, "\r", 2},
                                   Event{Result::kEof, "", 2}));
}

TEST_P(LineReaderTest, ReadsLastLineWithoutNewline) {
  EXPECT_THAT(ReadAllOf("a\nbb", 100),
              testing::ElementsAre(Event{Result::kLine, "a", 1},
                                   Event{Result::kLine, "bb", 2},
                                   Event{Result::kEof, "", 2}));
}

TEST_P(LineReaderTest, StripsCarriageReturnEndingTheInput) {
  EXPECT_THAT(ReadAllOf("a\r\nbb\r", 100),
              testing::ElementsAre(Event{Result::kLine, "a", 1},
                                   Event{Result::kLine, "bb", 2},
                                   Event{Result::kEof, "", 2}));
}

TEST_P(LineReaderTest, ReturnsEmptyLines) {
  EXPECT_THAT(ReadAllOf("\n\r\na\n\n", 100),
              testing::ElementsAre(
                  Event{Result::kLine, "", 1}, Event{Result::kLine, "", 2},
                  Event{Result::kLine, "a", 3}, Event{Result::kLine, "", 4},
                  Event{Result::kEof, "", 4}));
}

TEST_P(LineReaderTest, KeepsNulBytes) {
  EXPECT_THAT(
      ReadAllOf(std::string("a\0b\n", 4), 100),
      testing::ElementsAre(Event{Result::kLine, std::string("a\0b", 3), 1},
                           Event{Result::kEof, "", 1}));
}

TEST_P(LineReaderTest, AcceptsLineExactlyAtCap) {
  EXPECT_THAT(ReadAllOf("abcd\nabcd\r\nabcd", 4),
              testing::ElementsAre(Event{Result::kLine, "abcd", 1},
                                   Event{Result::kLine, "abcd", 2},
                                   Event{Result::kLine, "abcd", 3},
                                   Event{Result::kEof, "", 3}));
}

TEST_P(LineReaderTest, LineOneByteOverCapIsTooLongAndNextLineIsRead) {
  EXPECT_THAT(ReadAllOf("abcde\nxy\n", 4),
              testing::ElementsAre(Event{Result::kTooLong, "", 1},
                                   Event{Result::kLine, "xy", 2},
                                   Event{Result::kEof, "", 2}));
}

TEST_P(LineReaderTest, CarriageReturnDoesNotHideAnOverlongLine) {
  EXPECT_THAT(ReadAllOf("abcde\r\nxy\r\n", 4),
              testing::ElementsAre(Event{Result::kTooLong, "", 1},
                                   Event{Result::kLine, "xy", 2},
                                   Event{Result::kEof, "", 2}));
}

TEST_P(LineReaderTest, OverlongLinesKeepLineNumbersTrue) {
  EXPECT_THAT(ReadAllOf("ok\n0123456789\n0123456789\nfine", 4),
              testing::ElementsAre(
                  Event{Result::kLine, "ok", 1}, Event{Result::kTooLong, "", 2},
                  Event{Result::kTooLong, "", 3},
                  Event{Result::kLine, "fine", 4}, Event{Result::kEof, "", 4}));
}

TEST_P(LineReaderTest, OverlongLastLineWithoutNewlineIsTooLong) {
  EXPECT_THAT(ReadAllOf("ok\nabcdef", 4),
              testing::ElementsAre(Event{Result::kLine, "ok", 1},
                                   Event{Result::kTooLong, "", 2},
                                   Event{Result::kEof, "", 2}));
}

TEST_P(LineReaderTest, ZeroCapAcceptsOnlyEmptyLines) {
  EXPECT_THAT(ReadAllOf("\na\n\r\n", 0),
              testing::ElementsAre(
                  Event{Result::kLine, "", 1}, Event{Result::kTooLong, "", 2},
                  Event{Result::kLine, "", 3}, Event{Result::kEof, "", 3}));
}

TEST_P(LineReaderTest, EofIsSticky) {
  File file = TempFileWith("a\n");
  ASSERT_NE(file, nullptr);
  LineReader reader(file.get(), 100, GetParam());
  std::string line;
  int64_t line_number = 0;
  ASSERT_EQ(reader.Next(&line, &line_number), Result::kLine);
  EXPECT_EQ(reader.Next(&line, &line_number), Result::kEof);
  EXPECT_EQ(reader.Next(&line, &line_number), Result::kEof);
  EXPECT_EQ(line_number, 1);
  EXPECT_EQ(reader.error_number(), 0);
}

TEST(LineReaderLargeTest, LongLineUnderTheCapSpansManyReads) {
  const std::string long_line(200 * 1024 + 3, 'x');
  File file = TempFileWith(long_line + "\nend\n");
  ASSERT_NE(file, nullptr);
  LineReader reader(file.get(), 1024 * 1024);
  EXPECT_THAT(ReadAll(reader),
              testing::ElementsAre(Event{Result::kLine, long_line, 1},
                                   Event{Result::kLine, "end", 2},
                                   Event{Result::kEof, "", 2}));
}

// Writes `content` to the write end of a pipe from another thread (a pipe
// holds only 64 KiB) and closes it when done.
class PipeWriter {
 public:
  explicit PipeWriter(int fd, std::string content)
      : thread_([fd, content = std::move(content)] {
          size_t written = 0;
          while (written < content.size()) {
            const ssize_t n =
                ::write(fd, content.data() + written, content.size() - written);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            written += static_cast<size_t>(n);
          }
          ::close(fd);
        }) {}
  ~PipeWriter() { thread_.join(); }

 private:
  std::thread thread_;
};

TEST(LineReaderPipeTest, ReadsFromAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  File file(::fdopen(fds[0], "r"));
  ASSERT_NE(file, nullptr);
  PipeWriter writer(fds[1], "one\r\ntwo\n\nthree");
  LineReader reader(file.get(), 100);
  EXPECT_THAT(ReadAll(reader),
              testing::ElementsAre(Event{Result::kLine, "one", 1},
                                   Event{Result::kLine, "two", 2},
                                   Event{Result::kLine, "", 3},
                                   Event{Result::kLine, "three", 4},
                                   Event{Result::kEof, "", 4}));
}

TEST(LineReaderPipeTest, FiftyMegabyteLineIsSkippedWithoutBeingStored) {
  constexpr size_t kCap = 1024;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  File file(::fdopen(fds[0], "r"));
  ASSERT_NE(file, nullptr);
  PipeWriter writer(fds[1],
                    "before\n" + std::string(50 << 20, 'x') + "\r\nafter\n");
  LineReader reader(file.get(), kCap);
  std::string line;
  int64_t line_number = 0;
  ASSERT_EQ(reader.Next(&line, &line_number), Result::kLine);
  EXPECT_EQ(line, "before");
  EXPECT_EQ(reader.Next(&line, &line_number), Result::kTooLong);
  EXPECT_EQ(line_number, 2);
  EXPECT_EQ(line, "");
  // Had the line been stored, the string would have grown to 50 MB.
  EXPECT_LE(line.capacity(), 4 * kCap);
  EXPECT_EQ(reader.Next(&line, &line_number), Result::kLine);
  EXPECT_EQ(line, "after");
  EXPECT_EQ(line_number, 3);
  EXPECT_EQ(reader.Next(&line, &line_number), Result::kEof);
}

TEST(LineReaderErrorTest, ReadErrorIsReportedWithErrnoAndIsSticky) {
  const char* tmpdir = std::getenv("TEST_TMPDIR");
  const std::string path =
      std::string(tmpdir != nullptr ? tmpdir : "/tmp") + "/write_only.txt";
  File file(std::fopen(path.c_str(), "w"));  // Reading it fails with EBADF.
  ASSERT_NE(file, nullptr);
  LineReader reader(file.get(), 100);
  std::string line = "stale";
  int64_t line_number = 0;
  EXPECT_EQ(reader.Next(&line, &line_number), Result::kError);
  EXPECT_EQ(reader.error_number(), EBADF);
  EXPECT_EQ(line_number, 1);
  EXPECT_EQ(line, "");
  EXPECT_EQ(reader.Next(&line, &line_number), Result::kError);
  EXPECT_EQ(reader.error_number(), EBADF);
}

}  // namespace
}  // namespace ebb
