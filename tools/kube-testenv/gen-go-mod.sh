#!/usr/bin/env bash
# Writes go.mod for the control-plane harness: it requires k8s.io/kubernetes at one release and
# pins every staging module (listed at v0.0.0 in that release's go.mod) to the matching
# v0.N.P tag, because the kubernetes module cannot be required without those replacements.
# Usage: gen-go-mod.sh [1.37.2]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
release=${1:-1.37.2}
staging=0.${release#1.}

modfile=$(cd "$here" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$release" |
  sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
[ -f "$modfile" ] || { echo "gen-go-mod: no go.mod downloaded for k8s.io/kubernetes v$release" >&2; exit 1; }
go_line=$(grep -m1 '^go ' "$modfile")

{
  echo "module serviceuser.dev/tools/kube-testenv"
  echo
  echo "$go_line"
  echo
  echo "require k8s.io/kubernetes v$release"
  echo
  echo "replace ("
  grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$modfile" | awk -v v="v$staging" '{printf "\t%s => %s %s\n", $1, $1, v}'
  echo ")"
} >"$here/go.mod"
echo "gen-go-mod: go.mod written for kubernetes v$release with staging modules at v$staging"
