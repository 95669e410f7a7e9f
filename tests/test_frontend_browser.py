"""``ltik.js`` in a real headless Chromium: the ltik carried from page to page, and nowhere else.

The two examples (``examples/multipage``: Flask, server-rendered; ``examples/spa``: FastAPI, fetch and
XMLHttpRequest) run on loopback against a FakeLtiaas with ``prefetch_idtoken`` on, so only launches LTIAAS
accepts reach the app. Each server records every request and which launch it ran as
(``frontend_helpers.RequestLog``), so the tests prove what reached the server, not only what the page
shows. One browser serves the whole module; each test works in tabs of its own (a fresh
``sessionStorage``). Locally a missing Chromium skips; under ``CI=true`` it fails.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode

import pytest
from frontend_helpers import (
    RequestLog,
    Served,
    asgi_server,
    chromium,
    cors_server,
    history_urls,
    launch_logging,
    probe_app,
    until,
)

from examples.multipage.app import create_app as create_multipage
from examples.spa.app import create_app as create_spa
from ltiaas_auth import parse_ltik
from ltiaas_auth.demo.runner import ToolServer
from ltiaas_auth.extract import from_query
from ltiaas_auth.testing import FakeLtiaas

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- the servers and the browser, once for the module


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


@pytest.fixture(scope="session")
def multipage(fake: FakeLtiaas) -> Iterator[tuple[str, RequestLog]]:
    log = RequestLog()
    app = create_multipage(fake.config())
    app.wsgi_app = log.wsgi(app.wsgi_app)  # type: ignore[method-assign]
    with launch_logging("examples.multipage.app"), ToolServer(app) as server:
        yield server.url, log


@pytest.fixture(scope="session")
def spa(fake: FakeLtiaas) -> Iterator[tuple[str, RequestLog]]:
    log = RequestLog()
    with launch_logging("examples.spa.app"), asgi_server(log.asgi(create_spa(fake.config()))) as url:
        yield url, log


@pytest.fixture(scope="session")
def probe(fake: FakeLtiaas) -> Iterator[tuple[str, RequestLog]]:
    log = RequestLog()
    with ToolServer(log.wsgi(probe_app(fake.config()))) as server:
        yield server.url, log


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium") / "profile") as driver:
        yield driver


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A new tab (its own sessionStorage and history), closed afterwards."""
    home = browser.current_window_handle
    browser.switch_to.new_window("tab")
    try:
        yield browser
    finally:
        for handle in browser.window_handles:
            if handle != home:
                browser.switch_to.window(handle)
                browser.close()
        browser.switch_to.window(home)


# --- helpers


def launch(driver: Any, fake: FakeLtiaas, log: RequestLog, tool_url: str, fragment: str, **user: str) -> str:
    """A launch as LTIAAS runs it: the browser opens the fake's launch URL, which answers 302 to the tool
    with ``?ltik=`` (the fragment carried over the redirect); the ltik the tool received."""
    mark = log.mark()
    go(driver, f"{fake.url}/lti/launch?{urlencode({**user, 'tool_url': tool_url})}#{fragment}")
    until(driver, lambda d: log.since(mark), "the launch to reach the tool")
    [ltik] = from_query(log.since(mark)[0].query)
    return ltik


def fingerprint(ltik: str) -> str:
    return parse_ltik(ltik).fingerprint


def go(driver: Any, url: str) -> None:
    driver.get(url)


def text(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, element_id).text)


def click(driver: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, element_id).click()


def shows(element_id: str, expected: str) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def check(driver: Any) -> bool:
        try:
            return expected in text(driver, element_id)
        except (NoSuchElementException, StaleElementReferenceException):
            return False

    return check


def at(url: str) -> Any:
    return lambda driver: driver.current_url == url


def reloaded(driver: Any, element_id: str, expected: str) -> None:
    """Reload and wait for the page to show ``expected`` again (through the rejection page, if it comes)."""
    driver.refresh()
    until(driver, shows(element_id, expected), f"{element_id} to show {expected!r} after the reload")


