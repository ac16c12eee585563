"""One test (at least) for each engine invariant in DESIGN.md."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions
from duedesk.engine.models import Enrollment, Step
from duedesk.engine.worker import Worker, recover
from duedesk.records.models import Event, Message

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """A process dying mid-step: not an Exception, so nothing in the worker catches it."""


class CrashingTransport:
    def __init__(self, real, when):
        self.real, self.when, self.name = real, when, "crashing"

    def send(self, msg):
        if self.when == "before":
            raise Crash()
        accepted = self.real.send(msg)
        if self.when == "after":
            raise Crash()
        return accepted

    def lookup(self, *args):
        return self.real.lookup(*args)


def _due_text(make_invoice, clock):
    invoice = make_invoice(due=date(2026, 12, 10))
    clock.set(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))  # 10:00 in New York, heads-up day
    actions.enroll_invoice(invoice, clock())
    return invoice


# 1. Never twice --------------------------------------------------------------------------------


def test_idempotency_key_is_unique(make_invoice, clock):
    invoice = _due_text(make_invoice, clock)
    step = Step.objects.get(enrollment__invoice=invoice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Step.objects.create(organization=step.organization, enrollment=step.enrollment, step_id=step.step_id,
                            kind="sms", run_at=step.run_at, idempotency_key=step.idempotency_key, created_at=clock())


@pytest.mark.parametrize("when", ["before", "after"])
def test_crash_around_the_provider_call_sends_exactly_once(when, make_invoice, clock, transports):
    invoice = _due_text(make_invoice, clock)
    crashing = type(transports)(sms=CrashingTransport(transports.sms, when), voice=transports.voice,
                                email=transports.email)
    dying = Worker(lambda org: crashing, clock=clock, worker_id="dies")
    with pytest.raises(Crash):
        dying.tick()
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    assert step.status == "sending"  # committed before the provider was asked
    assert SimulatedSend.objects.count() == (1 if when == "after" else 0)

    # Nothing happens while the dead worker's lease runs; after it expires the step is reconciled.
    healthy = Worker(lambda org: transports, clock=clock, worker_id="healthy")
    healthy.tick()
    assert SimulatedSend.objects.count() == (1 if when == "after" else 0)
    clock.advance(minutes=6)
    healthy.run_until_idle()
    assert SimulatedSend.objects.filter(channel="sms").count() == 1
    step.refresh_from_db()
    assert step.status == "done"
    assert Event.objects.filter(kind="sms.sent", invoice=invoice).count() == 1
    assert Event.objects.filter(kind="step.reconciled", invoice=invoice).count() == 1


def test_unconfirmable_send_is_marked_unknown_for_a_person(make_invoice, clock, transports):
    from duedesk.channels.errors import TransportError

    invoice = _due_text(make_invoice, clock)

    class Blind(CrashingTransport):
        def lookup(self, *args):
            raise TransportError("provider unreachable", permanent=False)

    blind = type(transports)(sms=Blind(transports.sms, "after"), voice=transports.voice, email=transports.email)
    with pytest.raises(Crash):
        Worker(lambda org: blind, clock=clock, worker_id="dies").tick()
    clock.advance(minutes=6)
    assert recover(clock(), lambda org: blind)["unknown"] == 0  # asked again shortly: a 500 is not an answer
    clock.advance(minutes=10)  # 16 minutes of a provider that can't be asked: a person decides
    counts = recover(clock(), lambda org: blind)
    assert counts["unknown"] == 1
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    assert step.status == "unknown"
    assert Message.objects.get(idempotency_key=step.idempotency_key).status == "unknown"
    handoff = invoice.handoffs.get()
    assert handoff.reason == "unknown_send"
    assert SimulatedSend.objects.count() == 1  # never re-sent


# 2. The gate runs at send time -------------------------------------------------------------------


def test_opt_out_after_planning_stops_the_send(make_invoice, clock, worker):
    invoice = _due_text(make_invoice, clock)
    actions.opt_out(invoice.contact, ("all",), clock(), source="test")
    worker.tick()
    assert SimulatedSend.objects.count() == 0
    blocked = Event.objects.get(kind="step.blocked", invoice=invoice)
    assert blocked.detail["rule"] == "opted_out"


def test_outside_the_window_the_step_moves_not_drops(make_invoice, clock, worker):
    invoice = make_invoice(due=date(2026, 12, 10))
    clock.set(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    actions.enroll_invoice(invoice, clock())
    step = Step.objects.get(enrollment__invoice=invoice)
    # The window was open when planned; a person sets it to close at noon, and it's 13:00 there now.
    org = invoice.organization
    from datetime import time

    org.window_end = time(12, 0)
    org.save()
    clock.set(datetime(2026, 12, 7, 18, 0, tzinfo=UTC))
    worker.tick()
    step.refresh_from_db()
    assert step.status == "pending"
    assert step.run_at == datetime(2026, 12, 8, 14, 0, tzinfo=UTC)  # 09:00 next day in New York
    deferred = Event.objects.get(kind="step.deferred", invoice=invoice)
    assert deferred.detail["rule"] == "send_window"
    clock.set(step.run_at)
    worker.tick()
    assert SimulatedSend.objects.count() == 1


def test_payment_after_planning_stops_the_send_even_if_the_row_was_claimed(make_invoice, clock, transports):
    from duedesk.engine.worker import claim

    invoice = _due_text(make_invoice, clock)
    ids = claim("w1", clock())
    # Paid between the claim and the run: the step is cancelled with its enrollment.
    actions.mark_invoice_paid(invoice, clock(), actor="staff:test")
    from duedesk.engine.runner import StepRunner

    assert StepRunner(lambda org: transports, "w1").run(ids[0], clock()) in ("lost", "cancelled")
    assert SimulatedSend.objects.count() == 0


# 3. Paid stops everything -------------------------------------------------------------------------


def test_marking_paid_exits_enrollments_and_cancels_pending_steps(make_invoice, clock):
    invoice = _due_text(make_invoice, clock)
    actions.mark_invoice_paid(invoice, clock(), actor="staff:test")
    enrollment = Enrollment.objects.get(invoice=invoice)
    assert enrollment.status == "exited" and enrollment.exit_reason == "paid"
    assert not Step.objects.filter(enrollment=enrollment, status__in=("pending", "claimed", "held", "waiting"))
    kinds = list(Event.objects.filter(invoice=invoice).values_list("kind", flat=True))
    assert kinds[-2:] == ["payment.recorded", "enrollment.exited"]


def test_partial_payment_keeps_outreach_going(make_invoice, clock):
    from decimal import Decimal

    invoice = _due_text(make_invoice, clock)
    invoice = actions.record_payment(invoice, Decimal("20.00"), clock())
    assert invoice.balance == Decimal("100.00") and invoice.status == "open"
    assert Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()


def test_paid_rolls_back_whole_if_anything_fails(make_invoice, clock, monkeypatch):
    invoice = _due_text(make_invoice, clock)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    from duedesk.engine.actions import invoices

    monkeypatch.setattr(invoices, "exit_invoice_enrollments", boom)
    with pytest.raises(RuntimeError):
        actions.mark_invoice_paid(invoice, clock())
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert not Event.objects.filter(kind="payment.recorded").exists()


# 4. Time -----------------------------------------------------------------------------------------


def test_pacific_and_eastern_contacts_on_one_tick(make_invoice, make_contact, clock, worker):
    east = make_invoice(contact=make_contact(phone="+12125550199"), due=date(2026, 12, 10))
    west = make_invoice(contact=make_contact(phone="+14155550199"), due=date(2026, 12, 10))
    assert west.contact.tz() == "America/Los_Angeles"
    clock.set(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    actions.enroll_invoice(east, clock())
    actions.enroll_invoice(west, clock())
    # 14:30 UTC on Dec 7: 09:30 in New York (open), 06:30 in San Francisco (not yet).
    clock.set(datetime(2026, 12, 7, 14, 30, tzinfo=UTC))
    worker.tick()
    assert list(SimulatedSend.objects.values_list("to", flat=True)) == ["+12125550199"]
    west_step = Step.objects.get(enrollment__invoice=west, step_id="heads_up")
    assert west_step.run_at == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)  # 09:00 Pacific
    clock.set(west_step.run_at)
    worker.tick()
    assert SimulatedSend.objects.count() == 2


@pytest.mark.parametrize("due, expected", [
    # Heads-up on Sunday March 8 2026 (DST starts 02:00): Sunday is closed, so Monday 09:00 EDT = 13:00 UTC.
    (date(2026, 3, 11), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
    # Heads-up on Saturday Oct 31, the day before DST ends: 09:00 EDT = 13:00 UTC.
    (date(2026, 11, 3), datetime(2026, 10, 31, 13, 0, tzinfo=UTC)),
    # Heads-up on Monday Nov 2, after DST ended: 09:00 EST = 14:00 UTC.
    (date(2026, 11, 5), datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
])
def test_send_planned_across_dst_lands_in_the_local_window(due, expected, make_invoice, clock, worker):
    invoice = make_invoice(due=due)
    clock.set(datetime(2026, 2, 1, 12, 0, tzinfo=UTC))
    actions.enroll_invoice(invoice, clock())
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    assert step.run_at == expected
    clock.set(expected - timedelta(minutes=1))
    worker.tick()
    assert SimulatedSend.objects.count() == 0
    clock.set(expected)
    worker.tick()
    assert SimulatedSend.objects.count() == 1


# Workflow versions -------------------------------------------------------------------------------


def test_editing_a_workflow_makes_a_new_version_running_enrollments_keep_theirs(org, make_invoice, clock):
    from duedesk.engine import definitions

    first = definitions.current(org)
    invoice = _due_text(make_invoice, clock)
    source = first.source.replace("at: due_date - 3d", "at: due_date - 5d")
    second = definitions.save_version(org, first.slug, source)
    assert second.version == first.version + 1
    assert Enrollment.objects.get(invoice=invoice).workflow == first
    other = make_invoice(due=date(2026, 12, 20))
    actions.enroll_invoice(other, clock())
    assert Enrollment.objects.get(invoice=other).workflow == second


def test_a_worker_never_sends_a_step_whose_lease_another_worker_took_over(make_invoice, clock, transports):
    from duedesk.engine.batch import BatchRunner
    from duedesk.engine.worker import claim

    invoice = _due_text(make_invoice, clock)
    ids = claim("slow", clock())
    # The slow worker stalls past its lease; the step is requeued and another worker claims it.
    clock.advance(minutes=6)
    recover(clock(), lambda org: transports)
    assert claim("fast", clock()) == ids
    BatchRunner(lambda org: transports, "slow").run(ids, clock)
    assert SimulatedSend.objects.count() == 0
    BatchRunner(lambda org: transports, "fast").run(ids, clock)
    assert SimulatedSend.objects.count() == 1
    assert Event.objects.filter(kind="sms.sent", invoice=invoice).count() == 1


def test_a_send_nobody_can_confirm_goes_to_a_person_not_out_again(make_invoice, clock, transports):
    from duedesk.channels.errors import TransportError

    invoice = _due_text(make_invoice, clock)

    class TimedOutAfterSending:
        name = "timed-out"

        def send(self, msg):
            transports.sms.send(msg)  # the provider took it...
            raise TransportError("read timeout", accepted_unknown=True)  # ...but we never heard back

        def lookup(self, *args):
            raise TransportError("this provider cannot be asked")

    blind = type(transports)(sms=TimedOutAfterSending(), voice=transports.voice, email=transports.email)
    worker = Worker(lambda org: blind, clock=clock, worker_id="w")
    worker.tick()
    clock.advance(hours=1)
    worker.run_until_idle()
    assert SimulatedSend.objects.count() == 1
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    assert step.status == "unknown"
    assert invoice.handoffs.get().reason == "unknown_send"


def test_a_delivery_callback_that_beats_the_worker_is_not_moved_back(make_invoice, clock, transports):
    invoice = _due_text(make_invoice, clock)

    class FastCallback:
        name = "fast"

        def send(self, msg):
            accepted = transports.sms.send(msg)
            # The provider's "delivered" callback lands before the worker has settled the send.
            Message.objects.filter(idempotency_key=msg.idempotency_key).update(status="delivered",
                                                                               provider_id=accepted.provider_id)
            return accepted

        def lookup(self, *args):
            return transports.sms.lookup(*args)

    fast = type(transports)(sms=FastCallback(), voice=transports.voice, email=transports.email)
    Worker(lambda org: fast, clock=clock, worker_id="w").tick()
    message = Message.objects.get(invoice=invoice)
    assert message.status == "delivered"
