"""``ltiaas-auth``: look inside an ltik, build an ``Authorization`` value, run the demo or a standalone fake.

Secrets never have to come from the command line, where other users see them in the process list and the
shell keeps them in its history: the API key comes from ``LTIAAS_API_KEY``, ltiks and service keys from
the environment or stdin. Nothing this program prints, on success or failure, holds a whole ltik or a key,
except the ``Authorization`` value ``header`` exists to print.

Exit status (:mod:`ltiaas_auth._exit`): 0 ok; 1 invalid (a malformed ltik or key; a failed ``demo --check``;
a server that could not start, its port taken); 2 usage (bad arguments, a secret on the command line, a
secret missing); 3 the ltik has expired; 4 a missing optional dependency (Flask for the demo, trustme for
``fake --tls``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

import jwt

from ._exit import EXIT_EXPIRED, EXIT_INVALID, EXIT_MISSING_DEPENDENCY, EXIT_OK, EXIT_USAGE, PROG
from .errors import ExpiredLtik, InvalidCredential, InvalidLtik
from .headers import bearer_authorization, ltik_authorization, service_authorization
from .ltik import Ltik, parse_ltik
from .redact import MASK, RedactingFilter

__all__ = [
    "EXIT_EXPIRED",
    "EXIT_INVALID",
    "EXIT_MISSING_DEPENDENCY",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

_ARGV_REFUSED = (
    "refusing to take a secret from the command line: other users can read it in the process list, "
    "and your shell keeps it in its history."
)
_ARGV_LTIK = (
    "note: an ltik given as an argument is visible to other users in the process list (ps) and stays in "
    "your shell history; pipe it on stdin instead (... | ltiaas-auth inspect)."
)
# Long runs of token characters: an argument argparse would quote back in an error may be a secret.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9\-._~+/=:%]{16,}")
_REDACT = RedactingFilter()
_LTIK_PARAMETER = re.compile(r"(?:^|[?&;\s])ltik=([^&#;\s]+)")
_BEARER = re.compile(r"(?:Authorization:\s*)?Bearer\s+", re.IGNORECASE)
# What argparse quotes back from the command line (Python's own message formats): any of it may be a
# secret typed in the wrong place, however short.
_QUOTED = r"(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
_ECHOES = (
    (
        re.compile(rf"(invalid choice: |invalid \w+ value: |ignored explicit argument ){_QUOTED}"),
        r"\1(not shown)",
    ),
    (re.compile(r"(ambiguous option: -[^=\s]*)=\S*"), rf"\1={MASK}"),
)
_UNRECOGNIZED = re.compile(r"unrecognized arguments: (.*)$", re.DOTALL)


def _unechoed(message: str) -> str:
    """argparse's `message` with every value it quotes from the command line masked."""
    for pattern, replacement in _ECHOES:
        message = pattern.sub(replacement, message)
    unrecognized = _UNRECOGNIZED.search(message)
    if unrecognized:
        shown = [
            argument.partition("=")[0] + ("=" + MASK if "=" in argument else "")
            if argument.startswith("-")
            else MASK
            for argument in unrecognized[1].split()
        ]
        message = message[: unrecognized.start(1)] + " ".join(shown)
    return _TOKEN_RUN.sub(MASK, _REDACT.redact(message))


class _Parser(argparse.ArgumentParser):
    """argparse, but an error message never quotes back a command-line value (it may be a secret)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_unechoed(message)}\n")


def _port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535."""
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number from 0 (any free port) to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 (any free port) to 65535")
    return port


