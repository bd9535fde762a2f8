"""Requests and transfers over the C library, shared by the numpy and torch fronts.

Every parameter reaches the C library as text through ``glorot_request_set``
with the protocol's own key, so a key the C library learns (a new initializer's
parameter, a shard convention) works here without a change. The bytes of
each value stay referenced by the :class:`Request` for as long as it is used:
the C request keeps pointers to them.
"""

from __future__ import annotations

import ctypes
import json
import math
import operator
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _lib
from ._errors import Error, InvalidError, from_c

ShapeLike = Sequence[int]
Shard = Union[Tuple[int, int], Sequence[Tuple[int, int]], str]
Slice = Union[str, Sequence[slice]]
Manifest = Union[str, bytes, Mapping[str, Any]]

ELEMENT_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


def check(code: int, err: _lib.CError) -> None:
    """Raise the Error subclass for a non-zero glorot_code."""
    if code != 0:
        raise from_c(code, err)


# ---- values as the protocol's text ---------------------------------------------------


def _int_text(key: str, v: Any) -> str:
    if isinstance(v, bool):
        raise InvalidError(f"{key} must be an integer, not a bool", param=key)
    try:
        return str(operator.index(v))
    except TypeError:
        raise InvalidError(f"{key} must be an integer, not {type(v).__name__}", param=key) from None


def _ints_text(key: str, v: Any, sep: str = ",") -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)) or hasattr(v, "__iter__"):
        return sep.join(_int_text(key, x) for x in v)
    return _int_text(key, v)


def _shard_text(v: Any) -> str:
    """(rank, world) -> "R/W"; a list of pairs -> "R0/W0,R1/W1" (one per axis)."""
    if isinstance(v, str):
        return v
    pairs = list(v)
    if len(pairs) == 2 and not isinstance(pairs[0], (list, tuple)):
        pairs = [tuple(pairs)]
    out = []
    for p in pairs:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise InvalidError(
                "shard must be (rank, world), a list of such pairs, or text 'R/W'", param="shard"
            )
        out.append(f"{_int_text('shard', p[0])}/{_int_text('shard', p[1])}")
    return ",".join(out)


def _slice_text(v: Any) -> str:
    """numpy-style start:stop per axis from text or a tuple of Python slices."""
    if isinstance(v, str):
        return v
    if isinstance(v, slice):
        v = (v,)
    parts = []
    for s in v:
        if not isinstance(s, slice):
            raise InvalidError(
                "slice takes Python slice objects (an index would drop an axis); "
                f"got {type(s).__name__}",
                param="slice",
            )
        if s.step not in (None, 1):
            raise InvalidError("slice steps other than 1 are not served", param="slice")
        a = "" if s.start is None else _int_text("slice", s.start)
        b = "" if s.stop is None else _int_text("slice", s.stop)
        parts.append(f"{a}:{b}")
    return ",".join(parts)


def _number_text(key: str, v: Any) -> str:
    if isinstance(v, bool):
        raise InvalidError(f"{key} must be a number or text, not a bool", param=key)
    if isinstance(v, str):
        return v
    if isinstance(v, float) or type(v).__name__.startswith("float"):
        return repr(float(v))  # shortest text that reads back as the same double
    if isinstance(v, (list, tuple)):
        return ",".join(_number_text(key, x) for x in v)
    try:
        return str(operator.index(v))
    except TypeError:
        raise InvalidError(
            f"{key} must be a number or text, not {type(v).__name__}", param=key
        ) from None


def value_text(key: str, v: Any) -> str:
    """The protocol text of one parameter value."""
    if key == "shape":
        if isinstance(v, int) and not isinstance(v, bool):
            v = (v,)
        return _ints_text(key, v)
    if key == "shard":
        return _shard_text(v)
    if key == "slice":
        return _slice_text(v)
    if key in ("axis", "stride", "seed", "call", "fan_in", "fan_out"):
        return _ints_text(key, v)
    if key == "split" and isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return _number_text(key, v)


# ---- requests ------------------------------------------------------------------------

_init_known: Optional[bool] = None
_init_lock = threading.Lock()


def library_knows_init() -> bool:
    """Whether this libglorot-client takes an ``init`` key (the initializer family)."""
    global _init_known
    with _init_lock:
        if _init_known is None:
            lib = _lib.load()
            req, err = _lib.CRequest(), _lib.CError()
            lib.glorot_request_init(ctypes.byref(req))
            rc = lib.glorot_request_set(
                ctypes.byref(req), b"init", b"glorot_uniform", ctypes.byref(err)
            )
            _init_known = rc == 0
        return _init_known


