"""Where the ltik is found: the pure finders, then the same rules end to end through both middlewares."""

from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from helpers import API_KEY, CONFIG, asgi_probe, asgi_scope, call_asgi, call_wsgi, wsgi_environ, wsgi_probe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ltik_factory import fresh_ltik, make_ltik
from urllib3 import encode_multipart_formdata

from ltiaas_auth import AmbiguousLtik, LtiaasASGIMiddleware, LtiaasMiddleware, auth_header, ltik_authorization
from ltiaas_auth.extract import (
    body_source,
    find_ltik,
    from_authorization,
    from_form,
    from_header,
    from_json,
    from_multipart,
    from_query,
    ltiks_in_query,
)

A = fresh_ltik(user="a")
B = fresh_ltik(user="b")
NOW = int(time.time())
EXPIRED = make_ltik(iat=NOW - 3 * 86400, exp=NOW - 2 * 86400)
NO_EXP_OLD = make_ltik(iat=NOW - 2 * 86400)  # iat + 24 h max age: expired
NO_TIMES = make_ltik()  # no iat, no exp: never expired locally
NOT_JSON = "bm90anNvbg.bm90anNvbg.c2ln"  # base64url of "notjson"
OVERSIZED = "a" * 4096 + "." + "b" * 4096 + ".c"  # JWS-shaped, 8195 characters


# --- the pure finders ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(f"Bearer {A}", A, id="bearer"),
        pytest.param(f"bearer {A}", A, id="bearer-lower"),
        pytest.param(f"BEARER {A}", A, id="bearer-upper"),
        pytest.param(f"Bearer   {A}  ", A, id="bearer-extra-spaces"),
        pytest.param("Bearer", None, id="bearer-no-credentials"),
        pytest.param("Bearer ", None, id="bearer-empty"),
        pytest.param(f"LTIK-AUTH-V1 Token={A}, Additional=Bearer {API_KEY}", A, id="v1"),
        pytest.param(f"ltik-auth-v1 token={A}", A, id="v1-lower"),
        pytest.param(f'LTIK-AUTH-V1 Token="{A}"', A, id="v1-quoted"),
        pytest.param(f"LTIK-AUTH-V1 Additional=x, TOKEN={A}", A, id="v1-token-second"),
        pytest.param(f"LTIK-AUTH-V1 Token={A}, Token={A}", A, id="v1-same-twice"),
        pytest.param("LTIK-AUTH-V1 Token=", None, id="v1-empty-token"),
        pytest.param("LTIK-AUTH-V1 Additional=Bearer x", None, id="v1-no-token"),
        pytest.param(f"Basic {A}", None, id="basic-ignored"),
        pytest.param(f"LTIK-AUTH-V2 {API_KEY}:{A}", None, id="v2-ignored"),
        pytest.param(f"Digest token={A}", None, id="digest-ignored"),
        pytest.param(A, None, id="no-scheme"),
        pytest.param("", None, id="empty"),
        pytest.param("Bearer not-a-jws", "not-a-jws", id="bearer-garbage-is-a-candidate"),
    ],
)
def test_from_authorization(value: str, expected: str | None) -> None:
    assert from_authorization(value) == expected


def test_from_authorization_two_tokens_is_ambiguous() -> None:
    with pytest.raises(AmbiguousLtik):
        from_authorization(f"LTIK-AUTH-V1 Token={A}, Token={B}")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(f"ltik={A}", [A], id="plain"),
        pytest.param(f"a=1&ltik={A}&b=2", [A], id="among-others"),
        pytest.param(f"ltik={quote(A, safe='')}", [A], id="percent-encoded-value"),
        pytest.param("ltik=%41+%42", ["A B"], id="plus-is-space"),
        pytest.param(f"%6Ctik={A}", [A], id="percent-encoded-name"),
        pytest.param(f"ltik={A}&ltik={B}", [A, B], id="repeated-both-count"),
        pytest.param(f"LTIK={A}", [], id="name-is-case-sensitive"),
        pytest.param(f"xltik={A}&ltikx={A}", [], id="other-names"),
        pytest.param("ltik=", [], id="empty-value"),
        pytest.param("ltik", [], id="no-value"),
        pytest.param("ltik=&ltik=", [], id="empty-repeated"),
        pytest.param(f"ltik={A};x=1", [f"{A};x=1"], id="semicolon-is-not-a-separator"),
        pytest.param("", [], id="empty-query"),
    ],
)
def test_from_query(query: str, expected: list[str]) -> None:
    assert from_query(query) == expected
    assert ltiks_in_query(query) == expected


