"""deploy_support.py - helpers for the deployment tests in tests/deploy/.

Start real glorotd processes on loopback ephemeral ports, run commands with a
bound, read the repository's deployment files. The environment comes from
`make deploy-test` (GLOROTD_BIN, GLOROT_BIN, GLOROT_TESTS, GLOROT_IMAGE).
Everything that waits is bounded; nothing decides pass or fail by timing.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 40


def env(name):
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"{name} is not set (run the tests through make deploy-test)")
    return value


def repo_path(*parts):
    return os.path.join(os.path.dirname(env("GLOROT_TESTS")), *parts)


def daemon_env(extra=None):
    """The environment glorotd runs with: ours, plus GLOROTD_ALLOW_ROOT=1
    when the tests run as root (glorotd refuses root otherwise), plus extra."""
    e = dict(os.environ)
    if os.geteuid() == 0:
        e["GLOROTD_ALLOW_ROOT"] = "1"
    e.update(extra or {})
    return e


class Daemon:
    """One glorotd on 127.0.0.1 (port 0 unless given), stderr in DIR/daemon.log."""

    def __init__(self, extra_env=None, port=0, args=()):
        self.dir = tempfile.mkdtemp(prefix="glorotd-deploy.")
        self.log_path = os.path.join(self.dir, "daemon.log")
        port_file = os.path.join(self.dir, "port")
        argv = [env("GLOROTD_BIN"), "--listen", f"127.0.0.1:{port}", "--port-file", port_file,
                *args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=daemon_env(extra_env))
        self.port = self._wait_port(port_file)

    def _wait_port(self, port_file):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with open(port_file) as f:
                    text = f.read()
                if text.endswith("\n"):
                    return int(text)
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"glorotd did not start: {self.log()}")

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def signal_wait(self, sig):
        """Send sig, wait (bounded) and return the exit status (128+n if killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait()

    def wait(self):
        """Wait for the exit (bounded, then SIGKILL); the status as signal_wait's."""
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return 128 - code if code < 0 else code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port():
    """A port free on 127.0.0.1 right now (for programs without a port file)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=10):
    """GET path from 127.0.0.1:port; returns (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def run(argv, timeout=60):
    """Run argv (bounded); returns its stdout as bytes; raises on failure."""
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, check=True).stdout


def stop_signal(proc, sig=signal.SIGTERM, timeout=20):
    """Stop a child process we started: sig, bounded wait, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
