"""Leases on claimed steps: who holds a row, for how long, and when a dead worker's rows come back.

A worker holds the rows it claimed (`claimed`, then `sending`) under a short lease that its heartbeat
renews while the process is alive. When a worker dies its leases stop moving, and within LEASE a peer
takes the rows back: `claimed` rows go back to `pending` (nothing was sent), `sending` rows are
reconciled with the provider (never re-sent blindly).

A worker's id names the machine and process that holds the lease: `host:machine:pid:token`. The
machine mark is the same for two processes only when they share a boot and a process-id namespace,
so a worker that finds rows held by another id with its own mark can ask the operating system whether
that process still runs. A predecessor that is gone (a restart after a crash, a worker killed on
this machine) gives its `claimed` rows back at once instead of after the lease. Its `sending` rows
wait PROVIDER_TIMEOUT (10 s) from then: a request written just before the crash may still be landing
at the provider, and the lookup that reconciles them must see every text that went out.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from duedesk.engine.models import Step

logger = logging.getLogger("duedesk.worker")

HEARTBEAT = 5.0  # seconds between renewals: a live worker's lease never has less than LEASE - 5 s left
# The longest a provider request may take (Twilio's request timeout, 10 s unless set longer). The lease
# is longer, and renewed as a send starts, so a peer never looks up a send that is still in flight.
# (An email's lookup can never confirm absence: an unsure email goes to a person, never out again.)
PROVIDER_TIMEOUT = timedelta(seconds=max(10.0, float(getattr(settings, "TWILIO_TIMEOUT", 10.0))))
LEASE = max(timedelta(seconds=20), PROVIDER_TIMEOUT + timedelta(seconds=2 * HEARTBEAT))
HELD = ("claimed", "sending")


def _machine_mark() -> str:
    """Equal for two processes exactly when they see the same process ids (same boot, same pid namespace)."""
    parts = [socket.gethostname()]
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            parts.append(f.read().strip())
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    except OSError:
        pass  # no /proc (macOS, BSD): one host, one process table
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:8]


def new_worker_id() -> str:
    """Unique per process run (a restarted worker with the same pid still gets a new id); fits leased_by."""
    host = socket.gethostname().split(".")[0][:28] or "worker"
    return f"{host}:{_machine_mark()}:{os.getpid()}:{secrets.token_hex(3)}"


def _pid_on_this_machine(worker_id: str) -> int | None:
    parts = worker_id.split(":")
    if len(parts) != 4 or parts[1] != _machine_mark() or not parts[2].isdigit():
        return None
    return int(parts[2])


def is_gone(worker_id: str) -> bool:
    """True only when the worker's process is known to have ended (same machine, pid not running).
    Workers elsewhere, or with ids of another shape, are never judged here: their leases decide."""
    pid = _pid_on_this_machine(worker_id)
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # a process of another user has that pid now: alive as far as we can tell
    return False  # running (or a zombie not yet reaped: its parent will; the lease covers it meanwhile)


def gone_holders(now: datetime, me: str) -> list[str]:
    """Workers on this machine that still hold unexpired leases but whose process has ended."""
    holders = (Step.objects.filter(status__in=HELD, lease_until__gte=now)
               .exclude(leased_by=me).values_list("leased_by", flat=True).distinct())
    return [h for h in holders if h and is_gone(h)]


def renew(worker_id: str, now: datetime, lease: timedelta = LEASE) -> int:
    """One heartbeat: every row this worker still holds runs for another `lease` from `now`.

    On PostgreSQL rows the worker's own batch has locked right now are skipped for this beat (the
    next one gets them): waiting on them while the batch waits on a row this beat locked would be a
    deadlock."""
    held = Step.objects.filter(leased_by=worker_id, status__in=HELD)
    if not connection.features.has_select_for_update_skip_locked:
        return held.update(lease_until=now + lease)
    with transaction.atomic():
        ids = list(held.select_for_update(skip_locked=True).values_list("pk", flat=True))
        renewed = Step.objects.filter(pk__in=ids).update(lease_until=now + lease) if ids else 0
    return renewed


class Heartbeat:
    """Renews a worker's leases every HEARTBEAT seconds on a thread of its own (its own connection).

    It renews only while the worker's main loop shows signs of life (`alive()`): a worker stuck for
    good must not hold its rows forever. A failed renewal (the database went away) is logged and tried
    again on the next beat. A send in flight does not depend on it: the batch renews a row's lease
    itself at the moment it hands the row to the provider (`hold`).
    """

    def __init__(self, lease: Lease, interval: float = HEARTBEAT):
        self.lease = lease
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self.lease.beat()
        finally:
            connection.close()  # this thread's own connection


class Lease:
    """One worker's leases: the heartbeat's beat, and the hold taken on a row as it is sent."""

    STALL = 120.0  # seconds without progress after which the heartbeat stops renewing

    def __init__(self, worker_id: str, clock: Callable[[], datetime], length: timedelta = LEASE,
                 monotonic: Callable[[], float] = time.monotonic):
        self.worker_id = worker_id
        self.clock = clock
        self.length = length
        self._monotonic = monotonic
        self._progress = self._monotonic()
        self.suspended = False  # set by the worker after a failed tick, until it has handed its rows back

    def progress(self) -> None:
        """The main loop is moving (called every tick)."""
        self._progress = self._monotonic()

    def beat(self) -> int:
        """Renew now; returns how many rows were renewed (-1 when it could not)."""
        if self._monotonic() - self._progress > self.STALL:
            logger.error("worker %s has made no progress for %.0f s: its leases are left to expire",
                         self.worker_id, self._monotonic() - self._progress)
            return -1
        if self.suspended:
            return -1
        now = self.clock()
        try:
            n = renew(self.worker_id, now, self.length)
        except Exception:
            logger.exception("lease renewal failed; trying again in %.0f s", HEARTBEAT)
            connection.close()
            return -1
        return n

    def hold(self, step_pk: int) -> bool:
        """Right before a row goes to the provider: is it still ours? If so its lease runs LEASE from now,
        longer than any provider request, so no peer can look it up while the request is in flight.
        One conditional UPDATE: a peer that took the row over first makes it match nothing."""
        return Step.objects.filter(pk=step_pk, leased_by=self.worker_id, status="sending").update(
            lease_until=self.clock() + self.length) == 1
