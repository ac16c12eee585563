"""A worker busy with a backlog (every batch full) makes the passes before its claim (recovery, the texts
webhooks left waiting, line types) once a second of real time rather than before every batch, and a
batch of due texts costs the same few statements whatever its size. What was put off still happens: a
dead worker's texts are taken back within the lease while the backlog goes on, and when the backlog
runs out."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duedesk.channels.models import SimulatedSend
from duedesk.engine.models import Step
from duedesk.engine.worker import Worker, claim
from duedesk.records.models import Event
from tests.engine.test_recovery import _due_texts

pytestmark = pytest.mark.django_db


class Monotonic:
    """The worker's real-time clock, moved by the test."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _texted(invoices):
    return {i.pk for i in invoices if Event.objects.filter(kind="sms.sent", invoice=i).exists()}


def test_a_dead_workers_texts_are_taken_back_while_a_backlog_keeps_every_batch_full(make_invoice, clock,
                                                                                    transports):
    stranded = _due_texts(make_invoice, clock, 2)
    claim("elsewhere:ffffffff:4242:dead00", clock())  # taken by a worker on another machine that then died
    backlog = _due_texts(make_invoice, clock, 8)
    real = Monotonic()
    worker = Worker(lambda org: transports, clock=clock, worker_id="busy", batch=2, monotonic=real)
    clock.advance(seconds=21)  # the dead worker's lease ran out
    assert worker.tick() == 2  # the first tick takes them back, before its claim
    assert _texted(stranded) == {i.pk for i in stranded}

    claim("elsewhere:ffffffff:4242:dead01", clock(), limit=2)  # another dies holding two more
    clock.advance(seconds=21)
    assert worker.tick() == 2  # within the second: a full batch of the backlog, no recovery pass
    assert Step.objects.filter(status="claimed", leased_by="elsewhere:ffffffff:4242:dead01").count() == 2
    real.now += 1.0  # a second later the pass runs again, between full batches
    worker.tick()
    assert not Step.objects.filter(status="claimed", leased_by="elsewhere:ffffffff:4242:dead01").exists()
    worker.run_until_idle()
    assert _texted(stranded + backlog) == {i.pk for i in stranded + backlog}
    assert SimulatedSend.objects.count() == 10 == Event.objects.filter(kind="sms.sent").count()


def test_what_a_backlog_put_off_runs_when_it_runs_out(make_invoice, clock, transports):
    backlog = _due_texts(make_invoice, clock, 2)
    real = Monotonic()
    worker = Worker(lambda org: transports, clock=clock, worker_id="busy", batch=2, monotonic=real)
    assert worker.tick() == 2  # a full batch: the next tick, within the second, puts the passes off
    late = _due_texts(make_invoice, clock, 1)
    claim("elsewhere:ffffffff:4242:dead00", clock(), limit=1)
    clock.advance(seconds=21)
    # Nothing else is due: the tick makes the pass it put off, and sends what the pass freed.
    assert worker.run_until_idle() == 1
    assert _texted(backlog + late) == {i.pk for i in backlog + late}


def test_a_batch_of_due_texts_costs_the_same_statements_whatever_its_size(make_invoice, clock, transports):
    _due_texts(make_invoice, clock, 12)
    real = Monotonic()
    worker = Worker(lambda org: transports, clock=clock, worker_id="busy", batch=2, monotonic=real)
    worker.tick()  # the first tick reads what a worker reads once (workflow versions, its organizations)
    with CaptureQueriesContext(connection) as small:
        assert worker.tick() == 2
    worker.batch = 8
    with CaptureQueriesContext(connection) as large:
        assert worker.tick() == 8
    assert len(large.captured_queries) == len(small.captured_queries)
    # Between full batches, within the second, no pass before the claim: no recovery read.
    assert not any("lease_until" in q["sql"] and "SELECT DISTINCT" in q["sql"] for q in large.captured_queries)
