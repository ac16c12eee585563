"""Messages per second per sender, holding across every worker process.

The promise: over ANY one-second window, Twilio receives at most `rate` texts from one sender,
counted when they ARRIVE there, while the long-run pace stays within a few percent of `rate`.

Each send reserves the next free slot for its sender, slot = max(now, last slot + interval), sleeps
until it, and sends. A request reaches Twilio some time after its slot (the sleep wakes late on a
busy machine, the request takes time to travel), and that delay varies: a send that is late bunches
up with the ones after it. So:

- slots are spaced interval = (1 + GUARD) / rate apart: any `rate` consecutive slots span
  1 + GUARD seconds, and a send arriving up to GUARD seconds after its slot can't put rate + 1
  arrivals into one second (the pace is rate / (1 + GUARD), about 97% of it);
- a send that finished more than GUARD after its slot (its arrival may have been that late) pushes
  the sender's later slots back by the excess, so the slots after it keep their distance from it.

Arrival lies between the slot and the moment Twilio's answer came back, so the bound holds for any
delay up to MAX_PUSH (a second): longer is a request hanging until it times out, and it pushes the
sender back one second, not its whole timeout.

On PostgreSQL the last slot is a row (channels.SenderSlot) updated under SELECT … FOR UPDATE in one
short transaction, so any number of workers on any number of machines share one budget per number.
On SQLite only one worker process runs, so a lock in the process does.

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
from django.db.models import F

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


GUARD = 0.03  # seconds a send may take from its slot to Twilio before it pushes later slots back
MAX_PUSH = 1.0  # a send that hangs (a timeout) pushes back at most this much, not its whole timeout


def _interval(rate: float | Decimal | None) -> float | None:
    """Seconds between slots, or None when the limit is off (no rate, or zero)."""
    if rate is None:
        return None
    rate = float(rate)
    return (1.0 + GUARD) / rate if rate > 0 else None


class _Limiter:
    def __init__(self, clock: Clock = time.time, sleep: Sleep = time.sleep) -> None:
        self.clock = clock
        self.sleep = sleep

    def reserve(self, sender: str, rate) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def postpone(self, sender: str, seconds: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def acquire(self, sender: str, rate) -> float:
        """Wait for this sender's next slot; returns how many seconds were waited."""
        return self._wait(sender, rate)[1]

    def _wait(self, sender: str, rate) -> tuple[float | None, float]:
        if _interval(rate) is None:
            return None, 0.0
        slot = self.reserve(sender, rate)
        wait = slot - self.clock()
        cap = _max_wait.get()
        if cap is not None:
            wait = min(wait, cap)
        if wait > 0:
            self.sleep(wait)
            return slot, wait
        return slot, 0.0

    @contextmanager
    def pace(self, sender: str, rate) -> Iterator[float]:
        """Wait for the sender's next slot, send inside the block; a send that reached the provider
        later than GUARD after its slot moves the sender's later slots back by the excess."""
        slot, waited = self._wait(sender, rate)
        try:
            yield waited
        finally:
            if slot is not None:
                late = self.clock() - slot - GUARD
                if late > 0:
                    self.postpone(sender, min(late, MAX_PUSH))


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

    def postpone(self, sender: str, seconds: float) -> None:
        with self._lock:
            self._last[sender] = self._last.get(sender, self.clock()) + seconds


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

    def postpone(self, sender: str, seconds: float) -> None:
        from duedesk.channels.models import SenderSlot

        # One statement: atomic against concurrent reservations, without holding the row.
        SenderSlot.objects.filter(sender=sender).update(last_slot=F("last_slot") + seconds)


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
