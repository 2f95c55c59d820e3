#!/usr/bin/env bash
# Static checks of deploy/Dockerfile (no container engine is needed):
#   - two or more stages, every one FROM debian:bookworm*;
#   - a build stage that runs deploy/install-deps.sh and the CI's CMake build
#     (Release, tests and benchmarks off);
#   - a runtime stage (the last) that copies both binaries from a build stage,
#     installs no -dev package or toolchain, runs as the numeric USER 10001,
#     EXPOSEs 50051 and 9090 and starts keygate-server with the container flags;
#   - nothing is downloaded with curl/wget/ADD from the network;
#   - .dockerignore keeps build trees, data dirs and .git out of the context;
#   - every shared library that `ldd` reports for the freshly built binaries
#     belongs (dpkg -S) to a Debian package that the runtime stage installs or
#     that debian:bookworm-slim already has.
#
# Usage: dockerfile_test.sh <path/to/keygate-server> [path/to/Dockerfile]
# The CLI (`keygate`) beside keygate-server is checked too when it exists.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
server_bin=${1:?usage: dockerfile_test.sh <path/to/keygate-server> [Dockerfile]}
dockerfile=${2:-$repo/deploy/Dockerfile}

# Packages of debian:bookworm-slim that the binaries may rely on without
# installing them (Priority: required, or pulled in by apt itself).
BASE_PACKAGES=(libc6 libgcc-s1 libstdc++6)

