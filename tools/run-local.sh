#!/usr/bin/env bash
# The local run: the operator against a real kube-apiserver and the DigiCert ONE simulator, all
# on 127.0.0.1, with the samples applied and one rotation shown.
#
#   tools/run-local.sh           build, start everything, show it working, stop everything
#   tools/run-local.sh --keep    the same, but leave it running and print how to stop it
#   tools/run-local.sh --stop    stop what an earlier --keep left running
#
# Environment:
#   SU_LOCAL_DIR   state folder (default: <repository>/.local); the control plane's etcd data and
#                  the simulator's state are kept there, so a second run resumes the first one's
#                  ServiceUsers and identities (delete the folder to start afresh)
#   SU_BUILD_DIR   build directory (default: <repository>/build), as for tools/build.sh
#   SU_WAIT        seconds to wait for each step (default 180)
#   SU_KUBE_TESTENV  the control plane binary, when already built (tools/kube-testenv/build.sh)
#
# The token never appears on screen: the Secret is shown with its keys and sizes only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${SU_LOCAL_DIR:-$root/.local}
build=${SU_BUILD_DIR:-$root/build}
wait_s=${SU_WAIT:-180}
keep=0

usage() { sed -n '2,16s/^# \{0,1\}//p' "$0"; }

say() { printf '\n==> %s\n' "$*" >&2; }
fail() {
  printf 'run-local: %s\n' "$*" >&2
  exit 1
}

# --- stopping --------------------------------------------------------------------------------

# Each started program leads its own process group (setsid); its group id is in $state/pids.
# Stopping signals the whole group, so helpers such as the API server child go with it.
stopAll() {
  local pids="$state/pids"
  [ -f "$pids" ] || return 0
  local groups=()
  # Reverse start order: operator first, control plane last.
  mapfile -t groups < <(tac "$pids")
  local name pgid
  for line in "${groups[@]}"; do
    read -r name pgid <<<"$line"
    kill -0 -- "-$pgid" 2>/dev/null || continue
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 -- "-$pgid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 -- "-$pgid" 2>/dev/null; then
      echo "run-local: $name did not stop within 10 s; killing it" >&2
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
  done
  rm -f "$pids"
}

case "${1:-}" in
  --stop)
    stopAll
    echo "stopped" >&2
    exit 0
    ;;
  --keep) keep=1 ;;
  "") ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac

if [ -f "$state/pids" ]; then
  echo "run-local: stopping the previous run first" >&2
  stopAll
fi

cleanup() {
  local code=$?
  trap - EXIT INT TERM
  if [ "$keep" = 1 ] && [ "$code" = 0 ]; then return; fi
  if [ "$code" = 130 ] || [ "$code" = 143 ]; then
    echo "run-local: interrupted; stopping everything" >&2
  elif [ "$code" != 0 ] && [ -f "$state/pids" ]; then
    echo "run-local: failed; logs are in $state/*.log" >&2
  fi
  stopAll
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in its own session with output to $state/<name>.log and records its group.
spawn() {
  local name=$1
  shift
  setsid "$@" >"$state/$name.out" 2>"$state/$name.log" </dev/null &
  local pid=$!
  echo "$name $pid" >>"$state/pids"
  echo "$pid"
}

# Waits for a line starting with READY in $state/<name>.out and prints it.
waitReady() {
  local name=$1 pid=$2
  for _ in $(seq 1 $((wait_s * 5))); do
    if grep -q '^READY ' "$state/$name.out" 2>/dev/null; then
      grep -m1 '^READY ' "$state/$name.out"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || {
      tail -n 20 "$state/$name.log" >&2
      fail "$name exited before it was ready (log: $state/$name.log)"
    }
    sleep 0.2
  done
  fail "$name was not ready within $wait_s s (log: $state/$name.log)"
}

field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"; }

freePort() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  fail "no free port on 127.0.0.1"
}

# --- installing and building -----------------------------------------------------------------

started=$(date +%s)
mkdir -p "$state"
chmod 700 "$state"

say "installing missing Debian packages"
"$root/tools/install-deps.sh"

say "building the control plane (kube-apiserver with embedded etcd; cached after the first build)"
apiserver=${SU_KUBE_TESTENV:-$("$root/tools/kube-testenv/build.sh")}

if command -v kubectl >/dev/null 2>&1; then
  kubectl=$(command -v kubectl)
else
  say "building kubectl (not on PATH)"
  kubectl=$("$root/tools/kubectl/build.sh")
fi

say "building the operator and the simulator in $build"
SU_BUILD_DIR="$build" SU_INSTALL_DEPS=0 "$root/tools/build.sh" serviceuser-operator digicert-sim
operator="$build/src/serviceuser-operator"
sim="$build/tools/digicert-sim/digicert-sim"

