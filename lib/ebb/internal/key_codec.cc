// Copyright ebb authors.

#include "lib/ebb/internal/key_codec.h"

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"

namespace ebb::internal {
namespace {

void PutU32(uint32_t v, std::string* out) {
  char buf[4];
  absl::big_endian::Store32(buf, v);
  out->append(buf, 4);
}

void PutU64(uint64_t v, std::string* out) {
  char buf[8];
  absl::big_endian::Store64(buf, v);
  out->append(buf, 8);
}

uint32_t GetU32(const char* p) { return absl::big_endian::Load32(p); }
uint64_t GetU64(const char* p) { return absl::big_endian::Load64(p); }

void AppendTerminated(absl::string_view id, std::string* out) {
  out->append(id.data(), id.size());
  out->push_back('\0');
}

}  // namespace

ExpiryBucket ExpiryBucketFor(absl::Time created_at, absl::Duration ttl,
                             absl::Duration day_start) {
  if (ttl == absl::InfiniteDuration()) return kKeepForeverBucket;
  const absl::Time expiry = created_at + ttl;  // saturates to InfiniteFuture
  if (expiry == absl::InfiniteFuture()) return kKeepForeverBucket - 1;
  if (expiry == absl::InfinitePast()) return 0;
  absl::Duration remainder;
  int64_t day = absl::IDivDuration(expiry - absl::UnixEpoch() - day_start,
                                   absl::Hours(24), &remainder);
  if (remainder < absl::ZeroDuration()) --day;  // floor, not truncation
  if (day < 0) return 0;
  if (day >= int64_t{kKeepForeverBucket}) return kKeepForeverBucket - 1;
  return static_cast<ExpiryBucket>(day);
}

absl::Time BucketStart(ExpiryBucket bucket, absl::Duration day_start) {
  if (bucket == kKeepForeverBucket) return absl::InfiniteFuture();
  return absl::UnixEpoch() + absl::Hours(24) * static_cast<int64_t>(bucket) +
         day_start;
}

absl::Time LatestCreatedAtIn(ExpiryBucket bucket, absl::Duration ttl,
                             absl::Duration day_start) {
  if (ttl == absl::InfiniteDuration() || bucket == kKeepForeverBucket) {
    return absl::InfiniteFuture();
  }
  return BucketStart(bucket + 1, day_start) - ttl - absl::Microseconds(1);
}

std::string TenantBucketPrefix(ExpiryBucket bucket, TenantNumber tenant) {
  std::string key;
  key.reserve(8);
  PutU32(bucket, &key);
  PutU32(tenant, &key);
  return key;
}

std::string MessageKeyPrefix(ExpiryBucket bucket, TenantNumber tenant,
                             absl::string_view conversation) {
  std::string key;
  key.reserve(8 + conversation.size() + 1 + 8);
  PutU32(bucket, &key);
  PutU32(tenant, &key);
  AppendTerminated(conversation, &key);
  return key;
}

std::string MessageKey(ExpiryBucket bucket, TenantNumber tenant,
                       absl::string_view conversation, uint64_t seq) {
  std::string key = MessageKeyPrefix(bucket, tenant, conversation);
  PutU64(seq, &key);
  return key;
}

std::optional<MessageKeyParts> ParseMessageKey(absl::string_view key) {
  // bucket + tenant + at least one id byte + terminator + seq.
  if (key.size() < 4 + 4 + 1 + 1 + 8) return std::nullopt;
  const size_t terminator = key.size() - 8 - 1;
  if (key[terminator] != '\0') return std::nullopt;
  absl::string_view conversation = key.substr(8, terminator - 8);
  if (conversation.find('\0') != absl::string_view::npos) return std::nullopt;
  return MessageKeyParts{GetU32(key.data()), GetU32(key.data() + 4),
                         conversation, GetU64(key.data() + terminator + 1)};
}

std::string ConversationBucketsPrefix(TenantNumber tenant,
                                      absl::string_view conversation) {
  std::string key;
  key.reserve(4 + 1 + conversation.size() + 1 + 5);
  PutU32(tenant, &key);
  key.push_back(kConversationBucketsTag);
  AppendTerminated(conversation, &key);
  return key;
}

std::string ConversationBucketKey(TenantNumber tenant,
                                  absl::string_view conversation,
                                  ExpiryBucket bucket,
                                  v1::DataCategory category) {
  std::string key = ConversationBucketsPrefix(tenant, conversation);
  PutU32(bucket, &key);
  key.push_back(static_cast<char>(category));
  return key;
}

std::optional<ConversationBucketParts> ParseConversationBucketKey(
    absl::string_view key, size_t prefix_size) {
  if (key.size() != prefix_size + 5) return std::nullopt;
  const int category = static_cast<unsigned char>(key.back());
  if (!IsStoredCategory(category)) return std::nullopt;
  return ConversationBucketParts{GetU32(key.data() + prefix_size),
                                 static_cast<v1::DataCategory>(category)};
}

std::string UserConversationsPrefix(TenantNumber tenant,
                                    absl::string_view user) {
  std::string key;
  key.reserve(4 + 1 + user.size() + 1 + 32);
  PutU32(tenant, &key);
  key.push_back(kUserConversationsTag);
  AppendTerminated(user, &key);
  return key;
}

std::string UserConversationKey(TenantNumber tenant, absl::string_view user,
                                absl::string_view conversation,
                                ExpiryBucket bucket,
                                v1::DataCategory category) {
  std::string key = UserConversationsPrefix(tenant, user);
  AppendTerminated(conversation, &key);
  PutU32(bucket, &key);
  key.push_back(static_cast<char>(category));
  return key;
}

std::optional<UserConversationParts> ParseUserConversationKey(
    absl::string_view key, size_t prefix_size) {
  // conversation (>= 1 byte) + terminator + bucket + category
  if (key.size() < prefix_size + 1 + 1 + 5) return std::nullopt;
  const size_t terminator = key.size() - 6;
  if (key[terminator] != '\0') return std::nullopt;
  const int category = static_cast<unsigned char>(key.back());
  if (!IsStoredCategory(category)) return std::nullopt;
  absl::string_view conversation =
      key.substr(prefix_size, terminator - prefix_size);
  if (conversation.find('\0') != absl::string_view::npos) return std::nullopt;
  return UserConversationParts{conversation,
                               GetU32(key.data() + terminator + 1),
                               static_cast<v1::DataCategory>(category)};
}

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    unsigned char last = static_cast<unsigned char>(out.back());
    if (last != 0xFF) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}
}  // namespace ebb::internal