def assert_served_as(entries: list[Served], ltik: str) -> None:
    """Every request ran as the launch of ``ltik``, except the rejection pages of navigations that came
    without it (a reload, back), each followed by the same page asked again with the tab's ltik."""
    assert entries, "no request reached the server"
    expected = fingerprint(ltik)
    for index, entry in enumerate(entries):
        if entry.status == 401:
            assert entry.fetch_mode == "navigate", entry
            assert not entry.carries(ltik), entry
            assert not entry.app_ran, entry
            again = entries[index + 1] if index + 1 < len(entries) else None
            assert again is not None, entry
            assert (again.path, again.launch) == (entry.path, expected), (entry, again)
            continue
        assert entry.status is not None, entry
        assert entry.status < 400, entry
        assert entry.app_ran, entry
        assert entry.launch == expected, entry


def assert_no_trace_in_the_browser(driver: Any, ltik: str) -> None:
    assert driver.execute_script("return document.cookie") == ""
    assert ltik not in driver.execute_script("return JSON.stringify(Object.entries(localStorage))")
    assert driver.execute_script("return localStorage.length") == 0
    assert ltik not in driver.current_url
    urls = history_urls(driver)
    assert driver.execute_script("return history.length") == len(urls)  # the browser's list, whole
    for url in urls:
        assert "ltik=" not in url, url
        assert ltik not in url, url
    assert ltik not in driver.page_source


def body_says(attribute: str, value: str) -> Any:
    return lambda driver: driver.find_element("tag name", "body").get_attribute(attribute) == value


def ready(driver: Any) -> bool:
    return bool(driver.execute_script("return document.documentElement.dataset.ready === 'yes'"))


def relaunch_code(driver: Any) -> Any:
    """The error code the middleware's relaunch page names on its ``<html>`` element."""
    return driver.execute_script("return document.documentElement.getAttribute('data-ltiaas-error')")


def tab_ltik(driver: Any) -> Any:
    return driver.execute_script("return sessionStorage.getItem('ltiaas.ltik')")


# --- the multi-page example


def test_multipage_carries_the_launch_through_links_forms_fetch_reload_and_back(
    tab: Any, fake: FakeLtiaas, multipage: tuple[str, RequestLog], tmp_path: Path
) -> None:
    base, log = multipage
    mark = log.mark()

    # The launch: other parameters and the fragment stay; the ltik leaves the address bar at once.
    ltik = launch(
        tab, fake, log, f"{base}/launch?view=full&lang=en", "welcome", user_id="ada", name="Ada Lovelace"
    )
    until(tab, at(f"{base}/launch?view=full&lang=en#welcome"), "the ltik to leave the address bar")
    assert text(tab, "to-notes") == "Your notes"
    assert tab_ltik(tab) == ltik
    assert tab.execute_script("return window.ltiaas.ltik") == ltik

    # A link to page 2 (the ltik rides in its query string, and page 2 strips it again).
    click(tab, "to-notes")
    until(tab, at(f"{base}/notes?sort=new#list"), "page 2 without the ltik in its address")

    # An urlencoded form POST.
    tab.find_element("id", "note").send_keys("Light is a wave")
    click(tab, "add")
    until(tab, shows("list", "Light is a wave"), "the note")
    until(tab, at(f"{base}/notes"), "the posted page without the ltik")
    # The page holds no ltik in its markup: the form's action was lent it only for the submission.
    action = tab.execute_script("return document.getElementById('note-form').getAttribute('action')")
    assert action == "/notes"
    # Reloading the posted page asks for it again (GET, through the rejection page): nothing is posted twice.
    reloaded(tab, "list", "Light is a wave")
    assert text(tab, "list") == "Light is a wave"

    # A multipart form POST with a file.
    upload = tmp_path / "lab report.txt"
    upload.write_bytes(b"x" * 1234)
    click(tab, "to-home")
    until(tab, at(f"{base}/launch"), "home")
    click(tab, "to-upload")
    until(tab, at(f"{base}/upload"), "the upload page")
    tab.find_element("id", "title").send_keys("Lab 1")
    tab.find_element("id", "file").send_keys(str(upload))
    click(tab, "send")
    until(tab, shows("received", "Lab 1: lab report.txt, 1234 bytes, for Ada Lovelace"), "the upload")

    # A fetch.
    click(tab, "upload-home")
    until(tab, at(f"{base}/launch"), "home")
    click(tab, "whoami")
    until(tab, shows("me", "Ada Lovelace (ada)"), "the fetch's answer")

    # A reload: the navigation comes without the ltik; the rejection page asks again with the tab's.
    reloaded(tab, "whoami", "Who am I?")
    until(tab, at(f"{base}/launch"), "home, after the reload")

    # Back (to the upload result, which the browser must ask for again: no-store).
    tab.back()
    until(tab, at(f"{base}/upload"), "the upload page after back")
    until(tab, shows("send", "Send"), "the upload page after back")

    entries = log.since(mark)
    assert_served_as(entries, ltik)
    posts = [entry for entry in entries if entry.method == "POST"]
    assert [entry.path for entry in posts] == ["/notes", "/upload"]
    assert all(ltik in entry.query for entry in posts)  # carried in the action URL, both encodings
    fetches = [entry for entry in entries if entry.path == "/api/me"]
    assert [entry.authorization for entry in fetches] == [f"Bearer {ltik}"]
    assert sum(entry.status == 401 for entry in entries) == 3  # the reloads and back: the rejection way
    assert_no_trace_in_the_browser(tab, ltik)
    assert tab_ltik(tab) == ltik


