"""The worker: claims due steps in batches under a lease and runs them; takes back a dead worker's steps.

On PostgreSQL any number of workers share the queue: the claim is `SELECT … FOR UPDATE SKIP LOCKED`,
so two workers never take the same row. On SQLite one worker runs (the database serialises writers).

Leases are short and renewed by a heartbeat while the worker lives (engine/lease.py). When a lease
runs out (or its worker is known to be gone) a peer takes the rows back: `claimed` rows go back to
pending (nothing was sent); `sending` rows are taken over one by one with a conditional UPDATE, so
exactly one worker asks the provider about each and writes its event: found → settled as sent,
confirmed absent → sent once more with the same key, nobody can tell → `unknown`, for a person.

A worker exits only on SIGTERM/SIGINT (after the batch in hand). A database error (a dropped
connection, a deadlock) closes the connection, waits a little longer each time, and goes on.
"""

from __future__ import annotations

import gc
import logging
import signal
import time as _time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, CharField, DateTimeField, F, Q, Value, When
from django.utils import timezone

from duedesk.channels import providers
from duedesk.channels.errors import TransportError
from duedesk.engine import line_types
from duedesk.engine.actions.sends import recover_stranded_texts, send_waiting_texts
from duedesk.engine.batch import BatchRunner
from duedesk.engine.lease import LEASE, PROVIDER_TIMEOUT, Heartbeat, Lease, gone_holders, new_worker_id
from duedesk.engine.models import Step
from duedesk.engine.runner import ask_again_later, mark_unknown, settle_sent
from duedesk.records.models import Call, Message
from duedesk.records.timeline import log

logger = logging.getLogger("duedesk.worker")

# Errors that say the connection or the transaction is gone, not that our data is wrong: a terminated
# backend, a network drop, `deadlock detected`, a serialization failure. psycopg's errors reach us as these.
DATABASE_TROUBLE = (OperationalError, InterfaceError)
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds before the next try after a database error
RECOVER_BATCH = 100  # stranded sends reconciled per tick; the rest wait for the next tick
TAKE_AT_ONCE = 20
# While a backlog fills every batch, the passes before the claim (recovery, the texts webhooks left waiting,
# the line types ahead) run at most once per this many seconds of real time rather than before every batch:
# they found nothing new a fifth of a second earlier, and cost a dozen round trips each time.
HOUSEKEEPING_EVERY = 1.0
# Steps a worker process claims at a time. A batch costs ~20 ms of the worker's CPU and ~10 ms of its database's
# whatever its size (some 25 statements, each compiled, sent and planned): 0.08 ms a text at 250, 0.02 at 1,000.
# A rate-limited sender's claims stay at two seconds of its texts (BatchRunner.claim_size); a payment waits for
# at most one batch's check (~0.2 s at 1,000) before it lands.
BATCH = 1000


def preload() -> None:
    """What a worker's first batch imports on its way (the holiday calendars, the phone numbers' geocoding data,
    the providers' clients: ~0.7 s of CPU), imported now. A worker leaves them to its first batch, after its
    first recovery pass: a replacement for a killed worker takes back its rows as soon as it can. The engine
    benchmark imports them before its word to start, with Python's and Django's start-up, which it does not
    time either."""
    import holidays.countries  # noqa: F401
    from phonenumbers import geocoder  # noqa: F401

    providers.preload()


