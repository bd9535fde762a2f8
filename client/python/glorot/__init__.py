"""glorot: deterministic initialised weight tensors from glorotd, or computed locally.

A thin layer over libglorot-client (ctypes): the C library validates every
request exactly as the server does and produces the same bytes, so
``Client.fetch`` and :func:`generate` agree bit for bit with each other, with
the ``glorot`` CLI and with the C API.

>>> import glorot
>>> w = glorot.generate(shape=(256, 512), seed=42)            # local, no server
>>> c = glorot.Client("http://127.0.0.1:8080")                 # or $GLOROT_URL
>>> part = c.fetch(shape=(4096, 4096), seed=42, shard=(3, 8))  # rows of rank 3 of 8

Every keyword beyond the named ones is passed to the C library as
``key=text`` under the HTTP protocol's own name (docs/PROTOCOL.md), so
initializer parameters (``gain``, ``std``, ``mode``, ...) and shard
conventions (``split``, ``stride``) need nothing from this package. bfloat16
needs PyTorch: see :mod:`glorot.torch`.
"""

from __future__ import annotations

import ctypes
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _core, _lib
from ._core import BatchTensor, Manifest, Meta
from ._errors import (
    AbortedError,
    BufferTooSmallError,
    ConnectError,
    Error,
    HTTPError,
    InternalError,
    InvalidError,
    LibraryError,
    OutOfMemoryError,
    ProtocolError,
    TimeoutError,
    TLSError,
    VerifyError,
)

__version__ = "0.1.0"
__all__ = [
    "Client",
    "Digest",
    "Meta",
    "BatchTensor",
    "generate",
    "generate_bytes",
    "describe",
    "batch_local",
    "batch_plan",
    "library_path",
    "library_version",
    "Error",
    "InvalidError",
    "BufferTooSmallError",
    "ConnectError",
    "TimeoutError",
    "HTTPError",
    "ProtocolError",
    "VerifyError",
    "OutOfMemoryError",
    "AbortedError",
    "TLSError",
    "InternalError",
    "LibraryError",
]

_NUMPY_DTYPES = {"float32": "<f4", "float16": "<f2", "float64": "<f8"}
_VERIFY = {"none": 0, "sample": 1, "full": 2}


def numpy_dtype(name: str) -> np.dtype:
    """The little-endian numpy dtype of a glorot dtype name.

    Raises
    ------
    InvalidError
        For bfloat16 (numpy has no such type; use :mod:`glorot.torch`) and
        names numpy cannot hold.
    """
    if name == "bfloat16":
        raise InvalidError(
            "dtype bfloat16: numpy has no bfloat16; use glorot.torch.fetch / "
            "glorot.torch.generate for torch.bfloat16 tensors",
            param="dtype",
        )
    try:
        return np.dtype(_NUMPY_DTYPES[name])
    except KeyError:
        raise InvalidError(f"dtype {name!r} has no numpy equivalent here", param="dtype") from None


def _array_for(meta: Meta, out: Optional[np.ndarray]) -> np.ndarray:
    dt = numpy_dtype(meta.dtype)
    if meta.format != "raw":
        raise InvalidError(
            "arrays hold raw tensors; for npy, safetensors or json bytes use fetch_bytes",
            param="format",
        )
    if out is None:
        return np.empty(meta.part_shape, dtype=dt)
    if not isinstance(out, np.ndarray):
        raise InvalidError("out must be a numpy.ndarray", param="out")
    if out.dtype != dt or tuple(out.shape) != meta.part_shape:
        raise InvalidError(
            f"out is {out.dtype} {tuple(out.shape)}; the answer is {dt} {meta.part_shape}",
            param="out",
        )
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise InvalidError("out must be C-contiguous and writeable", param="out")
    return out


def _address(a: np.ndarray) -> int:
    return int(a.ctypes.data) if a.nbytes else 0


def _fill_array(
    handle: Optional[_core.Handle], req: _core.Request, out: Optional[np.ndarray]
) -> Tuple[np.ndarray, Meta]:
    meta = _core.describe(req)
    arr = _array_for(meta, out)
    got = _core.fill(handle, req, _address(arr), arr.nbytes)
    return arr, got


