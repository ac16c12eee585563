"""A new handoff tells a person: email to the assignee or the billing address, and a chat webhook."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from duedesk.engine import actions
from tests.loopback import PATIENCE, refused_port

pytestmark = pytest.mark.django_db(transaction=True)  # notices go out after the commit


@pytest.fixture
def chat_hook(monkeypatch):
    from duedesk.integrations.webhooks import outbox

    monkeypatch.setattr(outbox, "TIMEOUT", PATIENCE)  # the hook answers at once; a busy machine may not run it
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_a_new_handoff_emails_the_billing_address_and_posts_to_the_chat(org, make_invoice, clock, chat_hook,
                                                                       settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from duedesk.integrations.webhooks import outbox
    from duedesk.integrations.webhooks.models import Endpoint

    url, received = chat_hook
    org.billing_email = "billing@mapleclinic.example"
    org.save()
    # The chat notice is one kind of webhook endpoint, delivered by the worker from the outbox.
    Endpoint.objects.create(organization=org, kind="chat", url=url, event_types=["handoff.opened"], created_at=clock())
    invoice = make_invoice()
    handoff = actions.open_handoff(invoice.contact, "hardship", clock(), invoice=invoice,
                                   summary="Lost their job; asked for time.")
    outbox.tick(clock())
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == ["billing@mapleclinic.example"]
    assert "Hardship" in notice.subject and f"/inbox/{handoff.pk}/" in notice.body
    # The minimum: no name, amount or reason in words beyond the category.
    assert invoice.contact.last_name not in notice.body and "120" not in notice.body
    assert "Lost their job" not in notice.body
    assert len(received) == 1 and f"/inbox/{handoff.pk}/" in received[0]["text"]
    assert invoice.contact.last_name not in received[0]["text"] and "Lost their job" not in received[0]["text"]


def test_the_assignee_is_told_first(org, make_invoice, clock, settings, django_user_model):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from duedesk.inbox import notify
    from duedesk.records.models import Handoff

    org.billing_email = "billing@mapleclinic.example"
    org.save()
    invoice = make_invoice()
    handoff = actions.open_handoff(invoice.contact, "dispute", clock(), invoice=invoice)
    mail.outbox.clear()
    Handoff.objects.filter(pk=handoff.pk).update(
        assignee=django_user_model.objects.create_user("lee", "lee@mapleclinic.example", "x" * 12))
    notify.handoff_opened(handoff.pk)
    assert mail.outbox[0].to == ["lee@mapleclinic.example"]


def test_a_chat_webhook_that_is_down_never_breaks_the_handoff(org, make_invoice, clock, settings):
    from duedesk.integrations.webhooks import outbox
    from duedesk.integrations.webhooks.models import Delivery, Endpoint

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with refused_port() as port:  # nothing else can answer there meanwhile
        Endpoint.objects.create(organization=org, kind="chat", url=f"http://127.0.0.1:{port}/unreachable",
                                event_types=["handoff.opened"], created_at=clock())
        invoice = make_invoice()
        handoff = actions.open_handoff(invoice.contact, "dispute", clock(), invoice=invoice)
        outbox.tick(clock())
    assert handoff.pk and handoff.status == "open"
    assert Delivery.objects.get().status == "pending"  # tried again later
