"""``ltiaas_auth.flask`` on real Flask apps, driven by Flask's own test client, against a real FakeLtiaas:
installation, settings, decorators, error rendering and the template globals."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Blueprint, Flask, g, render_template_string, request
from flask.views import MethodView
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from ltiaas_auth import LtiaasMiddleware, LtikRefused, UpstreamError, current_launch
from ltiaas_auth.flask import Ltiaas, launch_required, ltik_exempt
from ltiaas_auth.frontend import script_path
from ltiaas_auth.testing import FakeLtiaas

#: Responses are read and closed as a server does (see the fixture).
pytestmark = pytest.mark.usefixtures("buffered_flask_client")

NAVIGATION = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

PAGE = """<p>{{ current_launch.ltik.fingerprint if current_launch else "none" }}</p>
<a href="{{ ltik_url('second', tab='grades') }}">grades</a>
<form method="post" action="{{ url_for('submit') }}">{{ ltik_field() }}<input name="answer" value="42"></form>
{{ ltiaas_script() }}"""


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


def configured(fake: FakeLtiaas, **config: Any) -> Flask:
    app = Flask("flask_ext_probe")
    app.config.update({"LTIAAS_API_KEY": fake.api_key, "LTIAAS_URL": fake.url, **config})
    return app


def add_views(app: Flask) -> None:
    @app.get("/")
    def page() -> str:
        return render_template_string(PAGE)

    @app.get("/second")
    def second() -> dict[str, Any]:
        launch = current_launch()
        return {"ltik": launch.ltik.fingerprint, "user": launch.idtoken()["user"]["id"]}

    @app.post("/submit")
    def submit() -> dict[str, Any]:
        return {"ltik": current_launch().ltik.fingerprint, "answer": request.form["answer"]}

    @app.get("/health")
    @ltik_exempt
    def health() -> dict[str, Any]:
        return {"launch": request.environ.get("ltiaas_auth.launch") is not None}

    @app.get("/teach")
    @launch_required(roles=["Instructor", "Mentor"])
    def teach() -> str:
        return "teacher"

    @app.get("/any")
    @launch_required
    def any_launch() -> str:
        return current_launch().ltik.fingerprint

    @app.get("/async-teach")
    @launch_required(roles="Instructor")
    async def async_teach() -> str:
        return "async teacher"

    @app.get("/upstream")
    def upstream() -> str:
        raise UpstreamError("LTIAAS said no.", upstream_status=503)

    @app.get("/refused")
    def refused() -> str:
        raise LtikRefused("LTIAAS refused the ltik.", upstream_status=401)

    class Open(MethodView):
        def get(self) -> str:
            return "open view"

    app.add_url_rule("/open-view", view_func=ltik_exempt(Open).as_view("open_view"))

    public = Blueprint("public", __name__, url_prefix="/public")

    @public.get("/info")
    def info() -> str:
        return "public info"

    app.register_blueprint(ltik_exempt(public))


def build(fake: FakeLtiaas, style: str, **config: Any) -> Flask:
    app = configured(fake, **config)
    add_views(app)
    if style == "constructor":
        Ltiaas(app)
    else:
        extension = Ltiaas()
        extension.init_app(app)
    return app


STYLES = [pytest.param("constructor", id="Ltiaas(app)"), pytest.param("init_app", id="init_app")]


class Links(HTMLParser):
    """The hrefs, form actions and form fields of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.actions: list[str] = []
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a":
            self.hrefs.append(values["href"])
        elif tag == "form":
            self.actions.append(values["action"])
        elif tag == "input":
            self.fields[values["name"]] = values["value"]


def parse(response: TestResponse) -> Links:
    links = Links()
    links.feed(response.get_data(as_text=True))
    return links


# --- installation and settings --------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_installed_both_ways(fake: FakeLtiaas, style: str) -> None:
    app = build(fake, style)
    state = app.extensions["ltiaas"]
    assert isinstance(app.wsgi_app, LtiaasMiddleware)
    assert state.middleware is app.wsgi_app
    assert state.config == fake.config()
    assert not hasattr(state.extension, "app")
    ltik = fake.launch(user_id="both-ways")
    client = app.test_client()
    assert client.get("/second", headers={"Authorization": f"Bearer {ltik}"}).json["user"] == "both-ways"
    assert client.get("/second").status_code == 401