def generate(
    init: str = "glorot_uniform",
    *,
    shape: Any,
    seed: int,
    dtype: str = "float32",
    algorithm: Optional[str] = None,
    shard: Any = None,
    axis: Optional[int] = None,
    slice: Any = None,
    out: Optional[np.ndarray] = None,
    with_meta: bool = False,
    **params: Any,
) -> Union[np.ndarray, Tuple[np.ndarray, Meta]]:
    """Compute a tensor (or a part of it) locally, the bytes glorotd would send.

    Parameters
    ----------
    init : str
        The initializer (``"glorot_uniform"``; the others the C library knows).
    shape : sequence of int
        The full tensor's shape; fans and limits come from it, also for a part.
    seed : int
        The seed (required locally).
    dtype : str
        ``float32`` | ``float16`` | ``float64`` (``bfloat16``: :mod:`glorot.torch`).
    algorithm : str, optional
        ``chacha20`` (default) | ``mlx`` | ``mlx-seeded``.
    shard : (rank, world) or list of them or "R/W" text, optional
        Part ``rank`` of ``world`` along ``axis`` (``split``/``stride`` as params).
    axis : int or sequence of int, optional
        The shard axis (default 0; negative counts from the end).
    slice : str or tuple of slice, optional
        numpy ``start:stop`` per axis (``"0:128,:"`` or ``(slice(0, 128),)``).
    out : numpy.ndarray, optional
        Fill this C-contiguous array in place (its dtype and shape must match).
    with_meta : bool
        Also return the :class:`Meta` of the answer.
    **params
        Every other protocol parameter by its HTTP name (``gain``, ``fan``,
        ``fan_in``, ``fan_out``, ``call``, ``name``, and the initializers'
        ``std``, ``mean``, ``low``, ``high``, ``a``, ``b``, ``value``,
        ``mode``; ``split``, ``stride``).

    Returns
    -------
    numpy.ndarray
        The part's shape and dtype, filled in place from the C library.

    Raises
    ------
    InvalidError
        A bad argument, with ``param`` naming it (the server's own checks).
    """
    req = _core.request(init, shape, seed, dtype, algorithm, shard, axis, slice, params)
    arr, meta = _fill_array(None, req, out)
    return (arr, meta) if with_meta else arr


def generate_bytes(
    init: str = "glorot_uniform",
    *,
    shape: Any,
    seed: int,
    format: str = "npy",
    dtype: str = "float32",
    algorithm: Optional[str] = None,
    shard: Any = None,
    axis: Optional[int] = None,
    slice: Any = None,
    **params: Any,
) -> bytes:
    """The body glorotd would send, computed locally, in any format.

    Parameters are those of :func:`generate`, plus ``format``: ``raw`` |
    ``npy`` | ``safetensors`` | ``json``. bfloat16 is allowed here (the bytes
    are bfloat16's); npy files of it say ``<V2`` as numpy cannot name it.

    Returns
    -------
    bytes
        The whole body (``numpy.load``, ``safetensors``, ``mx.load`` read it).
    """
    params["format"] = format
    req = _core.request(init, shape, seed, dtype, algorithm, shard, axis, slice, params)
    return _core.read_bytes(None, req)[0]


def describe(
    init: str = "glorot_uniform",
    *,
    shape: Any,
    seed: Optional[int] = None,
    dtype: str = "float32",
    algorithm: Optional[str] = None,
    shard: Any = None,
    axis: Optional[int] = None,
    slice: Any = None,
    **params: Any,
) -> Meta:
    """What a request would deliver (part, dtype, size, fans), without producing it.

    Takes the arguments of :func:`generate`. Raises :class:`InvalidError`
    for a request the server would refuse.
    """
    req = _core.request(init, shape, seed, dtype, algorithm, shard, axis, slice, params)
    return _core.describe(req)


def batch_plan(
    manifest: Manifest, rank: Optional[int] = None, world: Optional[int] = None, axis: Optional[int] = None
) -> Dict[str, BatchTensor]:
    """The tensors a batch manifest yields (names, dtypes, part shapes), locally.

    Parameters
    ----------
    manifest : dict, str or bytes
        A /v1/batch manifest (docs/BATCH.md); it needs a ``seed``.
    rank, world : int, optional
        Replace the manifest's top-level shard by part ``rank`` of ``world``.
    axis : int, optional
        The shard axis of that override.

    Returns
    -------
    dict of str to BatchTensor
        In manifest order.
    """
    breq = _core.BatchRequest(manifest, rank, world, axis)
    return {t.name: t for t in breq.plan()}


def _batch_arrays(
    handle: Optional[_core.Handle], manifest: Manifest, rank, world, axis
) -> Dict[str, np.ndarray]:
    breq = _core.BatchRequest(manifest, rank, world, axis)
    out: Dict[str, np.ndarray] = {}
    for t in breq.plan():
        try:
            dt = numpy_dtype(t.dtype)
        except InvalidError as exc:
            raise InvalidError(f"tensor {t.name!r}: {exc.message}", param="dtype") from None
        out[t.name] = np.empty(t.shape, dtype=dt)
    breq.fill(handle, [(n, _address(a), a.nbytes) for n, a in out.items()])
    return out


