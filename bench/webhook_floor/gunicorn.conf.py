"""The bench's gunicorn settings: each worker says when it has loaded the application (duedesk.wsgi, which warms
the process) by leaving a file named by its pid in BENCH_READY_DIR, so the bench starts measuring once every
worker can answer, not once the first one can.

With BENCH_TRACE set, each worker also notes for every request when it started, how long it took inside the
worker, the CPU its thread spent, the time its queries took (sent to answered) and how many there were, the time its commits took; and
every garbage collection's pause. It writes them to BENCH_READY_DIR/trace-PID.json as it exits, for the bench to
say where a slow request's time went: its own Python, the database, or waiting for a core or the GIL (the rest)."""

import gc
import json
import os
import threading
import time
from pathlib import Path

_here = threading.local()
_requests: list = []  # (path, started, wall, thread CPU, query time, queries, commit time)
_collections: list = []  # (started, pause, generation)


def _timed(execute, sql, params, many, context):
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        _here.queries = getattr(_here, "queries", 0) + 1
        _here.query_time = getattr(_here, "query_time", 0.0) + time.perf_counter() - start


def _committed(commit):
    def timed(self):
        start = time.perf_counter()
        try:
            return commit(self)
        finally:
            _here.commit_time = getattr(_here, "commit_time", 0.0) + time.perf_counter() - start

    return timed


def _gc(phase, info, _start=[0.0]):  # noqa: B006 - the open collection's start, per process
    if phase == "start":
        _start[0] = time.perf_counter()
    else:
        _collections.append((time.time(), time.perf_counter() - _start[0], info["generation"]))


def post_worker_init(worker):
    ready = os.environ.get("BENCH_READY_DIR")
    if ready:
        (Path(ready) / str(worker.pid)).touch()
    if os.environ.get("BENCH_TRACE"):
        from django.db.backends.base.base import BaseDatabaseWrapper
        from django.db.backends.signals import connection_created

        def wrap(sender, connection, **kwargs):
            if _timed not in connection.execute_wrappers:  # a connection opened again keeps its wrapper
                connection.execute_wrappers.append(_timed)

        connection_created.connect(wrap, weak=False)
        BaseDatabaseWrapper._commit = _committed(BaseDatabaseWrapper._commit)
        gc.callbacks.append(_gc)


def pre_request(worker, req):
    _here.started, _here.wall, _here.cpu = time.time(), time.perf_counter(), time.thread_time()
    _here.queries, _here.query_time, _here.commit_time = 0, 0.0, 0.0


def post_request(worker, req, environ, resp):
    if os.environ.get("BENCH_TRACE"):
        _requests.append((req.path, _here.started, time.perf_counter() - _here.wall, time.thread_time() - _here.cpu,
                          _here.query_time, _here.queries, _here.commit_time))


def worker_exit(server, worker):
    ready = os.environ.get("BENCH_READY_DIR")
    if ready and os.environ.get("BENCH_TRACE"):
        (Path(ready) / f"trace-{worker.pid}.json").write_text(json.dumps({"requests": _requests,
                                                                          "collections": _collections}))
