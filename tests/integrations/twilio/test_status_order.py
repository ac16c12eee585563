"""Delivery and call statuses are order-independent: Twilio may call back before its API answer reaches
the worker, and neither the webhook nor the worker's settle step moves a status backwards."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from duedesk.channels.base import Accepted
from duedesk.channels.registry import Transports
from duedesk.engine import actions, definitions
from duedesk.engine.models import Enrollment, Step
from duedesk.engine.runner import settle_sent
from duedesk.engine.worker import Worker
from duedesk.records.models import Call, Event, Message
from tests.integrations.twilio.conftest import payload

pytestmark = pytest.mark.django_db

SID = "SM" + "5" * 32
CALL_SID = "CA" + "6" * 32


class CallbackFirst:
    """A Twilio whose status callbacks reach us before the answer to the API request does."""

    name = "twilio"

    def __init__(self, post):
        self.post = post
        self.responses = []

    def send(self, msg):
        for status in ("sent", "delivered"):
            self.responses.append(self.post(
                f"/hooks/twilio/sms/status?key={quote(msg.idempotency_key)}",
                payload("sms_status_delivered", MessageSid=SID, SmsSid=SID, MessageStatus=status, SmsStatus=status,
                        To=msg.to)).status_code)
        return Accepted(SID, "queued")

    def place_call(self, req):
        self.responses.append(self.post(
            f"/hooks/twilio/voice/status?call={req.call_id}",
            payload("voice_status_completed", CallSid=CALL_SID, To=req.to, CallStatus="no-answer",
                    CallDuration="0")).status_code)
        return Accepted(CALL_SID, "queued")

    def lookup(self, idempotency_key, to, since):
        return None


@pytest.fixture
def early(connected_org, twilio_post, hook_clock, transports):
    twilio = CallbackFirst(twilio_post.post)
    mixed = Transports(sms=twilio, voice=twilio, email=transports.email)
    return SimpleNamespace(twilio=twilio, worker=Worker(lambda o: mixed, clock=hook_clock, worker_id="early"))


def test_delivered_before_the_worker_settles_the_batch_stays_delivered(early, make_invoice, clock):
    invoice = make_invoice(due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock())
    early.worker.tick()
    assert early.twilio.responses == [204, 204]
    message = Message.objects.get(invoice=invoice, direction="out")
    assert (message.status, message.provider_id) == ("delivered", SID)
    assert Step.objects.get(enrollment__invoice=invoice, step_id="heads_up").status == "done"
    assert Event.objects.filter(kind="sms.delivered", invoice=invoice).count() == 1


def test_delivered_before_a_single_send_settles_stays_delivered(connected_org, twilio_post, hook_clock,
                                                                 make_invoice, clock):
    invoice = make_invoice(due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock())
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    Step.objects.filter(pk=step.pk).update(status="sending")
    message = Message.objects.create(
        organization=connected_org, contact=invoice.contact, invoice=invoice, step=step, channel="sms",
        direction="out", to=invoice.contact.phone, body="Hello", status="sending",
        idempotency_key=step.idempotency_key, created_at=clock())
    response = twilio_post.post(f"/hooks/twilio/sms/status?key={quote(step.idempotency_key)}",
                                payload("sms_status_delivered", MessageSid=SID, SmsSid=SID, To=message.to))
    assert response.status_code == 204
    assert settle_sent(step, message, "sms", Accepted(SID, "queued"), clock()) == "sent"
    message.refresh_from_db()
    assert (message.status, message.provider_id) == ("delivered", SID)


def test_a_call_that_ended_before_the_worker_settled_it_stays_ended(early, make_invoice, clock):
    """The final status callback came first; the call's outcome is the same as in order (a retry is
    planned) and placing it afterwards doesn't reopen the finished step."""
    invoice = make_invoice(due=date(2026, 11, 25))
    enrollment = actions.enroll_invoice(invoice, clock())
    Step.objects.filter(enrollment=enrollment, status="pending").update(status="cancelled")
    actions.go_to_step(enrollment, definitions.parsed(enrollment.workflow), "late_call", clock())
    early.worker.tick()
    assert early.twilio.responses == [204]
    call = Call.objects.get(invoice=invoice)
    assert (call.status, call.outcome, call.provider_id) == ("no-answer", "no_answer", CALL_SID)
    step = Step.objects.get(enrollment=enrollment, step_id="late_call", occurrence=1)
    assert (step.status, step.outcome) == ("done", "no_answer"), "placing the call reopened a finished step"
    assert Step.objects.filter(enrollment=enrollment, step_id="late_call", occurrence=2, status="pending").exists()
    assert Enrollment.objects.get(pk=enrollment.pk).status != "waiting"
