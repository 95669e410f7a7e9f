"""The LTIAAS API endpoints the fake serves: one handler per route, and the route table.

Routing (:mod:`._fake_routing`) works on the path as sent: a line item id is a URL encoded once, `/`
included, so it stays one segment; a client that encodes the id without `/` (or not at all) gets a 404, as
it would from LTIAAS. Platforms are served under ``/admin/platforms`` (LTIAAS's reference docs) and
``/api/platforms`` (the Node SDK) alike.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import jwt
from werkzeug.wrappers import Response

from ltiaas_auth.testing import _fake_validate as check
from ltiaas_auth.testing._fake_auth import API_KEY_ONLY, LAUNCH_ONLY, LAUNCH_OR_SERVICE
from ltiaas_auth.testing._fake_http import (
    NOT_AVAILABLE,
    ApiError,
    bad_request,
    empty_response,
    json_response,
    not_found,
)
from ltiaas_auth.testing._fake_launch import (
    deep_linking_claims,
    lineitems_url,
    memberships_url,
    short_role,
)
from ltiaas_auth.testing._fake_routing import PARAM, ApiRequest, Handler, Route
from ltiaas_auth.testing._fake_state import Context, FakeState, default_platform_fields, new_platform


def _service(state: FakeState, request: ApiRequest, service: str) -> Context:
    """The launch's context, when the launch has `service`; LTIAAS answers 400 otherwise."""
    launch = request.launch
    if service not in launch.spec.services:
        raise ApiError(400, NOT_AVAILABLE, f"The {service} service is not available for this context.")
    return state.context_of(launch)


# --- listings (memberships, line items): `limit` pages, `next` links, `url=` to follow them


def _listing(query: Mapping[str, str], base_url: str, filters: tuple[str, ...]) -> dict[str, str]:
    """The listing's filters and page: from the query, or from a `next` link passed back in `url`."""
    url = query.get("url")
    if url is None:
        return {name: query[name] for name in (*filters, "limit") if name in query}
    path, _, link_query = url.partition("?")
    params = dict(parse_qsl(link_query))
    if path != base_url or "page" not in params or "limit" not in params:
        raise bad_request("`url` is not a page link of this listing (it must be encoded exactly once).")
    return params


def _page(items: list[dict[str, Any]], params: dict[str, str], base_url: str) -> dict[str, Any]:
    """`id` (where the page came from), the page of `items` under `key`, and `next` when more remain."""
    limit, page = _positive(params, "limit"), _positive(params, "page") or 1
    start = (page - 1) * (limit or 0)
    end = start + limit if limit else len(items)
    here = f"{base_url}?{urlencode(params)}" if params else base_url
    answer: dict[str, Any] = {"id": here, "items": items[start:end]}
    if end < len(items):
        answer["next"] = f"{base_url}?{urlencode({**params, 'page': str(page + 1)})}"
    return answer


