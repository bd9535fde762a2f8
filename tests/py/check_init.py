#!/usr/bin/python3
"""The initializers over HTTP, on a live glorotd.

Run by tests/e2e/test_init_http.c with $GLOROT_PYTHON (Debian's python3 with numpy):

    check_init.py BASE_URL DATA_DIR

- every row of DATA_DIR/mlx_family.tsv and mlx_family2.tsv (tensors MLX itself produced) is
  asked for at /v1/<init> and must come back bit for bit, with Glorot-Init and a
  Glorot-Distribution that agrees with the row's parameters;
- a mixed manifest (normal embeddings, zeros biases, ones norms, he_normal convs, a truncated
  normal) streams one safetensors file whose tensors each equal GET /v1/<init>?<canonical>
  of its metadata, for chacha20 and mlx-seeded (where only random tensors advance the call);
- /v1/digest of a normal-family tensor is the SHA-256 of its GET;
- bad parameters get 400 naming them.
Exit status 0 when every check passes, 1 with the failing check on stdout.
"""
import hashlib
import http.client
import json
import os
import struct
import sys
import urllib.parse

import numpy as np

BASE, DATA = sys.argv[1], sys.argv[2]
HOST = urllib.parse.urlparse(BASE)
checks = 0


def expect(cond, what):
    global checks
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    checks += 1


def request(method, path, body=None):
    conn = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=60)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def get(path):
    status, headers, data = request("GET", path)
    expect(status == 200, "GET %s answered %d: %r" % (path, status, data[:300]))
    return headers, data


def rows(name):
    with open(os.path.join(DATA, name)) as f:
        lines = [line.rstrip("\n") for line in f if not line.startswith("#")]
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:] if line]


