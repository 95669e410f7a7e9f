"""Fuzzing: ``parse_ltik``, the finders of ``extract.py`` and both whole middlewares, with hypothesis.

The in-suite run is small (a few hundred examples per test, a few seconds in all). For a long run, set
``LTIAAS_FUZZ_EXAMPLES`` (examples per test), e.g. ``LTIAAS_FUZZ_EXAMPLES=100000 pytest tests/test_fuzz.py``.

Beyond "never a 5xx, never an escaping exception, never a hang" (a per-example deadline, and every
middleware call runs on a worker thread with a timeout), each test checks a property a bug would break:
the finders agree with ``urllib.parse.parse_qsl`` (what Starlette and werkzeug read) and with ``json``;
the app only ever sees a token the request carried, reads the body byte for byte as it would without the
middleware, and never inherits the previous request's credential on a reused thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote_plus

import pytest
from helpers import CONFIG, Message, Scope, call_asgi, call_wsgi, read_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ltik_factory import fresh_ltik, make_ltik
from security_helpers import b64url

from ltiaas_auth import (
    AmbiguousLtik,
    InvalidLtik,
    LtiaasASGIMiddleware,
    LtiaasMiddleware,
    current_launch,
    parse_ltik,
)
from ltiaas_auth._syntax import MAX_LTIK_SIZE, is_compact_jws
from ltiaas_auth.context import credential_var
from ltiaas_auth.errors import NoLaunchContext
from ltiaas_auth.extract import (
    body_source,
    find_ltik,
    from_authorization,
    from_form,
    from_header,
    from_json,
    from_query,
    ltiks_in_query,
)

#: Examples per test: small in CI, as large as you like from the environment.
EXAMPLES = int(os.environ.get("LTIAAS_FUZZ_EXAMPLES", "0"))
#: One example (one parse, one request) taking this long is a hang, not a slow machine.
PER_CALL = 5.0

T = TypeVar("T")


def budget(default: int) -> settings:
    return settings(
        max_examples=EXAMPLES or default,
        deadline=timedelta(seconds=2),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# --- tokens -------------------------------------------------------------------------------------------

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NOW = int(time.time())
VALID = [fresh_ltik(user=f"u{index}") for index in range(4)]
EXPIRED = make_ltik(iat=NOW - 3 * 86400, exp=NOW - 2 * 86400)
TAMPERED = VALID[0][:-6] + "AAAAAA"  # parses locally: only LTIAAS could tell
LONGEST_DATE = 253402300799  # 9999-12-31T23:59:59Z


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=16,
)
time_claims = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
)
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["HS256", "RS256", "none", ""])},
    optional={
        "typ": st.sampled_from(["JWT", "at+jwt", ""]),
        "kid": json_values,
        "crit": st.lists(st.sampled_from(["b64", "exp", "x"]), max_size=2) | json_values,
        "b64": st.booleans(),
    },
)
payloads = st.builds(
    lambda extra, times: {**extra, **times},
    st.dictionaries(st.text(max_size=6), json_values, max_size=5),
    st.fixed_dictionaries({}, optional={"iat": time_claims, "exp": time_claims}),
)


def segment(value: Any) -> str:
    return b64url(json.dumps(value).encode())


structured_tokens = st.builds(
    lambda header, payload, signature: f"{segment(header)}.{segment(payload)}.{b64url(signature)}",
    headers | json_values,
    payloads | json_values,
    st.binary(min_size=1, max_size=64),
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A real token with a few characters inserted, deleted or replaced (from the alphabet and beyond)."""
    text = draw(st.sampled_from([*VALID, EXPIRED, TAMPERED]))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from([*B64URL, ".", "=", "+", "/", " ", "\n", "%", "é", "\x00"]))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            text = text[:at] + char + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + char + text[at + 1 :]
    return text


tokens = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=B64URL + ".=+/ \n", max_size=300),
    structured_tokens,
    mutated(),
    st.integers(MAX_LTIK_SIZE - 3, MAX_LTIK_SIZE + 3).map(lambda n: ("a" * (n - 4)) + ".b.c"),
)


def sane_time(value: object) -> bool:
    """What an accepted ``iat``/``exp`` may be: absent, or a finite number inside datetime's range."""
    return value is None or (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and -62135596800 <= value <= LONGEST_DATE
    )


