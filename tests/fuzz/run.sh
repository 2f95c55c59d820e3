#!/usr/bin/env bash
# `make fuzz`: builds Keygate's libFuzzer targets with clang-14 (ASan+UBSan,
# Keygate's own code coverage-instrumented) in build-fuzz and runs each for
# FUZZ_SECONDS, starting from the committed seed corpus. Prints, per target,
# the executions, the corpus growth and the findings (crash/leak/timeout/oom
# artifacts); exits 1 if there was any finding.
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 600)
#   FUZZ_TARGETS   space-separated subset (default: all six)
#   FUZZ_BUILD_DIR build dir (default <repo>/build-fuzz)
#   FUZZ_CXX       the clang++ to use (default clang++-14)
#   JOBS           build parallelism (default 2)
#
# New corpus entries go to $FUZZ_BUILD_DIR/fuzz-corpus/<target> (the committed
# corpus stays small); findings to $FUZZ_BUILD_DIR/fuzz-artifacts/<target>,
# logs to $FUZZ_BUILD_DIR/fuzz-logs/<target>.log. Reproduce a finding with
#   $FUZZ_BUILD_DIR/bin/fuzz/keygate_<target>_fuzzer <artifact>
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
TARGETS=${FUZZ_TARGETS:-"token scope authorize create_key envoy_check record_decoder"}
CXX_BIN=${FUZZ_CXX:-clang++-14}
JOBS=${JOBS:-2}

# -max_len per target: long enough for the largest valid input (33 scopes of
# 96 characters, a 4 KiB header map) plus room for oversize cases.
declare -A MAX_LEN=([token]=4096 [scope]=2048 [authorize]=4096 [create_key]=8192 [envoy_check]=8192
                   [record_decoder]=4096)

if ! command -v "$CXX_BIN" >/dev/null; then
  echo "fuzz: $CXX_BIN not found; install Debian's clang-14 and libclang-rt-14-dev" >&2
  exit 1
fi
CLANG_RT=$("$CXX_BIN" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)
if [[ ! -f "$CLANG_RT" ]] && ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz: libFuzzer runtime missing; install libclang-rt-14-dev" >&2
  exit 1
fi

echo "fuzz: configuring $BUILD_DIR with $CXX_BIN (KEYGATE_FUZZ=ON, ASan+UBSan)"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX_BIN" -DKEYGATE_FUZZ=ON -DKEYGATE_SANITIZE=address \
  -DKEYGATE_BUILD_BENCH=OFF >/dev/null
build_targets=()
for t in $TARGETS; do build_targets+=(--target "keygate_${t}_fuzzer"); done
cmake --build "$BUILD_DIR" -j"$JOBS" "${build_targets[@]}"

# The fuzzed store lives in RAM when possible (CreateKey syncs every write).
TMP_BASE=/tmp
[[ -d /dev/shm && -w /dev/shm ]] && TMP_BASE=/dev/shm
FUZZ_TMP=$(mktemp -d "$TMP_BASE/keygate-fuzz.XXXXXX")
trap 'rm -rf "$FUZZ_TMP"' EXIT

# Debian's gRPC/protobuf/RocksDB are not instrumented; see
# docs/reliability.md for why nothing needs suppressing here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

summary=()
total_findings=0
for t in $TARGETS; do
  seeds="$ROOT/tests/fuzz/corpus/$t"
  corpus="$BUILD_DIR/fuzz-corpus/$t"
  artifacts="$BUILD_DIR/fuzz-artifacts/$t"
  log="$BUILD_DIR/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  before=$(find "$artifacts" -type f | wc -l)
  echo "fuzz: $t for ${FUZZ_SECONDS}s (max_len ${MAX_LEN[$t]}), log $log"
  set +e
  KEYGATE_FUZZ_TMPDIR="$FUZZ_TMP/$t" "$BUILD_DIR/bin/fuzz/keygate_${t}_fuzzer" \
    -max_total_time="$FUZZ_SECONDS" -max_len="${MAX_LEN[$t]}" -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "$seeds" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  units=$(find "$corpus" -type f | wc -l)
  findings=$(( $(find "$artifacts" -type f | wc -l) - before ))
  if [[ $rc -ne 0 && $findings -eq 0 ]]; then findings=1; fi  # Died without an artifact.
  total_findings=$((total_findings + findings))
  summary+=("$(printf '%-12s %12s execs %8s/s  cov %6s  corpus %6s  findings %d  (exit %d)' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$units" "$findings" "$rc")")
  if [[ $findings -ne 0 ]]; then
    echo "fuzz: $t FOUND something; tail of $log:" >&2
    tail -40 "$log" >&2
  fi
done

echo
echo "fuzz summary (${FUZZ_SECONDS}s per target, $(date -u +%Y-%m-%dT%H:%MZ)):"
printf '  %s\n' "${summary[@]}"
if [[ $total_findings -ne 0 ]]; then
  echo "fuzz: $total_findings finding(s); artifacts under $BUILD_DIR/fuzz-artifacts" >&2
  exit 1
fi
echo "fuzz: no findings"
