"""import glorot: numpy arrays from the server and locally, bit for bit the same."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct

import numpy as np
import pytest

import glorot

ALGS_DTYPES = [
    (alg, dt)
    for alg in ("chacha20", "mlx", "mlx-seeded")
    for dt in ("float32", "float16", "float64")
    if not (alg != "chacha20" and dt == "float64")
]


def get(src, **kw):
    """A tensor from the source under test: local (None) or a Client."""
    return glorot.generate(**kw) if src is None else src.fetch(**kw)


@pytest.mark.parametrize("alg,dtype", ALGS_DTYPES)
def test_fetch_equals_generate(client, alg, dtype):
    kw = dict(shape=(37, 29), seed=7, dtype=dtype, algorithm=alg, gain="relu")
    a = client.fetch(**kw)
    b = glorot.generate(**kw)
    assert a.dtype == np.dtype(dtype) and a.shape == (37, 29)
    assert a.tobytes() == b.tobytes()
    limit = np.sqrt(2.0) * np.sqrt(6.0 / (37 + 29))
    assert np.all(np.abs(a.astype(np.float64)) <= limit * 1.01)
    assert len(np.unique(a)) > 500  # not a constant


@pytest.mark.parametrize(
    "part,index",
    [
        (dict(shard=(1, 3)), np.s_[4:7, :]),
        (dict(shard=(2, 4), axis=1), np.s_[:, 4:6]),
        (dict(shard=(1, 4), axis=-1), np.s_[:, 2:4]),
        (dict(shard="0/3"), np.s_[0:4, :]),
        (dict(slice="2:5,1:"), np.s_[2:5, 1:]),
        (dict(slice=(slice(None, 3), slice(-2, None))), np.s_[:3, -2:]),
        (dict(slice=(slice(5, 10),)), np.s_[5:10, :]),
    ],
)
def test_parts_equal_the_same_part_of_the_whole(source, part, index):
    whole = glorot.generate(shape=(10, 7), seed=3)
    got = get(source, shape=(10, 7), seed=3, **part)
    np.testing.assert_array_equal(got, whole[index])


def test_out_is_filled_in_place(source):
    out = np.full((6, 4), 99.0, dtype=np.float32)
    before = out.ctypes.data
    got = get(source, shape=(6, 4), seed=11, out=out)
    assert got is out and out.ctypes.data == before
    np.testing.assert_array_equal(out, glorot.generate(shape=(6, 4), seed=11))


@pytest.mark.parametrize(
    "out,param",
    [
        (np.zeros((6, 5), np.float32), "out"),
        (np.zeros((6, 4), np.float64), "out"),
        (np.zeros((4, 6), np.float32).T, "out"),
        ([0.0] * 24, "out"),
    ],
)
def test_bad_out_is_refused(out, param):
    with pytest.raises(glorot.InvalidError) as e:
        glorot.generate(shape=(6, 4), seed=1, out=out)
    assert e.value.param == param


@pytest.mark.parametrize(
    "kw,param",
    [
        (dict(shape=(0, 4)), "shape"),
        (dict(shape=None), "shape"),
        (dict(shape=(4, 4), dtype="float8"), "dtype"),
        (dict(shape=(4, 4), algorithm="xorshift"), "algorithm"),
        (dict(shape=(4, 4), gain="-1"), "gain"),
        (dict(shape=(4, 4), frobnicate=2), "frobnicate"),
        (dict(shape=(4, 4), shard=(4, 4)), "shard"),
        (dict(shape=(4, 4), shard=(1, 2), slice="0:1"), "shard"),
        (dict(shape=(4, 4), slice=(1,)), "slice"),
        (dict(shape=(4, 4), slice=(slice(0, 4, 2),)), "slice"),
        (dict(shape=(4, 4), seed=True), "seed"),
        (dict(shape=(4, 4), seed=-1), "seed"),
        (dict(shape=(4, 4), dtype="float64", algorithm="mlx"), "dtype"),
        (dict(shape=(4, 4), init="lecun_magic"), "init"),
    ],
)
def test_bad_arguments_name_the_parameter(source, kw, param):
    kw.setdefault("seed", 1)
    with pytest.raises(glorot.InvalidError) as e:
        get(source, **kw)
    assert e.value.param == param, str(e.value)
    assert e.value.code == 1 and len(e.value.message) > 10


def test_bfloat16_without_torch_is_refused_naming_glorot_torch(source):
    with pytest.raises(glorot.InvalidError) as e:
        get(source, shape=(4, 4), seed=1, dtype="bfloat16")
    assert e.value.param == "dtype" and "glorot.torch" in str(e.value)


def test_local_generation_needs_a_seed():
    with pytest.raises(glorot.InvalidError) as e:
        glorot.generate(shape=(4, 4), seed=None)
    assert e.value.param == "seed"


def test_server_draws_a_seed_and_reports_it(client):
    a, meta = client.fetch(shape=(8, 8), with_meta=True)
    assert meta.seed != 0 or a.any()
    np.testing.assert_array_equal(a, glorot.generate(shape=(8, 8), seed=meta.seed))


def test_server_refusal_arrives_with_status_code_param_and_message(client):
    n = 4096 * 1024  # above the fixture's --max-elements 4000000, valid locally
    assert glorot.describe(shape=(4096, 1024), seed=1).numel == n
    with pytest.raises(glorot.HTTPError) as e:
        client.fetch(shape=(4096, 1024), seed=1)
    err = e.value
    assert err.code == 5 and err.http_status == 413
    assert err.server_code == "too_large" and err.param == "shape", str(err)
    assert "4000000" in err.message


def test_unreachable_server_is_a_connect_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with glorot.Client(f"http://127.0.0.1:{port}", retries=0, timeout=30) as c:
        with pytest.raises(glorot.ConnectError) as e:
            c.fetch(shape=(4, 4), seed=1)
        assert e.value.code == 3 and isinstance(e.value, ConnectionError)
        with pytest.raises(glorot.ConnectError):
            c.health()


@pytest.mark.parametrize(
    "kw,param",
    [
        (dict(url="ftp://x"), ""),
        (dict(url="http://127.0.0.1:1", timeout=-1), "timeout"),
        (dict(url="http://127.0.0.1:1", retries=-2), "retries"),
        (dict(url="http://127.0.0.1:1", verify="some"), "verify"),
    ],
)
def test_bad_client_options(kw, param):
    with pytest.raises(glorot.InvalidError) as e:
        glorot.Client(**kw)
    if param:
        assert e.value.param == param


def test_client_url_defaults_to_environment(server, monkeypatch):
    monkeypatch.delenv("GLOROT_URL", raising=False)
    with pytest.raises(glorot.InvalidError) as e:
        glorot.Client()
    assert e.value.param == "url"
    monkeypatch.setenv("GLOROT_URL", server)
    with glorot.Client() as c:
        assert c.url == server and c.health() is True


def test_closed_client_refuses(server):
    c = glorot.Client(server)
    c.close()
    c.close()
    with pytest.raises(glorot.Error):
        c.fetch(shape=(2, 2), seed=1)


def test_info_and_health(client):
    info = client.info()
    assert isinstance(info, dict) and "version" in info
    assert client.health() is True


@pytest.mark.parametrize("fmt", ["raw", "npy", "safetensors", "json"])
def test_bytes_in_every_format_equal_local(client, fmt):
    kw = dict(shape=(9, 5), seed=5, format=fmt, dtype="float16", name="w")
    assert client.fetch_bytes(**kw) == glorot.generate_bytes(**kw)


def load_safetensors(data: bytes):
    """The numpy path a loader takes (what mx.load does with the same bytes)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    kinds = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "BF16": "<u2"}
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        arr = np.frombuffer(data[8 + n + a : 8 + n + b], dtype=kinds[e["dtype"]])
        out[name] = arr.reshape(e["shape"])
    return out


