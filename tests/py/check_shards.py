#!/usr/bin/python3
"""Independent check of glorotd's shard conventions against the frameworks
themselves: each part glorotd served equals what torch / numpy / Megatron's
split give for the same rank of the whole tensor.

Run by tests/e2e/test_shard_conventions.c with $GLOROT_PYTHON (Debian's
python3 with numpy and python3-torch). The whole tensor comes as .npy; the
manifest has one line per part:

    SHARD<TAB>AXIS<TAB>SPLIT<TAB>STRIDE<TAB>GLOROT-SLICE<TAB>FILE

the first four as sent (query syntax, one value or one per shard; "-" when
not sent), GLOROT-SLICE the header glorotd answered with, FILE the answer
(.npy, .safetensors, .json or .bin for raw), or REFUSED when glorotd answered
400. For every line the shards are applied in order, each to the part the
earlier ones left (DTensor's left-to-right order), with:

- array_split: numpy.array_split(part, world, axis)[rank];
- chunk: torch.chunk(part, world, dim)[rank], or an empty part when torch
  returns fewer chunks (DTensor's fill_empty_tensor_to_shards does the same);
- even: Megatron-LM's _initialize_affine_weight_cpu, written out with torch:
  per_partition = divide(n, world); per_stride = divide(per_partition, stride);
  torch.cat(torch.split(part, per_stride, dim)[rank::world], dim)
  (divide() asserts divisibility: a part glorotd refused must fail it).

The part must hold exactly those bits with that shape, and GLOROT-SLICE must
name the positions the same cuts give to an arange of each axis. Exit status
0 when every check passes, 1 with one line per failure on stderr; a summary
line ("N parts checked, M failures") on stdout.

    check_shards.py --whole W.npy --manifest M.tsv [--quiet]
"""
import argparse
import json
import struct
import sys

import numpy as np
import torch

ST_WIDTH = {"F32": "<i4", "F16": "<i2", "BF16": "<i2", "F64": "<i8"}
SIGNED = {2: np.int16, 4: np.int32, 8: np.int64}


class Refused(Exception):
    pass


def divide(numerator, denominator):
    """megatron/core/utils.py: ensure_divisibility, then integer division."""
    if denominator == 0 or numerator % denominator != 0:
        raise Refused("%d is not divisible by %d" % (numerator, denominator))
    return numerator // denominator


def cut(t, axis, rank, world, split, stride):
    """The part of torch tensor t that rank holds, by the named convention."""
    if split == "array_split":
        if stride != 1:
            raise Refused("array_split has no stride")
        return torch.from_numpy(np.ascontiguousarray(np.array_split(t.numpy(), world, axis)[rank]))
    if split == "chunk":
        if stride != 1:
            raise Refused("torch.chunk has no stride")
        chunks = torch.chunk(t, world, dim=axis)
        if rank < len(chunks):
            return chunks[rank]
        shape = list(t.shape)
        shape[axis] = 0
        return t.new_empty(shape)
    if split == "even":
        per_partition = divide(t.shape[axis], world)
        per_stride = divide(per_partition, stride)
        if per_stride == 0:
            raise Refused("an empty axis cannot be split by Megatron")
        pieces = torch.split(t, per_stride, dim=axis)
        return torch.cat(pieces[rank::world], dim=axis)
    raise ValueError("unknown split %r" % split)


def listed(text, count, default):
    """One value for all shards, or one per shard."""
    if text == "-":
        return [default] * count
    values = text.split(",")
    return values * count if len(values) == 1 else values


def shards_of(line_fields, rank):
    shard, axis, split, stride = line_fields
    parts = [tuple(int(x) for x in s.split("/")) for s in shard.split(",")]
    axes = [int(a) % rank for a in listed(axis, len(parts), "0")]
    splits = listed(split, len(parts), "array_split")
    strides = [int(s) for s in listed(stride, len(parts), "1")]
    return [(axes[k], parts[k][0], parts[k][1], splits[k], strides[k]) for k in range(len(parts))]


