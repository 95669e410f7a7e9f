# ruff: noqa: PT009 - Django's runner shows a unittest assertion's values; a bare assert it would not.
"""The example tool through Django's own test clients (``python manage.py test``; pytest-django runs these
too): every request goes through ``LtiaasMiddleware`` from ``settings.MIDDLEWARE``, as under a server."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, LiveServerTestCase, TestCase, override_settings
from rest_framework.test import APIClient

from ltiaas_auth import UpstreamError, current_launch, parse_ltik
from ltiaas_auth.context import credential_var
from ltiaas_auth.testing import FakeLtiaas

from .support import INSTRUCTOR, FakeLtiaasMixin, ltiaas_settings

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


class LaunchTests(FakeLtiaasMixin, TestCase):
    def test_sync_view_sees_its_launch(self) -> None:
        ltik = self.fake.launch(user_id="ada")
        response = self.client.get("/whoami", headers={"Authorization": f"Bearer {ltik}"})
        self.assertEqual(response.json(), {"ltik": parse_ltik(ltik).fingerprint, "user": "ada"})
        self.assertIsNone(credential_var.get())  # reset when the test client closed the response

    async def test_async_view_sees_its_launch(self) -> None:
        ltik = self.fake.launch(user_id="grace")
        response = await self.async_client.get("/awhoami", headers={"X-Ltik": ltik})
        self.assertEqual(response.json(), {"ltik": parse_ltik(ltik).fingerprint, "user": "grace"})

    def test_ltik_in_the_url_gets_no_referrer_and_private(self) -> None:
        ltik = self.fake.launch(user_id="ada")
        response = self.client.get("/whoami", {"ltik": ltik})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Referrer-Policy"], "no-referrer")
        self.assertEqual(response["Cache-Control"], "private")

    def test_streamed_response_keeps_the_launch_until_closed(self) -> None:
        ltik = self.fake.launch(user_id="ada")
        fingerprint = parse_ltik(ltik).fingerprint
        response = self.client.get("/stream", headers={"X-Ltik": ltik})
        chunks = iter(response.streaming_content)  # type: ignore[attr-defined]
        self.assertEqual(next(chunks), f"0 {fingerprint}\n".encode())
        self.assertEqual(current_launch().ltik.fingerprint, fingerprint)  # still open: still current
        self.assertEqual(b"".join(chunks).decode(), f"1 {fingerprint}\n2 {fingerprint}\n")
        self.assertIsNone(credential_var.get())  # closed at the end of the stream

    async def test_async_stream_reads_its_launch_while_consumed(self) -> None:
        ltik = self.fake.launch(user_id="ada")
        fingerprint = parse_ltik(ltik).fingerprint
        response = await self.async_client.get("/astream", headers={"X-Ltik": ltik})
        content = response.streaming_content  # type: ignore[attr-defined]
        body = b"".join([chunk async for chunk in content])
        self.assertEqual(body.decode().splitlines(), [f"{n} {fingerprint}" for n in range(3)])

    def test_requests_never_see_each_others_launch(self) -> None:
        ltiks = [self.fake.launch(user_id=f"user-{n}") for n in range(5)]
        for ltik in ltiks * 2:
            body = self.client.get("/whoami", headers={"X-Ltik": ltik}).json()
            self.assertEqual(body["ltik"], parse_ltik(ltik).fingerprint)


class RejectionTests(FakeLtiaasMixin, TestCase):
    def test_missing_ltik_is_a_401_in_ltiaas_shape(self) -> None:
        response = self.client.get("/whoami")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["details"]["message"], "MISSING_LTIK")
        self.assertEqual(response["WWW-Authenticate"], "Bearer")
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_forged_ltik_is_refused_by_ltiaas(self) -> None:
        with FakeLtiaas() as other:
            forged = other.launch()  # plausible claims, signed by another LTIAAS
        response = self.client.get("/whoami", headers={"Authorization": f"Bearer {forged}"})
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["details"]["message"], "INVALID_LTIK")

    def test_a_navigation_gets_the_relaunch_page(self) -> None:
        with FakeLtiaas() as other:
            forged = other.launch()
        response = self.client.get(
            "/page", {"ltik": forged}, headers={"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
        )
        self.assertEqual(response.status_code, 401)
        self.assertTrue(response["Content-Type"].startswith("text/html"))
        page = response.content.decode()
        self.assertIn("Open this activity again from your course", page)
        nonce = re.search(r"script-src 'nonce-([^']+)'", response["Content-Security-Policy"])
        assert nonce is not None
        self.assertIn(f'<script nonce="{nonce[1]}">', page)  # ltik.js, inlined under the page's nonce
        self.assertNotIn(forged, page)
        self.assertEqual(response["Referrer-Policy"], "no-referrer")

    def test_the_relaunch_template_can_be_overridden(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "ltiaas_auth").mkdir()
            (Path(folder) / "ltiaas_auth" / "relaunch.html").write_text(
                '<html data-ltiaas-error="{{ code }}"><h1>Our own page: {{ code }} '
                "({{ status }} {{ phrase }})</h1>{{ ltiaas_script }}</html>"
            )
            templates = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [folder]}]
            with override_settings(TEMPLATES=templates):
                response = self.client.get("/whoami", headers={"Accept": "text/html"})
        self.assertEqual(response.status_code, 401)
        self.assertIn('<html data-ltiaas-error="MISSING_LTIK"><h1>Our own page: MISSING_LTIK', response.text)
        self.assertIn("(401 Unauthorized)</h1><script nonce=", response.text)

    def test_ltik_exempt_view_needs_no_ltik(self) -> None:
        self.assertEqual(self.client.get("/health").json(), {"status": "ok"})
        refused = self.client.get("/health", headers={"X-Ltik": "not-a-token"})
        self.assertEqual(refused.status_code, 200)  # never refused, and no launch

    def test_missing_role_is_a_403(self) -> None:
        learner = self.fake.launch(user_id="bob", roles=["Learner"])
        for route in ("/grades", "/agrades", "/teach"):
            with self.subTest(route=route):
                response = self.client.get(route, headers={"X-Ltik": learner})
                self.assertEqual(response.status_code, 403)
                self.assertEqual(response.json()["details"]["message"], "ROLE_REQUIRED")

    def test_a_role_opens_the_gate(self) -> None:
        instructor = self.fake.launch(user_id="ada", roles=INSTRUCTOR)
        teaching_assistant = self.fake.launch(roles=[f"{LIS}membership/Instructor#TeachingAssistant"])
        for route, ltik in (("/grades", instructor), ("/agrades", instructor), ("/teach", instructor)):
            with self.subTest(route=route):
                self.assertEqual(self.client.get(route, headers={"X-Ltik": ltik}).status_code, 200)
        self.assertEqual(self.client.get("/grades", headers={"X-Ltik": teaching_assistant}).status_code, 200)

    async def test_async_role_gate(self) -> None:
        learner = self.fake.launch(roles=["Learner"])
        response = await self.async_client.get("/agrades", headers={"X-Ltik": learner})
        self.assertEqual(response.status_code, 403)

    def test_upstream_failure_in_a_view_is_ltiaas_shaped(self) -> None:
        ltik = self.fake.launch(user_id="ada")
        self.assertEqual(self.client.get("/roster", headers={"X-Ltik": ltik}).status_code, 200)
        self.fake.fail_next(503, count=3)  # the client retries twice, then gives up
        failed = self.client.get("/roster", headers={"X-Ltik": ltik})
        self.assertEqual(failed.status_code, 502)
        self.assertEqual(failed.json()["details"]["message"], "UPSTREAM_UNAVAILABLE")
        self.fake.fail_next(503, count=3)
        page = self.client.get("/roster", headers={"X-Ltik": ltik, "Accept": "text/html"})
        self.assertEqual(page.status_code, 502)
        self.assertIn("could not reach its learning platform service", page.text)


def failing_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A middleware below ours whose LTIAAS call fails: Django turns the error into its bare 500."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path == "/whoami":
            raise UpstreamError("LTIAAS is down", upstream_status=503)
        return get_response(request)

    return middleware


class BareServerErrorTests(FakeLtiaasMixin, TestCase):
    @override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, f"{__name__}.failing_middleware"])
    def test_djangos_bare_500_after_an_ltiaas_error_is_replaced(self) -> None:
        ltik = self.fake.launch()
        response = Client(raise_request_exception=False).get("/whoami", headers={"X-Ltik": ltik})
        self.assertEqual(response.status_code, 502)
        self.assertEqual(response.json()["details"]["message"], "UPSTREAM_UNAVAILABLE")

    def test_our_programming_errors_stay_djangos_500(self) -> None:
        with override_settings(LTIAAS=ltiaas_settings(self.fake, EXEMPT=["/whoami"])):
            response = Client(raise_request_exception=False).get("/whoami")  # NoLaunchContext
        self.assertEqual(response.status_code, 500)
        self.assertNotIn(b"NO_LAUNCH_CONTEXT", response.content)


class SettingsTests(FakeLtiaasMixin, TestCase):
    def test_override_settings_is_read_on_the_next_request(self) -> None:
        ltik = self.fake.launch()
        with FakeLtiaas() as other, override_settings(LTIAAS=ltiaas_settings(other)):
            response = self.client.get("/whoami", headers={"X-Ltik": ltik})
            self.assertEqual(response.json()["details"]["message"], "INVALID_LTIK")  # other LTIAAS
        self.assertEqual(self.client.get("/whoami", headers={"X-Ltik": ltik}).status_code, 200)

    def test_require_false_lets_requests_through_and_launch_required_stops_them(self) -> None:
        with override_settings(LTIAAS=ltiaas_settings(self.fake, REQUIRE=False)):
            self.assertEqual(self.client.get("/feedback").json(), {"thanks": True, "launch": False})
            response = self.client.get("/grades")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["details"]["message"], "MISSING_LTIK")

    def test_exempt_globs(self) -> None:
        with override_settings(LTIAAS=ltiaas_settings(self.fake, EXEMPT=["/health*", "/feed*"])):
            self.assertEqual(self.client.get("/feedback").json()["launch"], False)
            # exempt paths are not read at all: an ltik there makes no launch
            ltik = self.fake.launch()
            self.assertEqual(self.client.get("/feedback", headers={"X-Ltik": ltik}).json()["launch"], False)

    def test_the_script_stays_exempt_with_exempt_globs_of_your_own(self) -> None:
        with override_settings(LTIAAS=ltiaas_settings(self.fake, EXEMPT=["/health"])):
            script = self.client.get("/static/ltiaas_auth/ltik.js")
            other = self.client.get("/static/tool.css")
        self.assertEqual(script.status_code, 404)  # not gated (no static view under the test runner)
        self.assertEqual(other.status_code, 401)  # the rest of STATIC_URL is gated once EXEMPT is yours

    def test_static_ltik_js_is_exempt_and_served(self) -> None:
        from django.contrib.staticfiles import finders

        found = finders.find("ltiaas_auth/ltik.js")
        self.assertIsNotNone(found)
        from ltiaas_auth.frontend import script_path

        self.assertEqual(Path(str(found)).resolve(), script_path().resolve())


class CsrfTests(FakeLtiaasMixin, TestCase):
    def setUp(self) -> None:
        self.csrf_client = Client(enforce_csrf_checks=True)
        self.ltik = self.fake.launch(user_id="ada")

    def test_post_proven_by_an_ltik_header_passes(self) -> None:
        response = self.csrf_client.post("/submit", {"score": "7"}, headers={"X-Ltik": self.ltik})
        self.assertEqual(response.json(), {"score": "7", "user": "ada"})

    def test_post_proven_by_a_hidden_field_passes_multipart_and_urlencoded(self) -> None:
        multipart = self.csrf_client.post("/submit", {"score": "8", "ltik": self.ltik})
        self.assertEqual(multipart.json(), {"score": "8", "user": "ada"})
        urlencoded = self.csrf_client.post(
            "/submit", f"score=9&ltik={self.ltik}", content_type="application/x-www-form-urlencoded"
        )
        self.assertEqual(urlencoded.json(), {"score": "9", "user": "ada"})

    def test_the_view_still_reads_the_body_files_included(self) -> None:
        upload = SimpleUploadedFile("essay.txt", b"x" * 1000, content_type="text/plain")
        response = self.csrf_client.post("/submit", {"score": "6", "ltik": self.ltik, "essay": upload})
        self.assertEqual(response.json(), {"score": "6", "user": "ada", "files": {"essay": 1000}})

    def test_a_body_too_large_to_read_says_so(self) -> None:
        response = self.csrf_client.post("/submit", {"score": "1" * 70_000, "ltik": self.ltik})
        self.assertEqual(response.status_code, 401)
        self.assertIn("too large to read for its ltik", response.json()["details"]["description"])
        header = self.csrf_client.post("/submit", {"score": "1" * 70_000}, headers={"X-Ltik": self.ltik})
        self.assertEqual(header.status_code, 200)  # the header needs no body read

    @override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=3)
    def test_a_body_django_refuses_is_still_refused_by_django(self) -> None:
        fields = {f"field{n}": "x" for n in range(5)}
        client = Client(enforce_csrf_checks=True, raise_request_exception=False)
        # The gate reads only the ltik field (werkzeug's decoder, from a copy of the body), so the launch is
        # accepted; the view's request.POST is Django's own parse, which refuses the body as it always does.
        in_body = client.post("/submit", {**fields, "ltik": self.ltik})  # multipart, too many fields
        self.assertEqual(in_body.status_code, 400)
        response = client.post("/submit", fields, headers={"X-Ltik": self.ltik})
        self.assertEqual(response.status_code, 400)  # Django's own answer: the middleware parsed a copy
        self.assertEqual(client.post("/submit", {"score": "4", "ltik": self.ltik}).status_code, 200)

    def test_the_page_form_carries_the_ltik(self) -> None:
        page = self.csrf_client.get("/page", headers={"X-Ltik": self.ltik}).content.decode()
        field = re.search(r'name="ltik" value="([^"]+)"', page)
        assert field is not None
        self.assertEqual(self.csrf_client.post("/submit", {"score": "5", "ltik": field[1]}).status_code, 200)

    def test_post_without_an_ltik_keeps_djangos_csrf(self) -> None:
        response = self.csrf_client.post("/feedback", {"text": "hi"})
        self.assertEqual(response.status_code, 403)  # Django's CSRF failure, on an ltik-exempt view
        self.assertIn(b"CSRF", response.content)
        proven = self.csrf_client.post(
            "/feedback", {"text": "hi"}, headers={"Authorization": f"Bearer {self.ltik}"}
        )
        self.assertEqual(proven.json(), {"thanks": True, "launch": True})

    def test_a_refused_ltik_does_not_lift_csrf(self) -> None:
        response = self.csrf_client.post("/feedback", {"text": "hi"}, headers={"X-Ltik": "not-a-token"})
        self.assertEqual(response.status_code, 403)


class ErrorReportTests(FakeLtiaasMixin, TestCase):
    def request_boom(self) -> tuple[str, object]:
        ltik = self.fake.launch(user_id="ada")
        client = Client(raise_request_exception=False)
        response = client.get("/boom", {"ltik": ltik, "page": "2"}, headers={"X-Ltik": ltik})
        self.assertEqual(response.status_code, 500)
        return ltik, response

    def test_the_500_page_holds_no_ltik(self) -> None:
        with override_settings(DEBUG=True):
            ltik, response = self.request_boom()
        page = response.content.decode()  # type: ignore[attr-defined]
        self.assertIn("RuntimeError", page)  # the real report…
        self.assertIn("page", page)
        self.assertNotIn(ltik, page)  # …without the token anywhere: GET, META, URL, frame variables
        self.assertNotIn(self.fake.api_key, page)
        self.assertNotIn(ltik.split(".")[2], page)  # not even its signature

    def test_a_posted_ltik_is_masked_too(self) -> None:
        ltik = self.fake.launch()
        client = Client(raise_request_exception=False)
        with override_settings(DEBUG=True):
            response = client.post("/boom", {"ltik": ltik, "note": "kept"}, headers={"Accept": "text/html"})
        page = response.content.decode()
        self.assertEqual(response.status_code, 500)
        self.assertIn("kept", page)  # the POST is in the report…
        self.assertNotIn(ltik, page)  # …with its ltik masked

    def test_the_admins_mail_holds_no_ltik(self) -> None:
        mail.outbox.clear()
        ltik, _ = self.request_boom()
        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertIn("RuntimeError", message.body)
        self.assertNotIn(ltik, message.body)
        self.assertNotIn(ltik, message.subject)
        self.assertNotIn(self.fake.api_key, message.body)

    def test_the_html_report_holds_no_ltik(self) -> None:
        from django.test import RequestFactory

        from ltiaas_auth.django.reporting import LtikSafeExceptionReporter

        ltik = self.fake.launch()
        request = RequestFactory().get("/boom", {"ltik": ltik}, headers={"X-Ltik": ltik})
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            exc_type, exc_value, traceback = sys.exc_info()
            reporter = LtikSafeExceptionReporter(request, exc_type, exc_value, traceback, is_email=True)
            html = reporter.get_traceback_html()
        self.assertIn("RuntimeError", html)
        self.assertNotIn(ltik, html)


class RestFrameworkTests(FakeLtiaasMixin, TestCase):
    def test_api_view_authenticates_with_the_launch(self) -> None:
        ltik = self.fake.launch(user_id="ada", name="Ada Lovelace", roles=INSTRUCTOR)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {ltik}")
        response = client.get("/api/me")
        self.assertEqual(
            response.json(),
            {"user": "ada", "name": "Ada Lovelace", "instructor": True, "ltik": parse_ltik(ltik).fingerprint},
        )

    def test_api_post_with_csrf_enforced(self) -> None:
        ltik = self.fake.launch(user_id="ada")
        client = APIClient(enforce_csrf_checks=True)
        response = client.post("/api/me", {"note": "x"}, format="json", headers={"X-Ltik": ltik})
        self.assertEqual(response.json(), {"received": {"note": "x"}, "user": "ada"})

    def test_api_without_ltik(self) -> None:
        response = APIClient().get("/api/me")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(json.loads(response.content)["details"]["message"], "MISSING_LTIK")


class GradeTests(FakeLtiaasMixin, TestCase):
    def test_grade_passback_with_the_api_client(self) -> None:
        ltik = self.fake.launch(user_id="ada", roles=INSTRUCTOR)
        response = self.client.post("/grade", {"user_id": "bob", "score": "7"}, headers={"X-Ltik": ltik})
        item = response.json()["line_item"]
        self.assertEqual([(s["userId"], s["resultScore"]) for s in self.fake.scores(item)], [("bob", 7)])


class AsyncClientTests(FakeLtiaasMixin, TestCase):
    async def test_async_client_rejects_and_resets(self) -> None:
        client = AsyncClient()
        self.assertEqual((await client.get("/awhoami")).status_code, 401)
        ltik = self.fake.launch(user_id="ada")
        self.assertEqual((await client.get("/awhoami", headers={"X-Ltik": ltik})).status_code, 200)
        self.assertIsNone(credential_var.get())


class LiveServerTests(FakeLtiaasMixin, LiveServerTestCase):
    """Django's live server (a real WSGI server thread) runs the same ``MIDDLEWARE``."""

    def test_live_server(self) -> None:
        ltik = self.fake.launch(user_id="ada")
        with httpx.Client(base_url=self.live_server_url, trust_env=False, timeout=10) as client:
            self.assertEqual(client.get("/whoami", headers={"X-Ltik": ltik}).json()["user"], "ada")
            self.assertEqual(client.get("/whoami").status_code, 401)
            streamed = client.get("/stream", params={"ltik": ltik})
            self.assertEqual(len(streamed.text.splitlines()), 3)
            self.assertEqual(streamed.headers["referrer-policy"], "no-referrer")
