"""A text a webhook left for the worker (the pay link asked for during a call) whose worker died while handing
it to the provider is recovered as a stranded step is: after the lease, the provider is asked by our key; a
text it took is settled as sent, one it never got goes out once, one nobody can tell about goes to a person.
Never a second text to the patient."""

from __future__ import annotations

import pytest

from duedesk.channels.errors import TransportError
from duedesk.channels.models import SimulatedSend
from duedesk.channels.registry import Transports
from duedesk.channels.simulated import SimulatedTransport
from duedesk.engine.actions.sends import text_later
from duedesk.engine.lease import LEASE
from duedesk.engine.worker import Worker
from duedesk.records.models import Event, Handoff, Message

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """The worker process ends here: nothing after this line of the send runs (no settling, no event)."""


class DyingSms(SimulatedTransport):
    """The provider's side is the simulated one; the worker dies before asking it, or after it answered."""

    def __init__(self, clock, *, reached_provider: bool):
        super().__init__(clock)
        self.reached_provider = reached_provider

    def send(self, msg):
        if self.reached_provider:
            super().send(msg)
        raise Killed


class UnsureSms(SimulatedTransport):
    def lookup(self, idempotency_key, to, since):
        raise TransportError("Twilio did not answer the lookup", permanent=False)


def _dies_sending(invoice, clock, transports, *, reached_provider):
    text_later(invoice.contact, "Here is the link to pay: " + invoice.pay_link, clock(), invoice=invoice)
    dying = Transports(sms=DyingSms(clock, reached_provider=reached_provider), voice=transports.voice,
                       email=transports.email)
    with pytest.raises(Killed):
        Worker(lambda org: dying, clock=clock, worker_id="dead-worker").tick()
    message = Message.objects.get(contact=invoice.contact, direction="out")
    assert message.status == "sending"
    return message


def _texts_to(invoice):
    return list(SimulatedSend.objects.filter(to=invoice.contact.phone).values_list("body", flat=True))


def test_a_pay_link_the_provider_took_before_its_worker_died_is_settled_as_sent_not_sent_again(
        make_invoice, clock, transports, worker):
    invoice = make_invoice()
    message = _dies_sending(invoice, clock, transports, reached_provider=True)
    assert len(_texts_to(invoice)) == 1

    clock.advance(seconds=5)
    worker.tick()  # within the lease a request may still be landing: nobody asks yet
    message.refresh_from_db()
    assert message.status == "sending" and not Event.objects.filter(contact=invoice.contact, kind="sms.sent")

    clock.advance(seconds=LEASE.total_seconds())
    worker.tick()
    message.refresh_from_db()
    provider = SimulatedSend.objects.get(to=invoice.contact.phone)
    assert message.status == "sent" and message.provider_id == provider.provider_id
    sent = Event.objects.get(contact=invoice.contact, kind="sms.sent")
    assert invoice.pay_link in sent.detail["body"] and sent.at == clock()
    assert Event.objects.get(contact=invoice.contact, kind="sms.reconciled").detail["result"] == "was sent"
    clock.advance(seconds=LEASE.total_seconds() * 2)
    worker.tick()
    assert len(_texts_to(invoice)) == 1  # the patient got the link once


def test_a_pay_link_that_never_reached_the_provider_goes_out_once_after_the_lease(make_invoice, clock, transports,
                                                                                  worker):
    invoice = make_invoice()
    message = _dies_sending(invoice, clock, transports, reached_provider=False)
    assert _texts_to(invoice) == []

    clock.advance(seconds=LEASE.total_seconds() + 1)
    worker.tick()
    message.refresh_from_db()
    (body,) = _texts_to(invoice)
    assert invoice.pay_link in body
    assert message.status == "sent" and SimulatedSend.objects.get().idempotency_key == message.idempotency_key
    assert Event.objects.filter(contact=invoice.contact, kind="sms.sent").count() == 1
    clock.advance(seconds=LEASE.total_seconds() * 2)
    worker.tick()
    assert len(_texts_to(invoice)) == 1


def test_a_pay_link_nobody_can_account_for_goes_to_a_person_and_is_not_sent_again(make_invoice, clock,
                                                                                  transports):
    invoice = make_invoice()
    message = _dies_sending(invoice, clock, transports, reached_provider=False)
    unsure = Transports(sms=UnsureSms(clock), voice=transports.voice, email=transports.email)
    clock.advance(seconds=LEASE.total_seconds() + 1)
    Worker(lambda org: unsure, clock=clock, worker_id="peer").tick()
    message.refresh_from_db()
    assert message.status == "unknown" and _texts_to(invoice) == []
    handoff = Handoff.objects.get(contact=invoice.contact)
    assert handoff.reason == "unknown_send" and invoice.pay_link in handoff.summary
    assert Event.objects.filter(contact=invoice.contact, kind="sms.unknown").exists()
