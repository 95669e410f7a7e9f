"""Adapters that put the current LTIAAS credential on outbound requests of popular HTTP clients.

Each adapter lives in its own module and imports its client library there, so installing one client never
requires another; this package imports none of them. Import the one you use::

    from ltiaas_auth.clients.requests import RequestsAuth, session
    from ltiaas_auth.clients.httpx import HttpxAuth, client, async_client
    from ltiaas_auth.clients.aiohttp import LtiaasClientMiddleware, client_session
    from ltiaas_auth.clients.urllib import LtiaasHandler, build_opener

Every adapter pins the LTIAAS origin (a request to any other origin raises ``ForeignOriginError`` before a
byte is sent) and puts the credential in ``Authorization``, which is never carried to another origin on a
redirect. The shared check is :func:`ltiaas_auth.auth.authorization_for`.
"""
