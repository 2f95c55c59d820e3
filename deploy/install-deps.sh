#!/usr/bin/env bash
# Installs the Debian 12 packages Keygate needs to build, test and run.
#
# Idempotent: packages already installed are skipped, and nothing is done
# (not even `apt-get update`) when everything is present. Uses sudo when not
# run as root. Nothing is downloaded except from Debian's package archive.
#
# Usage: deploy/install-deps.sh [--check]   (--check: only report, exit 1 if missing)
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ make cmake pkg-config
  # gRPC + protobuf (the grpc plugin is needed by gRPC's CMake config)
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # grpc.health.v1 proto (served through reflection)
  grpc-proto
  # storage, status types, crypto
  librocksdb-dev libabsl-dev libssl-dev
  # metrics
  prometheus-cpp-dev
  # the optional allocator of the server (KEYGATE_MALLOC in CMakeLists.txt)
  libjemalloc-dev
  # tests and micro-benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # test helpers: TLS certificates (openssl command), metrics scrapes (curl);
  # benchmark reports (python3)
  openssl curl python3
  # bench/independent.sh: a generic HTTP/2 load tool (h2load)
  nghttp2-client
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "install-deps: missing: ${missing[*]}"
  exit 1
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