def test_one_extension_serves_several_apps(fake: FakeLtiaas) -> None:
    extension = Ltiaas()
    first, second = configured(fake), configured(fake, LTIAAS_REQUIRE=False)
    for app in (first, second):
        add_views(app)
        extension.init_app(app)
    assert first.extensions["ltiaas"].extension is second.extensions["ltiaas"].extension is extension
    assert first.test_client().get("/second").status_code == 401
    assert second.test_client().get("/any").status_code == 401  # launch_required, with no gate refusal
    with pytest.raises(RuntimeError, match="already installed"):
        extension.init_app(first)


def test_settings_come_from_app_config(fake: FakeLtiaas) -> None:
    app = build(
        fake,
        "init_app",
        LTIAAS_EXEMPT=["/second"],
        LTIAAS_TIMEOUT=3.5,
        LTIAAS_IDTOKEN_TTL="120",
        LTIAAS_PREFETCH_IDTOKEN=False,
        LTIAAS_SOURCES=["header"],
    )
    config = app.extensions["ltiaas"].config
    assert (config.timeout, config.idtoken_ttl) == (3.5, 120)
    client = app.test_client()
    ltik = fake.launch()
    assert client.get("/health").status_code == 200
    unseen = client.get("/second", headers={"X-Ltik": ltik})  # exempt by LTIAAS_EXEMPT: not looked at
    assert (unseen.status_code, unseen.json["details"]["message"]) == (500, "NO_LAUNCH_CONTEXT")
    for ignored in ({"Authorization": f"Bearer {ltik}"}, {}):  # LTIAAS_SOURCES: the header only
        assert client.get("/any", headers=ignored, query_string={"ltik": ltik}).status_code == 401
    assert client.get("/any", headers={"X-Ltik": ltik}).status_code == 200
    assert fake.calls == []  # LTIAAS_PREFETCH_IDTOKEN=False: LTIAAS was never asked


