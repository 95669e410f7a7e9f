"""Flask behind ``LtiaasMiddleware``.

Run it with the LTIAAS settings in the environment::

    export LTIAAS_API_KEY=... LTIAAS_URL=https://your.ltiaas.com
    gunicorn -w 2 --threads 4 'examples.flask_app:create_app()'

The launch redirect (``/?ltik=…``) and every later call from the front end (``Authorization: Bearer
<ltik>``) run with that launch current: ``current_launch()`` gives its ltik and idtoken, and
``auth_headers()`` the header for calls to LTIAAS. Never hand the API key or that header to the browser.

The middleware runs with ``prefetch_idtoken=True``: LTIAAS, the only one who can verify an ltik, confirms
the launch before any view runs. A forged or tampered ltik gets 401 ``INVALID_LTIK``, LTIAAS down gets 502
``UPSTREAM_UNAVAILABLE``, and the idtoken is cached, so views that read it cost nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, Response, jsonify, stream_with_context

from ltiaas_auth import LtiaasConfig, LtiaasMiddleware, current_launch


def create_app(config: LtiaasConfig | None = None) -> Flask:
    """The app, its config read from ``LTIAAS_API_KEY`` and ``LTIAAS_URL`` unless one is given."""
    config = config or LtiaasConfig.from_env()
    app = Flask(__name__)

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

    # Outermost, so the launch is current for everything the app does; /health needs no launch.
    # Only LTIAAS can verify an ltik: it confirms each launch before any view (forged 401, LTIAAS down 502).
    app.wsgi_app = LtiaasMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, config, exempt=("/health",), prefetch_idtoken=True
    )
    return app
