"""The demo tool's HTML: the launch page and the page shown when a launch is refused.

One self-contained document each (inline CSS and JS, no external assets), allowed to run only by a
per-response CSP nonce. Both carry ``ltik.js`` (:mod:`ltiaas_auth.frontend`): it takes the ltik out of the
address bar at once, keeps it in the tab's ``sessionStorage`` and adds it as ``Authorization: Bearer`` to
the page's calls to the tool's own API; on the refusal page, a reload's, it asks again with the tab's
ltik. The launch page never contains the ltik or the API key.
"""

from __future__ import annotations

import html
from string import Template

from ..errors import LtiaasAuthError
from ..frontend import script_source

__all__ = ["content_security_policy", "error_page", "launch_page"]

_STYLE = """
  body { font: 16px/1.5 system-ui, sans-serif; color: #1d2433; max-width: 42rem; margin: 2rem auto;
         padding: 0 1rem; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; }
  .muted { color: #5b6472; font-size: .9rem; }
  code { background: #eef1f5; padding: 0 .25rem; border-radius: 3px; }
  ul#roster { padding-left: 1.25rem; }
  button { font: inherit; padding: .4rem .9rem; border-radius: 4px; border: 1px solid #3056d3;
           background: #3056d3; color: #fff; cursor: pointer; }
  button:disabled { opacity: .6; cursor: default; }
  .error { color: #b42318; }
"""

# The page's own code, run after ltik.js in the same element.
_SCRIPT = """
(function () {
  "use strict";
  var status = document.getElementById("roster-status");
  var roster = document.getElementById("roster");
  var finish = document.getElementById("finish");
  var grade = document.getElementById("grade");

  function fail(element, error) {
    element.textContent = error.message;
    element.className = "error";
  }

  // A plain fetch: ltik.js adds the tab's ltik as Authorization: Bearer (same origin only).
  function api(method, path, body) {
    var init = {method: method, headers: {"Accept": "application/json"}, cache: "no-store"};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) {
          var details = answer.details || {};
          throw new Error((details.message || response.status) + ": " + (details.description || ""));
        }
        return answer;
      });
    });
  }

  if (!window.ltiaas.ltik) {
    fail(status, new Error("This tab has no launch: open the tool again from your course."));
    finish.disabled = true;
    return;
  }

  api("GET", "/api/roster").then(function (answer) {
    answer.members.forEach(function (member) {
      var item = document.createElement("li");
      item.textContent = member.name + " (" + member.roles.join(", ") + ")" + (member.you ? ", you" : "");
      roster.appendChild(item);
    });
    status.textContent = answer.members.length + " people in " + answer.course + ", from LTIAAS:";
    document.body.setAttribute("data-roster", "loaded");
  }).catch(function (error) { fail(status, error); });

  finish.addEventListener("click", function () {
    finish.disabled = true;
    grade.textContent = "Sending the score to the LMS...";
    api("POST", "/api/grade", {"scoreGiven": 8}).then(function (answer) {
      grade.textContent = "The LMS gradebook now shows " + answer.scoreGiven + " / " + answer.scoreMaximum +
                          " for " + answer.lineItem + ".";
    }).catch(function (error) { fail(grade, error); finish.disabled = false; });
  });
})();
"""

_LAUNCH = Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ltiaas-auth demo tool</title>
<style nonce="$nonce">$style</style>
</head>
<body>
<p class="muted">ltiaas-auth demo tool</p>
<h1>Hello, <span id="user-name">$name</span></h1>
<p>Course: <strong id="course-title">$course</strong>; your roles: <span id="user-roles">$roles</span></p>

<h2>Roster</h2>
<p id="roster-status">Loading the roster through the tool's API...</p>
<ul id="roster"></ul>

<h2>Grade</h2>
<p><button id="finish" type="button">Finish the activity (scores 8 / 10)</button></p>
<p id="grade"></p>

<h2>What happened</h2>
<ul class="muted">
  <li>LTIAAS redirected your browser here with <code>?ltik=</code>. The middleware found it, refused it if
      expired, and the server fetched this launch's idtoken from LTIAAS once (it is cached).</li>
  <li>This page's <code>ltik.js</code> took the ltik out of the address bar
      (<code>history.replaceState</code>), keeps it in this tab's <code>sessionStorage</code> and adds it as
      <code>Authorization: Bearer</code> to the tool's own API calls. Reload the page: the server's refusal
      page asks again with this tab's ltik.</li>
  <li>The middleware answered with <code>Referrer-Policy: no-referrer</code>, so no link or resource
      on this page can leak the ltik to another site.</li>
  <li>The LTIAAS API key stays on the server: no page, script or response of this tool contains it.</li>
</ul>
<script nonce="$nonce">$ltik_js
$script</script>
</body>
</html>
"""
)

_ERROR = Template(
    """<!doctype html>
<html lang="en" data-ltiaas-error="$code">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ltiaas-auth demo tool: $code</title>
<style nonce="$nonce">$style</style>
</head>
<body>
<p class="muted">ltiaas-auth demo tool</p>
<h1 class="error">$status $phrase</h1>
<p>$description</p>
<p class="muted">Code: <code>$code</code>. This page is only reachable through an LTI launch. Open the tool
again from your course (in the demo: open the launch link printed in the terminal again).</p>
<script nonce="$nonce">$ltik_js</script>
</body>
</html>
"""
)


def content_security_policy(nonce: str) -> str:
    """Only this response's own inline style and script may run; fetches go to this origin only."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'"
    )


def launch_page(*, name: str, course: str, roles: list[str], nonce: str) -> str:
    """The launch page for one user; every value is HTML-escaped."""
    return _LAUNCH.substitute(
        nonce=nonce,
        style=_STYLE,
        ltik_js=script_source(),
        script=_SCRIPT,
        name=html.escape(name),
        course=html.escape(course),
        roles=html.escape(", ".join(roles) or "none"),
    )


def error_page(error: LtiaasAuthError, *, phrase: str, nonce: str) -> str:
    """A refused launch, for a person: the error's code and description (which never hold a token)."""
    return _ERROR.substitute(
        nonce=nonce,
        style=_STYLE,
        ltik_js=script_source(),
        status=error.status,
        phrase=html.escape(phrase),
        code=html.escape(error.code),
        description=html.escape(error.description),
    )
