"""Recovery: one worker reconciles each stranded step, workers outlive database errors, and a dead
worker's steps resume within the 20-second lease (sooner on its own machine), on the virtual clock."""

import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import OperationalError, connection, connections

from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions, batch, lease
from duedesk.engine import worker as worker_module
from duedesk.engine.models import Step
from duedesk.engine.worker import Worker, claim, recover, stranded, take_over
from duedesk.records.models import Event

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York, the heads-up day of a 10 December due date


class Crash(BaseException):
    """A process killed mid-batch: not an Exception, so nothing in the worker catches it."""


class OneByOne:
    """Sends through the simulated transport one text at a time; `crash_after` texts, the process dies;
    `on_send` runs before each send (to move the clock...), `after_send` after it."""

    name = "one-by-one"

    def __init__(self, real, crash_after=None, on_send=None, after_send=None):
        self.real, self.crash_after, self.on_send, self.after_send, self.sent = real, crash_after, on_send, after_send, 0

    def send(self, msg):
        if self.on_send:
            self.on_send(msg)
        accepted = self.real.send(msg)
        self.sent += 1
        if self.after_send:
            self.after_send(msg)
        if self.crash_after is not None and self.sent >= self.crash_after:
            raise Crash()
        return accepted

    def lookup(self, *args):
        return self.real.lookup(*args)


class OneBatch(OneByOne):
    """Takes a whole batch in one provider call (so every text of it is committed as `sending` first),
    then delivers it one text at a time, and may die part way."""

    def send_many(self, msgs):
        return [self.send(msg) for msg in msgs]


def _with_sms(transports, sms):
    return type(transports)(sms=sms, voice=transports.voice, email=transports.email)


def _due_texts(make_invoice, clock, n):
    clock.set(NOW)
    invoices = [make_invoice(due=date(2026, 12, 10)) for _ in range(n)]
    for invoice in invoices:
        actions.enroll_invoice(invoice, clock())
    return invoices


def _heads_up(invoice):
    return Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")


def _strand(make_invoice, clock, transports, n=5, sent=3, worker_id="elsewhere:ffffffff:4242:dead00"):
    """A worker dies in the middle of a batch of `n` texts after `sent` of them reached the provider."""
    invoices = _due_texts(make_invoice, clock, n)
    crashing = _with_sms(transports, OneBatch(transports.sms, crash_after=sent))
    dying = Worker(lambda org: crashing, clock=clock, worker_id=worker_id)
    with pytest.raises(Crash):
        dying.tick()
    assert {_heads_up(i).status for i in invoices} == {"sending"}
    return invoices


def _sent_once_each(invoices):
    for invoice in invoices:
        assert _heads_up(invoice).status == "done"
        assert SimulatedSend.objects.filter(idempotency_key=_heads_up(invoice).idempotency_key).count() == 1
        assert Event.objects.filter(kind="sms.sent", invoice=invoice).count() == 1


# Only one worker reconciles a stranded step ---------------------------------------------------------


@pytest.mark.django_db
def test_two_workers_recovering_the_same_stranded_steps_write_one_event_each(make_invoice, clock, transports):
    invoices = _strand(make_invoice, clock, transports)
    clock.advance(seconds=21)
    # Both workers see the same expired rows before either has taken them (what every worker's recover()
    # did at the same moment before): the conditional UPDATE gives each row to the first one only.
    seen_by_a, seen_by_b = stranded(clock()), stranded(clock())
    assert seen_by_a == seen_by_b and len(seen_by_a) == 5
    assert len(take_over(seen_by_a, "a", clock())) == 5
    assert take_over(seen_by_b, "b", clock()) == []
    # "a" stalls past its new lease; then whole recover() calls one after the other: the second finds nothing.
    clock.advance(seconds=21)
    first = recover(clock(), lambda org: transports, "a")
    second = recover(clock(), lambda org: transports, "b")
    assert first["reconciled"] == 5 and second["reconciled"] == 0
    assert Event.objects.filter(kind="step.reconciled").count() == 5
    Worker(lambda org: transports, clock=clock, worker_id="a").run_until_idle()
    _sent_once_each(invoices)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_recovery_in_two_threads_writes_one_event_per_stranded_step(make_invoice, clock, transports):
    if connection.vendor != "postgresql":
        pytest.skip("two workers at once need PostgreSQL (SQLite runs one worker)")
    invoices = _strand(make_invoice, clock, transports, n=40, sent=25)
    clock.advance(seconds=21)
    start = threading.Barrier(2)
    counts, errors = {}, []

    def one_worker(name):
        try:
            start.wait()
            counts[name] = recover(clock(), lambda org: transports, name)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_worker, args=(name,)) for name in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert counts["w1"]["reconciled"] + counts["w2"]["reconciled"] == 40
    assert Event.objects.filter(kind="step.reconciled").count() == 40
    assert Event.objects.filter(kind="sms.sent").count() == 25  # the ones that had reached the provider
    Worker(lambda org: transports, clock=clock, worker_id="w1").run_until_idle()
    _sent_once_each(invoices)


