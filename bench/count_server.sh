#!/usr/bin/env bash
# Counts the instructions keygate-server executes per Authorize call, all
# threads included, under callgrind: a figure that this VM's noise does not
# move (timed ratios here spread from 0.4 to 2.3). Compare a build or a flag
# against another, e.g. Authorize against --authorize_noop.
#
# Usage: bench/count_server.sh BUILD_DIR STORE_DIR TOKENS_FILE [server flags...]
# Starts the server on a copy of STORE_DIR without counting, sends 5 s of
# load (keygate-bench, 4 channels, 64 calls in flight, no invalid tokens),
# then counts DURATION (default 10s) of load and prints calls, instructions
# and instructions per call. TOKENS_FILE with one token repeats one request.
# Valgrind hides SHA extensions from OpenSSL, so the token's HMAC counts
# ~4,800 instructions here against ~400 cycles natively.
set -euo pipefail

(($# >= 3)) || { sed -n '2,13p' "$0" >&2; exit 2; }
BUILD=$1 STORE=$2 TOKENS=$3
shift 3
DURATION=${DURATION:-10s}
command -v valgrind >/dev/null || { echo "count_server: valgrind is not installed" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keygate_count_XXXXXX")
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
cp -r "$STORE" "$WORK/store"

valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" \
  "$BUILD/bin/keygate-server" --listen=127.0.0.1:0 --data_dir="$WORK/store" \
  --shutdown_grace=1s --shutdown_delay=0s --warm_block_cache=false "$@" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 600); do
  grep -q server_started "$WORK/server.log" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
PORT=$(sed -nE 's/.*"event":"server_started".*"port":([0-9]+).*/\1/p' "$WORK/server.log")
[[ -n $PORT ]] || { echo "count_server: the server did not start" >&2; exit 1; }

load() {
  "$BUILD/bin/keygate-bench" --target="127.0.0.1:$PORT" --tokens="$TOKENS" --invalid_fraction=0 \
    --channels=4 --outstanding=64 --seed=1 --warmup=0s "$@" 2>/dev/null
}
load --duration=5s >/dev/null
callgrind_control --instr=on "$SERVER_PID" >/dev/null 2>&1
load --duration="$DURATION" >"$WORK/load.json"
callgrind_control --instr=off "$SERVER_PID" >/dev/null 2>&1
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=

CALLS=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['calls'])" "$WORK/load.json")
# With collection off at the start, callgrind leaves "summary: 0" and puts
# the count in "totals:"; take the larger per file.
INSTRUCTIONS=$(for f in "$WORK"/callgrind.out*; do
  awk '/^(summary|totals):/ {if ($2 > m) m = $2} END {print m + 0}' "$f"
done | awk '{s += $1} END {print s}')
echo "calls $CALLS instructions $INSTRUCTIONS per_call $((INSTRUCTIONS / CALLS))"
