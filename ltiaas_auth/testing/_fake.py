"""FakeLtiaas: a real LTIAAS on 127.0.0.1, for tests (ours and yours) and as a standalone LTIAAS.

It mints launches (ltiks signed with its own secret), checks every `Authorization` value as LTIAAS does, and
serves the LTIAAS API from memory: idtoken (plain and ``raw=true``), memberships (paginated with ``next``),
line items, scores, deep linking, registrations and platforms. Errors come in LTIAAS's own shape
(``{"status", "error", "details": {"message", "description"}}``), and faults are one call away. It also
serves what a browser sees of LTIAAS and the LMS: a launch picker at ``/``, ``/lti/launch`` (a redirect to
the tool with ``?ltik=``), dynamic registration and the deep-linking return (``fake.deep_link_returns``).

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
is on that context's roster (and whoever ``add_members`` puts there); line items and scores live per context,
and a service key reaches only its own launch's context. ``fake.calls`` records each request as sent (path
still percent-encoded, its scheme), its answer's status (None when dropped) and its body. It speaks HTTP/1.1
with keep-alive (``fake.connections`` counts TCP connections) and, with ``tls=True``, https under a throwaway
CA. It binds 127.0.0.1 unless told otherwise and never logs keys or ltiks.
"""

from __future__ import annotations

import copy
import re
import secrets
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from ltiaas_auth.testing._fake_auth import scheme_name
from ltiaas_auth.testing._fake_dispatch import handle
from ltiaas_auth.testing._fake_http import error_body, json_response, raw_response
from ltiaas_auth.testing._fake_launch import DEFAULT_SERVICES, build_spec, idtoken
from ltiaas_auth.testing._fake_routing import Incoming, Settings
from ltiaas_auth.testing._fake_server import FakeHttpServer
from ltiaas_auth.testing._fake_state import DeepLinkReturn, FakeState, Launch, new_service_key

if TYPE_CHECKING:
    from ltiaas_auth.config import LtiaasConfig
    from ltiaas_auth.testing._fake_tls import ThrowawayCA

__all__ = ["DeepLinkReturn", "FakeCall", "FakeLtiaas", "make_idtoken"]

_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 9110 token
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")  # no CR, LF or other control characters
_POLL_INTERVAL = 0.02  # how fast stop() returns: serve_forever notices shutdown() at this pace
_WILDCARDS = ("", "0.0.0.0", "::")  # noqa: S104 - naming the wildcard addresses, not binding them


@dataclass(frozen=True)
class FakeCall:
    """One request the fake answered or dropped."""

    method: str
    path: str  # as sent, still percent-encoded
    query: dict[str, str]  # name -> first value, decoded
    authorization: str | None = field(repr=False)  # it carries the API key: kept out of failure output
    status: int | None = None  # None when the connection was dropped
    body: bytes = b""
    #: "LTIK-AUTH-V2", "SERVICE-AUTH-V1", "Bearer", "LTIK-AUTH-V1", or None (no header, another scheme)
    scheme: str | None = None


@dataclass(frozen=True)
class _Fault:
    response: Response | None  # None drops the connection