# Workers outlive database errors --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["claim", "recover"])
def test_a_deadlock_while_claiming_or_recovering_does_not_stop_the_worker(where, make_invoice, clock, transports,
                                                                          monkeypatch):
    (invoice,) = _due_texts(make_invoice, clock, 1)
    real = getattr(worker_module, where)
    raised = []

    def deadlock_once(*args, **kwargs):
        if not raised:
            raised.append(True)
            raise OperationalError("deadlock detected")
        return real(*args, **kwargs)

    monkeypatch.setattr(worker_module, where, deadlock_once)
    slept = []
    w = Worker(lambda org: transports, clock=clock, worker_id="w", sleep=slept.append)
    assert w.tick() == 0 and w.failures == 1
    assert slept == [worker_module.BACKOFF[0]]  # it waited, closed the connection, and goes on
    w.run_until_idle()
    _sent_once_each([invoice])
    assert w.failures == 0


@pytest.mark.django_db(transaction=True)
def test_an_error_in_recovery_is_logged_and_the_batch_still_runs(make_invoice, clock, transports, monkeypatch,
                                                                   caplog):
    (invoice,) = _due_texts(make_invoice, clock, 1)

    def broken(*args, **kwargs):
        raise ValueError("a bug in recovery")

    monkeypatch.setattr(worker_module, "recover", broken)
    w = Worker(lambda org: transports, clock=clock, worker_id="w", sleep=lambda s: None)
    assert w.tick() == 1
    assert "recovery failed" in caplog.text
    _sent_once_each([invoice])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("error", [OperationalError("server closed the connection unexpectedly"),
                                   ValueError("a bug while settling")])
def test_a_batch_that_fails_after_sending_hands_its_steps_to_recovery(error, make_invoice, clock, transports,
                                                                      monkeypatch):
    invoices = _due_texts(make_invoice, clock, 3)
    failing = []

    def settle_fails_once(self, *args, **kwargs):
        if not failing:
            failing.append(True)
            raise error
        return real_settle(self, *args, **kwargs)

    real_settle = batch.BatchRunner._settle
    monkeypatch.setattr(batch.BatchRunner, "_settle", settle_fails_once)
    w = Worker(lambda org: transports, clock=clock, worker_id="w", sleep=lambda s: None)
    w.tick()  # the texts reached the provider; recording that failed
    assert SimulatedSend.objects.count() == 3
    w.tick()  # the worker holds nothing it is not working on: the rows wait for recovery, not for it
    assert set(Step.objects.filter(step_id="heads_up").values_list("status", "leased_by")) == {("sending", "")}
    clock.advance(seconds=11)  # any request in flight has landed: the provider is asked
    w.run_until_idle()
    _sent_once_each(invoices)
    assert Event.objects.filter(kind="step.reconciled").count() == 3


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_worker_survives_its_connection_being_terminated(make_invoice, clock, transports):
    if connection.vendor != "postgresql":
        pytest.skip("terminating a backend is PostgreSQL's")
    import psycopg

    first, second = _due_texts(make_invoice, clock, 2)
    settings = connection.settings_dict
    conninfo = psycopg.conninfo.make_conninfo(dbname=settings["NAME"], user=settings["USER"],
                                              host=settings["HOST"], port=settings["PORT"] or 5432,
                                              password=settings["PASSWORD"] or None)

    def terminate_worker_connection():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    slept = []
    sms = {"now": transports}
    w = Worker(lambda org: sms["now"], clock=clock, worker_id="w", batch=1,
               sleep=slept.append)
    terminate_worker_connection()  # between ticks
    assert w.tick() == 0 and len(slept) == 1
    # And in the middle of a batch: the text went out, then settling it met the dead connection.
    sms["now"] = _with_sms(transports, OneByOne(transports.sms, after_send=lambda msg: terminate_worker_connection()))
    w.tick()
    assert len(slept) == 2 and SimulatedSend.objects.count() == 1
    sms["now"] = transports
    w.tick()  # reconnected: it hands the step to recovery and sends the second text
    assert _heads_up(second).status == "done" and _heads_up(first).status == "sending"
    clock.advance(seconds=11)
    w.run_until_idle()
    _sent_once_each([first, second])


# A dead worker's steps resume within the lease ---------------------------------------------------------


