"""torch.distributed (gloo, CPU, one process per rank on loopback): a tiny Llama
initialised at world sizes 1, 2 and 4, under a tensor-parallel plan and under an
FSDP-style flat split, gathers to exactly the world-1 parameters, bit for bit,
for chacha20 and mlx, float32 and bfloat16, from glorotd and locally.

One spawn per world size runs every combination (torch starts slowly on two
shared cores); the parametrized tests then check one combination each.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import socket
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import glorot
import glorot.torch as gt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import tiny_llama  # noqa: E402

ALGORITHMS = ["chacha20", "mlx"]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
MODES = ["tp", "flat"]
SOURCES = ["local", "server"]
WORLDS = [1, 2, 4]
SEED = 1234


def rules():
    """PyTorch's defaults (tiny_llama.NORMAL: the library serves normal), else
    Glorot embeddings."""
    return None if tiny_llama.NORMAL else {torch.nn.Embedding: "glorot_uniform"}


def bits(t: torch.Tensor) -> torch.Tensor:
    """The same bytes as uint8 (the last axis times the element size): gathered
    and compared bit for bit, and gloo need not know bfloat16."""
    return t.detach().contiguous().view(torch.uint8)


def flat_model(full: torch.nn.Module, rank: int, world: int, dtype) -> torch.nn.Module:
    """full's module tree with each parameter replaced by its padded 1-D flat chunk."""
    for name, p in list(full.named_parameters()):
        owner, _, local = name.rpartition(".")
        mod = full.get_submodule(owner)
        _, _, padded = gt.flat_range(p.numel(), rank, world)
        setattr(mod, local, torch.nn.Parameter(torch.empty(padded, dtype=dtype)))
    return full


def gather(t: torch.Tensor, world: int):
    parts = [torch.empty_like(bits(t)) for _ in range(world)]
    dist.all_gather(parts, bits(t))
    return parts


def run_rank(rank: int, world: int, port: int, url: str, out_dir: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=300)
    )
    results = {}
    with glorot.Client(url, timeout=300) as client:
        for alg in ALGORITHMS:
            for dname, dtype in DTYPES.items():
                for source in SOURCES:
                    c = client if source == "server" else None
                    # tensor parallel: each rank builds its local shapes
                    m = tiny_llama.TinyLlama(tp=world, dtype=dtype)
                    gt.init_module_(m, seed=SEED, client=c, rules=rules(), plan=tiny_llama.TP_PLAN,
                                    algorithm=alg)
                    full = {}
                    for name, p in m.named_parameters():
                        axis = tiny_llama.TP_AXES.get(name)
                        full[name] = bits(p).clone() if axis is None else torch.cat(gather(p, world), axis)
                    results[(alg, dname, "tp", source)] = full
                    # FSDP-style flat: padded 1-D chunks of every parameter
                    shapes = {n: tuple(p.shape) for n, p in tiny_llama.TinyLlama(1).named_parameters()}
                    fm = flat_model(tiny_llama.TinyLlama(1, dtype), rank, world, dtype)
                    gt.init_module_(fm, seed=SEED, client=c, rules=rules(), plan=gt.flat_plan(shapes),
                                    algorithm=alg)
                    flat = {}
                    for name, p in fm.named_parameters():
                        n = 1
                        for s in shapes[name]:
                            n *= s
                        es = p.element_size()
                        whole = torch.cat(gather(p, world))[: n * es].view(p.dtype).view(shapes[name])
                        flat[name] = whole
                    results[(alg, dname, "flat", source)] = {k: bits(v) for k, v in flat.items()}
    if rank == 0:
        torch.save(results, os.path.join(out_dir, f"world{world}.pt"))
    dist.barrier()
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gathered(server, tmp_path_factory):
    """world -> {(alg, dtype, mode, source): {name: gathered bits}}, spawned lazily."""
    out = tmp_path_factory.mktemp("dist")
    cache = {}

    def get(world: int):
        if world not in cache:
            mp.spawn(run_rank, args=(world, free_port(), server, str(out)), nprocs=world, join=True)
            cache[world] = torch.load(out / f"world{world}.pt")
        return cache[world]

    return get


@pytest.fixture(scope="module")
def reference():
    """The unsharded model of each (alg, dtype), initialised locally in this process."""
    ref = {}
    for alg in ALGORITHMS:
        for dname, dtype in DTYPES.items():
            m = tiny_llama.TinyLlama(1, dtype)
            gt.init_module_(m, seed=SEED, rules=rules(), algorithm=alg)
            ref[(alg, dname)] = {n: bits(p) for n, p in m.named_parameters()}
    return ref


@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("source", SOURCES)
def test_gathered_shards_equal_world_1(gathered, reference, world, mode, dtype, alg, source):
    got = gathered(world)[(alg, dtype, mode, source)]
    want = reference[(alg, dtype)]
    assert list(got) == list(want)
    for name in want:
        assert got[name].shape == want[name].shape, name
        assert torch.equal(got[name], want[name]), f"{name} differs at world {world}"


def test_reference_is_not_trivial(reference):
    """The comparison above could not pass by accident: parameters differ from
    each other and bfloat16 is the rounded float32."""
    ref = reference[("chacha20", "float32")]
    wq = ref["layers.0.attention.wq.weight"].view(torch.float32)
    wk = ref["layers.0.attention.wk.weight"].view(torch.float32)
    assert not torch.equal(wq, wk) and wq.abs().max() > 0.1
    bf = reference[("chacha20", "bfloat16")]["layers.0.attention.wq.weight"].view(torch.bfloat16)
    assert torch.equal(bf, wq.to(torch.bfloat16))
