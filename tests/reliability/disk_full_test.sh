#!/usr/bin/env bash
# Disk full: the real keygate-server with its data dir on a tmpfs that a
# filler file then fills up.
#   - management writes fail with RESOURCE_EXHAUSTED or UNAVAILABLE (and a
#     message), readiness turns NOT_SERVING;
#   - Authorize keeps answering correctly for the existing keys (allowed and
#     revoked as before);
#   - once space is freed, writes resume without a restart (RocksDB's error
#     recovery) within RECOVERY_LIMIT seconds, readiness is SERVING;
#   - nothing is lost: every earlier key is still right, a new key works, and
#     all of it survives a restart; --verify_store passes.
# Needs root (mount); otherwise it exits 77, which ctest reports as skipped.
#
# Two RocksDB facts shape the set-up. Each WAL is preallocated (fallocate) at
# 1.1 x write_buffer_size (64 MiB), so with that much free space at start WAL
# writes would not meet the full disk; a ballast file keeps free space below
# it, as on a disk that is already busy. And RocksDB resumes from a full disk
# only once free space reaches its reserve, the largest write_buffer_size
# (64 MiB): freeing less leaves writes stopped until a restart (see
# docs/reliability.md). So the tmpfs is 160 MiB and the ballast goes too.
#
# Usage: disk_full_test.sh BIN_DIR TESTS_BIN_DIR
set -euo pipefail

BIN=$1
TOOLS=$2
RECOVERY_LIMIT=${RECOVERY_LIMIT:-15}
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }
[[ $(id -u) -eq 0 ]] || skip "disk_full_test needs root to mount a tmpfs"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keygate_diskfull_XXXXXX")
MNT=$WORK/mnt
DATA=$MNT/data
LOG=$WORK/server.log  # Outside the full file system.
SERVER_PID=""
MOUNTED=""
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$SERVER_PID" ]]; then
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  [[ -n "$MOUNTED" ]] && umount "$MNT"
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
mkdir -p "$MNT"
mount -t tmpfs -o size=160m tmpfs "$MNT" 2>"$WORK/mount.err" \
  || skip "cannot mount a tmpfs: $(cat "$WORK/mount.err")"
MOUNTED=1
dd if=/dev/zero of="$MNT/ballast" bs=1M count=100 status=none

start_server() {
  : >"$LOG"
  "$BIN/keygate-server" --listen=127.0.0.1:0 --data_dir="$DATA" --shutdown_delay=0s 2>>"$LOG" &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    grep -q '"event":"server_started"' "$LOG" && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited: $(cat "$LOG")"
    sleep 0.05
  done
  ADDR=127.0.0.1:$(sed -nE 's/.*"event":"server_started".*"port":([0-9]+).*/\1/p' "$LOG")
  export FLOWSTACK_API_KEY
  FLOWSTACK_API_KEY=$(cat "$DATA/operator.key")
}
kg() { "$BIN/keygate" --server "$ADDR" "$@"; }
alive() {  # The server must never die of a full disk.
  kill -0 "$SERVER_PID" 2>/dev/null || fail "keygate-server died ($1): $(tail -3 "$LOG")"
}
ready() {
  "$TOOLS/reflect_call" -d '{"service":"readiness"}' "$ADDR" grpc.health.v1.Health/Check \
    2>/dev/null | grep -q '"SERVING"'
}