class Request:
    """A C ``glorot_request`` and the bytes its text fields point at."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.lib = _lib.load()
        self.c = _lib.CRequest()
        self._keep: List[bytes] = []
        self.params = dict(params)
        self.lib.glorot_request_init(ctypes.byref(self.c))
        for key, value in params.items():
            if value is None:
                continue
            self.set(key, value)

    def set(self, key: str, value: Any) -> None:
        if key == "init" and not library_knows_init():
            if value == "glorot_uniform":
                return  # the only initializer this library serves, and its default
            raise InvalidError(
                f"init={value!r}: this libglorot-client ({version()}) serves glorot_uniform only; "
                "build a newer one",
                param="init",
            )
        if not isinstance(key, str) or not key:
            raise InvalidError(f"parameter names are text, not {key!r}", param=str(key))
        text = value_text(key, value).encode("utf-8")
        k = key.encode("utf-8")
        self._keep += [k, text]  # the C struct keeps pointers to text values
        err = _lib.CError()
        check(self.lib.glorot_request_set(ctypes.byref(self.c), k, text, ctypes.byref(err)), err)


def request(
    init: Optional[str],
    shape: Any,
    seed: Any,
    dtype: Optional[str],
    algorithm: Optional[str],
    shard: Any,
    axis: Any,
    slice: Any,
    params: Mapping[str, Any],
) -> Request:
    """Build a Request in the protocol's order: shape first, then the rest."""
    if shape is None:
        raise InvalidError("shape is required, e.g. shape=(256, 512)", param="shape")
    fields: Dict[str, Any] = {"shape": shape, "init": init}
    fields.update(seed=seed, dtype=dtype, algorithm=algorithm)
    for key, value in params.items():
        if fields.get(key) is not None:
            raise InvalidError(f"{key} is given twice", param=key)
        fields[key] = value
    fields["slice"] = slice
    fields["shard"] = shard
    if axis is not None and (shard is not None or axis != 0):
        fields["axis"] = axis
    return Request(fields)


@dataclass(frozen=True)
class Meta:
    """What a request delivers (``glorot_meta``).

    ``shape``, fans and ``limit`` are those of the full tensor; ``part`` is the
    ``(start, stop)`` range delivered on every axis and ``part_shape`` its
    extents (the returned array's shape); ``size`` is the body's bytes
    (``None`` for json, known only once produced); ``init`` the initializer and
    ``distribution`` what it draws (``"normal; mean=0; std=0.02"``), as the
    server's Glorot-Distribution header says.
    """

    seed: int
    algorithm: str
    dtype: str
    format: str
    shape: Tuple[int, ...]
    part: Tuple[Tuple[int, int], ...]
    fan_in: int
    fan_out: int
    limit: float
    gain: str
    call: int
    numel: int
    size: Optional[int]
    init: str = ""
    distribution: str = ""

    @property
    def part_shape(self) -> Tuple[int, ...]:
        return tuple(b - a for a, b in self.part)

    @classmethod
    def from_c(cls, m: _lib.CMeta) -> "Meta":
        rank = int(m.rank)
        return cls(
            seed=int(m.seed),
            algorithm=m.algorithm.decode(),
            dtype=m.dtype.decode(),
            format=m.format.decode(),
            shape=tuple(int(m.shape[i]) for i in range(rank)),
            part=tuple((int(m.part_start[i]), int(m.part_stop[i])) for i in range(rank)),
            fan_in=int(m.fan_in),
            fan_out=int(m.fan_out),
            limit=float(m.limit),
            gain=m.gain.decode(),
            call=int(m.call),
            numel=int(m.numel),
            size=None if m.size == _lib.SIZE_UNKNOWN else int(m.size),
            init=m.init.decode(),
            distribution=m.distribution.decode(),
        )


def describe(req: Request) -> Meta:
    """The part, dtype and size req delivers, computed locally (glorot_describe)."""
    meta, err = _lib.CMeta(), _lib.CError()
    check(req.lib.glorot_describe(ctypes.byref(req.c), ctypes.byref(meta), ctypes.byref(err)), err)
    return Meta.from_c(meta)


def version() -> str:
    """The C library's version (glorot_version)."""
    return _lib.load().glorot_version().decode()


# ---- filling memory --------------------------------------------------------------------


class Handle:
    """A glorot_client and the lock that keeps it to one thread at a time."""

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr
        self.lock = threading.Lock()


def call(lib: Any, handle: Optional[Handle], local: str, remote: str, *args: Any) -> int:
    """The C calls that come in pairs: ``lib.<local>(*args)`` with no handle (made
    here), else ``lib.<remote>(handle.ptr, *args)`` with the handle held."""
    if handle is None:
        return getattr(lib, local)(*args)
    with handle.lock:
        return getattr(lib, remote)(handle.ptr, *args)


