# Shared helpers of the end-to-end scripts; source it after setting BIN (the
# directory of keygate-server and keygate).
#
# Creates WORK (a temp dir removed at exit, with any server still running
# killed) and provides fail, step, start_server and stop_server.

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keygate_e2e_XXXXXX")
SERVER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill -9 "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

# start_server LOG DATA_DIR [FLAG...]: starts keygate-server on a free
# loopback port with its stderr in LOG (a new file); sets SERVER_PID, PORT
# and ADDR once it serves.
start_server() {
  local log=$1 data_dir=$2
  shift 2
  "$BIN/keygate-server" --listen=127.0.0.1:0 --data_dir="$data_dir" "$@" 2>"$log" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    grep -q '"event":"server_started"' "$log" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited during start: $(cat "$log")"
    sleep 0.1
  done
  PORT=$(sed -nE 's/.*"event":"server_started".*"port":([0-9]+).*/\1/p' "$log")
  [[ -n "$PORT" ]] || fail "no server_started line in $log"
  ADDR="127.0.0.1:$PORT"
}

# stop_server: SIGTERM, and the server must exit 0.
stop_server() {
  kill -TERM "$SERVER_PID"
  local rc=0
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=""
  [[ $rc -eq 0 ]] || fail "server exited with $rc after SIGTERM"
}
