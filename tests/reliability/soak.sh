#!/usr/bin/env bash
# make soak: the real keygate-server under a paced Authorize load at 80% of
# its measured capacity, with management traffic beside it, for 10 minutes:
# zero errors, VmRSS growth < 5% after warm-up, open descriptors flat (see
# soak_driver.cc). Then a clean SIGTERM shutdown and --verify_store.
#
# Usage: soak.sh BUILD_DIR
#   SOAK_SECONDS=600         soak duration
#   SOAK_MEASURE_SECONDS=10  closed-loop capacity measurement
#   SOAK_WARMUP_SECONDS=60   excluded from the memory and descriptor baselines
#   SOAK_SAMPLE_SECONDS=10   VmRSS / descriptor sampling period
#   SOAK_RSS_LIMIT_PCT=5     VmRSS growth limit (0: report only)
#   SOAK_LOAD=0.8            fraction of the measured capacity
#   SOAK_KEYS=200            keys in the Authorize mix (each used key adds usage writes)
#   SOAK_SERVER_FLAGS=       extra keygate-server flags (e.g. --usage_monitoring=false)
set -euo pipefail

BUILD=${1:?usage: soak.sh BUILD_DIR}
DRIVER=$BUILD/tests/keygate-soak-driver
[[ -x $DRIVER ]] || { echo "soak: $DRIVER is missing; build first (make build)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keygate_soak_XXXXXX")
SERVER_PID=""
cleanup() {
  local rc=$?
  set +e
  [[ -n "$SERVER_PID" ]] && kill -9 "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

LOG=$WORK/server.log
"$BUILD/bin/keygate-server" --listen=127.0.0.1:0 --data_dir="$WORK/data" \
  --metrics_listen=127.0.0.1:0 --shutdown_delay=0s ${SOAK_SERVER_FLAGS:-} 2>"$LOG" &
SERVER_PID=$!
for _ in $(seq 1 200); do
  grep -q '"event":"server_started"' "$LOG" && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited: $(cat "$LOG")"
  sleep 0.05
done
PORT=$(sed -nE 's/.*"event":"server_started".*"port":([0-9]+).*/\1/p' "$LOG")
METRICS=$(sed -nE 's/.*"event":"metrics_started".*"port":([0-9]+).*/\1/p' "$LOG")
echo "soak: keygate-server pid $SERVER_PID on 127.0.0.1:$PORT, $(nproc) cores"

rc=0
"$DRIVER" --server="127.0.0.1:$PORT" --server_pid="$SERVER_PID" \
  --operator_key_file="$WORK/data/operator.key" \
  --duration="${SOAK_SECONDS:-600}s" --measure="${SOAK_MEASURE_SECONDS:-10}s" \
  --warmup="${SOAK_WARMUP_SECONDS:-60}s" --sample_interval="${SOAK_SAMPLE_SECONDS:-10}s" \
  --max_rss_growth_pct="${SOAK_RSS_LIMIT_PCT:-5}" --load="${SOAK_LOAD:-0.8}" \
  --keys="${SOAK_KEYS:-200}" \
  ${METRICS:+--metrics_url="http://127.0.0.1:$METRICS/metrics"} || rc=$?

if command -v curl >/dev/null && [[ -n "$METRICS" ]]; then
  echo "server metrics:"
  curl -sf "http://127.0.0.1:$METRICS/metrics" \
    | grep -E '^keygate_(authorize_decisions_total|management_calls_total|authorize_duration_seconds_count)' \
    | sed 's/^/  /' || true
fi
# Error lines once serving (RocksDB may log at open, before server_started).
ERRORS=$(sed -n '/"event":"server_started"/,$p' "$LOG" | grep -c '"level":"error"' || true)
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exited with $? on SIGTERM"
SERVER_PID=""
"$BUILD/bin/keygate-server" --data_dir="$WORK/data" --verify_store 2>"$WORK/verify.log" \
  || fail "verify_store: $(cat "$WORK/verify.log")"
[[ $ERRORS -eq 0 ]] || fail "$ERRORS error lines in the server log: $(grep '"level":"error"' "$LOG" | head -3)"
[[ $rc -eq 0 ]] || fail "soak criteria not met (above)"
echo "PASS: soak (server stopped cleanly, store verified)"
