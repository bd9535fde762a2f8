#!/usr/bin/python3
"""check_batch.py BASE_URL MLX_TSV - POST /v1/batch against a live glorotd.

The daemon must run with --max-batch-tensors 8 --max-batch-bytes 100000
--max-body-bytes 4096 (the caps are hit with real requests). Checks:
  - the safetensors answer parses (json + numpy) into tensors equal to
    GET /v1/glorot_uniform's bytes for each tensor's canonical query;
  - reordering the manifest or adding tensors leaves each chacha20 tensor's
    bytes unchanged;
  - an mlx-seeded manifest equals the seeded rows of mlx_glorot.tsv;
  - every rank's batch concatenates to the unsharded tensors (both axes);
  - Range (206, 416, If-Range), HEAD, If-None-Match, format=json;
  - errors name tensors[i].field; the three caps answer 413.
Exit 0 when every check passes; prints the first failure otherwise.
"""
import http.client
import json
import struct
import sys
import urllib.parse

import numpy as np

BASE = sys.argv[1]
TSV = sys.argv[2]
HOST = urllib.parse.urlparse(BASE)
NP = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "BF16": np.uint16}
checks = 0


def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=60)
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def batch(manifest, query="", headers=None, method="POST"):
    body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    return request(method, "/v1/batch" + query, body, headers)


def expect(cond, what):
    global checks
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    checks += 1


def parse_st(data):
    n = struct.unpack("<Q", data[:8])[0]
    expect(n % 8 == 0, "header length is a multiple of 8")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__")
    out, base, end = {}, 8 + n, 0
    for name, t in header.items():
        a, b = t["data_offsets"]
        expect(a == end, "tensors are back to back in manifest order")
        end = b
        out[name] = (t["dtype"], t["shape"], data[base + a:base + b])
    expect(base + end == len(data), "the tensors cover the whole buffer")
    return meta, list(header.keys()), out


def ok_batch(manifest, query=""):
    status, h, data = batch(manifest, query)
    expect(status == 200, "batch answered 200, not %d: %r" % (status, data[:300]))
    expect(int(h["content-length"]) == len(data), "exact Content-Length")
    return h, data


def single(canonical):
    status, _, data = request("GET", "/v1/glorot_uniform?" + canonical)
    expect(status == 200, "GET " + canonical)
    return data


MODEL = {"seed": "42", "algorithm": "chacha20", "dtype": "bfloat16", "fan": "mlx", "gain": 1.0,
         "tensors": [{"name": "layers.0.attn.wq", "shape": [64, 64]},
                     {"name": "layers.0.mlp.w1", "shape": [96, 64], "gain": "relu",
                      "dtype": "float32"},
                     {"name": "layers.0.mlp.w2", "shape": [64, 96], "fan": "torch",
                      "dtype": "float16"},
                     {"name": "conv", "shape": [8, 4, 3, 3], "gain": 0.5, "dtype": "float64"}]}


def check_equals_single():
    _, data = ok_batch(MODEL)
    meta, order, tensors = parse_st(data)
    expect(order == [t["name"] for t in MODEL["tensors"]], "manifest order")
    expect(meta["tensors"] == "4" and meta["generator"] == "glorotd", "metadata")
    # transformers' load_state_dict (src/transformers/modeling_utils.py) refuses
    # a file unless: metadata is None or metadata.get("format") in
    # ["pt", "tf", "flax", "mlx"] (OSError "does not contain the valid metadata").
    expect(meta.get("format") in ["pt", "tf", "flax", "mlx"], "transformers' format check")
    expect(meta.get("format") == "pt", "metadata format is pt")
    for i, t in enumerate(MODEL["tensors"]):
        canon = meta["glorot.%d" % i]
        dtype, shape, raw = tensors[t["name"]]
        expect(shape == t["shape"], "shape of " + t["name"])
        expect(raw == single(canon), "%s equals GET ?%s" % (t["name"], canon))
        arr = np.frombuffer(raw, NP[dtype]).reshape(shape)
        expect(arr.size == int(np.prod(t["shape"])), "numpy reads " + t["name"])
    return tensors


