#!/usr/bin/python3
"""The page at / in a real browser: headless Chromium loads it from a live
glorotd, fills and submits the form, and the DOM is checked against what
the server itself answers.

Run by tests/e2e/test_page.c with $GLOROT_PYTHON (Debian's python3 with
numpy and scipy). Chromium is driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: no port, Python stdlib only). Nothing waits for a
time: each step waits for a DOM marker (body[data-state]); one overall bound
(--timeout) turns a hang into a failure.

For every case: the histogram is drawn (pixels on the canvas), its bin counts
equal those recomputed here from the same json answer, the expected counts
drawn over it match scipy's CDFs for the distribution the server reported,
the fit is good (float32/float64), the curl line and the glorot CLI line,
run as shown, write the bytes the server's /v1/digest announces, the Python
line compiles, and the headers shown are the server's. The error case shows
the server's code, param and message; the shard case draws the block numpy's
array_split gives; the token case sends the token and keeps it nowhere.

Exit status 0 when every check passes, 1 with one line per failure on
stderr, 2 on bad usage or when the browser cannot be driven.

    check_page.py --url BASE --glorot GLOROT_BIN --out DIR [--cases a,b] [--token T]
"""
import argparse
import base64
import fcntl
import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
from scipy import stats

FAILURES = []


def fail(case, text):
    FAILURES.append("%s: %s" % (case, text))
    print("FAIL %s: %s" % (case, text), file=sys.stderr)


# ---- DevTools protocol over a pipe ------------------------------------------


