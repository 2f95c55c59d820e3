#!/usr/bin/env bash
# End-to-end: the real keygate-server and keygate CLI binaries, as a new user
# would use them from the README, plus a reflection-only client (reflect_call,
# which knows nothing of Keygate's protos) calling every RPC by name.
#
# Checks: bootstrap key file (mode 0600), create -> authorize allowed ->
# wrong scope 403 -> revoke -> 401 REASON_REVOKED, listing without secrets,
# graceful SIGTERM, restart keeps every key and revocation, and no issued
# token in the server log or anywhere in the data dir.
#
# Usage: cli_flow_test.sh BIN_DIR TESTS_BIN_DIR
set -euo pipefail

BIN=$1
TOOLS=$2
source "$(dirname "$0")/lib.sh"

expect_rc() {  # expect_rc WANT CMD...
  local want=$1; shift
  local rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [[ $rc -eq $want ]] || fail "'$*' exited $rc, want $want: $(cat "$WORK/out" "$WORK/err")"
}

LOG="$WORK/server.log"
step "start, bootstrap operator key"
start_server "$LOG" "$WORK/data"
[[ -f "$WORK/data/operator.key" ]] || fail "no operator key file"
[[ $(stat -c %a "$WORK/data/operator.key") == 600 ]] || fail "operator key file is not mode 0600"
export FLOWSTACK_API_KEY
FLOWSTACK_API_KEY=$(cat "$WORK/data/operator.key")
K=("$BIN/keygate" --server "$ADDR")
TOKENS=()

step "create a key with the CLI"
expect_rc 0 "${K[@]}" keys create --team acme --name "Production Backend" --scope read --scope flows:write
TOKEN=$(awk '/token:/ {print $2}' "$WORK/out")
KEY_ID=$(awk '/key_id:/ {print $2}' "$WORK/out")
[[ $TOKEN == fs_live_* ]] || fail "no token in create output"
TOKENS+=("$TOKEN")

step "authorize: allowed, then insufficient scope"
expect_rc 0 "${K[@]}" authorize "$TOKEN" --scope flows:read
grep -q "allowed (200)" "$WORK/out" || fail "authorize did not say allowed"
expect_rc 1 "${K[@]}" authorize "$TOKEN" --scope runs:write
grep -q "REASON_INSUFFICIENT_SCOPE (403)" "$WORK/err" || fail "wrong-scope reason: $(cat "$WORK/err")"

step "revoke, next authorize is 401 REASON_REVOKED"
expect_rc 0 "${K[@]}" keys revoke "$KEY_ID" --reason "e2e"
expect_rc 1 "${K[@]}" authorize "$TOKEN" --scope read
grep -q "REASON_REVOKED (401)" "$WORK/err" || fail "revoked reason: $(cat "$WORK/err")"

step "list shows the revoked key and no secret"
expect_rc 0 "${K[@]}" keys list --team acme --all
grep -q "$KEY_ID.*revoked" "$WORK/out" || fail "list lacks the revoked key"
grep -qF "$TOKEN" "$WORK/out" && fail "list shows a token"
expect_rc 0 "${K[@]}" --json keys list --team acme --all
grep -q '"STATE_REVOKED"' "$WORK/out" || fail "json list lacks STATE_REVOKED"

step "management errors: exit code and one-line reason"
FLOWSTACK_API_KEY="$TOKEN" expect_rc 3 "${K[@]}" keys list --team acme
grep -q "UNAUTHENTICATED" "$WORK/err" || fail "revoked credential not UNAUTHENTICATED"
expect_rc 2 "${K[@]}" keys create --team acme

step "reflection-only client lists the services and calls every RPC by name"
R=("$TOOLS/reflect_call" -H "authorization: Bearer $FLOWSTACK_API_KEY")
expect_rc 0 "${R[@]}" "$ADDR" list
for svc in keygate.v1.Authorizer keygate.v1.KeyManager grpc.health.v1.Health; do
  grep -qx "$svc" "$WORK/out" || fail "reflection does not list $svc"
