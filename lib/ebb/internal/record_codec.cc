// Copyright ebb authors.

#include "lib/ebb/internal/record_codec.h"

#include "absl/base/internal/endian.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "lib/ebb/internal/key_codec.h"
#include "lib/ebb/internal/proto_time.h"

namespace ebb::internal {

void AppendRecordHeader(const RecordHeader& header, std::string* out) {
  char buf[kRecordHeaderSize];
  buf[0] = static_cast<char>(kRecordFormatV1);
  buf[1] = static_cast<char>(header.category);
  absl::big_endian::Store64(buf + 2,
                            static_cast<uint64_t>(header.created_at_micros));
  out->append(buf, kRecordHeaderSize);
}

void EncodeMessageRecord(const v1::Message& message, std::string* out) {
  const size_t size = message.ByteSizeLong();
  out->clear();
  AppendRecordHeader(
      {message.category(),
       ToMicrosFloor(absl::FromUnixSeconds(message.created_at().seconds()) +
                     absl::Nanoseconds(message.created_at().nanos()))},
      out);
  out->resize(kRecordHeaderSize + size);
  // ByteSizeLong above cached the sizes this serialization reuses: one pass
  // over the message instead of three.
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(out->data() + kRecordHeaderSize));
}

absl::StatusOr<v1::Message> DecodeMessageRecord(absl::string_view value) {
  std::optional<RecordHeader> header = DecodeRecordHeader(value);
  if (!header.has_value()) {
    return absl::DataLossError(absl::StrFormat(
        "message record of %d bytes has an undecodable header", value.size()));
  }
  v1::Message message;
  value.remove_prefix(kRecordHeaderSize);
  if (!message.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(
        "message record body is not a valid ebb.v1.Message");
  }
  absl::StatusOr<absl::Time> created_at =
      FromProtoTimestamp(message.created_at());
  if (!created_at.ok() || message.category() != header->category ||
      ToMicrosFloor(*created_at) != header->created_at_micros) {
    return absl::DataLossError(
        "message record header disagrees with its body (category or "
        "created_at)");
  }
  return message;
}

}  // namespace ebb::internal