def _positive(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise bad_request(f"`{name}` must be a whole number >= 1.")
    return int(value)


# --- launch-only: idtoken and deep linking


def _idtoken(state: FakeState, request: ApiRequest) -> Response:
    launch = request.launch
    return json_response(launch.raw_idtoken if request.flag("raw") else launch.idtoken)


def _deep_linking_message(state: FakeState, request: ApiRequest) -> dict[str, str]:
    _service(state, request, "deepLinking")
    items, options = check.deep_linking(request.json())
    message = jwt.encode(
        deep_linking_claims(items, options, int(time.time())), state.secret, algorithm="HS256"
    )
    return {"message": message, "target": state.deep_linking_return_url}


def _deep_linking(state: FakeState, request: ApiRequest) -> Response:
    return json_response(_deep_linking_message(state, request))


def _deep_linking_form(state: FakeState, request: ApiRequest) -> Response:
    parts = {name: html.escape(value) for name, value in _deep_linking_message(state, request).items()}
    form = (
        f'<form id="ltiaas_dl" style="display: none;" action="{parts["target"]}" method="POST">'
        f'<input type="hidden" name="JWT" value="{parts["message"]}" /></form>'
        '<script>document.getElementById("ltiaas_dl").submit()</script>'
    )
    return json_response({"form": form})


# --- launch or service: memberships, line items, scores


def _memberships(state: FakeState, request: ApiRequest) -> Response:
    context = _service(state, request, "namesAndRoles")
    base = memberships_url(context.id)
    params = _listing(request.query, base, ("role", "resourceLinkId"))
    role, link = params.get("role"), params.get("resourceLinkId")
    members = [
        entry
        for user_id, entry in context.members.items()
        if (role is None or any(role in (each, short_role(each)) for each in entry["roles"]))
        and (link is None or link in context.member_links[user_id])
    ]
    page = _page(members, params, base)
    answer = {
        "id": page["id"],
        "context": {"id": context.id, "title": context.title},
        "members": page["items"],
    }
    if "next" in page:
        answer["next"] = page["next"]
    return json_response(answer)


_LINE_ITEM_FILTERS = ("resourceLinkId", "resourceId", "tag")


def _line_items(state: FakeState, request: ApiRequest) -> Response:
    context = _service(state, request, "assignmentAndGrades")
    base = lineitems_url(context.id)
    params = _listing(request.query, base, _LINE_ITEM_FILTERS)
    wanted = {name: params[name] for name in _LINE_ITEM_FILTERS if name in params}
    items = [item for item in context.line_items.values() if all(item.get(k) == v for k, v in wanted.items())]
    page = _page(items, params, base)
    answer = {"lineItems": page["items"]}
    if "next" in page:
        answer["next"] = page["next"]
    return json_response(answer)


def _create_line_item(state: FakeState, request: ApiRequest) -> Response:
    context = _service(state, request, "assignmentAndGrades")
    fields = check.line_item(request.json())
    context.line_items_created += 1
    item_id = f"{lineitems_url(context.id)}/{context.line_items_created}/lineitem?type_id=1"
    context.line_items[item_id] = item = {"id": item_id, **fields}
    return json_response(item, 201)


def _line_item_of(state: FakeState, request: ApiRequest) -> tuple[Context, str]:
    """The context and id of the line item the path names; unknown there (even if known elsewhere) is 404."""
    context = _service(state, request, "assignmentAndGrades")
    item_id = request.params[0]
    if item_id not in context.line_items:
        raise not_found("Line item")
    return context, item_id


def _get_line_item(state: FakeState, request: ApiRequest) -> Response:
    context, item_id = _line_item_of(state, request)
    return json_response(context.line_items[item_id])


def _update_line_item(state: FakeState, request: ApiRequest) -> Response:
    context, item_id = _line_item_of(state, request)
    context.line_items[item_id] = item = {"id": item_id, **check.line_item(request.json())}
    return json_response(item)


def _delete_line_item(state: FakeState, request: ApiRequest) -> Response:
    context, item_id = _line_item_of(state, request)
    del context.line_items[item_id]
    context.results.pop(item_id, None)
    return empty_response()


def _scores(state: FakeState, request: ApiRequest) -> Response:
    context, item_id = _line_item_of(state, request)
    results = context.results.get(item_id, {})
    user_id = request.query.get("userId")
    scores = [result for user, result in results.items() if user_id is None or user == user_id]
    return json_response({"scores": scores})


def _submit_score(state: FakeState, request: ApiRequest) -> Response:
    """Record a score as the LMS's result; a score without `scoreGiven` clears the user's result (AGS)."""
    context, item_id = _line_item_of(state, request)
    score = check.score(request.json())
    results = context.results.setdefault(item_id, {})
    user_id = score["userId"]
    results.pop(user_id, None)
    if "scoreGiven" in score:
        results[user_id] = {
            "id": f"{item_id.partition('?')[0]}/results/{quote(user_id, safe='')}",
            "userId": user_id,
            "scoreOf": item_id,
            "resultScore": score["scoreGiven"],
            "resultMaximum": score["scoreMaximum"],
            "timestamp": score.get("timestamp") or check.iso(datetime.now(UTC)),
            **({"comment": score["comment"]} if "comment" in score else {}),
        }
    return empty_response()


# --- api key: registrations and platforms

_CLOSE_REGISTRATION_WINDOW = (
    "<script>(window.opener || window.parent).postMessage({subject:'org.imsglobal.lti.close'}, '*');</script>"
)
_REGISTRATION_FIELDS = ("url", "familyCode", "version", "supportedScopes", "supportedMessages")


def _registration_of(state: FakeState, request: ApiRequest) -> dict[str, Any]:
    registration = state.registrations.get(request.params[0])
    if registration is None:
        raise not_found("Registration")
    return registration


def _registration(state: FakeState, request: ApiRequest) -> Response:
    registration = _registration_of(state, request)
    if request.flag("raw"):
        configuration = _openid_configuration(registration)
        return json_response(
            {"openIdConfiguration": configuration, "registrationToken": registration["registrationToken"]}
        )
    return json_response({name: registration[name] for name in _REGISTRATION_FIELDS})


def _openid_configuration(registration: dict[str, Any]) -> dict[str, Any]:
    """The LMS's OpenID configuration, as a dynamic registration request carries it."""
    url = registration["url"]
    return {
        "issuer": url,
        "authorization_endpoint": f"{url}/mod/lti/auth.php",
        "token_endpoint": f"{url}/mod/lti/token.php",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "jwks_uri": f"{url}/mod/lti/certs.php",
        "registration_endpoint": f"{url}/mod/lti/openid-registration.php",
        "scopes_supported": ["openid", *registration["supportedScopes"]],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": registration["familyCode"],
            "version": registration["version"],
            "messages_supported": registration["supportedMessages"],
        },
    }