failures=0
passes=0
pass() { passes=$((passes + 1)); echo "ok   - $*"; }
fail() { failures=$((failures + 1)); echo "FAIL - $*"; }
check() {  # check "<description>" <command...>
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

[[ -f $dockerfile ]] || { echo "FAIL - no Dockerfile at $dockerfile"; exit 1; }
[[ -x $server_bin ]] || { echo "FAIL - no keygate-server binary at $server_bin (build it first)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/keygate-dockerfile-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- Parse: one logical instruction per line, comments dropped, continuation
# lines joined; each line prefixed with its stage index ("<stage>\t<instr>").
awk '
  /^[[:space:]]*#/ && !cont { next }          # comment line (not inside a RUN)
  /^[[:space:]]*#/ && cont  { next }          # comment inside a continuation
  /^[[:space:]]*$/ && !cont { next }
  {
    line = $0
    sub(/^[[:space:]]+/, "", line)
    if (cont) buf = buf " " line; else buf = line
    if (buf ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, "", buf); cont = 1; next }
    cont = 0
    if (toupper(buf) ~ /^FROM[[:space:]]/) stage++
    gsub(/[[:space:]]+/, " ", buf)
    print stage "\t" buf
  }' "$dockerfile" > "$work/instructions"

stages=$(awk -F'\t' '$2 ~ /^[Ff][Rr][Oo][Mm] / {n++} END {print n+0}' "$work/instructions")
instr() {  # instr <stage|all> <KEYWORD>: the instructions' arguments
  awk -F'\t' -v s="$1" -v k="$2" '
    (s == "all" || $1 == s) {
      split($2, w, " "); if (toupper(w[1]) == k) { sub(/^[^ ]+ /, "", $2); print $2 }
    }' "$work/instructions"
}
runtime=$stages

# --- Stages
check "multi-stage: $stages stages (want >= 2)" test "$stages" -ge 2
while read -r from; do
  image=$(sed -E 's/--platform=[^ ]+ //' <<<"$from" | awk '{print $1}')
  check "stage FROM $image is debian:bookworm*" grep -qE '^(docker\.io/(library/)?)?debian:bookworm' <<<"$image"
done < <(instr all FROM)

build_names=()   # names (or indexes) a runtime COPY --from may use
build_runs=""
for ((s = 1; s < runtime; s++)); do
  name=$(instr "$s" FROM | awk 'toupper($2) == "AS" {print $3}')
  build_names+=("$((s - 1))")
  [[ -n $name ]] && build_names+=("$name")
  build_runs+="$(instr "$s" RUN)"$'\n'
done
check "build stage runs deploy/install-deps.sh" grep -qE '(^|[ ;&|(/])(\./)?deploy/install-deps\.sh' <<<"$build_runs"
check "build stage configures with cmake -S . -B build" grep -qE 'cmake -S \. -B build( |$)' <<<"$build_runs"
for define in -DCMAKE_BUILD_TYPE=Release -DKEYGATE_BUILD_TESTS=OFF -DKEYGATE_BUILD_BENCH=OFF; do
  check "build stage passes $define" grep -qF -- "$define" <<<"$build_runs"
done
check "build stage builds with cmake --build build -j\$(nproc)" \
  grep -qE 'cmake --build build -j"?\$\(nproc\)' <<<"$build_runs"

# --- No downloads from the network (dependencies come from Debian packages)
check "no curl/wget download" bash -c '! grep -qiE "(curl|wget)[^|;&]*(https?|ftp)://" "$1"' _ "$work/instructions"
check "no ADD of a URL" bash -c '! grep -qiE "^[0-9]+\tADD .*(https?|ftp)://" "$1"' _ "$work/instructions"

# --- Build context: local build trees and data dirs (pepper, operator key)
# must never be sent to the builder.
ignore=$repo/.dockerignore
for pattern in .git build 'build-*' data; do
  check ".dockerignore excludes $pattern" grep -qxF -- "$pattern" "$ignore"
done

# --- Runtime stage
runtime_user=$(instr "$runtime" USER | tail -n 1)
check "runtime USER is numeric 10001 (got '${runtime_user}')" grep -qE '^10001(:10001)?$' <<<"$runtime_user"
exposed=" $(instr "$runtime" EXPOSE | tr '\n' ' ' | sed -E 's#/tcp##g') "
check "runtime EXPOSEs 50051" grep -qE ' 50051 ' <<<"$exposed"
check "runtime EXPOSEs 9090" grep -qE ' 9090 ' <<<"$exposed"

copies=$(instr "$runtime" COPY)
for bin in keygate-server keygate; do
  found=no
  while read -r copy; do
    from=$(grep -oE -- '--from=[^ ]+' <<<"$copy" | cut -d= -f2 || true)
    [[ -n $from ]] || continue
    for n in "${build_names[@]}"; do
      if [[ $from == "$n" ]] && grep -qE "/bin/$bin( |$)" <<<"$copy"; then found=yes; fi
    done
  done <<<"$copies"
  check "runtime copies $bin from a build stage" test "$found" = yes
done

start="$(instr "$runtime" ENTRYPOINT) $(instr "$runtime" CMD)"
check "runtime starts keygate-server" grep -qE '(^|[" /\[])keygate-server"?' <<<"$start"
for flag in --listen=0.0.0.0:50051 --data_dir=/var/lib/keygate --metrics_listen=0.0.0.0:9090; do
  check "default command has $flag" grep -qF -- "$flag" <<<"$start"
done

# The runtime apt-get install line: its package names (options dropped).
runtime_runs=$(instr "$runtime" RUN)
runtime_packages=$(grep -oE 'apt-get install[^&;|]*' <<<"$runtime_runs" |
  sed -E 's/apt-get install//' | tr ' ' '\n' | grep -vE '^(-.*)?$' | sort -u || true)
check "runtime installs packages with apt-get" test -n "$runtime_packages"
check "runtime installs no -dev package or toolchain" \
  bash -c '! grep -qE "(-dev$|^(g\+\+|gcc|cmake|make|build-essential|protobuf-compiler.*)$)" <<<"$1"' _ "$runtime_packages"
check "runtime removes the apt lists" grep -qF 'rm -rf /var/lib/apt/lists' <<<"$runtime_runs"

# Each listed package must be a real Debian package: installed here, or known
# to apt (a typo would only show up at `docker build` time).
if compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then apt_lists=yes; else apt_lists=no; fi
for pkg in $runtime_packages; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
     { [[ $apt_lists == yes ]] && apt-cache show --no-all-versions "$pkg" >/dev/null 2>&1; }; then
    pass "runtime package $pkg exists"
  elif [[ $apt_lists == no ]]; then
    echo "note - runtime package $pkg is neither installed nor checkable (no apt lists here)"
  else
    fail "runtime package $pkg is not a known Debian package"
  fi
done

# --- ldd: every shared library of the binaries comes from a runtime package
# Path candidates dpkg may know a library by: as ldd printed it, resolved,
# each with and without the /usr prefix (Debian 12 has a merged /usr, but
# packages still list files under either).
candidates() {
  local p real; real=$(readlink -f "$1")
  for p in "$1" "$real"; do
    echo "$p"
    case $p in /usr/*) echo "${p#/usr}" ;; *) echo "/usr$p" ;; esac
  done
}

binaries=("$server_bin")
[[ -x $(dirname "$server_bin")/keygate ]] && binaries+=("$(dirname "$server_bin")/keygate")
: > "$work/libs"
for bin in "${binaries[@]}"; do
  if ! ldd "$bin" > "$work/ldd" 2>&1; then
    fail "ldd $bin failed: $(head -n 3 "$work/ldd")"
    continue
  fi
  missing_libs=$(grep -F 'not found' "$work/ldd" || true)
  check "$(basename "$bin"): every library resolves" test -z "$missing_libs"
  awk -v b="$(basename "$bin")" '/=> \// {print b, $3} /^[[:space:]]*\/[^ ]+ \(/ {print b, $1}' \
    "$work/ldd" >> "$work/libs"
done

# One dpkg call for every candidate path: "pkg[:arch][, pkg...]: /path".
declare -A owners_of=()
mapfile -t paths < <(awk '{print $2}' "$work/libs" | sort -u | while read -r l; do candidates "$l"; done | sort -u)
while IFS= read -r line; do
  [[ $line == "diversion by"* || $line != *": /"* ]] && continue
  path=${line#*: }
  pkgs=$(sed -E 's/: \/.*$//; s/:[a-z0-9]+(,|$)/\1/g; s/, */ /g' <<<"$line")
  owners_of[$path]=$pkgs
done < <(dpkg -S "${paths[@]}" 2>/dev/null || true)

allowed=" $(echo $runtime_packages "${BASE_PACKAGES[@]}") "
declare -A seen_owner=()
declare -A checked=()
while read -r bin lib; do
  checked[$bin]=$(( ${checked[$bin]:-0} + 1 ))
  owners=""
  while read -r c; do
    [[ -n ${owners_of[$c]:-} ]] && { owners=${owners_of[$c]}; break; }
  done < <(candidates "$lib")
  if [[ -z $owners ]]; then
    fail "$bin: $lib belongs to no Debian package (built by hand?)"
    continue
  fi
  ok=no
  for o in $owners; do
    [[ $allowed == *" $o "* ]] && ok=yes
    seen_owner[$o]=1
  done
  [[ $ok == yes ]] || fail "$bin: $lib is in package $owners, which the runtime stage does not install"
done < "$work/libs"
for bin in "${!checked[@]}"; do
  pass "$bin: ${checked[$bin]} libraries checked against the runtime packages"
done

echo "note - packages owning the binaries' libraries: $(printf '%s\n' "${!seen_owner[@]}" | sort | tr '\n' ' ')"

echo
echo "dockerfile_test: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
