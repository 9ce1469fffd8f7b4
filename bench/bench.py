#!/usr/bin/env python3
"""Convergence, API cost and memory of serviceuser-operator at several numbers of ServiceUsers.

For each N it runs two legs, each on a fresh control plane and a fresh simulator:

  reference  bench-reference (bench/reference_client.cc): only the unavoidable work per object,
             at the same number of workers and the same client-side rate limits;
  operator   serviceuser-operator: convergence, then 60 s idle, then a restart.

Every figure is measured; nothing is asserted. Run it through bench/run.sh.
"""

import argparse
import base64
import http.client
import json
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

GROUP = "identity.serviceuser.dev"
VERSION = "v1alpha1"
NAMESPACE = "bench"
API_KEY = "bench-admin-key"
READ_VERBS = {"GET", "LIST", "WATCH"}
# What the operator writes. Anything else the API server counts (its own leases, for one) is
# reported as background.
OPERATOR_RESOURCES = {"serviceusers", "secrets", "events"}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- processes ---------------------------------------------------------------------------------


class Proc:
    """A child process whose stdout is scanned for a READY line and whose stderr goes to a file."""

    def __init__(self, argv, log_path, ready_timeout=300):
        self.argv = argv
        self.log_path = log_path
        self.err = open(log_path, "ab")
        self.started = time.monotonic()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.err,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.ready_line = None
        self.ready_timeout = ready_timeout

    def wait_ready_line(self):
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.argv[0]} exited before READY; see {self.log_path}")
            line = line.decode().strip()
            if line.startswith("READY"):
                self.ready_line = line
                threading.Thread(target=self._drain, daemon=True).start()
                return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
        raise RuntimeError(f"{self.argv[0]} printed no READY in {self.ready_timeout} s")

    def _drain(self):
        for line in self.p.stdout:
            self.last_stdout = line.decode().strip()

    @property
    def pid(self):
        return self.p.pid

    def stop(self, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.close()


def proc_stats(pid):
    """Peak resident memory (VmHWM, MiB), current RSS (MiB) and CPU seconds (user + system)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                out["peak_rss_mib"] = int(line.split()[1]) / 1024
            elif line.startswith("VmRSS:"):
                out["rss_mib"] = int(line.split()[1]) / 1024
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    out["cpu_seconds"] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def tree_cpu_seconds(pid):
    """CPU seconds of a process and its descendants (the control plane runs its server as a
    child)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += proc_stats(p)["cpu_seconds"]
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return total


# --- the API server ----------------------------------------------------------------------------


class Api:
    """A small Kubernetes client: bearer token, the cluster CA, one connection per thread."""

    def __init__(self, server, token, ca_file):
        u = urllib.parse.urlparse(server)
        self.host, self.port = u.hostname, u.port
        self.token = token
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.local = threading.local()

    def _conn(self, fresh=False, timeout=120):
        c = getattr(self.local, "conn", None)
        if c is None or fresh:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
            self.local.conn = c
        return c

    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in range(3):
            try:
                c = self._conn(fresh=attempt > 0)
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                payload = r.read()
                return r.status, payload
            except (http.client.HTTPException, OSError):
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, body=None, ok=(200, 201)):
        status, payload = self.request(method, path, body)
        if status not in ok:
            raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload) if payload else None

    def stream(self, path):
        """A watch: yields one decoded event per line until the server closes it."""
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=None)
        c.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError(f"watch {path}: {r.status} {r.read()[:300]!r}")
        while True:
            line = r.readline()
            if not line:
                return
            yield json.loads(line)

    def request_counts(self):
        """apiserver_request_total summed by (verb, resource, subresource)."""
        status, payload = self.request("GET", "/metrics")
        if status != 200:
            raise RuntimeError(f"GET /metrics: {status}")
        counts = {}
        for line in payload.decode().splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            labels_text, value = line[len("apiserver_request_total{"):].rsplit("} ", 1)
            labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
            key = (labels.get("verb", ""), labels.get("resource", ""),
                   labels.get("subresource", ""))
            counts[key] = counts.get(key, 0) + float(value)
        return counts


def su_path(name=""):
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{NAMESPACE}/serviceusers"
    return f"{base}/{name}" if name else base


def is_ready(obj):
    status = obj.get("status") or {}
    if status.get("pending"):
        return False
    gen = obj["metadata"].get("generation")
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True" and c.get("observedGeneration") == gen
    return False


