"""glorot.torch: tensors of every dtype filled in place, batches, and init_module_."""

from __future__ import annotations

import itertools
import json
import pathlib
import random
import sys

import numpy as np
import pytest
import torch

import glorot
import glorot.torch as gt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import tiny_llama  # noqa: E402  (what the C library serves)

needs_family = pytest.mark.skipif(not tiny_llama.FAMILY, reason="no zeros/ones in the C library yet")
needs_normal = pytest.mark.skipif(not tiny_llama.NORMAL, reason="no normal in the C library yet")


def raw(t: torch.Tensor) -> bytes:
    return t.contiguous().view(torch.uint8).numpy().tobytes()


@pytest.mark.parametrize(
    "alg,dtype",
    [
        (a, d)
        for a in ("chacha20", "mlx", "mlx-seeded")
        for d in ("float32", "float16", "bfloat16", "float64")
        if a == "chacha20" or d != "float64"  # MLX has no float64 (refusal: test_api)
    ],
)
def test_fetch_every_dtype_equals_the_raw_bytes(source, dtype, alg):
    kw = dict(shape=(19, 23), seed=8, dtype=dtype, algorithm=alg, shard=(1, 2), axis=1)
    t = gt.fetch(client=source, **kw)
    assert t.dtype == getattr(torch, dtype) and tuple(t.shape) == (19, 11)
    assert raw(t) == glorot.generate_bytes(format="raw", **kw)


def test_torch_dtype_argument_and_generate():
    a = gt.fetch(shape=(4, 4), seed=2, dtype=torch.bfloat16)
    b = gt.generate(shape=(4, 4), seed=2, dtype="bfloat16")
    assert a.dtype == torch.bfloat16 and torch.equal(a, b)
    with pytest.raises(glorot.InvalidError) as e:
        gt.fetch(shape=(4, 4), seed=2, dtype=torch.int32)
    assert e.value.param == "dtype"
    with pytest.raises(glorot.InvalidError) as e:
        gt.generate(shape=(4, 4), seed=2, client=object())
    assert e.value.param == "client"


def test_out_in_place_and_strided(source):
    out = torch.zeros(6, 5, dtype=torch.bfloat16)
    ptr = out.data_ptr()
    got = gt.fetch(shape=(6, 5), seed=3, dtype="bfloat16", out=out, client=source)
    assert got is out and out.data_ptr() == ptr
    want = gt.generate(shape=(6, 5), seed=3, dtype="bfloat16")
    assert torch.equal(out, want)
    strided = torch.zeros(5, 6, dtype=torch.bfloat16).t()  # not contiguous: staged
    gt.fetch(shape=(6, 5), seed=3, dtype="bfloat16", out=strided, client=source)
    assert torch.equal(strided, want)
    with pytest.raises(glorot.InvalidError) as e:
        gt.fetch(shape=(6, 5), seed=3, dtype="float32", out=out)
    assert e.value.param == "out"


def test_batch_bfloat16_equals_local_and_single(client):
    manifest = {
        "seed": "5",
        "dtype": "bfloat16",
        "tensors": [{"name": "a.w", "shape": [40, 24]}, {"name": "b.w", "shape": [8, 16]}],
    }
    got = gt.batch(manifest, 1, 4, client=client)
    local = gt.batch(json.dumps(manifest), 1, 4)
    for name, shape in (("a.w", (40, 24)), ("b.w", (8, 16))):
        assert torch.equal(got[name], local[name])
        single = gt.generate(shape=shape, seed=5, name=name, dtype="bfloat16", shard=(1, 4))
        assert torch.equal(got[name], single)


@pytest.mark.parametrize("shape", [(7,), (5, 3), (4, 3, 5), (2, 3, 2, 4)])
def test_flat_pieces_cover_exactly_the_flat_range(shape):
    n = int(np.prod(shape))
    full = np.arange(n).reshape(shape)
    rng = random.Random(len(shape))
    ranges = [(0, n), (0, 0), (n, n)] + [tuple(sorted(rng.sample(range(n + 1), 2))) for _ in range(40)]
    for start, stop in ranges:
        got, at = [], start
        pieces = gt.flat_pieces(shape, start, stop)
        assert len(pieces) <= 2 * len(shape) - 1
        for text, first, count in pieces:
            idx = tuple(slice(*map(int, ax.split(":"))) for ax in text.split(",")) if text else ()
            block = full[idx].reshape(-1)
            assert first == at and count == block.size
            got.extend(block)
            at += count
        assert got == list(range(start, stop)), (shape, start, stop)


