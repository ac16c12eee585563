"""The gate at the moment of sending: a STOP or a payment that lands while a rate-limited batch is still
sending stops every text not yet handed to the provider, and the timeline says which rule stopped it."""

from datetime import date, timedelta

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.conversations.texts import receive_text
from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.engine.worker import Worker
from duedesk.records.models import Event


class Paced:
    """A sender that takes one text per provider call at `rate` a second (as Twilio does): each send moves
    the test clock by 1/rate seconds, and `before_send(n)` lets the test act between sends."""

    name = "paced"

    def __init__(self, real, clock, rate=5, before_send=None):
        self.real, self.clock, self.rate, self.before_send, self.sent = real, clock, rate, before_send, 0

    def send(self, msg):
        if self.before_send:
            self.before_send(self.sent)
        self.clock.advance(seconds=1 / self.rate)
        self.sent += 1
        return self.real.send(msg)

    def lookup(self, *args):
        return self.real.lookup(*args)


def _texted(invoice):
    return SimulatedSend.objects.filter(to=invoice.contact.phone).count()


@pytest.mark.django_db
def test_a_stop_and_a_payment_during_a_rate_limited_batch_stop_every_text_not_yet_handed_over(
        make_invoice, clock, transports):
    invoices = [make_invoice(due=date(2026, 12, 10)) for _ in range(8)]
    for invoice in invoices:  # on Monday 10:00 in New York, three days before: the heads-up is due now
        actions.enroll_invoice(invoice, clock())
    stopper, payer = invoices[5], invoices[6]

    def between_sends(n):
        if n == 3:  # the batch has handed over three texts; the other five are claimed by this worker
            receive_text(stopper.organization, stopper.contact.phone, "+12125550000", "STOP", clock(), transports)
            actions.record_payment(payer, payer.balance, clock(), source="card")

    sms = Paced(transports.sms, clock, before_send=between_sends)
    paced = type(transports)(sms=sms, voice=transports.voice, email=transports.email)
    started = clock()
    assert Worker(lambda org: paced, clock=clock, worker_id="w", batch=100).tick() == 8

    # Neither the patient who said STOP nor the one who paid got the reminder; everyone else got one.
    assert _texted(stopper) == 1  # only the STOP confirmation
    assert _texted(payer) == 0
    assert [_texted(i) for i in invoices[:5] + invoices[7:]] == [1] * 6
    assert not Event.objects.filter(kind="sms.sent", invoice__in=[stopper, payer], detail__step="heads_up").exists()

    # The timeline names the rule that stopped each one.
    stop_step = Step.objects.get(enrollment__invoice=stopper, step_id="heads_up")
    assert stop_step.status == "blocked" and stop_step.outcome == "opted_out"
    assert Event.objects.get(kind="step.blocked", invoice=stopper).detail["rule"] == "opted_out"
    assert Step.objects.get(enrollment__invoice=payer, step_id="heads_up").status == "cancelled"
    assert Event.objects.get(kind="enrollment.exited", invoice=payer).detail["reason"] == "paid"

    # Each sms.sent carries the moment its text was handed over, not the batch's start.
    times = sorted(Event.objects.filter(kind="sms.sent", detail__step="heads_up").values_list("at", flat=True))
    assert times == [started + timedelta(seconds=0.2 * i) for i in range(6)]


@pytest.mark.django_db
def test_a_rate_limited_sender_claims_about_two_seconds_of_work(make_invoice, clock, transports):
    sms = Paced(transports.sms, clock, rate=5)
    paced = type(transports)(sms=sms, voice=transports.voice, email=transports.email)
    w = Worker(lambda org: paced, clock=clock, worker_id="w", batch=100)
    for invoice in [make_invoice(due=date(2026, 12, 10)) for _ in range(3)]:
        actions.enroll_invoice(invoice, clock())
    assert w.tick() == 3  # the first batch learns the sender's pace: 5 texts a second
    for invoice in [make_invoice(due=date(2026, 12, 10)) for _ in range(25)]:
        actions.enroll_invoice(invoice, clock())
    # Then it claims ten at a time, not a hundred: no text waits long behind others this worker holds.
    assert [w.tick() for _ in range(3)] == [10, 10, 5]
    assert SimulatedSend.objects.count() == 28


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_retried_text_is_checked_with_its_invoice_locked_so_a_payment_in_flight_comes_first(
        make_invoice, clock, transports, monkeypatch):
    """A retry goes through the single-step runner. It holds the invoice while it asks the gate and marks the
    step `sending` (as the batch and a payment do), so a payment committing meanwhile waits and then finds
    nothing handed over, or comes first and the gate sees it: never a text after the payment committed."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    import psycopg

    from duedesk.engine import runner

    invoice = make_invoice(due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock())
    Step.objects.filter(enrollment__invoice=invoice).update(attempts=1)  # a retry after a 429
    params = connection.get_connection_params()
    locked = []
    real_check = runner.compliance.check

    def check_while_a_payment_tries(gate):
        with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as other:
            try:
                other.execute("SELECT id FROM records_invoice WHERE id = %s FOR UPDATE NOWAIT", [invoice.pk])
                locked.append(False)
            except psycopg.errors.LockNotAvailable:
                locked.append(True)
        return real_check(gate)

    monkeypatch.setattr(runner.compliance, "check", check_while_a_payment_tries)
    assert Worker(lambda org: transports, clock=clock, worker_id="w").tick() == 1
    assert locked == [True]
    assert _texted(invoice) == 1