def _seconds(*, positive: bool) -> Callable[[str], float]:
    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise argparse.ArgumentTypeError(
                f"must be a finite number of seconds {'> 0' if positive else '>= 0'}"
            )
        return value

    seconds.__name__ = "seconds"
    return seconds


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog=PROG,
        description="Tools for LTIAAS launch tokens (ltik), Authorization headers, a runnable demo, and a "
        "standalone fake LTIAAS for end-to-end tests.",
        epilog="Exit status: 0 ok, 1 invalid (or a port taken), 2 usage, 3 expired ltik, "
        "4 optional dependency missing.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    inspect = commands.add_parser(
        "inspect",
        help="show an ltik's claims and expiry (never its signature)",
        description="Show an ltik's header, claims, issue and expiry times, read without verification "
        "(only LTIAAS can verify an ltik). Exit 1 when it is malformed, 3 when it has expired.",
    )
    inspect.add_argument(
        "ltik",
        nargs="?",
        default="-",
        help="the ltik, a URL with ?ltik= or a 'Bearer <ltik>' value; '-' or nothing reads it from stdin "
        "(better: not in the process list nor the shell history)",
    )
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument(
        "--max-age",
        type=_seconds(positive=True),
        default=86400,
        metavar="SECONDS",
        help="an ltik without exp expires this long after its iat (default: 86400)",
    )
    inspect.add_argument(
        "--leeway",
        type=_seconds(positive=False),
        default=0,
        metavar="SECONDS",
        help="clock skew tolerated on expiry",
    )
    inspect.set_defaults(run=_inspect)

    header = commands.add_parser(
        "header",
        help="print an Authorization value (secrets from the environment or stdin)",
        description="Print the Authorization value for LTIAAS. The API key comes from LTIAAS_API_KEY; "
        "for launch, the ltik from LTIAAS_LTIK or stdin; for service, the service key from "
        "LTIAAS_SERVICE_KEY or stdin. Secrets on the command line are refused (exit 2).",
    )
    header.add_argument(
        "scheme",
        choices=("launch", "service", "bearer"),
        help="launch: LTIK-AUTH-V2; service: SERVICE-AUTH-V1; bearer: the API key alone",
    )
    # Accepted only to be refused with a clear message, rather than argparse quoting the secret back.
    header.add_argument("extra", nargs="?", help=argparse.SUPPRESS)
    for option in ("--api-key", "--ltik", "--service-key"):
        header.add_argument(option, dest="argv_secret", help=argparse.SUPPRESS)
    header.set_defaults(run=_header)

    demo = commands.add_parser(
        "demo",
        help="run the example tool against a local fake LTIAAS and play one launch",
        description="Start FakeLtiaas and the example tool (Flask behind LtiaasMiddleware) on "
        "loopback, play one scripted launch and tell each step, then keep serving with a launch "
        "link to open in a browser, until Ctrl-C. Needs Flask: pip install 'ltiaas-auth[demo]'.",
    )
    demo.add_argument(
        "--check", action="store_true", help="play the scripted launch, check every step, exit 0 or 1"
    )
    demo.add_argument("--host", default="127.0.0.1", help="the tool's address (default: 127.0.0.1)")
    demo.add_argument("--port", type=_port_number, default=0, help="the tool's port (default: a free one)")
    demo.add_argument(
        "--ltiaas-url",
        metavar="URL",
        help="use your LTIAAS account instead of the fake (launch from your LMS); key from LTIAAS_API_KEY",
    )
    demo.add_argument(
        "--api-key",
        metavar="KEY",
        help="the API key for --ltiaas-url; prefer LTIAAS_API_KEY (argv shows in the process list)",
    )
    demo.set_defaults(run=_demo)

    fake = commands.add_parser(
        "fake",
        help="run a fake LTIAAS in the foreground for end-to-end and browser tests",
        description="Run FakeLtiaas until Ctrl-C or SIGTERM, for end-to-end tests in any language "
        "(Playwright, Cypress, docker-compose). It prints LTIAAS_URL=, LTIAAS_API_KEY= (from the "
        "environment, else a new test key) and with --tls LTIAAS_CA_FILE= lines on stdout, at once. "
        "Open LTIAAS_URL in a browser to launch the tool as a sample user.",
    )
    fake.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address (or host name) to listen on (default: 127.0.0.1); beyond loopback needs --tls",
    )
    fake.add_argument("--port", type=_port_number, default=0, help="the port (default: a free one)")
    fake.add_argument(
        "--tool-url",
        metavar="URL",
        help="the tool's launch URL, where launches redirect with ?ltik= (else each launch names tool_url=)",
    )
    fake.add_argument(
        "--tls",
        action="store_true",
        help="serve https under a throwaway CA (its PEM file in LTIAAS_CA_FILE); needs trustme",
    )
    fake.set_defaults(run=_fake)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``ltiaas-auth`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        status = run(args)
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head` closed our stdout: not an error worth a traceback
        _quiet_stdout()
        return EXIT_OK
    return status


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's own flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


# --- inspect