@pytest.mark.django_db
def test_a_killed_workers_steps_resume_within_the_lease(make_invoice, clock, transports):
    dead = "elsewhere:ffffffff:4242:dead00"  # another machine: only its lease can say it is gone
    sending = _strand(make_invoice, clock, transports, n=3, sent=1, worker_id=dead)
    claimed = _due_texts(make_invoice, clock, 2)
    assert len(claim(dead, clock())) == 2
    survivor = Worker(lambda org: transports, clock=clock, worker_id="survivor")
    clock.advance(seconds=19)
    survivor.run_until_idle()
    assert SimulatedSend.objects.count() == 1  # the lease still runs: nothing is taken from a live worker
    clock.advance(seconds=2)  # 21 s after the last sign of life
    survivor.run_until_idle()
    _sent_once_each(sending + claimed)
    assert lease.LEASE <= timedelta(seconds=20)


@pytest.mark.django_db
def test_a_live_workers_heartbeat_keeps_its_steps(make_invoice, clock, transports):
    invoices = _due_texts(make_invoice, clock, 2)
    slow = Worker(lambda org: transports, clock=clock, worker_id="slow")
    ids = claim(slow.worker_id, clock())
    peer = Worker(lambda org: transports, clock=clock, worker_id="peer")
    for _ in range(4):  # a minute of heartbeats: its steps stay its own
        clock.advance(seconds=15)
        assert slow.lease.beat() == 2
        peer.tick()
        assert set(Step.objects.filter(pk__in=ids).values_list("status", "leased_by")) == {("claimed", "slow")}
    clock.advance(seconds=21)  # the heartbeat stopped: the peer takes them
    peer.run_until_idle()
    _sent_once_each(invoices)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.django_db
def test_a_restarted_worker_takes_back_its_dead_predecessors_claims_at_once(make_invoice, clock, transports):
    machine = lease.new_worker_id().split(":")[1]
    predecessor = f"host:{machine}:{_dead_pid()}:aaaaaa"
    in_flight = _strand(make_invoice, clock, transports, n=2, sent=1, worker_id=predecessor)
    claimed = _due_texts(make_invoice, clock, 2)
    claim(predecessor, clock())
    restarted = Worker(lambda org: transports, clock=clock)
    restarted.run_until_idle()  # no wait: the predecessor's process is gone
    for invoice in claimed:
        assert _heads_up(invoice).status == "done"
    # Its sends in flight wait 10 s: a request written just before it died may still be landing.
    assert {_heads_up(i).status for i in in_flight} == {"sending"}
    clock.advance(seconds=9)
    restarted.run_until_idle()
    assert {_heads_up(i).status for i in in_flight} == {"sending"}
    clock.advance(seconds=2)  # 11 s, well inside the 20-s lease
    restarted.run_until_idle()
    _sent_once_each(in_flight + claimed)


@pytest.mark.django_db
def test_a_live_worker_on_this_machine_keeps_its_claims(make_invoice, clock, transports):
    machine = lease.new_worker_id().split(":")[1]
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        neighbour = f"host:{machine}:{alive.pid}:bbbbbb"
        _due_texts(make_invoice, clock, 2)
        ids = claim(neighbour, clock())
        Worker(lambda org: transports, clock=clock).run_until_idle()
        assert set(Step.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"claimed"}
    finally:
        alive.communicate(b"")


@pytest.mark.django_db
def test_a_batch_that_stalls_past_its_lease_sends_and_settles_only_what_it_still_holds(make_invoice, clock,
                                                                                        transports):
    invoices = _due_texts(make_invoice, clock, 3)
    peer = []

    def stall(msg):  # each send takes 15 s and no heartbeat gets through; during the 2nd a peer recovers
        clock.advance(seconds=15)
        if len(peer) == 0 and sms.sent == 1:
            peer.append(recover(clock(), lambda org: transports, "peer"))

    sms = OneByOne(transports.sms, on_send=stall)
    slow = _with_sms(transports, sms)
    Worker(lambda org: slow, clock=clock, worker_id="w").tick()
    # Each text is committed as `sending` only right before its own provider call, so the peer found the 1st
    # settled, the 2nd held as it went out (left alone), and the 3rd still only claimed: back to pending,
    # nothing to reconcile; the stalled batch, no longer holding it, did not send it.
    assert peer[0]["requeued"] == 1 and peer[0]["reconciled"] == 0
    assert SimulatedSend.objects.count() == 2
    Worker(lambda org: transports, clock=clock, worker_id="peer").run_until_idle()
    _sent_once_each(invoices)


@pytest.mark.django_db
def test_sigterm_finishes_the_batch_in_hand_then_stops(make_invoice, clock, transports):
    import os
    import signal

    invoices = _due_texts(make_invoice, clock, 3)

    def terminate_once(msg):
        if not sms.sent:
            os.kill(os.getpid(), signal.SIGTERM)

    sms = OneByOne(transports.sms, on_send=terminate_once)
    terminating = _with_sms(transports, sms)
    w = Worker(lambda org: terminating, clock=clock, worker_id="w", batch=3, sleep=lambda s: None)
    assert w.run() == 3  # the signal came during the first send; the batch was finished, then it stopped
    assert w.stopping
    _sent_once_each(invoices)
    assert signal.getsignal(signal.SIGTERM) is not w._stop
