"""``LtiaasMiddleware`` through werkzeug's test client and ``LintMiddleware``, a real one-thread server,
and FakeLtiaas for ``prefetch_idtoken``."""

from __future__ import annotations

import contextvars
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from helpers import API_KEY, CONFIG, call_wsgi, closed_port, idtoken_fetches, seen, wsgi_environ, wsgi_probe
from ltik_factory import fresh_ltik, make_ltik
from werkzeug.middleware.lint import LintMiddleware
from werkzeug.serving import make_server
from werkzeug.test import Client, TestResponse

from ltiaas_auth import (
    LtiaasConfig,
    LtiaasMiddleware,
    auth_header,
    current_launch,
    launch_context,
    ltik_authorization,
)
from ltiaas_auth.context import credential_var
from ltiaas_auth.testing import FakeLtiaas

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def linted(app: WSGIApp = wsgi_probe, config: LtiaasConfig = CONFIG, **options: Any) -> Client:
    """Lint on both sides: what the server sees from us, and what we hand to the app. Prefetch is off
    unless asked for: these tests run on locally minted ltiks, with no LTIAAS to confirm them."""
    options.setdefault("prefetch_idtoken", False)
    return Client(LintMiddleware(LtiaasMiddleware(LintMiddleware(app), config, **options)))


def get(client: Client, path: str = "/", **kwargs: Any) -> TestResponse:
    with client.get(path, **kwargs) as response:
        response.get_data()  # drains and closes, as a server would
        return response


def bearer(ltik: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ltik}"}


# --- each request gets its own launch -----------------------------------------------------------------


def test_each_request_sees_its_own_launch() -> None:
    client = linted()
    for _ in range(5):
        ltik = fresh_ltik()
        response = get(client, headers=bearer(ltik))
        assert response.status_code == 200
        body = response.json
        assert body["auth"] == ltik_authorization(API_KEY, ltik)
        assert body["launch"] == body["key"]  # current_launch() and environ["ltiaas_auth.launch"] agree
        assert credential_var.get() is None


def test_threads_never_see_each_others_launch() -> None:
    app = LtiaasMiddleware(wsgi_probe, CONFIG, prefetch_idtoken=False)
    ltiks = [fresh_ltik() for _ in range(20)]

    def one(index: int) -> bool:
        ltik = ltiks[index % len(ltiks)]
        status, _, body = call_wsgi(app, wsgi_environ(headers=bearer(ltik)))
        return status == 200 and json.loads(body)["auth"] == ltik_authorization(API_KEY, ltik)

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(one, range(400)))


def test_parsed_once_but_expiry_checked_every_request() -> None:
    now = [time.time()]
    config = LtiaasConfig(API_KEY, "http://127.0.0.1:9", clock=lambda: now[0], leeway=5)
    ltik = make_ltik(iat=now[0], exp=now[0] + 60)
    app = LtiaasMiddleware(wsgi_probe, config, prefetch_idtoken=False)
    for _ in range(3):
        assert call_wsgi(app, wsgi_environ(headers=bearer(ltik)))[0] == 200
    assert app._gate.parse.cache_info().misses == 1  # parsed once; later requests were cache hits
    now[0] += 64  # within the leeway
    assert call_wsgi(app, wsgi_environ(headers=bearer(ltik)))[0] == 200
    now[0] += 2
    status, headers, body = call_wsgi(app, wsgi_environ(headers=bearer(ltik)))
    assert (status, json.loads(body)["details"]["message"]) == (401, "LTIK_EXPIRED")
    assert headers["www-authenticate"] == 'Bearer error="invalid_token"'