def check_order_independent(tensors):
    m = dict(MODEL)
    m["tensors"] = list(reversed(MODEL["tensors"])) + [{"name": "extra", "shape": [5, 7]}]
    _, data = ok_batch(m)
    _, _, again = parse_st(data)
    for name, (_, _, raw) in tensors.items():
        expect(again[name][2] == raw, "reordered/added manifest keeps " + name)


def check_mlx_seeded():
    rows = {}
    for line in open(TSV):
        f = line.rstrip("\n").split("\t")
        if len(f) == 7 and f[0] == "seeded":
            rows[(int(f[1]), f[2], f[5])] = f[6].split()
    shapes = [[2, 2], [3, 5], [4, 3, 3, 2]]
    width = {"float32": 8, "float16": 4, "bfloat16": 4}
    for seed in ("0", "42"):
        for dtype in ("float32", "float16", "bfloat16"):
            m = {"seed": seed, "algorithm": "mlx-seeded", "dtype": dtype,
                 "tensors": [{"name": "t%d" % k, "shape": s} for k, s in enumerate(shapes)]}
            _, data = ok_batch(m)
            _, _, tensors = parse_st(data)
            for k in range(3):
                want = rows[(k + 1, seed, dtype)]
                raw = tensors["t%d" % k][2]
                n = width[dtype] // 2
                got = ["%0*X" % (width[dtype], int.from_bytes(raw[i:i + n], "little"))
                       for i in range(0, len(raw), n)]
                expect(got == want, "mlx-seeded seed %s %s call %d" % (seed, dtype, k + 1))


def check_shards():
    for axis in (0, 1):
        for world in (1, 3, 4):
            m = dict(MODEL)
            m["tensors"] = MODEL["tensors"][:3]
            whole = parse_st(ok_batch(m)[1])[2]
            parts = []
            for rank in range(world):
                m["shard"] = {"rank": rank, "world": world, "axis": axis}
                parts.append(parse_st(ok_batch(m)[1])[2])
            for name, (dtype, shape, raw) in whole.items():
                full = np.frombuffer(raw, NP[dtype]).reshape(shape)
                cat = np.concatenate([np.frombuffer(p[name][2], NP[dtype])
                                      .reshape(p[name][1]) for p in parts], axis=axis)
                expect(np.array_equal(cat.view(np.uint8), full.view(np.uint8)),
                       "ranks of %d (axis %d) concatenate to %s" % (world, axis, name))


