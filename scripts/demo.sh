#!/usr/bin/env bash
# make demo: import a simulated Shopify shop, no account needed.
# Starts the Shopify simulator on a free loopback port with a few thousand
# generated customers, runs a real `shopsync sync` against it twice, and
# shows what landed in the store.
set -euo pipefail
cd "$(dirname "$0")/.."

CUSTOMERS=${CUSTOMERS:-5000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/shopsync-demo.XXXXXX")
token=shpat_demo_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

./bin/shopifysim -listen 127.0.0.1:0 -customers "$CUSTOMERS" -seed 1 -token "$token" \
	-bucket 40 -leak 2 >"$dir/sim.out" 2>"$dir/sim.err" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT

url=""
for _ in $(seq 100); do
	url=$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' "$dir/sim.out" | head -n1 || true)
	[ -n "$url" ] && break
	sleep 0.1
done
[ -n "$url" ] || { echo "the simulator did not start:"; cat "$dir/sim.err"; exit 1; }

export SHOPSYNC_SHOPIFY_SHOP=demo-shop
export SHOPSYNC_SHOPIFY_ACCESS_TOKEN=$token
export SHOPSYNC_SHOPIFY_API_BASE_URL=$url
export SHOPSYNC_STORE_PATH=$dir/shopsync.db

echo "== Shopify simulator at $url with $CUSTOMERS customers (Standard plan bucket: 40, 2 requests/s)"
echo "== shopsync sync   (first import)"
./bin/shopsync sync
echo
echo "== shopsync sync   (again: nothing changed, nothing written)"
./bin/shopsync sync
echo
echo "== shopsync contacts export --format jsonl   (first 2 lines)"
./bin/shopsync contacts export --format jsonl | awk "NR <= 2"
echo
id=$(./bin/shopsync contacts export --format csv | awk -F, 'NR==2 {print $1}')
echo "== shopsync contacts get $id"
./bin/shopsync contacts get "$id"
echo
echo "== the store is a plain SQLite file: $SHOPSYNC_STORE_PATH"
echo "   last run: see README 'Reading the store with sqlite3'"
