"""``ltiaas-auth demo``: FakeLtiaas and the demo tool on loopback, one scripted launch, then a browser link.

The scripted launch does what a browser and an LMS would: LTIAAS redirects to the tool with ``?ltik=``, the
page's script calls the tool's API with ``Authorization: Bearer <ltik>``, the tool calls LTIAAS for the
roster and a grade. Each step is checked and told. Every line printed goes through
:class:`ltiaas_auth.RedactingFilter` as well, so no key or whole ltik is ever shown, except the one launch
link printed for a person to click in interactive mode.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import IO, TYPE_CHECKING, Any
from urllib.error import HTTPError
from urllib.parse import urlencode

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .._exit import EXIT_INVALID, EXIT_MISSING_DEPENDENCY, EXIT_OK, EXIT_USAGE
from ..redact import RedactingFilter, redact_url

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from ..config import LtiaasConfig
    from ..testing import FakeLtiaas

__all__ = ["Report", "ToolServer", "run", "scripted_launch"]

COURSE_ID = "demo-course"
COURSE_TITLE = "Introduction to Computing"
LINK_ID = "demo-activity"
CLASSMATES = (("grace", "Grace Hopper", ("Instructor",)), ("alan", "Alan Turing", ("Learner",)))
LEARNER = ("ada", "Ada Lovelace")
VISITOR = ("katherine", "Katherine Johnson")
SCORE = 8

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only: no proxy


class Report:
    """What the demo prints: numbered steps and ``[ok]``/``[FAIL]`` checks, every line redacted."""

    def __init__(self, out: IO[str], redactor: RedactingFilter) -> None:
        self.out = out
        self.redactor = redactor
        self.checks = 0
        self.failures = 0

    def line(self, text: str = "") -> None:
        self.out.write(self.redactor.redact(text) + "\n")
        self.out.flush()

    def step(self, number: int, text: str) -> None:
        self.line()
        self.line(f"{number}. {text}")

    def check(self, ok: bool, text: str, *details: str) -> bool:
        """One check: ``text`` after its mark, each of ``details`` on a line of its own below."""
        self.checks += 1
        self.failures += not ok
        self.line(f"   [{'ok' if ok else 'FAIL'}] {text}")
        for detail in details:
            self.line(f"          {detail}")
        return ok


class ToolServer:
    """A WSGI app on a threaded werkzeug server in a background thread; ``with`` starts and stops it.

    Its request log, off until ``request_log`` is set, shows each URL with the ltik masked
    (:func:`ltiaas_auth.redact_url`): access logs are where ltiks in URLs usually leak.
    """

    def __init__(self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> None:
        self.request_log: Callable[[str], None] | None = None
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_handler_for(self)
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host = self._server.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
            host = "127.0.0.1"
        return f"http://{f'[{host}]' if ':' in host else host}:{self._server.port}"

    def __enter__(self) -> ToolServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_for(tool: ToolServer) -> type[WSGIRequestHandler]:
    redactor = RedactingFilter()

    class Handler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if tool.request_log is not None:
                tool.request_log(f"[tool] {self.command} {redact_url(self.path)} -> {code}")

        def log(self, type: str, message: str, *args: Any) -> None:
            if tool.request_log is not None:
                tool.request_log(f"[tool] {type}: {redactor.redact(message % args if args else message)}")

    return Handler


#: What the demo imports, each with the modules that would do (the API client takes httpx or httpx2).
_DEMO_NEEDS = (("Flask", ("flask",)), ("httpx", ("httpx", "httpx2")))


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def run(
    *,
    check: bool,
    host: str = "127.0.0.1",
    port: int = 0,
    ltiaas_url: str | None = None,
    api_key: str | None = None,
    out: IO[str],
    err: IO[str],
    wait: Callable[[], None] | None = None,
) -> int:
    """The demo; returns the exit status (see :mod:`ltiaas_auth._exit`): 0, or 1 when a check failed, 2 for
    options that do not go together, 4 without Flask. ``wait`` blocks while the demo serves (by default
    until Ctrl-C); ``--check`` does not serve on."""
    missing = [name for name, alternatives in _DEMO_NEEDS if not any(map(_importable, alternatives))]
    if missing:
        err.write(
            "ltiaas-auth demo: the demo tool is a Flask app calling LTIAAS through the API client, and "
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed.\n"
            "Install the demo extra (from a clone):  pip install -e '.[demo]'\n"
        )
        return EXIT_MISSING_DEPENDENCY
    from ..config import LtiaasConfig
    from ..testing import FakeLtiaas
    from .app import create_app

    wait = wait or _until_interrupted
    if ltiaas_url is not None:
        if check:
            err.write("ltiaas-auth demo: --check needs the built-in fake LTIAAS; drop --ltiaas-url.\n")
            return EXIT_USAGE
        if not api_key:
            err.write("ltiaas-auth demo: --ltiaas-url needs an API key: set LTIAAS_API_KEY.\n")
            return EXIT_USAGE
        try:
            config = LtiaasConfig(api_key, ltiaas_url)
        except ValueError as error:  # its text never holds the key
            err.write(f"ltiaas-auth demo: {error}\n")
            return EXIT_USAGE
        report = Report(out, RedactingFilter(config))
        with ToolServer(create_app(config), host, port) as tool:
            _real_ltiaas(report, tool, config)
            tool.request_log = report.line
            wait()
        report.line("Stopped.")
        return EXIT_OK

    with FakeLtiaas() as fake:
        config = fake.config()
        report = Report(out, RedactingFilter(config))
        with ToolServer(create_app(config), host, port) as tool:
            report.line("ltiaas-auth demo: one LTI launch, step by step, against a local fake LTIAAS.")
            report.line()
            report.line(f"  LTIAAS (FakeLtiaas)  {fake.url}")
            report.line(f"  example tool         {tool.url}  (Flask behind LtiaasMiddleware)")
            shown = repr(config).partition(", idtoken_ttl")[0]  # where the key would be: '***'
            report.line(f"  the tool's config    {shown}, ...)")
            try:
                scripted_launch(report, fake, config, tool.url)
            except Exception as error:  # a step that broke is told, and the rest of the demo still ends
                report.check(False, f"the scripted launch stopped: {type(error).__name__}: {error}")
            report.line()
            if report.failures:
                report.line(f"{report.failures} of {report.checks} checks FAILED.")
            else:
                report.line(f"All {report.checks} checks passed.")
            if check:
                return EXIT_INVALID if report.failures else EXIT_OK
            visitor_id, visitor = VISITOR
            ltik = _launch(fake, visitor_id, visitor, ("Learner",))
            report.line()
            report.line(
                f"The tool keeps serving. Open this launch (a fresh ltik for {visitor}) in a browser;"
            )
            report.line("it carries a credential, so open it only here:")
            # The one place a whole ltik is shown, on purpose: a person needs a link to click.
            out.write(f"\n  {tool.url}/launch?{urlencode({'ltik': ltik})}\n\n")
            report.line("Press Ctrl-C to stop. Requests to the tool (ltiks masked):")
            tool.request_log = report.line
            wait()
        report.line("Stopped.")
        return EXIT_INVALID if report.failures else EXIT_OK


def scripted_launch(report: Report, fake: FakeLtiaas, config: LtiaasConfig, tool_url: str) -> None:
    """The scripted launch against ``fake`` and the demo tool at ``tool_url``, each step checked."""
    for user_id, name, roles in CLASSMATES:
        _launch(fake, user_id, name, roles)
    learner_id, learner = LEARNER
    ltik = _launch(fake, learner_id, learner, ("Learner",))
    answers: list[_Answer] = []

    report.step(1, f'Three people launch the tool from the example LMS in "{COURSE_TITLE}":')
    report.line(f"   Grace Hopper (Instructor), Alan Turing and {learner}. LTIAAS mints an ltik for each.")

    report.step(2, f"LTIAAS redirects {learner}'s browser to the tool's launch URL with ?ltik=:")
    report.line(f"     GET {tool_url}/launch?ltik=<{_short(ltik)}>")
    page = _call(f"{tool_url}/launch?{urlencode({'ltik': ltik})}", accept="text/html")
    answers.append(page)
    text = page.body.decode("utf-8", "replace")
    report.check(
        page.status == 200 and learner in text and COURSE_TITLE in text,
        f'{page.status} {page.content_type}: "Hello, {learner}", course "{COURSE_TITLE}" (from the idtoken)',
    )
    report.check(
        page.header("Referrer-Policy") == "no-referrer",
        f"Referrer-Policy: {page.header('Referrer-Policy')}, added by the middleware: the ltik is in the URL",
    )
    report.check(
        page.header("Cache-Control") == "no-store" and "nonce-" in page.header("Content-Security-Policy"),
        "Cache-Control: no-store; Content-Security-Policy: only the page's own script may run",
    )
    report.check(
        config.api_key not in text and ltik not in text,
        "the page holds neither the API key nor the ltik",
        "its script reads the ltik from the address bar, removes it there (history.replaceState)",
        "and keeps it in memory",
    )

    report.step(3, "The page's script calls the tool's own API with Authorization: Bearer <ltik>:")
    roster = _call(f"{tool_url}/api/roster", bearer=ltik)
    answers.append(roster)
    members = roster.json().get("members", []) if roster.status == 200 else []
    names = [member["name"] for member in members]
    listed = ", ".join(
        f"{member['name']} ({', '.join(member['roles'])}{', you' if member['you'] else ''})"
        for member in members
    )
    report.check(
        roster.status == 200 and sorted(names) == sorted([name for _, name, _ in CLASSMATES] + [learner]),
        f"GET /api/roster -> {roster.status}: {listed or roster.code()}",
    )
    graded = _call(f"{tool_url}/api/grade", bearer=ltik, body={"scoreGiven": SCORE})
    answers.append(graded)
    result = graded.json() if graded.status == 200 else {}
    shown = (
        f"the LMS gradebook shows {result.get('scoreGiven')} / {result.get('scoreMaximum')} "
        f"for {result.get('lineItem')}"
        if result
        else graded.code()
    )
    report.check(
        graded.status == 200 and result.get("scoreGiven") == SCORE,
        f'POST /api/grade {{"scoreGiven": {SCORE}}} -> {graded.status}: {shown}',
    )

    report.step(4, "What LTIAAS received from the tool's back end (Authorization from the current launch):")
    calls = list(fake.calls)
    for call in calls:
        query = f"?{urlencode(call.query)}" if call.query else ""
        scheme = call.scheme or "none"
        report.line(f"     {call.method:<5}{_middle(call.path + query, 62):<64}{call.status}  [{scheme}]")
    fetches = sum(call.path == "/api/idtoken" for call in calls)
    report.check(
        fetches == 1,
        f"the idtoken was fetched once for three requests: FakeLtiaas recorded {fetches} GET /api/idtoken",
    )
    report.check(
        bool(calls)
        and all(call.scheme == "LTIK-AUTH-V2" for call in calls)
        and all(call.status is not None and 200 <= call.status < 300 for call in calls),
        "every call carried the current launch's header (LTIK-AUTH-V2) and succeeded",
    )
    info = config.cache_info()
    report.check(
        info.fetches == 1 and info.misses == 1,
        f"config.cache_info(): hits={info.hits} misses={info.misses} fetches={info.fetches} "
        f"size={info.size}: one fetch, then cache hits",
    )

    report.step(5, "Requests the middleware refuses, answered in LTIAAS's error shape:")
    missing = _call(f"{tool_url}/api/roster")
    answers.append(missing)
    challenge = missing.header("WWW-Authenticate")
    report.check(
        missing.status == 401 and missing.code() == "MISSING_LTIK" and challenge == "Bearer",
        f"no ltik -> {missing.status} {missing.code()}, WWW-Authenticate: {challenge}",
    )
    expired_ltik = _launch(
        fake, learner_id, learner, ("Learner",), issued_at=time.time() - 2 * fake.ltik_lifetime
    )
    before = len(fake.calls)
    expired = _call(f"{tool_url}/api/roster", bearer=expired_ltik)
    answers.append(expired)
    report.check(
        expired.status == 401 and expired.code() == "LTIK_EXPIRED" and len(fake.calls) == before,
        f"an expired ltik -> {expired.status} {expired.code()}, refused locally: LTIAAS was not called",
    )
    forged = _call(f"{tool_url}/api/roster", bearer=_forged(ltik, user="grace"))
    answers.append(forged)
    report.check(
        forged.status == 401 and forged.code() == "INVALID_LTIK",
        f"a forged ltik (claims changed, signature kept) -> {forged.status} {forged.code()}",
        "it reads fine locally; LTIAAS, the only one who can verify an ltik, refused it",
    )
    report.check(
        not any(config.api_key.encode() in answer.body for answer in answers),
        "no answer of the tool contained the API key",
    )


def _real_ltiaas(report: Report, tool: ToolServer, config: LtiaasConfig) -> None:
    report.line(f"ltiaas-auth demo: the example tool, for your LTIAAS account at {config.base_url}")
    report.line()
    report.line(f"  example tool  {tool.url}  (Flask behind LtiaasMiddleware)")
    report.line()
    report.line("A scripted launch needs the fake LTIAAS; a real launch starts in an LMS:")
    report.line(f"  1. In the LTIAAS portal, set the tool's launch URL to {tool.url}/launch")
    report.line("     (LTIAAS redirects the browser there, so a local address works for a browser")
    report.line("     on this machine; --port keeps the URL the same from one run to the next).")
    report.line(
        "  2. Launch the tool from a course in your LMS: the page shows you, your course and its roster."
    )
    report.line()
    report.line("Press Ctrl-C to stop. Requests to the tool (ltiks masked):")


def _until_interrupted() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


def _launch(
    fake: FakeLtiaas, user_id: str, name: str, roles: tuple[str, ...], issued_at: float | None = None
) -> str:
    return fake.launch(
        user_id=user_id,
        name=name,
        email=f"{user_id}@example.edu",
        roles=roles,
        context_id=COURSE_ID,
        context_title=COURSE_TITLE,
        resource_link_id=LINK_ID,
        issued_at=issued_at,
    )


def _short(ltik: str) -> str:
    """How the demo names an ltik: its fingerprint and size, never the token."""
    from ..ltik import parse_ltik

    return f"ltik {parse_ltik(ltik, check_expiry=False).fingerprint}, {len(ltik)} characters"


def _middle(text: str, width: int) -> str:
    """``text`` cut in the middle to at most ``width`` characters."""
    if len(text) <= width:
        return text
    half = (width - 3) // 2
    return f"{text[:half]}...{text[-(width - 3 - half) :]}"


def _forged(ltik: str, **claims: Any) -> str:
    """``ltik`` with some claims changed and its original signature: readable, but not LTIAAS's."""
    header, payload, signature = ltik.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**decoded, **claims}).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.header("Content-Type").partition(";")[0]

    def header(self, name: str) -> str:
        return str(self.headers.get(name, ""))

    def json(self) -> Any:
        return json.loads(self.body)

    def code(self) -> str | None:
        """``details.message`` of an LTIAAS-shaped error body."""
        try:
            return str(self.json()["details"]["message"])
        except (ValueError, KeyError, TypeError):
            return None


def _call(
    url: str, *, bearer: str | None = None, body: Any = None, accept: str = "application/json"
) -> _Answer:
    """One request to the tool, as its page would make it."""
    headers = {"Accept": accept}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - the local tool
    try:
        with _DIRECT.open(request, timeout=10) as response:
            return _Answer(response.status, response.headers, response.read())
    except HTTPError as error:
        with error:
            return _Answer(error.code, error.headers, error.read())
