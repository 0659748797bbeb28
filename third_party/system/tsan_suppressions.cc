// Copyright ebb authors.
//
// ThreadSanitizer's default suppressions for --config=tsan builds (TSan calls
// __tsan_default_suppressions at start-up; TSAN_OPTIONS=suppressions=FILE
// adds to them).
//
// Debian's RocksDB and protobuf (and Abseil) are not instrumented: TSan neither
// checks their memory accesses nor sees the atomics they synchronise with
// (RocksDB's memtable skiplist, its write-group hand-off). It does still see
// the libc calls they make, memcpy and memcmp included, and would report
// those against each other without the synchronisation in between: a
// memtable insert against a concurrent read of the same skiplist node, for
// example. called_from_lib makes those calls as invisible as the rest of the
// library's code.
//
// libstdc++ is not instrumented either, and RocksDB copies the WriteBatch of
// every writer in a write group into the leader's through std::string's
// out-of-line members (_M_append, _M_mutate): the leader's memcpy from a
// follower's buffer is synchronised by RocksDB's WriteThread atomics, which
// TSan cannot see. The stores std::string makes inside libstdc++ (its length,
// its buffer pointer) are invisible to TSan anyway, so ignoring its memcpy
// loses little. Memory accesses in ebb's own (instrumented) code are all
// still checked.

extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:librocksdb.so\n"
         "called_from_lib:libprotobuf.so\n"
         "called_from_lib:libstdc++.so\n"
         // Snappy fills the blocks RocksDB then shares through its block
         // cache; the compaction filter reads them later on another thread.
         "called_from_lib:libsnappy.so\n";
}