def test_ltiks_in_query_skips_strings_without_a_candidate() -> None:
    assert ltiks_in_query("page=2&sort=name") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(A, [A], id="one"),
        pytest.param(f" {A} ", [A], id="padded"),
        pytest.param(f"{A},{B}", [A, B], id="joined-repeats"),
        pytest.param(f"{A}, ,", [A], id="empty-items"),
        pytest.param("", [], id="empty"),
    ],
)
def test_from_header(value: str, expected: list[str]) -> None:
    assert from_header(value) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(json.dumps({"ltik": A}).encode(), A, id="object"),
        pytest.param(json.dumps({"ltik": A, "x": [1, {"ltik": B}]}).encode(), A, id="top-level-only"),
        pytest.param(json.dumps({"data": {"ltik": A}}).encode(), None, id="nested-ignored"),
        pytest.param(json.dumps({"ltik": 5}).encode(), None, id="not-a-string"),
        pytest.param(json.dumps({"ltik": ""}).encode(), None, id="empty-string"),
        pytest.param(json.dumps([A]).encode(), None, id="array"),
        pytest.param(b"{not json", None, id="invalid-json"),
        pytest.param(b"\xff\xfe\x00", None, id="invalid-encoding"),
        pytest.param(b"[" * 100_000, None, id="deeply-nested"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_from_json(body: bytes, expected: str | None) -> None:
    assert from_json(body) == expected


def test_from_form() -> None:
    assert from_form(f"a=1&ltik={quote(A)}".encode()) == [A]
    assert from_form(b"ltik=&b=2") == []


@pytest.mark.parametrize(
    ("content_type", "sources", "expected"),
    [
        pytest.param("application/x-www-form-urlencoded", ("form",), "form", id="form"),
        pytest.param("Application/X-WWW-Form-Urlencoded; charset=utf-8", ("form",), "form", id="form-params"),
        pytest.param("application/json", ("json",), "json", id="json"),
        pytest.param("application/json; charset=utf-8", ("json", "form"), "json", id="json-params"),
        pytest.param("application/json", ("form",), None, id="json-not-enabled"),
        pytest.param("multipart/form-data; boundary=x", ("form", "json"), "multipart:x", id="multipart"),
        pytest.param(
            'Multipart/Form-Data; boundary="a b"', ("form",), "multipart:a b", id="multipart-quoted"
        ),
        pytest.param("multipart/form-data; boundary=x", ("json",), None, id="multipart-not-enabled"),
        pytest.param("multipart/form-data", ("form",), None, id="multipart-no-boundary"),
        pytest.param(
            "multipart/form-data; boundary=" + "b" * 71, ("form",), None, id="multipart-long-boundary"
        ),
        pytest.param("", ("form", "json"), None, id="none"),
    ],
)
def test_body_source(content_type: str, sources: tuple[str, ...], expected: str | None) -> None:
    assert body_source(content_type, sources) == expected


def test_find_ltik_agreement() -> None:
    assert find_ltik([f"Bearer {A}"], [A], [A], json.dumps({"ltik": A}).encode(), "json") == A
    assert find_ltik([], [], []) is None
    for conflict in (
        ([f"Bearer {A}"], [B], []),
        ([f"Bearer {A}"], [], [B]),
        ([], [A], [B]),
        ([], [A, B], []),
        ([f"Bearer {A}", f"Bearer {B}"], [], []),
    ):
        with pytest.raises(AmbiguousLtik):
            find_ltik(*conflict)
    with pytest.raises(AmbiguousLtik):
        find_ltik([f"Bearer {A}"], [], [], f"ltik={B}".encode(), "form")


# --- the same rules through both middlewares -----------------------------------------------------------


@dataclass
class Request:
    headers: list[tuple[str, str]] = field(default_factory=list)
    query: str = ""
    body: bytes = b""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(adapter: str, request: Request, path: str = "/", chunks: list[bytes] | None = None) -> Result:
    # Extraction alone: CONFIG has no LTIAAS behind it to confirm the launch.
    options = {"prefetch_idtoken": False, **request.options}
    if adapter == "wsgi":
        environ = wsgi_environ(
            path, method="POST" if request.body else "GET", query=request.query, body=request.body
        )
        for name, value in request.headers:
            key = name.upper().replace("-", "_")
            key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value  # as servers join repeats
        status, headers, body = call_wsgi(LtiaasMiddleware(wsgi_probe, CONFIG, **options), environ)
        return Result(status, headers, body)
    raw_headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in request.headers
    ]
    if request.body:
        raw_headers.append((b"content-length", str(len(request.body)).encode()))
    scope = asgi_scope(
        path,
        method="POST" if request.body else "GET",
        headers=raw_headers,
        query=request.query.encode("latin-1"),
    )
    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, **options)
    response = asyncio.run(call_asgi(app, scope, chunks or [request.body]))
    return Result(response.status, response.headers, response.body)


