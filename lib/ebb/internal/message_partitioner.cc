// Copyright ebb authors.

#include "lib/ebb/internal/message_partitioner.h"

#include <algorithm>

#include "lib/ebb/internal/key_codec.h"

namespace ebb::internal {
namespace {

constexpr size_t kBucketBytes = sizeof(ExpiryBucket);
constexpr size_t kBucketAndTenantBytes =
    kMessageKeyTenantOffset + sizeof(TenantNumber);

// The first `n` bytes of `key`, or all of it if shorter (as RocksDB's fixed
// prefix partitioner does: a key too short to hold a field compares by what
// it has).
rocksdb::Slice Head(const rocksdb::Slice& key, size_t n) {
  return rocksdb::Slice(key.data(), std::min(key.size(), n));
}

class MessagePartitioner : public rocksdb::SstPartitioner {
 public:
  explicit MessagePartitioner(uint64_t tenant_cut_bytes)
      : tenant_cut_bytes_(tenant_cut_bytes) {}

  const char* Name() const override { return "ebb.MessagePartitioner"; }

  rocksdb::PartitionerResult ShouldPartition(
      const rocksdb::PartitionerRequest& request) override {
    const rocksdb::Slice& prev = *request.prev_user_key;
    const rocksdb::Slice& next = *request.current_user_key;
    if (Head(prev, kBucketBytes) != Head(next, kBucketBytes)) {
      return rocksdb::kRequired;
    }
    if (request.current_output_file_size >= tenant_cut_bytes_ &&
        Head(prev, kBucketAndTenantBytes) !=
            Head(next, kBucketAndTenantBytes)) {
      return rocksdb::kRequired;
    }
    return rocksdb::kNotRequired;
  }

  // A file moves down a level unrewritten if it lies within one bucket: it
  // then has nothing to drop apart, and a file cut at tenants stays so.
  bool CanDoTrivialMove(const rocksdb::Slice& smallest_user_key,
                        const rocksdb::Slice& largest_user_key) override {
    return Head(smallest_user_key, kBucketBytes) ==
           Head(largest_user_key, kBucketBytes);
  }

 private:
  const uint64_t tenant_cut_bytes_;
};

class MessagePartitionerFactory : public rocksdb::SstPartitionerFactory {
 public:
  explicit MessagePartitionerFactory(uint64_t tenant_cut_bytes)
      : tenant_cut_bytes_(tenant_cut_bytes) {}

  const char* Name() const override { return "ebb.MessagePartitionerFactory"; }

  std::unique_ptr<rocksdb::SstPartitioner> CreatePartitioner(
      const rocksdb::SstPartitioner::Context& /*context*/) const override {
    return std::make_unique<MessagePartitioner>(tenant_cut_bytes_);
  }

 private:
  const uint64_t tenant_cut_bytes_;
};

}  // namespace

std::shared_ptr<rocksdb::SstPartitionerFactory> NewMessagePartitionerFactory(
    uint64_t tenant_cut_bytes) {
  return std::make_shared<MessagePartitionerFactory>(tenant_cut_bytes);
}

}  // namespace ebb::internal
