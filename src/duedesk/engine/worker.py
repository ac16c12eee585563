"""The worker: claims due steps in batches under a lease and runs them.

On PostgreSQL any number of workers share the queue: the claim is `SELECT … FOR UPDATE SKIP LOCKED`,
so two workers never take the same row. On SQLite one worker runs (the database serialises writers).
A worker that dies leaves leases that expire: claimed rows go back to pending (nothing was sent),
`sending` rows are reconciled with the provider or marked `unknown` for a person.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time as _time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from duedesk.channels.errors import TransportError
from duedesk.engine.batch import LEASE, BatchRunner
from duedesk.engine.models import Step
from duedesk.engine.runner import mark_unknown, settle_sent
from duedesk.records.models import Call, Message
from duedesk.records.timeline import log

logger = logging.getLogger("duedesk.worker")

# LEASE lives with the batch runner, which renews it while a long batch is still sending.


def claim(worker_id: str, now: datetime, limit: int = 100, lease: timedelta = LEASE) -> list[int]:
    """Take up to `limit` due steps for this worker, oldest first."""
    with transaction.atomic():
        qs = Step.objects.filter(status="pending", run_at__lte=now).order_by("run_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:limit])
        if ids:
            Step.objects.filter(pk__in=ids, status="pending").update(
                status="claimed", leased_by=worker_id, lease_until=now + lease
            )
        return ids


def recover(now: datetime, transports_for: Callable) -> dict:
    """Leases that expired: a dead worker's rows. Nothing is ever blindly sent again."""
    counts = {"requeued": 0, "reconciled": 0, "unknown": 0}
    with transaction.atomic():
        counts["requeued"] = Step.objects.filter(status="claimed", lease_until__lt=now).update(
            status="pending", leased_by="", lease_until=None
        )
    stale = list(
        Step.objects.filter(status="sending", lease_until__lt=now)
        .select_related("enrollment__contact__organization", "enrollment__invoice")
    )
    for step in stale:
        counts[_reconcile(step, now, transports_for)] += 1
    return counts


def _reconcile(step: Step, now: datetime, transports_for: Callable) -> str:
    contact = step.enrollment.contact
    channel = step.kind
    record = (Call if channel == "call" else Message).objects.filter(idempotency_key=step.idempotency_key).first()
    transport = transports_for(contact.organization).for_channel(channel)
    try:
        found = transport.lookup(step.idempotency_key, record.to if record else contact.phone,
                                 (record.created_at if record else step.created_at) - timedelta(minutes=5))
    except TransportError as error:
        found, lookup_error = None, str(error)
    else:
        lookup_error = ""
    if found is not None and record is not None:
        log(step.organization_id, "step.reconciled", now, contact=contact, invoice=step.enrollment.invoice,
            channel=channel, step=step.step_id, provider_id=found.provider_id, result="was sent")
        settle_sent(step, record, channel, found, now)
        return "reconciled"
    if found is None and not lookup_error and record is not None and channel != "call":
        # The provider confirms it never got it: the send can go out once, with the same key.
        with transaction.atomic():
            Step.objects.filter(pk=step.pk, status="sending").update(
                status="pending", leased_by="", lease_until=None, run_at=now
            )
            log(step.organization_id, "step.reconciled", now, contact=contact, invoice=step.enrollment.invoice,
                channel=channel, step=step.step_id, result="never reached the provider")
        return "reconciled"
    mark_unknown(step, record, now, lookup_error)
    return "unknown"


class Worker:
    def __init__(self, transports_for: Callable, clock: Callable[[], datetime] = timezone.now,
                 batch: int = 100, worker_id: str | None = None, lease: timedelta = LEASE,
                 after_batch: Callable[[], None] | None = None):
        self.transports_for = transports_for
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.runner = BatchRunner(transports_for, self.worker_id, f"{settings.PUBLIC_URL}/hooks/twilio/sms/status")
        self.after_batch = after_batch
        self.stopping = False

    def tick(self) -> int:
        """Recover expired leases, then run one batch. Returns how many steps ran."""
        now = self.clock()
        recover(now, self.transports_for)
        ids = claim(self.worker_id, now, self.batch, self.lease)
        # SIGTERM finishes the batch in hand: steps already claimed are run, not dropped.
        try:
            self.runner.run(ids, self.clock)
        except Exception:
            logger.exception("a batch failed; its leases will expire and its steps will be recovered")
        if self.after_batch:
            self.after_batch()
        return len(ids)

    def run_until_idle(self, max_ticks: int = 10_000) -> int:
        total = 0
        for _ in range(max_ticks):
            n = self.tick()
            total += n
            if n == 0:
                break
        return total

    def run_forever(self, idle_sleep: float = 1.0) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        logger.info("worker %s started", self.worker_id)
        while not self.stopping:
            n = self.tick()
            if n == 0 and not self.stopping:
                _time.sleep(idle_sleep)
        logger.info("worker %s stopped", self.worker_id)

    def _stop(self, signum, frame):
        self.stopping = True