def test_two_tabs_two_launches_stay_apart(
    tab: Any, fake: FakeLtiaas, multipage: tuple[str, RequestLog]
) -> None:
    base, log = multipage
    first = fake.launch(user_id="ada", name="Ada Lovelace")
    second = fake.launch(user_id="grace", name="Grace Hopper", roles=["Instructor"])
    go(tab, f"{base}/launch?{urlencode({'ltik': first})}")
    until(tab, at(f"{base}/launch"), "tab 1 launched")
    one = tab.current_window_handle
    tab.switch_to.new_window("tab")
    go(tab, f"{base}/launch?{urlencode({'ltik': second})}")
    until(tab, at(f"{base}/launch"), "tab 2 launched")
    two = tab.current_window_handle

    for handle, ltik, name in ((one, first, "Ada Lovelace"), (two, second, "Grace Hopper")) * 2:
        tab.switch_to.window(handle)
        mark = log.mark()
        click(tab, "whoami")
        until(tab, shows("me", name), f"{name}'s fetch")
        click(tab, "to-notes")
        until(tab, at(f"{base}/notes?sort=new#list"), "notes")
        reloaded(tab, "add", "Add")
        tab.back()
        until(tab, at(f"{base}/launch"), "home again")
        until(tab, shows("whoami", "Who am I?"), "home again")
        assert_served_as(log.since(mark), ltik)
        assert tab_ltik(tab) == ltik
        assert_no_trace_in_the_browser(tab, ltik)


# --- the single-page example


def test_spa_fetch_and_xhr_carry_the_launch_through_reload_and_back(
    tab: Any, fake: FakeLtiaas, spa: tuple[str, RequestLog]
) -> None:
    base, log = spa
    mark = log.mark()
    ltik = launch(tab, fake, log, f"{base}/app?tab=1", "top", user_id="alan", name="Alan Turing")
    until(tab, at(f"{base}/app?tab=1#top"), "the ltik to leave the address bar")

    click(tab, "whoami")  # fetch
    until(tab, shows("me", "Alan Turing (alan)"), "the fetch's answer")
    click(tab, "nav-notes")  # routed by the page: pushState, no request
    until(tab, body_says("data-notes", "0"), "the notes (XHR)")
    tab.find_element("id", "note").send_keys("Enigma")
    click(tab, "add")  # XHR POST
    until(tab, shows("list", "Enigma"), "the note, posted by XHR")

    reloaded(tab, "list", "Enigma")  # /app/notes again, its notes by XHR
    until(tab, at(f"{base}/app/notes"), "the notes view after the reload")
    tab.back()  # to /app?tab=1#top: another document, asked for again
    until(tab, at(f"{base}/app?tab=1#top"), "home after back")
    until(tab, body_says("data-view", "home"), "home view")
    click(tab, "whoami")
    until(tab, shows("me", "Alan Turing (alan)"), "the fetch after back")

    entries = log.since(mark)
    assert_served_as(entries, ltik)
    api = [entry for entry in entries if entry.path.startswith("/api/")]
    assert {entry.authorization for entry in api} == {f"Bearer {ltik}"}
    assert not any(ltik in entry.query for entry in api)
    assert [(entry.method, entry.path) for entry in api].count(("POST", "/api/notes")) == 1
    assert sum(entry.status == 401 for entry in entries) == 2
    assert_no_trace_in_the_browser(tab, ltik)


# --- nothing cross-origin


