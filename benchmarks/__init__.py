"""ltiaas_auth's benchmarks: ``python -m benchmarks`` (``--quick`` for a smoke run) prints one table.

They measure, in one run, what DESIGN §7 sets targets for: the middleware's per-request overhead beside
werkzeug's ``ProxyFix`` and ``asgi-correlation-id``, a cached ``launch.idtoken()``, upstream fetches under
64 concurrent callers, and a view reading the idtoken 100 times beside the official ``ltiaas`` client.
Everything runs in process or against a ``FakeLtiaas`` on 127.0.0.1. See ``benchmarks/README.md``.
"""
