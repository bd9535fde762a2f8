#!/usr/bin/python3
"""Independent checks of glorotd's npy, safetensors and json bodies.

Run by tests/e2e/test_formats.c with $GLOROT_PYTHON (Debian's python3 with
numpy). Given the raw tensor bytes and the same tensor in the other formats,
checks each file against its specification and that it holds exactly the
raw tensor. Exit status 0 when every check passes, 1 with one line per
failure on stderr otherwise, 2 on bad usage.

    check_formats.py --dtype float16 --shape 3,4 --seed 42 --algorithm chacha20 \
        --name weight --raw R --npy N --safetensors S --json J

Any of --npy/--safetensors/--json may be left out.
"""
import argparse
import bisect
import io
import json
import struct
import sys
from fractions import Fraction

import numpy as np

NUMPY_DTYPE = {"float32": "<f4", "float16": "<f2", "float64": "<f8", "bfloat16": "<u2"}
NPY_DESCR = {"float32": "<f4", "float16": "<f2", "float64": "<f8", "bfloat16": "<V2"}
ST_DTYPE = {"float32": "F32", "float16": "F16", "float64": "F64", "bfloat16": "BF16"}
JSON_DATATYPE = {"float32": "FP32", "float16": "FP16", "float64": "FP64", "bfloat16": "BF16"}
ALGORITHM_VERSION = {"chacha20": 1, "mlx": 1, "mlx-seeded": 1}

failures = []


def transformers_accepts(metadata):
    """transformers' load_state_dict (src/transformers/modeling_utils.py), on
    what safe_open(...).metadata() returns (the header's __metadata__ object,
    None without one):
        if metadata is not None and metadata.get("format") not in
                ["pt", "tf", "flax", "mlx"]:
            raise OSError(... "does not contain the valid metadata" ...)
    """
    return not (metadata is not None and metadata.get("format") not in ["pt", "tf", "flax", "mlx"])


def fail(what):
    failures.append(what)


def expect(cond, what):
    if not cond:
        fail(what)
    return cond


def raw_bits(raw, dtype):
    """The raw tensor as integers of the element width (exact bit patterns)."""
    width = {"float32": "<u4", "float16": "<u2", "float64": "<u8", "bfloat16": "<u2"}[dtype]
    return np.frombuffer(raw, dtype=width)


# ---- npy -----------------------------------------------------------------------

def numpy_header(descr, shape):
    """The header numpy itself writes for this descr and shape."""
    buf = io.BytesIO()
    stand_in = "<f2" if descr == "<V2" else descr
    np.lib.format._write_array_header(
        buf, {"descr": stand_in, "fortran_order": False, "shape": shape}, None)
    return buf.getvalue().replace(stand_in.encode(), descr.encode(), 1)


def check_npy(path, raw, dtype, shape):
    data = open(path, "rb").read()
    expect(data[:8] == b"\x93NUMPY\x01\x00", "npy: magic/version is %r" % data[:8])
    hlen = struct.unpack("<H", data[8:10])[0]
    start = 10 + hlen
    expect(start % 64 == 0, "npy: data starts at %d, not a multiple of 64" % start)
    expect(data[start - 1:start] == b"\n", "npy: header does not end with a newline")
    expect(data[:start] == numpy_header(NPY_DESCR[dtype], shape),
           "npy: header differs from numpy's: %r" % data[:start])
    arr = np.load(io.BytesIO(data), allow_pickle=False)
    expect(arr.shape == shape, "npy: np.load shape %r, want %r" % (arr.shape, shape))
    if dtype == "bfloat16":
        expect(arr.dtype == np.dtype("V2"), "npy: bfloat16 loads as %r" % arr.dtype)
        got = np.frombuffer(arr.tobytes(), dtype="<u2")
    else:
        expect(arr.dtype == np.dtype(NUMPY_DTYPE[dtype]), "npy: dtype %r" % arr.dtype)
        got = arr.reshape(-1).view(NUMPY_DTYPE[dtype].replace("f", "u"))
    expect(np.array_equal(got, raw_bits(raw, dtype)), "npy: values differ from raw")
    expect(len(data) == start + len(raw), "npy: %d bytes, want %d" % (len(data), start + len(raw)))


# ---- safetensors -------------------------------------------------------------------

def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys %r" % keys)
    return dict(pairs)


