// Copyright ebb authors.

#include "tools/ebb/line_reader.h"

#include <cerrno>
#include <cstring>
#include <limits>

namespace ebb {

LineReader::LineReader(std::FILE* file, size_t max_line_bytes,
                       size_t buffer_bytes)
    : file_(file), max_line_bytes_(max_line_bytes), buffer_(buffer_bytes) {}

bool LineReader::Fill() {
  pos_ = 0;
  end_ = 0;
  if (at_eof_ || error_number_ != 0) return false;
  errno = 0;
  end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_);
  const int read_errno = errno;
  if (end_ > 0) return true;  // A short read's error shows on the next call.
  if (std::ferror(file_)) {
    error_number_ = read_errno != 0 ? read_errno : EIO;
  } else {
    at_eof_ = true;
  }
  return false;
}

LineReader::Result LineReader::Next(std::string* line, int64_t* line_number) {
  line->clear();
  // One byte of slack for a "\r" that FinishLine strips; saturating so that
  // a cap of SIZE_MAX does not wrap to 0.
  const size_t limit = max_line_bytes_ == std::numeric_limits<size_t>::max()
                           ? max_line_bytes_
                           : max_line_bytes_ + 1;
  bool started = false;  // Whether any byte of this line has been read.
  bool too_long = false;
  for (;;) {
    if (pos_ == end_ && !Fill()) {
      if (error_number_ != 0) {
        line->clear();
        *line_number = lines_read_ + 1;
        return Result::kError;
      }
      if (!started) {
        *line_number = lines_read_;
        return Result::kEof;
      }
      return FinishLine(line, line_number, too_long);  // No final "\n".
    }
    started = true;
    const char* const begin = buffer_.data() + pos_;
    const size_t available = end_ - pos_;
    const char* const newline =
        static_cast<const char*>(std::memchr(begin, '\n', available));
    const size_t length =
        newline != nullptr ? static_cast<size_t>(newline - begin) : available;
    if (!too_long) {
      if (length > limit - line->size()) {
        // From here on the line's bytes are only scanned for its end.
        too_long = true;
        line->clear();
      } else {
        line->append(begin, length);
      }
    }
    pos_ += length;
    if (newline != nullptr) {
      ++pos_;  // The "\n".
      return FinishLine(line, line_number, too_long);
    }
  }
}

LineReader::Result LineReader::FinishLine(std::string* line,
                                          int64_t* line_number, bool too_long) {
  *line_number = ++lines_read_;
  if (!too_long && !line->empty() && line->back() == '\r') line->pop_back();
  if (too_long || line->size() > max_line_bytes_) {
    line->clear();
    return Result::kTooLong;
  }
  return Result::kLine;
}

}  // namespace ebb
