#!/usr/bin/env bash
# The one build used by the tests, the local run and the container image.
#
#   tools/build.sh [target...]     build the named targets (all when none are named)
#
# Environment:
#   SU_BUILD_DIR      build directory (default: <repository>/build)
#   SU_BUILD_TESTS    ON (default) or OFF; the image builds without tests
#   SU_BUILD_TYPE     CMake build type (default: RelWithDebInfo)
#   SU_INSTALL_DEPS   1 (default) installs missing Debian packages first; 0 skips that step
#   SU_JOBS           parallel jobs (default: the number of processors)
#
# On a tree that is already built it prints nothing and exits 0.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SU_BUILD_DIR:-$root/build}
tests=${SU_BUILD_TESTS:-ON}
type=${SU_BUILD_TYPE:-RelWithDebInfo}
jobs=${SU_JOBS:-$(nproc)}

if [ "${SU_INSTALL_DEPS:-1}" = 1 ]; then
  "$root/tools/install-deps.sh"
fi

# Configure when the directory is new or a setting changed; re-running CMake on every call
# would print its chatter and cost seconds on a warm tree.
settings="tests=$tests type=$type source=$root"
stamp="$build/.su-build-settings"
if [ ! -f "$build/build.ninja" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$settings" ]; then
  echo "configuring $build (tests $tests, $type)..." >&2
  mkdir -p "$build"
  if ! cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
      -DSU_BUILD_TESTS="$tests" >"$build/configure.log" 2>&1; then
    cat "$build/configure.log" >&2
    exit 1
  fi
  echo "$settings" >"$stamp"
fi

# Ninja prints one "[done/total] step" line per step, which is the progress of a long first
# build; when there is nothing to do its one remark is dropped.
status=0
NINJA_STATUS="[%f/%t %es] " ninja -C "$build" -j "$jobs" "$@" 2>&1 |
  grep --line-buffered -v -e "^ninja: no work to do\.$" -e "^ninja: Entering directory" -e "Re-checking globbed directories" >&2 || status=${PIPESTATUS[0]}
exit "$status"
