"""Run one worker until there is nothing left, on a fixed clock (used by the multi-process test)."""

import os
import sys
from datetime import datetime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")

import django  # noqa: E402

django.setup()

from duedesk.channels.registry import simulated  # noqa: E402
from duedesk.engine.worker import Worker  # noqa: E402

if __name__ == "__main__":
    now = datetime.fromisoformat(sys.argv[1])
    transports = simulated(lambda: now)
    worker = Worker(lambda org: transports, clock=lambda: now, batch=int(sys.argv[2]) if len(sys.argv) > 2 else 50,
                    worker_id=f"proc-{os.getpid()}")
    print(worker.run_until_idle(max_ticks=100_000))