def test_settings_fall_back_to_the_environment(fake: FakeLtiaas, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTIAAS_API_KEY", fake.api_key)
    monkeypatch.setenv("LTIAAS_URL", fake.url)
    monkeypatch.setenv("LTIAAS_REQUIRE", "false")
    monkeypatch.setenv("LTIAAS_EXEMPT", "/second, /other/*")
    monkeypatch.setenv("LTIAAS_TIMEOUT", "2")
    app = Flask("env_probe")
    add_views(app)
    Ltiaas(app)
    assert app.extensions["ltiaas"].config == fake.config(timeout=2.0)

    @app.get("/other/thing")
    def other() -> str:
        return "not looked at"

    client = app.test_client()
    assert client.get("/other/thing", headers={"X-Ltik": "not-a-token"}).text == "not looked at"  # exempt
    assert client.get("/second", headers={"X-Ltik": "not-a-token"}).status_code == 500  # exempt: no launch
    assert "<p>none</p>" in client.get("/").text  # REQUIRE=false: a page without a launch runs
    assert client.get("/teach", headers={"X-Ltik": "not-a-token"}).status_code == 401  # still refused


def test_options_win_over_app_config_and_a_ready_config_is_used(fake: FakeLtiaas) -> None:
    app = configured(fake, LTIAAS_REQUIRE=True, LTIAAS_API_KEY="ignored-key")
    add_views(app)
    Ltiaas(app, config=fake.config(), require=False)
    assert app.extensions["ltiaas"].config == fake.config()
    assert app.test_client().get("/any").json["details"]["message"] == "MISSING_LTIK"


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        pytest.param({"LTIAAS_API_KEY": None}, ValueError, "LTIAAS_API_KEY", id="no-key"),
        pytest.param({"LTIAAS_URL": ""}, ValueError, "LTIAAS_URL", id="empty-url"),
        pytest.param({"LTIAAS_REQUIRE": "perhaps"}, ValueError, "LTIAAS_REQUIRE", id="bad-flag"),
        pytest.param({"LTIAAS_TIMEOUT": "soon"}, ValueError, "LTIAAS_TIMEOUT", id="bad-number"),
        pytest.param({"LTIAAS_TIMEOUT": "inf"}, ValueError, "timeout", id="infinite"),
        pytest.param({"LTIAAS_SOURCES": ["cookie"]}, ValueError, "sources", id="bad-source"),
        pytest.param({"LTIAAS_URL": "http://lti.example.com"}, ValueError, "http", id="plain-http"),
    ],
)
def test_bad_settings_are_clear_errors(
    fake: FakeLtiaas,
    monkeypatch: pytest.MonkeyPatch,
    config: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    for name in ("LTIAAS_API_KEY", "LTIAAS_URL"):
        monkeypatch.delenv(name, raising=False)
    app = configured(fake)
    for name, value in config.items():
        if value is None:
            del app.config[name]
        else:
            app.config[name] = value
    with pytest.raises(error, match=message) as raised:
        Ltiaas(app)
    assert fake.api_key not in str(raised.value)


def test_unknown_options_are_refused() -> None:
    with pytest.raises(TypeError, match="exemptions"):
        Ltiaas(exemptions=["/x"])
    with pytest.raises(TypeError, match="LtiaasConfig"):
        Ltiaas(config="https://lti.example.com")


def test_a_private_ca_from_app_config(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLtiaas(tls=True) as fake:
        app = configured(fake, LTIAAS_CA_FILE=str(fake.ca_file))
        add_views(app)
        Ltiaas(app)
        ltik = fake.launch(user_id="over-tls")
        answer = app.test_client().get("/second", headers={"X-Ltik": ltik})
    assert answer.json["user"] == "over-tls"


# --- decorators -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/health", '{"launch":false}', id="view"),
        pytest.param("/open-view", "open view", id="class-based-view"),
        pytest.param("/public/info", "public info", id="blueprint"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-ltik"),
        pytest.param({"Authorization": "Bearer not-a-token"}, id="invalid-ltik"),
    ],
)
def test_ltik_exempt_lets_the_view_run_without_a_launch(
    fake: FakeLtiaas, path: str, body: str, headers: dict[str, str]
) -> None:
    answer = build(fake, "init_app").test_client().get(path, headers=headers)
    assert answer.status_code == 200
    assert answer.get_data(as_text=True).strip() == body


def test_a_view_not_exempt_is_still_refused(fake: FakeLtiaas) -> None:
    client = build(fake, "init_app").test_client()
    assert client.get("/second").status_code == 401
    assert client.get("/no-such-page").status_code == 401  # the gate answers before routing matters


@pytest.mark.parametrize(
    ("path", "roles", "status", "body"),
    [
        pytest.param("/teach", ["Learner"], 403, None, id="learner"),
        pytest.param("/teach", ["Instructor"], 200, "teacher", id="instructor"),
        pytest.param("/teach", ["Mentor"], 200, "teacher", id="any-of"),
        pytest.param(
            "/teach",
            ["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"],
            200,
            "teacher",
            id="sub-role",
        ),
        pytest.param("/async-teach", ["Instructor"], 200, "async teacher", id="async-view"),
        pytest.param("/async-teach", ["Learner"], 403, None, id="async-view-refused"),
    ],
)
def test_launch_required_roles(
    fake: FakeLtiaas, path: str, roles: list[str], status: int, body: str | None
) -> None:
    ltik = fake.launch(roles=roles)
    answer = build(fake, "init_app").test_client().get(path, headers={"X-Ltik": ltik})
    assert answer.status_code == status
    if body is None:
        assert answer.json["details"]["message"] == "ROLE_REQUIRED"
        assert ltik not in answer.get_data(as_text=True)
    else:
        assert answer.get_data(as_text=True) == body


def test_launch_required_without_a_launch_is_401(fake: FakeLtiaas) -> None:
    client = build(fake, "init_app", LTIAAS_REQUIRE=False).test_client()
    for path in ("/any", "/teach"):
        answer = client.get(path)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json["details"]["message"] == "MISSING_LTIK"


def test_launch_required_needs_a_role_when_given_roles() -> None:
    with pytest.raises(ValueError, match="role"):
        launch_required(roles=[])


# --- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        pytest.param("/upstream", 502, "UPSTREAM_UNAVAILABLE", id="upstream"),
        pytest.param("/refused", 401, "INVALID_LTIK", id="ltik-refused"),
    ],
)
def test_an_error_raised_in_a_view_answers_in_ltiaas_shape(
    fake: FakeLtiaas, path: str, status: int, code: str
) -> None:
    ltik = fake.launch()
    answer = build(fake, "init_app").test_client().get(path, headers={"Authorization": f"Bearer {ltik}"})
    assert answer.status_code == status
    assert answer.mimetype == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json["status"] == status
    assert answer.json["details"]["message"] == code
    assert ltik not in answer.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/upstream", "/second"])
