#!/usr/bin/env bash
# Keygate benchmarks (docs/performance.md; method: shared/design/benchmarks.md).
#
# Usage: bench/run.sh quick|full [BUILD_DIR]
#   quick  Authorize vs no-op and usage on/off at 1M keys, one token (< 2 minutes unless
#          other work saturates the machine)
#   full   + 10M keys, metrics on/off, ping-pong, the in-process decision
#          path (Google Benchmark), durable creates vs raw RocksDB
#
# Every comparison runs the variants side by side, restarting the server for
# each run, in rounds whose order rotates (AB, BA, ...); the table reports the
# median, min and max of the per-round ratios. The server runs pinned to CPU
# $BENCH_SERVER_CPU (0), the client to $BENCH_CLIENT_CPU (1).
#
# Writes BUILD_DIR/bench/results.json (and runs.jsonl, microbench.json, logs/).
# Stores are built once and kept in BUILD_DIR/bench/stores/.
#
# Environment: BENCH_ROUNDS, BENCH_WARMUP, BENCH_DURATION (e.g. 15s),
# BENCH_CHANNELS (4), BENCH_OUTSTANDING (64), BENCH_CLIENT_THREADS (1),
# BENCH_BLOCK_CACHE_MB_1M (256) and BENCH_BLOCK_CACHE_MB_10M (2304): block
# caches that hold the store's keys family (~190 B per key), which the server
# reads into the cache after start; every full-mode load run starts once that
# is done (block_cache_warmed), i.e. measures a warm server. BENCH_10M=0 (full mode without the 10M store),
# BENCH_SECTIONS (full mode: a subset of "load_1m one_token load_10m pingpong micro creates").
set -euo pipefail

MODE=${1:-}
BUILD=${2:-build}
[[ "$MODE" == quick || "$MODE" == full ]] || { echo "usage: $0 quick|full [BUILD_DIR]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$BUILD/bin
OUT=$BUILD/bench
STORES=$OUT/stores
RUNS=$OUT/runs.jsonl
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
CHANNELS=${BENCH_CHANNELS:-4}
OUTSTANDING=${BENCH_OUTSTANDING:-64}
CLIENT_THREADS=${BENCH_CLIENT_THREADS:-1}
declare -A CACHE_MB=([10k]=128 [1m]=${BENCH_BLOCK_CACHE_MB_1M:-256}
                    [10m]=${BENCH_BLOCK_CACHE_MB_10M:-2304})
if [[ $MODE == quick ]]; then
  ROUNDS=${BENCH_ROUNDS:-5} WARMUP=${BENCH_WARMUP:-1s} DURATION=${BENCH_DURATION:-3s}
else
  ROUNDS=${BENCH_ROUNDS:-5} WARMUP=${BENCH_WARMUP:-5s} DURATION=${BENCH_DURATION:-15s}
fi
WITH_10M=$([[ ${BENCH_10M:-1} != 0 ]] && echo 1 || echo 0)
SECTIONS=${BENCH_SECTIONS:-load_1m one_token load_10m pingpong micro creates}

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }
for tool in keygate-server keygate-bench keygate-preload keygate-microbench keygate-rawwrite; do
  [[ -x $BIN/$tool ]] || die "$BIN/$tool is missing (build first: make build BUILD_DIR=$BUILD)"
done
command -v taskset >/dev/null || die "taskset is missing (util-linux)"
command -v python3 >/dev/null || die "python3 is missing (it writes the table and the JSON)"
[[ $(nproc) -ge 2 ]] || note "only $(nproc) CPU: server and client share it"

mkdir -p "$STORES" "$OUT/logs" "$OUT/tmp"
: >"$RUNS"
rm -f "$OUT/microbench.json" "$OUT/results.json"
START_LOAD=$(cut -d' ' -f1 /proc/loadavg)

# Optional server flags, detected so the script works before they land.
HELP=$("$BIN/keygate-server" --helpfull 2>&1 || true)
HAS_METRICS=$(grep -q -- '--metrics_listen' <<<"$HELP" && echo 1 || echo 0)
STOP_FLAGS=(--shutdown_grace=1s)
grep -q -- '--shutdown_delay' <<<"$HELP" && STOP_FLAGS+=(--shutdown_delay=0s)
# Full runs measure a warm server: each load run starts once the block cache
# holds the keys. Quick runs (< 2 minutes) do not wait and do not warm; the
# 1M store's files stay in the page cache between their back-to-back runs.
WAIT_WARM=0
if grep -q -- '--warm_block_cache' <<<"$HELP"; then
  if [[ $MODE == full ]]; then WAIT_WARM=1; else STOP_FLAGS+=(--warm_block_cache=false); fi