IDS=() TOKENS=() STATES=()  # Parallel arrays: key id, token, active|revoked.
# create: creates a key; on success records it and returns 0, else leaves the
# CLI's error in $WORK/err and returns 1.
create() {
  kg --json keys create --team full --name "k${#IDS[@]}" --scope read \
    >"$WORK/out" 2>"$WORK/err" || return 1
  IDS+=("$(sed -nE 's/^  "key_id": "([^"]+)".*/\1/p' "$WORK/out")")
  TOKENS+=("$(sed -nE 's/^ "token": "([^"]+)".*/\1/p' "$WORK/out")")
  STATES+=(active)
}
# check_all WHEN: every recorded key answers as its state says.
check_all() {
  local i rc
  alive "$1"
  for i in "${!IDS[@]}"; do
    rc=0
    kg authorize - --scope read <<<"${TOKENS[$i]}" >/dev/null 2>"$WORK/auth.err" || rc=$?
    case ${STATES[$i]}:$rc in
      active:0) ;;
      revoked:1) grep -q REASON_REVOKED "$WORK/auth.err" \
                   || fail "$1: ${IDS[$i]} revoked, got: $(cat "$WORK/auth.err")" ;;
      *) fail "$1: ${IDS[$i]} ${STATES[$i]}, Authorize exit $rc: $(cat "$WORK/auth.err")" ;;
    esac
  done
  echo "$1: ${#IDS[@]} keys answer correctly"
}

step "a store on a 160 MiB tmpfs (100 MiB ballast) with 12 keys, 4 of them revoked"
start_server
for _ in $(seq 1 12); do create || fail "create: $(cat "$WORK/err")"; done
for i in 0 3 6 9; do
  kg keys revoke "${IDS[$i]}" >/dev/null
  STATES[$i]=revoked
done
check_all "before"

step "fill the file system"
dd if=/dev/zero of="$MNT/filler" bs=1M 2>/dev/null || true
dd if=/dev/zero of="$MNT/filler2" bs=4k 2>/dev/null || true
df -h "$MNT" | tail -1
[[ $(df --output=avail -B1 "$MNT" | tail -1) -lt 4096 ]] || fail "the file system is not full"

step "management writes fail with RESOURCE_EXHAUSTED or UNAVAILABLE"
# The first writes may still fit in pages the WAL already has.
FAILED=""
for attempt in $(seq 1 50); do
  if ! create; then FAILED=$attempt; break; fi
done
[[ -n "$FAILED" ]] || fail "50 creates succeeded on a full disk"
alive "after the first failed write"
echo "create $FAILED failed: $(cat "$WORK/err")"
grep -qE 'RESOURCE_EXHAUSTED|UNAVAILABLE' "$WORK/err" || fail "unexpected error: $(cat "$WORK/err")"
for _ in 1 2 3; do
  create && fail "a create succeeded while writes are stopped"
  grep -qE 'RESOURCE_EXHAUSTED|UNAVAILABLE' "$WORK/err" || fail "unexpected error: $(cat "$WORK/err")"
done
if kg keys revoke "${IDS[1]}" >/dev/null 2>"$WORK/err"; then
  fail "a revoke succeeded while writes are stopped"
fi
echo "revoke failed: $(cat "$WORK/err")"
alive "after failed writes"
grep -qE 'RESOURCE_EXHAUSTED|UNAVAILABLE' "$WORK/err" || fail "unexpected error: $(cat "$WORK/err")"
for _ in $(seq 1 30); do ready || break; sleep 0.1; done
ready && fail "readiness is SERVING with writes stopped"
echo "readiness NOT_SERVING"

step "Authorize keeps answering for existing keys"
check_all "disk full"

step "free the space (filler and ballast): writes resume without a restart"
rm -f "$MNT/filler" "$MNT/filler2" "$MNT/ballast"
START=$(date +%s.%N)
until create; do
  [[ $(echo "$(date +%s.%N) - $START > $RECOVERY_LIMIT" | bc) == 1 ]] \
    && fail "writes did not resume within ${RECOVERY_LIMIT}s: $(cat "$WORK/err")"
  sleep 0.2
done
RECOVERED=$(echo "$(date +%s.%N) - $START" | bc)
printf 'writes resumed %.1f s after the space was freed\n' "$RECOVERED"
for _ in $(seq 1 30); do ready && break; sleep 0.1; done
ready || fail "readiness not SERVING after recovery"
grep -q '"event":"storage_recovered"' "$LOG" || fail "no storage_recovered in the log"
kg keys revoke "${IDS[1]}" >/dev/null || fail "revoke after recovery failed"
STATES[1]=revoked
check_all "recovered"

step "nothing lost across a restart"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exited with $? on SIGTERM"
SERVER_PID=""
start_server
check_all "restarted"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exited with $? on SIGTERM"
SERVER_PID=""
"$BIN/keygate-server" --data_dir="$DATA" --verify_store 2>"$WORK/verify.log" \
  || fail "verify_store: $(cat "$WORK/verify.log")"
printf 'PASS: disk_full_test (writes failed from create %s on; recovered in %.1f s; %d keys intact)\n' \
  "$FAILED" "$RECOVERED" "${#IDS[@]}"