def test_a_navigation_gets_the_html_page(fake: FakeLtiaas, path: str) -> None:
    """An error in a view (``/upstream``) and a rejection by the gate (``/second``, no ltik) alike."""
    ltik = fake.launch()
    headers = {**NAVIGATION, **({"X-Ltik": ltik} if path == "/upstream" else {})}
    answer = build(fake, "init_app").test_client().get(path, headers=headers)
    assert answer.status_code == (502 if path == "/upstream" else 401)
    assert answer.mimetype == "text/html"
    assert ltik not in answer.get_data(as_text=True)


def test_unauthorized_handler_renders_rejections_and_view_errors(fake: FakeLtiaas) -> None:
    app = configured(fake)
    add_views(app)
    extension = Ltiaas(app)
    seen: list[str] = []

    @extension.unauthorized_handler
    def relaunch(error: Any) -> tuple[str, int]:
        seen.append(error.code)
        return f"<h1>Please open the tool again ({error.code})</h1>", error.status

    @app.after_request
    def tag(response: Any) -> Any:
        response.headers["X-Tool"] = "probe"
        return response

    client = app.test_client()
    ltik = fake.launch(roles=["Learner"])
    missing = client.get("/second")
    role = client.get("/teach", headers={"X-Ltik": ltik})
    upstream = client.get("/upstream", headers={"X-Ltik": ltik})
    assert (missing.status_code, role.status_code, upstream.status_code) == (401, 403, 502)
    assert missing.get_data(as_text=True) == "<h1>Please open the tool again (MISSING_LTIK)</h1>"
    assert missing.headers["X-Tool"] == "probe"  # the app's after_request functions apply to rejections
    assert seen == ["MISSING_LTIK", "ROLE_REQUIRED", "UPSTREAM_UNAVAILABLE"]


def test_an_app_handler_for_one_error_class_wins(fake: FakeLtiaas) -> None:
    app = build(fake, "init_app")

    @app.errorhandler(UpstreamError)
    def upstream(error: UpstreamError) -> tuple[str, int]:
        return "LTIAAS is having a moment", 503

    answer = app.test_client().get("/upstream", headers={"X-Ltik": fake.launch()})
    assert (answer.status_code, answer.get_data(as_text=True)) == (503, "LTIAAS is having a moment")


# --- template globals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_links_and_forms_carry_the_ltik_and_are_authenticated(fake: FakeLtiaas, style: str) -> None:
    app = build(fake, style)
    client = app.test_client()
    ltik = fake.launch(user_id="page-to-page")
    page = client.get("/", query_string={"ltik": ltik})
    assert page.status_code == 200
    links = parse(page)
    (href,) = links.hrefs
    (action,) = links.actions
    assert href.startswith("/second?")
    assert "tab=grades" in href
    assert links.fields == {"ltik": ltik, "answer": "42"}
    assert action == "/submit"  # the form carries the ltik in its body, not in its URL

    followed = client.get(href)
    posted = client.post(action, data=links.fields)
    fingerprint = re.search(r"<p>(\w+)</p>", page.get_data(as_text=True))[1]  # type: ignore[index]
    assert followed.json == {"ltik": fingerprint, "user": "page-to-page"}
    assert posted.json == {"ltik": fingerprint, "answer": "42"}
    assert client.post(action, data={"answer": "42"}).status_code == 401  # without the field: refused


def test_template_globals_without_a_launch(fake: FakeLtiaas) -> None:
    app = build(fake, "init_app")

    @app.get("/bare")
    @ltik_exempt
    def bare() -> str:
        return render_template_string(PAGE)

    links = parse(app.test_client().get("/bare"))
    assert links.hrefs == ["/second?tab=grades"]
    assert "ltik" not in links.fields
    assert "<p>none</p>" in app.test_client().get("/bare").get_data(as_text=True)


