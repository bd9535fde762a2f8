"""Fixtures: a real glorotd on a loopback port picked by the kernel, and a client for it.

The daemon is build/glorotd (or $GLOROTD_BIN), started once per session with
--listen 127.0.0.1:0 --port-file, --allow-root when the tests run as root,
and stopped with SIGTERM at the end (it must exit 0).
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1]
REPO = PACKAGE.parents[1]
if os.environ.get("GLOROT_PYTHON_INSTALLED") is None and str(PACKAGE) not in sys.path:
    sys.path.insert(0, str(PACKAGE))

import glorot  # noqa: E402

# A small tensor cap so a refusal by the server (not by local checks) is easy to provoke.
MAX_ELEMENTS = 4_000_000


def glorotd_path() -> str:
    return os.environ.get("GLOROTD_BIN") or str(REPO / "build" / "glorotd")


class Daemon:
    def __init__(self, workdir: pathlib.Path, extra=()) -> None:
        port_file = workdir / "port"
        self.log_path = workdir / "glorotd.log"
        args = [glorotd_path(), "--listen", "127.0.0.1:0", "--port-file", str(port_file)]
        args += ["--threads", "2", *extra]
        if os.geteuid() == 0:
            args.append("--allow-root")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("glorotd did not start: " + self.log_path.read_text())
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        finally:
            self.log.close()
        return rc


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The URL of a glorotd started for this test session."""
    d = Daemon(tmp_path_factory.mktemp("glorotd"), ["--max-elements", str(MAX_ELEMENTS)])
    yield d.url
    rc = d.stop()
    assert rc == 0, "glorotd exited with %d: %s" % (rc, d.log_path.read_text()[-2000:])


@pytest.fixture
def client(server):
    with glorot.Client(server, timeout=120) as c:
        yield c


@pytest.fixture(params=["local", "server"])
def source(request, server):
    """None (local generation) or a Client: tests that must hold for both."""
    if request.param == "local":
        yield None
    else:
        with glorot.Client(server, timeout=120) as c:
            yield c
