"""A server-rendered LTI tool on Flask, with the ``Ltiaas`` extension.

Run it with the LTIAAS settings in the environment (or in ``app.config``)::

    export LTIAAS_API_KEY=... LTIAAS_URL=https://your.ltiaas.com
    gunicorn -w 2 --threads 4 'examples.flask_app:create_app()'

LTIAAS redirects each launch to ``/?ltik=…``. The extension's gate reads the ltik there and on every
later request, has LTIAAS confirm the launch before any view runs (a forged or tampered ltik gets 401
``INVALID_LTIK``, LTIAAS down 502), and makes the launch current: ``current_launch()`` in views, the
``current_launch`` template global in pages. The page's links (``ltik_url``) and forms (``ltik_field``)
carry the ltik to the next page, and ``ltiaas_script()`` takes it out of the address bar. Roster and
grades go through the typed API client, which uses the current launch's credential.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, Response, jsonify, render_template_string, request, stream_with_context

from ltiaas_auth import LtiaasConfig, current_launch
from ltiaas_auth.api import LtiaasClient
from ltiaas_auth.flask import Ltiaas, launch_required, ltik_exempt

#: One extension object for every app the factory makes; each app keeps its own state.
ltiaas = Ltiaas()

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Course tool</title></head><body>
<h1>Hello {{ name }}</h1>
<p><a href="{{ ltik_url('roster') }}">Roster</a> (instructors)</p>
<form method="post" action="{{ url_for('grade') }}">
  {{ ltik_field() }}
  <input name="user_id" placeholder="user id"> <input name="score" type="number" min="0" max="10">
  <button>Grade quiz 1</button>
</form>
{{ ltiaas_script() }}
</body></html>
"""


def create_app(config: LtiaasConfig | None = None) -> Flask:
    """The app; its LTIAAS settings come from ``config`` if given, else ``app.config`` / the environment
    (``LTIAAS_API_KEY``, ``LTIAAS_URL``, ``LTIAAS_REDIS_URL``…)."""
    app = Flask(__name__)
    app.config["LTIAAS_EXEMPT"] = ["/health"]  # not even looked at: load balancers carry no ltik
    ltiaas.init_app(app, config=config)
    api = LtiaasClient(app.extensions["ltiaas"].config)  # one per process: pooled connections

    @app.get("/")
    def launch() -> str:
        name = current_launch().idtoken()["user"].get("name", "there")  # cached: confirmed by the gate
        return render_template_string(PAGE, name=name)

    @app.get("/roster")
    @launch_required(roles=["Instructor"])  # 403 ROLE_REQUIRED for anyone else
    def roster() -> Response:
        return jsonify(members=[member.name for member in api.memberships()])

    @app.post("/grade")
    @launch_required(roles=["Instructor"])
    def grade() -> Response:
        item = api.create_line_item(label="Quiz 1", score_maximum=10)
        user_id, score = request.form["user_id"], float(request.form["score"])
        api.submit_score(str(item.id), user_id=user_id, score_given=score, score_maximum=10)
        return jsonify(graded=user_id, line_item=item.id)

    @app.get("/about")
    @ltik_exempt  # runs with or without a launch
    def about() -> Response:
        return jsonify(tool="course tool")

    @app.get("/health")
    def health() -> Response:
        return jsonify(status="ok")

    @app.get("/whoami")
    def whoami() -> Response:
        launch = current_launch()
        return jsonify(ltik=launch.ltik.fingerprint, user=launch.idtoken()["user"]["id"])

    @app.get("/stream")
    def stream() -> Response:
        def lines() -> Iterator[str]:
            # The launch stays current while the server streams the body after the view returned.
            for number in range(3):
                yield f"{number} {current_launch().ltik.fingerprint}\n"

        return Response(stream_with_context(lines()), mimetype="text/plain")

    return app
