#!/usr/bin/env bash
# The independent check of issue 6, reproduced: a generic HTTP/2 load tool
# (h2load, Debian's nghttp2-client) replays one Authorize request against
# keygate-server and against keygate-minimal-noop, a generated-code no-op
# server on the same gRPC library that shares none of Keygate's server code.
# Variants alternate (rotating order) with a restart per run; the report
# gives the median, min and max of the per-round ratios.
#
# Usage: bench/independent.sh [BUILD_DIR]
# Environment: ROUNDS (5), DURATION (5s), WARMUP (1s), CLIENTS (4 HTTP/2
# connections), STREAMS (16 per connection), NOOP_API (sync or callback),
# VARIANTS ("keygate minimal"; add keygate_noop, keygate-server with
# --authorize_noop, to split the gap into server set-up and Authorize work),
# SCOPE (read), BENCH_SERVER_CPU (0), BENCH_CLIENT_CPU (1).
# Needs the 1M store of bench/run.sh (built on first use).
set -euo pipefail

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$BUILD/bin
OUT=$BUILD/bench/independent
STORE=$BUILD/bench/stores/1m
ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-5s} WARMUP=${WARMUP:-1s}
CLIENTS=${CLIENTS:-4} STREAMS=${STREAMS:-16} NOOP_API=${NOOP_API:-sync} SCOPE=${SCOPE:-read}
SERVER_CPU=${BENCH_SERVER_CPU:-0} CLIENT_CPU=${BENCH_CLIENT_CPU:-1}

die() { echo "independent: $*" >&2; exit 1; }
command -v h2load >/dev/null || die "h2load is missing: apt-get install nghttp2-client"
for tool in keygate-server keygate-minimal-noop keygate-preload; do
  [[ -x $BIN/$tool ]] || die "$BIN/$tool is missing (build first: make build BUILD_DIR=$BUILD)"
done
mkdir -p "$OUT"
if [[ ! -f $STORE/COMPLETE ]]; then
  echo "independent: building the 1M store (once)" >&2
  rm -rf "$STORE"
  "$BIN/keygate-preload" --dir="$STORE" --keys=1000000 >/dev/null 2>"$OUT/preload.log" \
    || { cat "$OUT/preload.log" >&2; die "preload failed"; }
fi

# The request: one valid token, as a gRPC length-prefixed message.
python3 - "$(head -1 "$STORE/tokens.txt")" "$SCOPE" "$OUT/request.bin" <<'PY'
import struct, sys
token, scope, path = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]
def field(number, value):  # a length-delimited field (short values only)
    assert len(value) < 128
    return bytes([number << 3 | 2, len(value)]) + value
message = field(1, token) + field(2, scope)
open(path, "wb").write(b"\0" + struct.pack(">I", len(message)) + message)
PY

# shellcheck source=bench/common/server.sh
source "$HERE/common/server.sh"

# start VARIANT: starts it pinned on a free port; sets SERVER_PID and PORT.
start() {
  local log=$OUT/server-$1.log
  : >"$log"
  case $1 in
    keygate) taskset -c "$SERVER_CPU" "$BIN/keygate-server" --listen=127.0.0.1:0 \
               --data_dir="$STORE" --shutdown_grace=1s 2>"$log" & ;;
    keygate_noop) taskset -c "$SERVER_CPU" "$BIN/keygate-server" --listen=127.0.0.1:0 \
               --data_dir="$STORE" --shutdown_grace=1s --authorize_noop 2>"$log" & ;;
    minimal) taskset -c "$SERVER_CPU" "$BIN/keygate-minimal-noop" --listen=127.0.0.1:0 \
               --api="$NOOP_API" 2>"$log" & ;;
  esac
  SERVER_PID=$!
  await_log "$log" server_started
  PORT=$(log_port "$log")
}

# Server CPU time in clock ticks (user + system) from /proc.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# load ARGS...: h2load pinned to the client CPU against the running server.
load() {
  taskset -c "$CLIENT_CPU" h2load -t1 -c"$CLIENTS" -m"$STREAMS" -d "$OUT/request.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$@" \
    "http://127.0.0.1:$PORT/keygate.v1.Authorizer/Authorize"
}

RESULTS=$OUT/runs.jsonl
: >"$RESULTS"
read -r -a variants <<<"${VARIANTS:-keygate minimal}"
k=${#variants[@]}
for ((r = 0; r < ROUNDS; r++)); do
  for ((j = 0; j < k; j++)); do
    v=${variants[$(((r + j) % k))]}
    start "$v"
    load -D "$WARMUP" >/dev/null
    before=$(cpu_ticks "$SERVER_PID")
    report=$(load -D "$DURATION")
    after=$(cpu_ticks "$SERVER_PID")
    stop_server
    python3 - "$v" "$r" "$before" "$after" "$(getconf CLK_TCK)" >>"$RESULTS" <<PY || die "no h2load figures ($v)"
import json, re, sys
text = """$report"""
variant, rnd, before, after, hz = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:])
rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text).group(1))
done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", text)
data = int(re.search(r"traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers.*?\((\d+)\) data", text).group(3))
calls, ok = int(done.group(1)), int(done.group(2))
print(json.dumps({"variant": variant, "round": rnd, "rps": rps, "calls": calls, "succeeded": ok,
                  "cpu_us_per_call": (after - before) * 1e6 / hz / max(calls, 1),
                  "data_bytes_per_call": data / max(calls, 1)}))
PY
    tail -1 "$RESULTS" >&2
  done
done

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
by = {}
for run in runs:
    by.setdefault(run["round"], {})[run["variant"]] = run
def summary(name, values):
    print(f"{name:<34} median {statistics.median(values):.3f}  min {min(values):.3f}  max {max(values):.3f}")
variants = sorted({run["variant"] for run in runs})
rounds = [b for b in by.values() if len(b) == len(variants)]
print(f"one token, {len(rounds)} rounds (h2load); ratios to keygate-minimal-noop")
for v in variants:
    if v == "minimal":
        continue
    summary(f"{v}: QPS ratio", [b[v]["rps"] / b["minimal"]["rps"] for b in rounds])
    summary(f"{v}: server CPU-us/call ratio",
            [b[v]["cpu_us_per_call"] / b["minimal"]["cpu_us_per_call"] for b in rounds])
for v in variants:
    print(f"{v:<12} QPS {statistics.median(b[v]['rps'] for b in rounds):,.0f}  "
          f"CPU-us/call {statistics.median(b[v]['cpu_us_per_call'] for b in rounds):.1f}  "
          f"response data bytes/call {statistics.median(b[v]['data_bytes_per_call'] for b in rounds):.0f}  "
          f"failed {sum(b[v]['calls'] - b[v]['succeeded'] for b in rounds)}")
PY
