package store

/*
// Declared here rather than through sqlite3.h, which go-sqlite3 does not
// export; the symbol is in the SQLite that go-sqlite3 links into the
// binary (memory statistics are on by default, SQLITE_DEFAULT_MEMSTATUS).
extern long long sqlite3_memory_used(void);
extern long long sqlite3_memory_highwater(int);
*/
import "C"

// SQLiteMemory returns the bytes SQLite has allocated in this process (page
// caches, statements, schema) and the high-water mark since start. With the
// Go heap it tells an operator where the daemon's memory is.
func SQLiteMemory() (used, highwater int64) {
	return int64(C.sqlite3_memory_used()), int64(C.sqlite3_memory_highwater(0))
}