class Tracker:
    """Watches ServiceUsers and Secrets and keeps, per name, when each was first seen and first
    seen ready (the harness's clock: time.monotonic())."""

    def __init__(self, api):
        self.api = api
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.su_added = {}
        self.su_ready = {}
        self.ready_now = set()
        self.became_unready = 0
        self.secret_added = {}
        self.issued_at = {}
        self.created_at = {}
        self.threads = []
        self.stopped = False

    def stop(self):
        self.stopped = True

    def start(self):
        for kind in ("serviceusers", "secrets"):
            if kind == "serviceusers":
                path = su_path()
            else:
                path = f"/api/v1/namespaces/{NAMESPACE}/secrets"
            rv, cont, now = None, "", time.monotonic()
            while True:
                page = self.api.json("GET", path + "?limit=500" +
                                     (f"&continue={urllib.parse.quote(cont)}" if cont else ""))
                rv = rv or page["metadata"]["resourceVersion"]
                for obj in page.get("items", []):
                    self._seen(kind, obj, now)
                cont = page["metadata"].get("continue")
                if not cont:
                    break
            t = threading.Thread(target=self._watch, args=(kind, path, rv), daemon=True)
            t.start()
            self.threads.append(t)

    def _watch(self, kind, path, rv):
        while not self.stopped:
            q = f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=3600&allowWatchBookmarks=true"
            try:
                for ev in self.api.stream(q):
                    if self.stopped:
                        return
                    obj = ev.get("object") or {}
                    rv = obj.get("metadata", {}).get("resourceVersion", rv)
                    if ev.get("type") in ("ADDED", "MODIFIED"):
                        self._seen(kind, obj, time.monotonic())
            except Exception as e:  # a broken stream resumes from the last version seen
                if self.stopped:
                    return
                log(f"watch {kind} ended: {e}")
                time.sleep(0.5)

    def _seen(self, kind, obj, now):
        name = obj["metadata"]["name"]
        with self.cond:
            if kind == "secrets":
                self.secret_added.setdefault(name, now)
                return
            self.su_added.setdefault(name, now)
            self.created_at.setdefault(name, obj["metadata"].get("creationTimestamp"))
            current = (obj.get("status") or {}).get("current") or {}
            if current.get("issuedAt"):
                self.issued_at[name] = current["issuedAt"]
            if is_ready(obj):
                self.su_ready.setdefault(name, now)
                self.ready_now.add(name)
            elif name in self.ready_now:
                self.ready_now.discard(name)
                self.became_unready += 1
            self.cond.notify_all()

    def wait_all_ready(self, names, timeout):
        deadline = time.monotonic() + timeout
        last_log = 0
        with self.cond:
            while True:
                missing = sum(1 for n in names if n not in self.ready_now)
                if missing == 0:
                    return True
                now = time.monotonic()
                if now >= deadline:
                    return False
                if now - last_log > 30:
                    log(f"  {len(names) - missing}/{len(names)} ready")
                    last_log = now
                self.cond.wait(min(1.0, deadline - now))

    def all_ready(self, names):
        with self.lock:
            return all(n in self.ready_now for n in names)


# --- workload ------------------------------------------------------------------------------------


def service_user(name):
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ServiceUser",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "issuerRef": {"name": "digicert"},
            "email": "platform@example.com",
            "accounts": ["acct-1"],
            "access": [{"manager": "Software Trust", "roles": ["signer"]}],
            "secret": {"name": f"{name}-token"},
        },
    }


def apply_all(api, names, threads=4):
    """Creates every ServiceUser with plain POSTs over `threads` keep-alive connections."""
    errors = []
    chunks = [names[i::threads] for i in range(threads)]

    def run(chunk):
        for n in chunk:
            status, payload = api.request("POST", su_path(), service_user(n))
            if status != 201:
                errors.append(f"{n}: {status} {payload[:200]!r}")

    ts = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} creates failed, first: {errors[0]}")


def prepare_namespace(api, sim):
    api.json("POST", "/api/v1/namespaces",
             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    api.json("POST", f"/api/v1/namespaces/{NAMESPACE}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "digicert-admin"},
        "data": {"api-key": base64.b64encode(API_KEY.encode()).decode()}})
    with open(sim["ca"]) as f:
        ca_pem = f.read()
    api.json("POST", f"/apis/{GROUP}/{VERSION}/namespaces/{NAMESPACE}/digicertissuers", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "DigiCertIssuer",
        "metadata": {"name": "digicert"},
        "spec": {"url": sim["url"], "apiKeySecretRef": {"name": "digicert-admin", "key": "api-key"},
                 "caBundle": ca_pem}})


# --- the simulator and the operator's metrics ---------------------------------------------------


def http_get(url, timeout=60):
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        c.request("GET", u.path + (f"?{u.query}" if u.query else ""))
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def sim_calls(sim):
    status, payload = http_get(sim["control"] + "/control/state", timeout=300)
    if status != 200:
        raise RuntimeError(f"simulator state: {status}")
    state = json.loads(payload)
    return dict(state.get("calls", {})), len(state.get("users", []))


