// Copyright ebb authors.
//
// ThreadSanitizer's default suppressions for --config=tsan builds (TSan calls
// __tsan_default_suppressions at start-up; TSAN_OPTIONS=suppressions=FILE
// adds to them).
//
// Debian's RocksDB, libstdc++, Snappy and protobuf are not instrumented: TSan
// neither checks their memory accesses nor sees the atomics they synchronise
// with (RocksDB's memtable skiplist, its write-group hand-off, its version
// and super-version reference counts). It still sees the libc calls they make,
// memcpy and memcmp included, and the pthread calls, and reports races that
// are ordered by atomics it cannot see: a memtable insert against a read of
// the same skiplist node; the write-group leader copying a follower's
// WriteBatch; a flush thread reading the compaction filter factory RocksDB was
// handed at Open. Reports with a frame in one of these libraries are
// suppressed. That leaves what TSan can judge: ebb's own code against itself
// (callers' threads, caches, the retention state, the purge), as long as
// neither access was made from inside RocksDB.
//
// Not called_from_lib: it would also hide the libraries' pthread calls, and
// with them the happens-before edges TSan does see.

extern "C" const char* __tsan_default_suppressions() {
  return "race:librocksdb.so\n"
         "race:libstdc++.so\n"
         "race:libsnappy.so\n"
         "race:libprotobuf.so\n";
}