@budget(600)
@given(raw=tokens)
def test_parse_ltik_is_total(raw: str) -> None:
    """Any string gives an ``Ltik`` or ``InvalidLtik``; an accepted one is a compact JWS within the cap,
    with a JSON object payload and sane time claims, and nothing shows the token."""
    try:
        ltik = parse_ltik(raw, check_expiry=False)
    except InvalidLtik as error:
        shown = f"{error} {error!r}".replace(error.code, "")  # the code is no token ("INVALID_LTIK")
        assert len(raw) < 12 or raw not in shown
        return
    assert is_compact_jws(raw)
    assert len(raw) <= MAX_LTIK_SIZE
    assert ltik.raw == raw
    assert isinstance(ltik.claims, Mapping)
    assert sane_time(ltik.claims.get("iat"))
    assert sane_time(ltik.claims.get("exp"))
    assert isinstance(ltik.expired(), bool)
    assert raw not in f"{ltik!r} {ltik}"
    if ltik.expired():  # the expiry check is the only difference
        with pytest.raises(InvalidLtik, match="expired"):
            parse_ltik(raw)
    else:
        assert parse_ltik(raw) == ltik


@budget(400)
@given(
    payload=st.dictionaries(
        st.text(max_size=8).filter(lambda key: key not in ("iat", "exp")),
        st.recursive(
            st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats(allow_nan=False) | st.text(),
            lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children),
            max_leaves=12,
        ),
        max_size=6,
    ),
    iat=st.none() | st.integers(0, 2**33),
    exp=st.none() | st.integers(0, 2**33),
    signature=st.binary(min_size=1, max_size=512),
)
def test_parse_ltik_accepts_every_wellformed_token(
    payload: dict[str, Any], iat: int | None, exp: int | None, signature: bytes
) -> None:
    """The other half: no well-formed ltik is refused, and its claims come back as sent (an over-eager
    guard would lock real users out)."""
    claims = {
        **payload,
        **({"iat": iat} if iat is not None else {}),
        **({"exp": exp} if exp is not None else {}),
    }
    raw = f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}.{b64url(signature)}"
    if len(raw) > MAX_LTIK_SIZE:
        with pytest.raises(InvalidLtik):
            parse_ltik(raw, check_expiry=False)
        return
    ltik = parse_ltik(raw, check_expiry=False)
    assert dict(ltik.claims) == claims
    expires = exp if exp is not None else (iat + 86400 if iat is not None else None)
    assert (ltik.expires_at.timestamp() if ltik.expires_at else None) == expires


# --- the finders --------------------------------------------------------------------------------------

candidates = st.one_of(
    st.sampled_from([*VALID, EXPIRED, TAMPERED, "", " ", "x.y.z"]),
    st.text(max_size=40),
    mutated(),
)
query_names = st.sampled_from(["ltik", "%6Ctik", "l%74ik", "%6c%74%69%6b", "LTIK", "ltik ", "lt+ik", "x", ""])


@st.composite
def queries(draw: st.DrawFn) -> str:
    """Query strings built from fields (names that decode to ``ltik`` or nearly), or raw text."""
    if draw(st.booleans()):
        return draw(st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=200))
    fields = draw(
        st.lists(
            st.tuples(query_names, candidates, st.sampled_from(["=", "", "=="]), st.booleans()),
            max_size=5,
        )
    )
    parts = []
    for name, value, equals, encode in fields:
        text = "".join(f"%{ord(c):02X}" if ord(c) < 0x80 else c for c in value) if encode else value
        parts.append(f"{name}{equals}{text}" if equals else name)
    # A server hands the app the URL's bytes decoded as latin-1: non-ASCII arrives as UTF-8 mojibake.
    return draw(st.sampled_from(["&", "&&", ";"])).join(parts).encode("utf-8").decode("latin-1")


@budget(500)
@given(query=queries())
def test_from_query_reads_what_parse_qsl_reads(query: str) -> None:
    """The middleware must read the same ``ltik`` values the app will: Starlette and werkzeug parse the
    query with ``parse_qsl``; any disagreement lets the app act on a token the middleware never checked."""
    expected = [value for name, value in parse_qsl(query, keep_blank_values=True) if name == "ltik" and value]
    assert from_query(query) == expected
    assert ltiks_in_query(query) == expected
    assert from_form(query.encode("latin-1")) == expected