def check_safetensors(path, raw, args, shape):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    expect(n % 8 == 0, "safetensors: header length %d is not a multiple of 8" % n)
    text = data[8:8 + n]
    expect(text[:1] == b"{", "safetensors: header does not start with '{'")
    body = text.rstrip(b" ")
    expect(body.endswith(b"}") and len(text) - len(body) < 8,
           "safetensors: padding is not 0..7 trailing spaces")
    try:
        header = json.loads(text.decode("utf-8"), object_pairs_hook=no_duplicates)
    except ValueError as e:
        fail("safetensors: header is not valid JSON: %s" % e)
        return
    expect(sorted(header) == sorted(["__metadata__", args.name]),
           "safetensors: keys %r" % sorted(header))
    entry = header.get(args.name, {})
    expect(entry.get("dtype") == ST_DTYPE[args.dtype], "safetensors: dtype %r" % entry.get("dtype"))
    expect(entry.get("shape") == list(shape), "safetensors: shape %r" % entry.get("shape"))
    expect(entry.get("data_offsets") == [0, len(raw)],
           "safetensors: data_offsets %r" % entry.get("data_offsets"))
    meta = header.get("__metadata__", {})
    expect(all(isinstance(v, str) for v in meta.values()), "safetensors: non-string metadata")
    expect(transformers_accepts(header.get("__metadata__")),
           "safetensors: transformers' load_state_dict would refuse metadata %r" % meta)
    want = {"format": "pt", "seed": args.seed, "algorithm": args.algorithm, "dtype": args.dtype,
            "generator": "glorotd", "version": str(ALGORITHM_VERSION[args.algorithm])}
    for key, value in want.items():
        expect(meta.get(key) == value, "safetensors: metadata %s=%r, want %r"
               % (key, meta.get(key), value))
    for key in ("gain", "limit", "fan_in", "fan_out", "fan"):
        expect(key in meta, "safetensors: metadata has no %s" % key)
    expect(float(meta.get("limit", "nan")) > 0, "safetensors: limit %r" % meta.get("limit"))
    expect(len(data) == 8 + n + len(raw), "safetensors: file is %d bytes" % len(data))
    expect(data[8 + n:] == raw, "safetensors: data differ from raw")
    width = "<u2" if args.dtype == "bfloat16" else NUMPY_DTYPE[args.dtype]
    values = np.frombuffer(data, dtype=width, offset=8 + n)
    expect(values.tobytes() == raw, "safetensors: np.frombuffer differs from raw")


# ---- json ----------------------------------------------------------------------

def bf16_value(h):
    """Exact value of a bfloat16 pattern: the top half of a float32."""
    return float(np.frombuffer(struct.pack("<I", h << 16), dtype="<f4")[0])


BF16_POSITIVE = [bf16_value(h) for h in range(0x7F80)]  # 0 .. largest finite, increasing
BF16_TOP = Fraction(2) ** 128                             # where the next pattern would be


def double_to_bf16(x):
    """Round a double to bfloat16 bits, to nearest with ties to even, by exact
    comparison against every bfloat16 value (no float32 step)."""
    sign = 0x8000 if np.signbit(x) else 0
    a = abs(x)
    if a != a:
        return 0x7FC0
    i = bisect.bisect_left(BF16_POSITIVE, a)   # BF16_POSITIVE[i-1] < a <= BF16_POSITIVE[i]
    if i < len(BF16_POSITIVE) and BF16_POSITIVE[i] == a:
        return sign | i
    below = Fraction(BF16_POSITIVE[i - 1])
    above = Fraction(BF16_POSITIVE[i]) if i < len(BF16_POSITIVE) else BF16_TOP
    fa = Fraction(a)
    if fa - below < above - fa or (fa - below == above - fa and (i - 1) % 2 == 0):
        return sign | (i - 1)
    return sign | (i if i < len(BF16_POSITIVE) else 0x7F80)


def parse_as_dtype(text, dtype):
    x = float(text)
    if dtype == "float64":
        return struct.unpack("<Q", struct.pack("<d", x))[0]
    if dtype == "float32":
        return int(np.float32(x).view("<u4"))
    if dtype == "float16":
        return int(np.float16(x).view("<u2"))
    return double_to_bf16(x)