FORM = ("authorization", "query", "header", "form")
JSON = ("authorization", "query", "header", "json")
FORM_TYPE = ("Content-Type", "application/x-www-form-urlencoded")
JSON_TYPE = ("Content-Type", "application/json")


def multipart(fields: Any, *, sources: tuple[str, ...] = FORM, max_body_size: int = 65536) -> Request:
    """A ``multipart/form-data`` request as a browser sends one (urllib3's encoder)."""
    body, content_type = encode_multipart_formdata(fields)
    return Request(
        [("Content-Type", content_type)],
        body=body,
        options={"sources": sources, "max_body_size": max_body_size},
    )


CASES = [
    # authorization
    pytest.param(Request([("Authorization", f"Bearer {A}")]), A, id="bearer"),
    pytest.param(Request([("Authorization", f"bearer {A}")]), A, id="bearer-lower"),
    pytest.param(Request([("Authorization", f"BEARER {A}")]), A, id="bearer-upper"),
    pytest.param(Request([("Authorization", f"LTIK-AUTH-V1 Token={A}, Additional=Bearer k")]), A, id="v1"),
    pytest.param(Request([("Authorization", f"ltik-auth-v1 token={A}")]), A, id="v1-lower"),
    pytest.param(Request([("Authorization", f"Basic {A}")]), "MISSING_LTIK", id="basic-ignored"),
    pytest.param(Request([("Authorization", "Bearer ")]), "MISSING_LTIK", id="bearer-empty"),
    pytest.param(
        Request([("Authorization", f"LTIK-AUTH-V1 Token={A}, Token={B}")]),
        "AMBIGUOUS_LTIK",
        id="v1-two-tokens",
    ),
    # query
    pytest.param(Request(query=f"ltik={A}"), A, id="query"),
    pytest.param(Request(query=f"x=1&ltik={quote(A, safe='')}"), A, id="query-percent-encoded"),
    pytest.param(Request(query=f"%6Ctik={A}"), A, id="query-encoded-name"),
    pytest.param(Request(query=f"ltik={A}&ltik={A}"), A, id="query-repeated-same"),
    pytest.param(Request(query=f"ltik={A}&ltik={B}"), "AMBIGUOUS_LTIK", id="query-repeated-different"),
    pytest.param(Request(query="ltik="), "MISSING_LTIK", id="query-empty"),
    pytest.param(Request(query="ltik"), "MISSING_LTIK", id="query-no-value"),
    pytest.param(Request(query=f"ltik={A}+"), "INVALID_LTIK", id="query-trailing-plus"),
    # header
    pytest.param(Request([("X-Ltik", A)]), A, id="header"),
    pytest.param(Request([("X-Ltik", A), ("X-Ltik", A)]), A, id="header-repeated-same"),
    pytest.param(Request([("X-Ltik", A), ("X-Ltik", B)]), "AMBIGUOUS_LTIK", id="header-repeated-different"),
    pytest.param(Request([("X-Ltik", f"{A}, {B}")]), "AMBIGUOUS_LTIK", id="header-joined-different"),
    pytest.param(Request([("X-Ltik", "")]), "MISSING_LTIK", id="header-empty"),
    # across sources
    pytest.param(
        Request([("Authorization", f"Bearer {A}"), ("X-Ltik", A)], query=f"ltik={A}"), A, id="all-agree"
    ),
    pytest.param(
        Request([("Authorization", f"Bearer {A}")], query=f"ltik={B}"), "AMBIGUOUS_LTIK", id="bearer-vs-query"
    ),
    pytest.param(
        Request([("Authorization", f"Bearer {A}"), ("X-Ltik", B)]), "AMBIGUOUS_LTIK", id="bearer-vs-header"
    ),
    pytest.param(Request([("X-Ltik", B)], query=f"ltik={A}"), "AMBIGUOUS_LTIK", id="query-vs-header"),
    pytest.param(Request([("Authorization", f"Basic {B}"), ("X-Ltik", A)]), A, id="other-scheme-no-conflict"),
    pytest.param(Request(query="ltik=", headers=[("X-Ltik", A)]), A, id="empty-query-no-conflict"),
    # which sources are read
    pytest.param(
        Request([("Authorization", f"Bearer {B}"), ("X-Ltik", A)], options={"sources": ("header",)}),
        A,
        id="only-header-read",
    ),
    pytest.param(
        Request([("Authorization", f"Bearer {A}")], options={"sources": ("query", "header")}),
        "MISSING_LTIK",
        id="authorization-not-read",
    ),
    pytest.param(
        Request(
            query=f"ltik={B}",
            headers=[("Authorization", f"Bearer {A}")],
            options={"sources": ("authorization",)},
        ),
        A,
        id="query-not-read",
    ),
    pytest.param(
        Request(
            [("Authorization", f"Bearer {A}")], options={"sources": ("header", "query", "authorization")}
        ),
        A,
        id="any-order",
    ),
    # malformed, oversized, expired
    pytest.param(Request([("Authorization", "Bearer not-a-jws")]), "INVALID_LTIK", id="not-a-jws"),
    pytest.param(Request([("Authorization", "Bearer a.b")]), "INVALID_LTIK", id="two-parts"),
    pytest.param(Request([("Authorization", f"Bearer {NOT_JSON}")]), "INVALID_LTIK", id="payload-not-json"),
    pytest.param(Request([("Authorization", f"Bearer {A}\u00e9")]), "INVALID_LTIK", id="non-ascii"),
    pytest.param(Request([("Authorization", f"Bearer {OVERSIZED}")]), "INVALID_LTIK", id="oversized-bearer"),
    pytest.param(Request(query="ltik=" + "a" * 9000), "INVALID_LTIK", id="oversized-query"),
    pytest.param(Request([("X-Ltik", "x" * 20000)]), "INVALID_LTIK", id="oversized-header"),
    pytest.param(Request([("Authorization", f"Bearer {EXPIRED}")]), "LTIK_EXPIRED", id="expired"),
    pytest.param(Request(query=f"ltik={NO_EXP_OLD}"), "LTIK_EXPIRED", id="expired-by-max-age"),
    pytest.param(Request([("X-Ltik", NO_TIMES)]), NO_TIMES, id="no-time-claims"),
    # bodies
    pytest.param(
        Request([FORM_TYPE], body=f"ltik={A}&x=1".encode(), options={"sources": FORM}), A, id="form"
    ),
    pytest.param(
        Request(
            [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body=f"ltik={A}".encode(),
            options={"sources": FORM},
        ),
        A,
        id="form-charset",
    ),
    pytest.param(Request([FORM_TYPE], body=f"ltik={A}".encode()), "MISSING_LTIK", id="form-not-enabled"),
    pytest.param(
        Request([FORM_TYPE], body=f"ltik={A}&ltik={B}".encode(), options={"sources": FORM}),
        "AMBIGUOUS_LTIK",
        id="form-repeated-different",
    ),
    pytest.param(
        Request(
            [FORM_TYPE, ("Authorization", f"Bearer {B}")],
            body=f"ltik={A}".encode(),
            options={"sources": FORM},
        ),
        "AMBIGUOUS_LTIK",
        id="form-vs-bearer",
    ),
    pytest.param(
        Request(
            [FORM_TYPE],
            body=f"ltik={A}".encode() + b"&pad=" + b"x" * 200,
            options={"sources": FORM, "max_body_size": 100},
        ),
        "MISSING_LTIK",
        id="form-over-size",
    ),
    pytest.param(multipart({"x": "1", "ltik": A}), A, id="multipart"),
    pytest.param(
        multipart({"ltik": A, "upload": ("a.txt", f"ltik={B}\r\n".encode(), "text/plain")}),
        A,
        id="multipart-file-content-not-read",
    ),
    pytest.param(
        multipart({"upload": ("ltik", A.encode(), "text/plain")}),
        "MISSING_LTIK",
        id="multipart-file-named-ltik",
    ),
    pytest.param(multipart([("ltik", A), ("ltik", A)]), A, id="multipart-repeated-same"),
    pytest.param(multipart([("ltik", A), ("ltik", B)]), "AMBIGUOUS_LTIK", id="multipart-repeated-different"),
    pytest.param(multipart({"ltik": A}, sources=JSON), "MISSING_LTIK", id="multipart-not-enabled"),
    pytest.param(
        multipart({"ltik": A, "pad": "x" * 200}, max_body_size=100), "MISSING_LTIK", id="multipart-over-size"
    ),
    pytest.param(
        Request(
            [("Content-Type", "multipart/form-data; boundary=zz")],
            body=b"--zz\r\nnot a part",
            options={"sources": FORM},
        ),
        "MISSING_LTIK",
        id="multipart-malformed",
    ),
    pytest.param(
        Request([JSON_TYPE], body=json.dumps({"ltik": A, "n": 1}).encode(), options={"sources": JSON}),
        A,
        id="json",
    ),
    pytest.param(
        Request(
            [("Content-Type", "application/json; charset=utf-8")],
            body=json.dumps({"ltik": A}).encode(),
            options={"sources": JSON},
        ),
        A,
        id="json-charset",
    ),
    pytest.param(
        Request([JSON_TYPE], body=json.dumps({"ltik": A}).encode()), "MISSING_LTIK", id="json-not-enabled"
    ),
    pytest.param(
        Request([JSON_TYPE], body=b'{"ltik": 12}', options={"sources": JSON}),
        "MISSING_LTIK",
        id="json-not-string",
    ),
    pytest.param(
        Request([JSON_TYPE], body=b'{"ltik": "' + A.encode(), options={"sources": JSON}),
        "MISSING_LTIK",
        id="json-invalid",
    ),
    pytest.param(
        Request(
            [JSON_TYPE],
            body=json.dumps({"ltik": A, "pad": "x" * 200}).encode(),
            options={"sources": JSON, "max_body_size": 100},
        ),
        "MISSING_LTIK",
        id="json-over-size",
    ),
    pytest.param(
        Request(
            [JSON_TYPE, ("X-Ltik", A)],
            body=json.dumps({"ltik": A, "pad": "x" * 200}).encode(),
            options={"sources": JSON, "max_body_size": 100},
        ),
        A,
        id="json-over-size-header-used",
    ),
    pytest.param(
        Request([FORM_TYPE, ("Authorization", f"Bearer {A}")], body=b"x=1", options={"sources": FORM}),
        A,
        id="form-without-ltik",
    ),
    pytest.param(
        Request(
            [("Content-Type", "text/plain"), ("Authorization", f"Bearer {A}")],
            body=f"ltik={B}".encode(),
            options={"sources": ("authorization", "form", "json")},
        ),
        A,
        id="other-media-type-not-read",
    ),
]

EXPECTED_STATUS = {"MISSING_LTIK": 401, "INVALID_LTIK": 401, "LTIK_EXPIRED": 401, "AMBIGUOUS_LTIK": 400}


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
@pytest.mark.parametrize(("request_", "expected"), CASES)
def test_sources(adapter: str, request_: Request, expected: str) -> None:
    result = send(adapter, request_)
    if expected in EXPECTED_STATUS:
        assert result.status == EXPECTED_STATUS[expected], result.body
        assert result.json()["details"]["message"] == expected
        for token in (A, B, EXPIRED, NO_EXP_OLD):
            assert token not in result.body.decode("latin-1")
        return
    assert result.status == 200, result.body
    seen = result.json()
    assert seen["auth"] == ltik_authorization(API_KEY, expected)
    assert seen["body"] == request_.body.decode("latin-1")  # the app still reads the whole body


BODY = json.dumps({"ltik": A, "data": "é" * 50}).encode()


@pytest.mark.parametrize(
    ("chunks", "limit", "expected"),
    [
        pytest.param([BODY], 65536, A, id="one-message"),
        pytest.param([BODY[:7], BODY[7:40], b"", BODY[40:]], 65536, A, id="several-messages"),
        pytest.param([BODY[:7], BODY[7:40], BODY[40:]], 50, None, id="over-size-mid-stream"),
        pytest.param([BODY[:7], BODY[7:]], len(BODY), A, id="exactly-the-limit"),
    ],
)
def test_asgi_body_is_replayed_byte_for_byte(chunks: list[bytes], limit: int, expected: str | None) -> None:
    app = LtiaasASGIMiddleware(
        asgi_probe,
        config=CONFIG,
        prefetch_idtoken=False,
        sources=("json",),
        max_body_size=limit,
        require=False,
    )
    # No content-length: a chunked request, so the size is only known by reading.
    scope = asgi_scope(method="POST", headers=[(b"content-type", b"application/json")])
    response = asyncio.run(call_asgi(app, scope, chunks))
    assert response.status == 200
    seen = response.json()
    assert seen["body"].encode("latin-1") == BODY
    assert seen["auth"] == (ltik_authorization(API_KEY, expected) if expected else None)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [pytest.param(65536, A, id="read"), pytest.param(50, None, id="over-size")],
)
@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_wsgi_chunked_body_is_replayed_byte_for_byte(limit: int, expected: str | None, chunk: int) -> None:
    class Trickle:
        """A server stream that returns at most ``chunk`` bytes per read, ending at EOF."""

        def __init__(self, data: bytes) -> None:
            self.data = data

        def read(self, size: int = -1) -> bytes:
            size = len(self.data) if size is None or size < 0 else min(size, chunk)
            out, self.data = self.data[:size], self.data[size:]
            return out

        def readline(self, size: int = -1) -> bytes:
            end = self.data.find(b"\n") + 1 or len(self.data)
            end = end if size is None or size < 0 else min(end, size)
            out, self.data = self.data[:end], self.data[end:]
            return out

    environ = wsgi_environ(method="POST", headers={"Content-Type": "application/json"})
    environ["wsgi.input"] = Trickle(BODY)
    environ["wsgi.input_terminated"] = True
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    app = LtiaasMiddleware(
        wsgi_probe, CONFIG, prefetch_idtoken=False, sources=("json",), max_body_size=limit, require=False
    )
    status, _, body = call_wsgi(app, environ)
    assert status == 200
    seen = json.loads(body)
    assert seen["body"].encode("latin-1") == BODY
    assert seen["auth"] == (ltik_authorization(API_KEY, expected) if expected else None)
    if expected:
        assert environ["CONTENT_LENGTH"] == str(len(BODY))  # a fully read chunked body gets its length


