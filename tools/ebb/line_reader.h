// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: line_reader.h
// -----------------------------------------------------------------------------
//
// Reads newline-terminated lines (the JSON lines `ebb ingest` consumes) from a
// FILE* with bounded memory. Input comes from stdin or files we did not write,
// so a single 1 GB line, by mistake or on purpose, must not become a 1 GB
// std::string: a line longer than the cap is reported as too long and the rest
// of it is skipped as it is read, never stored. Memory use is the read buffer
// plus at most max_line_bytes + 1 bytes in the caller's string.
//
// Line syntax: a line ends at "\n"; one "\r" right before the "\n" is removed
// (CRLF files); the last line may lack its "\n" (a final lone "\r" is then
// removed too). Empty lines are returned as empty lines, so that line numbers
// match what an editor shows; skipping them is the caller's choice. No
// encoding is assumed: lines are bytes, possibly with NULs.
//
// Example:
//
//   ebb::LineReader reader(stdin, /*max_line_bytes=*/1 << 20);
//   std::string line;
//   int64_t line_number = 0;
//   for (;;) {
//     switch (reader.Next(&line, &line_number)) {
//       case ebb::LineReader::Result::kLine:
//         if (!line.empty()) Ingest(line, line_number);
//         continue;
//       case ebb::LineReader::Result::kTooLong:
//         Complain(line_number, "line too long");
//         continue;
//       case ebb::LineReader::Result::kEof:
//         return Done();
//       case ebb::LineReader::Result::kError:
//         return ReadFailed(line_number, reader.error_number());
//     }
//   }
//
// Hazard: reads use fread into a 64 KiB buffer, and fread waits until the
// buffer is full or the input ends. From a slow pipe (`tail -f log | ebb
// ingest`) lines therefore arrive in 64 KiB batches, not one by one.

#ifndef EBB_TOOLS_EBB_LINE_READER_H_
#define EBB_TOOLS_EBB_LINE_READER_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ebb {

class LineReader {
 public:
  enum class Result {
    kLine,     // *line holds the next line, without its terminator.
    kTooLong,  // The next line exceeded max_line_bytes and was skipped whole.
    kEof,      // No more lines. Returned again by every later call.
    kError,    // A read failed; see error_number(). Returned again thereafter.
  };

  static constexpr size_t kDefaultBufferBytes = 64 * 1024;

  // Reads from `file`, which the reader does not own: the caller keeps it open
  // for the reader's lifetime and closes it afterwards. Lines of up to
  // `max_line_bytes` bytes (not counting the "\n" or "\r\n") are returned;
  // longer ones are reported as kTooLong. `buffer_bytes` is the fread size;
  // only tests need to change it.
  // REQUIRES: file != nullptr, buffer_bytes > 0, and nothing else reads from
  //           `file` while the reader is in use (it reads ahead).
  LineReader(std::FILE* file, size_t max_line_bytes,
             size_t buffer_bytes = kDefaultBufferBytes);

  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Reads the next line into *line (replacing its contents; empty unless the
  // result is kLine) and sets *line_number to its 1-based number. Lines that
  // are too long count, so numbers stay true to the input. For kEof,
  // *line_number is the number of lines read; for kError, the number of the
  // line being read when the read failed (that line's bytes are lost).
  // REQUIRES: line != nullptr, line_number != nullptr.
  // Not thread-safe: one reader, one thread at a time.
  Result Next(std::string* line, int64_t* line_number);

  // After kError, the errno of the failed read (EIO if the C library left
  // errno at 0); 0 before any error.
  int error_number() const { return error_number_; }

 private:
  // Refills the buffer. False at end of input or on error (which it records).
  bool Fill();

  // Ends the line gathered in *line: counts it, strips a trailing "\r" and
  // applies the cap.
  Result FinishLine(std::string* line, int64_t* line_number, bool too_long);

  std::FILE* const file_;
  const size_t max_line_bytes_;
  std::vector<char> buffer_;
  size_t pos_ = 0;  // Next unread byte in buffer_.
  size_t end_ = 0;  // One past the last valid byte in buffer_.
  int64_t lines_read_ = 0;
  bool at_eof_ = false;
  int error_number_ = 0;
};

}  // namespace ebb

#endif  // EBB_TOOLS_EBB_LINE_READER_H_
