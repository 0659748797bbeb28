// Copyright ebb authors.
//
// ThreadSanitizer annotations for Debian's absl::Mutex, linked only into
// --config=tsan builds.
//
// Debian's libabsl_synchronization is not built with TSan, so TSan sees
// neither its atomics nor its futex waits: every field ebb guards with an
// absl::Mutex would look racy, and real races would drown in those reports.
// A TSan build of Abseil would annotate itself (ABSL_TSAN_MUTEX_*); this file
// adds the same annotations from outside. It defines absl::Mutex's
// out-of-line members in the executable, which the dynamic linker prefers to
// the library's, and each one forwards to the library's own definition
// (dlsym RTLD_NEXT) between the __tsan_mutex_* calls that tell TSan a lock was
// taken or released. Memory accesses inside the real calls (absl's internals,
// and Condition callbacks evaluated while the lock is held) are ignored, as
// TSan's own annotations do. RocksDB synchronises with std::mutex and
// pthreads, which TSan intercepts by itself.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"

namespace {

template <typename Fn>
Fn Real(const char* mangled) {
  void* symbol = dlsym(RTLD_NEXT, mangled);
  if (symbol == nullptr) {
    std::fprintf(stderr, "absl_mutex_tsan: %s not found: %s\n", mangled,
                 dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(symbol);
}

using Method = void (*)(absl::Mutex*);
using TryMethod = bool (*)(absl::Mutex*);
using CondMethod = void (*)(absl::Mutex*, const absl::Condition&);

// Itanium ABI names of the members, for the library's absl::debian3
// inline namespace.
#define EBB_ABSL_MUTEX "_ZN4absl7debian35Mutex"

void Lock(absl::Mutex* mu, unsigned flags, Method real) {
  __tsan_mutex_pre_lock(mu, flags);
  real(mu);
  __tsan_mutex_post_lock(mu, flags, 0);
}

bool TryLock(absl::Mutex* mu, unsigned flags, TryMethod real) {
  __tsan_mutex_pre_lock(mu, flags | __tsan_mutex_try_lock);
  const bool locked = real(mu);
  __tsan_mutex_post_lock(mu,
                         flags | __tsan_mutex_try_lock |
                             (locked ? 0 : __tsan_mutex_try_lock_failed),
                         0);
  return locked;
}

void Unlock(absl::Mutex* mu, unsigned flags, Method real) {
  __tsan_mutex_pre_unlock(mu, flags);
  real(mu);
  __tsan_mutex_post_unlock(mu, flags);
}

void LockWhen(absl::Mutex* mu, const absl::Condition& cond, unsigned flags,
              CondMethod real) {
  __tsan_mutex_pre_lock(mu, flags);
  real(mu, cond);
  __tsan_mutex_post_lock(mu, flags, 0);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static const Method real = Real<Method>(EBB_ABSL_MUTEX "4LockEv");
  ::Lock(this, 0, real);
}

void Mutex::ReaderLock() {
  static const Method real = Real<Method>(EBB_ABSL_MUTEX "10ReaderLockEv");
  ::Lock(this, __tsan_mutex_read_lock, real);
}

bool Mutex::TryLock() {
  static const TryMethod real = Real<TryMethod>(EBB_ABSL_MUTEX "7TryLockEv");
  return ::TryLock(this, 0, real);
}

bool Mutex::ReaderTryLock() {
  static const TryMethod real =
      Real<TryMethod>(EBB_ABSL_MUTEX "13ReaderTryLockEv");
  return ::TryLock(this, __tsan_mutex_read_lock, real);
}

void Mutex::Unlock() {
  static const Method real = Real<Method>(EBB_ABSL_MUTEX "6UnlockEv");
  ::Unlock(this, 0, real);
}

void Mutex::ReaderUnlock() {
  static const Method real = Real<Method>(EBB_ABSL_MUTEX "12ReaderUnlockEv");
  ::Unlock(this, __tsan_mutex_read_lock, real);
}

void Mutex::LockWhen(const Condition& cond) {
  static const CondMethod real =
      Real<CondMethod>(EBB_ABSL_MUTEX "8LockWhenERKNS0_9ConditionE");
  ::LockWhen(this, cond, 0, real);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static const CondMethod real =
      Real<CondMethod>(EBB_ABSL_MUTEX "14ReaderLockWhenERKNS0_9ConditionE");
  ::LockWhen(this, cond, __tsan_mutex_read_lock, real);
}

// Called with the lock held; returns with it held. Inside, the library
// releases and retakes it: to TSan, a release before and an acquire after.
void Mutex::Await(const Condition& cond) {
  static const CondMethod real =
      Real<CondMethod>(EBB_ABSL_MUTEX "5AwaitERKNS0_9ConditionE");
  __tsan_mutex_pre_unlock(this, 0);
  __tsan_mutex_post_unlock(this, 0);
  __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

ABSL_NAMESPACE_END
}  // namespace absl