def test_cross_origin_requests_never_carry_the_ltik(
    tab: Any, fake: FakeLtiaas, probe: tuple[str, RequestLog]
) -> None:
    base, log = probe
    ltik = fake.launch()
    with cors_server() as (elsewhere, received):
        page = f"{base}/page?{urlencode({'ltik': ltik, 'to': elsewhere + '/nav'})}"
        go(tab, page)
        until(tab, at(f"{base}/page?{urlencode({'to': elsewhere + '/nav'})}"), "the launched probe page")
        localhost = elsewhere.replace("127.0.0.1", "localhost")  # same port, another origin still
        answers = tab.execute_async_script(
            """
            const [other, localhost, done] = arguments;
            const xhr = (url) => new Promise((resolve) => {
              const request = new XMLHttpRequest();
              request.open("GET", url);
              request.onloadend = () => resolve(request.status);
              request.send();
            });
            Promise.all([
              fetch(other + "/fetch?x=1").then((r) => r.status),
              fetch(new Request(other + "/request", {method: "POST", body: "a=b"})).then((r) => r.status),
              fetch(localhost + "/localhost").then((r) => r.status),
              xhr(other + "/xhr"),
              fetch("/unit").then((r) => r.status),
            ]).then(done, (error) => done(String(error)));
            """,
            elsewhere,
            localhost,
        )
        assert answers == [200, 200, 200, 200, 200]
        click(tab, "away")  # a link to the other origin
        until(tab, at(f"{elsewhere}/nav?x=1"), "the other origin")
        go(tab, page)
        until(tab, ready, "the probe page again")
        tab.execute_script("document.getElementById('away-form').submit()")  # form.submit(): no event
        until(tab, at(f"{elsewhere}/nav?x=2"), "the form's post to the other origin")
        go(tab, page)
        until(tab, ready, "the probe page again")
        tab.find_element("css selector", "#away-get button").click()
        until(tab, at(f"{elsewhere}/nav?q=1"), "the GET form to the other origin")

    paths = [request.path for request in received]
    for path in ("/fetch?x=1", "/request", "/localhost", "/xhr", "/nav?x=1", "/nav?x=2", "/nav?q=1"):
        assert path in paths
    for request in received:
        assert "authorization" not in request.headers, request
        assert "x-ltik" not in request.headers, request
        assert "authorization" not in request.headers.get("access-control-request-headers", "").lower()
        assert "ltik" not in request.path, request
        assert ltik not in request.headers.get("referer", ""), request
        assert b"ltik" not in request.body, request
    # The same-origin call of the same page did carry it.
    unit = [entry for entry in log.entries if entry.path == "/unit"]
    assert [entry.authorization for entry in unit] == [f"Bearer {ltik}"]


# --- the expired ltik


def test_an_expired_ltik_shows_the_relaunch_page_and_json_callers_get_ltiaas_error(
    tab: Any, fake: FakeLtiaas, multipage: tuple[str, RequestLog]
) -> None:
    base, log = multipage
    expired = fake.launch(user_id="ada", issued_at=time.time() - 2 * 86400)

    # Launched with it: the server refuses it with the HTML page; the address bar loses it anyway.
    mark = log.mark()
    go(tab, f"{base}/launch?{urlencode({'ltik': expired})}")
    until(tab, at(f"{base}/launch"), "the refused ltik to leave the address bar")
    [entry] = log.since(mark)
    assert (entry.status, entry.app_ran) == (401, False)
    assert tab.execute_script("return document.contentType") == "text/html"
    assert tab.execute_script("return performance.getEntriesByType('navigation')[0].responseStatus") == 401
    assert relaunch_code(tab) == "LTIK_EXPIRED"
    assert expired not in tab.page_source
    assert tab_ltik(tab) is None  # a refused ltik is not kept

    # A tab whose launch has expired since: a reload is not asked again (no loop, no second request).
    valid = fake.launch(user_id="ada")
    go(tab, f"{base}/launch?{urlencode({'ltik': valid})}")
    until(tab, shows("whoami", "Who am I?"), "a launch")
    tab.execute_script("sessionStorage.setItem('ltiaas.ltik', arguments[0])", expired)
    mark = log.mark()
    tab.refresh()
    until(tab, lambda d: d.execute_script("return document.readyState") == "complete", "the relaunch page")
    time.sleep(0.3)  # a retry, were there one, would have been sent by now
    entries = log.since(mark)
    assert [(entry.path, entry.status) for entry in entries] == [("/launch", 401)]
    assert tab.execute_script("return document.contentType") == "text/html"
    assert relaunch_code(tab) == "MISSING_LTIK"  # the reload came without it: open it again from the course
    assert expired not in tab.page_source
    assert valid not in tab.page_source

    # The same URL fetched as JSON from that page (ltik.js sends the tab's expired ltik): LTIAAS's error.
    status, body = tab.execute_async_script(
        """
        const done = arguments[0];
        fetch("/launch", {headers: {Accept: "application/json"}})
          .then((r) => r.json().then((body) => done([r.status, body])), (error) => done([0, String(error)]));
        """
    )
    assert status == 401
    assert (body["status"], body["details"]["message"]) == (401, "LTIK_EXPIRED")
    assert log.since(mark)[-1].authorization == f"Bearer {expired}"

    # And from outside the browser: the same.
    request = urllib.request.Request(  # noqa: S310 - an http:// URL on loopback
        f"{base}/launch", headers={"Accept": "application/json", "Authorization": f"Bearer {expired}"}
    )
    with pytest.raises(HTTPError) as refused:
        DIRECT.open(request, timeout=5)
    with refused.value as answer:  # closed: the connection is released
        assert answer.code == 401
        body = json.loads(answer.read())
    assert (body["status"], body["details"]["message"]) == (401, "LTIK_EXPIRED")
    assert expired not in json.dumps(body)


