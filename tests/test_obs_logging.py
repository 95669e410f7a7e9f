"""The launch in every log record: ``LaunchContextFilter`` set up by ``logging.config.dictConfig``.

Records logged by an app behind the real WSGI and ASGI middleware carry the launch's fingerprint and the
ltik's ``contextId``; records outside a launch carry None in both; no record is dropped and nothing is
fetched for it. The gunicorn and uvicorn log configs of docs/examples are run as real servers in
tests/test_redact.py.
"""

from __future__ import annotations

import asyncio
import io
import logging
import logging.config
import threading
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from helpers import asgi_scope, call_asgi, call_wsgi, idtoken_fetches, wsgi_environ

from ltiaas_auth import (
    LtiaasASGIMiddleware,
    LtiaasConfig,
    LtiaasMiddleware,
    launch_context,
    parse_ltik,
    service_context,
)
from ltiaas_auth.log_context import LaunchContextFilter
from ltiaas_auth.testing import FakeLtiaas

FORMAT = "%(levelname)s [%(ltik_fingerprint)s %(lti_context_id)s] %(message)s"
app_log = logging.getLogger("test_obs_logging.app")


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """A dictConfig'd handler with the filter (and the redaction filter beside it) on a logger of ours."""
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "launch": {"()": "ltiaas_auth.log_context.LaunchContextFilter"},
                "redact": {"()": "ltiaas_auth.RedactingFilter.from_env"},
            },
            "formatters": {"plain": {"format": FORMAT}},
            "handlers": {
                "memory": {
                    "class": "logging.StreamHandler",
                    "stream": stream,
                    "formatter": "plain",
                    "filters": ["launch", "redact"],
                }
            },
            "loggers": {"test_obs_logging": {"handlers": ["memory"], "level": "INFO", "propagate": False}},
        }
    )
    yield stream
    logger = logging.getLogger("test_obs_logging")
    for handler in logger.handlers[:]:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


def expected(ltik: str) -> str:
    parsed = parse_ltik(ltik)
    return f"[{parsed.fingerprint} {parsed.claims['contextId']}]"


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    app_log.info("grading")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    app_log.info("grading")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_records_inside_a_wsgi_launch_carry_it(fake: FakeLtiaas, output: io.StringIO) -> None:
    ltik = fake.launch()
    app = LtiaasMiddleware(wsgi_app, fake.config())
    assert call_wsgi(app, wsgi_environ("/grade", query=f"ltik={ltik}"))[0] == 200
    app_log.info("after the request")
    assert output.getvalue() == f"INFO {expected(ltik)} grading\nINFO [None None] after the request\n"


def test_records_inside_an_asgi_launch_carry_it(fake: FakeLtiaas, output: io.StringIO) -> None:
    ltik = fake.launch()
    app = LtiaasASGIMiddleware(asgi_app, fake.config())
    headers = [(b"authorization", f"Bearer {ltik}".encode())]
    assert asyncio.run(call_asgi(app, asgi_scope("/grade", headers=headers))).status == 200
    app_log.info("after the request")
    assert output.getvalue() == f"INFO {expected(ltik)} grading\nINFO [None None] after the request\n"


def test_the_filter_never_fetches(fake: FakeLtiaas, output: io.StringIO) -> None:
    ltik = fake.launch()
    before = idtoken_fetches(fake)
    with launch_context(fake.config(), ltik):
        app_log.warning("inside")
    assert idtoken_fetches(fake) == before
    assert output.getvalue() == f"WARNING {expected(ltik)} inside\n"


def test_service_and_api_key_contexts_are_not_a_launch(output: io.StringIO) -> None:
    config = LtiaasConfig("api-key-0123456789", "https://your.ltiaas.com")
    with service_context(config, "svc-0123456789"):
        app_log.info("job")
    assert output.getvalue() == "INFO [None None] job\n"


@pytest.mark.parametrize(
    ("claims", "shown"),
    [
        pytest.param({"iat": 1}, "None", id="no-contextId"),
        pytest.param({"iat": 1, "contextId": 42}, "None", id="not-a-string"),
        pytest.param({"iat": 1, "contextId": "a\nFAKE log line"}, "None", id="line-break"),
        pytest.param({"iat": 1, "contextId": "c" * 513}, "None", id="too-long"),
        pytest.param(
            {"iat": 1, "contextId": "https%3A%2F%2Flms1course_link"}, "https%3A%2F%2Flms1course_link", id="ok"
        ),
    ],
)
def test_only_a_plain_context_id_is_shown(claims: dict[str, Any], shown: str, output: io.StringIO) -> None:
    """Claims are hints until LTIAAS accepts the ltik: a forged one cannot write lines into the log."""
    ltik = jwt.encode(claims, "s" * 32, algorithm="HS256")
    config = LtiaasConfig("api-key-0123456789", "https://your.ltiaas.com", ltik_max_age=10**10)
    with launch_context(config, ltik) as launch:
        app_log.info("x")
    assert output.getvalue() == f"INFO [{launch.ltik.fingerprint} {shown}] x\n"


def test_values_given_by_the_caller_are_kept_and_no_record_is_dropped(output: io.StringIO) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    record.__dict__["lti_context_id"] = "given"
    assert LaunchContextFilter().filter(record) is True
    assert record.__dict__["lti_context_id"] == "given"
    assert record.__dict__["ltik_fingerprint"] is None


def test_each_thread_sees_its_own_launch(fake: FakeLtiaas, output: io.StringIO) -> None:
    ltiks = [fake.launch() for _ in range(4)]
    barrier = threading.Barrier(len(ltiks), timeout=10)

    def work(ltik: str) -> None:
        with launch_context(fake.config(), ltik):
            barrier.wait()
            app_log.info("working")

    threads = [threading.Thread(target=work, args=(ltik,)) for ltik in ltiks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    lines = sorted(output.getvalue().splitlines())
    assert lines == sorted(f"INFO {expected(ltik)} working" for ltik in ltiks)