fi

# --- stores -----------------------------------------------------------------

# ensure_store NAME KEYS: builds STORES/NAME unless complete.
ensure_store() {
  local dir=$STORES/$1
  [[ -f $dir/COMPLETE ]] && return
  rm -rf "$dir"
  note "building store $1 ($2 keys)"
  local t0=$SECONDS
  "$BIN/keygate-preload" --dir="$dir" --keys="$2" >"$OUT/logs/preload-$1.json" \
    2>"$OUT/logs/preload-$1.log" || { cat "$OUT/logs/preload-$1.log" >&2; die "preload $1 failed"; }
  note "store $1 built in $((SECONDS - t0)) s"
}

# --- server -----------------------------------------------------------------

# shellcheck source=bench/common/server.sh
source "$HERE/common/server.sh"

# start_server LOG DATA_DIR CACHE_MB [FLAGS...]: starts keygate-server on a
# free port, pinned; sets SERVER_PID, PORT and READY_MS (start to
# "server_started"), then waits until the block cache is warm.
start_server() {
  local log=$1 dir=$2 cache_mb=$3
  shift 3
  local t0
  : >"$log"
  t0=$(date +%s%N)
  taskset -c "$SERVER_CPU" "$BIN/keygate-server" --listen=127.0.0.1:0 --data_dir="$dir" \
    --block_cache_mb="$cache_mb" "${STOP_FLAGS[@]}" "$@" 2>"$log" &
  SERVER_PID=$!
  await_log "$log" server_started
  READY_MS=$((($(date +%s%N) - t0) / 1000000))
  PORT=$(log_port "$log")
  ((WAIT_WARM)) && await_log "$log" block_cache_warmed 300
  "$BIN/keygate-bench" --target="127.0.0.1:$PORT" --probe || die "server does not answer"
}

# record SECTION VARIANT ROUND JSON: appends one run to runs.jsonl.
record() {
  printf '{"section":"%s","variant":"%s","round":%d,"ready_ms":%s,"result":%s}\n' \
    "$1" "$2" "$3" "${READY_MS:-null}" "$4" >>"$RUNS"
}

# --- Authorize load, variants side by side -------------------------------

# Server flags of each variant; "authorize" is also usage-on and metrics-off.
declare -A VARIANT_FLAGS=(
  [authorize]=""
  [noop]="--authorize_noop"
  [usage_off]="--usage_monitoring=false"
  [metrics_on]="--metrics_listen=127.0.0.1:0"
)

# rotate SECTION STORE CHANNELS OUTSTANDING VARIANT...: ROUNDS rounds; round r
# runs the variants starting from the r-th, so each is first equally often.
# TOKENS_DIR (default: the store) holds tokens.txt and revoked.txt;
# INVALID_FRACTION (default 0.02) is the share of malformed, unknown and
# revoked tokens.
rotate() {
  local section=$1 store=$STORES/$2 cache_mb=${CACHE_MB[$2]} channels=$3 outstanding=$4
  local tokens=${TOKENS_DIR:-$store}
  shift 4
  local variants=("$@") k=$# r j
  for ((r = 0; r < ROUNDS; r++)); do
    for ((j = 0; j < k; j++)); do
      local v=${variants[$(((r + j) % k))]}
      local tag=$section-$v-$r
      # shellcheck disable=SC2086  # VARIANT_FLAGS holds zero or one flag.
      start_server "$OUT/logs/server-$tag.log" "$store" "$cache_mb" ${VARIANT_FLAGS[$v]}
      local json
      json=$(taskset -c "$CLIENT_CPU" "$BIN/keygate-bench" --target="127.0.0.1:$PORT" \
        --tokens="$tokens/tokens.txt" --revoked="$tokens/revoked.txt" \
        --invalid_fraction="${INVALID_FRACTION:-0.02}" --server_pid="$SERVER_PID" \
        --channels="$channels" --outstanding="$outstanding" --threads="$CLIENT_THREADS" \
        --warmup="$WARMUP" --duration="$DURATION" --seed="$((r + 1))" --label="$tag") \
        || die "load generator failed ($tag)"
      stop_server
      record "$section" "$v" "$r" "$json"
    done
  done
}

# one_token: every call sends the same valid token, as a generic HTTP/2 load
# tool replaying one request would (the key is then always in memory).
one_token() {
  local dir=$OUT/one_token
  mkdir -p "$dir"
  head -1 "$STORES/1m/tokens.txt" >"$dir/tokens.txt"
  : >"$dir/revoked.txt"
  TOKENS_DIR=$dir INVALID_FRACTION=0 rotate one_token 1m "$CHANNELS" "$OUTSTANDING" authorize noop
}