def _complete_registration(state: FakeState, request: ApiRequest) -> Response:
    """Register the LMS as a platform (active only with `autoActivate`); the registration is used up."""
    registration = _registration_of(state, request)
    name, auto_activate = check.registration_options(request.json(empty_ok=True))
    del state.registrations[request.params[0]]
    platform_id = secrets.token_hex(10)
    fields = {**default_platform_fields(), "url": registration["url"], "clientId": secrets.token_hex(10)}
    fields.update(name=name or fields["name"], active=auto_activate)
    state.platforms[platform_id] = new_platform(platform_id, fields)
    return json_response({"html": _CLOSE_REGISTRATION_WINDOW, "platformId": platform_id})


def _platforms(state: FakeState, request: ApiRequest) -> Response:
    wanted = {name: request.query[name] for name in ("url", "clientId") if name in request.query}
    found = [p for p in state.platforms.values() if all(p[k] == v for k, v in wanted.items())]
    return json_response({"platforms": found})


def _create_platform(state: FakeState, request: ApiRequest) -> Response:
    fields = {"active": False, **check.platform(request.json(), partial=False)}
    platform_id = secrets.token_hex(10)
    state.platforms[platform_id] = platform = new_platform(platform_id, fields)
    return json_response(platform, 201)


def _platform_of(state: FakeState, request: ApiRequest) -> dict[str, Any]:
    platform = state.platforms.get(request.params[0])
    if platform is None:
        raise not_found("Platform")
    return platform


def _get_platform(state: FakeState, request: ApiRequest) -> Response:
    return json_response(_platform_of(state, request))


def _update_platform(state: FakeState, request: ApiRequest) -> Response:
    platform = _platform_of(state, request)
    platform.update(check.platform(request.json(), partial=True))
    return json_response(platform)


def _delete_platform(state: FakeState, request: ApiRequest) -> Response:
    _platform_of(state, request)
    del state.platforms[request.params[0]]
    return empty_response()


def _set_active(active: bool) -> Handler:
    def handler(state: FakeState, request: ApiRequest) -> Response:
        platform = _platform_of(state, request)
        platform["active"] = active
        return json_response(platform)

    return handler


ROUTES: tuple[Route, ...] = (
    Route("GET", ("api", "idtoken"), LAUNCH_ONLY, _idtoken),
    Route("POST", ("api", "deeplinking", "form"), LAUNCH_ONLY, _deep_linking_form),
    Route("POST", ("api", "deeplinking"), LAUNCH_ONLY, _deep_linking),
    Route("GET", ("api", "memberships"), LAUNCH_OR_SERVICE, _memberships),
    Route("GET", ("api", "lineitems"), LAUNCH_OR_SERVICE, _line_items),
    Route("POST", ("api", "lineitems"), LAUNCH_OR_SERVICE, _create_line_item),
    Route("GET", ("api", "lineitems", PARAM), LAUNCH_OR_SERVICE, _get_line_item),
    Route("PUT", ("api", "lineitems", PARAM), LAUNCH_OR_SERVICE, _update_line_item),
    Route("DELETE", ("api", "lineitems", PARAM), LAUNCH_OR_SERVICE, _delete_line_item),
    Route("GET", ("api", "lineitems", PARAM, "scores"), LAUNCH_OR_SERVICE, _scores),
    Route("POST", ("api", "lineitems", PARAM, "scores"), LAUNCH_OR_SERVICE, _submit_score),
    Route("GET", ("api", "registrations", PARAM), API_KEY_ONLY, _registration),
    Route("POST", ("api", "registrations", PARAM, "complete"), API_KEY_ONLY, _complete_registration),
    *(
        route
        for prefix in ("admin", "api")
        for route in (
            Route("GET", (prefix, "platforms"), API_KEY_ONLY, _platforms),
            Route("POST", (prefix, "platforms"), API_KEY_ONLY, _create_platform),
            Route("GET", (prefix, "platforms", PARAM), API_KEY_ONLY, _get_platform),
            Route("PUT", (prefix, "platforms", PARAM), API_KEY_ONLY, _update_platform),
            Route("DELETE", (prefix, "platforms", PARAM), API_KEY_ONLY, _delete_platform),
            Route("POST", (prefix, "platforms", PARAM, "activate"), API_KEY_ONLY, _set_active(True)),
            Route("POST", (prefix, "platforms", PARAM, "deactivate"), API_KEY_ONLY, _set_active(False)),
        )
    ),
)