@budget(500)
@given(
    value=st.one_of(st.text(max_size=120), candidates.map(lambda c: f"Bearer {c}")),
    scheme=st.text(max_size=3),
)
def test_from_authorization_is_total(value: str, scheme: str) -> None:
    for header in (
        value,
        f"{scheme}{value}",
        f"LTIK-AUTH-V1 Token={value}, Additional=Bearer k",
        value.swapcase(),
    ):
        try:
            found = from_authorization(header)
        except AmbiguousLtik:
            continue
        assert found is None or (isinstance(found, str) and found != "")


@budget(300)
@given(
    token=st.text(alphabet=B64URL + ".", min_size=1, max_size=80), spaces=st.sampled_from([" ", "  ", " \t "])
)
def test_bearer_and_v1_give_back_the_token(token: str, spaces: str) -> None:
    assert from_authorization(f"bearer{spaces}{token}") == token
    assert from_authorization(f"LtIk-AuTh-V1 TOKEN={token}, Additional=Bearer key") == token
    assert from_authorization(f'LTIK-AUTH-V1 Token="{token}"') == token


@budget(500)
@given(
    body=st.one_of(
        st.binary(max_size=200), st.builds(lambda v: json.dumps({"ltik": v}).encode(), json_values)
    )
)
def test_from_json_agrees_with_json(body: bytes) -> None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        value = None
    ltik = value.get("ltik") if isinstance(value, dict) else None
    assert from_json(body) == (ltik if isinstance(ltik, str) and ltik else None)


@budget(400)
@given(
    authorization=st.lists(
        st.one_of(candidates.map(lambda c: f"Bearer {c}"), st.text(max_size=30)), max_size=3
    ),
    query=st.lists(candidates.filter(bool), max_size=3),
    header=st.lists(st.lists(candidates, max_size=3).map(",".join), max_size=2),
    body=st.one_of(st.none(), st.builds(lambda c: json.dumps({"ltik": c}).encode(), candidates)),
)
def test_find_ltik_returns_the_one_token_or_refuses(
    authorization: list[str], query: list[str], header: list[str], body: bytes | None
) -> None:
    """Whatever ``find_ltik`` returns, every source agrees with it; it returns None only when no source
    holds a token; and the order of the sources never matters."""
    try:
        found = find_ltik(authorization, query, header, body, "json")
    except AmbiguousLtik:
        return
    every: list[str | None] = [*query, *(t for v in header for t in from_header(v))]
    for value in authorization:
        every.append(from_authorization(value))
    if body is not None:
        every.append(from_json(body))
    present = [value for value in every if value]
    assert set(present) == ({found} if found else set())
    assert (
        find_ltik(list(reversed(authorization)), list(reversed(query)), list(reversed(header)), body, "json")
        == found
    )


@budget(200)
@given(
    content_type=st.one_of(
        st.text(max_size=60),
        st.sampled_from(["application/JSON; charset=x", " application/x-www-form-urlencoded "]),
    )
)
def test_body_source_is_total(content_type: str) -> None:
    assert body_source(content_type, ("form", "json")) in (None, "form", "json")


# --- the whole middlewares ----------------------------------------------------------------------------

SOURCES = ("authorization", "query", "header", "form", "json")
EXEMPT = ("/health", "/static/*")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    authorization: tuple[str, ...]
    x_ltik: tuple[str, ...]
    content_type: str
    content_length: str | None
    body: bytes
    terminated: bool

    def haystack(self) -> str:
        """Everything in the request a token could come from, decoded the ways the finders decode."""
        body = self.body.decode("latin-1")
        parts = [
            self.query,
            unquote_plus(self.query),
            *self.authorization,
            *self.x_ltik,
            body,
            unquote_plus(body),
        ]
        with contextlib.suppress(ValueError, RecursionError):
            parts.append(json.dumps(json.loads(self.body), ensure_ascii=False))
        return "\n".join(parts)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    ltik = draw(candidates)
    kind = draw(st.sampled_from(["json", "form", "other", "none"]))
    if kind == "json":
        body = draw(
            st.one_of(
                st.builds(lambda c: json.dumps({"ltik": c}).encode(), candidates), st.binary(max_size=120)
            )
        )
        content_type = draw(st.sampled_from(["application/json", "Application/Json; charset=utf-8"]))
    elif kind == "form":
        body = draw(queries()).encode("latin-1")
        content_type = "application/x-www-form-urlencoded"
    else:
        body = draw(st.binary(max_size=80)) if kind == "other" else b""
        content_type = draw(
            st.sampled_from(["", "text/plain", "multipart/form-data; boundary=x"]) | st.text(max_size=20)
        )
    length = draw(
        st.one_of(
            st.just(str(len(body))),
            st.none(),
            st.integers(-5, 300).map(str),
            st.sampled_from(["", "abc", " 3", "+2", "1e3", "٣"]),
        )
    )
    return Request(
        method=draw(
            st.sampled_from(["GET", "POST", "PUT", "OPTIONS", "HEAD", "DELETE", ""]) | st.text(max_size=8)
        ),
        path=draw(st.sampled_from(["/", "/health", "/static/a.css", "/api/x", ""]) | st.text(max_size=20)),
        query=draw(queries()),
        authorization=tuple(
            draw(
                st.lists(
                    st.one_of(
                        st.just(f"Bearer {ltik}"),
                        st.just(f"LTIK-AUTH-V1 Token={ltik}, Additional=Bearer key"),
                        candidates.map(lambda c: f"bearer {c}"),
                        st.text(max_size=40),
                    ),
                    max_size=2,
                )
            )
        ),
        x_ltik=tuple(draw(st.lists(st.one_of(st.just(ltik), candidates), max_size=2))),
        content_type=content_type,
        content_length=length,
        body=body,
        terminated=draw(st.booleans()),
    )


