// Copyright ebb authors.
//
// -----------------------------------------------------------------------------
// File: testing_hooks.h
// -----------------------------------------------------------------------------
//
// What tests may do to a Store that backends may not: open it on a RocksDB Env
// of their choosing, so that every file operation can be made to fail
// (tests/fault_injection_test.cc). The public Options carry no RocksDB types on
// purpose; this is the one door for them, visible to tests only.

#ifndef EBB_INTERNAL_TESTING_HOOKS_H_
#define EBB_INTERNAL_TESTING_HOOKS_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "lib/ebb/options.h"
#include "lib/ebb/store.h"
#include "rocksdb/env.h"

namespace ebb::internal {

struct StoreTestingHooks {
  // Store::Open with every file operation of the store's RocksDB going
  // through `env`, which must outlive the store.
  static absl::StatusOr<std::unique_ptr<Store>> OpenWithEnv(
      const Options& options, const std::string& path, rocksdb::Env* env) {
    return Store::OpenWithEnv(options, path, env);
  }
  // Calls `hook` in every ExpireDue of `store` after it has scanned each
  // tenant and before it writes, with no lock held: what a hold set by
  // another thread at that moment does. Not thread-safe: set it before the
  // store is used.
  static void SetAfterExpiryScan(Store& store, std::function<void()> hook) {
    store.SetAfterExpiryScanForTesting(std::move(hook));
  }
};

}  // namespace ebb::internal

#endif  // EBB_INTERNAL_TESTING_HOOKS_H_
