"""FakeLtiaas: a real LTIAAS API server on 127.0.0.1, for tests (ours and yours).

It mints launches (ltiks signed with its own secret), checks every `Authorization` value as LTIAAS does, and
serves the LTIAAS API from memory: idtoken (plain and ``raw=true``), memberships (paginated with ``next``),
line items, scores, deep linking, registrations and platforms. Errors come in LTIAAS's own shape
(``{"status", "error", "details": {"message", "description"}}``), and faults are one call away.

With the pytest plugin that ships with the package, ask for the ``fake_ltiaas`` fixture (started, and stopped
after the test)::

    def test_course_page(fake_ltiaas):
        ltik = fake_ltiaas.launch(user_id="u1", roles=["Instructor"])
        app = LtiaasMiddleware(my_wsgi_app, fake_ltiaas.config())
        ...  # request "/course?ltik=" + ltik through the app
        assert [call.path for call in fake_ltiaas.calls] == ["/api/idtoken"]

Or use it directly::

    with FakeLtiaas() as fake:
        ltik = fake.launch()
        request = urllib.request.Request(
            f"{fake.url}/api/idtoken", headers={"Authorization": f"LTIK-AUTH-V2 {fake.api_key}:{ltik}"}
        )
        with urllib.request.urlopen(request) as response:
            idtoken = json.load(response)

Faults::

    fake.fail_next(503)                      # the next request answers 503 in LTIAAS's error shape
    fake.fail_next(502, count=2, body="<html>Bad gateway</html>")
    fake.fail_next(429, headers={"Retry-After": "2"})  # extra response headers
    fake.latency = 0.5                       # every answer waits half a second
    fake.drop_next()                         # the next connection closes without any answer

What it holds: every launch comes from one example LMS (``fake.platform_id``); whoever launches in a context
is on that context's roster; line items and scores live per context, and a service key reaches only its own
launch's context. ``fake.calls`` records each request as sent (path still percent-encoded), its answer's
status (None when dropped) and its body. The fake binds only 127.0.0.1 and never logs keys or ltiks.
"""

from __future__ import annotations

import copy
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ltiaas_auth.testing._fake_api import handle
from ltiaas_auth.testing._fake_http import error_body, json_response, raw_response
from ltiaas_auth.testing._fake_launch import LTI_VERSIONS, SERVICES, LaunchSpec
from ltiaas_auth.testing._fake_state import FakeState, Launch

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ltiaas_auth.config import LtiaasConfig

__all__ = ["FakeCall", "FakeLtiaas"]

_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 9110 token
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")  # no CR, LF or other control characters
_TARGET = "ltiaas_auth.fake.target"
_POLL_INTERVAL = 0.02  # how fast stop() returns: serve_forever notices shutdown() at this pace


@dataclass(frozen=True)
class FakeCall:
    """One request the fake answered or dropped."""

    method: str
    path: str  # as sent, still percent-encoded
    query: dict[str, str]  # name -> first value, decoded
    authorization: str | None = field(repr=False)  # it carries the API key: kept out of failure output
    status: int | None = None  # None when the connection was dropped
    body: bytes = b""


@dataclass(frozen=True)
class _Fault:
    response: Response | None  # None drops the connection


