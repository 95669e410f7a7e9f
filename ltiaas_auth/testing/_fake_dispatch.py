"""One request in, one answer out: the browser pages and the API behind one route table.

Before any route runs, what LTIAAS (an Express app on Node) refuses is refused here too: a method that is not
an upper-case token (Node's parser answers 400) and a query parameter given twice (LTIAAS's validation takes
one string per name).
"""

from __future__ import annotations

import html
import re

from werkzeug.wrappers import Response

from ltiaas_auth.testing import _fake_api, _fake_browser
from ltiaas_auth.testing._fake_auth import authenticate
from ltiaas_auth.testing._fake_http import ApiError, bad_request, not_found
from ltiaas_auth.testing._fake_routing import ApiRequest, Incoming, Route, Settings, segments
from ltiaas_auth.testing._fake_state import FakeState

__all__ = ["ROUTES", "handle"]

ROUTES: tuple[Route, ...] = (*_fake_browser.ROUTES, *_fake_api.ROUTES)
_METHOD = re.compile(r"[A-Z]+")


def handle(state: FakeState, settings: Settings, incoming: Incoming) -> Response:
    """Answer one request; callers hold ``state.lock``."""
    try:
        if not _METHOD.fullmatch(incoming.method):
            raise ApiError(400, "BAD_REQUEST", "The method must be an upper-case HTTP method such as GET.")
        parts = segments(incoming.path)
        for route in ROUTES:
            params = route.match(incoming.method, parts)
            if params is None:
                continue
            launch = None
            if route.accepts is not None:
                header, key = incoming.authorization, settings.api_key
                launch = authenticate(header, route.accepts, key, state, legacy_v1=settings.legacy_v1).launch
            if incoming.repeated:
                problem = f"`{incoming.repeated[0]}` is given more than once: give each query parameter once."
                if route.accepts is None:
                    raise _fake_browser.PageError(problem)
                raise bad_request(problem)
            request = ApiRequest(
                params, incoming.query, incoming.body, launch, settings, incoming.content_type
            )
            return route.handler(state, request)
        raise not_found("Route")
    except ApiError as error:
        return error.response()
    except _fake_browser.PageError as error:
        body = f'<h1>FakeLtiaas could not do that</h1><p id="error">{html.escape(error.description)}</p>'
        return _fake_browser.page("FakeLtiaas: error", body, error.status)