@pytest.mark.parametrize("n,world", [(10, 4), (10, 6), (3, 4), (12, 4), (1, 1)])
def test_flat_range_is_torch_chunk(n, world):
    chunks = torch.arange(n).chunk(world)
    for rank in range(world):
        start, stop, padded = gt.flat_range(n, rank, world)
        want = chunks[rank].tolist() if rank < len(chunks) else []
        assert list(range(start, stop)) == want and padded == chunks[0].numel()


class Net(torch.nn.Module):
    def __init__(self, tp: int = 1) -> None:
        super().__init__()
        self.up = torch.nn.Linear(12, 16 // tp, bias=False)
        self.down = torch.nn.Linear(16 // tp, 12, bias=False)
        self.conv = torch.nn.Conv2d(3, 4, 3, bias=False)
        self.emb = torch.nn.Embedding(10, 12)


GLOROT_RULES = {torch.nn.Embedding: "glorot_uniform"}


def test_init_module_equals_the_manifest_of_its_parameters(source):
    """Each parameter is the tensor a batch manifest listing the module's
    parameters by name gives: chacha20 streams keyed by (seed, name)."""
    m = gt.init_module_(Net(), seed=77, client=source, rules=GLOROT_RULES)
    manifest = {
        "seed": "77",
        "fan": "torch",
        "tensors": [{"name": n, "shape": list(p.shape)} for n, p in m.named_parameters()],
    }
    want = glorot.batch_local(manifest)
    for n, p in m.named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), want[n], err_msg=n)
    # fan=torch for the conv: fan_in = 3*3*3, fan_out = 4*3*3
    limit = np.sqrt(6.0 / (27 + 36))
    assert m.conv.weight.abs().max().item() <= limit and m.conv.weight.abs().max().item() > 0.9 * limit


def test_mlx_seeded_numbers_the_calls_in_parameter_order():
    m = gt.init_module_(Net(), seed=5, rules=GLOROT_RULES, algorithm="mlx-seeded")
    for k, (n, p) in enumerate(m.named_parameters(), start=1):
        want = gt.generate(shape=tuple(p.shape), seed=5, algorithm="mlx-seeded", call=k, fan="torch")
        assert torch.equal(p.detach(), want), n


def test_rules_precedence_names_globs_types():
    rules = {
        torch.nn.Linear: {"init": "glorot_uniform", "gain": "relu"},
        "do*.weight": {"init": "glorot_uniform", "gain": 0.5},
        "up.weight": "glorot_uniform",
        torch.nn.Embedding: {"weight": {"init": "glorot_uniform", "gain": 2.0}},
    }
    m = gt.init_module_(Net(), seed=1, rules=rules)
    kw = dict(seed=1, fan="torch")
    assert torch.equal(m.up.weight.detach(), gt.generate(shape=(16, 12), name="up.weight", **kw))
    assert torch.equal(m.down.weight.detach(), gt.generate(shape=(12, 16), name="down.weight", gain=0.5, **kw))
    assert torch.equal(m.emb.weight.detach(), gt.generate(shape=(10, 12), name="emb.weight", gain=2.0, **kw))


def test_a_parameter_without_a_rule_is_named():
    class Odd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.empty(3, 3))

    with pytest.raises(glorot.InvalidError) as e:
        gt.init_module_(Odd(), seed=1)
    assert e.value.param == "scale" and "rules" in str(e.value)


def test_tensor_parallel_parts_equal_the_whole():
    full = gt.init_module_(Net(), seed=9, rules=GLOROT_RULES)
    plan = {"up": "colwise", "down": "rowwise", "emb": gt.Shard(1)}
    for rank, world in itertools.product(range(4), [4]):
        part = Net(tp=world)
        part.emb = torch.nn.Embedding(10, 3)
        gt.init_module_(part, seed=9, rules=GLOROT_RULES, plan=plan, rank=rank, world=world)
        assert torch.equal(part.up.weight, full.up.weight[rank * 4 : rank * 4 + 4])
        assert torch.equal(part.down.weight, full.down.weight[:, rank * 4 : rank * 4 + 4])
        assert torch.equal(part.emb.weight, full.emb.weight[:, rank * 3 : rank * 3 + 3])
        assert torch.equal(part.conv.weight, full.conv.weight)  # not planned: whole


def test_uneven_parts_take_the_full_size():
    """Without size the full length is local x world (exact for even splits);
    an uneven split says its full size, and a part that does not fit is named."""
    full = gt.init_module_(Net(), seed=9, rules=GLOROT_RULES)
    part = Net()
    part.emb = torch.nn.Embedding(4, 12)  # rows 0:4 of 10 are part 0 of 3 (array_split)
    gt.init_module_(part, seed=9, rules=GLOROT_RULES, plan={"emb.weight": gt.Shard(0, size=10)}, rank=0, world=3)
    assert torch.equal(part.emb.weight, full.emb.weight[0:4])
    with pytest.raises(glorot.InvalidError) as e:  # part 1 of 3 of 10 has 3 rows, not 4
        gt.init_module_(part, seed=9, rules=GLOROT_RULES, plan={"emb.weight": gt.Shard(0, size=10)}, rank=1, world=3)
    assert e.value.param == "plan" and "size" in str(e.value) and "emb.weight" in str(e.value)


