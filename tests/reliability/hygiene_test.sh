#!/usr/bin/env bash
# Secret hygiene: after a full flow against the real keygate-server (debug
# logs, every Authorize in the access log, metrics on), no issued token — nor
# its secret body, nor a 16-character piece of it, nor a mistyped copy — may
# appear in the server's logs, the metrics output, or any file of the data
# dir: RocksDB's LOG files, the WAL, the MANIFEST, and the SSTs (searched
# both raw and decompressed). The one exception is operator.key, which holds
# the operator token by contract (--bootstrap_key_file).
#
# Usage: hygiene_test.sh BIN_DIR TESTS_BIN_DIR
set -euo pipefail

BIN=$1
TOOLS=$2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keygate_hygiene_XXXXXX")
DATA=$WORK/data
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
step() { echo "--- $*"; }
command -v curl >/dev/null || fail "curl is missing (deploy/install-deps.sh installs it)"

TOKENS=()  # Every secret the flow saw; in memory and in $WORK/secrets only.

# start_server LOG: starts keygate-server on $DATA, sets ADDR and METRICS.
start_server() {
  local log=$1
  : >"$log"
  "$BIN/keygate-server" --listen=127.0.0.1:0 --data_dir="$DATA" --metrics_listen=127.0.0.1:0 \
    --log_level=debug --authorize_log_sample_rate=1 --usage_flush_interval=200ms \
    --shutdown_delay=0s 2>"$log" &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    grep -q '"event":"server_started"' "$log" && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited: $(cat "$log")"
    sleep 0.05
  done
  ADDR=127.0.0.1:$(sed -nE 's/.*"event":"server_started".*"port":([0-9]+).*/\1/p' "$log")
  METRICS=$(sed -nE 's/.*"event":"metrics_started".*"port":([0-9]+).*/\1/p' "$log")
  [[ -n "$METRICS" ]] || fail "no metrics port: $(cat "$log")"
}
stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || fail "server exited with $? on SIGTERM"
  SERVER_PID=""
}
kg() { "$BIN/keygate" --server "$ADDR" "$@"; }
# create ARGS...: creates a key; its token is appended to TOKENS, its id is
# left in ID. (Not in a subshell, which would lose TOKENS.)
create() {
  kg --json keys create "$@" >"$WORK/created.json"
  TOKENS+=("$(sed -nE 's/^ "token": "([^"]+)".*/\1/p' "$WORK/created.json")")
  ID=$(sed -nE 's/^  "key_id": "([^"]+)".*/\1/p' "$WORK/created.json")
}
authorize() { kg authorize - "$@" >/dev/null 2>&1 || true; }  # Token on stdin.
check() {  # check TOKEN SCOPE OK|DENIED: an Envoy ext_authz Check with the token.
  local out
  out=$("$TOOLS/reflect_call" -d "{\"attributes\":{\"request\":{\"http\":{\"method\":\"GET\",
    \"path\":\"/v1/flows\",\"headers\":{\"authorization\":\"Bearer $1\"}}},
    \"context_extensions\":{\"required_scope\":\"$2\"}}}" \
    "$ADDR" envoy.service.auth.v3.Authorization/Check) || fail "Envoy Check failed"
  if [[ $3 == OK ]]; then
    grep -q '"okResponse"' <<<"$out" || fail "Envoy Check did not allow"
  else
    grep -q '"deniedResponse"' <<<"$out" || fail "Envoy Check did not deny"
  fi
}

step "full flow: create, authorize, Envoy Check, rotate, revoke, usage, audit, refusals"
start_server "$WORK/server1.log"
OPERATOR=$(cat "$DATA/operator.key")
TOKENS+=("$OPERATOR")
export FLOWSTACK_API_KEY=$OPERATOR
create --team acme --name "Sandbox" --scope read --env test
T_ID=$ID T=${TOKENS[-1]}
create --team acme --name "Admin" --scope admin
export FLOWSTACK_API_KEY=${TOKENS[-1]}  # From here on a (live) admin key manages.
create --team acme --name "Production Backend" --scope read --scope flows:write
A_ID=$ID A=${TOKENS[-1]}
create --team acme --name "CI/CD Pipeline" --scope runs:read --expires 90d
C_ID=$ID C=${TOKENS[-1]}
MISTYPED=${A:0:${#A}-1}$([[ ${A: -1} == x ]] && echo y || echo x)
TOKENS+=("$MISTYPED")
authorize --scope flows:read <<<"$A"
authorize --scope flows:read --client-ip 203.0.113.7 <<<"Bearer $A"
authorize --scope admin <<<"$A"
authorize --scope read --env live <<<"$T"
authorize --scope read <<<"$MISTYPED"
check "$A" flows:read OK
check "$T" flows:write DENIED
check "$MISTYPED" flows:read DENIED
ROTATED=$(kg --json keys rotate "$A_ID" --grace 1h)
A2=$(sed -nE 's/^ "token": "([^"]+)".*/\1/p' <<<"$ROTATED")
[[ -n "$A2" ]] || fail "rotate printed no token"
TOKENS+=("$A2")
authorize --scope flows:read <<<"$A2"
kg keys revoke "$C_ID" --reason "leaked in CI log" >/dev/null
authorize --scope runs:read <<<"$C"
kg keys usage "$A_ID" >/dev/null
kg keys list --team acme --all >/dev/null
FLOWSTACK_API_KEY=$OPERATOR kg keys get "$T_ID" >/dev/null
kg audit --team acme >/dev/null
# Refused management calls: revoked, mistyped and non-admin credentials.
FLOWSTACK_API_KEY=$C kg keys list --team acme >/dev/null 2>&1 || true
FLOWSTACK_API_KEY=$MISTYPED kg keys list --team acme >/dev/null 2>&1 || true
FLOWSTACK_API_KEY=$T kg keys list --team acme >/dev/null 2>&1 || true
sleep 0.5  # Usage counts flushed (every 200 ms).
curl -sf "http://127.0.0.1:$METRICS/metrics" >"$WORK/metrics1.txt" || fail "metrics do not answer"
stop_server

step "stop, verify, restart with more traffic; then a run that ends in kill -9"
"$BIN/keygate-server" --data_dir="$DATA" --verify_store 2>"$WORK/verify1.log" \
  || fail "verify_store: $(cat "$WORK/verify1.log")"
start_server "$WORK/server2.log"
for t in "$A" "$A2" "$C" "$T" "$MISTYPED"; do authorize --scope read <<<"$t"; done
create --team acme --name "Second run" --scope write
authorize --scope write <<<"${TOKENS[-1]}"
sleep 0.5
curl -sf "http://127.0.0.1:$METRICS/metrics" >"$WORK/metrics2.txt" || fail "metrics do not answer"
stop_server
"$BIN/keygate-server" --data_dir="$DATA" --verify_store 2>"$WORK/verify2.log" \
  || fail "verify_store: $(cat "$WORK/verify2.log")"
# A clean stop flushes everything into SSTs; a third run ends in kill -9, so
# that its writes stay in the WAL.
start_server "$WORK/server3.log"
authorize --scope read <<<"$A2"
create --team acme --name "Third run" --scope read
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

[[ $(printf '%s\n' "${TOKENS[@]}" | sort -u | wc -l) -eq 9 ]] \
  || fail "expected 9 distinct tokens (operator, 6 keys, a rotation, a mistyped one)"

step "search ${#TOKENS[@]} tokens in logs, metrics and every file of the data dir"
: >"$WORK/secrets"
for t in "${TOKENS[@]}"; do
  [[ $t =~ ^fs_(live|test)_[0-9A-Za-z]{30,}$ ]] || fail "not a token: ${t:0:12}…"
  body=${t#fs_*_}
  # The token, its body, and the 16 secret characters after the display prefix.
  printf '%s\n%s\n%s\n' "$t" "$body" "${body:4:16}" >>"$WORK/secrets"
done
"$TOOLS/keygate-store-tool" dump "$DATA/db" >"$WORK/sst_dump.txt" || fail "cannot dump the SSTs"
mapfile -t FILES < <(find "$DATA" -type f ! -name operator.key)
FILES+=("$WORK"/server*.log "$WORK"/verify*.log "$WORK"/metrics*.txt "$WORK/sst_dump.txt")
echo "searching $(wc -l <"$WORK/secrets") strings in ${#FILES[@]} files:"
printf '  %s\n' "${FILES[@]#"$WORK"/}"
HITS=$( (grep -a -c -F -f "$WORK/secrets" "${FILES[@]}" || true) | awk -F: '$NF > 0')
[[ -z "$HITS" ]] || fail "secrets found (file:lines): $HITS"

step "positive controls: the search sees what it should"
# Display prefixes are stored (in SSTs and the WAL) and key ids are logged.
grep -qaF "${A:0:12}" "$WORK/sst_dump.txt" || fail "display prefix of A not in the SST dump"
grep -qaF "${TOKENS[-1]:0:12}" "$(ls "$DATA"/db/*.log | tail -1)" \
  || fail "display prefix of the last key not in the WAL"
grep -qF "$A_ID" "$WORK/server1.log" || fail "key id not in the log"
[[ $(grep -c '"event":"authorize"' "$WORK/server1.log") -eq 7 ]] \
  || fail "Authorize calls missing from the access log"
grep -q '"event":"management_call".*"code":"UNAUTHENTICATED"' "$WORK/server1.log" \
  || fail "the refused management calls are not logged"
ls "$DATA"/db/*.sst >/dev/null || fail "no SST files"
echo "PASS: hygiene_test (0 hits for ${#TOKENS[@]} tokens in ${#FILES[@]} files)"
