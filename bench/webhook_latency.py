"""Webhook latency under gunicorn: 50 concurrent clients posting signed Twilio webhooks.

Each client is one conversation (a patient texting, a call in progress) and sends at a human pace:
one request every --interval seconds (default 1.0, jittered), so 50 clients are 50 live calls.
--interval 0 turns it into a closed loop that measures the most the machine can take.

Inbound texts (/hooks/twilio/sms, a HELP text: keyword, the reply recorded and given back as TwiML <Message>) and
call turns (/hooks/twilio/voice/turn, a spoken question on a call in progress: understood and answered), each
signed exactly as Twilio signs. Prints p50/p99 per endpoint. Runs on PostgreSQL only (a scratch
database beside DUEDESK_TEST_POSTGRES_URL, dropped after); skipped when that is not set.

Each run also reports the CPU the web workers and the database's backends spent per request (Linux), which
the machine's other load moves far less than it moves latency, and what the database's backends serving them
were doing (sampled from pg_stat_activity: running, waiting for a lock, for the disk, or for the web worker
between two statements). --trace adds, from inside the workers, what the slowest 1% of each run's requests spent
their time on (their own CPU, their queries, their commit, waiting for the GIL or a core) and the garbage
collector's pauses.

The machine is shared and its load moves the figures by an order of magnitude, so each run also measures a
signed webhook that does nothing but find its organization, check the signature and answer empty TwiML
(bench/webhook_floor), and prints each webhook's p50/p99 as a ratio to that floor, measured in the same run.
Every run sends new texts (new MessageSids) and new call turns (new turn numbers), never a retry.

    python bench/webhook_latency.py [--clients 50] [--requests 20] [--workers 2] [--trace] [--no-waits]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DUEDESK_DATA_DIR", tempfile.mkdtemp(prefix="duedesk-bench-"))
os.environ.setdefault("DUEDESK_SECRET_KEY", "bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")
os.environ["DUEDESK_LOG_LEVEL"] = "WARNING"

TOKEN = "bench-token"
SID = "AC" + "be" * 16
CLINIC = "+12125550199"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(clients: int, public_url: str):
    from datetime import UTC, datetime

    from duedesk.conversations import calls as conversation
    from duedesk.engine import definitions
    from duedesk.integrations.twilio import webhooks
    from duedesk.records.models import Call, Contact, Invoice, Organization

    now = datetime.now(UTC)
    org = Organization.objects.create(slug="bench", name="Maple Clinic", callback_number="+12125550100",
                                      twilio_account_sid=SID, sms_from=CLINIC, voice_caller_id=CLINIC,
                                      sms_per_second=0)  # the webhook, not the per-number pacing
    definitions.ensure_default(org)
    contacts, calls = [], []
    for i in range(clients):
        contact = Contact.objects.create(organization=org, first_name="Maria", last_name=f"L{i}",
                                         phone=f"+1415555{i:04d}", language="en")
        invoice = Invoice.objects.create(organization=org, contact=contact, external_ref=f"B{i}",
                                         amount_due=120, balance=120, due_date=now.date())
        call = Call.objects.create(organization=org, contact=contact, invoice=invoice, to=contact.phone,
                                   sender=CLINIC, status="ringing", provider_id=f"CA{i:032d}", created_at=now)
        conversation.answered(call.pk, now)
        contacts.append(contact)
        calls.append(call)
    del webhooks
    return [c.phone for c in contacts], [c.pk for c in calls]


replies: list[int] = []  # <Message> replies per measured text (one each: the HELP answer)
# Measured call turns answered without a question (no <Gather>): each call gives up after 20 of the patient's turns
# (core/dialog/machine.py: a handoff, a flushed commit), so the 21st turn of every call and every turn after it (the
# closed loop's) is one; their times, reported apart and still counted in the turns' p50/p99.
ended: list[float] = []


def _client(kind, index, phones, calls, requests, base, out, barrier, interval=0.0, run=0):
    import random

    import httpx

    from duedesk.integrations.twilio.signing import sign

    pace = random.Random(index)
    with httpx.Client(timeout=30) as http:
        barrier.wait()
        if interval:
            time.sleep(pace.uniform(0, interval))  # callers don't all speak at the same instant
        for n in range(requests + 1):  # the first request of each client warms its connection, unmeasured
            seq = run * (requests + 1) + n  # each run's texts and turns are new ones, not Twilio's retries
            if kind in ("sms", "floor"):
                path = "/hooks/twilio/sms" if kind == "sms" else "/hooks/bench/floor"
                params = {"MessageSid": f"SM{index:08d}{seq:024d}", "AccountSid": SID, "From": phones[index],
                          "To": CLINIC, "Body": "HELP", "NumMedia": "0"}
            else:
                path = f"/hooks/twilio/voice/turn?call={calls[index]}&n={seq + 1}"
                # A question in speech: understanding, the script's answer and a new question each turn.
                params = {"CallSid": f"CA{index:032d}", "AccountSid": SID, "CallStatus": "in-progress",
                          "SpeechResult": "sorry who is calling", "Confidence": "0.91"}
            url = base + path
            headers = {"X-Twilio-Signature": sign(TOKEN, url, params)}
            start = time.perf_counter()
            try:
                response = http.post(url, data=params, headers=headers)
            except httpx.TransportError:
                # The connection dropped (on a loaded machine gunicorn may close a kept-alive one just as it is
                # reused): counted as a failed request (status 0) with the time it took, and the client goes on.
                response = None
            took = time.perf_counter() - start
            if n:
                out.append((took, response.status_code if response is not None else 0))
            if n and response is not None:
                if kind == "sms":
                    replies.append(response.text.count("<Message"))
                elif kind == "turn" and "<Gather" not in response.text:
                    ended.append(took)
            if interval:
                time.sleep(max(0.0, pace.uniform(0.5 * interval, 1.5 * interval) - took))


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process so far (Linux /proc), None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (proc(5): 14, 15)


def _workers(master: int) -> list[int]:
    """gunicorn's worker processes (the master's children)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