class _ConnectionDropped(ConnectionAbortedError):
    """Raised out of the app after shutting the socket: werkzeug takes a ConnectionError for the client
    leaving and closes the connection without an answer or a traceback."""


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler, silent (no request log: no path or header is printed), keeping the request target
    exactly as sent: http.server collapses a leading ``//`` before werkzeug builds the environ."""

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[_TARGET] = str(self.raw_requestline, "iso-8859-1").split()[1]
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Log nothing."""


class FakeLtiaas:
    """A real LTIAAS API on 127.0.0.1 (random port) for tests; see the module documentation."""

    def __init__(self, api_key: str | None = None, *, ltik_lifetime: int = 86400) -> None:
        if api_key is not None and not _TOKEN68.fullmatch(api_key):
            raise ValueError("api_key must be an RFC 7235 token68 (A-Z a-z 0-9 - . _ ~ + / then = padding)")
        if ltik_lifetime <= 0:
            raise ValueError("ltik_lifetime must be a positive number of seconds")
        self.api_key: str = api_key or secrets.token_urlsafe(32)
        self.calls: list[FakeCall] = []
        self.latency: float = 0.0
        self._state = FakeState(ltik_lifetime)
        self._faults: deque[_Fault] = deque()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        return f"<FakeLtiaas {self.url if self._server else 'stopped'}>"

    # --- lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash; only while started."""
        if self._server is None:
            raise RuntimeError("FakeLtiaas is not started: use `with FakeLtiaas() as fake:` or .start()")
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> FakeLtiaas:
        """Serve on a fresh 127.0.0.1 port from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeLtiaas is already started")
        self._stopping.clear()
        server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"FakeLtiaas:{server.port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread; waiting latencies end at once. Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeLtiaas:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def config(self, **options: Any) -> LtiaasConfig:
        """An ``LtiaasConfig`` for this fake (its key and URL); `options` are LtiaasConfig's keywords."""
        from ltiaas_auth.config import LtiaasConfig

        return LtiaasConfig(self.api_key, self.url, **options)

    # --- launches

    @property
    def ltik_lifetime(self) -> int:
        return self._state.ltik_lifetime

    @property
    def platform_id(self) -> str:
        """The id of the example LMS every launch comes from."""
        return self._state.platform_id

    def launch(
        self,
        *,
        user_id: str | None = None,
        name: str | None = "Ada Lovelace",
        email: str | None = "ada.lovelace@example.edu",
        roles: Sequence[str] = ("Learner",),
        context_id: str | None = None,
        context_title: str = "Course",
        resource_link_id: str | None = None,
        services: Sequence[str] = ("assignmentAndGrades", "namesAndRoles", "deepLinking"),
        issued_at: float | datetime | None = None,
        lti_version: str = "1.3.0",
    ) -> str:
        """Record a launch and return its ltik (unique per call).

        Ids left as None are random; a `name` or `email` of None is left out. Roles may be short (``Learner``)
        or full URIs. `services` picks among outcomes, deepLinking, assignmentAndGrades and namesAndRoles;
        with AGS or NRPS the idtoken carries a service key. `issued_at` (a POSIX timestamp or an aware
        datetime) in the past makes an expired ltik.
        """
        if lti_version not in LTI_VERSIONS:
            raise ValueError(f"lti_version must be one of {', '.join(LTI_VERSIONS)}")
        unknown = set(_names(services, "services")) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; known: {', '.join(SERVICES)}")
        spec = LaunchSpec(
            user_id=_or_random(user_id, "user"),
            name=name,
            email=email,
            roles=_names(roles, "roles"),
            context_id=_or_random(context_id, "course"),
            context_title=context_title,
            resource_link_id=_or_random(resource_link_id, "link"),
            services=frozenset(services),
            issued_at=_timestamp(issued_at),
            lti_version=lti_version,
            platform_id=self.platform_id,
        )
        with self._state.lock:
            return self._state.add_launch(spec).ltik

    def service_key_for(self, ltik: str) -> str | None:
        """The service key in this launch's idtoken (None without AGS and NRPS)."""
        return self._launch(ltik).service_key

    def idtoken_for(self, ltik: str, *, raw: bool = False) -> dict[str, Any]:
        """A copy of what ``GET /api/idtoken`` (``?raw=true`` with `raw`) answers for this launch."""
        launch = self._launch(ltik)
        return copy.deepcopy(launch.raw_idtoken if raw else launch.idtoken)

    def new_registration(self) -> str:
        """Start a dynamic registration from the example LMS; its id is for ``/api/registrations/<id>``."""
        with self._state.lock:
            return self._state.new_registration()

    def _launch(self, ltik: str) -> Launch:
        with self._state.lock:
            launch = self._state.launches.get(ltik)
        if launch is None:
            raise KeyError("not an ltik minted by this FakeLtiaas")
        return launch

    # --- faults

    def fail_next(
        self,
        status: int,
        count: int = 1,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next `count` requests answer `status` with `body`.

        `body` None is LTIAAS's error shape for `status`; bytes and str are sent as they are (text/plain);
        anything else is sent as JSON. `headers` adds response headers, e.g. ``{"Retry-After": "2"}`` with a
        429 or 503; each replaces any header of that name the answer would have had (``Content-Type``).
        """
        if not 200 <= status <= 599:
            raise ValueError("status must be an HTTP status between 200 and 599")
        extra = _headers(headers)
        if body is None:
            response = json_response(error_body(status), status)
        elif isinstance(body, bytes | str):
            data = body.encode() if isinstance(body, str) else body
            response = raw_response(data, status, "text/plain; charset=utf-8")
        else:
            response = json_response(body, status)
        for name, value in extra:
            response.headers[name] = value
        self._add_faults(_Fault(response), count)

    def drop_next(self, count: int = 1) -> None:
        """The next `count` connections close without any answer (clients see a reset / disconnect)."""
        self._add_faults(_Fault(None), count)

    def reset(self) -> None:
        """Forget recorded calls, pending faults and latency; launches and data stay."""
        with self._state.lock:
            self.calls.clear()
            self._faults.clear()
            self.latency = 0.0

    def _add_faults(self, fault: _Fault, count: int) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._state.lock:
            self._faults.extend([fault] * count)

    # --- the WSGI app

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        raw_path, _, raw_query = environ[_TARGET].partition("?")
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(name, value)
        authorization = request.headers.get("Authorization")
        body = request.get_data()
        if self.latency > 0:
            self._stopping.wait(self.latency)
        with self._state.lock:
            response: Response | None
            if self._faults:
                response = self._faults.popleft().response
            else:
                response = handle(
                    self._state, self.api_key, request.method, raw_path, query, authorization, body
                )
            status = None if response is None else response.status_code
            self.calls.append(FakeCall(request.method, raw_path, query, authorization, status, body))
        if response is None:
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            raise _ConnectionDropped
        return response(environ, start_response)


def _headers(headers: Mapping[str, str] | None) -> list[tuple[str, str]]:
    """`headers` as (name, value) pairs, refused unless each is a valid header name and a one-line value."""
    if headers is None:
        return []
    if not isinstance(headers, Mapping):
        raise TypeError("headers must be a mapping of header names to values")
    pairs = []
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("header names and values must be str")
        if not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
            raise ValueError(f"not a valid header: {name!r}")
        pairs.append((name, value))
    return pairs


def _names(values: Sequence[str], what: str) -> tuple[str, ...]:
    """`values` as a tuple, refusing a bare str (which would otherwise be read letter by letter)."""
    if isinstance(values, str):
        raise TypeError(f"{what} must be a sequence of names, not a str")
    return tuple(values)


def _or_random(value: str | None, prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}" if value is None else value


def _timestamp(issued_at: float | datetime | None) -> int:
    if issued_at is None:
        return int(time.time())
    if isinstance(issued_at, datetime):
        if issued_at.tzinfo is None:
            raise ValueError("issued_at must be an aware datetime")
        return int(issued_at.timestamp())
    return int(issued_at)