def check_conventions():
    """Shard objects and lists, top level and per tensor, split and stride:
    each tensor equals GET /v1/glorot_uniform with the same keys as a query,
    and its own canonical form; an empty part has equal data offsets."""
    mesh = [{"rank": 1, "world": 2, "axis": 0, "split": "chunk"},
            {"rank": 0, "world": 2, "axis": 1, "split": "even", "stride": 2}]
    m = {"seed": "7", "dtype": "bfloat16", "shard": mesh, "tensors": [
        {"name": "a", "shape": [12, 8]},
        {"name": "b", "shape": [5, 4]},
        {"name": "qkv", "shape": [12, 6], "shard": {"rank": 1, "world": 2, "split": "even",
                                                    "stride": 3}},
        {"name": "c", "shape": [9, 6], "shard": {"rank": 2, "world": 4, "split": "chunk"}},
        {"name": "e", "shape": [3, 4], "shard": {"rank": 3, "world": 4, "split": "chunk"}},
        {"name": "w", "shape": [3, 4], "shard": None},
        {"name": "s", "shape": [6, 5], "shard": "1/3"}]}
    queries = {
        "a": "shape=12,8&shard=1/2,0/2&axis=0,1&split=chunk,even&stride=1,2",
        "b": "shape=5,4&shard=1/2,0/2&axis=0,1&split=chunk,even&stride=1,2",
        "qkv": "shape=12,6&shard=1/2&split=even&stride=3",
        "c": "shape=9,6&shard=2/4&split=chunk",
        "e": "shape=3,4&shard=3/4&split=chunk",
        "w": "shape=3,4",
        "s": "shape=6,5&shard=1/3",
    }
    _, data = ok_batch(m)
    meta, order, tensors = parse_st(data)
    for i, name in enumerate(order):
        dtype, shape, raw = tensors[name]
        q = "%s&seed=7&dtype=bfloat16&name=%s" % (queries[name], name)
        expect(single(q) == raw, "batch tensor %s equals GET %s" % (name, q))
        expect(single(meta["glorot.%d" % i]) == raw, "batch tensor %s equals its canonical form"
               % name)
    expect(tensors["e"][1] == [0, 4] and tensors["e"][2] == b"", "an empty part: shape [0, 4]")
    expect(tensors["a"][1] == [6, 4] and tensors["qkv"][1] == [6, 6], "part shapes")
    expect("slice=2:4%3B6:8%3B10:12,0:6" in meta["glorot.2"], "a strided part's canonical form")


