#!/usr/bin/env bash
# Builds Helm from its Go module into a per-machine cache and prints the binary's path. Helm is
# not packaged in Debian; the Go module proxy is the one source used. The version is pinned here
# so every machine lints and renders the chart with the same Helm.
set -euo pipefail
version=v3.21.4
cache=${SERVICEUSER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/serviceuser-operator}

key=$( (echo "$version"; go version) | sha256sum | cut -c1-16)
out="$cache/helm/$key/helm"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$(dirname "$out")"
echo "building helm $version from its Go module (a first build takes a few minutes)..." >&2
start=$(date +%s)
bin=$(mktemp -d "$(dirname "$out")/gobin.XXXXXX")
trap 'rm -rf "$bin"' EXIT
pkg=helm.sh/helm/v3/internal/version
GOBIN="$bin" CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X $pkg.version=$version -X $pkg.gitTreeState=clean" \
  "helm.sh/helm/v3/cmd/helm@$version"
mv "$bin/helm" "$out"
echo "built in $(($(date +%s) - start)) s: $out" >&2
echo "$out"
