#!/usr/bin/env bash
# make stress: the crash-safety harness for many kill -9 cycles against the
# real keygate-server (see crash_harness.cc for what is checked).
#
# Usage: stress.sh BUILD_DIR
#   CYCLES=100   kill cycles
#   SEED=0       seed of the kill delays and operations (0: a new one, printed)
#   THREADS=4    concurrent management clients
set -euo pipefail

BUILD=${1:?usage: stress.sh BUILD_DIR}
HARNESS=$BUILD/tests/keygate-crash-harness
[[ -x $HARNESS ]] || { echo "stress: $HARNESS is missing; build first (make build)" >&2; exit 2; }
exec "$HARNESS" --server_binary="$BUILD/bin/keygate-server" --cycles="${CYCLES:-100}" \
  --seed="${SEED:-0}" --threads="${THREADS:-4}" --min_run_ms=20 --max_run_ms=700
