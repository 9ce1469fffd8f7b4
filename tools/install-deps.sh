#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the local run need. A no-op, in well
# under a second, when everything is already there.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libcpprest-dev libboost-system-dev libyaml-cpp-dev nlohmann-json3-dev libssl-dev
  libspdlog-dev libfmt-dev googletest libgtest-dev libgmock-dev
  clang-format lua5.1 ccache
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: Go 1.26 or newer is needed on PATH to build the control plane" >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
