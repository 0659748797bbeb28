// Copyright ebb authors.
//
// The merge operator of the index column family. An index entry says "this
// conversation has messages of category c in bucket b" (or "this user has this
// conversation there"); its value is a record header (record_codec.h) whose
// created_at bounds those messages' created_at (key_codec.h,
// LatestCreatedAtIn), so the entry expires no earlier than the newest message
// it points at. The bound depends on the TTL the bucket was computed with; when
// a policy change gives one bucket two TTLs, the operator keeps the larger
// bound. Appends Merge() rather than Put() for that reason, and never read
// first.

#ifndef EBB_INTERNAL_MAX_CREATED_AT_MERGE_H_
#define EBB_INTERNAL_MAX_CREATED_AT_MERGE_H_

#include <string>

#include "rocksdb/merge_operator.h"

namespace ebb::internal {

class MaxCreatedAtMergeOperator : public rocksdb::AssociativeMergeOperator {
 public:
  // Keeps whichever of the two headers has the later created_at. An undecodable
  // operand loses to a decodable one; two undecodable ones keep the newer
  // bytes, so the read path still sees (and counts) the corruption rather than
  // a failed merge making the whole key unreadable. Never returns false.
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* logger) const override;

  const char* Name() const override { return "ebb.MaxCreatedAt"; }
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_MAX_CREATED_AT_MERGE_H_
