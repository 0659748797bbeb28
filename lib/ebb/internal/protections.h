// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: protections.h
// -----------------------------------------------------------------------------
//
// What overrides plain retention for a tenant's data: legal holds (data kept
// past its expiry and past an erasure), restrictions of processing (data kept
// but not served), and erasures waiting for a hold to be lifted (data kept but
// not served). Immutable once built and published inside the PolicySnapshot, so
// reads and compaction filters consult it without a lock.
//
// Holds are rare and small (a few per tenant), so they live in memory. A hold
// on a user keeps the user's conversations: the store lists them when the hold
// is set (and at Open) and adds each new one on append, because message keys
// name the conversation but not the user.

#ifndef EBB_INTERNAL_PROTECTIONS_H_
#define EBB_INTERNAL_PROTECTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "lib/ebb/internal/key_codec.h"

namespace ebb::internal {

struct TenantProtections {
  bool tenant_held = false;
  absl::flat_hash_set<std::string> held_conversations;
  absl::flat_hash_set<std::string> held_users;
  // Conversations of held users -> the held users they belong to.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>
      conversations_of_held_users;
  absl::flat_hash_set<std::string> restricted_users;
  // Erasures pending under a hold: data created at or before the cutoff
  // (µs since the epoch) is hidden from reads.
  std::optional<int64_t> tenant_erased_through;
  absl::flat_hash_map<std::string, int64_t> conversations_erased_through;
  absl::flat_hash_map<std::string, int64_t> users_erased_through;

  bool Empty() const;
  bool HasHold() const {
    return tenant_held || !held_conversations.empty() || !held_users.empty();
  }
  // Whether a hold keeps the conversation's records.
  bool KeepsConversation(absl::string_view conversation) const {
    return tenant_held || held_conversations.contains(conversation) ||
           conversations_of_held_users.contains(conversation);
  }
  // Whether a hold keeps index records naming this user.
  bool KeepsUser(absl::string_view user) const {
    return tenant_held || held_users.contains(user);
  }
  // Whether normal reads must not return a message: its user is restricted,
  // or a pending erasure covers it.
  bool HidesMessage(absl::string_view conversation, absl::string_view user,
                    int64_t created_at_micros) const;
  // Whether an erasure pending under a hold covers the message.
  bool ErasurePendingCovers(absl::string_view conversation,
                            absl::string_view user,
                            int64_t created_at_micros) const;
  // Whether normal reads must not return anything of the user (restricted or
  // pending erasure of all of their data).
  bool HidesUser(absl::string_view user) const;
  // Whether anything per-message needs checking on reads for this tenant.
  bool HidesAnything() const {
    return tenant_erased_through.has_value() ||
           !conversations_erased_through.empty() ||
           !users_erased_through.empty() || !restricted_users.empty();
  }
};

class Protections {
 public:
  // nullptr when the tenant has none: the common case, checked first.
  const TenantProtections* Find(TenantNumber tenant) const {
    if (by_tenant_.empty()) return nullptr;
    auto it = by_tenant_.find(tenant);
    return it == by_tenant_.end() ? nullptr : &it->second;
  }
  TenantProtections& Mutable(TenantNumber tenant) { return by_tenant_[tenant]; }
  // Drops tenants with nothing left, so Find stays on its fast path.
  void Prune();
  bool empty() const { return by_tenant_.empty(); }

  // Whether an expired record may still not be dropped, for the compaction
  // filter. `key` is a messages key (`is_message_key`) or an index key.
  bool KeepsExpiredRecord(absl::string_view key, bool is_message_key) const;

 private:
  absl::flat_hash_map<TenantNumber, TenantProtections> by_tenant_;
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_PROTECTIONS_H_