done
expect_rc 0 "${R[@]}" "$ADDR" describe keygate.v1.AuthorizeRequest
grep -q "required_scope" "$WORK/out" || fail "describe lacks required_scope"
expect_rc 0 "${R[@]}" "$ADDR" grpc.health.v1.Health/Check
grep -q SERVING "$WORK/out" || fail "health not SERVING"
expect_rc 0 "${R[@]}" -d '{"team_id":"globex","name":"CI/CD Pipeline","scopes":["write"],"environment":"ENVIRONMENT_TEST"}' \
  "$ADDR" keygate.v1.KeyManager/CreateKey
TOKEN2=$(sed -nE 's/.*"token": *"([^"]+)".*/\1/p' "$WORK/out")
KEY_ID2=$(sed -nE 's/.*"keyId": *"([^"]+)".*/\1/p' "$WORK/out" | head -1)
[[ -n "$TOKEN2" && -n "$KEY_ID2" ]] || fail "reflection CreateKey gave no token/key id"
TOKENS+=("$TOKEN2")
expect_rc 0 "${R[@]}" -d "{\"token\":\"Bearer $TOKEN2\",\"required_scope\":\"flows:read\"}" \
  "$ADDR" keygate.v1.Authorizer/Authorize
grep -q '"allowed": true' "$WORK/out" || fail "reflection Authorize not allowed: $(cat "$WORK/out")"
expect_rc 0 "${R[@]}" -d "{\"key_id\":\"$KEY_ID2\"}" "$ADDR" keygate.v1.KeyManager/GetKey
expect_rc 0 "${R[@]}" -d '{"team_id":"globex","page_size":10}' "$ADDR" keygate.v1.KeyManager/ListKeys
grep -q "$KEY_ID2" "$WORK/out" || fail "reflection ListKeys lacks the key"
expect_rc 0 "${R[@]}" -d "{\"key_id\":\"$KEY_ID\"}" "$ADDR" keygate.v1.KeyManager/RevokeKey
expect_rc 0 "${R[@]}" -d "{\"token\":\"$TOKEN\",\"required_scope\":\"read\"}" "$ADDR" keygate.v1.Authorizer/Authorize
grep -q REASON_REVOKED "$WORK/out" || fail "reflection Authorize of revoked key: $(cat "$WORK/out")"
expect_rc 67 "${R[@]}" -d '{"token":"x","required_scope":"NOPE"}' "$ADDR" keygate.v1.Authorizer/Authorize

step "rotate with the CLI (grace) and through reflection (no grace)"
expect_rc 0 "${K[@]}" keys create --team acme --name "Rotating" --scope flows:read --scope runs:write
OLD_TOKEN=$(awk '/token:/ {print $2}' "$WORK/out")
OLD_ID=$(awk '/key_id:/ {print $2}' "$WORK/out")
TOKENS+=("$OLD_TOKEN")
expect_rc 0 "${K[@]}" keys rotate "$OLD_ID" --grace 1h
NEW_TOKEN=$(awk '/token:/ {print $2}' "$WORK/out")
NEW_ID=$(awk '/key_id:/ {print $2}' "$WORK/out")
TOKENS+=("$NEW_TOKEN")
grep -q "keeps working until" "$WORK/out" || fail "rotate output lacks the grace end"
grep -q "scopes:.*flows:read runs:write" "$WORK/out" || fail "rotated key lost its scopes"
expect_rc 0 "${K[@]}" authorize "$NEW_TOKEN" --scope runs:write
expect_rc 0 "${K[@]}" authorize "$OLD_TOKEN" --scope runs:write   # still in its grace period
expect_rc 0 "${R[@]}" -d "{\"key_id\":\"$NEW_ID\",\"grace_period\":\"0s\"}" "$ADDR" keygate.v1.KeyManager/RotateKey
NEWER_TOKEN=$(sed -nE 's/.*"token": *"([^"]+)".*/\1/p' "$WORK/out")
TOKENS+=("$NEWER_TOKEN")
grep -q '"rotatedToKeyId"' "$WORK/out" || fail "reflection RotateKey: previous key does not point at the new one"
expect_rc 0 "${K[@]}" authorize "$NEWER_TOKEN" --scope flows:read
expect_rc 1 "${K[@]}" authorize "$NEW_TOKEN" --scope flows:read
grep -q "REASON_REVOKED" "$WORK/err" || fail "no-grace rotation left the old key working"

