"""The examples in client/python/examples run as a user runs them, against the
session's glorotd ($GLOROT_URL) and without a server."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
PACKAGE = EXAMPLES.parent


def run(name, url, *args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE), env.get("PYTHONPATH", "")])
    env.pop("GLOROT_URL", None)
    if url:
        env["GLOROT_URL"] = url
    p = subprocess.run([sys.executable, str(EXAMPLES / name), *args], env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


@pytest.mark.parametrize("with_server", [True, False])
@pytest.mark.parametrize(
    "name,args,expect",
    [
        ("fetch_tensor.py", (), "fetched (2048, 1024) float32"),
        ("jax_sharding.py", (), "8 device blocks"),
        ("mlx_load.py", (), "npy and safetensors both load"),
        ("init_model.py", ("2",), "equal to the one-process model"),
    ],
)
def test_example_runs(server, name, args, expect, with_server):
    if name == "fetch_tensor.py" and not with_server:
        with pytest.raises(AssertionError) as e:  # it needs a server, and says so
            run(name, None, *args)
        assert "GLOROT_URL" in str(e.value)
        return
    out = run(name, server if with_server else None, *args)
    assert expect in out
    if name == "init_model.py":
        assert "rank 0 of 2" in out and "rank 1 of 2" in out