def prom_counts(url, names):
    """Counters and gauges of a Prometheus text page, keyed by (name, labels text)."""
    try:
        status, payload = http_get(url, timeout=30)
    except OSError:
        return {}
    if status != 200:
        return {}
    out = {}
    for line in payload.decode().splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:]+)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$", line)
        if m and m.group(1) in names:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def delta(after, before):
    keys = set(after) | set(before)
    d = {k: after.get(k, 0) - before.get(k, 0) for k in keys}
    return {k: v for k, v in d.items() if v}


def api_breakdown(d, exclude=None):
    """API request deltas as {"VERB resource[/sub]": count}, minus the harness's own requests."""
    out = {}
    for (verb, resource, sub), v in d.items():
        if not resource:
            continue  # non-resource URLs: /metrics, /readyz...
        key = f"{verb} {resource}" + (f"/{sub}" if sub else "")
        out[key] = out.get(key, 0) + v
    for k, v in (exclude or {}).items():
        if k in out:
            out[k] -= v
            if not out[k]:
                del out[k]
    return dict(sorted(out.items()))


def writes_of(breakdown, resources=None):
    total = 0
    for key, v in breakdown.items():
        verb, res = key.split(" ", 1)
        if verb in READ_VERBS:
            continue
        if resources is not None and res.split("/")[0] not in resources:
            continue
        total += v
    return total


def sim_writes(calls_delta):
    return sum(v for k, v in calls_delta.items() if not k.startswith("GET "))


def pct(values, q):
    if not values:
        return None
    s = sorted(values)
    i = min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))
    return s[i]


# --- one leg -------------------------------------------------------------------------------------


class Environment:
    """A fresh control plane, simulator and benchmark namespace."""

    def __init__(self, args, workdir):
        self.args = args
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)

    def __enter__(self):
        t = time.monotonic()
        self.kube = Proc([self.args.testenv, f"--crds={self.args.crds}", "--dir",
                          os.path.join(self.dir, "kube")], os.path.join(self.dir, "kube.log"))
        ready = self.kube.wait_ready_line()
        self.kubeconfig = ready["kubeconfig"]
        self.server = ready["server"]
        with open(os.path.join(ready["dir"], "tokens.json")) as f:
            token = json.load(f)["admin"]
        with open(self.kubeconfig) as f:
            ca_b64 = re.search(r"certificate-authority-data:\s*(\S+)", f.read()).group(1)
        self.ca_file = os.path.join(self.dir, "cluster-ca.crt")
        with open(self.ca_file, "wb") as f:
            f.write(base64.b64decode(ca_b64))
        self.api = Api(self.server, token, self.ca_file)
        self.sim_proc = Proc([self.args.sim, "--state-dir", os.path.join(self.dir, "sim"),
                              "--api-key", API_KEY], os.path.join(self.dir, "sim.log"))
        self.sim = self.sim_proc.wait_ready_line()
        prepare_namespace(self.api, self.sim)
        self.setup_seconds = time.monotonic() - t
        return self

    def __exit__(self, *exc):
        for p in (getattr(self, "sim_proc", None), getattr(self, "kube", None)):
            if p:
                p.stop()


def converge(env, controller_pid, names, timeout, on_wait=None):
    """Applies every ServiceUser and waits until all are ready; returns the measurements."""
    tracker = Tracker(env.api)
    tracker.start()
    api0 = env.api.request_counts()
    sim0, _ = sim_calls(env.sim)
    cpu0 = proc_stats(controller_pid)["cpu_seconds"]
    others0 = (tree_cpu_seconds(env.kube.pid), tree_cpu_seconds(env.sim_proc.pid))

    t0 = time.monotonic()
    apply_all(env.api, names)
    t_applied = time.monotonic()
    if on_wait:
        on_wait()
    ok = tracker.wait_all_ready(names, timeout)
    t_ready = time.monotonic()
    stats = proc_stats(controller_pid)
    others1 = (tree_cpu_seconds(env.kube.pid), tree_cpu_seconds(env.sim_proc.pid))
    tracker.stop()

    api1 = env.api.request_counts()
    sim1, users = sim_calls(env.sim)
    n = len(names)
    breakdown = api_breakdown(delta(api1, api0), exclude={"POST serviceusers": n})
    calls = delta(sim1, sim0)
    with tracker.lock:
        ready_n = sum(1 for x in names if x in tracker.ready_now)
        secret_lat = [tracker.secret_added[f"{x}-token"] - tracker.su_added[x] for x in names
                      if f"{x}-token" in tracker.secret_added and x in tracker.su_added]
        ready_lat = [tracker.su_ready[x] - tracker.su_added[x] for x in names
                     if x in tracker.su_ready and x in tracker.su_added]
    seconds = t_ready - t0
    return tracker, {
        "completed": ok,
        "ready": ready_n,
        "apply_seconds": round(t_applied - t0, 3),
        "converge_seconds": round(seconds, 3),
        "throughput_per_s": round(ready_n / seconds, 2) if seconds > 0 else None,
        "secret_latency_s": {"median": rnd(pct(secret_lat, 50)), "p99": rnd(pct(secret_lat, 99)),
                             "samples": len(secret_lat)},
        "ready_latency_s": {"median": rnd(pct(ready_lat, 50)), "p99": rnd(pct(ready_lat, 99)),
                            "samples": len(ready_lat)},
        "peak_rss_mib": round(stats["peak_rss_mib"], 1),
        "rss_mib": round(stats["rss_mib"], 1),
        "threads": stats["threads"],
        "cpu_seconds": round(stats["cpu_seconds"] - cpu0, 2),
        "apiserver_cpu_seconds": round(others1[0] - others0[0], 2),
        "simulator_cpu_seconds": round(others1[1] - others0[1], 2),
        "api_requests": breakdown,
        "api_requests_per_su": {k: round(v / n, 3) for k, v in breakdown.items()},
        "api_writes_per_su": round(writes_of(breakdown, OPERATOR_RESOURCES) / n, 3),
        "api_writes_per_su_without_events":
            round(writes_of(breakdown, OPERATOR_RESOURCES - {"events"}) / n, 3),
        "api_background_writes": writes_of(breakdown) - writes_of(breakdown, OPERATOR_RESOURCES),
        "remote_calls": dict(sorted(calls.items())),
        # An unfinished run divides by the identities created so far.
        "remote_calls_per_identity": {k: round(v / (n if ok else max(users, 1)), 3)
                                      for k, v in sorted(calls.items())},
        "remote_users": users,
    }