def test_ltik_field_needs_the_form_source(fake: FakeLtiaas) -> None:
    app = build(fake, "init_app", LTIAAS_SOURCES=["authorization", "query", "header"])
    app.testing = True
    with pytest.raises(RuntimeError, match="form"):
        app.test_client().get("/", headers={"X-Ltik": fake.launch()})


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        pytest.param(lambda: None, "<script>", id="no-nonce"),
        pytest.param(
            lambda: setattr(g, "csp_nonce", "bm9uY2UtZy0x"), '<script nonce="bm9uY2UtZy0x">', id="g"
        ),
        pytest.param(  # where Flask-Talisman puts it
            lambda: setattr(request, "csp_nonce", "dGFsaXNtYW4"),
            '<script nonce="dGFsaXNtYW4">',
            id="talisman",
        ),
    ],
)
def test_ltiaas_script_inlines_the_script_with_the_requests_nonce(
    fake: FakeLtiaas, setup: Callable[[], None], expected: str
) -> None:
    app = build(fake, "init_app")
    app.before_request(setup)
    page = app.test_client().get("/", headers={"X-Ltik": fake.launch()}).get_data(as_text=True)
    assert expected in page
    assert script_path().read_text(encoding="utf-8")[:200] in page


def test_ltiaas_script_takes_an_explicit_nonce(fake: FakeLtiaas) -> None:
    app = build(fake, "init_app")

    @app.get("/nonce")
    def nonce() -> str:
        return render_template_string('{{ ltiaas_script(nonce="ZXhwbGljaXQ=") }}')

    assert (
        app.test_client()
        .get("/nonce", headers={"X-Ltik": fake.launch()})
        .text.startswith('<script nonce="ZXhwbGljaXQ=">')
    )


def test_the_script_is_served_without_an_ltik(fake: FakeLtiaas) -> None:
    app = build(fake, "init_app", LTIAAS_SCRIPT_URL="/assets/ltik.js")
    with app.test_request_context():
        from flask import url_for

        assert url_for("ltiaas.script") == "/assets/ltik.js"
    answer = app.test_client().get("/assets/ltik.js")
    assert answer.status_code == 200
    assert answer.mimetype == "text/javascript"
    assert answer.data == script_path().read_bytes()
    assert fake.calls == []


def test_the_static_folder_is_exempt(fake: FakeLtiaas, tmp_path: Any) -> None:
    (tmp_path / "style.css").write_text("p { color: teal; }")
    app = Flask("static_probe", static_folder=str(tmp_path), static_url_path="/static")
    app.config.update(LTIAAS_API_KEY=fake.api_key, LTIAAS_URL=fake.url)
    add_views(app)
    Ltiaas(app)
    client = app.test_client()
    with client.get("/static/style.css") as answer:  # a file response: closed as a server closes it
        assert answer.text == "p { color: teal; }"
    assert client.get("/staticky").status_code == 401


def test_the_relaunch_page_is_the_apps_template_when_it_has_one(fake: FakeLtiaas, tmp_path: Any) -> None:
    (tmp_path / "ltiaas_auth").mkdir()
    (tmp_path / "ltiaas_auth" / "relaunch.html").write_text(
        "<h1>{{ body.details.message }}</h1>{{ ltiaas_script(nonce) }}"
    )
    app = Flask("template_probe", template_folder=str(tmp_path))
    app.config.update(LTIAAS_API_KEY=fake.api_key, LTIAAS_URL=fake.url)
    add_views(app)
    Ltiaas(app)
    answer = app.test_client().get("/second", headers=NAVIGATION)
    page = answer.get_data(as_text=True)
    nonce = re.search(r"script-src 'nonce-([^']+)'", answer.headers["Content-Security-Policy"])[1]  # type: ignore[index]
    assert answer.status_code == 401
    assert page.startswith(f'<h1>MISSING_LTIK</h1><script nonce="{nonce}">')


