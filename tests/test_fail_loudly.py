"""Failing loudly and clearly: what the user gets and what the operator reads when LTIAAS is wrongly
configured, down, slow or dripping, and the smaller findings (a body too large to read for its ltik).

Every LTIAAS here is real: ``FakeLtiaas``, a closed port, or a socket server that drips its answer.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from helpers import asgi_probe, asgi_scope, call_asgi, call_wsgi, closed_port, wsgi_environ, wsgi_probe

from ltiaas_auth import (
    ApiKeyRejected,
    LtiaasASGIMiddleware,
    LtiaasConfig,
    LtiaasMiddleware,
    UpstreamError,
    launch_context,
)
from ltiaas_auth.testing import FakeLtiaas
from ltiaas_auth.upstream import deadline_for, get_json


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "ltiaas_auth"]


def assert_no_secret(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(record.__dict__)
        for secret in secrets:
            assert secret not in text


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as server:
        yield server


# --- a wrong API key -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_wrong_api_key_is_a_502_and_one_error_naming_the_origin(
    fake: FakeLtiaas, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ltiaas_auth")
    config = LtiaasConfig("typo-in-the-api-key", fake.url)  # the ltiks are good, the key is not
    ltiks = [fake.launch() for _ in range(3)]
    statuses = []
    for ltik in ltiks:
        if kind == "wsgi":
            app = LtiaasMiddleware(wsgi_probe, config)
            status, _, body = call_wsgi(app, wsgi_environ(headers={"Authorization": f"Bearer {ltik}"}))
        else:
            asgi = LtiaasASGIMiddleware(asgi_probe, config=config)
            response = asyncio.run(
                call_asgi(asgi, asgi_scope(headers=[(b"authorization", f"Bearer {ltik}".encode())]))
            )
            status, body = response.status, response.body
        statuses.append(status)
        assert b"UPSTREAM_UNAVAILABLE" in body  # never INVALID_LTIK: the user did nothing wrong
    assert statuses == [502, 502, 502]
    [line] = records(caplog)
    assert line.levelno == logging.ERROR
    assert f"LTIAAS at {fake.url} refused the API key" in line.getMessage()
    assert_no_secret(caplog, config.api_key, fake.api_key, *ltiks)


def test_the_error_raised_is_api_key_rejected(fake: FakeLtiaas) -> None:
    config = LtiaasConfig("typo-in-the-api-key", fake.url)
    with launch_context(config, fake.launch()) as launch, pytest.raises(ApiKeyRejected) as refused:
        launch.idtoken()
    assert (refused.value.status, refused.value.to_body()["details"]["message"]) == (
        502,
        "UPSTREAM_UNAVAILABLE",
    )


# --- LTIAAS down, slow or unreachable: one WARNING per interval ------------------------------------------


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        pytest.param("503", "failed", id="503"),
        pytest.param("429", "is rate limiting this tool", id="429"),
        pytest.param("timeout", "did not answer in time", id="timeout"),
        pytest.param("refused", "could not be reached", id="refused-connection"),
    ],
)
def test_upstream_trouble_logs_one_warning_per_interval(
    fake: FakeLtiaas, setup: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ltiaas_auth")
    url = f"http://127.0.0.1:{closed_port()}" if setup == "refused" else fake.url
    config = LtiaasConfig(fake.api_key, url, timeout=0.3)
    if setup == "503":
        fake.fail_next(503, count=5)
    elif setup == "429":
        fake.fail_next(429, count=5, headers={"Retry-After": "7"})
    elif setup == "timeout":
        fake.latency = 1.0
    app = LtiaasMiddleware(wsgi_probe, config)
    ltiks = [fake.launch() for _ in range(3)]
    for ltik in ltiks:
        status, headers, _ = call_wsgi(app, wsgi_environ(headers={"Authorization": f"Bearer {ltik}"}))
        assert status == 502
        if setup == "429":
            assert headers["retry-after"] == "7"  # passed on to the client
    warnings = [record for record in records(caplog) if record.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    message = warnings[0].getMessage()
    assert f"LTIAAS at {url} {says}" in message
    assert "GET /api/idtoken" in message
    assert_no_secret(caplog, fake.api_key, *ltiks)


# --- the overall deadline: an LTIAAS that drips its answer ----------------------------------------------


@contextmanager
def dripping_server(*, in_headers: bool) -> Iterator[tuple[str, list[int]]]:
    """An HTTP server on 127.0.0.1 that answers one byte every 0.1 s, forever (in the headers or in a
    body it announced as long): each read is quick, the answer never ends. Yields its URL and the count
    of connections it accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    accepted = [0]

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.5)
            try:
                conn.recv(65536)
                if not in_headers:
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                    )
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.wait(0.1):
                    conn.sendall(b"X-Drip: x\r\n"[:1] if in_headers else b" ")
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted[0] += 1
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def finishes_within(seconds: float, call: Any) -> BaseException | None:
    """Run ``call`` on a thread; it must end within ``seconds`` (a deadline, not a measurement)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still waiting after {seconds} s"
    return outcome[0]


@pytest.mark.parametrize("in_headers", [False, True], ids=["dripping-body", "dripping-headers"])
def test_a_dripping_upstream_is_cut_off_at_the_deadline(in_headers: bool) -> None:
    with dripping_server(in_headers=in_headers) as (url, accepted):
        config = LtiaasConfig("key", url, timeout=0.5)  # every drip is well within the per-read timeout
        limit = deadline_for(config)
        assert limit == 2 * 0.5 + 1
        error = finishes_within(limit + 1.5, lambda: get_json(config, "/api/idtoken", "Bearer key"))
        assert isinstance(error, UpstreamError)
        assert error.upstream_status is None
        assert "did not answer" in error.description
        assert accepted == [1]


def test_a_dripping_upstream_behind_idtoken_and_aidtoken(fake: FakeLtiaas) -> None:
    ltik = fake.launch()
    with dripping_server(in_headers=False) as (url, accepted):
        config = LtiaasConfig(fake.api_key, url, timeout=0.5)
        limit = deadline_for(config) + 1.5

        def sync() -> None:
            with launch_context(config, ltik) as launch:
                launch.idtoken()

        def asynchronous() -> None:
            async def main() -> None:
                with launch_context(config, ltik) as launch:
                    await launch.aidtoken()

            asyncio.run(main())

        assert isinstance(finishes_within(limit, sync), UpstreamError)
        assert isinstance(finishes_within(limit, asynchronous), UpstreamError)
        assert accepted == [2]  # the second caller started a fresh fetch: nothing stuck in flight


# --- a body too large to read for its ltik --------------------------------------------------------------


def test_a_form_body_too_large_to_read_says_so_wsgi(fake: FakeLtiaas) -> None:
    app = LtiaasMiddleware(wsgi_probe, fake.config(), sources=("form",), max_body_size=64)
    body = f"ltik={fake.launch()}".encode()
    environ = wsgi_environ(method="POST", body=body)
    environ.update(CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(body)))
    status, _, answer = call_wsgi(app, environ)
    assert status == 401
    assert b"too large to read" in answer
    assert b"over 64 bytes" in answer


def test_a_json_body_too_large_to_read_says_so_asgi(fake: FakeLtiaas) -> None:
    app = LtiaasASGIMiddleware(asgi_probe, config=fake.config(), sources=("json",), max_body_size=64)
    body = f'{{"ltik": "{fake.launch()}"}}'.encode()
    chunked = [body[:40], body[40:]]  # no Content-Length: found too large while reading
    scope = asgi_scope(method="POST", headers=[(b"content-type", b"application/json")])
    response = asyncio.run(call_asgi(app, scope, chunked))
    assert response.status == 401
    assert b"too large to read" in response.body


def test_a_small_body_without_an_ltik_keeps_the_usual_answer(fake: FakeLtiaas) -> None:
    app = LtiaasMiddleware(wsgi_probe, fake.config(), sources=("form",), max_body_size=64)
    environ = wsgi_environ(method="POST", body=b"a=1")
    environ.update(CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH="3")
    status, _, answer = call_wsgi(app, environ)
    assert status == 401
    assert b"too large" not in answer


def test_prefetch_is_on_by_default_and_a_forged_ltik_never_reaches_the_app(fake: FakeLtiaas) -> None:
    forged = fake.launch()[:-4] + "AAAA"  # tampered signature: only LTIAAS can tell
    ran: list[bool] = []

    def app(environ: Any, start_response: Any) -> list[bytes]:
        ran.append(True)
        start_response("200 OK", [])
        return [b""]

    status, _, body = call_wsgi(
        LtiaasMiddleware(app, fake.config()), wsgi_environ(headers={"Authorization": f"Bearer {forged}"})
    )
    assert (status, ran) == (401, [])
    assert b"INVALID_LTIK" in body
