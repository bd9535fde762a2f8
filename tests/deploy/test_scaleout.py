"""test_scaleout.py - glorotd scaled out behind nginx, without containers.

Three glorotd processes on loopback ports behind Debian's nginx, configured
from docker/nginx/glorotd.conf, the file compose.yaml mounts into its nginx
(only the replica addresses and the listen port are swapped in), with the
glorotd environment compose.yaml gives its replicas. 300 requests (GET and
POST, three kinds) go through nginx, six at a time, in three phases of 100:

  1. all three replicas up: every response is byte-identical to build/glorot gen;
  2. replica A is killed (SIGKILL) after 30 responses of the phase, with
     requests in flight: nginx must retry every request it still can (those
     whose response had not started), so the only losses allowed are responses
     A had begun to send, cut off mid-body; the test counts and prints them;
  3. replica B gets SIGTERM after 30 responses of the phase while a 64 MiB
     download from it is held open (unread): B stays draining for the rest of
     the phase, refusing new connections and answering requests on nginx's
     kept-alive connections with 503; nginx retries them all on C, so nothing
     is lost at all; the held download then completes intact and B exits 0.

Which request is in flight when a replica dies depends on scheduling; what
is checked does not: no wrong bytes, no failure that nginx could have retried,
cut-off responses only from the killed replica and at most the number of
requests in flight, at least one request retried away from each stopped
replica.
"""
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

import deploy_support as ds

CONCURRENCY = 6
PHASE = 100
ACTION_AFTER = 30

# name, method, path, JSON body or None, the same tensor as glorot gen options
REQUESTS = [
    ("GET raw float32 1 MiB", "GET", "/v1/glorot_uniform?shape=256,1024&seed=42", None,
     ["--shape", "256,1024", "--seed", "42"]),
    ("GET npy float16 torch", "GET",
     "/v1/glorot_uniform?shape=512,512&seed=7&dtype=float16&fan=torch&format=npy", None,
     ["--shape", "512,512", "--seed", "7", "--dtype", "float16", "--fan", "torch",
      "--format", "npy"]),
    ("POST safetensors bfloat16", "POST", "/v1/glorot_uniform",
     {"shape": [128, 2048], "seed": "18446744073709551615", "dtype": "bfloat16",
      "name": "layer.weight", "format": "safetensors"},
     ["--shape", "128,2048", "--seed", "18446744073709551615", "--dtype", "bfloat16",
      "--name", "layer.weight", "--format", "safetensors"]),
]

checks = 0