def batch_local(
    manifest: Manifest, rank: Optional[int] = None, world: Optional[int] = None, axis: Optional[int] = None
) -> Dict[str, np.ndarray]:
    """Every tensor of a batch manifest computed locally (glorot_batch_generate).

    Byte-identical to :meth:`Client.batch` for the same manifest; takes the
    arguments of :func:`batch_plan`. bfloat16 tensors need
    :func:`glorot.torch.batch`.

    Returns
    -------
    dict of str to numpy.ndarray
        Tensor name to its (part's) array, in manifest order.
    """
    return _batch_arrays(None, manifest, rank, world, axis)


@dataclass(frozen=True)
class Digest:
    """What GET /v1/digest says about a body (``glorot_digest_info``)."""

    sha256: str
    length: int
    seed: int
    etag: str
    canonical: str

    def check(self, data: Union[bytes, bytearray, memoryview, np.ndarray]) -> None:
        """Raise :class:`VerifyError` unless data has this length and SHA-256."""
        c = _lib.CDigest(
            sha256=self.sha256.encode(),
            length=self.length,
            seed=self.seed,
            etag=self.etag.encode(),
            canonical=self.canonical.encode(),
        )
        view = memoryview(data).cast("B") if not isinstance(data, np.ndarray) else memoryview(np.ascontiguousarray(data)).cast("B")
        buf = (ctypes.c_char * len(view)).from_buffer_copy(view) if len(view) else None
        err = _lib.CError()
        _core.check(_lib.load().glorot_digest_check(ctypes.byref(c), buf, len(view), ctypes.byref(err)), err)