# --- durable creates vs raw RocksDB ---------------------------------------

# The raw writer runs pinned like the server. Note: on these VMs a synced
# write completes ~4 ms late when its vCPU idled meanwhile, so one raw writer
# measures ~300 syncs/s on an idle machine (docs/performance-history.md).
creates() {
  local dir=$OUT/tmp/create c r
  rm -rf "$dir"
  start_server "$OUT/logs/server-create.log" "$dir" 128
  for c in 1 8 32; do
    for ((r = 0; r < 3; r++)); do
      local order=(create raw) v
      ((r % 2 == 0)) || order=(raw create)
      for v in "${order[@]}"; do
        local json
        if [[ $v == create ]]; then
          json=$(taskset -c "$CLIENT_CPU" "$BIN/keygate-bench" --rpc=create \
            --target="127.0.0.1:$PORT" --operator_key_file="$dir/operator.key" \
            --channels="$((c < 4 ? c : 4))" --outstanding="$c" --warmup=1s --duration=5s \
            --server_pid="$SERVER_PID" --label="create-$c-$r") || die "create load failed"
        else
          rm -rf "$OUT/tmp/raw"
          json=$(taskset -c "$SERVER_CPU" "$BIN/keygate-rawwrite" --db="$OUT/tmp/raw" \
            --threads="$c" --warmup=1s --duration=5s) || die "raw writer failed"
        fi
        READY_MS=null record "creates_$c" "$v" "$r" "$json"
      done
    done
  done
  stop_server
  rm -rf "$dir" "$OUT/tmp/raw"
}

# --- run ---------------------------------------------------------------------

T0=$SECONDS
if [[ $MODE == quick ]]; then
  ensure_store 1m 1000000
  rotate load_1m 1m "$CHANNELS" "$OUTSTANDING" authorize noop usage_off
  ROUNDS=${BENCH_ONE_TOKEN_ROUNDS:-4} WARMUP=0.5s DURATION=2s one_token
else
  want() { [[ " $SECTIONS " == *" $1 "* ]]; }
  want load_1m || want one_token || want pingpong || want micro && ensure_store 1m 1000000
  want micro && ensure_store 10k 10000
  ((WITH_10M)) && { want load_10m || want micro; } && ensure_store 10m 10000000
  if want load_1m; then
    variants=(authorize noop usage_off)
    if ((HAS_METRICS)); then variants+=(metrics_on); else note "no --metrics_listen: metrics on/off skipped"; fi
    rotate load_1m 1m "$CHANNELS" "$OUTSTANDING" "${variants[@]}"
  fi
  want one_token && one_token
  ((WITH_10M)) && want load_10m && rotate load_10m 10m "$CHANNELS" "$OUTSTANDING" authorize noop
  want pingpong && WARMUP=2s DURATION=10s rotate pingpong_1m 1m 1 1 authorize noop
  if want micro; then
    micro_stores=10k=$STORES/10k,1m=$STORES/1m
    ((WITH_10M)) && micro_stores+=,10m=$STORES/10m
    note "in-process decision path (keygate-microbench)"
    taskset -c "$SERVER_CPU" "$BIN/keygate-microbench" --stores="$micro_stores" \
      --block_cache_mb="${CACHE_MB[10m]}" --benchmark_filter='-UsageFlush/(10k|10m)' \
      --benchmark_min_time=2 --benchmark_format=json --benchmark_out="$OUT/microbench.json" \
      --benchmark_out_format=json >/dev/null 2>"$OUT/logs/microbench.log" \
      || { cat "$OUT/logs/microbench.log" >&2; die "keygate-microbench failed"; }
  fi
  want creates && creates
fi

python3 "$HERE/report.py" --mode="$MODE" --runs="$RUNS" --microbench="$OUT/microbench.json" \
  --out="$OUT/results.json" --metrics_flag="$HAS_METRICS" --block_cache_mb_10m="${CACHE_MB[10m]}" \
  --cpu_model="$(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -1)" --nproc="$(nproc)" \
  --commit="$(git -C "$HERE/.." rev-parse HEAD 2>/dev/null || echo unknown)" \
  --load="$START_LOAD $(cut -d' ' -f1 /proc/loadavg)" --seconds=$((SECONDS - T0)) \
  --settings="block_cache_mb=1m:${CACHE_MB[1m]},10m:${CACHE_MB[10m]} channels=$CHANNELS outstanding=$OUTSTANDING client_threads=$CLIENT_THREADS warmup=$WARMUP duration=$DURATION rounds=$ROUNDS"
