#!/usr/bin/python3
"""Independent check of glorotd's slices: each part equals numpy slicing of
the whole tensor.

Run by tests/e2e/test_sharding.c with $GLOROT_PYTHON (Debian's python3 with
numpy). The whole tensor comes as .npy; the manifest has one line per part,
"SLICE<TAB>FILE", SLICE being the text sent as slice= and FILE the answer in
npy or safetensors, or EMPTY when glorotd refused the slice. For each part,
numpy's own reading of SLICE (start:stop per axis, empty meaning omitted,
fewer axes than the rank allowed) is applied to the whole, and the part must
hold exactly those bits, with that shape (a selection numpy reads as empty
is a zero-size array in both); a refused slice (EMPTY) must select no
elements in numpy.
Exit status 0 when every check passes, 1 with one line per failure on
stderr, 2 on bad usage.

    check_slices.py --whole W.npy --manifest M.tsv
"""
import argparse
import json
import struct
import sys

import numpy as np

ST_WIDTH = {"F32": "<u4", "F16": "<u2", "BF16": "<u2", "F64": "<u8"}


def numpy_index(text):
    """'0:128,:,-64:' -> (slice(0, 128), slice(None, None), slice(-64, None))."""
    index = []
    for axis in text.split(","):
        start, stop = axis.split(":")
        index.append(slice(int(start) if start else None, int(stop) if stop else None))
    return tuple(index)


def bits(arr):
    """An array's exact bit patterns as unsigned integers of its width."""
    return np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype="<u%d" % arr.dtype.itemsize)


def load_npy(path):
    arr = np.load(path, allow_pickle=False)
    return arr.shape, bits(arr)


def load_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    names = [k for k in header if k != "__metadata__"]
    entry = header[names[0]]
    begin, end = entry["data_offsets"]
    raw = data[8 + n + begin:8 + n + end]
    return tuple(entry["shape"]), np.frombuffer(raw, dtype=ST_WIDTH[entry["dtype"]]), header


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--whole", required=True)
    ap.add_argument("--manifest", required=True)
    args = ap.parse_args()
    whole = np.load(args.whole, allow_pickle=False)
    failures = []
    checked = 0
    for line in open(args.manifest):
        text, path = line.rstrip("\n").split("\t")
        want = whole[numpy_index(text)]
        if path == "EMPTY":  # glorotd refused it: numpy must select nothing
            if want.size != 0:
                failures.append("%s: refused, but numpy selects shape %r" % (text, want.shape))
            checked += 1
            continue
        if path.endswith(".safetensors"):
            shape, got, header = load_safetensors(path)
            meta = header.get("__metadata__", {})
            partial = want.shape != whole.shape
            if partial != ("slice" in meta):
                failures.append("%s: safetensors metadata slice %r" % (text, meta.get("slice")))
        else:
            shape, got = load_npy(path)
        if shape != want.shape:
            failures.append("%s: shape %r, numpy says %r" % (text, shape, want.shape))
        elif not np.array_equal(got, bits(want)):
            failures.append("%s: values differ from numpy's slice of the whole" % text)
        checked += 1
    if checked == 0:
        failures.append("the manifest is empty")
    for f in failures:
        print("check_slices: " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