class Browser:
    """Chromium with --remote-debugging-pipe: it reads NUL-terminated JSON
    commands on fd 3 and writes answers and events on fd 4."""

    def __init__(self, chromium, profile, deadline):
        self.deadline = deadline
        cmd_r, self.cmd_w = os.pipe()
        self.ans_r, ans_w = os.pipe()
        # high numbers, so the dup2 below cannot clobber one with the other
        hi_cmd, hi_ans = fcntl_dup(cmd_r, 100), fcntl_dup(ans_w, 101)
        os.close(cmd_r)
        os.close(ans_w)

        def child_fds():
            os.dup2(hi_cmd, 3)
            os.dup2(hi_ans, 4)

        args = [chromium, "--headless", "--remote-debugging-pipe", "--user-data-dir=" + profile,
                "--no-first-run", "--no-default-browser-check", "--disable-gpu",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--mute-audio",
                "--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1200,1000",
                "--disable-features=Translate,MediaRouter,OptimizationHints",
                # loopback only: every other host name fails to resolve
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        self.log = open(os.path.join(profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, pass_fds=(3, 4), preexec_fn=child_fds)
        os.close(hi_cmd)
        os.close(hi_ans)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - the browser may be gone already
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.cmd_w)
        os.close(self.ans_r)
        self.log.close()

    def _recv(self, until):
        while b"\0" not in self.buf:
            left = until - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self.ans_r], [], [], left)
            if ready:
                chunk = os.read(self.ans_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe (exit %s)" % self.proc.poll())
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=None, watch=None):
        """Send a command and wait for its answer; events that arrive meanwhile
        are kept, and watch(event) may raise to stop waiting (a page whose
        script failed will never set the marker a wait is for)."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        until = min(self.deadline, time.monotonic() + timeout) if timeout else self.deadline
        while True:
            m = self._recv(until)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)
            if watch is not None:
                watch(m)

    def wait_event(self, method, session):
        until = self.deadline
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method and m.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._recv(until))


def fcntl_dup(fd, at_least):
    return fcntl.fcntl(fd, fcntl.F_DUPFD, at_least)


class Tab:
    """One page in its own target, with console and CSP reports collected."""

    def __init__(self, browser):
        self.b = browser
        self.target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.s = browser.send("Target.attachToTarget", {"targetId": self.target, "flatten": True})[
            "sessionId"]
        for m in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(m)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1200, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method, params=None, watch=None):
        return self.b.send(method, params, session=self.s, watch=watch)

    def _watch(self, m):
        if m.get("sessionId") == self.s and self._problem(m):
            raise RuntimeError("the page failed: %s" % self._problem(m))

    def open(self, url):
        self.send("Page.navigate", {"url": url})
        self.b.wait_event("Page.loadEventFired", self.s)

    def js(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                           "returnByValue": True}, watch=self._watch)
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % json.dumps(r["exceptionDetails"])[:600])
        return r["result"].get("value")

    def wait_state(self, states):
        """Wait for body[data-state] to be one of states (a DOM marker). The
        page's script marks <html data-js> as it starts: a script the CSP
        blocked fails here at once instead of at the overall timeout."""
        if self.problems():
            raise RuntimeError("the page failed: %s" % self.problems()[:3])
        if self.js("document.documentElement.dataset.js") != "on":
            raise RuntimeError("the page's script did not run")
        return self.js("""new Promise((resolve) => {
            const want = %s;
            const check = () => { const s = document.body.dataset.state;
              if (want.includes(s)) { resolve(s); return true; } return false; };
            if (check()) return;
            const obs = new MutationObserver(() => { if (check()) obs.disconnect(); });
            obs.observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
        })""" % json.dumps(states))

    @staticmethod
    def _problem(m):
        """The text of a console error, an exception or a CSP report, else None."""
        p = m.get("params", {})
        # 4xx answers are logged by the network layer; the error cases want them
        if (m.get("method") == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning")
                and p["entry"].get("source") != "network"):
            return p["entry"].get("text", "")
        if m.get("method") == "Runtime.exceptionThrown":
            return json.dumps(p["exceptionDetails"])[:300]
        if m.get("method") == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning"):
            return " ".join(str(a.get("value", "")) for a in p["args"])
        return None

    def problems(self):
        """Console errors, exceptions and CSP reports seen so far."""
        return [self._problem(m) for m in self.b.events
                if m.get("sessionId") == self.s and self._problem(m)]

    def screenshot(self, path):
        r = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))


# ---- the server, asked directly ------------------------------------------


def http(base, path, method="GET", token=None):
    req = urllib.request.Request(base + path, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# ---- a reverse proxy that serves glorotd under a path prefix ------------------


def start_prefix_proxy(upstream, prefix):
    """http://127.0.0.1:PORT{prefix}/X -> {upstream}/X, as nginx's
    `location {prefix}/ { proxy_pass http://glorotd/; }` does. Returns the
    server (serving in a thread) and the public base URL."""
    import http.server
    import threading

    hop = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
           "proxy-authorization", "proxy-authenticate", "content-length", "date", "server"}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def forward(self):
            if not self.path.startswith(prefix + "/"):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = None
            if "Content-Length" in self.headers:
                body = self.rfile.read(int(self.headers["Content-Length"]))
            req = urllib.request.Request(upstream + self.path[len(prefix):], data=body,
                                         method=self.command)
            for k, v in self.headers.items():
                if k.lower() not in hop and k.lower() != "host":
                    req.add_header(k, v)
            try:
                r = urllib.request.urlopen(req, timeout=120)
            except urllib.error.HTTPError as e:
                r = e
            data = r.read() if self.command != "HEAD" else b""
            self.send_response(r.status if hasattr(r, "status") else r.code)
            for k, v in r.headers.items():
                if k.lower() not in hop:
                    self.send_header(k, v)
            length = r.headers.get("Content-Length")
            self.send_header("Content-Length", length if self.command == "HEAD" and length else str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d%s" % (server.server_address[1], prefix)


# ---- filling the form ----------------------------------------------------------


FILL = """(() => {
  const set = (el, v) => { el.value = v; el.dispatchEvent(new Event('change', { bubbles: true })); };
  const f = %s;
  set(document.getElementById('init'), f.init);
  for (const [id, v] of Object.entries(f.fields)) set(document.getElementById(id), v);
  for (const [k, v] of Object.entries(f.params)) set(document.querySelector('[data-param="' + k + '"]'), v);
  document.getElementById('go').click();
  return document.body.dataset.state;
})()"""

DOM = """(() => {
  const t = (id) => document.getElementById(id).textContent;
  const headers = {};
  for (const tr of document.querySelectorAll('#headers tr')) headers[tr.dataset.header] = tr.cells[1].textContent;
  return { state: document.body.dataset.state, curl: t('curl'), cli: t('cli'), py: t('py'),
    status: t('status'), headers: headers, hist: Object.assign({}, document.getElementById('hist').dataset),
    block: Object.assign({}, document.getElementById('block').dataset),
    plotHidden: document.getElementById('plot-card').hidden, blockHidden: document.getElementById('block-card').hidden,
    errorHidden: document.getElementById('error').hidden,
    error: { status: t('err-status'), code: t('err-code'), param: t('err-param'), message: t('err-message') },
    html: document.documentElement.outerHTML, storage: localStorage.length + sessionStorage.length,
    cookie: document.cookie };
})()"""


def base_fields(shape, **extra):
    f = {"shape": shape, "seed": "42", "dtype": "float32", "part": "whole", "format": "npy"}
    f.update(extra)
    return f


# Per initializer: parameters to send (non-default where the family has them).
INIT_PARAMS = {
    "glorot_uniform": {"gain": "2"},
    "glorot_normal": {"gain": "0.5"},
    "he_uniform": {"mode": "fan_out"},
    "he_normal": {"gain": "1.5"},  # mode left at its default: not sent
    "uniform": {"low": "-0.5", "high": "0.25"},
    "normal": {"mean": "0.1", "std": "0.02"},
    "truncated_normal": {"std": "0.02", "a": "-0.03", "b": "0.05"},
    "constant": {"value": "0.5"},
}


def initializer_cases(info):
    inits = info.get("initializers") or [{"name": "glorot_uniform", "distribution": "uniform",
                                          "min_rank": 2, "params": [{"name": "gain"}]}]
    cases = {}
    for it in inits:
        name = it["name"]
        known = {p["name"] for p in it.get("params", [])}
        params = {k: v for k, v in INIT_PARAMS.get(name, {}).items() if k in known}
        shape = "48,48" if it.get("max_rank") == 2 else "256,512"
        cases["init-" + name] = {"init": name, "fields": base_fields(shape), "params": params}
        if it.get("distribution") in ("normal", "truncated_normal"):
            # MLX's own normal and truncated normal, drawn by the same page
            cases["mlx-" + name] = {"init": name, "fields": base_fields(shape, algorithm="mlx"),
                                    "params": params}
    return cases


def fixed_cases(info):
    first = (info.get("initializers") or [{"name": "glorot_uniform"}])[0]["name"]
    dtypes = info.get("dtypes", [])
    has = lambda name: any(i["name"] == name for i in info.get("initializers", []))  # noqa: E731
    bf16_init = "truncated_normal" if has("truncated_normal") else first
    bf16_params = {"std": "0.02", "a": "-0.04", "b": "0.04"} if has("truncated_normal") else {}
    cases = {
        "error": {"init": "glorot_uniform", "fields": base_fields("0,5"), "params": {"gain": "2"},
                  "expect_error": True},
        "error-param": {"init": "glorot_uniform", "fields": base_fields("8,8"),
                        "params": {"gain": "banana"}, "expect_error": True},
        "shard": {"init": first, "fields": base_fields("64,48", part="shard", rank="3", world="8"),
                  "params": {}, "shard": (3, 8, 0)},
        "shard-axis": {"init": first,
                       "fields": base_fields("10,7,5", part="shard", rank="2", world="3", axis="-2"),
                       "params": {}, "shard": (2, 3, 1)},
        "slice": {"init": first, "fields": base_fields("100,100", part="slice", slice="-30:,10:20"),
                  "params": {}, "slice": ((70, 100), (10, 20))},
        "sample": {"init": first,
                   "fields": base_fields("8192,4096", part="shard", rank="1", world="2", axis="1"),
                   "params": {}, "shard": (1, 2, 1), "big": True},
        "mlx-seeded": {"init": first, "fields": base_fields("64,32", algorithm="mlx-seeded",
                                                            call="3"), "params": {}},
    }
    if "bfloat16" in dtypes:
        cases["bfloat16"] = {"init": bf16_init, "fields": base_fields("256,256", dtype="bfloat16",
                                                                      algorithm="mlx",
                                                                      format="safetensors"),
                             "params": bf16_params}
    return cases


# ---- checks ----------------------------------------------------------------------


def array_split_bounds(n, world, rank):
    """numpy.array_split's part `rank` of an axis of n, as (start, stop)."""
    edges = np.cumsum([0] + [len(p) for p in np.array_split(np.arange(n), world)])
    return int(edges[rank]), int(edges[rank + 1])