def check_ranges_head_etag():
    h, data = ok_batch(MODEL)
    etag, size = h["etag"], len(data)
    for first, last in ((0, 0), (5, 300), (size - 10, size - 1), (100, size * 2)):
        st, rh, part = batch(MODEL, headers={"Range": "bytes=%d-%d" % (first, last)})
        expect(st == 206 and part == data[first:last + 1], "Range %d-%d" % (first, last))
        expect(rh["content-range"].endswith("/%d" % size), "Content-Range")
    st, _, _ = batch(MODEL, headers={"Range": "bytes=%d-" % size})
    expect(st == 416, "416 past the end")
    st, _, part = batch(MODEL, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    expect(st == 200 and part == data, "If-Range mismatch sends the whole")
    st, _, part = batch(MODEL, headers={"Range": "bytes=0-9", "If-Range": etag})
    expect(st == 206 and part == data[:10], "If-Range match sends the range")
    st, hh, part = batch(MODEL, method="HEAD")
    expect(st == 200 and part == b"" and int(hh["content-length"]) == size and
           hh["etag"] == etag, "HEAD: headers of the POST, no body")
    st, _, _ = batch(MODEL, headers={"If-None-Match": etag})
    expect(st == 412, "If-None-Match on POST: 412")
    st, _, _ = batch(MODEL, headers={"If-None-Match": etag}, method="HEAD")
    expect(st == 304, "If-None-Match on HEAD: 304")


def check_json():
    st, h, data = batch(MODEL, "?format=json")
    expect(st == 200 and h["content-type"].startswith("application/json"), "format=json")
    arr = json.loads(data)
    _, _, tensors = parse_st(ok_batch(MODEL)[1])
    expect([o["name"] for o in arr] == [t["name"] for t in MODEL["tensors"]], "json order")
    for o in arr:
        if o["datatype"] in ("FP32", "FP64"):
            dt = np.float32 if o["datatype"] == "FP32" else np.float64
            want = np.frombuffer(tensors[o["name"]][2], dt)
            expect(np.array_equal(np.array(o["data"], dt), want), "json values " + o["name"])
    st, h, data = batch(MODEL, headers={"Accept": "application/json"})
    expect(st == 200 and json.loads(data)[0]["name"] == "layers.0.attn.wq", "Accept: json")


def error(manifest, status, param, query=""):
    st, _, data = batch(manifest, query)
    expect(st == status, "%r: status %d, wanted %d: %r" % (manifest, st, status, data[:200]))
    if param is not None:
        got = json.loads(data)["error"].get("param")
        expect(got == param, "param %r, wanted %r" % (got, param))


def check_errors():
    t = [{"name": "a", "shape": [2, 2]}]
    error(b"", 400, "manifest")
    error(b"{", 400, "manifest")
    error(b'{"seed": 1, "seed": 2, "tensors": []}', 400, "manifest")
    error(b'{"seed": 18446744073709551615, "tensors": []}', 400, "manifest")
    error({"tensors": t}, 400, "seed")
    error({"seed": "1"}, 400, "tensors")
    error({"seed": "1", "tensors": []}, 400, "tensors")
    error({"seed": "1", "tensors": t, "colour": "red"}, 400, "colour")
    error({"seed": "1", "dtype": "int8", "tensors": t}, 400, "dtype")
    error({"seed": "1", "tensors": t + [{"name": "b", "shape": [2]}]}, 400, "tensors[1].shape")
    error({"seed": "1", "tensors": t + [{"name": "b"}]}, 400, "tensors[1].shape")
    error({"seed": "1", "tensors": t + [{"shape": [2, 2]}]}, 400, "tensors[1].name")
    error({"seed": "1", "tensors": t + [{"name": "", "shape": [2, 2]}]}, 400, "tensors[1].name")
    error({"seed": "1", "tensors": t + [{"name": "x" * 257, "shape": [2, 2]}]}, 400,
          "tensors[1].name")
    error({"seed": "1", "tensors": t + [{"name": "a", "shape": [3, 3]}]}, 400, "tensors[1].name")
    error({"seed": "1", "tensors": t + [{"name": "__metadata__", "shape": [3, 3]}]}, 400,
          "tensors[1].name")
    error({"seed": "1", "tensors": t + [{"name": "b", "shape": [2, 2], "gain": "nope"}]}, 400,
          "tensors[1].gain")
    error({"seed": "1", "tensors": t + [{"name": "b", "shape": [2, 2], "call": 3}]}, 400,
          "tensors[1].call")
    error({"seed": "1", "algorithm": "mlx", "tensors": t +
           [{"name": "b", "shape": [2, 2], "dtype": "float64"}]}, 422, "tensors[1].dtype")
    error({"seed": "1", "tensors": t + [{"name": "b", "shape": [4, 4], "slice": "0:2;1:3"}]}, 400,
          "tensors[1].slice")
    error({"seed": "1", "tensors": t + [{"name": "b", "shape": [6, 4],
                                         "shard": {"rank": 0, "world": 4, "split": "even"}}]},
          400, "tensors[1].shard")
    error({"seed": "1", "tensors": t + [{"name": "b", "shape": [6, 4],
                                         "shard": {"rank": 0, "world": 2, "stride": 3}}]},
          400, "tensors[1].stride")
    error({"seed": "1", "shard": [{"rank": 0, "world": 2}, {"rank": 1, "world": 2}],
           "tensors": t}, 400, "tensors[0].axis")
    error({"seed": "1", "shard": {"rank": 0, "world": 2, "colour": 1}, "tensors": t}, 400,
          "shard")
    error({"seed": "1", "shard": {"rank": 4, "world": 4}, "tensors": t}, 400, "shard")
    error({"seed": "1", "tensors": t}, 422, "format", "?format=npy")
    error({"seed": "1", "tensors": t}, 400, None, "?shape=2,2")
    many = [{"name": "t%d" % i, "shape": [2, 2]} for i in range(9)]
    error({"seed": "1", "tensors": many}, 413, "tensors")
    error({"seed": "1", "tensors": [{"name": "big", "shape": [200, 200]}]}, 413, "tensors")
    error({"seed": "1", "tensors": t, "pad": "x" * 5000}, 413, None)


tensors = check_equals_single()
check_order_independent(tensors)
check_mlx_seeded()
check_shards()
check_conventions()
check_ranges_head_etag()
check_json()
check_errors()
print("check_batch.py: %d checks passed" % checks)
