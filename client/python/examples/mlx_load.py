"""MLX: mx.load reads .npy and .safetensors files (and file objects); glorot's
npy and safetensors answers are such files:

    import mlx.core as mx, glorot
    data = glorot.Client().fetch_bytes(shape=(4096, 1024), seed=42, algorithm="mlx",
                                       format="safetensors", name="w", dtype="bfloat16")
    open("w.safetensors", "wb").write(data)
    w = mx.load("w.safetensors")["w"]   # the bytes MLX's own glorot_uniform gives

(algorithm=mlx reproduces MLX's CPU generator bit for bit: docs/ALGORITHM.md.)
MLX is not installed here: this script reads the same files with numpy, the
path mx.load takes for npy, and the safetensors layout (le64 header length,
JSON header, data) for safetensors.
"""
import io
import json
import os
import struct

import numpy as np

import glorot

kw = dict(shape=(512, 256), seed=42, algorithm="mlx")
client = glorot.Client() if os.environ.get("GLOROT_URL") else None
get = glorot.generate_bytes if client is None else client.fetch_bytes

npy = np.load(io.BytesIO(get(format="npy", **kw)))
data = get(format="safetensors", name="w", **kw)
(n,) = struct.unpack("<Q", data[:8])
entry = json.loads(data[8:8 + n])["w"]
a, b = entry["data_offsets"]
st = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(entry["shape"])

want = glorot.generate(**kw)
assert (npy == want).all() and (st == want).all() and entry["dtype"] == "F32"
print("npy and safetensors both load as the", want.shape, "mlx tensor")