def expected_counts(dist, edges, n):
    """scipy's expected count per bin for a Glorot-Distribution text."""
    parts = [p.strip() for p in dist.split(";")]
    kv = {p.split("=")[0]: float(p.split("=")[1]) for p in parts[1:]}
    kind = parts[0]
    if kind == "uniform":
        law = stats.uniform(loc=kv["low"], scale=kv["high"] - kv["low"])
    elif kind == "normal":
        law = stats.norm(loc=kv["mean"], scale=kv["std"])
    elif kind == "truncated_normal":
        law = stats.truncnorm((kv["a"] - kv["mean"]) / kv["std"], (kv["b"] - kv["mean"]) / kv["std"],
                              loc=kv["mean"], scale=kv["std"])
    else:
        return None
    return n * np.diff(law.cdf(edges))


def histogram_like_page(values, lo, hi, nb):
    """The page's binning, in the same double arithmetic."""
    bins = [0] * nb
    span = hi - lo
    for x in values:
        i = int(np.floor((x - lo) / span * nb)) if span > 0 else 0
        bins[min(nb - 1, max(0, i))] += 1
    return bins


def check_histogram(case, spec, dom, base, token):
    h = dom["hist"]
    if dom["plotHidden"] or h.get("drawn") != "1":
        return fail(case, "no histogram drawn")
    if int(h["ink"]) < 2000:
        fail(case, "the histogram canvas is almost blank (%s pixels drawn)" % h["ink"])
    if "format=json" not in h["query"] or not h["path"].startswith("v1/"):
        fail(case, "the page fetched %s?%s" % (h["path"], h["query"]))
    status, headers, body = http(base, "/" + h["path"] + "?" + h["query"], token=token)
    if status != 200:
        return fail(case, "the page's data request gets %d here" % status)
    doc = json.loads(body)
    values = doc["data"]
    n, nb, lo, hi = int(h["n"]), int(h["nbins"]), float(h["lo"]), float(h["hi"])
    if n != len(values) or n > 1048576:
        fail(case, "histogram of %d values, the answer has %d" % (n, len(values)))
    bins = [int(x) for x in h["bins"].split(",")]
    mine = histogram_like_page(values, lo, hi, nb)
    if bins != mine:
        fail(case, "bin counts differ from the answer's values: page %s... here %s..." % (bins[:8], mine[:8]))
    if sum(bins) != n:
        fail(case, "bins hold %d of %d values" % (sum(bins), n))
    dist = headers.get("Glorot-Distribution") or "uniform; low=-%s; high=%s" % (
        headers["Glorot-Limit"], headers["Glorot-Limit"])
    page_exp = np.array([float(x) for x in h["expected"].split(",")])
    edges = np.array([lo + i * (hi - lo) / nb for i in range(nb)] + [hi])
    exp = expected_counts(dist, edges, n)
    if exp is not None:
        if not np.allclose(page_exp, exp, rtol=1e-6, atol=2e-3):
            k = int(np.argmax(np.abs(page_exp - exp)))
            fail(case, "expected count of bin %d: page %.3f, scipy %.3f (%s)" % (k, page_exp[k], exp[k], dist))
        if spec["fields"]["dtype"] in ("float32", "float64") and n >= 10000:
            chi2, dof = float(h["chi2"]), int(h["dof"])
            if not (dof >= 10 and chi2 / dof < 2.0):
                fail(case, "the values do not fit the drawn density: chi2 %.1f on %d dof (%s)" % (chi2, dof, dist))
    elif h.get("exact") != "1":
        fail(case, "point masses (%s) differ from the counts: %s vs %s" % (dist, h["bins"], h["expected"]))
    return headers


