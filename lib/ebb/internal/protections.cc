// Copyright ebb authors.

#include "lib/ebb/internal/protections.h"

namespace ebb::internal {

bool TenantProtections::Empty() const {
  return !HasHold() && conversations_of_held_users.empty() && !HidesAnything();
}

bool TenantProtections::HidesMessage(absl::string_view conversation,
                                     absl::string_view user,
                                     int64_t created_at_micros) const {
  return restricted_users.contains(user) ||
         ErasurePendingCovers(conversation, user, created_at_micros);
}

bool TenantProtections::ErasurePendingCovers(absl::string_view conversation,
                                             absl::string_view user,
                                             int64_t created_at_micros) const {
  if (tenant_erased_through.has_value() &&
      created_at_micros <= *tenant_erased_through) {
    return true;
  }
  if (auto it = conversations_erased_through.find(conversation);
      it != conversations_erased_through.end() &&
      created_at_micros <= it->second) {
    return true;
  }
  if (auto it = users_erased_through.find(user);
      it != users_erased_through.end() && created_at_micros <= it->second) {
    return true;
  }
  return false;
}

bool TenantProtections::HidesUser(absl::string_view user) const {
  return restricted_users.contains(user);
}

void Protections::Prune() {
  absl::erase_if(by_tenant_,
                 [](const auto& entry) { return entry.second.Empty(); });
}

bool Protections::KeepsExpiredRecord(absl::string_view key,
                                     bool is_message_key) const {
  if (by_tenant_.empty()) return false;
  if (is_message_key) {
    const std::optional<MessageKeyParts> parts = ParseMessageKey(key);
    if (!parts.has_value()) return false;
    const TenantProtections* p = Find(parts->tenant);
    return p != nullptr && p->KeepsConversation(parts->conversation);
  }
  const std::optional<TenantNumber> tenant =
      TenantAt(key, kIndexKeyTenantOffset);
  if (!tenant.has_value()) return false;
  const TenantProtections* p = Find(*tenant);
  if (p == nullptr) return false;
  if (p->tenant_held) return true;
  constexpr size_t kTagOffset = kIndexKeyTenantOffset + sizeof(TenantNumber);
  if (key.size() <= kTagOffset) return false;
  const absl::string_view rest = key.substr(kTagOffset + 1);
  const size_t end = rest.find('\0');
  if (end == absl::string_view::npos) return false;
  const absl::string_view first = rest.substr(0, end);
  if (key[kTagOffset] == kConversationBucketsTag) {
    return p->KeepsConversation(first);
  }
  if (key[kTagOffset] == kUserConversationsTag) {
    if (p->KeepsUser(first)) return true;
    const absl::string_view after = rest.substr(end + 1);
    const size_t conv_end = after.find('\0');
    return conv_end != absl::string_view::npos &&
           p->KeepsConversation(after.substr(0, conv_end));
  }
  return false;
}

}  // namespace ebb::internal
