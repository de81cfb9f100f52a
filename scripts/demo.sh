#!/usr/bin/env bash
# make demo: the shopsync daemon against a simulated Shopify shop, no
# account needed. Builds both programs, starts bin/shopifysim (20,000
# customers, Standard plan rate limit, signed webhooks, one random change
# every 2 s) and `bin/shopsync serve` pointed at it, subscribed to its
# webhooks; prints the URL to open, the sync token and the environment for
# trying the CLI against the same shop, and runs until Ctrl-C, then stops
# both and removes the temporary directory (store and logs).
#
#   CUSTOMERS=5000 make demo    another shop size
#   DEMO_PORT=9090 make demo    another port for the daemon (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."

CUSTOMERS=${CUSTOMERS:-20000}
PORT=${DEMO_PORT:-8080}
TRICKLE=2s

case $PORT in '' | *[!0-9]*) echo "demo: DEMO_PORT=$PORT is not a port number" >&2; exit 1 ;; esac

# Build both programs, saying so: a first build compiles SQLite's C code
# (go-sqlite3) and prints nothing for about two minutes. make passes GO
# and LDFLAGS; run alone, the script uses go from PATH.
GO=${GO:-go}
echo "building bin/shopsync and bin/shopifysim (a first build compiles SQLite: about 2 minutes; later builds take seconds)..."
start=$SECONDS
"$GO" build -ldflags "${LDFLAGS:-}" -o bin/shopsync ./cmd/shopsync
"$GO" build -o bin/shopifysim ./cmd/shopifysim
echo "built in $((SECONDS - start)) s"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
	echo "demo: port $PORT on 127.0.0.1 is busy (another shopsync?): stop that, or pick another with DEMO_PORT=9090 make demo" >&2
	exit 1
fi

# randhex N: N random bytes as hex.
randhex() {
	if command -v openssl >/dev/null; then
		openssl rand -hex "$1"
	else
		od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
		echo
	fi
}

# get URL: the body of a GET, or failure when it does not answer 200.
get() {
	if command -v curl >/dev/null; then
		curl -fsS --max-time 2 "$1"
		return
	fi
	local rest=${1#http://} hostport path
	hostport=${rest%%/*}
	path=/${rest#*/}
	exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
	local status
	IFS= read -r -t 2 status <&3 || { exec 3<&-; return 1; }
	exec 3<&-
	case $status in "HTTP/1."?" 200"*) return 0 ;; *) return 1 ;; esac
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/shopsync-demo.XXXXXX")
sim="" serve="" stopping=""
cleanup() {
	set +e
	trap '' INT TERM
	[ -n "$stopping" ] && echo && echo "stopping..."
	if [ -n "$serve" ]; then kill -TERM "$serve" 2>/dev/null; wait "$serve" 2>/dev/null; fi
	if [ -n "$sim" ]; then kill -TERM "$sim" 2>/dev/null; wait "$sim" 2>/dev/null; fi
	rm -rf "$dir"
	[ -n "$stopping" ] && echo "stopped; removed $dir"
}
trap cleanup EXIT
trap 'stopping=1; exit 0' INT TERM

# fail MSG LOG: say what went wrong with the end of its log, and stop.
fail() {
	echo "demo: $1" >&2
	[ -f "$2" ] && { echo "--- last lines of $2:" >&2; tail -n 20 "$2" >&2; }
	exit 1
}

token=shpat_demo_$(randhex 8)
secret=demo_webhook_secret_$(randhex 16)
sync_token=$(randhex 16)

# Both programs run in their own session, so that Ctrl-C reaches only this
# script, whose trap stops them in order: the daemon, then the shop.
detach=()
command -v setsid >/dev/null && detach=(setsid)
# Secrets go through the environment, never a command line: any local
# user can read a command line (ps), a process's environment only its
# owner.
SHOPIFYSIM_TOKEN=$token SHOPIFYSIM_WEBHOOK_SECRET=$secret \
	"${detach[@]}" ./bin/shopifysim -listen 127.0.0.1:0 -customers "$CUSTOMERS" -seed 1 \
	-bucket 40 -leak 2 -shop-domain demo.myshopify.com \
	-trickle "$TRICKLE" -v >"$dir/shopifysim.out" 2>"$dir/shopifysim.log" &
