"""Settling a batch's accepted sends while the next batch is checked and recorded.

A batch of due texts is two halves of about equal weight in the database: before the provider (the gate's
reads, the messages, the steps marked `sending`) and after it (the provider ids, the events, the steps done,
the next steps). A worker on PostgreSQL settles each batch on a thread of its own, with its own database
connection, while its main thread goes on to the next batch: the database works on one half while the
worker's Python works on the other. One settling at a time: the next waits for the one before.

Nothing about a send changes. The rows being settled are `sending` and leased to this worker (the heartbeat
renews them; `in_flight` keeps the worker from handing them back as leftovers); a settling that fails (a
dropped connection) leaves them `sending`, and the worker hands them to recovery, which finds them at the
provider by our key, as after a crash. On SQLite (one writer at a time) and in tests, the settling runs in
line, as before.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from django.db import connection

logger = logging.getLogger("duedesk.worker")


class Settler:
    def __init__(self, settle: Callable[..., None], background: bool = False):
        self._settle = settle
        self.background = background
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._in_flight: list[int] = []

    def submit(self, sent: list, *args) -> None:
        """Settle these sends: at once in line, or on the settling thread once the one before is done."""
        if not self.background:
            self._settle(sent, *args)
            return
        self.wait()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="duedesk-settler", daemon=True)
            self._thread.start()
        self._in_flight = [s.step.pk for s in sent]
        self._idle.clear()
        self._jobs.put((sent, args))

    def wait(self) -> None:
        """Until nothing is being settled."""
        self._idle.wait()

    def busy(self) -> bool:
        return not self._idle.is_set()

    def in_flight(self) -> list[int]:
        """The steps being settled now: `sending`, leased to this worker, not leftovers."""
        return list(self._in_flight)

    def close(self) -> None:
        """Finish what is being settled and end the thread (and its database connection)."""
        if self._thread is not None and self._thread.is_alive():
            self.wait()
            self._jobs.put(None)
            self._thread.join()
        self._thread = None

    def _loop(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                sent, args = job
                try:
                    self._settle(sent, *args)
                except Exception:
                    # Left `sending` and leased to us: the worker hands them to recovery once they are no
                    # longer in flight. A broken connection is closed; the next settling opens a new one.
                    logger.warning("settling %d sends failed; they are handed to recovery", len(sent),
                                   exc_info=True)
                    _close_quietly()
                finally:
                    self._in_flight = []
                    self._idle.set()
        finally:
            _close_quietly()


def _close_quietly() -> None:
    try:
        connection.close()
    except Exception:  # closing a dead connection can raise too; it is gone either way
        logger.debug("closing the settling thread's connection raised", exc_info=True)