def rnd(x, digits=3):
    return None if x is None else round(x, digits)


def reference_leg(args, n, workdir):
    names = [f"su-{i:05d}" for i in range(n)]
    with Environment(args, workdir) as env:
        ref = Proc([args.reference, "--kubeconfig", env.kubeconfig, "--namespace", NAMESPACE,
                    "--digicert-url", env.sim["url"], "--ca-file", env.sim["ca"], "--api-key",
                    API_KEY, "--workers", str(args.workers), "--kube-api-qps", str(args.qps),
                    "--kube-api-burst", str(args.burst)], os.path.join(workdir, "reference.log"))
        ref.wait_ready_line()
        try:
            _, m = converge(env, ref.pid, names, args.timeout)
        finally:
            ref.stop()
        m["setup_seconds"] = round(env.setup_seconds, 1)
        return m


class Operator:
    def __init__(self, args, env, workdir):
        self.args, self.env, self.workdir = args, env, workdir
        self.runs = 0

    def start(self):
        self.runs += 1
        self.metrics_port, self.probe_port = free_port(), free_port()
        argv = [self.args.operator, "--kubeconfig", self.env.kubeconfig,
                "--namespace", NAMESPACE,
                "--metrics-bind-address", f"127.0.0.1:{self.metrics_port}",
                "--health-probe-bind-address", f"127.0.0.1:{self.probe_port}",
                "--workers", str(self.args.workers),
                "--kube-api-qps", str(self.args.qps), "--kube-api-burst", str(self.args.burst),
                "--digicert-budget", self.args.budget, "--log-level", "info"]
        self.started = time.monotonic()
        self.proc = Proc(argv, os.path.join(self.workdir, f"operator-{self.runs}.log"))
        return self

    def wait_readyz(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _ = http_get(f"http://127.0.0.1:{self.probe_port}/readyz", timeout=5)
                if status == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            if self.proc.p.poll() is not None:
                raise RuntimeError(f"operator exited; see {self.proc.log_path}")
            time.sleep(0.01)
        raise RuntimeError("operator not ready")

    def metrics(self):
        return prom_counts(f"http://127.0.0.1:{self.metrics_port}/metrics",
                           {"serviceuser_reconcile_total", "workqueue_depth",
                            "kube_client_requests_total", "digicert_requests_total",
                            "serviceuser_remote_changes_total"})

    def stop(self):
        self.proc.stop()


def summed(metrics, name):
    return sum(v for (k, _), v in metrics.items() if k == name)


def wait_quiet(op, n, timeout):
    """After a restart: until every ServiceUser was reconciled once and the queue is empty."""
    deadline = time.monotonic() + timeout
    stable_since, last = None, None
    while time.monotonic() < deadline:
        m = op.metrics()
        reconciles = summed(m, "serviceuser_reconcile_total")
        depth = summed(m, "workqueue_depth")
        state = (reconciles, depth)
        if reconciles >= n and depth == 0:
            if state == last:
                if time.monotonic() - stable_since >= 5:
                    return True, reconciles
            else:
                stable_since = time.monotonic()
        last = state
        time.sleep(0.5)
    return False, summed(op.metrics(), "serviceuser_reconcile_total")


def perf_start(args, pid, workdir):
    if not args.perf:
        return None
    out = os.path.join(workdir, "perf.data")
    return subprocess.Popen(["perf", "record", "-F", "49", "--call-graph", "dwarf,16384",
                             "-p", str(pid), "-o", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perf_stop(p, workdir):
    if p is None:
        return None
    p.send_signal(signal.SIGINT)
    p.wait(60)
    report = os.path.join(workdir, "perf-report.txt")
    with open(report, "w") as f:
        subprocess.run(["perf", "report", "-i", os.path.join(workdir, "perf.data"), "--stdio",
                        "--children", "--percent-limit", "3", "-g", "none", "--sort", "symbol",
                        "-w", "12,12,160"], stdout=f, stderr=subprocess.DEVNULL)
    return report


def operator_leg(args, n, workdir):
    names = [f"su-{i:05d}" for i in range(n)]
    with Environment(args, workdir) as env:
        op = Operator(args, env, workdir).start()
        op.wait_readyz()
        om0 = op.metrics()
        perf = [None]
        try:
            tracker, m = converge(env, op.proc.pid, names, args.timeout,
                                  on_wait=lambda: perf.__setitem__(0, perf_start(args, op.proc.pid,
                                                                                  workdir)))
        finally:
            report = perf_stop(perf[0], workdir)
        if report:
            m["perf_report"] = report
        om1 = op.metrics()
        m["operator_metrics_delta"] = {f"{k}{lab}": v for (k, lab), v in
                                       sorted(delta(om1, om0).items())
                                       if k != "workqueue_depth"}
        m["setup_seconds"] = round(env.setup_seconds, 1)
        if not m["completed"]:
            op.stop()
            return m

        # Idle: nothing changes, so nothing should be written.
        log(f"  idle {args.idle} s")
        api0, (sim0, _) = env.api.request_counts(), sim_calls(env.sim)
        time.sleep(args.idle)
        api1, (sim1, _) = env.api.request_counts(), sim_calls(env.sim)
        idle = api_breakdown(delta(api1, api0))
        idle_calls = delta(sim1, sim0)
        m["idle"] = {"seconds": args.idle, "api_requests": idle,
                     "api_writes": writes_of(idle, OPERATOR_RESOURCES),
                     "api_background_writes": writes_of(idle) - writes_of(idle, OPERATOR_RESOURCES),
                     "remote_calls": idle_calls, "remote_writes": sim_writes(idle_calls)}

        # Restart: a new process finds every ServiceUser done.
        log("  restart")
        tracker = Tracker(env.api)
        tracker.start()
        wall_restart = time.time()
        op.stop()
        api0, (sim0, _) = env.api.request_counts(), sim_calls(env.sim)
        unready0 = tracker.became_unready
        time.sleep(1)  # the new tracker has listed and reports every ServiceUser ready
        still0 = tracker.all_ready(names)
        op.start()
        readyz = op.wait_readyz()
        quiet, reconciles = wait_quiet(op, n, args.timeout)
        stats = proc_stats(op.proc.pid)
        api1, (sim1, _) = env.api.request_counts(), sim_calls(env.sim)
        restart = api_breakdown(delta(api1, api0))
        calls = delta(sim1, sim0)
        m["restart"] = {"readyz_seconds": round(readyz, 3),
                        "settled": quiet,
                        "settle_seconds": round(time.monotonic() - op.started, 1),
                        "reconciles": reconciles,
                        "all_still_ready": still0 and tracker.all_ready(names)
                        and tracker.became_unready == unready0,
                        "became_unready": tracker.became_unready - unready0,
                        "events_by_reason": event_reasons(env.api, wall_restart),
                        "api_requests": restart,
                        "api_writes": writes_of(restart, OPERATOR_RESOURCES),
                        "api_background_writes":
                            writes_of(restart) - writes_of(restart, OPERATOR_RESOURCES),
                        "remote_calls": calls, "remote_writes": sim_writes(calls),
                        "peak_rss_mib": round(stats["peak_rss_mib"], 1),
                        "cpu_seconds": round(stats["cpu_seconds"], 2)}
        tracker.stop()
        op.stop()
        return m


def event_reasons(api, since):
    """Events created at or after `since` (wall clock, whole seconds), counted by reason."""
    out, cont = {}, ""
    since_text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(since)))
    while True:
        page = api.json("GET", f"/apis/events.k8s.io/v1/namespaces/{NAMESPACE}/events?limit=500"
                        + (f"&continue={urllib.parse.quote(cont)}" if cont else ""))
        for e in page.get("items", []):
            if e["metadata"].get("creationTimestamp", "") >= since_text:
                entry = out.setdefault(f"{e.get('type')}/{e.get('reason')}",
                                       {"count": 0, "example": e.get("note", "")})
                entry["count"] += 1
        cont = page["metadata"].get("continue")
        if not cont:
            return out


# --- reporting -----------------------------------------------------------------------------------


TARGETS = {
    "throughput_ratio": ">= 0.70 of the reference",
    "api_writes_per_su": "<= 4 per new ServiceUser",
    "idle_writes": "0 (API and remote) in 60 s idle",
    "restart_writes": "0 remote and 0 API after a restart",
    "peak_rss_mib_10000": "<= 64 MiB at N = 10,000",
    "readyz_seconds_1000": "<= 1 s after start with 1,000 existing",
}


def verdicts(results):
    out = []
    for r in results:
        n, op, ref = r["n"], r.get("operator") or {}, r.get("reference") or {}
        ratio = r.get("throughput_ratio")
        out.append((n, "throughput >= 70% of reference", ratio is not None and ratio >= 0.7,
                    f"{ratio:.2f}" if ratio is not None else "n/a"))
        w = op.get("api_writes_per_su")
        if op.get("completed"):
            out.append((n, "<= 4 API writes per new ServiceUser", w is not None and w <= 4, w))
        idle = op.get("idle")
        if idle:
            out.append((n, "0 writes while idle", idle["api_writes"] == 0
                        and idle["remote_writes"] == 0,
                        f"api {idle['api_writes']:g}, remote {idle['remote_writes']:g}"))
        rs = op.get("restart")
        if rs:
            out.append((n, "0 API and 0 remote writes after restart",
                        rs["api_writes"] == 0 and rs["remote_writes"] == 0,
                        f"api {rs['api_writes']:g}, remote {rs['remote_writes']:g}"))
            if n == 1000:
                out.append((n, "ready <= 1 s after start with 1,000 existing",
                            rs["readyz_seconds"] <= 1, f"{rs['readyz_seconds']} s"))
        if n == 10000 and op.get("peak_rss_mib") is not None:
            peak = max(op["peak_rss_mib"], (rs or {}).get("peak_rss_mib", 0))
            partial = "" if op.get("completed") else f" (unfinished: {op['ready']} of {n} ready)"
            out.append((n, "peak RSS <= 64 MiB at 10,000", peak <= 64, f"{peak} MiB{partial}"))
    return out


def fmt(x, unit=""):
    if x is None:
        return "–"
    if isinstance(x, float):
        x = f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"
    return f"{x}{unit}"


def own(key):
    """Whether an API request key ("VERB resource/sub") is on a resource the operator uses; the
    table leaves out the API server's own traffic, latest.json keeps it."""
    resource = key.split(" ", 1)[1].split("/")[0]
    return resource in OPERATOR_RESOURCES | {"digicertissuers", "clusterdigicertissuers"}


def markdown(doc):
    results = doc["results"]
    cols = [str(r["n"]) for r in results]
    rows = []

    def row(label, f):
        vals = []
        for r in results:
            try:
                vals.append(f(r))
            except (KeyError, TypeError):
                vals.append("–")
        rows.append(f"| {label} | " + " | ".join(vals) + " |")

    op = lambda r: r["operator"]
    ref = lambda r: r["reference"]
    row("leg wall time, operator / reference (s)",
        lambda r: f"{fmt(r['operator_wall_seconds'])} / {fmt(r['reference_wall_seconds'])}")
    row("all ready after apply, operator (s)", lambda r: fmt(op(r)["converge_seconds"]) +
        ("" if op(r)["completed"] else f" (timeout, {op(r)['ready']} ready)"))
    row("all ready after apply, reference (s)", lambda r: fmt(ref(r)["converge_seconds"]))
    row("throughput operator / reference (SU/s)",
        lambda r: f"{fmt(op(r)['throughput_per_s'])} / {fmt(ref(r)['throughput_per_s'])}")
    row("**throughput ratio** (target ≥ 0.70)", lambda r: fmt(r["throughput_ratio"]))
    row("apply (POST of N objects) (s)", lambda r: fmt(op(r)["apply_seconds"]))
    row("apply→Secret median / p99 (s)", lambda r: f"{fmt(op(r)['secret_latency_s']['median'])}"
        f" / {fmt(op(r)['secret_latency_s']['p99'])}")
    row("apply→Ready median / p99 (s)", lambda r: f"{fmt(op(r)['ready_latency_s']['median'])}"
        f" / {fmt(op(r)['ready_latency_s']['p99'])}")
    row("reference apply→Secret median / p99 (s)",
        lambda r: f"{fmt(ref(r)['secret_latency_s']['median'])}"
        f" / {fmt(ref(r)['secret_latency_s']['p99'])}")
    done = lambda r, v: v if op(r)["completed"] else "unfinished: see latest.json"
    row("**API writes per SU** (target ≤ 4)", lambda r: done(r, fmt(op(r)["api_writes_per_su"])))
    row("API writes per SU without Events",
        lambda r: done(r, fmt(op(r)["api_writes_per_su_without_events"])))
    row("API requests per SU by verb/resource",
        lambda r: ", ".join(f"{k} {v:g}" for k, v in op(r)["api_requests_per_su"].items()
                            if own(k)) if op(r)["completed"] else "unfinished: " + ", ".join(
            f"{k} {v:g}" for k, v in op(r)["api_requests"].items() if own(k)) + " in all")
    row("reference API requests per SU",
        lambda r: ", ".join(f"{k} {v:g}" for k, v in ref(r)["api_requests_per_su"].items()
                            if own(k)))
    row("simulator calls per identity",
        lambda r: ", ".join(f"{k.replace('/account/api/v1', '')} {v:g}"
                            for k, v in op(r)["remote_calls_per_identity"].items()))
    row("operator CPU during convergence (s)", lambda r: fmt(op(r)["cpu_seconds"]))
    row("reference CPU (s)", lambda r: fmt(ref(r)["cpu_seconds"]))
    row("API server + simulator CPU, operator leg (s)",
        lambda r: f"{fmt(op(r)['apiserver_cpu_seconds'])} + {fmt(op(r)['simulator_cpu_seconds'])}")
    row("API server + simulator CPU, reference leg (s)",
        lambda r: f"{fmt(ref(r)['apiserver_cpu_seconds'])} + {fmt(ref(r)['simulator_cpu_seconds'])}")
    row("**operator peak RSS (MiB)** (target ≤ 64 at 10,000)",
        lambda r: f"{fmt(op(r)['peak_rss_mib'])} (after restart "
        f"{fmt(op(r).get('restart', {}).get('peak_rss_mib'))})")
    row("reference peak RSS (MiB)", lambda r: fmt(ref(r)["peak_rss_mib"]))
    row("**idle 60 s writes, API / remote** (target 0 / 0)",
        lambda r: f"{fmt(op(r)['idle']['api_writes'])} / {fmt(op(r)['idle']['remote_writes'])}")
    row("**restart writes, API / remote** (target 0 / 0)",
        lambda r: f"{fmt(op(r)['restart']['api_writes'])} / "
        f"{fmt(op(r)['restart']['remote_writes'])}")
    row("restart remote reads", lambda r: ", ".join(
        f"{k.replace('/account/api/v1', '')} {v:g}"
        for k, v in op(r)["restart"]["remote_calls"].items()) or "0")
    row("**/readyz 200 after restart (s)** (target ≤ 1 at 1,000)",
        lambda r: fmt(op(r)["restart"]["readyz_seconds"]))
    row("restart: all reconciled after (s); all still ready",
        lambda r: f"{fmt(op(r)['restart']['settle_seconds'])}; "
        f"{'yes' if op(r)['restart']['all_still_ready'] else 'NO'}"
        f" ({fmt(op(r)['restart']['became_unready'])} turned not ready)")
    row("restart: Events written", lambda r: ", ".join(
        f"{k} {v['count']}" for k, v in op(r)["restart"]["events_by_reason"].items()) or "0")

    runs = sorted({(r.get("started", doc["started"]), tuple(sorted(
        x["n"] for x in doc["results"] if x.get("started") == r.get("started"))))
        for r in doc["results"]})
    lines = ["Runs: " + "; ".join(f"N = {', '.join(map(str, ns))} started {t}" for t, ns in runs)
             + ".", "", f"Latest run {doc['started']} of commit {doc['commit'][:12]} on {doc['machine']['cpus']} CPUs "
             f"(load average at start {doc['machine']['loadavg']}); settings: "
             f"{doc['settings_text']}.", "",
             "| N | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)] + rows
    lines += ["", "| N | target | met | measured |", "|---|---|---|---|"]
    for n, target, met, value in doc["verdicts"]:
        lines.append(f"| {n} | {target} | {'yes' if met else '**no**'} | {value} |")
    return "\n".join(lines) + "\n"


def chart(doc, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no chart")
        return False
    def series(leg, f):
        pts = [(r["n"], f(r[leg])) for r in doc["results"] if r.get(leg)]
        pts = [(x, y) for x, y in pts if y is not None]
        return [x for x, _ in pts], [y for _, y in pts]

    done = lambda m: m["converge_seconds"] if m["completed"] else None
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(*series("operator", done), "o-", label="operator")
    a.plot(*series("reference", done), "s--", label="reference client")
    for r in doc["results"]:
        m = r.get("operator")
        if m and not m["completed"]:
            a.plot([r["n"]], [m["converge_seconds"]], "rx")
            a.annotate(f"stopped: {m['ready']}/{r['n']} ready", (r["n"], m["converge_seconds"]),
                       fontsize=7, ha="right", va="bottom")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("ServiceUsers applied at once (N)")
    a.set_ylabel("seconds until all ready")
    a.set_title("Time to converge")
    a.grid(True, which="both", alpha=0.3)
    a.legend()
    b.plot(*series("operator", lambda m: m["peak_rss_mib"]), "o-", label="operator, convergence")
    b.plot(*series("operator", lambda m: m.get("restart", {}).get("peak_rss_mib")), "^:",
           label="operator, after restart")
    b.plot(*series("reference", lambda m: m["peak_rss_mib"]), "s--", label="reference client")
    b.axhline(64, color="red", lw=0.8, ls="--", label="target at 10,000 (64 MiB)")
    b.set_xscale("log")
    b.set_xlabel("ServiceUsers (N)")
    b.set_ylabel("peak RSS (MiB)")
    b.set_title("Peak resident memory")
    b.grid(True, which="both", alpha=0.3)
    b.legend(fontsize=8)
    fig.suptitle(f"serviceuser-operator benchmark, commit {doc['commit'][:12]}, {doc['started']}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


# --- main ----------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", nargs="*", type=int, default=[100, 1000, 10000])
    p.add_argument("--testenv", required=True)
    p.add_argument("--crds", required=True)
    p.add_argument("--operator", required=True)
    p.add_argument("--sim", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--out", required=True, help="results directory")
    p.add_argument("--workdir", default=None, help="logs and state (default: a temp dir)")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--qps", type=float, default=500)
    p.add_argument("--burst", type=int, default=1000)
    p.add_argument("--budget", default="1000000/5m")
    p.add_argument("--idle", type=int, default=60)
    p.add_argument("--timeout", type=float, default=1500,
                   help="seconds to wait for convergence of one leg")
    p.add_argument("--perf", action="store_true",
                   help="record a CPU profile of the operator during convergence")
    p.add_argument("--skip-reference", action="store_true")
    p.add_argument("--commit", default="unknown", help="the operator's source commit")
    p.add_argument("--merge", action="store_true",
                   help="keep the other N of an existing latest.json in --out")
    args = p.parse_args()

    workdir = args.workdir or tempfile.mkdtemp(prefix="su-bench-")
    os.makedirs(args.out, exist_ok=True)
    settings = {"workers": args.workers, "kube_api_qps": args.qps, "kube_api_burst": args.burst,
                "digicert_budget": args.budget, "idle_seconds": args.idle,
                "simulator_page_size": 100, "operator_page_size": "default (100)"}
    doc = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "commit": args.commit,
           "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg()[0]},
           "settings": settings,
           "settings_text": f"--workers {args.workers} --kube-api-qps {args.qps:g} "
                            f"--kube-api-burst {args.burst} --digicert-budget {args.budget}",
           "latency_method": "harness watch events: Secret ADDED minus ServiceUser ADDED, and "
                             "first ready MODIFIED minus ServiceUser ADDED, on one monotonic clock",
           "targets": TARGETS, "results": [], "workdir": workdir}
    previous = os.path.join(args.out, "latest.json")
    if args.merge and os.path.exists(previous):
        with open(previous) as f:
            old = json.load(f)
        doc["merged_from"] = old.get("merged_from", []) + [old["started"]]
        doc["results"] = [r for r in old["results"] if r["n"] not in args.n]
    log(f"workdir {workdir}")
    for n in args.n:
        r = {"n": n, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "commit": args.commit}
        doc["results"].append(r)
        doc["results"].sort(key=lambda x: x["n"])
        if not args.skip_reference:
            log(f"N={n}: reference")
            t = time.monotonic()
            try:
                r["reference"] = reference_leg(args, n, os.path.join(workdir, f"{n}-reference"))
            except Exception as e:  # one failed leg still leaves the others' figures
                r["reference_error"] = str(e)
                log(f"  reference failed: {e}")
            r["reference_wall_seconds"] = round(time.monotonic() - t, 1)
        log(f"N={n}: operator")
        t = time.monotonic()
        try:
            r["operator"] = operator_leg(args, n, os.path.join(workdir, f"{n}-operator"))
        except Exception as e:
            r["operator_error"] = str(e)
            log(f"  operator failed: {e}")
        r["operator_wall_seconds"] = round(time.monotonic() - t, 1)
        o, f = r.get("operator"), r.get("reference")
        if o and f and o.get("throughput_per_s") and f.get("throughput_per_s"):
            r["throughput_ratio"] = round(o["throughput_per_s"] / f["throughput_per_s"], 3)
        log(f"N={n}: done; operator {o and o.get('converge_seconds')} s, "
            f"reference {f and f.get('converge_seconds')} s")
        doc["verdicts"] = verdicts(doc["results"])
        write(doc, args.out)
    return 0


def write(doc, out):
    with open(os.path.join(out, "latest.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write(markdown(doc))
    chart(doc, os.path.join(out, "latest.png"))


if __name__ == "__main__":
    sys.exit(main())