def expected(whole, shards):
    t = torch.from_numpy(whole)
    for axis, r, w, split, stride in shards:
        t = cut(t, axis, r, w, split, stride)
    return t.contiguous().numpy()


def axis_text(indices):
    """The pieces of one axis as glorotd writes them: maximal runs."""
    runs = []
    for i in indices:
        if runs and runs[-1][1] == i:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    return ";".join("%d:%d" % (a, b) for a, b in runs)


def slice_text(shape, shards):
    idx = [torch.arange(n) for n in shape]
    for axis, r, w, split, stride in shards:
        idx[axis] = cut(idx[axis], 0, r, w, split, stride)
    if any(len(i) == 0 for i in idx):  # an empty part: its shape alone
        return ",".join("0:%d" % len(i) for i in idx)
    return ",".join(axis_text(i.tolist()) for i in idx)


def load(path, whole_dtype):
    """(shape, bits as signed integers of the element width) of an answer."""
    width = SIGNED[whole_dtype.itemsize]
    if path.endswith(".npy"):
        a = np.load(path, allow_pickle=False)
        return a.shape, np.frombuffer(a.tobytes(), dtype=width)
    data = open(path, "rb").read()
    if path.endswith(".safetensors"):
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        entry = [v for k, v in header.items() if k != "__metadata__"][0]
        begin, end = entry["data_offsets"]
        return tuple(entry["shape"]), np.frombuffer(data[8 + n + begin:8 + n + end],
                                                    dtype=ST_WIDTH[entry["dtype"]])
    if path.endswith(".json"):
        doc = json.loads(data)
        kind = {"FP32": np.float32, "FP64": np.float64}[doc["datatype"]]
        values = np.array([kind(x) for x in doc["data"]], dtype=kind)
        return tuple(doc["shape"]), np.frombuffer(values.tobytes(), dtype=width)
    return None, np.frombuffer(data, dtype=width)  # raw: no shape of its own


def check_line(whole, fields, failures):
    spec, header, path = fields[:4], fields[4], fields[5]
    shards = shards_of(spec, whole.ndim)
    label = "shard=%s axis=%s split=%s stride=%s" % tuple(spec)
    try:
        want = expected(whole, shards)
        text = slice_text(whole.shape, shards)
    except Refused as why:
        if path != "REFUSED":
            failures.append("%s: served, but the framework refuses it (%s)" % (label, why))
        return
    if path == "REFUSED":
        failures.append("%s: refused, but the framework gives shape %r" % (label, want.shape))
        return
    shape, got = load(path, whole.dtype)
    if shape is not None and shape != want.shape:
        failures.append("%s: shape %r, the framework says %r" % (label, shape, want.shape))
    elif not np.array_equal(got, np.frombuffer(want.tobytes(), dtype=SIGNED[whole.itemsize])):
        failures.append("%s: values differ from the framework's part of the whole" % label)
    if header != text:
        failures.append("%s: Glorot-Slice %r, the framework's positions are %r" %
                        (label, header, text))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--whole", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--quiet", action="store_true", help="only the summary line")
    args = ap.parse_args()
    whole = np.load(args.whole, allow_pickle=False)
    whole = np.frombuffer(whole.tobytes(), dtype=SIGNED[whole.dtype.itemsize]).reshape(whole.shape)
    whole = whole.copy()  # writable, as torch.from_numpy wants
    failures = []
    checked = 0
    for line in open(args.manifest):
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 6:
            failures.append("bad manifest line %r" % line)
            continue
        check_line(whole, fields, failures)
        checked += 1
    if checked == 0:
        failures.append("the manifest is empty")
    for f in [] if args.quiet else failures[:50]:
        print("check_shards: " + f, file=sys.stderr)
    print("check_shards: %d parts checked, %d failures" % (checked, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
