// Copyright ebb authors.

#include "lib/ebb/internal/insert_hint.h"

#include <cstddef>
#include <memory>

#include "lib/ebb/internal/key_codec.h"

namespace ebb::internal {
namespace {

constexpr size_t kMessageHintPrefix =
    sizeof(ExpiryBucket) + sizeof(TenantNumber);
constexpr size_t kIndexHintPrefix = sizeof(TenantNumber) + 1;
// An index key ends in [\0][bucket u32][category u8].
constexpr size_t kIndexKeySuffix = 1 + sizeof(ExpiryBucket) + 1;

// Fixed-length prefix of complete keys; nothing else is in the domain.
class CompleteKeyPrefix : public rocksdb::SliceTransform {
 public:
  using IsComplete = bool (*)(absl::string_view);
  CompleteKeyPrefix(const char* name, size_t length, IsComplete is_complete)
      : name_(name), length_(length), is_complete_(is_complete) {}

  const char* Name() const override { return name_; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), length_);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return is_complete_(absl::string_view(key.data(), key.size()));
  }

 private:
  const char* const name_;
  const size_t length_;
  const IsComplete is_complete_;
};

}  // namespace

bool IsCompleteMessageKey(absl::string_view key) {
  return ParseMessageKey(key).has_value();
}

bool IsCompleteIndexKey(absl::string_view key) {
  // tenant, tag, at least one id byte, then the suffix.
  if (key.size() < kIndexHintPrefix + 1 + kIndexKeySuffix) return false;
  const size_t terminator = key.size() - kIndexKeySuffix;
  if (key[terminator] != '\0') return false;
  const absl::string_view ids =
      key.substr(kIndexHintPrefix, terminator - kIndexHintPrefix);
  const size_t nul = ids.find('\0');
  switch (key[kIndexHintPrefix - 1]) {
    case kConversationBucketsTag:
      return nul == absl::string_view::npos;
    case kUserConversationsTag:
      // user \0 conversation, both non-empty, no other NUL.
      return nul != absl::string_view::npos && nul > 0 &&
             nul + 1 < ids.size() &&
             ids.find('\0', nul + 1) == absl::string_view::npos;
    default:
      return false;
  }
}

std::shared_ptr<const rocksdb::SliceTransform> NewMessageInsertHint() {
  return std::make_shared<CompleteKeyPrefix>(
      "ebb.MessageInsertHint", kMessageHintPrefix, &IsCompleteMessageKey);
}

std::shared_ptr<const rocksdb::SliceTransform> NewIndexInsertHint() {
  return std::make_shared<CompleteKeyPrefix>(
      "ebb.IndexInsertHint", kIndexHintPrefix, &IsCompleteIndexKey);
}

}  // namespace ebb::internal
