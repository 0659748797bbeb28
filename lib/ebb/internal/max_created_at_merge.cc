// Copyright ebb authors.

#include "lib/ebb/internal/max_created_at_merge.h"

#include <optional>

#include "absl/strings/string_view.h"
#include "lib/ebb/internal/record_codec.h"

namespace ebb::internal {

bool MaxCreatedAtMergeOperator::Merge(const rocksdb::Slice& /*key*/,
                                      const rocksdb::Slice* existing_value,
                                      const rocksdb::Slice& value,
                                      std::string* new_value,
                                      rocksdb::Logger* /*logger*/) const {
  if (existing_value == nullptr) {
    new_value->assign(value.data(), value.size());
    return true;
  }
  const std::optional<RecordHeader> old_header = DecodeRecordHeader(
      absl::string_view(existing_value->data(), existing_value->size()));
  const std::optional<RecordHeader> new_header =
      DecodeRecordHeader(absl::string_view(value.data(), value.size()));
  const bool keep_old =
      old_header.has_value() &&
      (!new_header.has_value() ||
       old_header->created_at_micros > new_header->created_at_micros);
  const rocksdb::Slice& kept = keep_old ? *existing_value : value;
  new_value->assign(kept.data(), kept.size());
  return true;
}

}  // namespace ebb::internal
