"""Outbound webhooks, received by a real HTTP receiver on loopback that verifies every delivery with the
receiver's side of the `standardwebhooks` library."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from duedesk.engine import actions
from duedesk.integrations.webhooks import outbox
from duedesk.integrations.webhooks.models import Attempt, Delivery, Endpoint
from duedesk.records.models import Membership
from tests.loopback import PATIENCE

pytestmark = pytest.mark.django_db


class Receiver:
    """A customer's webhook receiver: verifies, logs, and can be down or ask for patience."""

    def __init__(self):
        self.secret = ""
        self.log: list[dict] = []
        self.refused = 0
        self.down = False
        self.retry_after: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if receiver.down or receiver.retry_after:
                    self.send_response(429 if receiver.retry_after else 503)
                    if receiver.retry_after:
                        self.send_header("Retry-After", receiver.retry_after)
                    self.end_headers()
                    return
                try:
                    payload = Webhook(receiver.secret).verify(body, dict(self.headers))
                except WebhookVerificationError:
                    receiver.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.log.append({"id": self.headers["webhook-id"], **payload})
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/duedesk"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setattr(outbox, "TIMEOUT", PATIENCE)  # the receiver answers at once; a busy machine may not run it
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def endpoint(org, receiver, clock):
    ep = Endpoint(organization=org, url=receiver.url, created_at=clock())
    outbox.start_cursor(ep)
    ep.save()
    receiver.secret = ep.secret
    return ep


def _run(clock, rounds=1):
    for _ in range(rounds):
        outbox.tick(clock())


def test_every_event_reaches_the_receiver_signed_with_the_minimum_detail(endpoint, receiver, make_invoice, clock):
    invoice = make_invoice(amount="120.00")
    actions.enroll_invoice(invoice, clock())
    actions.record_promise(invoice, date(2026, 12, 18), clock(), channel="sms")
    actions.open_handoff(invoice.contact, "hardship", clock(), invoice=invoice, summary="lost my job last month")
    actions.record_payment(invoice, Decimal("120.00"), clock())
    _run(clock, rounds=3)
    assert receiver.refused == 0
    types = [m["type"] for m in receiver.log]
    assert types[:3] == ["invoice.enrolled", "promise.recorded", "handoff.opened"]
    assert "payment.recorded" in types and "promise.kept" in types and "invoice.exited" in types
    promise = next(m for m in receiver.log if m["type"] == "promise.recorded")
    assert promise["data"]["date"] == "2026-12-18"
    assert promise["data"]["invoice"] == {"reference": invoice.external_ref, "currency": "USD",
                                          "amount_due": "120.00", "due_date": "2026-12-10"}
    everything = json.dumps(receiver.log)
    contact = invoice.contact
    assert contact.first_name not in everything and contact.phone not in everything
    assert "lost my job" not in everything  # summaries only for endpoints marked for them


def test_summaries_and_transcripts_only_for_endpoints_marked_for_them(endpoint, receiver, make_invoice, clock):
    endpoint.include_transcripts = True
    endpoint.save()
    invoice = make_invoice()
    actions.open_handoff(invoice.contact, "hardship", clock(), invoice=invoice, summary="lost my job last month")
    _run(clock)
    assert receiver.log[-1]["data"]["summary"] == "lost my job last month"


def test_a_receiver_down_for_a_while_gets_every_event_later_in_order_none_twice(endpoint, receiver, make_invoice,
                                                                                clock):
    first, second = make_invoice(amount="50.00"), make_invoice(amount="70.00")
    receiver.down = True
    for invoice in (first, second):
        actions.enroll_invoice(invoice, clock())
        actions.record_promise(invoice, date(2026, 12, 18), clock(), channel="sms")
    actions.record_payment(first, Decimal("50.00"), clock())
    for _ in range(4):  # down through the first retries: 5 s, 5 min, 30 min
        _run(clock)
        clock.advance(minutes=31)
    assert receiver.log == []
    receiver.down = False
    clock.advance(hours=2)
    _run(clock)
    ids = [m["id"] for m in receiver.log]
    assert len(ids) == len(set(ids)) == Delivery.objects.filter(endpoint=endpoint).count()
    for invoice in (first, second):
        mine = [m["type"] for m in receiver.log if m["data"].get("invoice", {}).get("reference") == invoice.external_ref]
        assert mine[:2] == ["invoice.enrolled", "promise.recorded"]
    mine = [m["type"] for m in receiver.log if m["data"]["invoice"]["reference"] == first.external_ref]
    assert mine.index("payment.recorded") > mine.index("promise.recorded")
    # The delivery log keeps each try with its answer and latency.
    assert Attempt.objects.filter(status_code=503).exists() and Attempt.objects.filter(status_code=204).exists()


