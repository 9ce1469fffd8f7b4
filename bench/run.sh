#!/usr/bin/env bash
# Benchmarks the operator at each N against the reference client (see bench/README.md).
#
#   bench/run.sh [N...]          default: 100 1000 10000
#
# Environment:
#   SU_BUILD_DIR   build directory (default: <repository>/build)
#   BENCH_OUT      where latest.json, latest.md and latest.png go (default: bench/results)
#   BENCH_WORKDIR  logs and state of every leg (default: a new temporary directory)
#   BENCH_ARGS     more flags for bench/bench.py, e.g. "--perf" or "--idle 30"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SU_BUILD_DIR:-$root/build}
out=${BENCH_OUT:-$root/bench/results}

SU_BUILD_DIR=$build SU_BUILD_TESTS=${SU_BUILD_TESTS:-OFF} \
  "$root/tools/build.sh" serviceuser-operator digicert-sim bench-reference
testenv=$("$root/tools/kube-testenv/build.sh")

# The chart needs matplotlib; without it the JSON and the table are still written.
if ! python3 -c "import matplotlib" 2>/dev/null; then
  python3 -m pip install --quiet matplotlib >&2 || echo "no matplotlib: skipping the chart" >&2
fi

# The commit measured: a source export made with `git archive` carries it in .bench-commit.
if [ -f "$root/.bench-commit" ]; then
  commit=$(cat "$root/.bench-commit")
else
  commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
  [ -n "$(git -C "$root" status --porcelain -- src 2>/dev/null)" ] && commit="$commit+local-changes"
fi

args=(--commit "$commit")
[ -n "${BENCH_WORKDIR:-}" ] && args+=(--workdir "$BENCH_WORKDIR")
# shellcheck disable=SC2206
[ -n "${BENCH_ARGS:-}" ] && args+=($BENCH_ARGS)
exec python3 "$root/bench/bench.py" "$@" \
  --testenv "$testenv" --crds "$root/crds" \
  --operator "$build/src/serviceuser-operator" \
  --sim "$build/tools/digicert-sim/digicert-sim" \
  --reference "$build/bench/bench-reference" \
  --out "$out" "${args[@]}"
