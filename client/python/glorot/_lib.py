"""ctypes bindings of libglorot-client (client/include/glorot/client.h).

The structures below mirror the C header field for field; the request itself
is kept opaque (filled only through ``glorot_request_init`` and
``glorot_request_set``), so request fields the C library learns later need no
change here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pathlib
import threading
from typing import List, Optional

MAX_RANK = 8
SIZE_UNKNOWN = (1 << 64) - 1
BATCH_SKIP_UNLISTED = 1
# glorot_request is far smaller than this (about 260 bytes for client.h 0.1);
# Python never reads its fields, so an opaque, 8-byte aligned block suffices.
REQUEST_BYTES = 4096
# Every other structure passed by pointer ends in this many zero bytes: a C
# library whose structures grew at the end (new fields, zero = default) then
# neither writes past Python's memory nor reads garbage; a change in the
# middle of a structure is caught by the tests, which compare values.
TAIL = ctypes.c_uint8 * 4096


class CError(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_int),
        ("http_status", ctypes.c_int),
        ("message", ctypes.c_char * 256),
        ("param", ctypes.c_char * 32),
        ("server_code", ctypes.c_char * 32),
        ("_tail", TAIL),
    ]


class COptions(ctypes.Structure):
    _fields_ = [
        ("connect_timeout_ms", ctypes.c_long),
        ("timeout_ms", ctypes.c_long),
        ("idle_timeout_ms", ctypes.c_long),
        ("retries", ctypes.c_int),
        ("retry_base_ms", ctypes.c_long),
        ("retry_max_ms", ctypes.c_long),
        ("bearer_token", ctypes.c_char_p),
        ("ca_file", ctypes.c_char_p),
        ("user_agent", ctypes.c_char_p),
        ("verify", ctypes.c_int),
        ("_tail", TAIL),
    ]


class CRequest(ctypes.Structure):
    _fields_ = [("opaque", ctypes.c_uint64 * (REQUEST_BYTES // 8))]


class CMeta(ctypes.Structure):
    _fields_ = [
        ("seed", ctypes.c_uint64),
        ("algorithm", ctypes.c_char * 16),
        ("dtype", ctypes.c_char * 16),
        ("format", ctypes.c_char * 16),
        ("rank", ctypes.c_size_t),
        ("shape", ctypes.c_uint64 * MAX_RANK),
        ("fan_in", ctypes.c_uint64),
        ("fan_out", ctypes.c_uint64),
        ("limit", ctypes.c_double),
        ("gain", ctypes.c_char * 48),
        ("call", ctypes.c_uint64),
        ("numel", ctypes.c_uint64),
        ("size", ctypes.c_uint64),
        ("part_start", ctypes.c_uint64 * MAX_RANK),
        ("part_stop", ctypes.c_uint64 * MAX_RANK),
        ("init", ctypes.c_char * 24),
        ("distribution", ctypes.c_char * 192),
        ("_tail", TAIL),
    ]


class CDigest(ctypes.Structure):
    _fields_ = [
        ("sha256", ctypes.c_char * 65),
        ("length", ctypes.c_uint64),
        ("seed", ctypes.c_uint64),
        ("etag", ctypes.c_char * 48),
        ("canonical", ctypes.c_char * 3584),
        ("_tail", TAIL),
    ]


class CBatchRequest(ctypes.Structure):
    _fields_ = [
        ("manifest", ctypes.c_char_p),
        ("manifest_len", ctypes.c_size_t),
        ("shard_rank", ctypes.c_uint64),
        ("shard_world", ctypes.c_uint64),
        ("axis", ctypes.c_int64),
        ("axis_set", ctypes.c_int),
        ("shard_spec", ctypes.c_char_p),
        ("axis_spec", ctypes.c_char_p),
        ("split", ctypes.c_char_p),
        ("stride", ctypes.c_char_p),
        ("format", ctypes.c_char_p),
        ("reserved", ctypes.c_uint64 * 4),
        ("_tail", TAIL),
    ]


class CBatchTensor(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * 257),
        ("dtype", ctypes.c_char * 16),
        ("rank", ctypes.c_size_t),
        ("shape", ctypes.c_uint64 * MAX_RANK),
        ("offset", ctypes.c_uint64),
        ("size", ctypes.c_uint64),
    ]


class CBatchInfo(ctypes.Structure):
    _fields_ = [
        ("seed", ctypes.c_uint64),
        ("etag", ctypes.c_char * 48),
        ("size", ctypes.c_uint64),
        ("header_size", ctypes.c_uint64),
        ("count", ctypes.c_size_t),
        ("tensors", ctypes.POINTER(CBatchTensor)),
        ("_tail", TAIL),
    ]


class CBatchBuffer(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("buf", ctypes.c_void_p),
        ("size", ctypes.c_size_t),
    ]


CHUNK_FN = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t
)

_P = ctypes.POINTER
_c = ctypes
_SIGNATURES = {
    "glorot_strerror": (_c.c_char_p, [_c.c_int]),
    "glorot_version": (_c.c_char_p, []),
    "glorot_client_new": (_c.c_void_p, [_c.c_char_p, _P(COptions), _P(CError)]),
    "glorot_client_free": (None, [_c.c_void_p]),
    "glorot_request_init": (None, [_P(CRequest)]),
    "glorot_request_set": (_c.c_int, [_P(CRequest), _c.c_char_p, _c.c_char_p, _P(CError)]),
    "glorot_size": (_c.c_int, [_P(CRequest), _P(_c.c_uint64), _P(CError)]),
    "glorot_describe": (_c.c_int, [_P(CRequest), _P(CMeta), _P(CError)]),
    "glorot_fetch": (
        _c.c_int,
        [_c.c_void_p, _P(CRequest), _c.c_void_p, _c.c_size_t, _P(CMeta), _P(CError)],
    ),
    "glorot_fetch_stream": (
        _c.c_int,
        [_c.c_void_p, _P(CRequest), CHUNK_FN, _c.c_void_p, _P(CMeta), _P(CError)],
    ),
    "glorot_generate": (
        _c.c_int,
        [_P(CRequest), _c.c_void_p, _c.c_size_t, _P(CMeta), _P(CError)],
    ),
    "glorot_generate_stream": (
        _c.c_int,
        [_P(CRequest), CHUNK_FN, _c.c_void_p, _P(CMeta), _P(CError)],
    ),
    "glorot_digest": (_c.c_int, [_c.c_void_p, _P(CRequest), _P(CDigest), _P(CError)]),
    "glorot_digest_check": (
        _c.c_int,
        [_P(CDigest), _c.c_void_p, _c.c_size_t, _P(CError)],
    ),
    "glorot_batch_request_init": (None, [_P(CBatchRequest)]),
    "glorot_batch_plan": (_c.c_int, [_P(CBatchRequest), _P(CBatchInfo), _P(CError)]),
    "glorot_batch_fetch": (
        _c.c_int,
        [
            _c.c_void_p,
            _P(CBatchRequest),
            _P(CBatchBuffer),
            _c.c_size_t,
            _c.c_uint,
            _P(CBatchInfo),
            _P(CError),
        ],
    ),
    "glorot_batch_generate": (
        _c.c_int,
        [
            _P(CBatchRequest),
            _P(CBatchBuffer),
            _c.c_size_t,
            _c.c_uint,
            _P(CBatchInfo),
            _P(CError),
        ],
    ),
    "glorot_health": (_c.c_int, [_c.c_void_p, _P(CError)]),
    "glorot_info": (_c.c_int, [_c.c_void_p, _P(_c.c_void_p), _P(CError)]),
    "glorot_free": (None, [_c.c_void_p]),
}


def candidates() -> List[str]:
    """The places searched for libglorot-client, in order.

    1. ``$GLOROT_LIBRARY`` (a path to the shared library);
    2. the repository's ``build/`` when this package runs from
       ``client/python/glorot`` of a source tree (after ``make``);
    3. ``<prefix>/lib`` when this package was installed by ``make install``
       into ``<prefix>/lib/python3/dist-packages/glorot``;
    4. the dynamic loader's own search (``ldconfig``, ``LD_LIBRARY_PATH``).
    """
    here = pathlib.Path(__file__).resolve().parent
    found: List[str] = []
    env = os.environ.get("GLOROT_LIBRARY")
    if env:
        found.append(env)
    found.append(str(here.parents[2] / "build" / "libglorot-client.so"))
    found.append(str(here.parents[2] / "libglorot-client.so.0"))
    found.append(ctypes.util.find_library("glorot-client") or "libglorot-client.so.0")
    return found


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_path: Optional[str] = None


def _bind(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def load() -> ctypes.CDLL:
    """Load and bind the library once; raise LibraryError naming what was tried."""
    global _lib, _path
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for path in candidates():
            is_file = os.sep in path
            if is_file and not os.path.exists(path):
                tried.append(f"{path} (absent)")
                continue
            try:
                lib = ctypes.CDLL(path)
                _bind(lib)
            except (OSError, AttributeError) as exc:
                tried.append(f"{path} ({exc})")
                if os.environ.get("GLOROT_LIBRARY") == path:
                    break  # an explicit choice that fails is not silently replaced
                continue
            _lib, _path = lib, path
            return lib
        from ._errors import LibraryError

        raise LibraryError(
            "libglorot-client not found or unusable; run `make` in the repository, "
            "`make install`, or set GLOROT_LIBRARY. Tried: " + "; ".join(tried)
        )


def path() -> str:
    """The file the library was loaded from (loading it if needed)."""
    load()
    assert _path is not None
    return _path