# --- rejections ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "code", "challenge"),
    [
        pytest.param({}, 401, "MISSING_LTIK", "Bearer", id="missing"),
        pytest.param(
            bearer("not.a-valid.jws!"), 401, "INVALID_LTIK", 'Bearer error="invalid_token"', id="invalid"
        ),
        pytest.param(bearer("x" * 9000), 401, "INVALID_LTIK", 'Bearer error="invalid_token"', id="oversized"),
        pytest.param(
            bearer(make_ltik(iat=1, exp=2)), 401, "LTIK_EXPIRED", 'Bearer error="invalid_token"', id="expired"
        ),
        pytest.param(
            {**bearer(fresh_ltik()), "X-Ltik": fresh_ltik()}, 400, "AMBIGUOUS_LTIK", None, id="ambiguous"
        ),
    ],
)
def test_rejection_shape(headers: dict[str, str], status: int, code: str, challenge: str | None) -> None:
    response = get(linted(), headers=headers)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.get("WWW-Authenticate") == challenge
    assert "Set-Cookie" not in response.headers
    assert "Referrer-Policy" not in response.headers  # no ltik in the URL
    body = response.json
    assert set(body) == {"status", "error", "details"}
    assert body["status"] == status
    assert body["error"] == {401: "Unauthorized", 400: "Bad Request"}[status]
    assert body["details"]["message"] == code
    assert isinstance(body["details"]["description"], str)
    for value in headers.values():
        token = value.removeprefix("Bearer ")
        assert token not in response.get_data(as_text=True)
        assert token[:40] not in response.get_data(as_text=True)


def test_never_sets_a_cookie() -> None:
    ltik = fresh_ltik()
    client = linted(exempt=("/open",))
    responses = [
        get(client, headers=bearer(ltik)),
        get(client, query_string={"ltik": ltik}),
        get(client),
        get(client, headers=bearer("bad")),
        get(client, "/open"),
    ]
    for response in responses:
        assert "Set-Cookie" not in response.headers
    assert not list(client._cookies)  # nothing stored on the client side either


# --- Referrer-Policy ---------------------------------------------------------------------------------


def app_with_policy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response(
        "200 OK", [("Content-Type", "text/plain"), ("referrer-POLICY", "origin"), ("Content-Length", "2")]
    )
    return [b"ok"]


def test_referrer_policy_added_when_the_ltik_came_in_the_url() -> None:
    ltik = fresh_ltik()
    response = get(linted(), query_string={"ltik": ltik})
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.json["auth"] == ltik_authorization(API_KEY, ltik)


def test_referrer_policy_on_rejections_too() -> None:
    for query in ({"ltik": "garbage"}, {"ltik": make_ltik(iat=1, exp=2)}):
        response = get(linted(), query_string=query)
        assert response.status_code == 401
        assert response.headers["Referrer-Policy"] == "no-referrer"
    response = get(linted(), query_string={"ltik": fresh_ltik()}, headers={"X-Ltik": fresh_ltik()})
    assert response.status_code == 400
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_referrer_policy_not_added_for_a_header_ltik() -> None:
    ltik = fresh_ltik()
    for headers in (bearer(ltik), {"X-Ltik": ltik}):
        response = get(linted(), headers=headers)
        assert response.status_code == 200
        assert "Referrer-Policy" not in response.headers


def test_referrer_policy_never_overrides_the_apps_own() -> None:
    response = get(linted(app_with_policy), query_string={"ltik": fresh_ltik()})
    assert response.headers.getlist("Referrer-Policy") == ["origin"]


def test_referrer_policy_options() -> None:
    ltik = fresh_ltik()
    assert "Referrer-Policy" not in get(linted(referrer_policy=None), query_string={"ltik": ltik}).headers
    response = get(linted(referrer_policy="same-origin"), query_string={"ltik": ltik})
    assert response.headers["Referrer-Policy"] == "same-origin"


# --- passthrough, require, error_app --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "passes"),
    [
        pytest.param("GET", "/static/app.css", True, id="glob"),
        pytest.param("GET", "/static/deep/a/b.js", True, id="glob-crosses-slashes"),
        pytest.param("GET", "/health", True, id="exact"),
        pytest.param("GET", "/healthz", False, id="exact-only"),
        pytest.param("GET", "/Static/app.css", False, id="case-sensitive"),
        pytest.param("GET", "/api/static/x", False, id="anchored"),
        pytest.param("OPTIONS", "/api/anything", False, id="options-without-preflight-headers"),
        pytest.param("POST", "/api/anything", False, id="post"),
    ],
)
def test_exempt_and_options_pass_through_untouched(method: str, path: str, passes: bool) -> None:
    client = linted(exempt=("/static/*", "/health"))
    # Even a broken ltik is not read on a passthrough request.
    with client.open(path, method=method, headers=bearer("broken")) as response:
        response.get_data()
    if passes:
        assert response.status_code == 200
        assert response.json == {"auth": None, "launch": None, "key": None, "body": ""}
    else:
        assert response.status_code == 401