class Client:
    """A connection to one glorotd (libglorot-client's ``glorot_client``).

    Parameters
    ----------
    url : str, optional
        ``http://host:port`` or ``https://host/prefix``; default ``$GLOROT_URL``.
    token : str, optional
        Bearer token; default ``$GLOROT_TOKEN`` (none if unset).
    timeout : float, optional
        Seconds for a whole call including retries (default: no limit).
    connect_timeout : float, optional
        Seconds per connection attempt (C default 10).
    retries : int, optional
        Extra attempts after a retryable failure (C default 3; 0 = none).
    verify : str
        ``none`` | ``sample`` | ``full``: check received bytes against local generation.
    ca_file : str, optional
        PEM bundle for https.

    A client may be used from several threads; calls are serialised on it
    (the C client is one-thread-at-a-time). Use one client per thread for
    parallel transfers. Close it with :meth:`close` or a ``with`` block.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        timeout: Optional[float] = None,
        *,
        connect_timeout: Optional[float] = None,
        retries: Optional[int] = None,
        verify: str = "none",
        ca_file: Optional[str] = None,
    ) -> None:
        self._handle: Optional[_core.Handle] = None
        url = url if url is not None else os.environ.get("GLOROT_URL")
        if not url:
            raise InvalidError("no server URL: pass url= or set GLOROT_URL", param="url")
        token = token if token is not None else os.environ.get("GLOROT_TOKEN") or None
        if verify not in _VERIFY:
            raise InvalidError("verify must be none, sample or full", param="verify")
        lib = _lib.load()
        opts = _lib.COptions()
        if timeout is not None:
            opts.timeout_ms = _ms("timeout", timeout)
        if connect_timeout is not None:
            opts.connect_timeout_ms = _ms("connect_timeout", connect_timeout)
        if retries is not None:
            if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
                raise InvalidError("retries must be an integer >= 0", param="retries")
            opts.retries = retries if retries > 0 else -1
        opts.bearer_token = token.encode() if token else None
        opts.ca_file = ca_file.encode() if ca_file else None
        opts.user_agent = f"glorot-python/{__version__}".encode()
        opts.verify = _VERIFY[verify]
        err = _lib.CError()
        ptr = lib.glorot_client_new(url.encode(), ctypes.byref(opts), ctypes.byref(err))
        if not ptr:
            raise _core.from_c(err.code or 1, err)
        self.url = url
        self._handle = _core.Handle(ptr)

    # -- lifetime
    def close(self) -> None:
        """Close the connections and free the C client (idempotent)."""
        h, self._handle = self._handle, None
        if h is not None:
            with h.lock:
                _lib.load().glorot_client_free(h.ptr)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"glorot.Client({self.url!r})"

    @property
    def handle(self) -> _core.Handle:
        """The C client (for glorot.torch); raises Error once closed."""
        if self._handle is None:
            raise Error("this client is closed")
        return self._handle

    # -- tensors
    def fetch(
        self,
        init: str = "glorot_uniform",
        *,
        shape: Any,
        seed: Optional[int] = None,
        dtype: str = "float32",
        algorithm: Optional[str] = None,
        shard: Any = None,
        axis: Optional[int] = None,
        slice: Any = None,
        out: Optional[np.ndarray] = None,
        with_meta: bool = False,
        **params: Any,
    ) -> Union[np.ndarray, Tuple[np.ndarray, Meta]]:
        """Download a tensor (or part of it) straight into a numpy array.

        Takes the arguments of :func:`generate`; ``seed=None`` lets the server
        draw one (pass ``with_meta=True`` to learn it). The array is allocated
        at the exact size the C library computes and the transfer writes into
        its memory: no copy.

        Raises
        ------
        InvalidError
            Checked locally, nothing sent (``param`` names the argument).
        HTTPError
            The server's refusal: ``http_status``, ``server_code``, ``param``, ``message``.
        ConnectError, TimeoutError, ProtocolError, VerifyError, TLSError
            Transport failures after the C library's retries.
        """
        req = _core.request(init, shape, seed, dtype, algorithm, shard, axis, slice, params)
        arr, meta = _fill_array(self.handle, req, out)
        return (arr, meta) if with_meta else arr

    def fetch_bytes(
        self,
        init: str = "glorot_uniform",
        *,
        shape: Any,
        seed: Optional[int] = None,
        format: str = "npy",
        dtype: str = "float32",
        algorithm: Optional[str] = None,
        shard: Any = None,
        axis: Optional[int] = None,
        slice: Any = None,
        **params: Any,
    ) -> bytes:
        """Download the body in any format (``npy`` default, ``safetensors``, ``raw``, ``json``).

        Takes the arguments of :func:`generate_bytes`; equal to it for the
        same seed.
        """
        params["format"] = format
        req = _core.request(init, shape, seed, dtype, algorithm, shard, axis, slice, params)
        return _core.read_bytes(self.handle, req)[0]

    def batch(
        self,
        manifest: Manifest,
        rank: Optional[int] = None,
        world: Optional[int] = None,
        axis: Optional[int] = None,
    ) -> Dict[str, np.ndarray]:
        """POST a manifest to /v1/batch: every tensor of a model in one answer.

        Each tensor's array is allocated from the locally computed layout and
        filled by the transfer directly. Takes the arguments of
        :func:`batch_plan`; byte-identical to :func:`batch_local`.

        Returns
        -------
        dict of str to numpy.ndarray
            In manifest order.
        """
        return _batch_arrays(self.handle, manifest, rank, world, axis)

    def digest(
        self,
        init: str = "glorot_uniform",
        *,
        shape: Any,
        seed: Optional[int] = None,
        dtype: str = "float32",
        algorithm: Optional[str] = None,
        shard: Any = None,
        axis: Optional[int] = None,
        slice: Any = None,
        **params: Any,
    ) -> Digest:
        """SHA-256 and length of the body a request would get, without downloading it.

        Takes the arguments of :meth:`fetch_bytes` (``format`` as a param).
        """
        req = _core.request(init, shape, seed, dtype, algorithm, shard, axis, slice, params)
        info, err = _lib.CDigest(), _lib.CError()
        h = self.handle
        with h.lock:
            rc = req.lib.glorot_digest(h.ptr, ctypes.byref(req.c), ctypes.byref(info), ctypes.byref(err))
        _core.check(rc, err)
        return Digest(
            sha256=info.sha256.decode(),
            length=int(info.length),
            seed=int(info.seed),
            etag=info.etag.decode(),
            canonical=info.canonical.decode(),
        )

    # -- service
    def info(self) -> Dict[str, Any]:
        """GET /v1/info: the server's version, limits, algorithms and initializers."""
        text, err = ctypes.c_void_p(), _lib.CError()
        lib = _lib.load()
        h = self.handle
        with h.lock:
            rc = lib.glorot_info(h.ptr, ctypes.byref(text), ctypes.byref(err))
        _core.check(rc, err)
        try:
            return json.loads(ctypes.string_at(text.value).decode("utf-8"))
        finally:
            lib.glorot_free(text)

    def health(self) -> bool:
        """GET /healthz once, without retries. Returns True; raises Error otherwise."""
        err = _lib.CError()
        h = self.handle
        with h.lock:
            rc = _lib.load().glorot_health(h.ptr, ctypes.byref(err))
        _core.check(rc, err)
        return True


def _ms(name: str, seconds: Any) -> int:
    try:
        v = float(seconds)
    except (TypeError, ValueError):
        raise InvalidError(f"{name} must be seconds as a number", param=name) from None
    if not v > 0 or v > 2**31 / 1000:
        raise InvalidError(f"{name} must be > 0 seconds", param=name)
    return max(1, int(round(v * 1000)))


def library_path() -> str:
    """The libglorot-client file in use (``$GLOROT_LIBRARY``, the build, or installed)."""
    return _lib.path()


def library_version() -> str:
    """The C library's version string."""
    return _core.version()
