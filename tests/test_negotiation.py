"""Rejections negotiated: a browser navigation gets a small HTML page with the same status (what happened,
what to do, the ltik.js recovery script under the page's own nonce CSP), everything else LTIAAS's JSON;
neither holds a token. And ``Cache-Control: private`` on responses to requests whose ltik came in the URL.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest
from helpers import CONFIG, asgi_probe, asgi_scope, call_asgi, call_wsgi, wsgi_environ, wsgi_probe
from hypothesis import given
from hypothesis import strategies as st
from ltik_factory import fresh_ltik, make_ltik

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasAuthError, LtiaasMiddleware, MissingLtik, RateLimited
from ltiaas_auth._rejection import render, wants_html

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "mode", "html"),
    [
        pytest.param(BROWSER_ACCEPT, None, True, id="browser-accept"),
        pytest.param(None, "navigate", True, id="sec-fetch-mode-navigate"),
        pytest.param("*/*", "navigate", True, id="navigate-wins"),
        pytest.param("*/*", "cors", False, id="fetch"),
        pytest.param(None, None, False, id="nothing-said"),
        pytest.param("*/*", None, False, id="anything"),
        pytest.param("application/json", None, False, id="json"),
        pytest.param("text/html;q=0.5, application/json", None, False, id="json-preferred"),
        pytest.param("application/json;q=0.5, text/html", None, True, id="html-preferred"),
        pytest.param("text/*, application/json;q=0.9", None, True, id="text-range"),
        pytest.param("text/html, application/json", None, False, id="a-tie-is-json"),
        pytest.param("text/html;q=0", None, False, id="html-refused"),
        pytest.param("text/html;q=nan, */*;q=0.1", None, False, id="bad-q"),
    ],
)
def test_wants_html(accept: str | None, mode: str | None, html: bool) -> None:
    assert wants_html(accept, mode) is html


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=20)))
def test_wants_html_takes_anything(accept: str, mode: str | None) -> None:
    assert wants_html(accept, mode) in (True, False)


# --- the page, through both middlewares ------------------------------------------------------------------


def wsgi_call(headers: dict[str, str], query: str = "", **options: Any) -> tuple[int, dict[str, str], bytes]:
    app = LtiaasMiddleware(wsgi_probe, CONFIG, prefetch_idtoken=False, **options)
    return call_wsgi(app, wsgi_environ(query=query, headers=headers))


def asgi_call(headers: dict[str, str], query: str = "", **options: Any) -> tuple[int, dict[str, str], bytes]:
    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False, **options)
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    response = asyncio.run(call_asgi(app, asgi_scope(headers=raw, query=query.encode())))
    return response.status, response.headers, response.body


CALLS = [pytest.param(wsgi_call, id="wsgi"), pytest.param(asgi_call, id="asgi")]
EXPIRED = make_ltik(iat=time.time() - 7200, exp=time.time() - 3600)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        pytest.param("", 401, "MISSING_LTIK", id="missing"),
        pytest.param(f"ltik={EXPIRED}", 401, "LTIK_EXPIRED", id="expired"),
        pytest.param(f"ltik={fresh_ltik()}&ltik={fresh_ltik()}", 400, "AMBIGUOUS_LTIK", id="ambiguous"),
    ],
)
def test_a_browser_navigation_gets_the_relaunch_page(call: Any, query: str, status: int, code: str) -> None:
    answered, headers, body = call({"Accept": BROWSER_ACCEPT, "Sec-Fetch-Mode": "navigate"}, query)
    page = body.decode()
    assert answered == status
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert "Open this activity again from your course" in page
    assert code in page
    for token in re.findall(r"ltik=([^&]+)", query):
        assert token not in page
    nonce = re.search(r"script-src 'nonce-([^']+)'", headers["content-security-policy"])
    assert nonce is not None
    assert f'<script nonce="{nonce[1]}">' in page  # ltik.js inlined under the page's own nonce
    assert "default-src 'none'" in headers["content-security-policy"]
    if status == 401:
        assert headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("call", CALLS)
def test_each_page_has_a_fresh_nonce(call: Any) -> None:
    policies = {call({"Sec-Fetch-Mode": "navigate"})[1]["content-security-policy"] for _ in range(3)}
    assert len(policies) == 3


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-accept"),
        pytest.param({"Accept": "*/*", "Sec-Fetch-Mode": "cors"}, id="fetch"),
        pytest.param({"Accept": "application/json"}, id="json"),
    ],
)
def test_everything_else_gets_the_json(call: Any, headers: dict[str, str]) -> None:
    status, answered, body = call(headers)
    assert status == 401
    assert answered["content-type"] == "application/json"
    assert json.loads(body)["details"]["message"] == "MISSING_LTIK"


@pytest.mark.parametrize("call", CALLS)
def test_the_page_can_be_replaced(call: Any) -> None:
    def page(error: LtiaasAuthError, nonce: str) -> str:
        return f'<p id="mine">{error.code}</p><script nonce="{nonce}"></script>'

    status, headers, body = call({"Sec-Fetch-Mode": "navigate"}, page=page)
    assert status == 401
    assert body.decode().startswith('<p id="mine">MISSING_LTIK</p>')
    assert "nonce-" in headers["content-security-policy"]


def test_render_passes_retry_after_on_and_escapes_nothing_of_ltiaas() -> None:
    limited = RateLimited("<b>LTIAAS said</b>", upstream_status=429, retry_after=2.4)
    status, headers, body = render(limited, html=True)
    assert (status, dict(headers)["Retry-After"]) == (502, "2")
    assert b"LTIAAS said" not in body  # the edge description, never LTIAAS's text
    assert render(MissingLtik()).headers[-1] == ("WWW-Authenticate", "Bearer")


# --- Cache-Control: private on responses to URL-ltik requests ---------------------------------------------


def wsgi_app_with(cache_control: str | None) -> Any:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        headers = [("Content-Type", "text/plain")]
        if cache_control is not None:
            headers.append(("Cache-Control", cache_control))
        start_response("200 OK", headers)
        return [b"ok"]

    return app


def asgi_app_with(cache_control: str | None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/plain")]
        if cache_control is not None:
            headers.append((b"Cache-Control", cache_control.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def cache_control(
    kind: str, app_sets: str | None, query: str, headers: dict[str, str], **options: Any
) -> Any:
    if kind == "wsgi":
        app = LtiaasMiddleware(wsgi_app_with(app_sets), CONFIG, prefetch_idtoken=False, **options)
        return call_wsgi(app, wsgi_environ(query=query, headers=headers))[1].get("cache-control")
    asgi = LtiaasASGIMiddleware(asgi_app_with(app_sets), config=CONFIG, prefetch_idtoken=False, **options)
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return asyncio.run(call_asgi(asgi, asgi_scope(query=query.encode(), headers=raw))).headers.get(
        "cache-control"
    )


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_url_ltik_responses_are_private_unless_the_app_says_otherwise(kind: str) -> None:
    ltik = fresh_ltik()
    assert cache_control(kind, None, f"ltik={ltik}", {}) == "private"
    assert cache_control(kind, None, f"ltik={ltik}", {}, referrer_policy=None) == "private"
    assert cache_control(kind, "no-store, max-age=0", f"ltik={ltik}", {}) == "no-store, max-age=0"
    assert cache_control(kind, None, "", {"Authorization": f"Bearer {ltik}"}) is None  # not in the URL
    assert cache_control(kind, None, "ltik=broken", {}) == "no-store"  # the rejection keeps its own
