// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: insert_hint.h
// -----------------------------------------------------------------------------
//
// Memtable insert hints (ColumnFamilyOptions::
// memtable_insert_with_hint_prefix_extractor) for the messages and index column
// families, and the guard that keeps them safe with range deletions.
//
// Why hints: RocksDB's memtable skiplist searches from the top for every key
// that does not directly follow the previous insert. With a remembered insert
// position per prefix, a key that follows the last one of its prefix costs a
// few comparisons. The prefixes here are a message key's expiry day and tenant
// and an index key's tenant and kind ('C' or 'U'): a tenant's new
// conversation (conversation ids that grow with time, as most do) lands right
// after that tenant's previous one. bench/README.md has the numbers.
//
// Why the domain is narrow: RocksDB up to 9.1 keeps one hint map per memtable
// for point keys and range deletions alike, though they live in two different
// skiplists (facebook/rocksdb#5118, fixed in 9.2 by #12558). A range deletion
// whose start key is in the extractor's domain takes a hint into the wrong
// skiplist: Debian's RocksDB 7.8.3 then aborts on an assertion, and a build
// without assertions links the lists together and loses keys. So the domain is
// exactly the complete record keys (a message key with its seq, an index entry
// with its bucket and category), and ebb's range deletions start at prefixes,
// which are never complete keys: Store::Impl::DeleteRangeForPurge refuses a
// start key in the domain instead of corrupting the memtable.

#ifndef EBB_INTERNAL_INSERT_HINT_H_
#define EBB_INTERNAL_INSERT_HINT_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "rocksdb/slice_transform.h"

namespace ebb::internal {

// True for a complete messages key: [bucket][tenant][conversation]\0[seq].
bool IsCompleteMessageKey(absl::string_view key);

// True for a complete index key: [tenant]['C'][conversation]\0[bucket]
// [category] or [tenant]['U'][user]\0[conversation]\0[bucket][category], ids
// non-empty.
bool IsCompleteIndexKey(absl::string_view key);

// Hint prefix extractors: complete keys only (above); the prefix is the
// bucket and tenant (messages) or the tenant and kind (index).
std::shared_ptr<const rocksdb::SliceTransform> NewMessageInsertHint();
std::shared_ptr<const rocksdb::SliceTransform> NewIndexInsertHint();

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_INSERT_HINT_H_
