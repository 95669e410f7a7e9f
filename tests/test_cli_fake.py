"""``ltiaas-auth fake`` in a subprocess, as a docker-compose stack or a Playwright suite runs it.

The export lines are read from a pipe while the fake still runs (so they were flushed at once), a
browser-style launch through ``/lti/launch`` redirects to the tool with an ltik that works against that
fake, SIGINT and SIGTERM stop it (within 2 s), and a port in use is one clear line and exit 1.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from fake_client import call

from ltiaas_auth import LtiaasConfig
from ltiaas_auth._exit import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from ltiaas_auth.context import make_launch

TOOL = "http://127.0.0.1:9/launch"
COMMAND = [sys.executable, "-m", "ltiaas_auth", "fake"]
DEADLINE = 15.0  # seconds for the export lines to arrive


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LTIAAS_")}
    return {**env, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", **extra}


def read_exports(process: subprocess.Popen[str], count: int) -> tuple[dict[str, str], threading.Thread]:
    """The first `count` NAME=value lines of stdout, each waited for with a deadline (read by a thread, so a
    fake that never prints fails the test instead of hanging it)."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in iter(stdout.readline, "")])
    reader.start()
    exports: dict[str, str] = {}
    while len(exports) < count:
        try:
            line = lines.get(timeout=DEADLINE)
        except queue.Empty:
            pytest.fail(f"no export line within {DEADLINE} s (only {sorted(exports)})")
        name, _, value = line.rstrip("\n").partition("=")
        exports[name] = value
    return exports, reader


@contextmanager
def running(*options: str, **env: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    process = subprocess.Popen(
        [*COMMAND, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(**env),
    )
    reader = None
    try:
        exports, reader = read_exports(process, 3 if "--tls" in options else 2)
        yield process, exports
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if reader is not None:
            reader.join(timeout=5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_fake_prints_exports_launches_a_browser_and_stops_on_a_signal(stop: signal.Signals) -> None:
    with running("--tool-url", TOOL, LTIAAS_API_KEY="e2e-KEY_0123456789abcdef") as (process, exports):
        assert set(exports) == {"LTIAAS_URL", "LTIAAS_API_KEY"}
        assert exports["LTIAAS_API_KEY"] == "e2e-KEY_0123456789abcdef"  # from the environment
        url = exports["LTIAAS_URL"]
        assert urlsplit(url).hostname == "127.0.0.1"

        answer = call(url, "GET", "/lti/launch?" + urlencode({"user_id": "ada", "roles": "Learner"}))
        assert answer.status == 302
        location = answer.headers["location"]
        assert location.startswith(f"{TOOL}?ltik=")
        ltik = parse_qs(urlsplit(location).query)["ltik"][0]
        config = LtiaasConfig.from_env(environ=exports)
        assert make_launch(config, ltik).idtoken()["user"]["name"] == "Ada Lovelace"

        process.send_signal(stop)
        assert process.wait(timeout=2) == EXIT_OK  # a clean stop within 2 s
        assert process.stderr is not None
        err = process.stderr.read()
        assert "Traceback" not in err
        assert "stopped" in err
        assert exports["LTIAAS_API_KEY"] not in err
        assert ltik not in err


def test_without_a_key_in_the_environment_one_is_made_and_tool_url_is_per_launch() -> None:
    with running() as (process, exports):
        key = exports["LTIAAS_API_KEY"]
        assert len(key) >= 32
        no_tool = call(exports["LTIAAS_URL"], "GET", "/lti/launch?user_id=u1")
        assert no_tool.status == 400
        assert "tool_url" in no_tool.body
        answer = call(exports["LTIAAS_URL"], "GET", f"/lti/launch?tool_url={quote(TOOL)}")
        assert answer.status == 302
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=2) == EXIT_OK


def test_tls_prints_the_ca_file_and_serves_https_under_it() -> None:
    with running("--tls") as (process, exports):
        assert set(exports) == {"LTIAAS_URL", "LTIAAS_API_KEY", "LTIAAS_CA_FILE"}
        ca_file = Path(exports["LTIAAS_CA_FILE"])
        assert exports["LTIAAS_URL"].startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(ca_file))
        assert call(exports["LTIAAS_URL"], "GET", "/", context=context).status == 200
        with pytest.raises(ssl.SSLCertVerificationError):
            call(exports["LTIAAS_URL"], "GET", "/", context=ssl.create_default_context())
        launched = call(exports["LTIAAS_URL"], "GET", f"/lti/launch?tool_url={quote(TOOL)}", context=context)
        ltik = parse_qs(urlsplit(launched.headers["location"]).query)["ltik"][0]
        config = LtiaasConfig.from_env(environ=exports)  # LTIAAS_CA_FILE: the config trusts the fake's CA
        assert make_launch(config, ltik).idtoken()["user"]["name"] == "Ada Lovelace"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=2) == EXIT_OK
    assert not ca_file.exists()  # the throwaway CA goes with the fake


def run_to_the_end(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *options], capture_output=True, text=True, timeout=30, env=environment(), check=False
    )


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_to_the_end("--port", str(port))
    assert result.returncode == EXIT_INVALID
    assert result.stdout == ""
    assert (
        result.stderr
        == f"ltiaas-auth: the fake could not listen on 127.0.0.1:{port}: Address already in use.\n"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(("--host", "192.0.2.10"), "must use TLS", id="beyond-loopback-without-tls"),
        pytest.param(("--port", "70000"), "argument --port: must be", id="port-range"),
        pytest.param(("--tool-url", "javascript:alert(1)"), "--tool-url must be", id="tool-url"),
    ],
)
def test_bad_options_are_usage_errors(options: tuple[str, ...], message: str) -> None:
    result = run_to_the_end(*options)
    assert result.returncode == EXIT_USAGE
    assert message in result.stderr
    assert "Traceback" not in result.stderr
