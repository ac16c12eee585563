"""Chaos on PostgreSQL: workers killed, connections cut, Twilio failing, invoices paid mid-send.

10,000 due texts go to the local fake Twilio with its de-dup guard off (as real Twilio: a request sent
twice is two texts), through 4 `duedesk worker` processes (batches of 50; the sender's rate 150/s).
Once they are all at work, for 45 s a random worker at work (not one still starting) is killed with
SIGKILL every 1-2 s and replaced, the workers' database connections are terminated twice, and 200
invoices whose text is not out yet are marked paid (the engine's own action); all along, the fake
answers one request in 40 with 429 or 500, or accepts a text and answers after the worker's timeout.
Then it waits until nothing is due or in flight, stops the workers with SIGTERM and counts:

  texts_at_provider  texts the fake received      distinct_keys   distinct idempotency keys among them
  sms_sent_events    `sms.sent` on the timeline   expected_texts  due texts minus the paid ones stopped in time
  steps_lost         due texts neither sent nor stopped by the payment (still pending/in flight, failed...)
  texted_after_paid  texts that reached the fake after their invoice's payment had committed, the text not
                     handed over yet then (paid_after_handover counts those that were: `sending`)
  worker_exits       workers that ended other than by our SIGKILL (a crash, or an error exit on SIGTERM)
  max_stranded_s     the longest a killed worker's steps stayed leased to it before a peer took them back
                     (also: max_stranded_sending_s for its `sending` rows, which wait for a lookup;
                     max_stranded_with_a_peer_s counting only the time some worker was at work, and
                     longest_without_a_worker_s: on a starved machine every worker may be killed or
                     still starting, and then nobody can take anything back)

Targets: texts_at_provider = distinct_keys = sms_sent_events = expected_texts; steps_lost 0;
texted_after_paid 0; worker_exits 0; max_stranded_s < 30.

    python bench/chaos.py [--json] [--texts 10000] [--workers 4] [--seconds 45] [--rate 150] [--paid 200]

PostgreSQL from DUEDESK_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test); a scratch
database is created beside it and dropped after. It takes minutes (`make chaos`; not part of `make bench`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DUEDESK_DATA_DIR", tempfile.mkdtemp(prefix="duedesk-chaos-"))
os.environ.setdefault("DUEDESK_SECRET_KEY", "bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")
os.environ["DUEDESK_LOG_LEVEL"] = "WARNING"

APP_NAME = "duedesk-chaos-worker"  # the workers' connections, as pg_stat_activity shows them
SENDER = "+12125550199"
TWILIO_TIMEOUT = "2"  # seconds: a reply delayed past it is a timeout after Twilio accepted the text
SLOW_REPLY = 3.0
FAULT_EVERY = 40  # requests to the fake between injected faults (429, 500, or a reply after the timeout)


def local_noon_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now, so the send window is open wherever this runs."""
    offset = 12 - now.hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


