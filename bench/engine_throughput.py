"""Engine throughput: N texts due in one send window, simulated transport.

Prints steps/second for the engine on PostgreSQL with 1 and 4 worker processes and on SQLite with
one, beside a baseline measured in the same run that writes the same rows (message, transport record,
step done, event, next step, enrollment, the invoice's first text) with plain SQL and no engine logic.
The issue's target: at least 2,000 steps/s per worker process, and within 2x of the baseline. The
workers are timed from the word to start (each has started Python and Django and is connected) to
the last one idle.

    python bench/engine_throughput.py [--count 100000] [--json]

PostgreSQL comes from DUEDESK_BENCH_POSTGRES_URL or DUEDESK_TEST_POSTGRES_URL (a database named
duedesk_bench_engine is dropped and created there); without one only SQLite is measured.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York: the window is open
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _django(url: str):
    os.environ["DUEDESK_DATABASE_URL"] = url
    os.environ.setdefault("DUEDESK_DATA_DIR", tempfile.mkdtemp(prefix="duedesk-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")
    import django

    django.setup()


def role_seed(url: str, count: int) -> None:
    _django(url)
    from django.core.management import call_command

    from duedesk.simulate.load import seed_due_texts

    call_command("flush", interactive=False, verbosity=0)
    seed_due_texts(count, NOW)


def role_baseline(url: str, count: int) -> None:
    """The same rows, written with plain SQL in batches of 100: no gate, no rendering, no planning."""
    _django(url)
    from django.db import connection, transaction

    from duedesk.engine.models import Step

    ids = list(Step.objects.filter(status="pending").order_by("pk").values_list(
        "pk", "enrollment_id", "organization_id", "enrollment__contact_id", "enrollment__invoice_id"))
    body = ("Hi, this is Busy Clinic. A friendly reminder that your balance of $50.00 is due Thursday, December 10. "
            "You can pay here: https://pay.example.com/x Reply STOP to opt out.")
    # As wide as the engine's: the consent basis and the body's digest on the message and its event, a provider
    # id of Twilio's length, the key of the step.
    sha = hashlib.sha256(body.encode()).hexdigest()
    detail = json.dumps({"body": body, "step": "heads_up", "consent": "provided_number", "sha256": sha})
    start = time.perf_counter()
    for i in range(0, len(ids), 100):
        batch = [(*row, "SM" + uuid.uuid4().hex) for row in ids[i:i + 100]]
        with transaction.atomic(), connection.cursor() as cur:
            cur.executemany(
                "INSERT INTO records_message (organization_id, contact_id, invoice_id, step_id, channel, direction,"
                " \"to\", sender, subject, body, status, provider_id, idempotency_key, error_code, created_at,"
                " updated_at, consent_basis, content_sha256)"
                " VALUES (%s,%s,%s,%s,'sms','out','+12125550000','','',%s,'sent',%s,%s,'',%s,%s,'provided_number',%s)",
                [(o, c, inv, pk, body, sid, f"e{e}:heads_up:1", NOW, NOW, sha) for pk, e, o, c, inv, sid in batch])
            cur.executemany(
                "INSERT INTO channels_simulatedsend (channel, \"to\", body, idempotency_key, provider_id, at)"
                " VALUES ('sms','+12125550000',%s,%s,%s,%s)",
                [(body, f"e{e}:heads_up:1", sid, NOW) for pk, e, o, c, inv, sid in batch])
            cur.executemany("UPDATE engine_step SET status='done', outcome='sent', finished_at=%s, lease_until=NULL"
                            " WHERE id=%s", [(NOW, pk) for pk, *_ in batch])
            cur.executemany(
                "INSERT INTO records_event (organization_id, contact_id, invoice_id, kind, channel, actor, detail, at)"
                " VALUES (%s,%s,%s,'sms.sent','sms','duedesk',%s,%s)",
                [(o, c, inv, detail, NOW) for pk, e, o, c, inv, sid in batch])
            cur.executemany(
                "INSERT INTO engine_step (organization_id, enrollment_id, step_id, kind, occurrence, run_at, status,"
                " attempts, leased_by, idempotency_key, provider_id, outcome, last_error, created_at)"
                " VALUES (%s,%s,'past_due','wait',1,%s,'pending',0,'',%s,'','','',%s)",
                [(o, e, NOW, f"e{e}:past_due:1", NOW) for pk, e, o, c, inv, sid in batch])
            cur.executemany("UPDATE engine_enrollment SET current_step='past_due', data=%s WHERE id=%s",
                            [('{"last_outcome": "sent"}', e) for pk, e, *_ in batch])
            cur.executemany("UPDATE records_invoice SET first_texted_at=%s WHERE id=%s AND first_texted_at IS NULL",
                            [(NOW, inv) for pk, e, o, c, inv, sid in batch])
    print(f"{len(ids) / (time.perf_counter() - start):.0f}")


def role_work(url: str) -> None:
    """One worker process, as `duedesk worker --until-idle --at NOW` builds it. It says when it is ready,
    waits for the word to start (so Python's and Django's start-up are not counted), and prints how many
    steps it ran and when it started and finished (time.time())."""
    _django(url)
    from duedesk.channels.providers import transports_for_process
    from duedesk.channels.registry import simulated
    from duedesk.engine.worker import Worker
    from duedesk.integrations.jobs import Between

    clock = lambda: NOW  # noqa: E731
    transports = transports_for_process()
    transports.fallback = simulated(clock)
    worker = Worker(transports, clock=clock, batch=250, after_batch=Between(clock))
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.time()
    total = worker.run(until_idle=True)
    print(total, start, time.time(), flush=True)


def _run(args: list[str], env: dict) -> str:
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()


def measure(url: str, count: int, workers: int) -> tuple[float, float]:
    env = {**os.environ, "DUEDESK_DATABASE_URL": url}
    me = [sys.executable, os.path.abspath(__file__)]
    _run(me + ["--role", "seed", "--url", url, "--count", str(count)], env)
    baseline = float(_run(me + ["--role", "baseline", "--url", url, "--count", str(count)], env).splitlines()[-1])
    _run(me + ["--role", "seed", "--url", url, "--count", str(count)], env)
    procs = [subprocess.Popen(me + ["--role", "work", "--url", url], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(workers)]
    for p in procs:  # every worker started up and connected
        if p.stdout.readline().strip() != "ready":
            raise SystemExit("a worker did not start")
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    runs = [p.communicate()[0].strip().splitlines()[-1].split() for p in procs]
    done = sum(int(n) for n, _, _ in runs)
    elapsed = max(float(end) for _, _, end in runs) - min(float(start) for _, start, _ in runs)
    if done < count:
        raise SystemExit(f"only {done} of {count} steps ran")
    return count / elapsed, baseline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--role")
    parser.add_argument("--url")
    parser.add_argument("--json", action="store_true", help="one JSON object per line per run, no table")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), help="measure only this one")
    args = parser.parse_args()
    if args.role == "seed":
        return role_seed(args.url, args.count)
    if args.role == "baseline":
        return role_baseline(args.url, args.count)
    if args.role == "work":
        return role_work(args.url)

    runs = []
    sqlite_dir = tempfile.mkdtemp(prefix="duedesk-bench-")
    sqlite_url = f"sqlite:///{sqlite_dir}/bench.sqlite3"
    if args.store != "postgresql":
        _run([sys.executable, "-m", "duedesk", "migrate", "-v0"], {**os.environ, "DUEDESK_DATABASE_URL": sqlite_url})
        runs.append(("SQLite", 1, sqlite_url))
    pg = os.environ.get("DUEDESK_BENCH_POSTGRES_URL") or os.environ.get("DUEDESK_TEST_POSTGRES_URL")
    if pg and args.store != "sqlite":
        import psycopg

        admin = pg.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS duedesk_bench_engine WITH (FORCE)")
            conn.execute("CREATE DATABASE duedesk_bench_engine")
        pg_url = pg.rsplit("/", 1)[0] + "/duedesk_bench_engine"
        _run([sys.executable, "-m", "duedesk", "migrate", "-v0"], {**os.environ, "DUEDESK_DATABASE_URL": pg_url})
        runs += [("PostgreSQL", 1, pg_url), ("PostgreSQL", 4, pg_url)]
    elif not args.json:
        print("PostgreSQL: skipped (set DUEDESK_BENCH_POSTGRES_URL or DUEDESK_TEST_POSTGRES_URL)")

    if args.json:
        for store, workers, url in runs:
            rate, baseline = measure(url, args.count, workers)
            print(json.dumps({"store": store.lower(), "workers": workers, "steps_per_s": round(rate),
                              "baseline_per_s": round(baseline)}), flush=True)
        return
    print(f"{args.count:,} texts due at once, simulated transport, {os.cpu_count()} cores")
    print(f"{'store':<11} {'workers':>7} {'engine steps/s':>15} {'per worker':>11} {'baseline rows/s':>16} "
          f"{'baseline/engine':>16}")
    for store, workers, url in runs:
        rate, baseline = measure(url, args.count, workers)
        print(f"{store:<11} {workers:>7} {rate:>15.0f} {rate / workers:>11.0f} {baseline:>16.0f} "
              f"{baseline / rate:>15.2f}x")


if __name__ == "__main__":
    main()
