// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: record_codec.h
// -----------------------------------------------------------------------------
//
// The values ebb stores. Every value starts with the same fixed-width header,
// so that the compaction filter and the read path decide expiry from 10 bytes
// at a known place, without parsing protobuf:
//
//   [format u8 = 1][category u8][created_at: microseconds since the epoch, i64
//   BE]
//
// A message value continues with the serialized ebb.v1.Message. An index value
// is the header alone, carrying the latest created_at of the messages it points
// at (kept up to date by the max-created-at merge operator).
//
// created_at is stored at microsecond precision: Append truncates it, so the
// stored message and its header never disagree.

#ifndef EBB_INTERNAL_RECORD_CODEC_H_
#define EBB_INTERNAL_RECORD_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/internal/endian.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ebb/v1/message.pb.h"
#include "lib/ebb/internal/key_codec.h"

namespace ebb::internal {

inline constexpr uint8_t kRecordFormatV1 = 1;
inline constexpr size_t kRecordHeaderSize = 10;

struct RecordHeader {
  v1::DataCategory category;
  int64_t created_at_micros;
};

// Appends the 10 header bytes to `out`.
void AppendRecordHeader(const RecordHeader& header, std::string* out);

// Decodes the header at the start of `value`. nullopt if `value` is too short,
// has an unknown format byte, or names a category ebb does not store: such a
// record's expiry cannot be decided, and callers keep it and count it as
// corrupt. Inline: the compaction filter calls it for every record.
inline std::optional<RecordHeader> DecodeRecordHeader(absl::string_view value) {
  if (value.size() < kRecordHeaderSize ||
      static_cast<uint8_t>(value[0]) != kRecordFormatV1 ||
      !IsStoredCategory(static_cast<unsigned char>(value[1]))) {
    return std::nullopt;
  }
  return RecordHeader{
      static_cast<v1::DataCategory>(static_cast<unsigned char>(value[1])),
      static_cast<int64_t>(absl::big_endian::Load64(value.data() + 2))};
}

// header + serialized message. REQUIRES: `message.created_at` is set and valid
// and `message.category` is a stored category.
// Replaces *out (reusing its capacity) with the encoding.
void EncodeMessageRecord(const v1::Message& message, std::string* out);

// Parses a message value. DataLoss if the header or the protobuf cannot be
// decoded, or if they disagree (a sign of corruption).
absl::StatusOr<v1::Message> DecodeMessageRecord(absl::string_view value);

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_RECORD_CODEC_H_
