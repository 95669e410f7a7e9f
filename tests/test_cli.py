"""The ``ltiaas-auth`` command: ``inspect`` and ``header``, their exit codes, and that no secret leaks.

``inspect`` never prints the signature nor the whole token, and warns when it is given one as an argument;
``header`` takes secrets only from the environment and stdin, refuses them on the command line, and never
echoes one in an error. (``fake`` is tested in test_cli_fake.py, ``demo`` in test_demo.py.)
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest
from ltik_factory import make_ltik

from ltiaas_auth import __version__, ltik_authorization, service_authorization
from ltiaas_auth.cli import EXIT_EXPIRED, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from ltiaas_auth.ltik import parse_ltik
from ltiaas_auth.testing import FakeLtiaas

ARGV_NOTE = "visible to other users in the process list (ps)"
API_KEY = "api-KEY_0123456789abcdef"
SERVICE_KEY = "svc-0123456789abcdefghij"


@pytest.fixture
def ltik(fake_ltiaas: FakeLtiaas) -> str:
    return fake_ltiaas.launch(user_id="ada", name="Ada Lovelace")


@pytest.fixture
def expired_ltik(fake_ltiaas: FakeLtiaas) -> str:
    return fake_ltiaas.launch(issued_at=time.time() - 2 * 86400)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LTIAAS_API_KEY", "LTIAAS_LTIK", "LTIAAS_SERVICE_KEY", "LTIAAS_URL"):
        monkeypatch.delenv(name, raising=False)


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        status = main(list(argv))
    except SystemExit as exit:  # argparse's own exits (usage errors, --help, --version)
        status = int(exit.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def assert_hidden(token: str, *texts: str) -> None:
    """Neither the whole token nor its signature appears in any of ``texts``."""
    signature = token.rsplit(".", 1)[-1]
    for text in texts:
        assert token not in text
        if signature:
            assert signature not in text


# --- inspect


def test_inspect_shows_claims_and_expiry_but_never_the_signature(capsys, monkeypatch, ltik):
    status, out, err = run(capsys, monkeypatch, "inspect", ltik)
    assert status == EXIT_OK
    parsed = parse_ltik(ltik)
    assert parsed.fingerprint in out
    assert '"user": "ada"' in out
    assert '"alg": "HS256"' in out
    assert parsed.issued_at is not None
    assert parsed.expires_at is not None
    assert parsed.issued_at.isoformat() in out
    assert parsed.expires_at.isoformat() in out
    assert "time left   23 h 59 min" in out or "time left   1 d" in out
    assert "not expired" in out
    assert ARGV_NOTE in err
    assert_hidden(ltik, out, err)


def test_inspect_given_the_ltik_as_an_argument_says_to_use_stdin(capsys, monkeypatch, ltik):
    status, _, err = run(capsys, monkeypatch, "inspect", ltik)
    assert status == EXIT_OK
    assert err == (
        "ltiaas-auth: note: an ltik given as an argument is visible to other users in the process list (ps) "
        "and stays in your shell history; pipe it on stdin instead (... | ltiaas-auth inspect).\n"
    )
    status, _, err = run(capsys, monkeypatch, "inspect", stdin=ltik)
    assert (status, err) == (EXIT_OK, "")


@pytest.mark.parametrize(
    "pasted",
    ["Bearer {ltik}", "bearer   {ltik}\n", "Authorization: Bearer {ltik}"],
    ids=["bearer", "lower-case", "header-line"],
)
def test_inspect_takes_the_bearer_value_it_was_sent_in(capsys, monkeypatch, ltik, pasted):
    status, out, err = run(capsys, monkeypatch, "inspect", stdin=pasted.format(ltik=ltik))
    assert (status, err) == (EXIT_OK, "")
    assert parse_ltik(ltik).fingerprint in out
    assert_hidden(ltik, out, err)


@pytest.mark.parametrize("argv", [("inspect",), ("inspect", "-")], ids=["no-argument", "dash"])
def test_inspect_reads_stdin(capsys, monkeypatch, ltik, argv):
    status, out, err = run(capsys, monkeypatch, *argv, stdin=f"  {ltik}\n")
    assert status == EXIT_OK
    assert parse_ltik(ltik).fingerprint in out
    assert_hidden(ltik, out, err)


@pytest.mark.parametrize(
    "pasted",
    [
        "https://tool.example.com/launch?resource=1&ltik={ltik}",
        "GET /launch?ltik={ltik} HTTP/1.1",
        "ltik={ltik}",
    ],
    ids=["url", "log-line", "query"],
)
def test_inspect_takes_the_launch_url_it_came_in(capsys, monkeypatch, ltik, pasted):
    status, out, err = run(capsys, monkeypatch, "inspect", stdin=pasted.format(ltik=ltik))
    assert status == EXIT_OK
    assert parse_ltik(ltik).fingerprint in out
    assert_hidden(ltik, out, err)


def test_inspect_json(capsys, monkeypatch, ltik):
    status, out, err = run(capsys, monkeypatch, "inspect", "--json", stdin=ltik)
    assert status == EXIT_OK
    report = json.loads(out)
    assert report["status"] == "valid"
    assert report["claims"]["user"] == "ada"
    assert report["expiry_from"] == "exp"
    assert 86000 < report["seconds_left"] <= 86400
    assert report["fingerprint"] == parse_ltik(ltik).fingerprint
    assert report["verified"] is False
    assert_hidden(ltik, out, err)


def test_inspect_an_expired_ltik_exits_3(capsys, monkeypatch, expired_ltik):
    status, out, err = run(capsys, monkeypatch, "inspect", expired_ltik)
    assert status == EXIT_EXPIRED == 3
    assert "EXPIRED" in out
    assert "expired 1 d" in err
    assert_hidden(expired_ltik, out, err)

    status, out, err = run(capsys, monkeypatch, "inspect", "--json", expired_ltik)
    assert status == EXIT_EXPIRED
    assert json.loads(out)["status"] == "expired"
    assert json.loads(out)["seconds_left"] < -86000


def test_inspect_leeway_and_max_age(capsys, monkeypatch):
    now = time.time()
    just_expired = make_ltik(iat=now - 100, exp=now - 5)
    assert run(capsys, monkeypatch, "inspect", just_expired)[0] == EXIT_EXPIRED
    assert run(capsys, monkeypatch, "inspect", "--leeway", "60", just_expired)[0] == EXIT_OK

    no_exp = make_ltik(iat=now - 3600)
    status, out, _ = run(capsys, monkeypatch, "inspect", no_exp)
    assert status == EXIT_OK
    assert "iat + max age" in out
    assert run(capsys, monkeypatch, "inspect", "--max-age", "60", no_exp)[0] == EXIT_EXPIRED


def test_inspect_an_ltik_without_time_claims(capsys, monkeypatch):
    token = make_ltik()
    status, out, _ = run(capsys, monkeypatch, "inspect", "--json", token)
    assert status == EXIT_OK
    assert json.loads(out)["status"] == "unknown expiry"
    status, out, _ = run(capsys, monkeypatch, "inspect", token)
    assert "time left   unknown" in out


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("not-a-token", id="one-part"),
        pytest.param("abc.def.ghi", id="not-base64-json"),
        pytest.param(make_ltik(iat=1).rsplit(".", 1)[0] + ".", id="no-signature"),
        pytest.param("eyJhbGciOiJIUzI1NiJ9.WzEsMl0.c2lnbmF0dXJlLXBhcnQ", id="array-payload"),
        pytest.param(make_ltik(iat=1, pad="x" * 9000), id="oversized"),
        pytest.param(make_ltik(iat="yesterday"), id="iat-not-a-number"),
    ],
)
def test_inspect_a_malformed_ltik_exits_1(capsys, monkeypatch, token):
    status, out, err = run(capsys, monkeypatch, "inspect", stdin=token)
    assert status == EXIT_INVALID == 1
    assert out == ""
    assert err.startswith("ltiaas-auth: invalid ltik: ")
    assert_hidden(token, out, err)

    status, out, err = run(capsys, monkeypatch, "inspect", "--json", stdin=token)
    assert status == EXIT_INVALID
    assert json.loads(out)["status"] == "invalid"
    assert_hidden(token, out, err)


def test_inspect_with_nothing_on_stdin_is_a_usage_error(capsys, monkeypatch):
    status, _, err = run(capsys, monkeypatch, "inspect", stdin="\n")
    assert status == EXIT_USAGE
    assert "no ltik given" in err


# --- header


def test_header_launch_from_the_environment(capsys, monkeypatch, ltik):
    monkeypatch.setenv("LTIAAS_API_KEY", API_KEY)
    monkeypatch.setenv("LTIAAS_LTIK", ltik)
    status, out, err = run(capsys, monkeypatch, "header", "launch")
    assert (status, out, err) == (EXIT_OK, ltik_authorization(API_KEY, ltik) + "\n", "")


@pytest.mark.parametrize("argv", [("header", "launch"), ("header", "launch", "-")], ids=["implicit", "dash"])
def test_header_launch_from_stdin(capsys, monkeypatch, ltik, argv):
    monkeypatch.setenv("LTIAAS_API_KEY", API_KEY)
    status, out, _ = run(capsys, monkeypatch, *argv, stdin=ltik + "\n")
    assert (status, out) == (EXIT_OK, f"LTIK-AUTH-V2 {API_KEY}:{ltik}\n")


def test_header_dash_prefers_stdin_to_the_environment(capsys, monkeypatch, ltik, fake_ltiaas):
    monkeypatch.setenv("LTIAAS_API_KEY", API_KEY)
    monkeypatch.setenv("LTIAAS_LTIK", fake_ltiaas.launch())
    status, out, _ = run(capsys, monkeypatch, "header", "launch", "-", stdin=ltik)
    assert (status, out) == (EXIT_OK, f"LTIK-AUTH-V2 {API_KEY}:{ltik}\n")


def test_header_service_from_the_environment_or_stdin(capsys, monkeypatch):
    monkeypatch.setenv("LTIAAS_API_KEY", API_KEY)
    expected = service_authorization(API_KEY, SERVICE_KEY) + "\n"
    assert run(capsys, monkeypatch, "header", "service", stdin=SERVICE_KEY + "\n")[:2] == (EXIT_OK, expected)
    monkeypatch.setenv("LTIAAS_SERVICE_KEY", SERVICE_KEY)
    assert run(capsys, monkeypatch, "header", "service")[:2] == (EXIT_OK, expected)


def test_header_bearer(capsys, monkeypatch):
    monkeypatch.setenv("LTIAAS_API_KEY", API_KEY)
    assert run(capsys, monkeypatch, "header", "bearer") == (EXIT_OK, f"Bearer {API_KEY}\n", "")


def test_header_output_works_against_ltiaas(capsys, monkeypatch, fake_ltiaas, ltik):
    """The printed value is accepted by (the fake) LTIAAS as it is."""
    monkeypatch.setenv("LTIAAS_API_KEY", fake_ltiaas.api_key)
    _, value, _ = run(capsys, monkeypatch, "header", "launch", stdin=ltik)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(  # noqa: S310 - the fake's loopback URL
        f"{fake_ltiaas.url}/api/idtoken", headers={"Authorization": value.strip()}
    )
    with opener.open(request, timeout=5) as response:
        assert json.load(response)["user"]["id"] == "ada"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(("header", "launch", "{ltik}"), id="ltik-positional"),
        pytest.param(("header", "launch", "--ltik", "{ltik}"), id="ltik-option"),
        pytest.param(("header", "launch", "--ltik={ltik}"), id="ltik-option-equals"),
        pytest.param(("header", "service", "{service}"), id="service-positional"),
        pytest.param(("header", "service", "--service-key", "{service}"), id="service-option"),
        pytest.param(("header", "bearer", "--api-key", "{key}"), id="api-key-option"),
        pytest.param(("header", "launch", "-", "--api-key", "{key}"), id="api-key-with-stdin"),
        pytest.param(("header", "bearer", "{key}"), id="bearer-positional"),
        pytest.param(("header", "bearer", "-"), id="bearer-has-nothing-to-read"),
    ],
)
def test_header_refuses_secrets_on_the_command_line(capsys, monkeypatch, ltik, argv):
    monkeypatch.setenv("LTIAAS_API_KEY", API_KEY)
    values = {"ltik": ltik, "service": SERVICE_KEY, "key": "another-KEY_0123456789"}
    status, out, err = run(capsys, monkeypatch, *(arg.format(**values) for arg in argv), stdin=ltik)
    assert status == EXIT_USAGE == 2
    assert out == ""
    assert "refusing to take a secret from the command line" in err
    assert "LTIAAS_API_KEY" in err
    for secret in (*values.values(), API_KEY):
        assert secret not in err
    assert_hidden(ltik, err)


@pytest.mark.parametrize(
    ("argv", "environment", "stdin", "message"),
    [
        pytest.param(("header", "bearer"), {}, "", "LTIAAS_API_KEY is not set", id="no-api-key"),
        pytest.param(
            ("header", "launch"), {"LTIAAS_API_KEY": API_KEY}, "", "no ltik: set LTIAAS_LTIK", id="no-ltik"
        ),
        pytest.param(
            ("header", "service"),
            {"LTIAAS_API_KEY": API_KEY},
            " \n",
            "no service key: set LTIAAS_SERVICE_KEY",
            id="no-service-key",
        ),
    ],
)
def test_header_without_its_secret_is_a_usage_error(capsys, monkeypatch, argv, environment, stdin, message):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    status, out, err = run(capsys, monkeypatch, *argv, stdin=stdin)
    assert (status, out) == (EXIT_USAGE, "")
    assert message in err


@pytest.mark.parametrize(
    ("api_key", "scheme", "stdin"),
    [
        pytest.param("key\r\nX-Injected: 1", "bearer", "", id="api-key-with-crlf"),
        pytest.param("key with spaces", "bearer", "", id="api-key-with-spaces"),
        pytest.param(API_KEY, "service", "svc key\r\nX: 1", id="service-key-with-crlf"),
        pytest.param(API_KEY, "launch", "eyJhbGciOiJIUzI1NiJ9.e30.sig\nX: 1", id="ltik-with-newline"),
    ],
)
def test_header_refuses_an_invalid_credential_without_echoing_it(capsys, monkeypatch, api_key, scheme, stdin):
    monkeypatch.setenv("LTIAAS_API_KEY", api_key)
    status, out, err = run(capsys, monkeypatch, "header", scheme, stdin=stdin)
    assert (status, out) == (EXIT_INVALID, "")
    assert api_key not in err
    if stdin:
        assert stdin.strip() not in err
        assert "svc key" not in err


def test_header_refuses_an_expired_ltik(capsys, monkeypatch, expired_ltik):
    monkeypatch.setenv("LTIAAS_API_KEY", API_KEY)
    status, out, err = run(capsys, monkeypatch, "header", "launch", stdin=expired_ltik)
    assert (status, out) == (EXIT_EXPIRED, "")
    assert "expired" in err
    assert_hidden(expired_ltik, err)
    assert API_KEY not in err


# --- the parser


def test_argparse_errors_never_quote_a_secret_back(capsys, monkeypatch, ltik):
    status, _, err = run(capsys, monkeypatch, "header", ltik)  # the ltik where the scheme goes
    assert status == EXIT_USAGE
    assert "invalid choice" in err
    assert_hidden(ltik, err)

    status, _, err = run(capsys, monkeypatch, "inspect", "--unknown-option", "supersecretvalue0123456789")
    assert status == EXIT_USAGE
    assert "supersecretvalue0123456789" not in err


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        pytest.param(("s3cret",), "invalid choice: (not shown)", id="command"),
        pytest.param(("header", "s3cret"), "invalid choice: (not shown)", id="choice"),
        pytest.param(("inspect", "-", "s3cret"), "unrecognized arguments: ***", id="extra-argument"),
        pytest.param(
            ("inspect", "--api-kee=s3cret"), "unrecognized arguments: --api-kee=***", id="option-value"
        ),
        pytest.param(("inspect", "--max-age", "s3cret"), "argument --max-age: must be", id="type"),
        pytest.param(("demo", "--port", "s3cret"), "argument --port: must be", id="port"),
        pytest.param(("demo", "--chec=s3cret"), "ignored explicit argument (not shown)", id="flag-value"),
    ],
)
def test_argparse_errors_never_echo_a_short_secret_either(capsys, monkeypatch, argv, shown):
    status, out, err = run(capsys, monkeypatch, *argv)
    assert status == EXIT_USAGE
    assert "s3cret" not in out + err
    assert shown in err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-5", "soon"])
def test_a_bad_max_age_is_a_bad_option_not_a_bad_ltik(capsys, monkeypatch, ltik, value):
    status, out, err = run(capsys, monkeypatch, "inspect", f"--max-age={value}", stdin=ltik)
    assert status == EXIT_USAGE
    assert "argument --max-age: must be a finite number of seconds > 0" in err
    assert "ltik" not in err.rpartition("error:")[2]
    assert out == ""
    status, _, err = run(capsys, monkeypatch, "inspect", f"--leeway={value}", stdin=ltik)
    assert (status == EXIT_USAGE) is (value != "0")


@pytest.mark.parametrize("port", ["-1", "99999", "65536", "http", "1.5"])
def test_demo_refuses_a_port_out_of_range(capsys, monkeypatch, port):
    status, _, err = run(capsys, monkeypatch, "demo", "--check", f"--port={port}")
    assert status == EXIT_USAGE
    assert "argument --port: must be" in err
    assert "Traceback" not in err


def test_inspect_into_a_closed_pipe_ends_without_a_traceback(ltik):
    """``ltiaas-auth inspect ... | head``: the reader has gone before the output is written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ltiaas_auth", "inspect"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # like `head` exiting: every write to stdout now fails with EPIPE
    _, err = process.communicate(ltik.encode(), timeout=30)
    assert process.returncode == EXIT_OK
    assert b"Traceback" not in err
    assert b"BrokenPipeError" not in err
    assert err == b""


def test_no_command_prints_help_and_exits_2(capsys, monkeypatch):
    status, _, err = run(capsys, monkeypatch)
    assert status == EXIT_USAGE
    for command in ("inspect", "header", "demo"):
        assert command in err
    assert "Exit status" in err


def test_python_dash_m_runs_the_command(ltik):
    environment = {**os.environ, "NO_PROXY": "*"}
    version = subprocess.run(
        [sys.executable, "-m", "ltiaas_auth", "--version"], capture_output=True, text=True, check=False
    )
    assert (version.returncode, version.stdout) == (0, f"ltiaas-auth {__version__}\n")

    inspected = subprocess.run(
        [sys.executable, "-m", "ltiaas_auth", "inspect", "--json"],
        input=ltik,
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["claims"]["user"] == "ada"
    assert_hidden(ltik, inspected.stdout, inspected.stderr)
