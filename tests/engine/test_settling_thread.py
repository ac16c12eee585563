"""A worker on PostgreSQL settles each batch on a thread of its own while it checks the next (engine/settler.py).
Every text is still sent once and recorded once; the sends being settled are not handed back as leftovers; a
settling that fails leaves its sends to recovery, which finds them at the provider and sends nothing again."""

import gc
import threading

import pytest
from django.db import OperationalError, connection

from duedesk.channels.models import SimulatedSend
from duedesk.engine.models import Step
from duedesk.engine.worker import Worker, for_process
from duedesk.records.models import Event
from tests.engine.test_recovery import _due_texts


def _on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the settling thread runs on PostgreSQL (SQLite has one writer at a time)")


def _settler_threads():
    return [t for t in threading.enumerate() if t.name == "duedesk-settler"]


def _background_worker(transports, clock, batch=10):
    return Worker(lambda org: transports, clock=clock, worker_id="settles-behind", batch=batch,
                  settle_in_background=True)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_every_text_is_sent_and_recorded_once_when_batches_settle_behind_the_next(make_invoice, clock, transports):
    _on_postgresql()
    invoices = _due_texts(make_invoice, clock, 35)
    worker = _background_worker(transports, clock)

    assert worker.run(until_idle=True) == 35

    sends = SimulatedSend.objects.filter(channel="sms")
    assert sends.count() == 35 == sends.values("idempotency_key").distinct().count()
    assert Event.objects.filter(kind="sms.sent").count() == 35
    assert Step.objects.filter(step_id="heads_up", status="done").count() == 35
    # Each enrollment went forward to its next step, planned by the settling thread.
    assert Step.objects.filter(enrollment__invoice__in=invoices, status="pending").count() == 35
    assert not Step.objects.filter(status__in=("claimed", "sending")).exists()
    assert not _settler_threads()  # ended with the worker, its connection closed


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_sends_being_settled_are_not_handed_back_as_leftovers(make_invoice, clock, transports):
    _on_postgresql()
    _due_texts(make_invoice, clock, 4)
    worker = _background_worker(transports, clock)
    go_on = threading.Event()
    settle = worker.runner.settler._settle
    worker.runner.settler._settle = lambda *args: (go_on.wait(10), settle(*args))

    assert worker.tick() == 4  # sent, and still being settled when the tick hands back its leftovers
    held = Step.objects.filter(step_id="heads_up")
    assert set(held.values_list("status", "leased_by")) == {("sending", "settles-behind")}

    go_on.set()
    worker.runner.settler.close()
    assert set(held.values_list("status", flat=True)) == {"done"}
    assert Event.objects.filter(kind="sms.sent").count() == 4


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_settling_that_fails_leaves_its_sends_to_recovery_which_sends_nothing_again(make_invoice, clock,
                                                                                      transports):
    _on_postgresql()
    _due_texts(make_invoice, clock, 3)
    worker = _background_worker(transports, clock)
    settle = worker.runner.settler._settle
    calls = []

    def drops_once(*args):
        calls.append(len(args[0]))
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        settle(*args)

    worker.runner.settler._settle = drops_once
    assert worker.tick() == 3
    worker.runner.settler.wait()
    assert worker.tick() == 0  # nothing due; the failed settling's sends are handed to recovery
    steps = Step.objects.filter(step_id="heads_up")
    assert set(steps.values_list("status", "leased_by")) == {("sending", "")}

    clock.advance(seconds=11)  # past the time a request in flight may take to land
    worker.tick()
    worker.runner.settler.close()
    assert set(steps.values_list("status", flat=True)) == {"done"}
    assert SimulatedSend.objects.filter(channel="sms").count() == 3  # found at the provider, not sent again
    assert Event.objects.filter(kind="sms.sent").count() == 3
    assert Event.objects.filter(kind="step.reconciled").count() == 3


@pytest.mark.django_db
def test_a_worker_process_settles_behind_on_postgresql_only_and_sets_its_collector_for_a_busy_loop(transports,
                                                                                                  clock):
    before = gc.get_threshold()
    try:
        worker = for_process(lambda org: transports, clock, 50)
        assert worker.runner.settler.background is (connection.vendor == "postgresql")
        assert gc.get_threshold() == (50_000, 20, 100)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def _wait_for_a_lock_wait(seconds=10.0):
    """Until a backend of this database waits for a row lock (the settling thread behind the payment)."""
    import time

    from django.db import connections

    with connections["default"].cursor() as cursor:
        for _ in range(int(seconds / 0.02)):
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else read once per transaction
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                           " AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the settling never waited for the payment")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_payment_in_flight_while_its_text_is_settled_does_not_deadlock_with_the_settling(make_invoice, clock,
                                                                                          transports):
    """A payment locks its invoice, then its enrollment; the settling writes the invoice's first text after it
    locked the enrollment. It takes the invoice first, so it waits for the payment instead of holding the
    enrollment the payment needs next (PostgreSQL would abort one of them: a webhook's 500, or a text sent
    and left for recovery)."""
    from django.db import transaction

    from duedesk.engine.models import Enrollment
    from duedesk.records.models import Invoice

    _on_postgresql()
    (invoice,) = _due_texts(make_invoice, clock, 1)
    worker = _background_worker(transports, clock)
    go_on = threading.Event()
    settle = worker.runner.settler._settle
    worker.runner.settler._settle = lambda *args: (go_on.wait(10), settle(*args))
    assert worker.tick() == 1  # handed over; its settling waits for go_on

    with transaction.atomic():  # a payment, as record_payment takes its rows
        Invoice.objects.select_for_update().get(pk=invoice.pk)
        go_on.set()
        _wait_for_a_lock_wait()
        enrollment = Enrollment.objects.select_for_update().get(invoice=invoice)
        Enrollment.objects.filter(pk=enrollment.pk).update(status="exited", exit_reason="paid", ended_at=clock())
    worker.runner.settler.close()

    assert Event.objects.filter(kind="sms.sent", invoice=invoice).count() == 1  # settled, not left for recovery
    assert Step.objects.get(enrollment__invoice=invoice, step_id="heads_up").status == "done"
    assert Enrollment.objects.get(invoice=invoice).status == "exited"  # read after the payment: not moved on
    assert not Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()
