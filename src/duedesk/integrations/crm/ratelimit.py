"""Requests per window for one CRM connection, shared by the threads of a process.

A sliding log of request times: a request waits until fewer than `limit` were made in the last
`window` seconds. HubSpot counts per 10 seconds, Pipedrive per 2 seconds (its token budget); the
connection says which. A 429 still reaches the caller (another process may share the budget), and the
outbox honours its Retry-After."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimit:
    def __init__(self, limit: int, window: float, clock=time.monotonic, sleep=time.sleep):
        self.limit, self.window = max(1, int(limit)), float(window)
        self.clock, self.sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self.clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                wait = self._sent[0] + self.window - now
            self.waited += wait
            self.sleep(wait)


_limits: dict[tuple, RateLimit] = {}
_limits_lock = threading.Lock()


def for_connection(connection_id: int, limit: int, window: float) -> RateLimit:
    key = (connection_id, limit, window)
    with _limits_lock:
        if key not in _limits:
            _limits[key] = RateLimit(limit, window)
        return _limits[key]