# --- the script's pure parts, through a test page


STRIP_CASES = [
    pytest.param("/p?ltik=T", "/p", ["T"], id="only"),
    pytest.param("/p?a=1&ltik=T&b=2#frag", "/p?a=1&b=2#frag", ["T"], id="middle-and-hash"),
    pytest.param("/p?ltik=T&ltik=T", "/p", ["T", "T"], id="twice"),
    pytest.param("/p?ltik=T&a=1&ltik=U", "/p?a=1", ["T", "U"], id="two-different"),
    pytest.param("/p?%6Ctik=T&a=1", "/p?a=1", ["T"], id="encoded-l"),
    pytest.param("/p?%6ctik=T", "/p", ["T"], id="lowercase-escape"),
    pytest.param("/p?l%74%69k=T&x=%6Ctik", "/p?x=%6Ctik", ["T"], id="encoded-middle-and-a-value"),
    pytest.param("/p?%6C%74%69%6B=T", "/p", ["T"], id="all-encoded"),
    pytest.param("/p?ltik=&a=1&ltik", "/p?a=1", [], id="empty-and-bare"),
    pytest.param("/p?ltik=A%2BB+C", "/p", ["A+B C"], id="value-decoded"),
    pytest.param("/p?a=1#ltik=T", "/p?a=1#ltik=T", [], id="in-the-fragment"),
    pytest.param("/p#x?ltik=T", "/p#x?ltik=T", [], id="query-like-fragment"),
    pytest.param("/p?a=1&&ltik=T&", "/p?a=1", ["T"], id="empty-fields"),
    pytest.param("/p?LTIK=T&xltik=U&ltikx=V", "/p?LTIK=T&xltik=U&ltikx=V", [], id="other-names"),
    pytest.param("/p?ltik%3DT", "/p?ltik%3DT", [], id="encoded-equals"),
    pytest.param("/p?a=%zz&ltik=T", "/p?a=%zz", ["T"], id="malformed-escape-kept"),
    pytest.param("/p?%6Ctik%zz=T", "/p?%6Ctik%zz=T", [], id="malformed-name"),
    pytest.param("/p?ltik=T;a=1&b=2", "/p?b=2", ["T;a=1"], id="semicolon-is-no-separator"),
    pytest.param("/p?ltik+=T", "/p?ltik+=T", [], id="plus-in-name"),
    pytest.param("/p?", "/p?", [], id="empty-query"),
    pytest.param("/p", "/p", [], id="no-query"),
]


@pytest.fixture
def unit_page(tab: Any, probe: tuple[str, RequestLog]) -> Any:
    go(tab, f"{probe[0]}/unit")
    until(tab, lambda d: d.execute_script("return !!window.ltiaas"), "ltik.js on the test page")
    return tab


@pytest.mark.parametrize(("href", "stripped", "ltiks"), STRIP_CASES)
def test_strip_reads_the_query_as_the_server_does(
    unit_page: Any, href: str, stripped: str, ltiks: list[str]
) -> None:
    origin = "https://tool.example"
    answer = unit_page.execute_script("return window.ltiaas.strip(arguments[0])", origin + href)
    assert answer == {"href": origin + stripped, "ltiks": ltiks}
    query = href.partition("#")[0].partition("?")[2]
    assert answer["ltiks"] == from_query(query)  # the server's own reading