def hex_words(data, dtype):
    width = 2 if dtype in ("float16", "bfloat16") else 4
    fmt = "<%d%s" % (len(data) // width, "H" if width == 2 else "I")
    return " ".join(("%04X" if width == 2 else "%08X") % v for v in struct.unpack(fmt, data))


def family_query(row):
    """mlx_family.tsv: init mode seed shape gain dtype (key mode)."""
    q = {"algorithm": "mlx", "seed": row["seed"], "shape": row["shape"], "gain": row["gain"],
         "dtype": row["dtype"]}
    if row["mode"] != "-":
        q["mode"] = row["mode"]
    return row["init"], q


def family2_query(row):
    """mlx_family2.tsv: init params mode call seed shape dtype ..."""
    q = {"shape": row["shape"], "dtype": row["dtype"]}
    if row["params"] != "-":
        for kv in row["params"].split(";"):
            k, v = kv.split("=")
            q["mode" if k == "fan" else k] = v
    if row["mode"] != "-":
        q["algorithm"] = "mlx-seeded" if row["mode"] == "seeded" else "mlx"
        q["seed"] = row["seed"]
    if row["call"] != "-":
        q["call"] = row["call"]
    return row["init"], q


def check_dist(init, q, dist):
    """Glorot-Distribution names the right law and the row's own numbers."""
    law = dist.split(";")[0]
    want = {"glorot_uniform": "uniform", "he_uniform": "uniform", "uniform": "uniform",
            "glorot_normal": "normal", "he_normal": "normal", "normal": "normal",
            "truncated_normal": "truncated_normal", "constant": "constant",
            "identity": "identity"}[init]
    expect(law == want, "%s: Glorot-Distribution %r" % (init, dist))
    fields = dict(kv.strip().split("=") for kv in dist.split(";")[1:])
    for key in ("low", "high", "mean", "std", "a", "b", "value"):
        if key in q and key in fields:
            expect(float(fields[key]) == float(q[key]), "%s: %s=%s in %r" % (init, key, q[key], dist))


def check_rows():
    for name, parse in (("mlx_family.tsv", family_query), ("mlx_family2.tsv", family2_query)):
        for row in rows(name):
            init, q = parse(row)
            path = "/v1/%s?%s" % (init, urllib.parse.urlencode(q))
            headers, data = get(path)
            expect(hex_words(data, row["dtype"]) == row["values_hex"], "%s: %s" % (name, path))
            if "sha256" in row:
                expect(hashlib.sha256(data).hexdigest() == row["sha256"], "sha256 of " + path)
            expect(headers["glorot-init"] == init, "Glorot-Init of " + path)
            check_dist(init, q, headers["glorot-distribution"])


def parse_st(data):
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__")
    return meta, {k: data[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
                  for k, v in header.items()}


MODEL = [
    {"name": "tok_embeddings.weight", "shape": [64, 32], "init": "normal", "std": 0.02},
    {"name": "layers.0.attention_norm.weight", "shape": [32], "init": "ones"},
    {"name": "layers.0.attention.wq.weight", "shape": [32, 32]},
    {"name": "layers.0.attention.wq.bias", "shape": [32], "init": "zeros"},
    {"name": "layers.0.conv.weight", "shape": [8, 4, 3, 3], "init": "he_normal",
     "mode": "fan_out", "gain": "relu", "fan": "torch"},
    {"name": "layers.0.mlp.w1", "shape": [48, 32], "init": "truncated_normal", "std": 0.02,
     "a": -0.04, "b": 0.04, "dtype": "float32"},
    {"name": "head.bias", "shape": [64], "init": "uniform", "low": -0.1, "high": 0.1},
]


def path_of(canonical):
    q = urllib.parse.parse_qs(canonical)
    return "/v1/%s?%s" % (q["init"][0] if "init" in q else "glorot_uniform", canonical)


def check_batch(algorithm):
    manifest = {"seed": "7", "algorithm": algorithm, "dtype": "bfloat16", "tensors": MODEL}
    status, _, data = request("POST", "/v1/batch", json.dumps(manifest).encode())
    expect(status == 200, "%s batch answered %d: %r" % (algorithm, status, data[:300]))
    meta, tensors = parse_st(data)
    calls = []
    for i, t in enumerate(MODEL):
        canonical = meta["glorot.%d" % i]
        _, single = get(path_of(canonical))
        expect(tensors[t["name"]] == single, "%s: %s equals GET %s" % (algorithm, t["name"],
                                                                        canonical))
        q = urllib.parse.parse_qs(canonical)
        if "call" in q:
            calls.append((t.get("init", "glorot_uniform"), int(q["call"][0])))
    if algorithm == "mlx-seeded":  # zeros, ones draw nothing: the random tensors count 1, 2, ...
        random_inits = [t.get("init", "glorot_uniform") for t in MODEL
                        if t.get("init") not in ("zeros", "ones")]
        expect([c for i, c in calls if i not in ("zeros", "ones")] ==
               list(range(1, len(random_inits) + 1)), "mlx-seeded calls %r" % calls)
    ones = np.frombuffer(tensors["layers.0.attention_norm.weight"], np.uint16)
    expect((ones == 0x3F80).all(), "ones in bfloat16")
    zeros = np.frombuffer(tensors["layers.0.attention.wq.bias"], np.uint16)
    expect((zeros == 0).all(), "zeros in bfloat16")


def check_digest():
    q = "shape=64,48&seed=3&std=0.5&mean=1&format=npy"
    _, data = get("/v1/normal?" + q)
    _, _, body = request("GET", "/v1/digest?init=normal&" + q)
    d = json.loads(body)
    expect(d["sha256"] == hashlib.sha256(data).hexdigest(), "digest of a normal tensor")
    expect("init=normal" in d["canonical"], "the digest's canonical form names the init")


def check_errors():
    cases = [
        ("/v1/normal?shape=4&std=0", "std"),
        ("/v1/normal?shape=4&std=-1", "std"),
        ("/v1/truncated_normal?shape=4&a=1&b=0", "a"),
        ("/v1/uniform?shape=4&low=2&high=1", "low"),
        ("/v1/uniform?shape=4&low=nan", "low"),
        ("/v1/normal?shape=4&mean=inf", "mean"),
        ("/v1/normal?shape=4&mode=fan_in", "mode"),
        ("/v1/uniform?shape=4&gain=2", "gain"),
        ("/v1/zeros?shape=4&value=2", "value"),
        ("/v1/he_normal?shape=4,4&mode=sideways", "mode"),
        ("/v1/identity?shape=4", "shape"),
        ("/v1/glorot_normal?shape=4", "shape"),
        ("/v1/normal?shape=4&init=uniform", "init"),
        ("/v1/constant?shape=4&value=1e6&dtype=float16", "value"),
    ]
    for path, param in cases:
        status, _, body = request("GET", path)
        expect(status == 400, "%s answered %d" % (path, status))
        err = json.loads(body)["error"]
        expect(err["param"] == param and err["message"], "%s names %s: %r" % (path, param, err))
    status, _, body = request("POST", "/v1/batch", json.dumps(
        {"seed": "1", "std": 0.5, "tensors": [{"name": "w", "shape": [4, 4]}]}).encode())
    expect(status == 400 and json.loads(body)["error"]["param"] == "std",
           "a top-level default no tensor takes: %r" % body[:200])
    status, _, body = request("POST", "/v1/batch", json.dumps(
        {"seed": "1", "tensors": [{"name": "w", "shape": [4], "init": "normal", "gain": 2}]}
    ).encode())
    expect(status == 400 and json.loads(body)["error"]["param"] == "tensors[0].gain",
           "a tensor's parameter its initializer does not take: %r" % body[:200])


check_rows()
check_batch("chacha20")
check_batch("mlx-seeded")
check_digest()
check_errors()
print("check_init.py: %d checks passed" % checks)
