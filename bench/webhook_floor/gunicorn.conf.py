"""The bench's gunicorn settings: each worker says when it has loaded the application (duedesk.wsgi, which warms
the process) by leaving a file named by its pid in BENCH_READY_DIR, so the bench starts measuring once every
worker can answer, not once the first one can."""

import os
from pathlib import Path


def post_worker_init(worker):
    ready = os.environ.get("BENCH_READY_DIR")
    if ready:
        (Path(ready) / str(worker.pid)).touch()
