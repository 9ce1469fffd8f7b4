#!/usr/bin/env bash
# Builds kubectl from the same Kubernetes release as the control plane (tools/kube-testenv's
# go.mod) into a per-machine cache and prints the binary's path. Used only where kubectl is not
# installed: kubectl has no Debian package, and the Go module proxy is the one source used.
set -euo pipefail
module=$(cd "$(dirname "$0")/../kube-testenv" && pwd)
cache=${SERVICEUSER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/serviceuser-operator}
release=$(sed -n "s/^[[:space:]]*\(require \)\{0,1\}k8s.io\/kubernetes v\([0-9.]*\)\( .*\)\{0,1\}$/\2/p" "$module/go.mod" | head -n1)

key=$( (cd "$module" && cat go.mod go.sum && go version) | sha256sum | cut -c1-16)
out="$cache/kubectl/$key/kubectl"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$(dirname "$out")"
# A copy of kube-testenv's module pins every k8s.io module to the release; kubectl needs a few
# modules the API server does not, so the copy may add them to its go.sum.
work=$(mktemp -d "$(dirname "$out")/module.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$module/go.mod" "$module/go.sum" "$work/"
minor=${release#*.}
minor=${minor%%.*}
pkg=k8s.io/client-go/pkg/version
ldflags="-s -w -X $pkg.gitVersion=v$release -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
ldflags="$ldflags -X k8s.io/component-base/version.gitVersion=v$release"
echo "building kubectl v$release (a first build takes a few minutes)..." >&2
start=$(date +%s)
(cd "$work" && go build -mod=mod -trimpath -ldflags "$ldflags" -o "$out.tmp" k8s.io/kubernetes/cmd/kubectl)
mv "$out.tmp" "$out"
echo "built in $(($(date +%s) - start)) s: $out" >&2
echo "$out"
