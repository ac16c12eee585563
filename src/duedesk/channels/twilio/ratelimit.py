"""Messages per second per sender, holding across every worker process.

Each send reserves the next free slot for its sender, slot = max(now, last slot + 1/rate), then
sleeps until it. On PostgreSQL the last slot is a row (channels.SenderSlot) updated under
SELECT … FOR UPDATE in one short transaction, so any number of workers on any number of machines
share one budget per number. On SQLite only one worker runs, so a lock in the process does.

Slots are wall-clock seconds since the epoch (they are compared across processes); tests pass
their own clock and sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

Clock = Callable[[], float]
Sleep = Callable[[float], None]

# A webhook must answer Twilio within seconds: texts sent while handling one (a STOP confirmation,
# a reply) wait at most this long for their slot, then go to Twilio's own queue for the number.
_max_wait: ContextVar[float | None] = ContextVar("duedesk_ratelimit_max_wait", default=None)


@contextmanager
def bounded_wait(seconds: float) -> Iterator[None]:
    token = _max_wait.set(seconds)
    try:
        yield
    finally:
        _max_wait.reset(token)


def _interval(rate: float | Decimal | None) -> float | None:
    """Seconds between sends, or None when the limit is off (no rate, or zero)."""
    if rate is None:
        return None
    rate = float(rate)
    return 1.0 / rate if rate > 0 else None


class _Limiter:
    def __init__(self, clock: Clock = time.time, sleep: Sleep = time.sleep) -> None:
        self.clock = clock
        self.sleep = sleep

    def reserve(self, sender: str, rate) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def acquire(self, sender: str, rate) -> float:
        """Wait for this sender's next slot; returns how many seconds were waited."""
        if _interval(rate) is None:
            return 0.0
        slot = self.reserve(sender, rate)
        wait = slot - self.clock()
        cap = _max_wait.get()
        if cap is not None:
            wait = min(wait, cap)
        if wait > 0:
            self.sleep(wait)
            return wait
        return 0.0


class InProcessLimiter(_Limiter):
    """For SQLite (one worker process): the slots live in memory, guarded by a lock."""

    def __init__(self, clock: Clock = time.time, sleep: Sleep = time.sleep) -> None:
        super().__init__(clock, sleep)
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def reserve(self, sender: str, rate) -> float:
        interval = _interval(rate)
        now = self.clock()
        if interval is None:
            return now
        with self._lock:
            slot = max(now, self._last.get(sender, float("-inf")) + interval)
            self._last[sender] = slot
            return slot


class DatabaseLimiter(_Limiter):
    """For PostgreSQL (many workers): one SenderSlot row per sender, locked for the reservation."""

    def reserve(self, sender: str, rate) -> float:
        from duedesk.channels.models import SenderSlot

        interval = _interval(rate)
        if interval is None:
            return self.clock()
        with transaction.atomic():
            row = SenderSlot.objects.select_for_update().filter(sender=sender).first()
            if row is None:
                try:
                    with transaction.atomic():
                        SenderSlot.objects.create(sender=sender, last_slot=0.0)
                except IntegrityError:
                    pass  # another worker created it first
                row = SenderSlot.objects.select_for_update().get(sender=sender)
            # Read the clock only once the row is ours: a slot is never earlier than its reservation.
            now = self.clock()
            slot = max(now, row.last_slot + interval)
            SenderSlot.objects.filter(pk=row.pk).update(last_slot=slot)
            return slot


_process_limiter: InProcessLimiter | None = None
_lock = threading.Lock()


def for_database() -> _Limiter:
    """The limiter that fits the configured database: shared rows on PostgreSQL, memory elsewhere."""
    global _process_limiter
    if connection.vendor == "postgresql":
        return DatabaseLimiter()
    with _lock:
        if _process_limiter is None:
            _process_limiter = InProcessLimiter()
        return _process_limiter