def gates() -> Iterable[dict[str, Any]]:
    """The middleware options the fuzzer runs under: default, every source with a tiny body cap, optional."""
    yield {"prefetch_idtoken": False}  # the ltiks are minted locally, with no LTIAAS to confirm them
    yield {"sources": SOURCES, "max_body_size": 48, "exempt": EXEMPT, "prefetch_idtoken": False}
    yield {
        "sources": SOURCES,
        "require": False,
        "referrer_policy": "same-origin, strict-origin",
        "prefetch_idtoken": False,
    }


# One worker thread, reused for every example as a server reuses its threads: a credential left behind by
# one request would show in the next.
_WORKER = ThreadPoolExecutor(1, thread_name_prefix="fuzz-worker")


def in_worker(call: Callable[[], T]) -> T:
    future = _WORKER.submit(call)
    try:
        return future.result(timeout=PER_CALL)
    except FutureTimeout:  # pragma: no cover - only on a hang
        pytest.fail(f"the middleware did not answer within {PER_CALL} s")


def read_wsgi_body(environ: dict[str, Any]) -> bytes:
    """How an app reads its body: ``CONTENT_LENGTH`` bytes, or all of it when the server marks the end."""
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        length = -1
    if length >= 0:
        return bytes(stream.read(length))
    return bytes(stream.read()) if environ.get("wsgi.input_terminated") else b""


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    try:
        raw: str | None = current_launch().ltik.raw
    except NoLaunchContext:
        raw = None
    key = environ.get("ltiaas_auth.launch")
    assert (key.ltik.raw if key is not None else None) == raw
    payload = json.dumps({"ltik": raw, "body": read_wsgi_body(environ).decode("latin-1")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [payload]


def environ_for(request: Request) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": request.terminated,
        "CONTENT_TYPE": request.content_type,
    }
    if request.content_length is not None:
        environ["CONTENT_LENGTH"] = request.content_length
    if request.authorization:
        environ["HTTP_AUTHORIZATION"] = ", ".join(request.authorization)  # as servers join repeated headers
    if request.x_ltik:
        environ["HTTP_X_LTIK"] = ",".join(request.x_ltik)
    return environ


def run_wsgi(
    app: Callable[..., Iterable[bytes]], environ: dict[str, Any]
) -> tuple[int, dict[str, str], bytes]:
    """Call as a server does, on the worker thread; and check the credential is reset once closed."""

    def call() -> tuple[int, dict[str, str], bytes]:
        assert credential_var.get() is None, "a credential leaked from the previous request"
        answer = call_wsgi(app, environ)
        assert credential_var.get() is None, "the credential outlived its response"
        return answer

    return in_worker(call)


WSGI_APPS = [LtiaasMiddleware(wsgi_app, CONFIG, **options) for options in gates()]


def check_answer(
    request: Request, status: int, headers: Mapping[str, str], body: bytes, sees: str | None
) -> None:
    assert status in (200, 400, 401), (status, body[:300])
    if status != 200:
        error = json.loads(body)
        assert error["status"] == status
        assert set(error) == {"status", "error", "details"}
        assert headers["cache-control"] == "no-store"
        assert "set-cookie" not in headers
        for value in (*request.authorization, *request.x_ltik, unquote_plus(request.query)):
            for piece in re.split(r'[\s,=&;"]+', value):
                if len(piece) >= 16 and "." in piece:
                    assert piece.encode("utf-8", "replace") not in body, "a rejection echoed the token"
    elif sees is not None:
        assert is_compact_jws(sees)
        assert sees in request.haystack(), "the app saw a token the request did not carry"


@budget(500)
@given(request=requests(), which=st.sampled_from(range(len(WSGI_APPS))))
def test_wsgi_middleware_under_random_requests(request: Request, which: int) -> None:
    """Never a 5xx; rejections in LTIAAS's shape without the token; the app reads exactly the body it
    would read without the middleware; the URL-borne ltik always gets its ``Referrer-Policy``."""
    app = WSGI_APPS[which]
    status, headers, body = run_wsgi(app, environ_for(request))
    seen = json.loads(body) if status == 200 else {}
    check_answer(request, status, headers, body, seen.get("ltik"))
    # OPTIONS is gated like GET: these requests carry no CORS preflight headers.
    passes = which == 1 and request.path.startswith(("/health", "/static/"))
    if status == 200:
        alone = json.loads(run_wsgi(wsgi_app, environ_for(request))[2])
        assert seen["body"] == alone["body"], "the body did not reach the app byte for byte"
        if passes:
            assert seen["ltik"] is None
    if ltiks_in_query(request.query) and not passes:
        assert "referrer-policy" in headers


def asgi_app_factory() -> Callable[[Scope, Callable[[], Any], Callable[[Message], Any]], Any]:
    async def app(scope: Scope, receive: Callable[[], Any], send: Callable[[Message], Any]) -> None:
        try:
            raw: str | None = current_launch().ltik.raw
        except NoLaunchContext:
            raw = None
        key = scope.get("ltiaas_auth.launch")
        assert (key.ltik.raw if key is not None else None) == raw
        body = await read_body(receive)
        payload = json.dumps({"ltik": raw, "body": body.decode("latin-1")}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


ASGI_APPS = [LtiaasASGIMiddleware(asgi_app_factory(), config=CONFIG, **options) for options in gates()]


def scope_for(request: Request) -> Scope:
    raw_headers = [(b"host", b"testserver")]
    raw_headers += [(b"authorization", value.encode("latin-1", "replace")) for value in request.authorization]
    raw_headers += [(b"x-ltik", value.encode("latin-1", "replace")) for value in request.x_ltik]
    if request.content_type:
        raw_headers.append((b"content-type", request.content_type.encode("latin-1", "replace")))
    if request.content_length is not None:
        raw_headers.append((b"content-length", request.content_length.encode("latin-1", "replace")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode("utf-8", "replace"),
        "query_string": request.query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


def run_asgi(app: Any, scope: Scope, chunks: list[bytes]) -> tuple[int, dict[str, str], bytes]:
    """Call as a server does, bounded in time; and check the credential is reset afterwards."""

    async def call() -> tuple[int, dict[str, str], bytes]:
        assert credential_var.get() is None
        response = await asyncio.wait_for(call_asgi(app, scope, chunks), PER_CALL)
        assert credential_var.get() is None
        return response.status, response.headers, response.body

    return asyncio.run(call())


@budget(400)
@given(request=requests(), which=st.sampled_from(range(len(ASGI_APPS))), cut=st.integers(0, 4))
def test_asgi_middleware_under_random_requests(request: Request, which: int, cut: int) -> None:
    """The same properties through the ASGI middleware, the body cut into several messages, repeated
    headers kept apart as ASGI servers keep them."""
    size = max(1, len(request.body) // (cut + 1))
    chunks = [request.body[i : i + size] for i in range(0, len(request.body), size)] or [b""]
    status, headers, body = run_asgi(ASGI_APPS[which], scope_for(request), chunks)
    seen = json.loads(body) if status == 200 else {}
    check_answer(request, status, headers, body, seen.get("ltik"))
    # OPTIONS is gated like GET: these requests carry no CORS preflight headers.
    passes = which == 1 and request.path.startswith(("/health", "/static/"))
    if status == 200:
        assert seen["body"].encode("latin-1") == request.body, "the body did not reach the app byte for byte"
        if passes:
            assert seen["ltik"] is None
    if ltiks_in_query(request.query.encode("latin-1", "replace").decode("latin-1")) and not passes:
        assert "referrer-policy" in headers