def significant_digits(text):
    mantissa = text.lower().split("e")[0].lstrip("-").replace(".", "")
    return len(mantissa.strip("0")) or 1


def shortest_reference(bits, dtype):
    """A shortest round-trip text for the value: numpy's Dragon4 where numpy
    has the dtype; for bfloat16 the first "%.{p}g" that double_to_bf16 maps
    back to the bits."""
    kind = {"float64": ("<u8", "<f8"), "float32": ("<u4", "<f4"), "float16": ("<u2", "<f2")}
    if dtype in kind:
        value = np.array([bits], dtype=kind[dtype][0]).view(kind[dtype][1])[0]
        return np.format_float_scientific(value, unique=True)
    value = bf16_value(bits & 0x7FFF) * (-1 if bits & 0x8000 else 1)
    for p in range(1, 18):
        text = "%.*g" % (p, value)
        if double_to_bf16(float(text)) == bits:
            return text
    return None


def check_json(path, raw, args, shape):
    text = open(path, "rb").read().decode("utf-8")
    numbers = []

    def keep(s):
        numbers.append(s)
        return float(s)

    try:
        doc = json.loads(text, parse_float=keep, parse_int=keep,
                         object_pairs_hook=no_duplicates)
    except ValueError as e:
        fail("json: not valid JSON: %s" % e)
        return
    expect(doc.get("name") == args.name, "json: name %r" % doc.get("name"))
    expect(doc.get("shape") == list(shape), "json: shape %r" % doc.get("shape"))
    expect(doc.get("datatype") == JSON_DATATYPE[args.dtype], "json: datatype %r" % doc.get("datatype"))
    params = doc.get("parameters", {})
    expect(params.get("seed") == args.seed, "json: parameters.seed %r" % params.get("seed"))
    expect(params.get("algorithm") == args.algorithm, "json: algorithm %r" % params.get("algorithm"))
    expect(sorted(doc) == ["data", "datatype", "name", "parameters", "shape"],
           "json: keys %r" % sorted(doc))
    bits = raw_bits(raw, args.dtype)
    # the data array's numbers are the last len(bits) numbers of the document
    data = numbers[len(numbers) - len(bits):] if len(numbers) >= len(bits) else []
    if not expect(len(doc.get("data", [])) == len(bits), "json: %d values, want %d"
                  % (len(doc.get("data", [])), len(bits))):
        return
    bad = 0
    for i, s in enumerate(data):
        want = int(bits[i])
        if parse_as_dtype(s, args.dtype) != want:
            bad += 1
            if bad <= 5:
                fail("json: element %d %s does not read back as 0x%x" % (i, s, want))
            continue
        ref = shortest_reference(want, args.dtype)
        zero_or_pow2 = (want & {"float64": (1 << 52) - 1, "float32": (1 << 23) - 1,
                                "float16": 0x3FF, "bfloat16": 0x7F}[args.dtype]) == 0
        if ref is not None and not zero_or_pow2 and \
                significant_digits(s) != significant_digits(ref):
            bad += 1
            if bad <= 5:
                fail("json: element %d %s is not as short as %s" % (i, s, ref))
    expect(bad == 0, "json: %d bad elements" % bad)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dtype", required=True, choices=sorted(NUMPY_DTYPE))
    p.add_argument("--shape", required=True)
    p.add_argument("--seed", required=True)
    p.add_argument("--algorithm", default="chacha20")
    p.add_argument("--name", default="weight")
    p.add_argument("--raw", required=True)
    p.add_argument("--npy")
    p.add_argument("--safetensors")
    p.add_argument("--json")
    p.add_argument("--quiet", action="store_true", help="only the exit status")
    args = p.parse_args()
    shape = tuple(int(d) for d in args.shape.split(","))
    raw = open(args.raw, "rb").read()
    numel = 1
    for d in shape:
        numel *= d
    expect(len(raw) == numel * (8 if args.dtype == "float64" else 4 if args.dtype == "float32" else 2),
           "raw: %d bytes for %r" % (len(raw), shape))
    if args.npy:
        check_npy(args.npy, raw, args.dtype, shape)
    if args.safetensors:
        check_safetensors(args.safetensors, raw, args, shape)
    if args.json:
        check_json(args.json, raw, args, shape)
    for f in failures if not args.quiet else []:
        print("check_formats: " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