def _inspect(args: argparse.Namespace) -> int:
    if args.ltik != "-":
        print(f"{PROG}: {_ARGV_LTIK}", file=sys.stderr)
    text = _read_stdin("the ltik (or a URL with ?ltik=)") if args.ltik == "-" else args.ltik
    raw = _ltik_in(text.strip())
    if not raw:
        return _fail(EXIT_USAGE, "no ltik given: pass it as an argument, or on stdin.")
    try:
        ltik = parse_ltik(raw, max_age=args.max_age, check_expiry=False)
    except InvalidLtik as error:
        if args.json:
            _print_json({"status": "invalid", "error": error.description})
        return _fail(EXIT_INVALID, f"invalid ltik: {error.description}")
    now = time.time()
    expired = ltik.expired(now, leeway=args.leeway)
    report = _describe(ltik, now, expired)
    if args.json:
        _print_json(report)
    else:
        _print_text(report)
    if expired:
        return _fail(EXIT_EXPIRED, f"the ltik expired {_duration(-report['seconds_left'])} ago.")
    return EXIT_OK


def _ltik_in(text: str) -> str:
    """The token itself, also when pasted as the launch URL (or the log line) it came in, or as the
    ``Bearer <ltik>`` value (or ``Authorization:`` line) a front end sent it in."""
    found = _LTIK_PARAMETER.search(text)
    if found:
        return unquote(found[1])
    bearer = _BEARER.match(text)
    return text[bearer.end() :].strip() if bearer else text


def _describe(ltik: Ltik, now: float, expired: bool) -> dict[str, Any]:
    claims = dict(ltik.claims)
    left = ltik.seconds_left(now)
    if ltik.expires_at is None:
        status, source = "unknown expiry", None
    else:
        status, source = ("expired" if expired else "valid"), ("exp" if "exp" in claims else "iat + max age")
    try:
        header: dict[str, Any] | None = jwt.get_unverified_header(ltik.raw)
    except jwt.PyJWTError:
        header = None
    return {
        "fingerprint": ltik.fingerprint,
        "length": len(ltik.raw),
        "header": header,
        "claims": claims,
        "issued_at": _iso(ltik.issued_at),
        "expires_at": _iso(ltik.expires_at),
        "expiry_from": source,
        "seconds_left": None if left is None else round(left, 3),
        "status": status,
        "verified": False,
    }