def test_mlx_path_npy_and_safetensors_bytes_load_as_the_array(source):
    """MLX reads npy and safetensors (mx.load); these are the bytes it would get."""
    kw = dict(shape=(12, 8), seed=9, algorithm="mlx", shard=(1, 2))
    want = glorot.generate(**kw)
    fetch = glorot.generate_bytes if source is None else source.fetch_bytes
    import io

    npy = np.load(io.BytesIO(fetch(format="npy", **kw)))
    np.testing.assert_array_equal(npy, want)
    st = load_safetensors(fetch(format="safetensors", name="layer.w", **kw))
    np.testing.assert_array_equal(st["layer.w"], want)


def test_jax_path_callback_indices_map_to_slice(source):
    """jax.make_array_from_callback(shape, sharding, cb) calls cb(index) with a tuple
    of slices per device; cb = lambda index: fetch(..., slice=index) gives each
    device its block. Here a 2x4 device mesh's indices, as JAX computes them."""
    shape = (16, 12)
    whole = glorot.generate(shape=shape, seed=21)
    rows, cols = 2, 4
    got = np.empty(shape, np.float32)
    for i in range(rows):
        for j in range(cols):
            index = (slice(i * 8, (i + 1) * 8, None), slice(j * 3, (j + 1) * 3, None))
            got[index] = get(source, shape=shape, seed=21, slice=index)
    np.testing.assert_array_equal(got, whole)
    # a replicated axis is slice(None, None, None)
    np.testing.assert_array_equal(
        get(source, shape=shape, seed=21, slice=(slice(None, None, None), slice(3, 6, None))),
        whole[:, 3:6],
    )