class Cpu:
    """CPU spent per request by the web workers and by the database's backends serving them, which the
    machine's other load moves far less than it moves latency. Linux only; a backend whose connection closed
    during the run takes its CPU with it (a lower bound, then)."""

    def __init__(self, master: int, database: str, admin):
        self.master, self.database, self.admin = master, database, admin
        self.web = self.db = None

    def _used(self) -> tuple[dict, dict]:
        backends = [row[0] for row in self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))]
        return ({pid: _cpu_seconds(pid) for pid in _workers(self.master)},
                {pid: _cpu_seconds(pid) for pid in backends})

    def __enter__(self):
        self.before = self._used() if Path("/proc/self/stat").exists() else None
        return self

    def __exit__(self, *exc):
        if self.before is None:
            return
        after = self._used()
        self.web, self.db = (sum(used - (was.get(pid) or 0.0) for pid, used in now.items() if used is not None)
                             for was, now in zip(self.before, after, strict=True))

    def per_request(self, n: int) -> str:
        if self.web is None or not n:
            return ""
        return f", CPU per request: web {self.web / n * 1000:.1f} ms, database {self.db / n * 1000:.1f} ms"


class Waits:
    """What the database's backends serving the webhooks were doing, sampled from pg_stat_activity every
    `every` seconds during a run: of the samples where a backend was inside a statement or a transaction, how
    many found it running, waiting for a lock (and on which), for the disk (WALSync: a commit's flush) or for
    the client (the web worker's Python between two statements). A stall that CPU per request does not show
    (one transaction waiting on another's row, a commit waiting on the disk) shows here."""

    def __init__(self, url: str, database: str, every: float = 0.02):
        self.url, self.database, self.every = url, database, every
        self.seen: dict[str, int] = {}
        self.samples = 0

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            query = ("SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = %s"
                     " AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid()")
            while not self.stop.wait(self.every):
                self.samples += 1
                for state, kind, event in conn.execute(query, (self.database,)):
                    what = ("in transaction, waiting for the web worker" if state == "idle in transaction"
                            else f"{kind}:{event}" if kind else "running")
                    self.seen[what] = self.seen.get(what, 0) + 1

    def __enter__(self):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def report(self) -> str:
        busy = sum(self.seen.values())
        if not busy:
            return f"        database: nothing in flight in {self.samples} samples"
        top = sorted(self.seen.items(), key=lambda kv: -kv[1])[:6]
        return (f"        database, {self.samples} samples every {self.every * 1000:.0f} ms, backends in flight "
                f"{busy / self.samples:.2f} on average: "
                + ", ".join(f"{what} {n / busy:.0%}" for what, n in top))