class Workers:
    """The `duedesk worker` processes: started, killed, replaced, and watched for exits of their own."""

    def __init__(self, env: dict, logs: Path, batch: int):
        self.env, self.logs, self.batch = env, logs, batch
        self.procs: list[subprocess.Popen] = []
        self.killed_at: dict[str, float] = {}  # worker id -> monotonic time of our SIGKILL
        self.id_of: dict[int, str] = {}  # pid -> the worker id it logged (host:machine:pid:token)
        self.exits: list[tuple[int, int]] = []  # (pid, returncode) of exits we did not cause
        self.started = 0
        self.log_of: dict[int, Path] = {}
        self.spawned: dict[int, float] = {}
        self.ready_at: dict[int, float] = {}

    def start(self) -> None:
        self.started += 1
        path = self.logs / f"worker-{self.started}.log"
        log = open(path, "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "duedesk", "worker", "--batch", str(self.batch)],
                                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.log_of[proc.pid] = path
        self.spawned[proc.pid] = time.monotonic()
        self.procs.append(proc)

    def at_work(self) -> list[subprocess.Popen]:
        """Workers past their start (Python, Django, the first connection take seconds on a busy machine)."""
        for proc in self.procs:
            if proc.pid not in self.ready_at:
                started = re.search(r"worker (\S+) started", self.log_of[proc.pid].read_text(errors="replace"))
                if started:
                    self.ready_at[proc.pid] = time.monotonic()
                    self.id_of[proc.pid] = started.group(1)
        return [proc for proc in self.procs if proc.pid in self.ready_at]

    def kill_one(self, rng: random.Random) -> bool:
        working = self.at_work()
        if not working:
            return False
        victim = rng.choice(working)
        victim.send_signal(signal.SIGKILL)
        self.killed_at[self.id_of[victim.pid]] = time.monotonic()
        victim.wait()  # reaped at once: a zombie would still look alive to its peers
        self.procs.remove(victim)
        self.start()
        return True

    def check(self) -> None:
        for proc in list(self.procs):
            if proc.poll() is not None:
                self.exits.append((proc.pid, proc.returncode))
                self.procs.remove(proc)
                self.start()

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            if code != 0:
                self.exits.append((proc.pid, code))
        self.procs = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=45.0, help="how long the kills go on")
    parser.add_argument("--rate", type=float, default=150.0, help="texts per second for the sender number")
    parser.add_argument("--paid", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50, help="steps a worker claims at a time")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--trace", action="store_true", help="progress on standard error every 2 s")
    parser.add_argument("--max-wait", type=float, default=1200.0, help="seconds to wait for idle after the kills")
    args = parser.parse_args()

    import psycopg

    base = os.environ.get("DUEDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    scratch = f"duedesk_chaos_{os.getpid()}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{scratch}"')
    url = base.rsplit("/", 1)[0] + "/" + scratch
    os.environ["DUEDESK_DATABASE_URL"] = url
    try:
        report = run(args, url, scratch)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>24}: {value}")


