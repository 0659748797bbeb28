// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: message_partitioner.h
// -----------------------------------------------------------------------------
//
// Where the messages column family's SST files are cut.
//
// Always where the expiry bucket changes: a bucket that has passed is then
// whole files, which the purge drops without rewriting anything.
//
// Also where the tenant changes, once the file being written holds at least
// `tenant_cut_bytes`. A day's file otherwise holds every tenant's messages for
// that day, and whatever makes one tenant's part of a day go before the rest
// (a shortened policy, a tenant or conversation erasure, a lengthened policy
// carving one tenant out of a passing day) makes the purge rewrite the whole
// day. Files of a few tenants each bound that rewrite to the files that hold
// the tenants concerned. The threshold keeps files from shrinking to one
// tenant-day each where tenants write little, and a tenant-day larger than it
// still gets its own files. A tenant's day is never split by this rule, only
// by RocksDB's own target file size.

#ifndef EBB_INTERNAL_MESSAGE_PARTITIONER_H_
#define EBB_INTERNAL_MESSAGE_PARTITIONER_H_

#include <cstdint>
#include <memory>

#include "rocksdb/sst_partitioner.h"

namespace ebb::internal {

std::shared_ptr<rocksdb::SstPartitionerFactory> NewMessagePartitionerFactory(
    uint64_t tenant_cut_bytes);

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_MESSAGE_PARTITIONER_H_