def _run(kind, clients, requests, base, phones, calls, interval=0.0, run=0, floor=None, cpu=None, waits=None):
    out: list = []
    barrier = threading.Barrier(clients)
    threads = [threading.Thread(target=_client, args=(kind, i, phones, calls, requests, base, out, barrier,
                                                      interval, run))
               for i in range(clients)]
    started = time.perf_counter()
    with cpu or contextlib.nullcontext() as used, waits or contextlib.nullcontext() as sampled:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = time.perf_counter() - started
    times = sorted(t for t, _ in out)
    bad = sum(1 for _, status in out if status != 200)
    p50 = statistics.median(times) * 1000
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
    mode = f"every ~{interval:g} s" if interval else "closed loop"
    ratio = f", {p50 / floor[0]:.1f}x / {p99 / floor[1]:.1f}x the floor" if floor else ""
    print(f"{kind:>5} ({mode}): {len(out)} requests from {clients} clients in {elapsed:.1f} s ({len(out) / elapsed:.0f}/s), "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms{ratio}, non-200 (0: the connection dropped): {bad}"
          f"{used.per_request(len(times) + clients) if used else ''}", flush=True)
    if kind == "turn" and ended:
        gone = sorted(ended)
        print(f"        of which {len(gone)} answered without a question (the script gives a call up after 20 of the "
              f"patient's turns, to a person, and then has ended it), p50 {statistics.median(gone) * 1000:.0f} ms, "
              f"max {gone[-1] * 1000:.0f} ms", flush=True)
        ended.clear()
    if sampled:
        print(sampled.report(), flush=True)
    return p50, p99