# --- starting --------------------------------------------------------------------------------

say "starting the control plane in $state/kube"
pid=$(spawn control-plane "$apiserver" --crds="$root/crds" --dir "$state/kube")
ready=$(waitReady control-plane "$pid")
kubeconfig=$(field kubeconfig "$ready")
echo "$ready" >&2
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

say "starting the DigiCert ONE simulator in $state/sim"
pid=$(spawn simulator "$sim" --state-dir "$state/sim")
ready=$(waitReady simulator "$pid")
sim_url=$(field url "$ready")
sim_ca=$(field ca "$ready")
echo "DigiCert ONE simulator at $sim_url" >&2

say "creating the issuer's API key Secret and the DigiCertIssuer for the simulator"
# The simulator's administrator key (a local test credential) goes through a file, never argv.
(umask 077 && field api_key "$ready" >"$state/admin-api-key")
k create secret generic digicert-admin-api-key --from-file=api-key="$state/admin-api-key" \
  --dry-run=client -o yaml | k apply -f -
# samples/issuer.yaml with the simulator's URL and CA in place of the real host's.
{
  sed "s#^  url: .*#  url: $sim_url#" "$root/samples/issuer.yaml"
  echo "  caBundle: |"
  sed 's/^/    /' "$sim_ca"
} >"$state/issuer.yaml"
k apply -f "$state/issuer.yaml"

say "starting the operator (text logs in $state/operator.log)"
metrics_port=$(freePort)
probe_port=$(freePort)
pid=$(spawn operator "$operator" --kubeconfig "$kubeconfig" --log-format text \
  --metrics-bind-address "127.0.0.1:$metrics_port" \
  --health-probe-bind-address "127.0.0.1:$probe_port")
for i in $(seq 1 $((wait_s * 5))); do
  curl -fsS "http://127.0.0.1:$probe_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "the operator exited (log: $state/operator.log)"
  [ "$i" = $((wait_s * 5)) ] && fail "the operator was not ready within $wait_s s"
  sleep 0.2
done
echo "operator ready: metrics at http://127.0.0.1:$metrics_port/metrics" >&2

# --- the samples -----------------------------------------------------------------------------

say "applying the ServiceUsers in samples/"
for f in "$root"/samples/*.yaml; do
  [ "$(basename "$f")" = issuer.yaml ] && continue # replaced by the generated issuer above
  k apply -f "$f"
done
k wait serviceusers --all --for=condition=Ready --timeout="${wait_s}s" >/dev/null

say "kubectl get serviceusers"
k get serviceusers

secretSummary() {
  # describe lists each key with its size, never its value.
  k describe secret "$1" | sed -n '/^Annotations:/,$p'
}

say "Secret build-signer-token (keys and sizes only)"
secretSummary build-signer-token
say "Secret cert-issuer-bot (keys and sizes only)"
secretSummary cert-issuer-bot

# --- a rotation ------------------------------------------------------------------------------

revisionOf() {
  k get secret build-signer-token -o jsonpath='{.metadata.annotations.identity\.serviceuser\.dev/revision}'
}
before=$(revisionOf)
identity_before=$(k get su build-signer -o jsonpath='{.status.current.friendlyName}')
say "rotating build-signer (identity $identity_before, Secret revision $before)"
k annotate serviceuser build-signer --overwrite "identity.serviceuser.dev/rotate=$(date -u +%Y%m%dT%H%M%SZ)"
after=$before
for _ in $(seq 1 $((wait_s * 5))); do
  after=$(revisionOf)
  [ "$after" != "$before" ] && break
  sleep 0.2
done
[ "$after" != "$before" ] || fail "the Secret's revision did not change within $wait_s s"
k wait serviceuser build-signer --for=condition=Ready --timeout="${wait_s}s" >/dev/null
k get serviceuser build-signer
identity_after=$(k get su build-signer -o jsonpath='{.status.current.friendlyName}')
echo "identity $identity_before -> $identity_after; Secret revision $before -> $after" >&2
k get serviceuser build-signer \
  -o jsonpath='predecessor {.status.predecessor.friendlyName} is retired after {.status.predecessor.retireAfter} (spec.retireGracePeriod){"\n"}'
secretSummary build-signer-token
say "Events of build-signer"
k get events --field-selector involvedObject.name=build-signer \
  --sort-by=.metadata.creationTimestamp -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message

say "done in $(($(date +%s) - started)) s"
cat >&2 <<EOF
To use kubectl against this control plane:
  export KUBECONFIG=$kubeconfig
Operator log: $state/operator.log
EOF
if [ "$keep" = 1 ]; then
  cat >&2 <<EOF
Everything is still running. Stop it with:
  tools/run-local.sh --stop
EOF
else
  echo "Stopping everything (run with --keep to leave it running)." >&2
fi
