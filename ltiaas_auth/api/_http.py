"""The HTTP library: httpx, or where httpx is absent its maintained API-compatible fork httpx2.

Also the options of the pooled client built when the user gives none: the config's TLS context, its
timeout, no redirects followed (a redirect would carry the credential), and no environment proxy for a
loopback origin (an ``http://`` key never crosses a proxy). The blocking client's transport also holds
every socket operation to the attempt's deadline (:data:`attempt_deadline`), so a server that drips its
answer a byte at a time is cut off when the attempt's time is up, not after a timeout per byte.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from ..config import _is_loopback
from ..upstream import ssl_context_of

if TYPE_CHECKING:
    import httpx

    from ..config import LtiaasConfig
else:
    try:
        httpx = importlib.import_module("httpx")
    except ImportError:
        try:
            httpx = importlib.import_module("httpx2")
        except ImportError:
            raise ImportError(
                "ltiaas_auth.api needs httpx (or httpx2): pip install 'ltiaas-auth[api]'"
            ) from None

__all__ = ["attempt_deadline", "client_options", "httpx", "sync_transport"]

#: Idle keep-alive connections kept per client, and how long.
KEEPALIVE = 20
KEEPALIVE_EXPIRY = 30.0


#: The ``time.monotonic()`` by which the current attempt of the blocking client must be done, or None.
attempt_deadline: ContextVar[float | None] = ContextVar("ltiaas_auth.api.deadline", default=None)


def client_options(config: LtiaasConfig) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient`` talking to ``config``'s LTIAAS."""
    return {
        "verify": ssl_context_of(config),
        "trust_env": not _is_loopback(config.origin[1]),
        "timeout": config.timeout,
        "follow_redirects": False,
        "limits": _limits(),
        "headers": {"User-Agent": "ltiaas-auth"},
    }


def _limits() -> httpx.Limits:
    return httpx.Limits(max_keepalive_connections=KEEPALIVE, keepalive_expiry=KEEPALIVE_EXPIRY)


def sync_transport(config: LtiaasConfig) -> httpx.HTTPTransport:
    """The blocking client's transport: httpx's own, its connections made through a network backend
    that clips every socket timeout to :data:`attempt_deadline`.

    Where httpx does not pool through httpcore (a fork that changed its internals), httpx's transport is
    used as it is: each socket operation then has the timeout, and the body is still read to the deadline.
    """
    verify = ssl_context_of(config)
    transport = httpx.HTTPTransport(verify=verify, limits=_limits())
    try:
        import httpcore
    except ImportError:  # pragma: no cover - httpx depends on httpcore
        return transport
    if type(getattr(transport, "_pool", None)) is not httpcore.ConnectionPool:
        return transport  # pragma: no cover - see above
    limits = _limits()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=verify,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_DeadlineBackend(httpcore.SyncBackend()),
    )
    return transport


def _clip(timeout: float | None, error: type[Exception]) -> float | None:
    deadline = attempt_deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


if TYPE_CHECKING or importlib.util.find_spec("httpcore") is not None:
    import httpcore

    class _DeadlineStream(httpcore.NetworkStream):
        """A network stream whose every read, write and TLS handshake ends by the attempt's deadline."""

        def __init__(self, stream: httpcore.NetworkStream) -> None:
            self._stream = stream

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._stream.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._stream.write(buffer, _clip(timeout, httpcore.WriteTimeout))

        def close(self) -> None:
            self._stream.close()

        def start_tls(
            self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
        ) -> httpcore.NetworkStream:
            timeout = _clip(timeout, httpcore.ConnectTimeout)
            return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

        def get_extra_info(self, info: str) -> Any:
            return self._stream.get_extra_info(info)

    class _DeadlineBackend(httpcore.NetworkBackend):
        def __init__(self, backend: httpcore.NetworkBackend) -> None:
            self._backend = backend

        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> httpcore.NetworkStream:
            timeout = _clip(timeout, httpcore.ConnectTimeout)
            return _DeadlineStream(
                self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
            )

        def sleep(self, seconds: float) -> None:
            self._backend.sleep(seconds)
