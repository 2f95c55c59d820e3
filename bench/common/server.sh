# Sourced by the bench scripts: the one server process a script runs at a
# time. The sourcing script defines die MESSAGE (prints and exits).

SERVER_PID=""

# stop_server: SIGTERM to the running server (if any), then waits for it.
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
trap stop_server EXIT

# await_log LOG EVENT [TIMEOUT_S]: waits until the server's JSON log LOG has
# a line of EVENT (e.g. server_started); dies if the server exits first or
# after TIMEOUT_S (60) seconds.
await_log() {
  local log=$1 event=$2 timeout=${3:-60} t0=$SECONDS
  until grep -q "\"event\":\"$event\"" "$log"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; SERVER_PID=""; die "server exited"; }
    ((SECONDS - t0 < timeout)) || die "no $event in $log after $timeout s"
    sleep 0.02
  done
}

# log_port LOG: the port of LOG's server_started line.
log_port() { sed -nE 's/.*"event":"server_started".*"port":([0-9]+).*/\1/p' "$1"; }
