"""Work done beside the engine's steps, run by the worker between batches: outbound webhooks, CRM syncs,
files of invoices uploaded in the browser and calendars. Each job catches its own errors: none of them stops
the worker."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

logger = logging.getLogger("duedesk.worker")


def _outbound_webhooks(now: datetime) -> None:
    from duedesk.integrations.webhooks import outbox

    outbox.tick(now)


def _crm_sync(now: datetime) -> None:
    """CRM pulls every few minutes per connection, and their outboxes drained (integrations/crm/sync.py)."""
    import os
    import socket

    from duedesk.integrations.crm.sync import run_due

    run_due(now, f"{socket.gethostname()}:{os.getpid()}")


def _uploads(now: datetime) -> None:
    """One uploaded file of invoices imported (intake/uploads.py); its page polls the progress."""
    import os
    import socket

    from duedesk.intake.uploads import run_next

    run_next(now, f"{socket.gethostname()}:{os.getpid()}")


def _calendars(now: datetime) -> None:
    """Promises and callbacks written to the connected Google and Outlook calendars."""
    import os
    import socket

    from duedesk.integrations.calendars import outbox

    outbox.tick(now, f"{socket.gethostname()}:{os.getpid()}")


JOBS: list[Callable[[datetime], None]] = [_outbound_webhooks, _crm_sync, _uploads, _calendars]


class Between:
    """Called after each batch; runs every job at most once per `every` seconds of real time."""

    def __init__(self, clock: Callable[[], datetime], every: float = 2.0):
        self.clock, self.every, self._last = clock, every, 0.0

    def __call__(self) -> None:
        if time.monotonic() - self._last < self.every:
            return
        self._last = time.monotonic()
        for job in JOBS:
            try:
                job(self.clock())
            except Exception:
                logger.exception("integration job %s failed; it runs again after the next batch", job.__name__)