def test_digest_matches_hashlib_and_checks(client):
    kw = dict(shape=(33, 17), seed=4, format="npy")
    d = client.digest(**kw)
    body = client.fetch_bytes(**kw)
    assert d.sha256 == hashlib.sha256(body).hexdigest() and d.length == len(body)
    assert d.seed == 4 and d.etag.startswith('"') and "shape=33,17" in d.canonical
    d.check(body)
    with pytest.raises(glorot.VerifyError):
        d.check(body[:-1] + bytes([body[-1] ^ 1]))


def test_describe_gives_the_part():
    m = glorot.describe(shape=(10, 6), shard=(3, 4), dtype="float16")
    assert m.shape == (10, 6) and m.part == ((8, 10), (0, 6)) and m.part_shape == (2, 6)
    assert m.size == 24 and m.numel == 12 and m.fan_in == 6 and m.fan_out == 10
    assert m.dtype == "float16" and m.format == "raw"


MANIFEST = {
    "seed": "42",
    "algorithm": "chacha20",
    "dtype": "float32",
    "tensors": [
        {"name": "layers.0.attn.wq", "shape": [64, 48]},
        {"name": "layers.0.mlp.w1", "shape": [30, 20], "gain": "relu", "dtype": "float16"},
        {"name": "out", "shape": [9, 7], "dtype": "float64"},
    ],
}


@pytest.mark.parametrize("rank,world,axis", [(None, None, None), (1, 3, None), (2, 4, 1)])
def test_batch_equals_batch_local_and_single_tensors(client, rank, world, axis):
    got = client.batch(MANIFEST, rank=rank, world=world, axis=axis)
    local = glorot.batch_local(json.dumps(MANIFEST), rank, world, axis)
    plan = glorot.batch_plan(MANIFEST, rank, world, axis)
    assert list(got) == list(local) == list(plan) == [t["name"] for t in MANIFEST["tensors"]]
    for t in MANIFEST["tensors"]:
        name = t["name"]
        assert got[name].tobytes() == local[name].tobytes()
        assert got[name].shape == plan[name].shape and got[name].dtype == np.dtype(plan[name].dtype)
        part = dict(shard=(rank, world), axis=axis) if world else {}
        single = glorot.generate(
            shape=t["shape"],
            seed=42,
            name=name,
            dtype=t.get("dtype", "float32"),
            gain=t.get("gain"),
            **part,
        )
        np.testing.assert_array_equal(got[name], single)


def test_batch_errors(client):
    bad = dict(MANIFEST, tensors=[{"name": "a", "shape": [0, 3]}])
    for run in (client.batch, glorot.batch_local):
        with pytest.raises(glorot.InvalidError) as e:
            run(bad)
        assert e.value.param == "tensors[0].shape"
    no_seed = {k: v for k, v in MANIFEST.items() if k != "seed"}
    with pytest.raises(glorot.InvalidError) as e:
        glorot.batch_local(no_seed)
    assert e.value.param == "seed"
    with pytest.raises(glorot.InvalidError) as e:
        glorot.batch_local(dict(MANIFEST, dtype="bfloat16"))
    assert "glorot.torch" in str(e.value)
    with pytest.raises(glorot.InvalidError) as e:
        glorot.batch_local(MANIFEST, rank=1)
    assert e.value.param == "shard"
    with pytest.raises(glorot.InvalidError):
        glorot.batch_local(42)


def test_library_is_found_and_named():
    assert os.path.exists(glorot.library_path())
    assert glorot.library_version() == "0.1.0"
