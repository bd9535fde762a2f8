"""glorot.torch: torch tensors from glorotd (or computed locally), and whole modules.

``fetch`` fills a ``torch.Tensor``'s memory directly, every dtype including
``torch.bfloat16``. ``init_module_`` initialises every parameter of an
``nn.Module`` in place, each keyed by its qualified name, so the weights are
the same at any world size: a sharded parameter receives exactly its part of
the tensor the unsharded module gets.

PyTorch's own defaults that the rules follow (read in pytorch/pytorch):
``torch/nn/modules/sparse.py`` ``Embedding.reset_parameters`` is
``init.normal_(self.weight)`` then ``_fill_padding_idx_with_zero()``;
``torch/nn/modules/normalization.py`` ``LayerNorm.reset_parameters`` is
``init.ones_(self.weight)``, ``init.zeros_(self.bias)``. Tensor-parallel
styles follow ``torch/distributed/tensor/parallel/style.py``: ``ColwiseParallel``
shards a Linear's weight and bias as ``Shard(0)`` and an Embedding's weight as
``Shard(1)``; ``RowwiseParallel`` shards a Linear's weight as ``Shard(1)`` with
its bias replicated, and an Embedding's weight as ``Shard(0)``. The FSDP flat
split follows ``torch/distributed/fsdp/flat_param.py``
``FlatParamHandle._get_unpadded_shard``: ``torch.flatten(t).chunk(world)[rank]``
(empty past the last chunk), padded with zeros to the first chunk's length.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from . import Client, Meta, _core
from ._errors import InvalidError

__all__ = [
    "fetch",
    "generate",
    "batch",
    "init_module_",
    "Shard",
    "Replicate",
    "Flat",
    "flat_plan",
    "flat_range",
    "DEFAULT_RULES",
]

_TORCH = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}
_NAMES = {v: k for k, v in _TORCH.items()}


def _torch_dtype(name: str) -> torch.dtype:
    try:
        return _TORCH[name]
    except KeyError:
        raise InvalidError(f"dtype {name!r} has no torch equivalent here", param="dtype") from None


def dtype_name(dtype: torch.dtype) -> str:
    """The glorot name of a torch floating dtype (``torch.bfloat16`` -> ``"bfloat16"``)."""
    try:
        return _NAMES[dtype]
    except KeyError:
        raise InvalidError(
            f"{dtype} is not served: float32, float16, bfloat16 or float64", param="dtype"
        ) from None


def _handle(client: Optional[Client]) -> Optional[_core.Handle]:
    if client is None:
        return None
    if not isinstance(client, Client):
        raise InvalidError("client must be a glorot.Client or None (local)", param="client")
    return client.handle


def _writable_target(out: torch.Tensor) -> bool:
    return out.device.type == "cpu" and out.is_contiguous()


def _fill_tensor(handle, req: _core.Request, out: Optional[torch.Tensor]) -> Tuple[torch.Tensor, Meta]:
    meta = _core.describe(req)
    if meta.format != "raw":
        raise InvalidError("tensors hold raw answers; use Client.fetch_bytes", param="format")
    dt = _torch_dtype(meta.dtype)
    if out is None:
        out = torch.empty(meta.part_shape, dtype=dt)
    elif not isinstance(out, torch.Tensor):
        raise InvalidError("out must be a torch.Tensor", param="out")
    elif out.dtype != dt or tuple(out.shape) != meta.part_shape:
        raise InvalidError(
            f"out is {out.dtype} {tuple(out.shape)}; the answer is {dt} {meta.part_shape}",
            param="out",
        )
    with torch.no_grad():
        if _writable_target(out):
            target = out
        else:  # GPU or strided: one staging copy on the CPU
            target = torch.empty(meta.part_shape, dtype=dt)
        nbytes = target.numel() * target.element_size()
        got = _core.fill(handle, req, target.data_ptr() if nbytes else 0, nbytes)
        if target is not out:
            out.copy_(target)
    return out, got


def fetch(
    init: str = "glorot_uniform",
    *,
    shape: Any,
    seed: Optional[int] = None,
    dtype: Union[str, torch.dtype] = "float32",
    algorithm: Optional[str] = None,
    shard: Any = None,
    axis: Optional[int] = None,
    slice: Any = None,
    out: Optional[torch.Tensor] = None,
    client: Optional[Client] = None,
    with_meta: bool = False,
    **params: Any,
) -> Union[torch.Tensor, Tuple[torch.Tensor, Meta]]:
    """A tensor (or a part of it) as a ``torch.Tensor``, from glorotd or computed locally.

    Parameters
    ----------
    init, shape, seed, algorithm, shard, axis, slice, **params
        As :meth:`glorot.Client.fetch` (``seed`` is required when ``client`` is None).
    dtype : str or torch.dtype
        ``float32`` | ``float16`` | ``bfloat16`` | ``float64``.
    out : torch.Tensor, optional
        Fill this tensor in place (dtype and shape must match the part). A
        contiguous CPU tensor receives the bytes directly; any other goes
        through one CPU staging tensor.
    client : glorot.Client, optional
        The server to ask; None computes locally with the same bytes.
    with_meta : bool
        Also return the :class:`glorot.Meta`.

    Returns
    -------
    torch.Tensor
        Contiguous, on the CPU unless ``out`` says otherwise.
    """
    if isinstance(dtype, torch.dtype):
        dtype = dtype_name(dtype)
    req = _core.request(init, shape, seed, dtype, algorithm, shard, axis, slice, params)
    t, meta = _fill_tensor(_handle(client), req, out)
    return (t, meta) if with_meta else t


def generate(init: str = "glorot_uniform", **kwargs: Any) -> torch.Tensor:
    """:func:`fetch` with ``client=None``: computed locally, no server."""
    if kwargs.get("client") is not None:
        raise InvalidError("generate computes locally; use fetch(client=...)", param="client")
    return fetch(init, **kwargs)


def batch(
    manifest: _core.Manifest,
    rank: Optional[int] = None,
    world: Optional[int] = None,
    axis: Optional[int] = None,
    *,
    client: Optional[Client] = None,
) -> Dict[str, torch.Tensor]:
    """Every tensor of a batch manifest as torch tensors (bfloat16 included).

    With ``client`` one POST /v1/batch fills every tensor; without, the C
    library generates them locally (glorot_batch_generate), byte-identical.
    Arguments as :func:`glorot.batch_plan`.

    Returns
    -------
    dict of str to torch.Tensor
        In manifest order.
    """
    breq = _core.BatchRequest(manifest, rank, world, axis)
    out = {t.name: torch.empty(t.shape, dtype=_torch_dtype(t.dtype)) for t in breq.plan()}
    breq.fill(
        _handle(client),
        [(n, t.data_ptr() if t.numel() else 0, t.numel() * t.element_size()) for n, t in out.items()],
    )
    return out


# ---- placements ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """The module holds part ``rank`` of ``world`` of this parameter along ``axis``.

    Parameters
    ----------
    axis : int
        The sharded axis of the full tensor (negative counts from the end).
    split : str, optional
        The convention: ``array_split`` (the server's default), ``chunk``
        (DTensor ``Shard``), ``even`` (Megatron); passed to the server as is.
    stride : int, optional
        Megatron's stride for fused projections (passed as is).
    size : int, optional
        The full tensor's length along ``axis``. Default: the local length
        times ``world`` (exact for ``even``); give it when parts differ.
    """

    axis: int = 0
    split: Optional[str] = None
    stride: Optional[int] = None
    size: Optional[int] = None


@dataclass(frozen=True)
class Replicate:
    """Every rank holds the whole parameter."""


@dataclass(frozen=True)
class Flat:
    """FSDP-style flat split: the module holds a 1-D parameter, chunk ``rank`` of
    ``torch.flatten(full).chunk(world)``, optionally padded with zeros to the
    first chunk's length (as FSDP's FlatParamHandle does).

    Parameters
    ----------
    shape : sequence of int
        The full parameter's shape (fans and values come from it).
    """

    shape: Tuple[int, ...]

    def __init__(self, shape: Sequence[int]) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in shape))


Placement = Union[Shard, Replicate, Flat, str]


def flat_plan(full: Union[torch.nn.Module, Mapping[str, Sequence[int]]]) -> Dict[str, Flat]:
    """A plan that flat-splits every parameter, from a full-size module (e.g. on the
    ``meta`` device) or a mapping of names to full shapes."""
    if isinstance(full, torch.nn.Module):
        items = [(n, tuple(p.shape)) for n, p in full.named_parameters()]
    else:
        items = [(n, tuple(s)) for n, s in full.items()]
    return {n: Flat(s) for n, s in items}


def flat_range(numel: int, rank: int, world: int) -> Tuple[int, int, int]:
    """``(start, stop, padded)`` of rank's chunk of a flattened tensor of ``numel``
    elements: ``torch.chunk``'s ceil(numel / world) elements per chunk, empty past
    the end; ``padded`` is the first chunk's length."""
    c = -(-numel // world) if numel else 0
    start = min(numel, rank * c)
    return start, min(numel, start + c), c


def flat_pieces(shape: Sequence[int], start: int, stop: int) -> List[Tuple[str, int, int]]:
    """The flat range [start, stop) of a C-order tensor as slices the protocol
    serves, each a contiguous run: ``(slice text, first element, count)`` in order.

    A range is a partial leading row, whole rows, and a partial trailing row,
    recursively per axis: at most 2·ndim − 1 slices.
    """
    out: List[Tuple[str, int, int]] = []
    ndim = len(shape)

    def emit(prefix: List[Tuple[int, int]], pos: int) -> None:
        count = math.prod(b - a for a, b in prefix) * math.prod(shape[len(prefix):])
        if count:
            out.append((",".join(f"{a}:{b}" for a, b in prefix), pos, count))

    def go(prefix: List[Tuple[int, int]], k: int, lo: int, hi: int, pos: int) -> None:
        # [lo, hi) within the sub-tensor shape[k:] at prefix; pos: its first element overall
        if lo >= hi:
            return
        inner = math.prod(shape[k + 1:])
        a, b = lo // inner, hi // inner
        if k == ndim - 1 or (lo % inner == 0 and hi % inner == 0):
            emit(prefix + [(a, b)], pos)
            return
        if a == b:
            go(prefix + [(a, a + 1)], k + 1, lo - a * inner, hi - a * inner, pos)
            return
        if lo % inner:
            go(prefix + [(a, a + 1)], k + 1, lo - a * inner, inner, pos)
            pos += (a + 1) * inner - lo
            a += 1
        if b > a:
            emit(prefix + [(a, b)], pos)
            pos += (b - a) * inner
        if hi % inner:
            go(prefix + [(b, b + 1)], k + 1, 0, hi - b * inner, pos)

    go([], 0, start, stop, start)
    return out


# ---- rules -------------------------------------------------------------------------------

Spec = Union[str, Mapping[str, Any]]

_NORM_TYPES = tuple(
    getattr(torch.nn, n)
    for n in (
        "LayerNorm",
        "GroupNorm",
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
        "SyncBatchNorm",
        "RMSNorm",
    )
    if hasattr(torch.nn, n)
)
_CONV_TYPES = (
    torch.nn.Conv1d,
    torch.nn.Conv2d,
    torch.nn.Conv3d,
    torch.nn.ConvTranspose1d,
    torch.nn.ConvTranspose2d,
    torch.nn.ConvTranspose3d,
)

#: The rules used where ``rules`` says nothing, by module type and parameter name.
DEFAULT_RULES: Dict[str, Dict[str, Dict[str, Any]]] = {
    "Linear/Conv": {
        "weight": {"init": "glorot_uniform", "fan": "torch"},
        "bias": {"init": "zeros"},
    },
    "Embedding": {"weight": {"init": "normal", "mean": 0.0, "std": 1.0}},
    "Norm": {"weight": {"init": "ones"}, "bias": {"init": "zeros"}},
}


# Initializers that draw no random numbers: in a batch manifest they take no
# mlx-seeded call (proto/request/init.c, gpi_init_is_random: not constant, not identity).
_NOT_RANDOM = frozenset({"constant", "zeros", "ones", "identity"})


def _is_norm(module: torch.nn.Module) -> bool:
    # torch's norms, and the many model-local ones (LlamaRMSNorm, RMSNorm) by name
    return isinstance(module, _NORM_TYPES) or type(module).__name__.endswith("Norm")


def _default_spec(module: torch.nn.Module, local: str) -> Optional[Dict[str, Any]]:
    if isinstance(module, (torch.nn.Linear,) + _CONV_TYPES):
        group = "Linear/Conv"
    elif isinstance(module, torch.nn.Embedding):
        group = "Embedding"
    elif _is_norm(module):
        group = "Norm"
    else:
        return None
    return DEFAULT_RULES[group].get(local)


def _spec_dict(spec: Spec, where: str) -> Dict[str, Any]:
    if isinstance(spec, str):
        return {"init": spec}
    if isinstance(spec, Mapping) and "init" in spec:
        return dict(spec)
    raise InvalidError(
        f"{where}: a rule is an initializer name or a dict with 'init' and its parameters",
        param="rules",
    )


def _match_name(key: str, name: str) -> bool:
    return key == name or fnmatch.fnmatchcase(name, key)


def _rule(
    rules: Mapping[Any, Any], name: str, module: torch.nn.Module, local: str
) -> Optional[Dict[str, Any]]:
    """rules: parameter names/globs first (exact before glob), then module types."""
    if name in rules:
        return _spec_dict(rules[name], name)
    for key, spec in rules.items():
        if isinstance(key, str) and _match_name(key, name):
            return _spec_dict(spec, name)
    for key, spec in rules.items():
        if isinstance(key, type) and isinstance(module, key):
            if isinstance(spec, Mapping) and "init" not in spec:
                return _spec_dict(spec[local], name) if local in spec else None
            return _spec_dict(spec, name) if local == "weight" else None
    return None


def _placement(
    plan: Mapping[str, Placement], name: str, owner: str, module: torch.nn.Module, local: str
) -> Union[Shard, Replicate, Flat]:
    """plan keys match the parameter's name, or its module's name for the TP styles."""
    p: Any = None
    for key, value in plan.items():
        if _match_name(key, name):
            p = value
            break
    if p is None:
        for key, value in plan.items():
            if owner and _match_name(key, owner):
                p = value
                break
    if p is None or isinstance(p, (Shard, Replicate, Flat)):
        return p if p is not None else Replicate()
    emb = isinstance(module, torch.nn.Embedding)
    if p in ("colwise", "column"):
        return Shard(1) if emb else Shard(0)
    if p in ("rowwise", "row"):
        if emb:
            return Shard(0)
        return Shard(1) if local == "weight" else Replicate()
    if p == "replicate":
        return Replicate()
    raise InvalidError(
        f"{name}: plan entries are 'colwise', 'rowwise', 'replicate', Shard(...), "
        f"Replicate() or Flat(shape), not {p!r}",
        param="plan",
    )


def _dist_rank_world(rank: Optional[int], world: Optional[int]) -> Tuple[int, int]:
    if rank is not None and world is not None:
        r, w = int(rank), int(world)
    elif rank is None and world is None:
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            raise InvalidError(
                "a plan needs rank and world, or an initialised torch.distributed",
                param="rank",
            )
        r, w = dist.get_rank(), dist.get_world_size()
    else:
        raise InvalidError("give rank and world together", param="rank")
    if w < 1 or not 0 <= r < w:
        raise InvalidError(f"rank {r} of world {w} is not a valid part", param="rank")
    return r, w


# ---- filling one parameter ----------------------------------------------------------------


def _fill_param(
    handle, p: torch.Tensor, name: str, where: Union[Shard, Replicate, Flat], rank: int, world: int,
    common: Dict[str, Any]
) -> Tuple[Tuple[int, ...], Any]:
    """Fill p; returns the full shape and what part p holds (for padding rows)."""
    local = tuple(p.shape)
    if isinstance(where, Flat):
        return where.shape, _fill_flat(handle, p, name, where, rank, world, common)
    if isinstance(where, Replicate):
        req = _core.request(None, local, None, None, None, None, None, None, common)
        _fill_tensor(handle, req, p.data)
        return local, tuple((0, n) for n in local)
    axis = where.axis if where.axis >= 0 else where.axis + len(local)
    if not 0 <= axis < len(local):
        raise InvalidError(f"{name}: shard axis {where.axis} for a {len(local)}-D parameter", param="plan")
    full = list(local)
    full[axis] = where.size if where.size is not None else local[axis] * world
    extra = dict(common)
    if where.split is not None:
        extra["split"] = where.split
    if where.stride is not None:
        extra["stride"] = where.stride
    req = _core.request(None, tuple(full), None, None, None, (rank, world), axis, None, extra)
    meta = _core.describe(req)
    if meta.part_shape != local:
        raise InvalidError(
            f"{name}: the module holds {local}, but part {rank} of {world} of the full "
            f"{tuple(full)} along axis {axis} is {meta.part_shape}; give Shard(size=...)",
            param="plan",
        )
    _fill_tensor(handle, req, p.data)
    return tuple(full), meta.part


def _fill_flat(handle, p: torch.Tensor, name: str, where: Flat, rank: int, world: int, common) -> Tuple[int, int]:
    n = math.prod(where.shape)
    start, stop, padded = flat_range(n, rank, world)
    if p.dim() != 1 or p.numel() not in (stop - start, padded):
        raise InvalidError(
            f"{name}: a flat shard is 1-D with {stop - start} elements (or {padded} padded); "
            f"the module holds {tuple(p.shape)}",
            param="plan",
        )
    with torch.no_grad():
        target = p.data if _writable_target(p.data) else torch.empty(p.shape, dtype=p.dtype)
        size = target.element_size()
        for text, first, count in flat_pieces(where.shape, start, stop):
            req = _core.request(None, where.shape, None, None, None, None, None, text, common)
            _core.fill(handle, req, target.data_ptr() + (first - start) * size, count * size)
        if target.numel() > stop - start:
            target[stop - start:].zero_()  # FSDP's padding
        if target is not p.data:
            p.data.copy_(target)
    return start, stop


def _zero_padding_row(p: torch.Tensor, module, full, part) -> None:
    """Embedding.padding_idx: PyTorch zeroes that row after normal_ (sparse.py)."""
    idx = getattr(module, "padding_idx", None)
    if idx is None:
        return
    with torch.no_grad():
        if isinstance(part, tuple) and part and isinstance(part[0], tuple):
            (r0, r1), (c0, c1) = part[0], part[1]
            if r0 <= idx < r1:
                p.data[idx - r0].zero_()
        else:  # flat: elements [start, stop) of the full tensor
            start, stop = part
            lo, hi = max(start, idx * full[1]), min(stop, (idx + 1) * full[1])
            if lo < hi:
                p.data[lo - start:hi - start].zero_()


def _parameters(module: torch.nn.Module) -> Iterator[Tuple[str, str, str, torch.nn.Module, torch.nn.Parameter]]:
    modules = dict(module.named_modules())
    for name, p in module.named_parameters():
        owner, _, local = name.rpartition(".")
        yield name, owner, local, modules[owner], p


def init_module_(
    module: torch.nn.Module,
    *,
    seed: int,
    client: Optional[Client] = None,
    rules: Optional[Mapping[Any, Spec]] = None,
    plan: Optional[Mapping[str, Placement]] = None,
    rank: Optional[int] = None,
    world: Optional[int] = None,
    algorithm: Optional[str] = None,
) -> torch.nn.Module:
    """Initialise every parameter of ``module`` in place, the same at any world size.

    Each parameter is the tensor ``name=<qualified name>``, ``seed=seed`` of its
    initializer: for ``chacha20`` the stream comes from (seed, name), exactly as
    a batch manifest listing the parameters in ``named_parameters()`` order;
    ``mlx-seeded`` gives parameter k (1-based, in that order) ``call=k``; plain
    ``mlx`` uses one key for every tensor (as batches do), so equal shapes get
    equal values - prefer ``chacha20`` or ``mlx-seeded`` for models.

    Parameters
    ----------
    module : torch.nn.Module
        Holds the full parameters, or for a planned parameter its local part.
    seed : int
        The model's seed.
    client : glorot.Client, optional
        Fetch from glorotd; None computes locally (the same bytes).
    rules : dict, optional
        Overrides of the initializers. Keys: a parameter's qualified name, a
        glob over names (``"*.attn.*.weight"``), or a module type. Values: an
        initializer name (``"zeros"``), or ``{"init": "normal", "std": 0.02}``;
        for a module type, such a value applies to its ``weight``, or a dict
        ``{"weight": ..., "bias": ...}`` per parameter. Names win over globs,
        globs over types, and types over the defaults: Linear/Conv weights
        ``glorot_uniform`` (``fan=torch``), their biases ``zeros``, norm weights
        ``ones`` and biases ``zeros``, Embedding ``normal(0, 1)`` with the
        ``padding_idx`` row zeroed, as PyTorch does.
    plan : dict, optional
        Which parameters are sharded. Keys: parameter or module names or
        globs. Values: ``"colwise"`` / ``"rowwise"`` (torch's tensor-parallel
        styles: Linear weight+bias ``Shard(0)``, or weight ``Shard(1)`` with
        the bias replicated; Embedding ``Shard(1)`` / ``Shard(0)``),
        :class:`Shard` (axis, ``split``, ``stride``, ``size``), :class:`Flat`
        (FSDP's flat chunk; see :func:`flat_plan`) or ``"replicate"``.
    rank, world : int, optional
        This process's part; default ``torch.distributed``'s rank and world size.
    algorithm : str, optional
        ``chacha20`` (default) | ``mlx`` | ``mlx-seeded``.

    Returns
    -------
    torch.nn.Module
        ``module`` itself.

    Raises
    ------
    InvalidError
        A parameter without a rule, a local shape that is not the planned
        part, a dtype that is not served; ``param`` says which argument.
    """
    handle = _handle(client)
    calls = 0  # mlx-seeded: random tensors so far (MLX's key sequence advances only for them)
    rules = rules or {}
    r, w = _dist_rank_world(rank, world) if plan else (0, 1)
    plan = plan or {}
    for name, owner, local, mod, p in _parameters(module):
        spec = _rule(rules, name, mod, local) or _default_spec(mod, local)
        if spec is None:
            raise InvalidError(
                f"no rule for parameter {name!r} ({type(mod).__name__}.{local}); "
                "give rules={name or type: initializer}",
                param=name,
            )
        common = dict(spec)
        init = common.pop("init")
        common = {"init": init, **common, "seed": seed, "name": name}
        common["dtype"] = dtype_name(p.dtype)
        if algorithm is not None:
            common["algorithm"] = algorithm
            if algorithm == "mlx-seeded" and init not in _NOT_RANDOM:
                calls += 1
                common["call"] = calls
        where = _placement(plan, name, owner, mod, local)
        try:
            full, part = _fill_param(handle, p, name, where, r, w, common)
        except InvalidError as exc:
            if exc.param in ("plan", name):
                raise
            raise InvalidError(f"{name}: {exc.message}", param=exc.param) from None
        if isinstance(mod, torch.nn.Embedding) and local == "weight":
            _zero_padding_row(p, mod, full, part)
    return module
