// Copyright ebb authors.
//
// The merge operator of the index column family. An index entry says "this
// conversation has messages of category c in bucket b" (or "this user has this
// conversation"); its value is a record header (record_codec.h) carrying the
// latest created_at among those messages, so the entry expires exactly when the
// newest message it points at does. Appends Merge() their message's header; the
// operator keeps the one with the largest created_at. That costs no read per
// append, and messages may arrive out of order.

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
