"""A provider's webhook goes straight to its view, past the middleware for people in browsers (sessions, the
browser's language, CSRF, sign-in, flash messages, frame and content-security headers, htmx, login lockout):
what Twilio gets back is the view's answer alone. The host check, the timing, the 500 with its traceback and
the 404 stay as they were; staff pages keep every header."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.urls import include, path

from duedesk.integrations.twilio.webhooks import _org_for_number, twilio_webhook
from tests.integrations.twilio.conftest import CLINIC_NUMBER, payload
from tests.web.test_operations import console_log

pytestmark = pytest.mark.django_db


@twilio_webhook(_org_for_number)
def broken(request, org, _):
    raise ZeroDivisionError("the text divided by zero invoices")


def spoken_language(request):
    from django.utils import translation

    return HttpResponse(translation.get_language())


urlpatterns = [path("hooks/test/broken", broken), path("hooks/test/language", spoken_language),
               path("", include("duedesk.urls"))]


def test_a_text_is_answered_by_the_view_alone(twilio_post, hook_clock, connected_org, make_invoice):
    invoice = make_invoice()
    response = twilio_post.post("/hooks/twilio/sms", payload("sms_inbound", To=CLINIC_NUMBER,
                                                             From=invoice.contact.phone, Body="HELP"))
    assert response.status_code == 200 and "Call us at" in response.content.decode()
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    # Nothing a browser's middleware adds: no cookie, no content-security or frame policy, no Vary.
    for header in ("Set-Cookie", "Content-Security-Policy", "X-Frame-Options", "Vary", "Content-Language"):
        assert header not in response, header


def test_staff_pages_keep_the_browser_middleware(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response and response["X-Frame-Options"] == "DENY"
    assert "Accept-Language" in response["Vary"]


def test_a_webhook_for_a_host_this_site_does_not_serve_is_refused(twilio_post, connected_org):
    response = twilio_post.client.post("/hooks/twilio/sms", payload("sms_inbound", To=CLINIC_NUMBER),
                                       HTTP_HOST="evil.example.com")
    assert response.status_code == 400


@pytest.mark.urls(__name__)
def test_a_failing_webhook_is_a_500_with_its_traceback_in_the_log(twilio_post, connected_org):
    twilio_post.client.raise_request_exception = False
    with console_log() as log:
        response = twilio_post.post("/hooks/test/broken", payload("sms_inbound", To=CLINIC_NUMBER))
    assert response.status_code == 500
    assert "ERROR django.request Internal Server Error: /hooks/test/broken" in log.getvalue()
    assert "ZeroDivisionError: the text divided by zero invoices" in log.getvalue()


@pytest.mark.urls(__name__)
def test_a_webhook_runs_in_the_sites_language_whatever_the_thread_served_before(client, settings):
    from django.utils import translation

    translation.activate("es")  # as a staff page in Spanish leaves the thread
    try:
        response = client.post("/hooks/test/language", headers={"Accept-Language": "es"})
    finally:
        translation.deactivate()
    assert response.content.decode() == settings.LANGUAGE_CODE


def test_a_hooks_address_that_names_no_webhook_is_a_404(client):
    assert client.post("/hooks/twilio/nothing-here").status_code == 404