class FakeLtiaas:
    """A real LTIAAS on 127.0.0.1 (random port) for tests; see the module documentation.

    `tls` serves https under a throwaway CA (``ssl_context()``, ``ca_file``; needs the ``fake-tls`` extra);
    `legacy_v1` False refuses the legacy ``LTIK-AUTH-V1`` form; `host` and `port` choose where it listens
    (a host beyond loopback needs `tls`: configs refuse plain ``http://`` there); `tool_url` is the tool's
    launch URL the browser flows redirect to (without it, ``/lti/launch`` takes ``tool_url=``).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        ltik_lifetime: int = 86400,
        tls: bool = False,
        legacy_v1: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        tool_url: str | None = None,
    ) -> None:
        from ltiaas_auth.config import _is_loopback

        if api_key is not None and not _TOKEN68.fullmatch(api_key):
            raise ValueError("api_key must be an RFC 7235 token68 (A-Z a-z 0-9 - . _ ~ + / then = padding)")
        if ltik_lifetime <= 0:
            raise ValueError("ltik_lifetime must be a positive number of seconds")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError("port must be a whole number from 0 (any free port) to 65535")
        if not tls and not _is_loopback(host):
            raise ValueError(
                "a FakeLtiaas beyond loopback must use TLS (tls=True; --tls for ltiaas-auth fake): "
                "configs refuse http:// there"
            )
        self.api_key: str = api_key or secrets.token_urlsafe(32)
        self.calls: list[FakeCall] = []
        self.latency: float = 0.0
        self.tls = tls
        self.legacy_v1 = legacy_v1
        self.host = host
        self.tool_url = tool_url
        self._port = port
        self._state = FakeState(ltik_lifetime)
        self._faults: deque[_Fault] = deque()
        self._server: FakeHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ca: ThrowawayCA | None = None
        if tls:
            from ltiaas_auth.testing._fake_tls import ThrowawayCA

            self._ca = ThrowawayCA([self._url_host, "127.0.0.1", "localhost"])

    def __repr__(self) -> str:
        return f"<FakeLtiaas {self.url if self._server else 'stopped'}>"

    # --- lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` with TLS), no trailing slash; only while started."""
        if self._server is None:
            raise RuntimeError("FakeLtiaas is not started: use `with FakeLtiaas() as fake:` or .start()")
        host = self._url_host
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self._server.port}"

    @property
    def _url_host(self) -> str:
        """The host name clients use: the bound address, or this machine's name for a wildcard address."""
        return socket.gethostname() if self.host in _WILDCARDS else self.host

    @property
    def connections(self) -> int:
        """TCP connections accepted so far (a client reusing one keep-alive connection counts once)."""
        return 0 if self._server is None else self._server.connections

    def start(self) -> FakeLtiaas:
        """Serve from a daemon thread (on a fresh port unless one was given); OSError if it cannot bind."""
        if self._server is not None:
            raise RuntimeError("FakeLtiaas is already started")
        self._stopping.clear()
        context = None if self._ca is None else self._ca.server_context()
        server = FakeHttpServer(self.host, self._port, self._respond, context)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"FakeLtiaas:{server.port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        with self._state.lock:
            self._state.base_url = self.url
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection, join the thread; waiting latencies end
        at once. Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join()
        self._server = self._thread = None
        with self._state.lock:
            self._state.base_url = None

    def __enter__(self) -> FakeLtiaas:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def config(self, **options: Any) -> LtiaasConfig:
        """An ``LtiaasConfig`` for this fake (its key and URL, and with TLS an ``ssl_context`` trusting its
        CA); `options` are LtiaasConfig's keywords."""
        from ltiaas_auth.config import LtiaasConfig

        if self.tls:
            options.setdefault("ssl_context", self.ssl_context())
        return LtiaasConfig(self.api_key, self.url, **options)

    def ssl_context(self) -> ssl.SSLContext:
        """A client ``SSLContext`` trusting this fake's throwaway CA (only it); needs ``tls=True``."""
        if self._ca is None:
            raise RuntimeError("this FakeLtiaas speaks plain HTTP: make it with FakeLtiaas(tls=True)")
        return self._ca.client_context()

    @property
    def ca_file(self) -> str | None:
        """The throwaway CA's PEM file (for ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``, a browser); None
        without TLS. It is removed when the fake is collected or the process ends."""
        return None if self._ca is None else self._ca.ca_file

    def client(self, **options: Any) -> Any:
        """An ``ltiaas_auth.api.LtiaasClient`` on ``fake.config()``; `options` are the client's."""
        from ltiaas_auth.api import LtiaasClient

        return LtiaasClient(self.config(), **options)

    def async_client(self, **options: Any) -> Any:
        """An ``ltiaas_auth.api.AsyncLtiaasClient`` on this fake; `options` are the client's."""
        from ltiaas_auth.api import AsyncLtiaasClient

        return AsyncLtiaasClient(self.config(), **options)

    # --- launches and data

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
        services: Sequence[str] = DEFAULT_SERVICES,
        issued_at: float | datetime | None = None,
        lti_version: str = "1.3.0",
        message_type: str = "resource_link",
    ) -> str:
        """Record a launch and return its ltik (unique per call).

        Ids left as None are random; a `name` or `email` of None is left out. Roles may be short (``Learner``)
        or full URIs. `services` picks among outcomes, deepLinking, assignmentAndGrades and namesAndRoles;
        with AGS or NRPS the idtoken carries a service key. `issued_at` (a POSIX timestamp or an aware
        datetime) in the past makes an expired ltik. `message_type` ``"deep_linking"`` makes an
        ``LtiDeepLinkingRequest`` whose forms post back to this fake (``deep_link_returns``).
        """
        spec = build_spec(
            platform_id=self.platform_id,
            user_id=user_id,
            name=name,
            email=email,
            roles=roles,
            context_id=context_id,
            context_title=context_title,
            resource_link_id=resource_link_id,
            services=services,
            issued_at=issued_at,
            lti_version=lti_version,
            message_type=message_type,
        )
        with self._state.lock:
            return self._state.add_launch(spec).ltik

    def add_members(
        self,
        context_id: str,
        members: Iterable[str | Mapping[str, Any]],
        *,
        context_title: str = "Course",
    ) -> None:
        """Put people on a course's roster without launching, e.g. 1,000 for pagination tests.

        Each member is a user id (a Learner without a name) or a mapping with ``user_id`` and optionally
        ``name``, ``email`` and ``roles`` (as ``launch()`` takes them). They appear in ``/api/memberships``
        in the order given, after anyone already there; an id already on the roster is replaced. A bad
        member raises ValueError or TypeError and adds no one.
        """
        with self._state.lock:
            self._state.add_members(context_id, list(members), context_title)

    def service_key_for(self, ltik: str) -> str | None:
        """The service key in this launch's idtoken (None without AGS and NRPS)."""
        return self._launch(ltik).service_key

    def idtoken_of(self, ltik: str, *, raw: bool = False) -> dict[str, Any]:
        """A copy of what ``GET /api/idtoken`` (``?raw=true`` with `raw`) answers for this launch."""
        launch = self._launch(ltik)
        return copy.deepcopy(launch.raw_idtoken if raw else launch.idtoken)

    idtoken_for = idtoken_of  # the earlier name

    def scores(self, line_item_id: str) -> list[dict[str, Any]]:
        """The results the LMS holds for a line item (what ``GET …/scores`` answers), in the order posted."""
        with self._state.lock:
            for context in self._state.contexts.values():
                if line_item_id in context.line_items:
                    return copy.deepcopy(list(context.results.get(line_item_id, {}).values()))
        raise KeyError("not a line item of this FakeLtiaas")

    @property
    def deep_link_returns(self) -> list[DeepLinkReturn]:
        """Every deep-linking response a browser posted back to this fake's LMS return page, in order."""
        with self._state.lock:
            return list(self._state.deep_link_returns)

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

    # --- serving

    def _respond(self, incoming: Incoming) -> Response | None:
        """One request's answer (None: drop the connection), recorded in ``calls``."""
        if self.latency > 0:
            self._stopping.wait(self.latency)
        settings = Settings(self.api_key, self.legacy_v1, self.tool_url)
        with self._state.lock:
            response: Response | None
            if self._faults:
                response = self._faults.popleft().response
            else:
                try:
                    response = handle(self._state, settings, incoming)
                except Exception as error:  # a defect of the fake: a visible 500, never a silent drop
                    description = f"FakeLtiaas failed on this request ({type(error).__name__})."
                    response = json_response(error_body(500, "INTERNAL_SERVER_ERROR", description), 500)
            status = None if response is None else response.status_code
            self.calls.append(
                FakeCall(
                    incoming.method,
                    incoming.path,
                    dict(incoming.query),
                    incoming.authorization,
                    status,
                    incoming.body,
                    scheme_name(incoming.authorization),
                )
            )
        return response


def make_idtoken(**launch: Any) -> dict[str, Any]:
    """The idtoken LTIAAS would serve for a launch, without a server: `launch` takes ``FakeLtiaas.launch()``'s
    keywords (``user_id``, ``roles``, ``message_type``, …), checked the same way. For unit tests of code that
    reads an idtoken (``make_idtoken(roles=["Instructor"])["user"]["roles"]``)."""
    spec = build_spec(platform_id=secrets.token_hex(10), **launch)
    return idtoken(spec, new_service_key(spec))


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