sim=$!

sim_url=""
for _ in $(seq 300); do
	sim_url=$(grep -Eo -m1 'http://127\.0\.0\.1:[0-9]+' "$dir/shopifysim.out" || true)
	[ -n "$sim_url" ] && break
	kill -0 "$sim" 2>/dev/null || break
	sleep 0.1
done
[ -n "$sim_url" ] || fail "the simulator did not start" "$dir/shopifysim.log"

# Only the demo's settings: none of the caller's SHOPSYNC_* variables.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^SHOPSYNC_' || true)
export SHOPSYNC_SHOPIFY_SHOP=demo
export SHOPSYNC_SHOPIFY_ACCESS_TOKEN=$token
export SHOPSYNC_SHOPIFY_API_BASE_URL=$sim_url
export SHOPSYNC_SHOPIFY_WEBHOOK_SECRETS=$secret
export SHOPSYNC_STORE_PATH=$dir/shopsync.db
export SHOPSYNC_HTTP_LISTEN=127.0.0.1:$PORT
export SHOPSYNC_HTTP_SYNC_TOKEN=$sync_token
export SHOPSYNC_WEBHOOKS_ADDRESS=http://127.0.0.1:$PORT/webhooks/shopify
export SHOPSYNC_SYNC_RECONCILE_EVERY=1m

"${detach[@]}" ./bin/shopsync serve >"$dir/shopsync.out" 2>"$dir/shopsync.log" &
serve=$!

url=http://127.0.0.1:$PORT
up=""
for _ in $(seq 300); do
	if get "$url/healthz" >/dev/null 2>&1; then up=1; break; fi
	kill -0 "$serve" 2>/dev/null || break
	sleep 0.1
done
[ -n "$up" ] || fail "shopsync serve did not answer on $url/healthz" "$dir/shopsync.log"

cat <<EOF

  shopsync is running against a simulated shop of $CUSTOMERS customers.

    open        $url/
    sync token  $sync_token

  press Sync now; webhook changes arrive every 2 s; Ctrl-C to stop

  simulator   $sim_url (Standard plan rate limit: bucket 40, 2 requests/s)
  logs        $dir/shopsync.log
              $dir/shopifysim.log
  changes     $dir/shopifysim.out
  store       $dir/shopsync.db (removed at exit)

  To try the CLI against the simulated shop, paste this into another
  terminal in $(pwd) (the token is the simulator's, not a secret):

    export SHOPSYNC_SHOPIFY_SHOP=demo
    export SHOPSYNC_SHOPIFY_ACCESS_TOKEN=$token
    export SHOPSYNC_SHOPIFY_API_BASE_URL=$sim_url
    export SHOPSYNC_SHOPIFY_WEBHOOK_SECRETS=$secret
    export SHOPSYNC_WEBHOOKS_ADDRESS=$url/webhooks/shopify
    export SHOPSYNC_STORE_PATH=$dir/shopsync.db
    export SHOPSYNC_HTTP_SYNC_TOKEN=$sync_token
    bin/shopsync doctor
    bin/shopsync contacts export --format csv-excel > contacts.csv
    curl -s -H "Authorization: Bearer \$SHOPSYNC_HTTP_SYNC_TOKEN" $url/sync/status

EOF

# Run until Ctrl-C (the trap), or until one of the two stops by itself.
set +e
wait -n "$sim" "$serve"
set -e
if kill -0 "$serve" 2>/dev/null; then
	fail "the simulator stopped" "$dir/shopifysim.log"
fi
fail "shopsync serve stopped" "$dir/shopsync.log"