def test_a_redis_url_from_app_config_shares_idtokens_between_apps(fake: FakeLtiaas) -> None:
    """Two apps (two worker processes, as far as their caches know) on one Redis: one fetch per launch."""
    from redis_server import shared_redis

    from ltiaas_auth.redis_store import RedisIdtokenStore

    with shared_redis() as server:
        apps = [build(fake, "init_app", LTIAAS_REDIS_URL=server.url) for _ in range(2)]
        stores = [app.extensions["ltiaas"].config.idtoken_store for app in apps]
        assert all(isinstance(store, RedisIdtokenStore) for store in stores)
        ltik = fake.launch(user_id="shared")
        try:
            answers = [app.test_client().get("/second", headers={"X-Ltik": ltik}).json for app in apps]
        finally:
            for store in stores:
                store.client.close()
    assert [answer["user"] for answer in answers] == ["shared", "shared"]
    assert [call.path for call in fake.calls].count("/api/idtoken") == 1


def test_the_extensions_request_path_is_the_middlewares_call_for_call(fake: FakeLtiaas) -> None:
    """What the extension costs per accepted request, without a clock: the same calls, in the same order,
    as ``LtiaasMiddleware`` wrapped by hand with the same sources (everything else happens at start or
    on the rejection path)."""
    import gc
    import sys

    from ltiaas_auth.flask import FLASK_SOURCES

    def app_with(install: Callable[[Flask], None]) -> Flask:
        app = Flask("call_probe")
        app.get("/api/grades")(lambda: "{}")
        install(app)
        return app

    def by_hand(app: Flask) -> None:
        app.wsgi_app = LtiaasMiddleware(app.wsgi_app, fake.config(), sources=FLASK_SOURCES)  # type: ignore[method-assign]

    ltik = fake.launch()

    def calls(app: Flask) -> list[tuple[str, str]]:
        client = app.test_client()
        client.get("/api/grades", headers={"Authorization": f"Bearer {ltik}"})  # warm: launch confirmed
        seen: list[tuple[str, str]] = []

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "call":
                seen.append((frame.f_code.co_filename, frame.f_code.co_name))
            elif event == "c_call":
                seen.append(("C", getattr(arg, "__qualname__", "?")))

        gc.collect()  # no finaliser of an earlier test's garbage may run (and show) in the trace
        gc.disable()
        sys.setprofile(profile)
        try:
            answer = app.wsgi_app(dict(environ), lambda status, headers, exc_info=None: None)
            b"".join(answer)
            answer.close()  # type: ignore[attr-defined]
        finally:
            sys.setprofile(None)
            gc.enable()
        return seen

    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder("/api/grades", headers={"Authorization": f"Bearer {ltik}"}).get_environ()
    hand, extension = app_with(by_hand), app_with(lambda app: Ltiaas(app, config=fake.config()))
    by_hand_calls, extension_calls = calls(hand), calls(extension)
    assert len(by_hand_calls) > 100  # the trace saw the whole request
    extra = [call for call in extension_calls if call not in by_hand_calls]
    assert extension_calls == by_hand_calls, extra[:10]


@given(
    st.lists(
        st.text(st.characters(blacklist_characters=",", blacklist_categories=("Z", "C")), min_size=1),
        max_size=6,
    )
)
def test_a_comma_separated_setting_reads_as_the_list_it_spells(globs: list[str]) -> None:
    """``LTIAAS_EXEMPT="/a, /b"`` (the environment's spelling) reads as ``["/a", "/b"]``."""
    from ltiaas_auth.flask import _Settings

    settings = _Settings({"LTIAAS_EXEMPT": " , ".join(globs)}, {})
    assert settings.sequence("EXEMPT", ()) == tuple(globs)
    assert _Settings({"LTIAAS_EXEMPT": globs}, {}).sequence("EXEMPT", ()) == tuple(globs)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *(pytest.param(text, True, id=f"true-{text}") for text in ("1", "true", "True", " yes ", "ON")),
        *(pytest.param(text, False, id=f"false-{text}") for text in ("0", "false", "FALSE", "no", "off")),
        pytest.param(True, True, id="bool-true"),
        pytest.param(False, False, id="bool-false"),
        pytest.param("", None, id="empty-is-the-default"),
    ],
)
def test_boolean_settings(value: Any, expected: bool | None) -> None:
    from ltiaas_auth.flask import _Settings

    for default in (True, False):
        assert _Settings({"LTIAAS_REQUIRE": value}, {}).flag("REQUIRE", default) == (
            default if expected is None else expected
        )