def fill(handle: Optional[Handle], req: Request, address: int, nbytes: int) -> Meta:
    """Fetch (handle) or generate (None) req's raw bytes straight into memory at address."""
    meta, err = _lib.CMeta(), _lib.CError()
    buf = ctypes.c_void_p(address if nbytes else None)
    rc = call(
        req.lib, handle, "glorot_generate", "glorot_fetch",
        ctypes.byref(req.c), buf, nbytes, ctypes.byref(meta), ctypes.byref(err),
    )
    check(rc, err)
    if meta.size != nbytes:
        raise Error(f"the answer has {meta.size} bytes, {nbytes} were expected")
    return Meta.from_c(meta)


def read_bytes(handle: Optional[Handle], req: Request) -> Tuple[bytes, Meta]:
    """The whole answer as bytes (any format; json is collected as it streams)."""
    described = describe(req)
    if described.size is not None:
        out = bytearray(described.size)
        address = ctypes.addressof((ctypes.c_char * len(out)).from_buffer(out)) if out else 0
        meta = fill(handle, req, address, len(out))
        return bytes(out), meta
    chunks: List[bytes] = []

    def on_chunk(_user, _offset, data, length):
        chunks.append(ctypes.string_at(data, length))
        return 0

    fn = _lib.CHUNK_FN(on_chunk)
    meta, err = _lib.CMeta(), _lib.CError()
    rc = call(
        req.lib, handle, "glorot_generate_stream", "glorot_fetch_stream",
        ctypes.byref(req.c), fn, None, ctypes.byref(meta), ctypes.byref(err),
    )
    check(rc, err)
    return b"".join(chunks), Meta.from_c(meta)


# ---- batches ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchTensor:
    """One tensor of a batch answer: its name, dtype, shape of the part, and bytes."""

    name: str
    dtype: str
    shape: Tuple[int, ...]
    size: int


class BatchRequest:
    """A C glorot_batch_request with its manifest bytes kept alive."""

    def __init__(
        self, manifest: Manifest, rank: Optional[int], world: Optional[int], axis: Optional[int]
    ) -> None:
        self.lib = _lib.load()
        if isinstance(manifest, Mapping):
            text = json.dumps(manifest).encode("utf-8")
        elif isinstance(manifest, str):
            text = manifest.encode("utf-8")
        elif isinstance(manifest, (bytes, bytearray)):
            text = bytes(manifest)
        else:
            raise InvalidError(
                "manifest must be a dict, JSON text or bytes, not " + type(manifest).__name__,
                param="manifest",
            )
        if not text:
            raise InvalidError("the manifest is empty", param="manifest")
        if (rank is None) != (world is None):
            raise InvalidError("give rank and world together", param="shard")
        self.text = text
        self.c = _lib.CBatchRequest()
        self.lib.glorot_batch_request_init(ctypes.byref(self.c))
        self.c.manifest = text
        self.c.manifest_len = len(text)
        if world is not None:
            r, w = int(_int_text("shard", rank)), int(_int_text("shard", world))
            if r < 0 or w <= 0:
                raise InvalidError("rank must be >= 0 and world >= 1", param="shard")
            self.c.shard_rank, self.c.shard_world = r, w
        if axis is not None:
            self.c.axis = int(_int_text("axis", axis))
            self.c.axis_set = 1

    def plan(self) -> List[BatchTensor]:
        """The answer's tensors, computed locally (glorot_batch_plan)."""
        info, err = _lib.CBatchInfo(), _lib.CError()
        check(self.lib.glorot_batch_plan(ctypes.byref(self.c), ctypes.byref(info), ctypes.byref(err)), err)
        try:
            return [
                BatchTensor(
                    name=t.name.decode("utf-8"),
                    dtype=t.dtype.decode(),
                    shape=tuple(int(t.shape[i]) for i in range(int(t.rank))),
                    size=int(t.size),
                )
                for t in (info.tensors[i] for i in range(int(info.count)))
            ]
        finally:
            self.lib.glorot_free(ctypes.cast(info.tensors, ctypes.c_void_p))

    def fill(self, handle: Optional[Handle], buffers: Sequence[Tuple[str, int, int]]) -> int:
        """Fetch or generate every tensor into (name, address, size) buffers; returns the seed."""
        table = (_lib.CBatchBuffer * max(1, len(buffers)))()
        names = [n.encode("utf-8") for n, _, _ in buffers]
        for i, (name, (_, address, size)) in enumerate(zip(names, buffers)):
            table[i].name = name
            table[i].buf = address if size else None
            table[i].size = size
        info, err = _lib.CBatchInfo(), _lib.CError()
        rc = call(
            self.lib, handle, "glorot_batch_generate", "glorot_batch_fetch",
            ctypes.byref(self.c), table, len(buffers), 0, ctypes.byref(info), ctypes.byref(err),
        )
        check(rc, err)
        self.lib.glorot_free(ctypes.cast(info.tensors, ctypes.c_void_p))
        return int(info.seed)


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)
