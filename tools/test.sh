#!/usr/bin/env bash
# The test run: installs what is missing, builds the control plane, Helm and every target, then
# runs every CTest suite. Exits non-zero when anything fails, including a control plane that
# cannot be built or started (the suites that need it fail rather than skip).
#
#   tools/test.sh [ctest arguments...]    e.g. tools/test.sh -R kube
#
# Environment:
#   SU_BUILD_DIR    build directory (default: <repository>/build), as for tools/build.sh
#   SU_TEST_JOBS    suites run in parallel (default 2; the ones with a control plane are heavy)
#   SU_TEST_KUBECONFIG  join this running control plane instead of starting one per suite
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SU_BUILD_DIR:-$root/build}
jobs=${SU_TEST_JOBS:-2}
started=$(date +%s)

step() { printf '==> %s\n' "$*" >&2; }

step "installing missing Debian packages"
"$root/tools/install-deps.sh"

step "building the control plane (kube-apiserver with embedded etcd; cached after the first build)"
SU_KUBE_TESTENV=$("$root/tools/kube-testenv/build.sh")
[ -x "$SU_KUBE_TESTENV" ] || {
  echo "test: no control plane binary at '$SU_KUBE_TESTENV'" >&2
  exit 1
}

step "building Helm (cached after the first build)"
SU_HELM=$("$root/tools/helm/build.sh")

if ! command -v kubectl >/dev/null 2>&1; then
  step "building kubectl (not on PATH)"
  kubectl=$("$root/tools/kubectl/build.sh")
  PATH="$(dirname "$kubectl"):$PATH"
fi

step "building every target in $build"
SU_BUILD_DIR="$build" SU_INSTALL_DEPS=0 "$root/tools/build.sh"

SU_OPERATOR_BINARY="$build/src/serviceuser-operator"
export SU_KUBE_TESTENV SU_HELM SU_OPERATOR_BINARY PATH

step "running the tests (ctest -j $jobs)"
status=0
(cd "$build" && ctest --output-on-failure --no-tests=error -j "$jobs" "$@") || status=$?
step "finished in $(($(date +%s) - started)) s"
exit "$status"
