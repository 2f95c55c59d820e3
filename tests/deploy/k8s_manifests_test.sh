#!/usr/bin/env bash
# Offline checks of the Kubernetes manifests in deploy/k8s (no cluster needed):
#   (a) `kubectl kustomize` renders the base, the envoy-sidecar overlay and the
#       base with the example-secrets component; no committed manifest holds
#       anything that looks like a real API key;
#   (b) every rendered object validates against the Kubernetes API schemas
#       (npm package kubernetes-models; unknown fields fail too): validate.mjs;
#   (c) probes, Pod Security "restricted", secrets as files, PVC, PDB,
#       NetworkPolicy and the references between objects: manifests_test.mjs;
#   (d) the overlay's Envoy configuration (ext_authz -> Keygate, HTTP/2
#       cluster, a required_scope per /api route): envoy_config_test.mjs.
#
# Usage: k8s_manifests_test.sh [CACHE_DIR]
#   CACHE_DIR keeps the npm packages between runs (default:
#   $TMPDIR/keygate-deploy-tests); they are installed from the exact versions
#   of tests/deploy/package-lock.json, and only when that file changes.
# Without kubectl, or without node/npm or a reachable npm registry on the
# first run, the parts that need them are skipped with a message (exit 0).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${1:-${TMPDIR:-/tmp}/keygate-deploy-tests}
k8s=$repo/deploy/k8s

passes=0
failures=0
pass() { passes=$((passes + 1)); echo "ok   - $*"; }
fail() { failures=$((failures + 1)); echo "FAIL - $*"; }
finish() {
  echo
  echo "k8s_manifests_test: $passes passed, $failures failed"
  if [[ $failures -eq 0 ]]; then exit 0; else exit 1; fi
}
skip_rest() {
  echo "SKIPPED - $*"
  finish
}

if ! command -v kubectl >/dev/null 2>&1; then
  echo "SKIPPED - kubectl is not installed: the manifests cannot be rendered (install kubectl to run this test)"
  echo "k8s_manifests_test: 0 passed, 0 failed"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- (a) render -------------------------------------------------------------
render() {  # render <name> <kustomization dir> [label]
  local label=${3:-${2#"$repo"/}}
  if kubectl kustomize "$2" > "$work/$1.yaml" 2> "$work/$1.err" && [[ -s $work/$1.yaml ]]; then
    pass "kubectl kustomize $label ($(grep -c '^kind:' "$work/$1.yaml") objects)"
  else
    fail "kubectl kustomize $label: $(tail -n 5 "$work/$1.err")"
  fi
}
render base "$k8s/base"
render overlay "$k8s/overlays/envoy-sidecar"
# The component is optional: render it on top of the base from a scratch
# kustomization (kustomize only takes relative paths).
mkdir -p "$work/with-secrets"
cat > "$work/with-secrets/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$work/with-secrets" "$k8s/base")
components:
  - $(realpath --relative-to="$work/with-secrets" "$k8s/components/example-secrets")
EOF
render with-example-secrets "$work/with-secrets" "deploy/k8s/base + components/example-secrets"

# A committed manifest must never hold a real-looking token (secret scanners
# would flag it, and someone might deploy it).
leaks=$(grep -rnE '(fs|sk)_(live|test)_[A-Za-z0-9]{30,}' "$k8s" "$repo/deploy/Dockerfile" "$work"/*.yaml || true)
if [[ -z $leaks ]]; then pass "no token-like string in deploy/k8s or the rendered output"; else fail "token-like strings: $leaks"; fi
[[ $failures -eq 0 ]] || finish

# --- npm packages for (b)-(d) -----------------------------------------------
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
  skip_rest "node/npm are not installed: schema validation and the Envoy checks need them"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[[ $node_major -ge 18 ]] || skip_rest "node $(node --version) is too old (the checks need node >= 18)"

npm_dir=$cache/npm
stamp=$npm_dir/.installed-package-lock.json
if [[ -d $npm_dir/node_modules/kubernetes-models ]] && cmp -s "$here/package-lock.json" "$stamp"; then
  pass "npm packages already installed in $npm_dir"
else
  rm -rf "$npm_dir"
  mkdir -p "$npm_dir"
  cp "$here/package.json" "$here/package-lock.json" "$npm_dir/"
  started=$SECONDS
  npm_rc=0
  timeout 100 npm install --no-audit --no-fund --prefix "$npm_dir" --ignore-scripts \
    --no-update-notifier --loglevel=error --fetch-retries=1 --fetch-retry-maxtimeout=10000 \
    > "$work/npm.log" 2>&1 || npm_rc=$?
  if [[ $npm_rc -eq 0 ]]; then
    cp "$here/package-lock.json" "$stamp"
    pass "npm install of tests/deploy/package-lock.json ($((SECONDS - started))s)"
  elif [[ $npm_rc -eq 124 ]] || grep -qE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up' "$work/npm.log" ||
       [[ ! -s $work/npm.log ]]; then
    tail -n 5 "$work/npm.log"
    rm -rf "$npm_dir"
    skip_rest "the npm registry is unreachable: cannot install kubernetes-models and yaml"
  else
    tail -n 20 "$work/npm.log"
    rm -rf "$npm_dir"
    fail "npm install failed (not a network error: see above)"
    finish
  fi
fi
# The scripts import from the node_modules beside them.
cp "$here"/*.mjs "$npm_dir/"

run_node() {  # run_node <description> <script> <args...>
  local what=$1; shift
  echo "--- $what"
  if (cd "$npm_dir" && node "$@"); then pass "$what"; else fail "$what"; fi
}

# --- (b) schemas, (c) manifests, (d) Envoy ----------------------------------
run_node "Kubernetes API schema validation (kubernetes-models)" validate.mjs \
  "$work/base.yaml" "$work/overlay.yaml" "$work/with-example-secrets.yaml"
run_node "manifest checks" --test-reporter=spec manifests_test.mjs \
  "$work/base.yaml" "$work/overlay.yaml" "$work/with-example-secrets.yaml"
run_node "Envoy sidecar configuration checks" --test-reporter=spec envoy_config_test.mjs \
  "$work/base.yaml" "$work/overlay.yaml"

finish