def test_retry_after_is_honoured(endpoint, receiver, make_invoice, clock):
    actions.enroll_invoice(make_invoice(), clock())
    receiver.retry_after = "3600"
    _run(clock)
    delivery = Delivery.objects.get()
    assert delivery.next_attempt_at == clock() + timedelta(hours=1)  # not the 5 s of the schedule
    receiver.retry_after = None
    clock.advance(minutes=30)
    _run(clock)
    assert receiver.log == []
    clock.advance(minutes=31)
    _run(clock)
    assert len(receiver.log) == 1


def test_a_replay_delivers_once_more_with_the_same_id(endpoint, receiver, make_invoice, clock):
    actions.enroll_invoice(make_invoice(), clock())
    _run(clock)
    delivery = Delivery.objects.get()
    outbox.replay(delivery, clock())
    _run(clock)
    assert [m["id"] for m in receiver.log] == [delivery.message_id, delivery.message_id]


def test_an_endpoint_failing_for_days_is_switched_off_and_its_owners_told_once(endpoint, receiver, make_invoice,
                                                                               clock, django_user_model):
    owner = django_user_model.objects.create_user("owner", email="owner@example.com", password="x" * 12)
    Membership.objects.create(user=owner, organization=endpoint.organization, role="owner")
    actions.enroll_invoice(make_invoice(), clock())
    receiver.down = True
    for _ in range(12):
        _run(clock)
        clock.advance(hours=21)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "gave up" in endpoint.disabled_reason
    assert Delivery.objects.get().status == "failed"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["owner@example.com"]
    assert endpoint.url in mail.outbox[0].body


def test_only_the_types_chosen_are_sent(endpoint, receiver, make_invoice, clock):
    endpoint.event_types = ["payment.recorded"]
    endpoint.save()
    invoice = make_invoice(amount="10.00")
    actions.enroll_invoice(invoice, clock())
    actions.record_payment(invoice, Decimal("10.00"), clock())
    _run(clock)
    assert [m["type"] for m in receiver.log] == ["payment.recorded"]


def test_a_new_endpoint_hears_only_what_happens_next(org, receiver, make_invoice, clock):
    actions.enroll_invoice(make_invoice(), clock())
    ep = Endpoint(organization=org, url=receiver.url, created_at=clock())
    outbox.start_cursor(ep)
    ep.save()
    receiver.secret = ep.secret
    _run(clock)
    assert receiver.log == []


def test_another_organizations_events_never_reach_the_endpoint(endpoint, receiver, clock):
    from duedesk.records.models import Contact, Invoice, Organization

    other = Organization.objects.create(slug="other", name="Other Clinic")
    contact = Contact.objects.create(organization=other, first_name="A", last_name="B", phone="+12125550999")
    invoice = Invoice.objects.create(organization=other, contact=contact, external_ref="X-1", amount_due=1,
                                     balance=1, due_date=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock())
    _run(clock)
    assert receiver.log == []


def test_an_owner_adds_an_endpoint_sees_its_secret_and_sends_a_test_event(client, org, receiver, clock,
                                                                          django_user_model, settings):
    owner = django_user_model.objects.create_user("boss", password="a-long-password-1")
    Membership.objects.create(user=owner, organization=org, role="owner")
    client.force_login(owner)
    bad = client.post("/settings/webhooks/", {"url": "http://example.org/in", "kind": "standard"})
    assert bad.status_code == 400 and "use https://" in bad.content.decode()
    response = client.post("/settings/webhooks/", {"url": receiver.url, "kind": "standard",
                                                   "event_types": ["payment.recorded", "handoff.opened"]})
    endpoint = Endpoint.objects.get(organization=org)
    assert response.status_code == 302 and endpoint.event_types == ["payment.recorded", "handoff.opened"]
    page = client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret in page and endpoint.secret.startswith("whsec_")
    receiver.secret = endpoint.secret
    client.post(f"/settings/webhooks/{endpoint.pk}/test/")
    _run(clock)
    assert [m["type"] for m in receiver.log] == ["payment.recorded"]
    assert "HTTP 204" in client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
