"""POST /api/v1/events: an event about an invoice starts the workflow triggered by it, once per key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from duedesk.api import auth
from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Event
from tests.api.test_rest_api import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, org, clock, monkeypatch):
    monkeypatch.setattr(auth, "clock", clock)
    return Api(client, auth.create_key(org, "billing system", clock()).token)


def test_payment_failed_starts_recovery_timed_from_the_event(api, make_invoice, clock):
    invoice = make_invoice(amount="89.00")
    body = {"type": "payment.failed", "invoice": invoice.external_ref, "idempotency_key": "pf-1",
            "occurred_at": "2026-12-07T15:20:00Z", "data": {"next_billing_date": "2026-12-17"}}
    response = api.post("/api/v1/events", body)
    assert response.status_code == 201, response.content
    assert response.json() == {"type": "payment.failed", "invoice": invoice.external_ref, "duplicate": False,
                               "workflow": "Failed payment recovery"}
    enrollment = Enrollment.objects.get(invoice=invoice, status__in=Enrollment.LIVE)
    assert enrollment.data["event"] == {"next_billing_date": "2026-12-17"}
    first = Step.objects.get(enrollment=enrollment, status="pending")
    assert first.step_id == "update_card_text" and first.run_at == datetime(2026, 12, 7, 15, 20, tzinfo=UTC)
    # The same key again: recorded once.
    again = api.post("/api/v1/events", body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Event.objects.filter(kind="invoice.event", invoice=invoice).count() == 1
    # The same key for something else is a conflict, naming the field.
    other = api.post("/api/v1/events", {**body, "type": "payment.succeeded"})
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "idempotency_key"


def test_bad_events_name_the_field_and_write_nothing(api, make_invoice):
    invoice = make_invoice()
    before = Event.objects.count()
    missing = api.post("/api/v1/events", {"type": "payment.failed", "invoice": "NOPE", "idempotency_key": "k"})
    assert missing.status_code == 404
    bad_type = api.post("/api/v1/events", {"type": "Payment Failed!", "invoice": invoice.external_ref,
                                           "idempotency_key": "k2"})
    assert bad_type.status_code == 422 and "type" in bad_type.content.decode()
    assert Event.objects.count() == before
