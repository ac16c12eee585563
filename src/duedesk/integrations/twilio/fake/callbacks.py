"""Delivers the fake's webhooks: signed form POSTs, on worker threads or on flush().

Each resource (a message's status changes, a whole call) is one job, so its callbacks
arrive in order, while different resources proceed in parallel like on Twilio.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import httpx

from duedesk.integrations.twilio.signing import sign

Job = Callable[[], None]


class Dispatcher:
    def __init__(self, auth_token: str, mode: bool | str = True, workers: int = 4, timeout: float = 15.0):
        self.auth_token = auth_token
        self.mode = mode  # True: background threads; "manual": run on flush(); False: drop
        self.log: list[dict] = []  # every webhook sent: url, params, status (None if unreachable)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._manual: list[Job] = []
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._workers = workers
        self._http = httpx.Client(timeout=timeout, headers={"User-Agent": "TwilioProxy/1.1"})

    def start(self) -> None:
        if self.mode is True and not self._threads:
            for i in range(self._workers):
                t = threading.Thread(target=self._run, name=f"fake-twilio-callbacks-{i}", daemon=True)
                t.start()
                self._threads.append(t)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()
        self._http.close()

    def submit(self, job: Job) -> None:
        if self.mode is False:
            return
        with self._lock:
            self._pending += 1
            if self.mode == "manual":
                self._manual.append(job)
                return
        self._queue.put(job)

    def flush(self) -> int:
        """Run queued jobs (and any they queue) on this thread. Returns how many ran."""
        ran = 0
        while True:
            with self._lock:
                if not self._manual:
                    return ran
                job = self._manual.pop(0)
            self._execute(job)
            ran += 1

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    def post(self, url: str, params: dict[str, str | list[str]]) -> httpx.Response | None:
        """POST a signed webhook exactly as Twilio would; None if the app could not be reached."""
        headers = {"X-Twilio-Signature": sign(self.auth_token, url, params)}
        entry: dict = {"url": url, "params": dict(params), "status": None}
        try:
            response = self._http.post(url, data=params, headers=headers)
            entry["status"] = response.status_code
        except httpx.HTTPError as exc:
            entry["error"] = repr(exc)
            response = None
        with self._lock:
            self.log.append(entry)
        return response

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._execute(job)

    def _execute(self, job: Job) -> None:
        try:
            job()
        except Exception as exc:  # a broken job must not wedge wait_idle()
            with self._lock:
                self.log.append({"url": None, "params": {}, "status": None, "error": repr(exc)})
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
