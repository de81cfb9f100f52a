package testutil

import (
	"os"
	"strconv"
	"testing"
)

// BenchCustomers is the shop size of the 1,000,000-customer benchmarks:
// 1,000,000 unless SHOPSYNC_BENCH_CUSTOMERS says otherwise (e.g. 50000
// while developing).
func BenchCustomers(tb testing.TB) int {
	tb.Helper()
	s := os.Getenv("SHOPSYNC_BENCH_CUSTOMERS")
	if s == "" {
		return 1_000_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		tb.Fatalf("SHOPSYNC_BENCH_CUSTOMERS=%q: want a positive integer", s)
	}
	return n
}
