#!/usr/bin/env bash
# Splits a running server's CPU time by thread name over a window: which
# share goes to gRPC's threads, the usage flusher, RocksDB's flushes and
# compactions, the management pool (docs/operations.md lists the names).
#
# Usage: bench/thread_cpu.sh PID SECONDS
# Prints the window's length, then one line per thread name with the CPU
# milliseconds it used in the window, busiest first. Run it while a load
# generator drives the server.
set -euo pipefail

(($# == 2)) || { sed -n '2,9p' "$0" >&2; exit 2; }
PID=$1 SECONDS_=$2
[[ -d /proc/$PID ]] || { echo "thread_cpu: no process $PID" >&2; exit 1; }
TICKS=$(getconf CLK_TCK)

# name ticks, summed over the process's threads of that name.
snapshot() {
  local t name stat
  for t in /proc/"$PID"/task/*; do
    # Builtin reads, no forks: the snapshot must be quick on a busy machine.
    # A thread may end between the listing and the reads.
    { IFS= read -r name <"$t/comm" && IFS= read -r stat <"$t/stat"; } 2>/dev/null || continue
    # Fields after the ")" that ends the name: utime and stime are 12 and 13.
    stat=${stat##*) }
    read -r -a f <<<"$stat"
    printf '%s\t%d\n' "${name// /_}" "$((f[11] + f[12]))"
  done | awk -F'\t' '{t[$1] += $2} END {for (n in t) print n "\t" t[n]}' | sort
}

start=$EPOCHREALTIME
before=$(snapshot)
sleep "$SECONDS_"
after=$(snapshot)
end=$EPOCHREALTIME
echo "window $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}') s (both snapshots included)"
join -t $'\t' -a 2 -e 0 -o 0,1.2,2.2 <(echo "$before") <(echo "$after") |
  awk -F'\t' -v hz="$TICKS" '{ms = ($3 - $2) * 1000 / hz; if (ms > 0) printf "%-16s %8.0f ms\n", $1, ms}' |
  sort -k2 -n -r