def reference_query(spec):
    """The request the form describes, built here without the page."""
    f = spec["fields"]
    q = [("shape", f["shape"])] + list(spec["params"].items()) + [("seed", f["seed"])]
    for key in ("dtype", "algorithm", "call"):
        if key in f:
            q.append((key, f[key]))
    if f["part"] == "slice":
        q.append(("slice", f["slice"]))
    if f["part"] == "shard":
        q.append(("shard", "%s/%s" % (f["rank"], f["world"])))
        if "axis" in f:
            q.append(("axis", f["axis"]))
    q.append(("format", f["format"]))
    return "/v1/%s?%s" % (spec["init"], urllib.parse.urlencode(q))


def line_url(dom, base):
    curl = dom["curl"]
    return curl[curl.index("'" + base):].strip("'")


def cli_knows_init(glorot):
    """Whether this glorot command takes --init (the initializer family)."""
    r = subprocess.run([glorot, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    return b"--init" in r.stdout


def run_lines(case, spec, dom, base, glorot, token, tmp):
    """The curl line asks for the request the form describes (same ETag, the
    server's name for a canonical request), and run as shown, the curl and
    glorot lines both write exactly the bytes of that request."""
    curl = dom["curl"]
    if not curl.startswith("curl -fsS ") or (base + "/v1/" + spec["init"] + "?") not in curl:
        return fail(case, "curl line %r" % curl)
    if token and token in curl + dom["cli"] + dom["py"]:
        fail(case, "the token itself is in the code lines")
    ref = reference_query(spec)
    s1, h1, _ = http(base, line_url(dom, base)[len(base):], method="HEAD", token=token)
    s2, h2, _ = http(base, ref, method="HEAD", token=token)
    if spec.get("expect_error"):
        if s1 != s2 or s1 < 400:
            fail(case, "the curl line's request gets %d, the form's %d" % (s1, s2))
        return
    if s1 != 200 or h1.get("ETag") != h2.get("ETag"):
        return fail(case, "the curl line's request (%d, %s) is not the form's %s (%s)" % (
            s1, h1.get("ETag"), ref, h2.get("ETag")))
    if spec.get("big"):
        return  # tens of MiB: the ETag above is enough
    _, _, want = http(base, ref, token=token)
    env = dict(os.environ, GLOROT_TOKEN=token or "")
    lines = [("curl", curl), ("cli", dom["cli"].replace("glorot fetch", glorot + " fetch", 1))]
    if "--init" in dom["cli"] and not cli_knows_init(glorot):
        print("note %s: this glorot has no --init; its line is checked as text only" % case)
        lines.pop()
        if "--init " + spec["init"] + " " not in dom["cli"]:
            fail(case, "the CLI line lacks --init %s: %s" % (spec["init"], dom["cli"]))
    for label, line in lines:
        work = tempfile.mkdtemp(dir=tmp)
        rc = subprocess.run(["sh", "-c", line], cwd=work, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, timeout=120)
        files = os.listdir(work)
        if rc.returncode != 0 or len(files) != 1:
            fail(case, "the %s line failed (%d): %s: %s" % (label, rc.returncode, line, rc.stderr.decode()[:300]))
            continue
        data = open(os.path.join(work, files[0]), "rb").read()
        if data != want:
            fail(case, "the %s line wrote %d bytes, not the %d of %s" % (label, len(data), len(want), ref))
        shutil.rmtree(work)


def check_python_line(case, spec, dom):
    src = dom["py"]
    try:
        compile(src, "python line", "exec")
    except SyntaxError as e:
        return fail(case, "the Python line does not compile (%s): %s" % (e, src))
    want = ['init="%s"' % spec["init"], "seed=42", "shape=(%s)" % ", ".join(spec["fields"]["shape"].split(","))]
    if "shard" in spec:
        want.append("shard=(%d, %d)" % spec["shard"][:2])
    if spec["fields"]["dtype"] == "bfloat16":
        want.append("glorot.torch.fetch(")
    for k, v in spec["params"].items():
        want.append("%s=%s" % (k, v if v.replace(".", "").replace("-", "").isdigit() else json.dumps(v)))
    for w in want:
        if w not in src:
            fail(case, "the Python line lacks %s: %s" % (w, src))


def check_headers(case, dom, base, token):
    """The table shows the HEAD answer of the request the curl line makes."""
    status, headers, _ = http(base, line_url(dom, base)[len(base):], method="HEAD", token=token)
    shown = dom["headers"]
    for name in ("ETag", "Glorot-Seed", "Glorot-Shape", "Glorot-Canonical", "Content-Length"):
        if headers.get(name) is not None and shown.get(name.lower()) != headers.get(name):
            fail(case, "header %s shown as %r, the server sends %r" % (name, shown.get(name.lower()), headers.get(name)))
    if "glorot-distribution" not in shown and "glorot-limit" not in shown:
        fail(case, "neither Glorot-Distribution nor Glorot-Limit is shown")


def check_block(case, spec, dom):
    b = dom["block"]
    shape = [int(x) for x in spec["fields"]["shape"].split(",")]
    if "shard" in spec:
        rank, world, axis = spec["shard"]
        bounds = [(0, n) for n in shape]
        bounds[axis] = array_split_bounds(shape[axis], world, rank)
    elif "slice" in spec:
        bounds = list(spec["slice"])
    else:
        return
    want = ",".join("%d:%d" % x for x in bounds)
    if dom["blockHidden"] or b.get("drawn") != "1" or int(b.get("ink", "0")) < 500:
        return fail(case, "no block drawing")
    if b["full"] != spec["fields"]["shape"] or b["part"] != want:
        fail(case, "block drawn as %s of %s, numpy says %s" % (b["part"], b["full"], want))
    count = int(np.prod([e - s for s, e in bounds]))
    if spec.get("big"):
        sample = [tuple(map(int, x.split(":"))) for x in b["sample"].split(",")]
        n = int(np.prod([e - s for s, e in sample]))
        inside = all(bs <= ss and se <= be for (ss, se), (bs, be) in zip(sample, bounds))
        if not (inside and 0 < n <= 1048576 and n == int(dom["hist"]["n"]) and n * 2 > 1048576):
            fail(case, "sample %s of the part %s: %d values" % (b["sample"], want, n))
    elif int(dom["hist"]["n"]) != count:
        fail(case, "histogram of %s values, the part has %d" % (dom["hist"]["n"], count))


def check_error(case, dom, base, token):
    status, _, body = http(base, line_url(dom, base)[len(base):], token=token)
    want = json.loads(body)["error"]
    got = dom["error"]
    if dom["errorHidden"]:
        return fail(case, "no error shown")
    if (got["status"], got["code"], got["param"], got["message"]) != (
            str(status), want["code"], want["param"], want["message"]):
        fail(case, "error shown as %s, the server sent %d %s" % (got, status, want))
    if not dom["plotHidden"]:
        fail(case, "a histogram is shown for an error")


def served_error(spec, base, token):
    """The server's error code for the request the form describes, None when
    it serves it; only 422 `unsupported` for `init` counts (an initializer
    listed but not served by this build)."""
    status, _, body = http(base, reference_query(spec).replace("format=npy", "format=json") +
                           "&slice=" + ",".join("0:1" for _ in spec["fields"]["shape"].split(",")),
                           token=token)
    if status != 422:
        return None
    err = json.loads(body)["error"]
    return "%s %s" % (err["code"], err["message"]) if err["param"] == "init" else None


def run_case(tab, case, spec, args, tmp):
    tab.open(args.url + "/")
    state = tab.wait_state(["ready", "need-token", "info-error"])
    if args.token:
        if state != "need-token":
            return fail(case, "without a token the page is in state %s, not need-token" % state)
        load = "document.getElementById('token').value = %s; document.getElementById('load').click()"
        tab.js(load % json.dumps(args.token + "x"))
        state = tab.wait_state(["ready", "need-token", "info-error"])
        shown = tab.js("document.getElementById('info-error').textContent")
        if state != "need-token" or "invalid_token" not in shown:
            return fail(case, "a wrong token: state %s, %r" % (state, shown))
        tab.js(load % json.dumps(args.token))
        state = tab.wait_state(["ready", "need-token", "info-error"])
    if state != "ready":
        return fail(case, "the page did not load the server info (state %s)" % state)
    refused = served_error(spec, args.url, args.token)
    if refused is not None and not spec.get("expect_error"):
        # a server that lists an initializer it cannot serve yet: the page
        # must show that refusal exactly as it is sent
        print("note %s: the server refuses it (%s); checking the error shown" % (case, refused))
        spec = dict(spec, expect_error=True)
    tab.js(FILL % json.dumps(spec))
    state = tab.wait_state(["done", "failed"])
    dom = tab.js(DOM)
    tab.screenshot(os.path.join(args.out, ("prefix-" if args.prefix else "") + case + ".png"))
    if state != "done":
        return fail(case, "the request ended in state %s: %s" % (state, dom["status"]))
    if spec.get("expect_error"):
        check_error(case, dom, args.url, args.token)
    else:
        if not dom["errorHidden"]:
            return fail(case, "error shown: %s" % dom["error"])
        check_histogram(case, spec, dom, args.url, args.token)
        check_headers(case, dom, args.url, args.token)
        check_block(case, spec, dom)
    run_lines(case, spec, dom, args.url, args.glorot, args.token, tmp)
    check_python_line(case, spec, dom)
    if args.token:
        if dom["storage"] != 0 or dom["cookie"] != "":
            fail(case, "the page stored something: %d storage items, cookie %r" % (dom["storage"], dom["cookie"]))
        if args.token in dom["html"]:
            fail(case, "the token is in the document")
    bad = tab.problems()
    if bad:
        fail(case, "console errors or CSP reports: %s" % bad[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--glorot", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", default="all")
    ap.add_argument("--token")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--prefix", help="serve glorotd under this path (e.g. /glorot) through a proxy")
    args = ap.parse_args()
    proxy = None
    if args.prefix:
        proxy, args.url = start_prefix_proxy(args.url, args.prefix)
    os.makedirs(args.out, exist_ok=True)
    status, _, body = http(args.url, "/v1/info", token=args.token)
    if status != 200:
        print("check_page: GET /v1/info: %d" % status, file=sys.stderr)
        return 2
    info = json.loads(body)
    cases = dict(initializer_cases(info))
    cases.update(fixed_cases(info))
    names = list(cases) if args.cases == "all" else args.cases.split(",")
    tmp = tempfile.mkdtemp(prefix="check_page.")
    browser = Browser(args.chromium, tmp, time.monotonic() + args.timeout)
    try:
        browser.send("Browser.getVersion")
        for name in names:
            if name not in cases:
                print("check_page: no case %s (have %s)" % (name, ", ".join(cases)), file=sys.stderr)
                return 2
            tab = Tab(browser)
            try:
                run_case(tab, name, cases[name], args, tmp)
            except (RuntimeError, TimeoutError) as e:
                fail(name, str(e))
            finally:
                browser.send("Target.closeTarget", {"targetId": tab.target})
            print("%s %s" % ("ok  " if not any(f.startswith(name + ":") for f in FAILURES) else "FAIL", name))
    finally:
        browser.close()
        shutil.rmtree(tmp, ignore_errors=True)
        if proxy is not None:
            proxy.shutdown()
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