def test_passthrough_hides_a_credential_left_in_the_context() -> None:
    """A passthrough request still runs with no credential, whatever the thread's context holds."""
    app = LtiaasMiddleware(wsgi_probe, CONFIG, prefetch_idtoken=False, exempt=("/open",))
    with launch_context(CONFIG, fresh_ltik()) as outer:
        _, _, body = call_wsgi(app, wsgi_environ("/open"))
        assert json.loads(body)["auth"] is None
        assert credential_var.get() is outer  # restored after close


def test_require_false() -> None:
    client = linted(require=False)
    response = get(client)
    assert response.status_code == 200
    assert response.json["auth"] is None
    ltik = fresh_ltik()
    assert get(client, headers=bearer(ltik)).json["auth"] == ltik_authorization(API_KEY, ltik)
    assert get(client, headers=bearer("bad")).status_code == 401  # an invalid ltik is still refused
    assert get(client, headers=bearer(make_ltik(iat=1, exp=2))).json["details"]["message"] == "LTIK_EXPIRED"


def test_error_app_renders_rejections() -> None:
    errors: list[Any] = []

    def error_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        error = environ["ltiaas_auth.error"]
        errors.append((error, credential_var.get()))
        body = f"<h1>{error.code}</h1>".encode()
        start_response(
            f"{error.status} Nope", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
        )
        return [body]

    client = linted(error_app=error_app)
    response = get(client)
    assert (response.status_code, response.get_data()) == (401, b"<h1>MISSING_LTIK</h1>")
    response = get(client, query_string={"ltik": "bad"})
    assert (response.status_code, response.get_data()) == (401, b"<h1>INVALID_LTIK</h1>")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert [type(error).__name__ for error, _ in errors] == ["MissingLtik", "InvalidLtik"]
    assert all(credential is None for _, credential in errors)
    ltik = fresh_ltik()
    assert get(client, headers=bearer(ltik)).json["auth"] == ltik_authorization(API_KEY, ltik)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"sources": ("authorization", "cookie")}, id="unknown-source"),
        pytest.param({"sources": "query"}, id="source-string"),
        pytest.param({"sources": ()}, id="no-sources"),
        pytest.param({"exempt": "/health"}, id="exempt-string"),
        pytest.param({"exempt": [b"/x"]}, id="exempt-bytes"),
        pytest.param({"max_body_size": -1}, id="negative-size"),
        pytest.param({"max_body_size": True}, id="bool-size"),
        pytest.param({"referrer_policy": "no-referrer\r\nSet-Cookie: a=b"}, id="policy-injection"),
        pytest.param({"referrer_policy": ""}, id="policy-empty"),
    ],
)
def test_invalid_options(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        LtiaasMiddleware(wsgi_probe, CONFIG, prefetch_idtoken=False, **options)


# --- prefetch_idtoken against FakeLtiaas --------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


def test_prefetch_valid(fake: FakeLtiaas) -> None:
    config = fake.config()
    ltik = fake.launch(user_id="prefetch-user")
    seen_users: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen_users.append(current_launch().idtoken()["user"]["id"])  # from the cache
        start_response("204 No Content", [("Content-Length", "0")])
        return []

    client = linted(app, config, prefetch_idtoken=True)
    before = idtoken_fetches(fake)
    assert get(client, headers=bearer(ltik)).status_code == 204
    assert get(client, headers=bearer(ltik)).status_code == 204
    assert idtoken_fetches(fake) - before == 1
    assert seen_users == ["prefetch-user", "prefetch-user"]


def test_prefetch_refused_by_ltiaas(fake: FakeLtiaas) -> None:
    forged = fresh_ltik()  # well formed, unexpired, but not signed by this LTIAAS
    response = get(linted(config=fake.config(), prefetch_idtoken=True), headers=bearer(forged))
    assert response.status_code == 401
    assert response.json["details"]["message"] == "INVALID_LTIK"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert forged not in response.get_data(as_text=True)


def test_prefetch_upstream_failing(fake: FakeLtiaas) -> None:
    fake.fail_next(503)
    response = get(linted(config=fake.config(), prefetch_idtoken=True), headers=bearer(fake.launch()))
    assert response.status_code == 502
    assert response.json["details"]["message"] == "UPSTREAM_UNAVAILABLE"
    assert response.headers["Cache-Control"] == "no-store"
    assert "WWW-Authenticate" not in response.headers


def test_prefetch_upstream_unreachable() -> None:
    config = LtiaasConfig(API_KEY, f"http://127.0.0.1:{closed_port()}", timeout=2)
    response = get(linted(config=config, prefetch_idtoken=True), headers=bearer(fresh_ltik()))
    assert response.status_code == 502
    assert response.json == {
        "status": 502,
        "error": "Bad Gateway",
        "details": {
            "message": "UPSTREAM_UNAVAILABLE",
            "description": response.json["details"]["description"],
        },
    }


# --- the credential never outlives its request ------------------------------------------------------------


def serve_one_thread(app: WSGIApp) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def fetch(port: int, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/", headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def streaming_probe(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    """A generator app: its body runs only when the server iterates it, after the call returned."""
    start_response("200 OK", [("Content-Type", "application/json")])
    yield json.dumps(seen(environ.get("ltiaas_auth.launch"))).encode()


@pytest.mark.parametrize("app", [wsgi_probe, streaming_probe], ids=["plain", "streamed"])
def test_one_thread_server_does_not_leak(app: WSGIApp) -> None:
    ltik = fresh_ltik()
    for port in serve_one_thread(LtiaasMiddleware(app, CONFIG, prefetch_idtoken=False, require=False)):
        status, body = fetch(port, bearer(ltik))
        assert status == 200
        assert json.loads(body)["auth"] == ltik_authorization(API_KEY, ltik)
        status, body = fetch(port)  # same server thread, no ltik
        assert status == 200
        assert json.loads(body) == {"auth": None, "launch": None, "key": None, "body": ""}


def test_app_raising_in_call_resets() -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        assert auth_header()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        LtiaasMiddleware(broken, CONFIG, prefetch_idtoken=False)(
            wsgi_environ(headers=bearer(fresh_ltik())), lambda *a: None
        )
    assert credential_var.get() is None


def test_app_raising_while_iterating_resets_on_close() -> None:
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            yield auth_header().encode()
            raise RuntimeError("boom")

        def close(self) -> None:
            closed.append(credential_var.get() is not None)  # the app's close runs before the reset

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [])
        return Body()

    with pytest.raises(RuntimeError, match="boom"):
        call_wsgi(
            LtiaasMiddleware(app, CONFIG, prefetch_idtoken=False), wsgi_environ(headers=bearer(fresh_ltik()))
        )
    assert closed == [True]
    assert credential_var.get() is None


def test_close_twice_resets_once_and_app_close_raising_still_resets() -> None:
    class Body(list[bytes]):
        def close(self) -> None:
            raise OSError("close failed")

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [])
        return Body([b"x"])

    with launch_context(CONFIG, fresh_ltik()) as outer:
        response: Any = LtiaasMiddleware(app, CONFIG, prefetch_idtoken=False)(
            wsgi_environ(headers=bearer(fresh_ltik())), lambda *a: None
        )
        assert credential_var.get() is not outer
        with pytest.raises(OSError, match="close failed"):
            response.close()
        assert credential_var.get() is outer
        response.close()  # a second close does nothing
        assert credential_var.get() is outer


def test_close_from_another_context_is_harmless() -> None:
    ltik = fresh_ltik()
    context = contextvars.copy_context()
    response: Any = context.run(
        LtiaasMiddleware(wsgi_probe, CONFIG, prefetch_idtoken=False),
        wsgi_environ(headers=bearer(ltik)),
        lambda *a: None,
    )
    assert context[credential_var] is not None
    response.close()  # a different context: nothing to undo here, and no error
    assert credential_var.get() is None
