#!/usr/bin/env bash
# Side-by-side server variants under the Zipf load on a bench store, for
# changes that `bench/run.sh` has no variant for (two builds, a flag value).
#
# Usage: bench/compare.sh ROUNDS NAME=BIN_DIR[:FLAGS] NAME=BIN_DIR[:FLAGS]...
#   e.g. bench/compare.sh 5 old=/tmp/old/bin new=build/bin \
#          noop=build/bin:--authorize_noop big=build/bin:--key_cache_mb=256
#
# Each round runs every variant once, starting from a different one each
# round (AB, BA, ...), each on a fresh server pinned to CPU 0 with
# keygate-bench pinned to CPU 1 ($WARMUP (2s) warm-up, $DURATION (5s)
# measured, seed = round).
# A variant named cold* starts without the saved key cache. The block cache is
# $CACHE_MB (256) MiB; a build that warms it is measured once it is warm.
# Prints one line per run: round, variant, calls/s, server CPU-us per call,
# server RSS (MiB) at the end. The store is
# BUILD_DIR/bench/stores/$STORE_SIZE (1m, or 10m with CACHE_MB=2304; bench/run.sh
# builds them); BUILD_DIR is $BUILD (default: build). ONE_TOKEN=1 sends the store's first token only, with no
# invalid ones (what a generic HTTP/2 tool replaying one request sends).
set -euo pipefail

(($# >= 2)) || { sed -n '2,16p' "$0" >&2; exit 2; }
ROUNDS=$1
shift
BUILD=${BUILD:-build}
STORE=$BUILD/bench/stores/${STORE_SIZE:-1m}
[[ -f $STORE/COMPLETE ]] || { echo "compare: no $STORE (run bench/run.sh quick $BUILD)" >&2; exit 1; }
LOGS=$BUILD/bench/compare
mkdir -p "$LOGS"
TOKENS=$STORE/tokens.txt REVOKED=$STORE/revoked.txt INVALID=0.02
if [[ ${ONE_TOKEN:-0} == 1 ]]; then
  TOKENS=$LOGS/one-token.txt REVOKED=$LOGS/none.txt INVALID=0
  head -1 "$STORE/tokens.txt" >"$TOKENS"
  : >"$REVOKED"
fi

die() { echo "compare: $*" >&2; exit 1; }
# shellcheck source=bench/common/server.sh
source "$(dirname "$0")/common/server.sh"

run_variant() {  # run_variant ROUND NAME BIN_DIR FLAGS
  local round=$1 name=$2 bin=$3 flags=$4 log=$LOGS/$2-$1.log port json
  [[ $name == cold* ]] && rm -f "$STORE/db/keygate_key_cache"
  # Emptied here, not by the server's redirection: that happens in the
  # background child, after which an earlier run's log (same name) could
  # already have been read for its port.
  : >"$log"
  # shellcheck disable=SC2086  # FLAGS is a space-separated flag list.
  taskset -c 0 "$bin/keygate-server" --listen=127.0.0.1:0 --data_dir="$STORE" \
    --block_cache_mb="${CACHE_MB:-256}" --shutdown_grace=1s --shutdown_delay=0s $flags 2>"$log" &
  SERVER_PID=$!
  local help
  await_log "$log" server_started 300
  # Captured first: `grep -q` in a pipe would end the server's output early,
  # and under pipefail that SIGPIPE would read as "no such flag".
  help=$("$bin/keygate-server" --helpfull 2>&1 || true)
  if [[ $help == *--warm_block_cache* && $flags != *--warm_block_cache=false* ]]; then
    await_log "$log" block_cache_warmed 300
  fi
  port=$(log_port "$log")
  json=$(taskset -c 1 "$BUILD/bin/keygate-bench" --target="127.0.0.1:$port" \
    --tokens="$TOKENS" --revoked="$REVOKED" --invalid_fraction="$INVALID" \
    --server_pid="$SERVER_PID" --channels=4 --outstanding=64 --warmup="${WARMUP:-2s}" --duration="${DURATION:-5s}" \
    --seed="$((round + 1))" --label="$name" 2>/dev/null)
  stop_server
  python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(sys.argv[2], sys.argv[3],
      round(d["qps"]), round(d["server_cpu_us_per_call"], 2), round(d["server_rss_mib"]))' \
      "$json" "$round" "$name"
}

variants=("$@")
for ((r = 0; r < ROUNDS; r++)); do
  for ((j = 0; j < ${#variants[@]}; j++)); do
    spec=${variants[$(((r + j) % ${#variants[@]}))]}
    name=${spec%%=*}
    rest=${spec#*=}
    bin=${rest%%:*}
    flags=""
    [[ $rest == *:* ]] && flags=${rest#*:}
    run_variant "$r" "$name" "$bin" "$flags"
  done
done