def for_process(transports_for: Callable, clock: Callable[[], datetime], batch: int = BATCH,
                after_batch: Callable[[], None] | None = None) -> Worker:
    """The worker a `duedesk worker` process runs. On PostgreSQL it settles each batch on a thread of its own
    while it checks the next (engine/settler.py); on SQLite, one writer at a time, in line.

    Its garbage collector is set for a loop that makes tens of thousands of short-lived objects a second:
    with Python's defaults it ran some 60 times a batch of 250 texts and each time walked the objects Django
    and the app keep from start-up (~10% of the worker's CPU). Those are set aside (gc.freeze), and a
    collection waits for 50,000 new objects rather than 700."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    return Worker(transports_for, clock=clock, batch=batch, after_batch=after_batch,
                  settle_in_background=connection.vendor == "postgresql")


def _skip_locked(qs):
    return qs.select_for_update(skip_locked=True) if connection.features.has_select_for_update_skip_locked else qs


def claim(worker_id: str, now: datetime, limit: int = 100, lease: timedelta = LEASE) -> list[int]:
    """Take up to `limit` due steps for this worker: retries first, then the rest, oldest first.

    A step tried again after a provider error (a 429, a 500) had its turn already; its new `run_at` is
    later than a whole backlog's, and taken strictly by `run_at` it would wait behind thousands of texts
    that became due before the error (minutes at a sender's rate). On PostgreSQL it is one statement
    (one round trip, no transaction around it)."""
    if connection.vendor == "postgresql":
        return _claim_in_one(worker_id, now, limit, lease)
    with transaction.atomic():
        due = Step.objects.filter(status="pending", run_at__lte=now)
        ids = list(_skip_locked(due.filter(attempts__gt=0).order_by("run_at", "pk")).values_list("pk", flat=True)
                   [:limit])
        if len(ids) < limit:
            ids += list(_skip_locked(due.exclude(pk__in=ids).order_by("run_at", "pk")).values_list("pk", flat=True)
                        [:limit - len(ids)])
        if ids:
            Step.objects.filter(pk__any=ids, status="pending").update(
                status="claimed", leased_by=worker_id, lease_until=now + lease
            )
        return ids


# Each half locks with SKIP LOCKED (a peer's rows are passed over, never waited for); the rows of `rest` left
# over when there were retries are let go as the statement ends.
_CLAIM = """
WITH retries AS (
    SELECT id, run_at FROM engine_step WHERE status = 'pending' AND run_at <= %(now)s AND attempts > 0
    ORDER BY run_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), rest AS (
    SELECT id, run_at FROM engine_step WHERE status = 'pending' AND run_at <= %(now)s
    AND id NOT IN (SELECT id FROM retries)
    ORDER BY run_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), chosen AS (
    SELECT id, 0 AS later, run_at FROM retries UNION ALL SELECT id, 1, run_at FROM rest
    ORDER BY later, run_at, id LIMIT %(limit)s
)
UPDATE engine_step SET status = 'claimed', leased_by = %(worker)s, lease_until = %(until)s
FROM chosen WHERE engine_step.id = chosen.id AND engine_step.status = 'pending'
RETURNING engine_step.id, chosen.later, chosen.run_at
"""


def _claim_in_one(worker_id: str, now: datetime, limit: int, lease: timedelta) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, {"now": now, "limit": limit, "worker": worker_id, "until": now + lease})
        rows = cursor.fetchall()
    return [pk for pk, _, _ in sorted(rows, key=lambda row: (row[1], row[2], row[0]))]


def recover(now: datetime, transports_for: Callable, worker_id: str = "recovery", lease: timedelta = LEASE,
            limit: int = RECOVER_BATCH) -> dict:
    """Steps whose worker is gone: expired leases, or a worker on this machine whose process ended.
    Nothing is ever blindly sent again."""
    counts = {"requeued": 0, "reconciled": 0, "unknown": 0, "left": 0}
    gone = gone_holders(now, worker_id)
    if gone:
        logger.warning("taking back the steps of stopped workers %s", ", ".join(gone))
    expired = Q(lease_until__lt=now) | Q(leased_by__in=gone)
    if gone:
        # A gone worker's sends: any request it wrote before it died lands within PROVIDER_TIMEOUT; after
        # that the provider can be asked (sooner than its lease, but never while a request may be landing).
        Step.objects.filter(leased_by__in=gone, status="sending", lease_until__gt=now + PROVIDER_TIMEOUT).update(
            lease_until=now + PROVIDER_TIMEOUT)
    # Locked rows are skipped (another worker is requeueing them): two workers never wait on each other
    # here, so this cannot deadlock.
    if connection.vendor == "postgresql":  # one statement: it runs every tick and almost always finds nothing
        with connection.cursor() as cursor:
            cursor.execute(_REQUEUE, {"now": now, "gone": gone, "limit": limit * 10})
            counts["requeued"] = cursor.rowcount
    else:
        with transaction.atomic():
            ids = list(_skip_locked(Step.objects.filter(expired, status="claimed").order_by("pk"))
                       .values_list("pk", flat=True)[:limit * 10])
            if ids:
                counts["requeued"] = Step.objects.filter(expired, pk__in=ids, status="claimed").update(
                    status="pending", leased_by="", lease_until=None)
    done = 0
    while done < limit:  # a few at a time: a worker killed while reconciling strands only those
        taken = take_over(stranded(now, TAKE_AT_ONCE), worker_id, now, lease)
        if not taken:
            break
        for step in taken:
            counts[_reconcile(step, worker_id, now, transports_for)] += 1
        done += len(taken)
    return counts


_REQUEUE = """
UPDATE engine_step SET status = 'pending', leased_by = '', lease_until = NULL
WHERE status = 'claimed' AND id IN (
    SELECT id FROM engine_step WHERE status = 'claimed' AND (lease_until < %(now)s OR leased_by = ANY(%(gone)s))
    ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""


def stranded(now: datetime, limit: int = RECOVER_BATCH) -> list[int]:
    """`sending` steps whose lease ran out: their worker died (or stalled) between recording and settling.
    (A gone worker's `sending` rows wait PROVIDER_TIMEOUT: a request it wrote just before it died may
    still be landing at the provider.)"""
    return list(Step.objects.filter(status="sending", lease_until__lt=now).order_by("lease_until", "pk")
                .values_list("pk", flat=True)[:limit])


def take_over(ids: list[int], worker_id: str, now: datetime, lease: timedelta = LEASE) -> list[Step]:
    """Lease each stranded step to this worker with a conditional UPDATE; returns the ones it got.
    A row another worker took first no longer matches (its lease runs again), so only one worker
    reconciles a step. On PostgreSQL rows locked by a peer are skipped rather than waited for."""
    if not ids:
        return []
    mine = []
    with transaction.atomic():
        candidates = list(_skip_locked(Step.objects.filter(pk__in=ids, status="sending", lease_until__lt=now)
                                       .order_by("pk")).values_list("pk", flat=True))
        for pk in candidates:
            if Step.objects.filter(pk=pk, status="sending", lease_until__lt=now).update(
                    leased_by=worker_id, lease_until=now + lease):
                mine.append(pk)
    return list(Step.objects.filter(pk__in=mine, status="sending", leased_by=worker_id)
                .select_related("enrollment__contact__organization", "enrollment__invoice").order_by("pk"))


def release(worker_id: str, now: datetime, keep: list[int] = ()) -> int:
    """Hand back whatever this worker still holds after a batch (a step that raised, a failed batch):
    claimed rows to pending; sending rows to recovery once any request in flight has landed. One
    statement (it runs after every batch, and almost always finds nothing). `keep`: the sends being settled
    on the settling thread (engine/settler.py), not leftovers."""
    claimed = Q(status="claimed")
    held = Step.objects.filter(leased_by=worker_id, status__in=("claimed", "sending"))
    if keep:
        held = held.exclude(pk__any=list(keep))
    return held.update(
        status=Case(When(claimed, then=Value("pending")), default=F("status"), output_field=CharField()),
        leased_by="",
        lease_until=Case(When(claimed, then=Value(None)), default=Value(now + PROVIDER_TIMEOUT),
                         output_field=DateTimeField()),
    )


def _still_mine(step: Step, worker_id: str) -> bool:
    return Step.objects.select_for_update().filter(pk=step.pk, status="sending", leased_by=worker_id).exists()


def _reconcile(step: Step, worker_id: str, now: datetime, transports_for: Callable) -> str:
    contact = step.enrollment.contact
    channel = step.kind
    record = (Call if channel == "call" else Message).objects.filter(idempotency_key=step.idempotency_key).first()
    transport = transports_for(contact.organization).for_channel(channel)
    try:
        found = transport.lookup(step.idempotency_key, record.to if record else contact.phone,
                                 (record.created_at if record else step.created_at) - timedelta(minutes=5))
    except TransportError as error:
        found, lookup_error, failed = None, str(error), error
    else:
        lookup_error, failed = "", None
    with transaction.atomic():
        if not _still_mine(step, worker_id):  # settled meanwhile (a late answer), or taken by a peer
            return "left"
        if found is not None and record is not None:
            log(step.organization_id, "step.reconciled", now, contact=contact, invoice=step.enrollment.invoice,
                channel=channel, step=step.step_id, provider_id=found.provider_id, result="was sent")
            settle_sent(step, record, channel, found, now)
            return "reconciled"
        if failed is not None and ask_again_later(step, record, now, failed):
            return "left"  # the provider could not be asked just now: asked again shortly
        if found is None and not lookup_error and record is not None and channel != "call":
            # The provider confirms it never got it: the send can go out once, with the same key.
            Step.objects.filter(pk=step.pk).update(status="pending", leased_by="", lease_until=None, run_at=now)
            log(step.organization_id, "step.reconciled", now, contact=contact, invoice=step.enrollment.invoice,
                channel=channel, step=step.step_id, result="never reached the provider")
            return "reconciled"
        mark_unknown(step, record, now, lookup_error)
        return "unknown"


class Worker:
    def __init__(self, transports_for: Callable, clock: Callable[[], datetime] = timezone.now,
                 batch: int = 100, worker_id: str | None = None, lease: timedelta = LEASE,
                 after_batch: Callable[[], None] | None = None, sleep: Callable[[float], None] = _time.sleep,
                 monotonic: Callable[[], float] = _time.monotonic, settle_in_background: bool = False):
        self.transports_for = transports_for
        self.clock = clock
        self.batch = batch
        self.lease = Lease(worker_id or new_worker_id(), clock, lease)
        self.worker_id = self.lease.worker_id
        self.runner = BatchRunner(transports_for, self.worker_id, f"{settings.PUBLIC_URL}/hooks/twilio/sms/status",
                                  settle_in_background)
        self.runner.hold = self.lease.hold
        self.after_batch = after_batch
        self.sleep = sleep
        self.monotonic = monotonic
        self.stopping = False
        self.failures = 0  # database errors in a row; the backoff grows with them
        self._heartbeat: Heartbeat | None = None
        self._holding = False  # steps may be leased to us (set while a tick runs; cleared once handed back)
        self._backlog = False  # the last claim took a whole batch: more was due at once
        self._housekept = float("-inf")  # self.monotonic() at the last recovery pass

    def tick(self) -> int:
        """Recover what dead workers left, send the texts webhooks left waiting, then claim and run one batch.
        Returns how many steps ran and texts were taken."""
        self.lease.progress()
        now = self.clock()
        if self._holding:  # a tick that failed left steps leased to us: nothing is held between batches
            try:
                release(self.worker_id, now, self.runner.settler.in_flight())
            except DATABASE_TROUBLE:
                return self._database_failed("handing back steps")
        self._holding = True
        # While a backlog fills every batch, the passes before the claim run once per HOUSEKEEPING_EVERY.
        put_off = self._backlog and self.monotonic() - self._housekept < HOUSEKEEPING_EVERY
        texted = 0 if put_off else self._housekeeping(now)
        if texted is None:
            return 0
        size = self.runner.claim_size(self.batch)
        try:
            ids = claim(self.worker_id, now, size, self.lease.length)
            if not ids and put_off:  # the backlog ran out: what was put off runs now, then what it freed is claimed
                texted = self._housekeeping(now)
                if texted is None:
                    return 0
                ids = claim(self.worker_id, now, size, self.lease.length)
            if not ids and self.runner.settler.busy():  # the batch being settled may make steps due now
                self.runner.settler.wait()
                ids = claim(self.worker_id, now, size, self.lease.length)
        except DATABASE_TROUBLE:
            return self._database_failed("claiming")
        self._backlog = len(ids) >= size
        # SIGTERM finishes the batch in hand: steps already claimed are run, not dropped.
        try:
            self.runner.run(ids, self.clock)
        except DATABASE_TROUBLE:
            return self._database_failed("a batch")
        except Exception:
            logger.exception("a batch failed; its steps are handed back and recovered")
        try:
            # Normally nothing is left; a step that raised is handed back rather than renewed forever.
            if release(self.worker_id, self.clock(), self.runner.settler.in_flight()):
                logger.warning("steps left over from a batch were handed back for recovery")
        except DATABASE_TROUBLE:
            return self._database_failed("handing back steps")
        self._holding = False
        self.lease.suspended = False
        self.failures = 0
        if self.after_batch:
            try:
                self.after_batch()
            except DATABASE_TROUBLE:
                self._database_failed("the jobs between batches")
            except Exception:
                logger.exception("a job between batches failed")
        return len(ids) + texted

    def _housekeeping(self, now: datetime) -> int | None:
        """Take back what dead workers left, send the texts webhooks left waiting, look up line types ahead.
        Returns how many waiting texts were taken, or None after a database error (handled: reconnecting)."""
        self._housekept = self.monotonic()
        try:
            recover(now, self.transports_for, self.worker_id, self.lease.length)
        except DATABASE_TROUBLE:
            self._database_failed("recovery")
            return None
        except Exception:
            logger.exception("recovery failed; its steps are tried again on the next tick")
        texted = 0
        try:  # texts a webhook left for us (the pay link asked for during a call): a patient is waiting on them
            recover_stranded_texts(now, self.transports_for)  # a dead worker's, checked with the provider first
            texted = send_waiting_texts(now, self.transports_for)
        except DATABASE_TROUBLE:
            self._database_failed("texts waiting")
            return None
        except Exception:
            logger.exception("texts waiting to be sent failed; they are tried again on the next tick")
        try:  # the line types of numbers about to be texted or called, in a bounded pass (engine/line_types.py)
            line_types.look_up_ahead(now, self.transports_for)
        except DATABASE_TROUBLE:
            self._database_failed("line type lookups")
            return None
        except Exception:
            logger.exception("line type lookups failed; the sends go on with the type unknown")
        return texted

    def _database_failed(self, during: str) -> int:
        """Close the broken connection, wait (longer each time in a row), and let the next tick reconnect.
        Steps this worker held are handed back on its next tick (or by their lease if it never comes)."""
        self.lease.suspended = True  # rows this tick held are not renewed: handed back, or left to expire
        self._backlog = False  # the next tick takes back what this one may have left before it claims
        delay = BACKOFF[min(self.failures, len(BACKOFF) - 1)]
        self.failures += 1
        logger.warning("database error during %s (%d in a row); reconnecting in %.1f s", during, self.failures,
                       delay, exc_info=True)
        try:
            connection.close()
        except Exception:  # closing a dead connection can raise too; it is gone either way
            logger.debug("closing the broken connection raised", exc_info=True)
        self.sleep(delay)
        return 0

    def run_until_idle(self, max_ticks: int = 10_000) -> int:
        total = 0
        for _ in range(max_ticks):
            if self.stopping:
                break
            n = self.tick()
            total += n
            if n == 0 and not self.failures:
                break
        return total

    def run(self, until_idle: bool = False, idle_sleep: float = 1.0) -> int:
        """The worker process: heartbeat on, SIGTERM/SIGINT finish the batch in hand and stop."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self._heartbeat = Heartbeat(self.lease).start()
        logger.info("worker %s started", self.worker_id)
        total = 0
        try:
            if until_idle:
                total = self.run_until_idle(max_ticks=10_000_000)
            else:
                while not self.stopping:
                    n = self.tick()
                    total += n
                    if n == 0 and not self.stopping:
                        self.sleep(idle_sleep)
        finally:
            self.runner.settler.close()  # the last batch settled while the heartbeat still renews its rows
            self._heartbeat.stop()
            self._heartbeat = None
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("worker %s stopped", self.worker_id)
        return total

    def run_forever(self, idle_sleep: float = 1.0) -> None:
        self.run(idle_sleep=idle_sleep)

    def _stop(self, signum, frame):
        self.stopping = True
