#!/usr/bin/env bash
# Builds kube-testenv into a per-machine cache and prints the binary's path. A rebuild happens
# only when the Go sources, go.mod, go.sum or the Go version change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${SERVICEUSER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/serviceuser-operator}
release=$(sed -n "s/^[[:space:]]*\(require \)\{0,1\}k8s.io\/kubernetes v\([0-9.]*\)\( .*\)\{0,1\}$/\2/p" "$here/go.mod" | head -n1)

key=$( (cd "$here" && cat go.mod go.sum ./*.go && go version) | sha256sum | cut -c1-16)
out="$cache/kube-testenv/$key/kube-testenv"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$(dirname "$out")"
minor=${release#*.}
minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=v$release -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=v$release"
echo "building kube-apiserver v$release with embedded etcd (a first build takes 10-25 minutes)..." >&2
start=$(date +%s)
(cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp" .)
mv "$out.tmp" "$out"
echo "built in $(($(date +%s) - start)) s: $out" >&2
echo "$out"
