"""A single-page tool: FastAPI behind ``LtiaasASGIMiddleware``, its page calling the API with ``fetch`` and
``XMLHttpRequest``.

Run it with the LTIAAS settings in the environment::

    export LTIAAS_API_KEY=... LTIAAS_URL=https://your.ltiaas.com
    uvicorn --factory examples.spa.app:create_app

The launch URL is ``/app``; the page routes itself below it (``/app/notes``) with ``history.pushState``.
Its script never touches the ltik: ``ltik.js``, inlined first in the ``<head>`` by ``script_tag(nonce)``,
takes it out of the address bar, keeps it in the tab's ``sessionStorage`` and adds ``Authorization: Bearer
<ltik>`` to every same-origin ``fetch`` and ``XMLHttpRequest``. A reload or a back navigation reaches the
server without it; the middleware's HTML rejection page carries the script too, which asks again, once,
with the tab's ltik. A library with its own transport (axios adapters, a GraphQL client) can take
``window.ltiaas.headers()``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasConfig, current_launch
from ltiaas_auth.frontend import script_tag

log = logging.getLogger(__name__)

_SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notes</title>{ltik_js}</head>
<body>
<nav><a id="nav-home" href="/app">Home</a> · <a id="nav-notes" href="/app/notes">Notes</a></nav>
<main>
  <section id="home"><h1>Home</h1>
    <p><button id="whoami" type="button">Who am I? (fetch)</button> <span id="me"></span></p></section>
  <section id="notes" hidden><h1>Notes</h1>
    <form id="note-form"><input id="note" required> <button id="add">Add (XMLHttpRequest)</button></form>
    <ul id="list"></ul></section>
</main>
<script nonce="{nonce}">{app_js}</script>
</body></html>
"""

# The page's own code: plain fetch and XMLHttpRequest, no ltik anywhere.
_APP_JS = """
"use strict";
function xhr(method, path, body, done) {
  var request = new XMLHttpRequest();
  request.open(method, path);
  request.setRequestHeader("Content-Type", "application/json");
  request.onload = function () { done(JSON.parse(request.responseText)); };
  request.send(body === undefined ? null : JSON.stringify(body));
}
function showNotes(notes) {
  var list = document.getElementById("list");
  list.textContent = "";
  notes.forEach(function (note) {
    var item = document.createElement("li");
    item.textContent = note;
    list.appendChild(item);
  });
  document.body.setAttribute("data-notes", String(notes.length));
}
function route() {
  var notes = location.pathname === "/app/notes";
  document.getElementById("home").hidden = notes;
  document.getElementById("notes").hidden = !notes;
  if (notes) { xhr("GET", "/api/notes", undefined, showNotes); }
  document.body.setAttribute("data-view", notes ? "notes" : "home");
}
document.querySelectorAll("nav a").forEach(function (link) {
  link.addEventListener("click", function (event) {
    event.preventDefault();  // routed here: no request, so nothing to carry
    history.pushState(null, "", link.getAttribute("href"));
    route();
  });
});
window.addEventListener("popstate", route);
document.getElementById("whoami").addEventListener("click", function () {
  fetch("/api/me").then(function (response) { return response.json(); }).then(function (me) {
    document.getElementById("me").textContent = me.name + " (" + me.id + ")";
  });
});
document.getElementById("note-form").addEventListener("submit", function (event) {
  event.preventDefault();
  var field = document.getElementById("note");
  xhr("POST", "/api/notes", {note: field.value}, showNotes);
  field.value = "";
});
route();
"""


def create_app(config: LtiaasConfig | None = None) -> FastAPI:
    """The tool, its config read from ``LTIAAS_API_KEY`` and ``LTIAAS_URL`` unless one is given."""
    config = config or LtiaasConfig.from_env()
    notes: dict[str, list[str]] = {}  # per user; a real tool keeps them in its database
    lock = asyncio.Lock()

    async def served(request: Request) -> None:
        # Which launch each request ran as: its fingerprint (a short hash), never the ltik itself.
        launch = request.scope.get("ltiaas_auth.launch")
        fingerprint = launch.ltik.fingerprint if launch else None
        log.info("%s %s as %s", request.method, request.url.path, fingerprint, extra={"launch": fingerprint})

    app = FastAPI(dependencies=[Depends(served)])

    @app.get("/app", response_class=HTMLResponse)
    @app.get("/app/{view:path}", response_class=HTMLResponse)
    async def shell() -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        page = _SHELL.format(ltik_js=script_tag(nonce), nonce=nonce, app_js=_APP_JS)
        headers = {
            "Content-Security-Policy": f"default-src 'self'; script-src 'nonce-{nonce}'; "
            "object-src 'none'; base-uri 'none'",
            "Cache-Control": "no-store",
        }
        return HTMLResponse(page, headers=headers)

    @app.get("/api/me")
    async def me() -> dict[str, str]:
        return await _user()

    @app.get("/api/notes")
    async def list_notes() -> list[str]:
        user = await _user()
        async with lock:
            return list(notes.get(user["id"], []))

    @app.post("/api/notes")
    async def add_note(note: Annotated[str, Body(embed=True, max_length=500)]) -> list[str]:
        user = await _user()
        async with lock:
            mine = notes.setdefault(user["id"], [])
            if note.strip():
                mine.append(note.strip())
            return list(mine)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    # Outermost among your middleware, so the launch is current wherever the app looks for it; only
    # LTIAAS can verify an ltik, so it confirms each launch first (prefetch_idtoken).
    app.add_middleware(
        LtiaasASGIMiddleware, config=config, exempt=("/health", "/favicon.ico"), prefetch_idtoken=True
    )
    return app


async def _user() -> dict[str, str]:
    user: dict[str, Any] = (await current_launch().aidtoken()).get("user", {})
    return {"id": str(user.get("id", "")), "name": str(user.get("name") or user.get("id", "there"))}