def test_strip_agrees_with_the_server_on_random_queries(unit_page: Any) -> None:
    names = ["ltik", "l", "t", "i", "k", "T", "é"]
    punctuation = ["%6C", "%6c", "%74", "%", "=", "&", "+", "%2B", "%zz", "#"]
    pieces = names + punctuation
    chooser = random.Random(15)
    queries = ["".join(chooser.choice(pieces) for _ in range(chooser.randint(0, 12))) for _ in range(400)]
    answers = unit_page.execute_script(
        "return arguments[0].map((q) => window.ltiaas.strip('https://t.example/p?' + q))", queries
    )
    for query, answer in zip(queries, answers, strict=True):
        before_hash = query.partition("#")[0]
        assert answer["ltiks"] == from_query(before_hash), query
        rest = answer["href"].removeprefix("https://t.example/p").lstrip("?").partition("#")[0]
        assert from_query(rest) == [], query  # nothing the server would read as an ltik is left


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("/q", "/q?ltik=aa.bb.cc", id="plain"),
        pytest.param("/q?a=1#h", "/q?a=1&ltik=aa.bb.cc#h", id="query-and-hash"),
        pytest.param("/q?", "/q?ltik=aa.bb.cc", id="empty-query"),
        pytest.param("/q?ltik=zz.zz.zz", "/q?ltik=zz.zz.zz", id="keeps-its-own"),
        pytest.param("https://elsewhere.example/q", "https://elsewhere.example/q", id="cross-origin"),
    ],
)
def test_url_adds_the_ltik_to_same_origin_urls_only(unit_page: Any, url: str, expected: str) -> None:
    origin = unit_page.execute_script("return location.origin")
    unit_page.execute_script("sessionStorage.setItem('ltiaas.ltik', 'aa.bb.cc')")
    answer = unit_page.execute_script("return window.ltiaas.url(arguments[0])", url)
    assert answer == (expected if expected.startswith("https:") else origin + expected)
    assert unit_page.execute_script("return window.ltiaas.headers()") == {"Authorization": "Bearer aa.bb.cc"}


def test_the_api_reads_the_expiry_from_the_claims(
    tab: Any, fake: FakeLtiaas, probe: tuple[str, RequestLog]
) -> None:
    base, _ = probe
    ltik = fake.launch()
    go(tab, f"{base}/page?{urlencode({'ltik': ltik})}")
    until(tab, at(f"{base}/page"), "the launched page")
    expires = tab.execute_script("return window.ltiaas.expiresAt.getTime() / 1000")
    assert expires == parse_ltik(ltik).expires_at.timestamp()  # type: ignore[union-attr]
    assert tab.execute_script("return window.ltiaas.valid") is True
    tab.execute_script("window.ltiaas.forget()")
    assert tab.execute_script("return [window.ltiaas.ltik, window.ltiaas.headers()]") == [None, {}]
    assert tab_ltik(tab) is None


def test_odd_launch_urls_are_stripped_on_load(tab: Any, probe: tuple[str, RequestLog]) -> None:
    base, _ = probe
    token = "aa.bb.cc"
    go(tab, f"{base}/unit?a=1&%6Ctik={token}&b=%zz&l%74ik={token}&c#frag?ltik={token}")
    until(tab, lambda d: d.execute_script("return !!window.ltiaas"), "ltik.js")
    assert tab.current_url == f"{base}/unit?a=1&b=%zz&c#frag?ltik={token}"
    assert tab_ltik(tab) == token
    go(tab, f"{base}/unit?ltik={token}&ltik=dd.ee.ff&z=1")  # two different ltiks: neither is kept
    until(tab, at(f"{base}/unit?z=1"), "both ltiks out of the address bar")
    assert tab_ltik(tab) == token  # the tab keeps what it had


# --- size and CSP