def test_flat_shards_with_and_without_padding():
    full = gt.init_module_(Net(), seed=4, rules=GLOROT_RULES)
    shapes = {n: tuple(p.shape) for n, p in Net().named_parameters()}
    world = 5
    for rank in range(world):
        for padded in (False, True):
            m = Net()
            for n, p in list(m.named_parameters()):
                start, stop, pad = gt.flat_range(p.numel(), rank, world)
                owner, _, local = n.rpartition(".")
                size = pad if padded else stop - start
                setattr(m.get_submodule(owner), local, torch.nn.Parameter(torch.full((size,), 7.0)))
            gt.init_module_(m, seed=4, rules=GLOROT_RULES, plan=gt.flat_plan(shapes), rank=rank, world=world)
            for n, p in m.named_parameters():
                start, stop, pad = gt.flat_range(full.get_parameter(n).numel(), rank, world)
                want = full.get_parameter(n).detach().reshape(-1)[start:stop]
                assert torch.equal(p.detach()[: stop - start], want), (n, rank)
                assert not p.detach()[stop - start :].any()


def test_plan_errors():
    with pytest.raises(glorot.InvalidError) as e:
        gt.init_module_(Net(), seed=1, rules=GLOROT_RULES, plan={"up": "diagonal"}, rank=0, world=2)
    assert e.value.param == "plan"
    with pytest.raises(glorot.InvalidError) as e:
        gt.init_module_(Net(), seed=1, rules=GLOROT_RULES, plan={"up": "colwise"})
    assert e.value.param == "rank"
    with pytest.raises(glorot.InvalidError) as e:
        gt.init_module_(Net(), seed=1, rules=GLOROT_RULES, plan={"up": "colwise"}, rank=2, world=2)
    assert e.value.param == "rank"
    with pytest.raises(glorot.InvalidError) as e:
        gt.init_module_(Net(), seed=1, rules=GLOROT_RULES, plan={"up.weight": gt.Flat((16, 12))}, rank=0, world=2)
    assert e.value.param == "plan"


@needs_normal
def test_default_rules_follow_pytorch():
    """Linear/Conv glorot_uniform + zero bias, norms ones/zeros, Embedding N(0, 1)
    with the padding row zeroed (torch/nn/modules/sparse.py)."""

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(64, 32)
            self.ln = torch.nn.LayerNorm(32)
            self.emb = torch.nn.Embedding(200, 64, padding_idx=3)

    m = gt.init_module_(M(), seed=2)
    assert torch.equal(m.lin.bias, torch.zeros(32)) and torch.equal(m.ln.weight, torch.ones(32))
    assert torch.equal(m.ln.bias, torch.zeros(32)) and not m.emb.weight[3].any()
    w = m.emb.weight.detach().double()
    assert abs(w.mean().item()) < 0.05 and abs(w.std().item() - 1.0) < 0.05
    want = gt.generate("normal", shape=(200, 64), seed=2, name="emb.weight", mean=0.0, std=1.0)
    want[3] = 0
    assert torch.equal(m.emb.weight.detach(), want)


@needs_family
@pytest.mark.parametrize("alg", ["chacha20", "mlx-seeded"])
def test_init_module_with_constants_equals_a_mixed_manifest(source, alg):
    """Biases and norms (zeros, ones) between random weights: mlx-seeded counts
    calls over random tensors only, as manifests do (proto/request/manifest.c)."""
    m = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.LayerNorm(6), torch.nn.Linear(6, 4))
    gt.init_module_(m, seed=13, client=source, algorithm=alg)
    inits = {"0.weight": {"init": "glorot_uniform", "fan": "torch"}, "0.bias": {"init": "zeros"},
             "1.weight": {"init": "ones"}, "1.bias": {"init": "zeros"},
             "2.weight": {"init": "glorot_uniform", "fan": "torch"}, "2.bias": {"init": "zeros"}}
    manifest = {"seed": "13", "algorithm": alg, "tensors": [
        dict(name=n, shape=list(p.shape), **inits[n]) for n, p in m.named_parameters()]}
    want = glorot.batch_local(manifest)
    for n, p in m.named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), want[n], err_msg=n)
    assert torch.equal(m[1].weight, torch.ones(6)) and not m[0].bias.any()