def test_wsgi_over_size_stream_reads_like_the_original() -> None:
    """Line by line, by size, and to the end: the stream left for the app behaves like the server's."""
    data = b"line one\nline two\n" + b"x" * 300 + b"\nlast"
    lines: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        stream = environ["wsgi.input"]
        lines.append(stream.read(3))
        lines.append(stream.readline())
        lines.append(stream.readline(4))
        lines.extend(stream.readlines())
        lines.append(stream.read())
        start_response("204 No Content", [])
        return []

    environ = wsgi_environ(method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    environ["wsgi.input"] = io.BytesIO(data)
    environ["wsgi.input_terminated"] = True
    call_wsgi(
        LtiaasMiddleware(
            app, CONFIG, prefetch_idtoken=False, sources=("form",), max_body_size=10, require=False
        ),
        environ,
    )
    assert lines[:3] == [b"lin", b"e one\n", b"line"]
    assert b"".join(lines) == data


def test_wsgi_body_shorter_than_announced() -> None:
    environ = wsgi_environ(method="POST", headers={"Content-Type": "application/json"}, body=BODY)
    environ["CONTENT_LENGTH"] = str(len(BODY) + 10)
    status, _, body = call_wsgi(
        LtiaasMiddleware(wsgi_probe, CONFIG, prefetch_idtoken=False, sources=("json",)), environ
    )
    assert status == 200
    assert environ["CONTENT_LENGTH"] == str(len(BODY))
    assert json.loads(body)["body"].encode("latin-1") == BODY


@pytest.mark.parametrize("length", ["abc", "-1", "999999999"])
def test_wsgi_unusable_content_length_is_not_read(length: str) -> None:
    environ = wsgi_environ(
        method="POST", headers={"Content-Type": "application/json", "X-Ltik": A}, body=BODY
    )
    stream = environ["wsgi.input"]
    environ["CONTENT_LENGTH"] = length

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [auth_header().encode()]

    status, _, body = call_wsgi(
        LtiaasMiddleware(app, CONFIG, prefetch_idtoken=False, sources=("json", "header")), environ
    )
    assert (status, body.decode()) == (200, ltik_authorization(API_KEY, A))
    assert environ["wsgi.input"] is stream  # untouched
    assert stream.tell() == 0


@pytest.mark.parametrize("length", [b"abc", b"70000"])
def test_asgi_unusable_content_length_is_not_read(length: bytes) -> None:
    scope = asgi_scope(
        method="POST",
        headers=[
            (b"content-type", b"application/json"),
            (b"content-length", length),
            (b"x-ltik", A.encode()),
        ],
    )
    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False, sources=("json", "header"))
    response = asyncio.run(call_asgi(app, scope, [BODY]))
    assert response.status == 200
    assert response.json()["body"].encode("latin-1") == BODY