def _print_text(report: dict[str, Any]) -> None:
    left = report["seconds_left"]
    expires = report["expires_at"] or "unknown (no exp, no iat)"
    if report["expiry_from"] == "iat + max age":
        expires += "  (iat + max age: no exp claim)"
    if left is None:
        time_left = "unknown"
    elif left >= 0:
        time_left = _duration(left)
    else:
        time_left = f"none: expired {_duration(-left)} ago"
    status = {
        "valid": "not expired (unverified: only LTIAAS can check the signature)",
        "expired": "EXPIRED",
        "unknown expiry": "expiry unknown (unverified: LTIAAS decides)",
    }[report["status"]]
    rows = [
        ("fingerprint", f"{report['fingerprint']}  ({report['length']} characters; signature not shown)"),
        ("header", json.dumps(report["header"])),
        ("issued", report["issued_at"] or "unknown (no iat)"),
        ("expires", expires),
        ("time left", time_left),
        ("status", status),
    ]
    for name, value in rows:
        print(f"{name:<12}{value}")
    print("claims")
    for line in json.dumps(report["claims"], indent=2, sort_keys=True).splitlines():
        print(f"  {line}")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _duration(seconds: float) -> str:
    """``2 d 3 h``, ``5 h 12 min``, ``42 s``: the two largest units."""
    total = int(seconds)
    parts = [
        (total // 86400, "d"),
        (total % 86400 // 3600, "h"),
        (total % 3600 // 60, "min"),
        (total % 60, "s"),
    ]
    shown = [f"{value} {unit}" for value, unit in parts if value][:2]
    return " ".join(shown) or "0 s"


# --- header


def _header(args: argparse.Namespace) -> int:
    scheme: str = args.scheme
    if args.argv_secret is not None or (args.extra is not None and (args.extra != "-" or scheme == "bearer")):
        source = {"launch": "LTIAAS_LTIK or stdin", "service": "LTIAAS_SERVICE_KEY or stdin"}.get(scheme)
        where = "set LTIAAS_API_KEY" + (f", and give the {scheme} secret through {source}" if source else "")
        return _fail(EXIT_USAGE, f"{_ARGV_REFUSED} Instead, {where}.")
    api_key = _environ("LTIAAS_API_KEY")
    if not api_key:
        return _fail(EXIT_USAGE, "LTIAAS_API_KEY is not set.")
    try:
        if scheme == "bearer":
            value = bearer_authorization(api_key)
        elif scheme == "service":
            service_key = _secret("LTIAAS_SERVICE_KEY", "the service key", args.extra)
            if not service_key:
                return _fail(EXIT_USAGE, "no service key: set LTIAAS_SERVICE_KEY or pipe it on stdin.")
            value = service_authorization(api_key, service_key)
        else:
            raw = _secret("LTIAAS_LTIK", "the ltik", args.extra)
            if not raw:
                return _fail(EXIT_USAGE, "no ltik: set LTIAAS_LTIK or pipe it on stdin.")
            value = ltik_authorization(api_key, parse_ltik(raw))
    except ExpiredLtik as error:
        return _fail(EXIT_EXPIRED, error.description)
    except (InvalidLtik, InvalidCredential) as error:  # their text never holds the value
        return _fail(EXIT_INVALID, error.description)
    print(value)
    return EXIT_OK


def _secret(variable: str, what: str, argument: str | None) -> str:
    """``variable``'s value, else stdin (always stdin for an explicit ``-``)."""
    value = "" if argument == "-" else _environ(variable)
    return value or _read_stdin(what).strip()


# --- demo


def _demo(args: argparse.Namespace) -> int:
    api_key = None
    if args.ltiaas_url is None and args.api_key is not None:
        return _fail(EXIT_USAGE, "--api-key goes with --ltiaas-url (the fake LTIAAS makes its own key).")
    if args.ltiaas_url is not None:
        if args.api_key is not None:
            print(
                f"{PROG}: note: prefer LTIAAS_API_KEY to --api-key, which shows in the process list.",
                file=sys.stderr,
            )
        api_key = args.api_key or _environ("LTIAAS_API_KEY") or None
    from .demo.runner import run

    try:
        return run(
            check=args.check,
            host=args.host,
            port=args.port,
            ltiaas_url=args.ltiaas_url,
            api_key=api_key,
            out=sys.stdout,
            err=sys.stderr,
        )
    except OSError as error:  # the tool's address is taken or cannot be bound
        return _fail(EXIT_INVALID, f"the demo could not start: {error.strerror or error}")


# --- fake


def _fake(args: argparse.Namespace) -> int:
    """FakeLtiaas in the foreground: export lines on stdout at once, until SIGINT or SIGTERM."""
    from .testing import FakeLtiaas

    if args.tool_url is not None:
        parts = urlsplit(args.tool_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return _fail(EXIT_USAGE, "--tool-url must be an absolute http:// or https:// URL.")
    api_key = _environ("LTIAAS_API_KEY") or None
    try:
        fake = FakeLtiaas(api_key, host=args.host, port=args.port, tool_url=args.tool_url, tls=args.tls)
    except ValueError as error:  # a key outside token68, a host beyond loopback without --tls
        return _fail(EXIT_USAGE, f"{error}{' (from LTIAAS_API_KEY)' if 'api_key' in str(error) else ''}.")
    except RuntimeError as error:  # trustme is missing
        return _fail(EXIT_MISSING_DEPENDENCY, str(error))
    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            fake.start()
        except OSError as error:  # the port is taken, the address is not this machine's
            reason = error.strerror or type(error).__name__
            return _fail(EXIT_INVALID, f"the fake could not listen on {args.host}:{args.port}: {reason}.")
        try:
            lines = {"LTIAAS_URL": fake.url, "LTIAAS_API_KEY": fake.api_key}
            if fake.ca_file is not None:
                lines["LTIAAS_CA_FILE"] = fake.ca_file
            for name, value in lines.items():
                print(f"{name}={shlex.quote(value)}")
            sys.stdout.flush()
            print(
                f"{PROG}: FakeLtiaas on {fake.url}; open it in a browser to launch a tool; "
                "Ctrl-C (or SIGTERM) stops it.",
                file=sys.stderr,
                flush=True,
            )
            while not stop.wait(0.5):
                pass
        finally:
            fake.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"{PROG}: FakeLtiaas stopped.", file=sys.stderr, flush=True)
    return EXIT_OK


# --- shared


def _environ(variable: str) -> str:
    """An environment variable's value without the white space around it (one set from a file often
    ends in a newline)."""
    return os.environ.get(variable, "").strip()


def _read_stdin(what: str) -> str:
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        print(f"Paste {what}, then press Enter and Ctrl-D:", file=sys.stderr)
    return sys.stdin.read()


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _fail(status: int, message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return status
