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
  the sender's later slots back by the excess, so the slots after it keep their distance from it:
  the next slot comes no sooner than one interval after (its slot + the excess). This is a floor, not a
  sum: sends of several workers late at the same time push back to the latest of them, not one after
  the other (a sum would let four workers whose requests take 150 ms send 7 texts a second together).

Arrival lies between the slot and the moment Twilio's answer came back, so the bound holds for any
delay up to MAX_PUSH (a second): longer is a request hanging until it times out, and it pushes the
sender back one second, not its whole timeout.

On PostgreSQL the last slot is a row (channels.SenderSlot) moved by one UPDATE … RETURNING (the row is
locked for that statement only), so any number of workers on any number of machines share one budget
per number. A late send's push back rides along with its process's next reservation for the sender.
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

from django.db import connection

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

    def push_back(self, sender: str, until: float) -> None:  # pragma: no cover - abstract
        """The sender's next slot comes no sooner than one interval after `until`."""
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
                    self.push_back(sender, slot + min(late, MAX_PUSH))


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

    def push_back(self, sender: str, until: float) -> None:
        with self._lock:
            self._last[sender] = max(self._last.get(sender, until), until)


class DatabaseLimiter(_Limiter):
    """For PostgreSQL (many workers): one SenderSlot row per sender, moved by one statement per send."""

    def reserve(self, sender: str, rate) -> float:
        interval = _interval(rate)
        now = self.clock()
        if interval is None:
            return now
        # One statement: the row is locked only while it runs (four statements in a transaction held it
        # for four round trips, and every other worker's send waited on it). `now` may be a moment old when
        # the row comes free: the slot is still an interval after the last one, and a send that starts late
        # counts as late (pace() above).
        # A push back this process owes the sender (a late send of ours) rides along: no statement of its own.
        with _floors_lock:
            floor = _floors.pop(sender, now - interval)
        greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"  # SQLite: tests only
        for _ in range(2):
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE channels_senderslot SET last_slot = {greatest}(%s, last_slot + %s, %s) "
                               "WHERE sender = %s RETURNING last_slot", [now, interval, floor + interval, sender])
                row = cursor.fetchone()
                if row is not None:
                    return row[0]
                cursor.execute("INSERT INTO channels_senderslot (sender, last_slot) VALUES (%s, 0) "
                               "ON CONFLICT (sender) DO NOTHING", [sender])
        raise RuntimeError(f"no rate-limit row for {sender}")  # pragma: no cover - made just above

    def push_back(self, sender: str, until: float) -> None:
        """Kept until this process's next reservation for the sender, which applies it in its own statement
        (a late send is followed by the next one at once; a statement per late send cost a round trip each,
        and on a busy machine nearly every send is late). A process that stops sending owes nothing."""
        with _floors_lock:
            _floors[sender] = max(_floors.get(sender, until), until)


_floors: dict[str, float] = {}  # sender -> the floor this process's late sends set (DatabaseLimiter.push_back)
_floors_lock = threading.Lock()


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
