"""glorot.Error and one subclass per glorot_code of the C library."""

from __future__ import annotations

import builtins
from typing import Dict, Optional, Type

# glorot_code values (client/include/glorot/client.h)
E_INVALID, E_BUFFER, E_CONNECT, E_TIMEOUT, E_HTTP = 1, 2, 3, 4, 5
E_PROTOCOL, E_VERIFY, E_NOMEM, E_ABORTED, E_TLS, E_INTERNAL = 6, 7, 8, 9, 10, 11


class Error(Exception):
    """Any failure of glorot: bad arguments, the network or the server.

    Attributes
    ----------
    code : int or None
        The C library's ``glorot_code`` (``None`` for errors of the Python layer
        itself, such as a missing library).
    http_status : int
        The server's HTTP status for :class:`HTTPError` (else 0).
    server_code : str
        The server's machine-readable code (``"invalid_parameter"``), or ``""``.
    param : str
        The offending parameter (``"shape"``, ``"tensors[1].dtype"``), or ``""``.
    message : str
        One sentence saying what went wrong.
    """

    code: Optional[int] = None

    def __init__(
        self,
        message: str,
        *,
        param: str = "",
        http_status: int = 0,
        server_code: str = "",
        code: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.http_status = http_status
        self.server_code = server_code
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        where = f" [{self.param}]" if self.param else ""
        status = f" (HTTP {self.http_status} {self.server_code})" if self.http_status else ""
        return f"{self.message}{where}{status}"


class InvalidError(Error, ValueError):
    """A bad argument, found locally before anything was sent (``GLOROT_E_INVALID``)."""

    code = E_INVALID


class BufferTooSmallError(Error, ValueError):
    """A caller's array is smaller than the answer (``GLOROT_E_BUFFER``)."""

    code = E_BUFFER


class ConnectError(Error, ConnectionError):
    """The server cannot be reached (``GLOROT_E_CONNECT``)."""

    code = E_CONNECT


class TimeoutError(Error, builtins.TimeoutError):
    """The configured time ran out (``GLOROT_E_TIMEOUT``)."""

    code = E_TIMEOUT


class HTTPError(Error):
    """The server answered with an error status; see ``http_status``,
    ``server_code``, ``param`` and ``message`` (``GLOROT_E_HTTP``)."""

    code = E_HTTP


class ProtocolError(Error):
    """A malformed, inconsistent or short answer (``GLOROT_E_PROTOCOL``)."""

    code = E_PROTOCOL


class VerifyError(Error):
    """Received bytes differ from local generation or a digest (``GLOROT_E_VERIFY``)."""

    code = E_VERIFY


class OutOfMemoryError(Error, MemoryError):
    """An allocation failed (``GLOROT_E_NOMEM``)."""

    code = E_NOMEM


class AbortedError(Error):
    """A callback asked to stop (``GLOROT_E_ABORTED``)."""

    code = E_ABORTED


class TLSError(Error):
    """The TLS handshake or certificate check failed (``GLOROT_E_TLS``)."""

    code = E_TLS


class InternalError(Error):
    """A bug in the library (``GLOROT_E_INTERNAL``)."""

    code = E_INTERNAL


class LibraryError(Error, ImportError):
    """libglorot-client cannot be found or loaded."""


_BY_CODE: Dict[int, Type[Error]] = {
    cls.code: cls  # type: ignore[misc]
    for cls in (
        InvalidError,
        BufferTooSmallError,
        ConnectError,
        TimeoutError,
        HTTPError,
        ProtocolError,
        VerifyError,
        OutOfMemoryError,
        AbortedError,
        TLSError,
        InternalError,
    )
}


def from_c(code: int, err) -> Error:
    """The exception for a C return code and its filled ``glorot_error``."""
    cls = _BY_CODE.get(code, Error)
    message = err.message.decode("utf-8", "replace") or f"glorot error {code}"
    return cls(
        message,
        param=err.param.decode("utf-8", "replace"),
        http_status=int(err.http_status),
        server_code=err.server_code.decode("utf-8", "replace"),
        code=code,
    )