def _traced(ready: Path, windows) -> None:
    """Where the requests' time went inside the workers (--trace): per run, the p50 and p99 of the time a
    request spent in its worker, and for the slowest 1% what it was made of on average: its thread's CPU, its
    queries (sent to answered), its commit (the write-ahead log's flush, when it is waited for) and the rest
    (waiting for a core or for the GIL while other threads run Python); the garbage collector's pauses."""
    import json

    requests, collections = [], []
    for trace in ready.glob("trace-*.json"):
        data = json.loads(trace.read_text())
        requests += data["requests"]
        collections += data["collections"]
    print("inside the workers (--trace):")
    for kind, interval, start, end in windows:
        mine = sorted((r for r in requests if start <= r[1] <= end), key=lambda r: r[2])
        if not mine:
            continue
        slow = mine[int(len(mine) * 0.99):]
        wall, cpu, db, commit = (statistics.mean(r[i] for r in slow) * 1000 for i in (2, 3, 4, 6))
        pauses = [c[1] for c in collections if start <= c[0] <= end]
        mode = f"every ~{interval:g} s" if interval else "closed loop"
        print(f"{kind:>5} ({mode}): in the worker p50 {mine[len(mine) // 2][2] * 1000:.0f} ms, "
              f"p99 {mine[int(len(mine) * 0.99)][2] * 1000:.0f} ms; slowest 1%: {wall:.0f} ms = CPU {cpu:.0f} + "
              f"queries {db:.0f} + commit {commit:.0f} + the rest {wall - cpu - db - commit:.0f} ms "
              f"({statistics.mean(r[5] for r in slow):.0f} queries); "
              f"collections: {len(pauses)}, {sum(pauses) * 1000:.0f} ms in all, longest "
              f"{max(pauses, default=0) * 1000:.1f} ms", flush=True)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between a client's requests")
    parser.add_argument("--trace", action="store_true",
                        help="the workers note each request's CPU, query time and the collector's pauses, and the "
                             "bench says where the slowest requests' time went (bench/webhook_floor/gunicorn.conf.py)")
    parser.add_argument("--no-waits", dest="waits", action="store_false",
                        help="don't sample what the database's backends wait on (pg_stat_activity, 50 times a second)")
    args = parser.parse_args()
    base_db = os.environ.get("DUEDESK_TEST_POSTGRES_URL")
    if not base_db:
        print("webhook latency: skipped (set DUEDESK_TEST_POSTGRES_URL; gunicorn needs a shared database)")
        return
    import psycopg

    scratch = f"duedesk_bench_hooks_{os.getpid()}"
    admin = psycopg.connect(base_db, autocommit=True)
    admin.execute(f'CREATE DATABASE "{scratch}"')
    db_url = base_db.rsplit("/", 1)[0] + "/" + scratch
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DUEDESK_DATABASE_URL": db_url, "DUEDESK_PUBLIC_URL": base,
           "DUEDESK_TWILIO_AUTH_TOKEN": TOKEN, "DUEDESK_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    os.environ.update({k: env[k] for k in ("DUEDESK_DATABASE_URL", "DUEDESK_PUBLIC_URL", "DUEDESK_TWILIO_AUTH_TOKEN")})
    server = None
    fake = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        phones, calls = _seed(args.clients, base)
        from django.db import connections

        connections.close_all()
        # Replies (the HELP answer) go to a fake Twilio over loopback, as they would go to Twilio.
        from duedesk.integrations.twilio.fake import FakeTwilio

        fake = FakeTwilio(account_sid=SID, auth_token=TOKEN, callbacks=False).start()
        ready = Path(tempfile.mkdtemp(prefix="duedesk-bench-ready-"))
        booted = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "duedesk.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--threads", "4", "--log-level", "warning",
             "--pythonpath", str(ROOT / "bench"), "--config", str(ROOT / "bench/webhook_floor/gunicorn.conf.py")],
            env={**env, "DUEDESK_TWILIO_BASE_URL": fake.base_url, "DJANGO_SETTINGS_MODULE": "webhook_floor.settings",
                 "BENCH_READY_DIR": str(ready), **({"BENCH_TRACE": "1"} if args.trace else {})},
            cwd=str(ROOT),
        )
        # Measured once every worker has loaded the application (which warms it: duedesk/warm.py), as a
        # deployment's workers are long before a patient texts; nothing else is sent before the runs.
        deadline = time.monotonic() + 300
        while len(list(ready.iterdir())) < args.workers:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.1)
        print(f"gunicorn: {args.workers} workers x 4 threads, PostgreSQL, workers ready in "
              f"{time.perf_counter() - booted:.1f} s; load average {_load()}", flush=True)
        modes = [args.interval, 0.0] if args.interval else [0.0]
        def cpu():
            return Cpu(server.pid, scratch, admin)

        def waits():
            return Waits(base_db, scratch) if args.waits else None

        windows = []  # (kind, interval, started, ended): what --trace's notes are sorted by
        for run, interval in enumerate(modes):
            floor = None
            for kind in ("floor", "sms", "turn"):
                started = time.time()
                result = _run(kind, args.clients, args.requests, base, phones, calls, interval, run, floor, cpu(),
                              waits())
                floor = floor or result
                windows.append((kind, interval, started, time.time()))
        print(f"load average after: {_load()}")
        print(f"replies given back as TwiML <Message>: {sum(replies)} for {len(replies)} texts; "
              f"texted through Twilio's REST API from a webhook: {len(fake.messages)}")
        server.terminate()
        server.wait(timeout=30)
        if args.trace:
            _traced(ready, windows)
    finally:
        if fake is not None:
            fake.stop()
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
