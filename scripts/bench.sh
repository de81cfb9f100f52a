#!/usr/bin/env bash
# make bench: shopsync's benchmark suite (see BENCHMARKS.md). Each benchmark
# runs BENCH_COUNT times (default 3); benchstat prints the median of the runs
# and their spread. BENCH selects benchmarks by regexp (default: all), e.g.
#   BENCH=Ingest BENCH_COUNT=5 make bench
# Raw results are kept in $BENCH_OUT (default bench-results.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

count=${BENCH_COUNT:-3}
filter=${BENCH:-.}
out=${BENCH_OUT:-bench-results.txt}

{
	echo "# shopsync benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
	echo "# $(go version)"
} | tee "$out"

run() { # package, benchmark regexp, benchtime (default 1x: one import, one burst), runs (default BENCH_COUNT)
	go test -run '^$' -bench "$2" -benchtime "${3:-1x}" -count "${4:-$count}" -timeout 0 "$1" 2>&1 | tee -a "$out" |
		grep -E '^(Benchmark|ok|FAIL|---|panic)|bench_test|bench_memory_test|sweep_bench_test' || true
}

for spec in \
	"./sync/ ^BenchmarkIngest$" \
	"./shopify/ ^BenchmarkDecodePage$ 200x" \
	"./sync/ ^BenchmarkMapUpsert$" \
	"./webhook/ ^BenchmarkWebhookThroughput$" \
	"./cmd/shopsync/ ^BenchmarkSyncMemory$" \
	"./sync/ ^BenchmarkSweep$" \
	"./sync/ ^BenchmarkImportVsFloor$" \
	"./sync/ ^BenchmarkBulkIngest$" \
	"./cmd/shopsync/ ^BenchmarkBulkSyncMemory$" \
	"./sync/ ^BenchmarkBulkVsFloor$ 1x 1"; do # nine minutes a run: Shopify's side at the assumed rate
	read -r pkg name times runs <<<"$spec"
	if [[ $filter == . || $name =~ $filter ]]; then
		run "$pkg" "$name" "$times" "$runs"
	fi
done

echo
echo "# medians of $count runs (benchstat; ± is the 95% confidence interval)"
go tool benchstat "$out"
