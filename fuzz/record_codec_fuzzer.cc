// Copyright ebb authors.
//
// Fuzzes the decoders of the values ebb stores (lib/ebb/internal/): the
// record header every value starts with, message records, the index's
// max-created-at merge operator, and the per-file expiry statistics that
// ExpireDue trusts instead of reading. All of these decode bytes from disk.
// Invariants:
// - no crash on any bytes;
// - a header that decodes re-encodes to the same 10 bytes;
// - a message record that decodes re-encodes to a record that decodes to the
//   same message, with the same header;
// - the merge operator never fails and keeps one of its operands: the later
//   created_at when both decode, the decodable one when only one does;
// - file statistics never crash the counter; the statistics of a file that
//   also has deletions are never used.
//
// Input: [split byte][bytes]; the split byte cuts the rest in two operands
// for the merge operator. The whole input is also tried as each kind of value.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/internal/endian.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/util/message_differencer.h"
#include "lib/ebb/internal/expiry_file_stats.h"
#include "lib/ebb/internal/max_created_at_merge.h"
#include "lib/ebb/internal/record_codec.h"
#include "rocksdb/slice.h"
#include "rocksdb/table_properties.h"

namespace {

using ebb::internal::DecodeRecordHeader;
using ebb::internal::RecordHeader;

void CheckHeader(absl::string_view value) {
  std::optional<RecordHeader> header = DecodeRecordHeader(value);
  if (!header.has_value()) return;
  std::string encoded;
  ebb::internal::AppendRecordHeader(*header, &encoded);
  EBB_FUZZ_CHECK(encoded == value.substr(0, ebb::internal::kRecordHeaderSize),
                 "header re-encodes to itself");
}

void CheckMessageRecord(absl::string_view value) {
  absl::StatusOr<ebb::v1::Message> message =
      ebb::internal::DecodeMessageRecord(value);
  if (!message.ok()) {
    EBB_FUZZ_CHECK(absl::IsDataLoss(message.status()),
                   "an undecodable record is DataLoss");
    return;
  }
  std::string encoded;
  ebb::internal::EncodeMessageRecord(*message, &encoded);
  EBB_FUZZ_CHECK(encoded.substr(0, ebb::internal::kRecordHeaderSize) ==
                     value.substr(0, ebb::internal::kRecordHeaderSize),
                 "re-encoded header matches the stored one");
  absl::StatusOr<ebb::v1::Message> again =
      ebb::internal::DecodeMessageRecord(encoded);
  EBB_FUZZ_CHECK(again.ok(), "re-encoded record decodes");
  EBB_FUZZ_CHECK(
      google::protobuf::util::MessageDifferencer::Equals(*message, *again),
      "decode(encode(m)) == m");
}

void CheckMerge(absl::string_view existing, absl::string_view operand) {
  const ebb::internal::MaxCreatedAtMergeOperator merge;
  const rocksdb::Slice existing_slice(existing.data(), existing.size());
  const rocksdb::Slice operand_slice(operand.data(), operand.size());
  std::string merged;
  EBB_FUZZ_CHECK(merge.Merge(rocksdb::Slice(), &existing_slice, operand_slice,
                             &merged, nullptr),
                 "merge never fails");
  EBB_FUZZ_CHECK(merged == existing || merged == operand,
                 "merge keeps one operand");
  const std::optional<RecordHeader> a = DecodeRecordHeader(existing);
  const std::optional<RecordHeader> b = DecodeRecordHeader(operand);
  const std::optional<RecordHeader> kept = DecodeRecordHeader(merged);
  if (a.has_value() || b.has_value()) {
    EBB_FUZZ_CHECK(kept.has_value(), "a decodable operand wins");
  }
  if (a.has_value() && b.has_value()) {
    EBB_FUZZ_CHECK(kept->created_at_micros ==
                       std::max(a->created_at_micros, b->created_at_micros),
                   "the later created_at wins");
  }
  std::string first;
  EBB_FUZZ_CHECK(
      merge.Merge(rocksdb::Slice(), nullptr, operand_slice, &first, nullptr) &&
          first == operand,
      "the first operand is kept as is");
}

void CheckFileStats(absl::string_view property, uint32_t bucket,
                    uint32_t tenant) {
  for (bool with_deletions : {false, true}) {
    auto properties = std::make_shared<rocksdb::TableProperties>();
    properties
        ->user_collected_properties[ebb::internal::kExpiryFileStatsProperty] =
        std::string(property);
    properties->num_deletions = with_deletions ? 1 : 0;
    rocksdb::TablePropertiesCollection files;
    files["/fuzz/000001.sst"] = properties;
    files["/fuzz/000002.sst"] = properties;  // overlapping copies

    ebb::internal::FileStatsCounter counter(absl::ZeroDuration());
    const bool usable = counter.AllUsable(files);
    auto counts = counter.Count(files, bucket, tenant);
    if (with_deletions) {
      EBB_FUZZ_CHECK(!usable && !counts.has_value(),
                     "statistics of a file with deletions are not used");
    }
    ebb::internal::FileStatsCounter single(absl::ZeroDuration());
    rocksdb::TablePropertiesCollection one;
    one["/fuzz/000001.sst"] = properties;
    (void)single.Count(one, bucket, tenant);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char *>(data), size);
  CheckHeader(input);
  CheckMessageRecord(input);
  if (!input.empty()) {
    const absl::string_view rest = input.substr(1);
    const size_t split = static_cast<uint8_t>(input[0]) % (rest.size() + 1);
    CheckMerge(rest.substr(0, split), rest.substr(split));
  }
  uint32_t bucket = 0;
  uint32_t tenant = 0;
  if (size >= 8) {
    bucket = absl::big_endian::Load32(data);
    tenant = absl::big_endian::Load32(data + 4);
  }
  CheckFileStats(input, bucket, tenant);
  if (size >= 8) CheckFileStats(input.substr(8), bucket, tenant);
  return 0;
}