def run(args, url: str, scratch: str) -> dict:
    import django

    django.setup()
    import psycopg
    from django.core.management import call_command
    from django.db.models import Count, Q

    from duedesk.engine import actions
    from duedesk.engine.models import Step
    from duedesk.integrations.twilio.fake import FakeTwilio
    from duedesk.records.models import Contact, Event, Invoice, Organization
    from duedesk.simulate.load import seed_due_texts

    rng = random.Random(args.seed)
    call_command("migrate", verbosity=0)
    now = datetime.now(UTC)
    org = seed_due_texts(args.texts, now - timedelta(seconds=1), slug="chaos")
    Organization.objects.filter(pk=org.pk).update(
        sms_from=SENDER, sms_per_second=args.rate, window_days="mon-sun")
    Contact.objects.filter(organization=org).update(timezone=local_noon_zone(now))
    phone_of = dict(Invoice.objects.filter(organization=org).values_list("pk", "contact__phone"))
    due_ids = set(Step.objects.filter(organization=org, step_id="heads_up").values_list("pk", flat=True))

    logs = Path(tempfile.mkdtemp(prefix="duedesk-chaos-logs-"))
    fake = FakeTwilio(callbacks=False, dedupe=False).start()
    env = {**os.environ, "DUEDESK_DATABASE_URL": url, "PGAPPNAME": APP_NAME, "DUEDESK_LOG_LEVEL": "INFO",
           "DUEDESK_TWILIO_ACCOUNT_SID": fake.account_sid, "DUEDESK_TWILIO_AUTH_TOKEN": fake.auth_token,
           "DUEDESK_TWILIO_BASE_URL": fake.base_url, "DUEDESK_TWILIO_TIMEOUT": TWILIO_TIMEOUT}
    workers = Workers(env, logs, args.batch)
    paid: dict[int, datetime] = {}  # invoice -> a moment just after its payment committed
    handed_over: set[int] = set()  # paid invoices whose text was already with the provider (`sending`)
    held_seen: dict[str, float] = {}  # killed worker -> last time rows were still leased to it
    held_sending: dict[str, float] = {}  # the same, for rows in `sending` (they wait for a lookup)
    alone = {"since": None, "longest": 0.0}  # stretches with no worker at work (all killed or starting)
    with_peer: dict[str, float] = {}  # killed worker -> seconds its rows stayed leased while a peer was at work
    terminations = cuts = 0
    try:
        for _ in range(args.workers):
            workers.start()
        wait_connected(url, scratch, args.workers)  # the chaos starts once every worker is connected
        started = time.monotonic()
        kill_at = started + rng.uniform(1, 2)
        cut_at = [started + args.seconds * 0.3, started + args.seconds * 0.7]
        pay_every = args.seconds * 0.8 / max(args.paid, 1)
        pay_at = started
        fault_at = FAULT_EVERY
        watch_at = trace_at = last_watch = started
        idle_polls = 0
        while True:
            t = time.monotonic()
            chaos = t - started < args.seconds
            if chaos and t >= kill_at:
                # A random worker among those at work; if all are still starting, a little later.
                kill_at = t + (rng.uniform(1, 2) if workers.kill_one(rng) else 0.2)
            if cut_at and t >= cut_at[0]:
                with psycopg.connect(url, autocommit=True) as admin:
                    cut = admin.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = %s AND application_name = %s", [scratch, APP_NAME]).fetchone()[0]
                terminations += cut
                if cut:
                    cut_at.pop(0)
                    cuts += 1
                else:  # nobody connected at this instant: try again shortly
                    cut_at[0] = t + 0.2
            counters = fake.counters  # API requests only: line type lookups never get a fault
            requests = counters.get("requests", 0) - counters.get("lookups", 0)
            if requests >= fault_at:
                # One fault per FAULT_EVERY requests (they would pile up while the workers are down).
                kind = rng.choice(("429", "500", "slow"))
                if kind == "429":
                    fake.fail_next(1, status=429, retry_after=1)
                elif kind == "500":
                    fake.fail_next(1, status=500)
                else:
                    fake.slow_next(1, SLOW_REPLY)
                fault_at = requests + FAULT_EVERY
            if len(paid) < args.paid and t >= pay_at:
                pay_one(rng, org, paid, handed_over, actions, Step, Invoice)
                pay_at = t + pay_every
            if args.trace and t >= trace_at:
                counts = dict(Step.objects.filter(step_id="heads_up").values_list("status").annotate(n=Count("id")))
                due = Step.objects.filter(status="pending", run_at__lte=datetime.now(UTC))
                retried = due.filter(attempts__gt=0)
                oldest = retried.order_by("run_at").values_list("run_at", flat=True).first()
                waited = f"{(datetime.now(UTC) - oldest).total_seconds():.0f}s" if oldest else "-"
                print(f"{t - started:6.1f}s at provider {len(fake.messages):>6} steps {counts} due {due.count()} "
                      f"retries due {retried.count()} (longest waiting {waited}) workers {len(workers.at_work())}",
                      file=sys.stderr)
                trace_at = t + 2
            if t >= watch_at:
                holding = watch(workers, held_seen, held_sending, Step)
                if workers.at_work():
                    for holder in holding:  # a peer could have taken these back during the last 0.5 s
                        with_peer[holder] = with_peer.get(holder, 0.0) + (t - last_watch)
                last_watch = t
                if chaos and not workers.at_work():
                    alone["since"] = alone["since"] or t
                    alone["longest"] = max(alone["longest"], t - alone["since"])
                else:
                    alone["since"] = None
                workers.check()
                watch_at = t + 0.5
                if not chaos and len(paid) >= args.paid:
                    soon = datetime.now(UTC) + timedelta(minutes=2)  # a retry after a 429 or a 500 is due soon
                    busy = Step.objects.filter(Q(status__in=("claimed", "sending"))
                                               | Q(status="pending", run_at__lte=soon)).exists()
                    idle_polls = 0 if busy else idle_polls + 1
                    if idle_polls >= 4 or t - started > args.seconds + args.max_wait:
                        break
            time.sleep(0.05)
        workers.stop()
    finally:
        for proc in workers.procs:
            proc.kill()
        fake.stop()

    sent_to: dict[str, list[datetime]] = {}
    for m in fake.messages:
        sent_to.setdefault(m["To"], []).append(m["created"])
    stopped_in_time = sum(1 for inv in paid if phone_of[inv] not in sent_to)
    after_paid = sum(1 for inv, at in paid.items() if inv not in handed_over
                     for created in sent_to.get(phone_of[inv], []) if created > at)
    steps = dict(Step.objects.filter(pk__in=due_ids).values_list("enrollment__invoice_id", "status"))
    # Lost: an unpaid invoice's text not sent, or a paid one's neither sent nor stopped (left in flight).
    lost = [status for inv, status in steps.items()
            if (inv not in paid and status != "done") or (inv in paid and status not in ("done", "cancelled"))]
    stranded = [held_seen.get(worker_id, killed) - killed for worker_id, killed in workers.killed_at.items()]
    return {
        "due_texts": args.texts,
        "texts_at_provider": len(fake.messages),
        "distinct_keys": len({m["idempotency_token"] for m in fake.messages}),
        "sms_sent_events": Event.objects.filter(organization=org, kind="sms.sent").count(),
        "expected_texts": args.texts - stopped_in_time,
        "paid": len(paid),
        "paid_stopped_in_time": stopped_in_time,
        "steps_lost": len(lost),
        "lost_by_status": {status: lost.count(status) for status in sorted(set(lost))},
        "steps_unknown": sum(1 for status in steps.values() if status == "unknown"),
        "unknown_because": sorted({e.get("error") or "" for e in Event.objects.filter(
            organization=org, kind="step.unknown").values_list("detail", flat=True)}),
        "texted_after_paid": after_paid,
        "paid_after_handover": len(handed_over),
        "worker_exits": len(workers.exits),
        "kills": len(workers.killed_at),
        "connection_cuts": cuts,
        "connections_terminated": terminations,
        "worker_start_s": round(max((workers.ready_at[p] - workers.spawned[p] for p in workers.ready_at),
                                    default=0.0), 1),
        "faults_injected": fake.counters.get("faults_injected", 0),
        "max_stranded_s": round(max(stranded, default=0.0), 1),
        "max_stranded_sending_s": round(max((held_sending[w] - workers.killed_at[w] for w in held_sending),
                                            default=0.0), 1),
        "longest_without_a_worker_s": round(alone["longest"], 1),
        "max_stranded_with_a_peer_s": round(max(with_peer.values(), default=0.0), 1),
        "seconds": round(time.monotonic() - started, 1),  # from the first worker at work to idle
        "worker_logs": str(logs),
    }