def test_it_loads_under_a_strict_csp_with_a_nonce(tab: Any, probe: tuple[str, RequestLog]) -> None:
    base, _ = probe
    tab.get_log("browser")  # drain what earlier tests left
    go(tab, f"{base}/unit")
    until(tab, ready, "the page")
    assert tab.execute_script("return typeof window.ltiaas") == "object"
    errors = [entry["message"] for entry in tab.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    # The control: the same page with the script under another nonce is blocked by the same policy.
    go(tab, f"{base}/unit?nonce=wrong")
    until(tab, ready, "the page")
    assert tab.execute_script("return typeof window.ltiaas") == "undefined"
    assert any("Content Security Policy" in entry["message"] for entry in tab.get_log("browser"))


# --- the reload path's edges, and what the caller sets itself


def launched_probe(tab: Any, fake: FakeLtiaas, base: str) -> str:
    ltik = fake.launch()
    go(tab, f"{base}/page?{urlencode({'ltik': ltik})}")
    until(tab, at(f"{base}/page"), "the launched probe page")
    return ltik


def test_the_rejection_marker_alone_makes_it_ask_again(
    tab: Any, fake: FakeLtiaas, probe: tuple[str, RequestLog]
) -> None:
    """A 200 page marked ``data-ltiaas-error="MISSING_LTIK"``: the marker, not the status, tells."""
    base, log = probe
    ltik = launched_probe(tab, fake, base)
    mark = log.mark()
    go(tab, f"{base}/marked?k=v#f")
    until(tab, lambda d: len(log.since(mark)) == 2, "the page asked again")
    until(tab, at(f"{base}/marked?k=v#f"), "the page, its ltik stripped again")
    first, again = log.since(mark)
    assert (first.query, again.query) == ("k=v", f"k=v&{urlencode({'ltik': ltik})}")


def test_a_server_that_drops_the_ltik_is_asked_once_not_in_a_loop(
    tab: Any, fake: FakeLtiaas, probe: tuple[str, RequestLog]
) -> None:
    base, log = probe
    ltik = launched_probe(tab, fake, base)
    mark = log.mark()
    go(tab, f"{base}/refused")
    until(tab, lambda d: len(log.since(mark)) >= 3, "the page asked again")
    until(tab, ready, "the rejection page")
    time.sleep(0.5)  # a loop, were there one, would have sent more by now
    assert [(entry.path, entry.carries(ltik)) for entry in log.since(mark)] == [
        ("/refused", False),
        ("/refused", True),  # asked again once, with the tab's ltik; 302 to itself without it
        ("/refused", False),  # refused again: the guard holds, the rejection page stays
    ]
    assert tab_ltik(tab) == ltik  # never refused with the ltik itself: the tab keeps it
    # A page served clears the guard: the next reload may ask again (once).
    go(tab, f"{base}/unit")
    until(tab, ready, "a page served")
    assert tab.execute_script("return sessionStorage.getItem('ltiaas.retried')") is None


def test_same_origin_forms_and_links_of_every_kind_carry_it(
    tab: Any, fake: FakeLtiaas, probe: tuple[str, RequestLog]
) -> None:
    base, log = probe
    ltik = launched_probe(tab, fake, base)
    carried = urlencode({"ltik": ltik})
    steps = [
        ("here", f"from=link&{carried}", f"{base}/unit?from=link#top"),
        ("here-get-go", f"q=2&{carried}", f"{base}/unit?q=2"),  # GET: the ltik goes in as a field
        ("here-post-go", f"via=button&{carried}", f"{base}/unit?via=button"),  # the button's formaction
        ("shadowed-go", f"shadowed=1&{carried}", f"{base}/unit?shadowed=1"),  # fields named action, method
    ]
    for element, query, address in steps:
        go(tab, f"{base}/page")  # through the rejection page, with the tab's ltik
        until(tab, ready, "the probe page")
        mark = log.mark()
        click(tab, element)
        until(tab, at(address), f"{element}'s target, stripped")
        assert [entry.query for entry in log.since(mark)] == [query]
    assert_no_trace_in_the_browser(tab, ltik)


def test_the_callers_own_authorization_wins(
    tab: Any, fake: FakeLtiaas, probe: tuple[str, RequestLog]
) -> None:
    base, log = probe
    ltik = launched_probe(tab, fake, base)
    mark = log.mark()
    statuses = tab.execute_async_script(
        """
        const done = arguments[0];
        const xhr = (headers) => new Promise((resolve) => {
          const request = new XMLHttpRequest();
          request.open("GET", "/unit?xhr=" + Object.keys(headers).length);
          Object.entries(headers).forEach(([name, value]) => request.setRequestHeader(name, value));
          request.onloadend = () => resolve(request.status);
          request.send();
        });
        Promise.all([
          fetch("/unit?own=1", {headers: {Authorization: "Basic b3duOm93bg=="}}).then((r) => r.status),
          fetch(new Request("/unit?own=2", {headers: {authorization: "Bearer theirs"}}))
            .then((r) => r.status),
          fetch(new Request("/unit?request=1")).then((r) => r.status),
          fetch(new URL("/unit?url=1", location.href)).then((r) => r.status),
          xhr({Authorization: "Basic b3duOm93bg=="}),
          xhr({}),
        ]).then(done, (error) => done(String(error)));
        """
    )
    assert statuses == [200] * 6
    seen = {entry.query: entry.authorization for entry in log.since(mark)}
    assert seen == {
        "own=1": "Basic b3duOm93bg==",
        "own=2": "Bearer theirs",
        "request=1": f"Bearer {ltik}",
        "url=1": f"Bearer {ltik}",
        "xhr=1": "Basic b3duOm93bg==",
        "xhr=0": f"Bearer {ltik}",
    }


def test_the_demo_tool_recovers_on_reload(tab: Any, fake: FakeLtiaas) -> None:
    from ltiaas_auth.demo.app import create_app as create_demo

    log = RequestLog()
    app = create_demo(fake.config())
    app.wsgi_app = log.wsgi(app.wsgi_app)  # type: ignore[method-assign]
    with ToolServer(app) as server:
        ltik = fake.launch(user_id="ada", name="Ada Lovelace")
        go(tab, f"{server.url}/launch?{urlencode({'ltik': ltik})}")
        until(tab, body_says("data-roster", "loaded"), "the demo's roster")
        mark = log.mark()
        tab.refresh()
        until(tab, body_says("data-roster", "loaded"), "the demo's roster after the reload")
        assert [(entry.path, entry.status) for entry in log.since(mark)] == [
            ("/launch", 401),
            ("/launch", 200),
            ("/api/roster", 200),
        ]
        assert_no_trace_in_the_browser(tab, ltik)


@pytest.mark.parametrize("how", ["target-blank", "ctrl-click", "middle-click"])
def test_links_opened_in_a_new_tab_carry_it_there(
    tab: Any, fake: FakeLtiaas, probe: tuple[str, RequestLog], how: str
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.mouse_button import MouseButton
    from selenium.webdriver.common.keys import Keys

    base, log = probe
    ltik = launched_probe(tab, fake, base)
    handles = set(tab.window_handles)
    mark = log.mark()
    if how == "target-blank":
        click(tab, "blank")
    elif how == "ctrl-click":
        link = tab.find_element("id", "here")
        ActionChains(tab).key_down(Keys.CONTROL).click(link).key_up(Keys.CONTROL).perform()
    else:
        actions = ActionBuilder(tab)
        actions.pointer_action.move_to(tab.find_element("id", "here"))
        actions.pointer_action.pointer_down(MouseButton.MIDDLE).pointer_up(MouseButton.MIDDLE)
        actions.perform()
    until(tab, lambda d: len(set(d.window_handles) - handles) == 1, "the new tab")
    until(tab, lambda d: log.since(mark), "the new tab's request")
    [new] = set(tab.window_handles) - handles
    tab.switch_to.window(new)
    until(tab, lambda d: "ltik" not in d.current_url and d.current_url.startswith(f"{base}/unit"), "stripped")
    [entry] = log.since(mark)
    assert entry.carries(ltik)
    assert tab_ltik(tab) == ltik


def test_an_element_named_ltiaas_does_not_stop_it(tab: Any, probe: tuple[str, RequestLog]) -> None:
    base, _ = probe
    go(tab, f"{base}/unit?clobber=1&{urlencode({'ltik': 'aa.bb.cc'})}")
    until(tab, ready, "the page")
    assert tab.current_url == f"{base}/unit?clobber=1"
    assert tab.execute_script("return typeof window.ltiaas.strip") == "function"
    assert tab.execute_script("return window.ltiaas.ltik") == "aa.bb.cc"


def test_it_works_served_as_a_file(tab: Any, probe: tuple[str, RequestLog]) -> None:
    """As the integrations serve it: ``<script src>`` from the tool's origin, under ``script-src 'self'``."""
    base, log = probe
    mark = log.mark()
    go(tab, f"{base}/external?a=1&{urlencode({'ltik': 'aa.bb.cc'})}#x")
    until(tab, at(f"{base}/external?a=1#x"), "the ltik out of the address bar")
    assert tab_ltik(tab) == "aa.bb.cc"
    assert [entry.path for entry in log.since(mark)] == ["/external", "/static/ltik.js"]
