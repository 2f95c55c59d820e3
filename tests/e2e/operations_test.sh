#!/usr/bin/env bash
# End-to-end operations surface of the real keygate-server: Prometheus
# metrics move with Authorize calls and never show a token, readiness goes
# NOT_SERVING right after SIGTERM while the port still answers, every log
# line is one JSON object, and --verify_store checks a stopped store.
#
# Usage: operations_test.sh BIN_DIR TESTS_BIN_DIR
set -euo pipefail

BIN=$1
TOOLS=$2
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is missing (deploy/install-deps.sh installs it)"

LOG="$WORK/server.log"
start_server "$LOG" "$WORK/data" --metrics_listen=127.0.0.1:0 --shutdown_delay=3s
METRICS_PORT=$(sed -nE 's/.*"event":"metrics_started".*"port":([0-9]+).*/\1/p' "$LOG")
[[ -n "$METRICS_PORT" ]] || fail "no metrics port in the log: $(cat "$LOG")"
export FLOWSTACK_API_KEY
FLOWSTACK_API_KEY=$(cat "$WORK/data/operator.key")
K=("$BIN/keygate" --server "$ADDR")

step "metrics: decision counters move with Authorize calls"
scrape() { curl -sf "http://127.0.0.1:$METRICS_PORT/metrics"; }
scrape >"$WORK/metrics0" || fail "metrics endpoint does not answer"
grep -q '^keygate_build_info{' "$WORK/metrics0" || fail "no build info"
"${K[@]}" keys create --team acme --name metrics --scope read >"$WORK/out"
TOKEN=$(awk '/token:/ {print $2}' "$WORK/out")
for _ in 1 2 3 4 5; do "${K[@]}" authorize "$TOKEN" --scope read >/dev/null; done
for _ in 1 2; do "${K[@]}" authorize "$TOKEN" --scope write >/dev/null 2>&1 || true; done
"${K[@]}" authorize "fs_live_garbage" --scope read >/dev/null 2>&1 || true
# One more allowed decision through Envoy's Check, counted the same way.
"$TOOLS/reflect_call" -d "{\"attributes\":{\"request\":{\"http\":{\"method\":\"GET\",\"path\":\"/api/v1/flows\",
  \"headers\":{\"authorization\":\"Bearer $TOKEN\"}}},\"contextExtensions\":{\"required_scope\":\"read\"}}}" \
  "$ADDR" envoy.service.auth.v3.Authorization/Check >"$WORK/check" || fail "Envoy Check failed"
grep -q '"x-keygate-team-id"' "$WORK/check" || fail "Check did not allow: $(cat "$WORK/check")"
scrape >"$WORK/metrics1"
value() { sed -nE "s/^$1 ([0-9.e+]+)$/\\1/p" "$WORK/metrics1"; }
[[ $(value 'keygate_authorize_decisions_total\{environment="live",reason="allowed"\}') == 6 ]] \
  || fail "allowed counter is not 6: $(grep decisions "$WORK/metrics1")"
[[ $(value 'keygate_authorize_decisions_total\{environment="live",reason="insufficient_scope"\}') == 2 ]] \
  || fail "insufficient_scope counter is not 2"
[[ $(value 'keygate_authorize_decisions_total\{environment="none",reason="malformed_token"\}') == 1 ]] \
  || fail "malformed counter is not 1"
[[ $(value 'keygate_authorize_duration_seconds_count') == 9 ]] || fail "latency histogram count is not 9"
grep -q 'keygate_management_calls_total{code="OK",method="CreateKey"} 1' "$WORK/metrics1" \
  || fail "management counter missing: $(grep management "$WORK/metrics1")"
grep -q '^keygate_usage_flush_lag_seconds ' "$WORK/metrics1" || fail "no usage flush lag"
grep -q '^keygate_rocksdb_sst_bytes ' "$WORK/metrics1" || fail "no RocksDB figures"
# Eight decisions on one token: the first reads RocksDB, the others hit.
hits=$(value 'keygate_key_cache_lookups_total\{result="hit"\}')
[[ -n $hits ]] && ((${hits%.*} >= 7)) || fail "key cache hits: '$hits', expected >= 7"
grep -q '^keygate_key_cache_hit_ratio 0\.[0-9]' "$WORK/metrics1" || fail "no key cache hit ratio"
grep -qF "${TOKEN:8}" "$WORK/metrics1" && fail "a token appears in the metrics"

step "backup: an operator takes an online backup with the CLI"
"${K[@]}" admin backup >"$WORK/backup.out" || fail "admin backup failed"
grep -q "^Backup 1 taken in $WORK/data/backups" "$WORK/backup.out" || fail "unexpected: $(cat "$WORK/backup.out")"

step "SIGTERM: readiness NOT_SERVING at once while the port still answers"
kill -TERM "$SERVER_PID"
sleep 0.3
"$TOOLS/reflect_call" -d '{"service":"readiness"}' "$ADDR" grpc.health.v1.Health/Check >"$WORK/ready" \
  || fail "health did not answer during the shutdown delay"
grep -q NOT_SERVING "$WORK/ready" || fail "readiness still SERVING after SIGTERM: $(cat "$WORK/ready")"
"$TOOLS/reflect_call" -d '{"service":"liveness"}' "$ADDR" grpc.health.v1.Health/Check | grep -q '"SERVING"' \
  || fail "liveness not SERVING during the delay"
"${K[@]}" authorize "$TOKEN" --scope read >/dev/null || fail "Authorize refused during the delay"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=""
[[ $rc -eq 0 ]] || fail "server exited with $rc"
grep -q '"event":"shutdown_complete"' "$LOG" || fail "no shutdown_complete"

step "logs: one JSON object per line, no token"
while IFS= read -r line; do
  [[ $line == '{"time":"'*'}' ]] || fail "not a JSON log line: $line"
done <"$LOG"
grep -qF "${TOKEN:8}" "$LOG" && fail "a token appears in the log"

step "--verify_store checks every block of a stopped store"
"$BIN/keygate-server" --data_dir="$WORK/data" --verify_store 2>"$WORK/verify.log" \
  || fail "verify failed: $(cat "$WORK/verify.log")"
grep -q '"event":"verify_store_ok"' "$WORK/verify.log" || fail "no verify_store_ok"
step "restore: the backup into a new data dir serves the same keys"
"$BIN/keygate-server" --data_dir="$WORK/restored" --backup_dir="$WORK/data/backups" \
  --restore_backup=latest 2>"$WORK/restore.log" || fail "restore failed: $(cat "$WORK/restore.log")"
cp "$WORK/data/pepper" "$WORK/restored/pepper"
start_server "$WORK/restored.log" "$WORK/restored"
"$BIN/keygate" --server "$ADDR" authorize "$TOKEN" --scope read >/dev/null \
  || fail "the restored store does not authorize the key"
stop_server
echo "PASS: operations_test"
