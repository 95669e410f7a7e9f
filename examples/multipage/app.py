"""A multi-page, server-rendered tool: Flask behind ``LtiaasMiddleware``, with ``ltik.js`` on every page.

Run it with the LTIAAS settings in the environment::

    export LTIAAS_API_KEY=... LTIAAS_URL=https://your.ltiaas.com
    flask --app 'examples.multipage.app:create_app()' run

Nothing here handles the ltik: the pages are plain HTML with plain links and forms. ``script_tag(nonce)``
inlines ``ltik.js`` in each page's ``<head>``; it takes the ltik out of the address bar, keeps it in the
tab's ``sessionStorage`` and adds it to every same-origin link, form submission (urlencoded and
multipart) and ``fetch``, so each request reaches the middleware with its ltik (in the query string or as
``Authorization: Bearer``) and runs as the launch. A reload or a back navigation reaches the server
without it: the middleware's HTML rejection page carries the script too, which asks again with the tab's
ltik. Pages are ``Cache-Control: no-store``: they are per user, so no shared or HTTP cache stores them.

Routes: ``/launch`` (the launch URL), ``/notes`` (a list and an urlencoded form that posts to it),
``/upload`` (a multipart form with a file), ``/api/me`` (JSON, for the fetch on the home page), ``/health``.
"""

from __future__ import annotations

import html
import logging
import secrets
import threading
from typing import Any

from flask import Flask, Response, jsonify, request

from ltiaas_auth import LtiaasConfig, LtiaasMiddleware, current_launch
from ltiaas_auth.frontend import script_tag

log = logging.getLogger(__name__)

_STYLE = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
# On the home page: a fetch to the tool's own API, which ltik.js authenticates.
_WHOAMI = """
document.getElementById("whoami").addEventListener("click", function () {
  fetch("/api/me").then(function (response) { return response.json(); }).then(function (me) {
    document.getElementById("me").textContent = me.name + " (" + me.id + ")";
  });
});
"""


def create_app(config: LtiaasConfig | None = None) -> Flask:
    """The tool, its config read from ``LTIAAS_API_KEY`` and ``LTIAAS_URL`` unless one is given."""
    config = config or LtiaasConfig.from_env()
    app = Flask(__name__)
    notes: dict[str, list[str]] = {}  # per user; a real tool keeps them in its database
    lock = threading.Lock()

    @app.before_request
    def served() -> None:
        # Which launch each request ran as: its fingerprint (a short hash), never the ltik itself.
        launch = request.environ.get("ltiaas_auth.launch")
        log.info(
            "%s %s as %s",
            request.method,
            request.path,
            launch.ltik.fingerprint if launch else None,
            extra={"launch": launch.ltik.fingerprint if launch else None},
        )

    @app.get("/launch")
    def home() -> Response:
        user = _user()
        return _page(
            "Home",
            f"<h1>Hello, {html.escape(user['name'])}</h1>"
            '<p><a id="to-notes" href="/notes?sort=new#list">Your notes</a> · '
            '<a id="to-upload" href="/upload">Upload a file</a></p>'
            '<p><button id="whoami" type="button">Who am I?</button> <span id="me"></span></p>',
            script=_WHOAMI,
        )

    @app.route("/notes", methods=["GET", "POST"])
    def notes_page() -> Response:
        user = _user()
        with lock:
            mine = notes.setdefault(user["id"], [])
            if request.method == "POST" and request.form.get("note", "").strip():
                mine.append(request.form["note"].strip())
            items = "".join(f"<li>{html.escape(note)}</li>" for note in mine)
        return _page(
            "Notes",
            f'<h1>Notes of {html.escape(user["name"])}</h1><ul id="list">{items}</ul>'
            '<form id="note-form" method="post" action="/notes">'
            '<input id="note" name="note" required> <button id="add">Add</button></form>'
            '<p><a id="to-home" href="/launch">Home</a></p>',
        )

    @app.route("/upload", methods=["GET", "POST"])
    def upload() -> Response:
        user = _user()
        received = ""
        if request.method == "POST":
            file = request.files.get("file")
            if file is not None and file.filename:
                size = len(file.read())
                received = (
                    f'<p id="received">{html.escape(request.form.get("title", ""))}: '
                    f"{html.escape(file.filename)}, {size} bytes, for {html.escape(user['name'])}</p>"
                )
        return _page(
            "Upload",
            f"<h1>Upload</h1>{received}"
            '<form id="upload-form" method="post" action="/upload" enctype="multipart/form-data">'
            '<input id="title" name="title"> <input id="file" name="file" type="file" required> '
            '<button id="send">Send</button></form><p><a id="upload-home" href="/launch">Home</a></p>',
        )

    @app.get("/api/me")
    def me() -> Response:
        response = jsonify(_user())
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/health")
    def health() -> Response:
        return jsonify(status="ok")

    # Outermost, so the launch is current for everything the app does. The default sources (the
    # Authorization header, the query string, X-Ltik) are all ltik.js needs; only LTIAAS can verify an
    # ltik, so it confirms each launch first (prefetch_idtoken).
    app.wsgi_app = LtiaasMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, config, exempt=("/health", "/favicon.ico"), prefetch_idtoken=True
    )
    return app


def _user() -> dict[str, str]:
    user: dict[str, Any] = current_launch().idtoken().get("user", {})
    return {"id": str(user.get("id", "")), "name": str(user.get("name") or user.get("id", "there"))}


def _page(title: str, body: str, *, script: str = "") -> Response:
    """A page allowed to run only its own scripts: ltik.js first, then the page's, under one nonce."""
    nonce = secrets.token_urlsafe(16)
    extra = f'<script nonce="{nonce}">{script}</script>' if script else ""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>{script_tag(nonce)}"
        f'<style nonce="{nonce}">{_STYLE}</style></head><body>{body}{extra}</body></html>'
    )
    response = Response(document, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