def ok(cond, what):
    global checks
    if not cond:
        print(f"scaleout: FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    checks += 1
    print(f"scaleout: ok {checks} - {what}")


# ---- the shared settings -------------------------------------------------------

def compose_settings():
    """(nginx site file compose mounts, glorotd environment) from compose.yaml."""
    docker_dir = ds.repo_path("docker")
    with open(os.path.join(docker_dir, "compose.yaml")) as f:
        compose = yaml.safe_load(f)
    mounts = [v.split(":") for v in compose["services"]["nginx"]["volumes"]]
    site = [src for src, dst, *_ in mounts if dst == "/etc/nginx/conf.d/default.conf"]
    ok(len(site) == 1, "compose.yaml mounts one nginx site file")
    env = {k: str(v) for k, v in compose["services"]["glorotd"].get("environment", {}).items()}
    return os.path.normpath(os.path.join(docker_dir, site[0])), env


SERVER_RE = re.compile(r"^(\s*)server\s+glorotd:8080(\s.*)?;\s*$")
LISTEN_RE = re.compile(r"^(\s*)listen\s+8080\s*;\s*$")


def local_site(text, replica_addrs, listen_port):
    """The compose nginx site with the replica line and the listen line swapped."""
    out, servers, listens = [], 0, 0
    for line in text.splitlines():
        m = SERVER_RE.match(line)
        if m:
            servers += 1
            out += [f"{m.group(1)}server {a}{m.group(2) or ''};" for a in replica_addrs]
            continue
        m = LISTEN_RE.match(line)
        if m:
            listens += 1
            out.append(f"{m.group(1)}listen 127.0.0.1:{listen_port};")
            continue
        out.append(line)
    ok(servers == 1 and listens == 1,
       "the compose nginx site has one `server glorotd:8080` and one `listen 8080` line")
    return "\n".join(out) + "\n"


# ---- nginx -----------------------------------------------------------------------

MAIN_CONF = """daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log notice;
{user}
events {{ worker_connections 512; }}
http {{
    log_format scaleout '$http_x_test_id $status "$upstream_addr" "$upstream_status" $body_bytes_sent';
    access_log {d}/access.log scaleout;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    include {d}/site.conf;
}}
"""


class Nginx:
    def __init__(self, site_text_for_port):
        self.dir = tempfile.mkdtemp(prefix="glorotd-nginx.")
        os.chmod(self.dir, 0o755)  # workers run as nobody when we are root
        os.mkdir(os.path.join(self.dir, "tmp"))
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(MAIN_CONF.format(d=self.dir, user=user))
        self.proc = None
        for _ in range(3):  # the free port may be taken before nginx binds it
            self.port = ds.free_port()
            with open(os.path.join(self.dir, "site.conf"), "w") as f:
                f.write(site_text_for_port(self.port))
            if self._start():
                return
        raise RuntimeError(f"nginx did not start: {self.error_log()}")

    def _start(self):
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf"),
             "-e", os.path.join(self.dir, "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + ds.START_TIMEOUT_S
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if ds.http_get(self.port, "/healthz", timeout=2)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        ds.stop_signal(self.proc)
        return False

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _read_access_log(self):
        entries = {}
        with open(os.path.join(self.dir, "access.log")) as f:
            for line in f:
                m = re.match(r'^(\d+) (\d+) "([^"]*)" "([^"]*)" (\d+)$', line.strip())
                if m:
                    addrs = [a.strip() for a in re.split(r"[,:] ", m.group(3))]
                    statuses = [x.strip() for x in re.split(r"[,:] ", m.group(4))]
                    entries[int(m.group(1))] = (int(m.group(2)), addrs, statuses)
        return entries

    def access_log(self, count):
        """{test id: (status, [upstream addresses], [upstream statuses])} for
        requests 0..count-1.
        nginx writes a line after the response has gone out, so the client can
        be done before its line is: wait for all of them (bounded)."""
        deadline = time.monotonic() + ds.START_TIMEOUT_S
        while True:
            entries = self._read_access_log()
            if all(i in entries for i in range(count)) or time.monotonic() > deadline:
                missing = [i for i in range(count) if i not in entries]
                ok(not missing, f"nginx logged requests 0..{count - 1} (missing: {missing[:10]})")
                return entries
            time.sleep(0.02)

    def close(self):
        if self.proc is not None:
            ds.stop_signal(self.proc, signal.SIGQUIT)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- requests ----------------------------------------------------------------------

def expected_bytes(scratch):
    want = []
    for i, (_, _, _, _, opts) in enumerate(REQUESTS):
        path = os.path.join(scratch, f"want{i}")
        ds.run([ds.env("GLOROT_BIN"), "gen", *opts, "-q", "-o", path])
        with open(path, "rb") as f:
            want.append(f.read())
    return want


def fetch(port, want, i):
    """One numbered request through nginx: ok, truncated (status line and
    headers came, the body was cut off), failed (no answer or not 200) or
    wrong (complete but different bytes)."""
    name, method, path, body, _ = REQUESTS[i % len(REQUESTS)]
    headers = {"X-Test-Id": str(i)}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            return i, "failed", f"{name}: no response: {e!r}"
        try:
            got = resp.read()
        except (OSError, http.client.HTTPException) as e:
            kind = "truncated" if resp.status == 200 else "failed"
            return i, kind, f"{name}: status {resp.status}, body cut off: {e!r}"
        if resp.status != 200:
            return i, "failed", f"{name}: status {resp.status}: {got[:200]!r}"
        if got != want[i % len(REQUESTS)]:
            return i, "wrong", f"{name}: {len(got)} bytes differ from glorot gen"
        return i, "ok", name
    finally:
        conn.close()


class HeldDownload:
    """A 64 MiB download straight from one replica, started and then left
    unread, so it stays in flight (more than the kernel's socket buffers hold)
    until finish() reads the rest."""

    SHAPE = "4096,4096"
    SEED = "5"

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", f"/v1/glorot_uniform?shape={self.SHAPE}&seed={self.SEED}")
        self.resp = self.conn.getresponse()
        ok(self.resp.status == 200, "a 64 MiB download from B is in flight, unread")
        self.head = self.resp.read(65536)
        self.want = ds.run([ds.env("GLOROT_BIN"), "gen", "--shape", self.SHAPE, "--seed",
                            self.SEED, "-q", "-o", "-"])

    def finish(self):
        try:
            return self.head + self.resp.read()
        finally:
            self.conn.close()


def run_phase(port, want, first, action=None):
    """PHASE numbered requests, CONCURRENCY at a time; action() runs when
    ACTION_AFTER of them have completed (the others still in flight or queued)."""
    results = []
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        futures = [pool.submit(fetch, port, want, i) for i in range(first, first + PHASE)]
        for f in concurrent.futures.as_completed(futures):
            results.append(f.result())
            if action is not None and len(results) == ACTION_AFTER:
                action()
    return sorted(results)


def outcome(results, kind):
    return [r for r in results if r[1] == kind]


def show(results):
    for i, kind, detail in results:
        if kind != "ok":
            print(f"scaleout:   request {i}: {kind}: {detail}", flush=True)


# ---- the scenario ------------------------------------------------------------------

def scenario(replicas, nginx, want):
    a, b, c = replicas
    log_of = nginx.access_log

    t0 = time.monotonic()
    p1 = run_phase(nginx.port, want, 0)
    seconds = time.monotonic() - t0
    show(p1)
    ok(len(outcome(p1, "ok")) == PHASE,
       f"phase 1, three replicas: {PHASE} responses byte-identical to glorot gen")
    served = {e[1][-1] for i, e in log_of(PHASE).items() if i < PHASE}
    ok(served == {a.addr, b.addr, c.addr}, "phase 1: least_conn spread them over all three")
    mib = sum(len(want[i % len(REQUESTS)]) for i in range(PHASE)) / 2**20
    print(f"scaleout: phase 1 moved {mib:.0f} MiB through nginx in {seconds:.1f} s "
          f"({mib / seconds:.0f} MiB/s on this machine; for information only)")

    p2 = run_phase(nginx.port, want, PHASE, action=a.kill)
    show(p2)
    cut = outcome(p2, "truncated")
    ok(not outcome(p2, "failed") and not outcome(p2, "wrong"),
       "phase 2, A killed mid-run: no failure nginx could retry, no wrong bytes")
    log = log_of(2 * PHASE)
    ok(all(log[i][1][-1] == a.addr for i, _, _ in cut),
       "phase 2: the responses cut off were all being sent by A")
    ok(len(cut) <= CONCURRENCY, f"phase 2: at most {CONCURRENCY} (the requests in flight) lost")
    retried_a = [i for i in range(PHASE, 2 * PHASE)
                 if len(log[i][1]) > 1 and a.addr in log[i][1][:-1]]
    ok(len(retried_a) >= 1, f"phase 2: nginx retried {len(retried_a)} request(s) away from dead A")

    held = HeldDownload(b.port)
    p3 = run_phase(nginx.port, want, 2 * PHASE, action=lambda: b.proc.send_signal(signal.SIGTERM))
    show(p3)
    ok(len(outcome(p3, "ok")) == PHASE,
       f"phase 3, B stopped with SIGTERM mid-run: all {PHASE} responses identical, none lost")
    ok(b.proc.poll() is None, "phase 3: B is still draining while its download in flight is unread")
    log = log_of(3 * PHASE)
    retried_b = [i for i in range(2 * PHASE, 3 * PHASE)
                 if len(log[i][1]) > 1 and b.addr in log[i][1][:-1]]
    got_503 = [i for i in retried_b if "503" in log[i][2]]
    ok(len(retried_b) >= 1, f"phase 3: nginx retried {len(retried_b)} request(s) away from "
                            f"draining B ({len(got_503)} after a 503 on a kept-alive connection)")
    ok(held.finish() == held.want, "phase 3: the download in flight at SIGTERM completed intact")
    ok(b.wait() == 0 and "stopped" in b.log(), "phase 3: B then exited 0 by itself")
    ok(ds.http_get(c.port, "/healthz")[0] == 200, "C is still serving")

    total = 3 * PHASE
    print(f"scaleout: {total} requests through nginx: {total - len(cut)} byte-identical, "
          f"{len(cut)} cut off mid-body by the SIGKILL (not retryable), 0 lost that nginx "
          f"could retry; nginx retried {len(retried_a)} away from killed A and "
          f"{len(retried_b)} away from draining B ({len(got_503)} after a 503)")
    with open(f"/proc/{c.proc.pid}/status") as f:
        hwm = [line.split()[1] for line in f if line.startswith("VmHWM:")]
    print(f"scaleout: replica C peak RSS {int(hwm[0]) // 1024} MiB after serving its share")


def main():
    if shutil.which("nginx") is None:
        raise SystemExit("scaleout: nginx is not installed (make deploy-test installs it)")
    site_path, glorotd_env = compose_settings()
    with open(site_path) as f:
        site_text = f.read()
    scratch = tempfile.mkdtemp(prefix="glorotd-scaleout.")
    replicas, nginx = [], None
    try:
        want = expected_bytes(scratch)
        for _ in range(3):
            replicas.append(ds.Daemon(extra_env=glorotd_env))
        addrs = [r.addr for r in replicas]
        nginx = Nginx(lambda port: local_site(site_text, addrs, port))
        ok(True, f"three replicas ({', '.join(addrs)}) behind nginx on 127.0.0.1:{nginx.port}, "
                 f"with {os.path.relpath(site_path, ds.repo_path())} and compose's environment")
        scenario(replicas, nginx, want)
    except BaseException:
        if nginx is not None:
            print("scaleout: nginx error log:\n" + nginx.error_log()[-3000:], file=sys.stderr)
        for r in replicas:
            print(f"scaleout: replica {r.addr} log:\n" + r.log()[-2000:], file=sys.stderr)
        raise
    finally:
        if nginx is not None:
            nginx.close()
        for r in replicas:
            r.close()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"scaleout: all {checks} checks passed")


if __name__ == "__main__":
    main()