step "usage: counts and client addresses appear within the flush interval"
for i in $(seq 1 30); do
  "${K[@]}" authorize "$NEWER_TOKEN" --scope flows:read --client-ip "192.0.2.$((i % 3))" >/dev/null
done
NEWER_ID=$("${K[@]}" --json authorize "$NEWER_TOKEN" --scope flows:read | sed -nE 's/.*"key_id": *"([^"]+)".*/\1/p' | head -1)
ok=""
for _ in $(seq 1 30); do
  "${K[@]}" keys usage "$NEWER_ID" >"$WORK/out" 2>"$WORK/err" || true
  if grep -qE "allowed: +32$" "$WORK/out"; then ok=1; break; fi
  sleep 0.2
done
[[ -n "$ok" ]] || fail "usage did not reach 32 allowed (30 + 2 earlier checks): $(cat "$WORK/out" "$WORK/err")"
[[ $(grep -c "^192\.0\.2\." "$WORK/out") -eq 3 ]] || fail "usage lacks the 3 client addresses: $(cat "$WORK/out")"

step "audit: a refused CreateKey with a read key is in the trail, with its actor"
expect_rc 0 "${K[@]}" keys create --team acme --name "reader" --scope read
READER_TOKEN=$(awk '/token:/ {print $2}' "$WORK/out")
READER_ID=$(awk '/key_id:/ {print $2}' "$WORK/out")
TOKENS+=("$READER_TOKEN")
FLOWSTACK_API_KEY="$READER_TOKEN" expect_rc 3 "${K[@]}" keys create --team acme --name x --scope admin
grep -q "PERMISSION_DENIED" "$WORK/err" || fail "read key could create keys"
expect_rc 0 "${K[@]}" audit --team acme
grep -qE "CreateKey +PERMISSION_DENIED +$READER_ID" "$WORK/out" || fail "refused attempt not audited: $(cat "$WORK/out")"
grep -qE "RotateKey +OK" "$WORK/out" || fail "rotation not audited"
expect_rc 0 "${K[@]}" audit --team acme --key "$OLD_ID"
grep -q "RotateKey" "$WORK/out" || fail "audit --key lacks the rotation"

step "SIGTERM shuts down cleanly; restart keeps every key and revocation"
OPERATOR_ID=$(grep '"event":"operator_key_ready"' "$LOG" | head -1 | sed -E 's/.*"key_id":"([^"]+)".*/\1/')
stop_server
LOG2="$WORK/server-restarted.log"
start_server "$LOG2" "$WORK/data"
grep '"event":"operator_key_ready"' "$LOG2" | grep -q "\"key_id\":\"$OPERATOR_ID\".*\"registered\":false" \
  || fail "operator key changed across restart"
K=("$BIN/keygate" --server "$ADDR")
expect_rc 1 "${K[@]}" authorize "$TOKEN" --scope read
grep -q "REASON_REVOKED" "$WORK/err" || fail "revocation lost across restart"
expect_rc 0 "${K[@]}" authorize "$TOKEN2" --scope flows:read --env test
stop_server

step "no issued token in the server log or the data dir"
for t in "${TOKENS[@]}"; do
  grep -qF "$t" "$LOG" "$LOG2" && fail "a token appears in the server log"
  grep -rqF "$t" "$WORK/data" && fail "a token appears in plain text in the data dir"
  # Not even the secret part after the display prefix.
  grep -rqF "${t:12}" "$WORK/data" && fail "token body appears in the data dir"
done
echo "PASS: cli_flow_test"