# --- nothing a client sends gives a 5xx --------------------------------------------------------------

_values = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda raw: b"Bearer " + raw),
    st.binary(max_size=300).map(lambda raw: b"LTIK-AUTH-V1 Token=" + raw),
    st.sampled_from([A.encode(), B.encode(), EXPIRED.encode(), b"Bearer " + A.encode(), b"a.b.c"]),
)
_queries = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from([b"ltik=", b"%6ctik=", b"&", b"=", b"%", b"+", b"ltik", A.encode(), b"%zz"])
    ).map(b"".join),
)
_content_types = st.sampled_from([b"application/json", b"application/x-www-form-urlencoded", b"text/plain"])
FUZZ_SOURCES = ("authorization", "query", "header", "form", "json")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    authorization=_values,
    x_ltik=_values,
    query=_queries,
    content_type=_content_types,
    body=st.binary(max_size=200),
)
def test_wsgi_random_bytes_never_5xx(
    authorization: bytes, x_ltik: bytes, query: bytes, content_type: bytes, body: bytes
) -> None:
    environ = wsgi_environ(query=query.decode("latin-1"), method="POST", body=body)
    environ["HTTP_AUTHORIZATION"] = authorization.decode("latin-1")
    environ["HTTP_X_LTIK"] = x_ltik.decode("latin-1")
    environ["CONTENT_TYPE"] = content_type.decode("latin-1")
    status, headers, content = call_wsgi(
        LtiaasMiddleware(wsgi_probe, CONFIG, prefetch_idtoken=False, sources=FUZZ_SOURCES), environ
    )
    assert status < 500
    if status >= 400:
        assert headers["cache-control"] == "no-store"
        assert json.loads(content)["status"] == status


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(
        st.tuples(st.sampled_from([b"authorization", b"x-ltik", b"content-length"]), _values), max_size=4
    ),
    query=_queries,
    content_type=_content_types,
    body=st.binary(max_size=200),
)
def test_asgi_random_bytes_never_5xx(
    headers: list[tuple[bytes, bytes]], query: bytes, content_type: bytes, body: bytes
) -> None:
    scope = asgi_scope(method="POST", query=query, headers=[(b"content-type", content_type), *headers])
    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False, sources=FUZZ_SOURCES)
    response = asyncio.run(call_asgi(app, scope, [body]))
    assert response.status < 500
    if response.status >= 400:
        assert response.headers["cache-control"] == "no-store"
        assert response.json()["status"] == response.status


@given(
    fields=st.lists(
        st.tuples(
            st.sampled_from(["ltik", "x", "ltik2", "LTIK", "file"]),
            st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
        ),
        max_size=6,
    )
)
def test_multipart_fields_round_trip(fields: list[tuple[str, str]]) -> None:
    """Whatever a browser's encoder writes, the decoder finds exactly the non-empty ``ltik`` fields."""
    body, content_type = encode_multipart_formdata(fields)
    kind = body_source(content_type, ("form",))
    assert kind is not None
    assert from_multipart(body, kind.removeprefix("multipart:").encode()) == [
        value for name, value in fields if name == "ltik" and value
    ]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=512), boundary=st.text(alphabet="abcXYZ019-_", min_size=1, max_size=70))
def test_any_multipart_body_gives_values_or_nothing(body: bytes, boundary: str) -> None:
    assert isinstance(from_multipart(body, boundary.encode()), list)