def wait_connected(url: str, scratch: str, n: int, timeout: float = 180.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as admin:
        while time.monotonic() < deadline:
            connected = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                                      "application_name = %s", [scratch, APP_NAME]).fetchone()[0]
            if connected >= n:
                return
            time.sleep(0.2)
    raise SystemExit(f"the workers did not connect to the database within {timeout:.0f} s")


def pay_one(rng, org, paid, handed_over, actions, Step, Invoice) -> None:  # noqa: N803 - models handed in
    """Mark paid one invoice whose text has not reached the provider yet (pending, claimed or in flight)."""
    candidates = list(Step.objects.filter(organization=org, step_id="heads_up",
                                          status__in=("pending", "claimed", "sending"))
                      .exclude(enrollment__invoice_id__in=list(paid)).values_list("enrollment__invoice_id", flat=True)
                      [:500])
    if not candidates:
        return
    invoice = Invoice.objects.get(pk=rng.choice(candidates))
    actions.mark_invoice_paid(invoice, datetime.now(UTC), actor="chaos", source="chaos")
    paid[invoice.pk] = datetime.now(UTC)  # the commit happened before this moment
    # Already handed to the provider when the payment committed (`sending`: checked and committed before the
    # payment could lock the invoice): its text may land a moment later, and that is no text after payment.
    if Step.objects.filter(enrollment__invoice_id=invoice.pk, step_id="heads_up",
                           status__in=("sending", "done", "unknown")).exists():
        handed_over.add(invoice.pk)


def watch(workers: Workers, held_seen: dict, held_sending: dict, Step) -> set[str]:  # noqa: N803
    """Which killed workers still hold rows: their steps are stranded until a peer takes them. Workers are
    told apart by their whole id, not the pid alone (a busy machine reuses pids)."""
    holders = Step.objects.filter(status__in=("claimed", "sending")).exclude(leased_by="").values_list(
        "leased_by", "status").distinct()
    t = time.monotonic()
    holding = set()
    for holder, status in holders:
        if holder in workers.killed_at:
            holding.add(holder)
            held_seen[holder] = t
            if status == "sending":
                held_sending[holder] = t
    return holding


if __name__ == "__main__":
    main()
