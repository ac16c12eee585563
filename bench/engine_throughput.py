"""Engine throughput: N texts due in one send window, simulated transport.

Prints steps/second for the engine on PostgreSQL with 1 and 4 worker processes and on SQLite with
one, beside a baseline measured in the same run that writes the same rows (message, transport record,
step done, event, next step, enrollment, the invoice's first text) with plain SQL and no engine logic.
The issue's target: at least 2,000 steps/s per worker process, and within 2x of the baseline. The
workers are timed from the word to start (each has started Python and Django and is connected) to
the last one idle.

    python bench/engine_throughput.py [--count 100000] [--json] [--store postgresql] [--workers 1] [--batch 250]

PostgreSQL comes from DUEDESK_BENCH_POSTGRES_URL or DUEDESK_TEST_POSTGRES_URL (a database named
duedesk_bench_engine_<pid> is created there and dropped at the end); without one only SQLite is measured.

Beside the rates, each JSON line gives the CPU time per step of the worker processes and of their database
backends (`worker_cpu_ms`, `db_cpu_ms`; the backends' only when PostgreSQL runs on this machine), and the same for
the baseline: on a shared machine the rates follow the load, the CPU per step much less.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import resource
import signal
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


def _backend_cpu(connection) -> float | None:
    """CPU seconds of this connection's database backend so far, when it runs on this machine."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
    cpu, db = _cpu(), _backend_cpu(connection)
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
    elapsed = time.perf_counter() - start
    db_after = _backend_cpu(connection)
    print(len(ids) / elapsed, _cpu() - cpu, -1 if db is None or db_after is None else db_after - db)


def role_work(url: str, batch: int | None = None) -> None:
    """One worker process, as `duedesk worker --until-idle --at NOW` builds it. It says when it is ready,
    waits for the word to start (so Python's, Django's and the first batch's imports are not counted), and
    prints how many steps it ran, when it started and finished (time.time()) and its CPU and its backend's."""
    _django(url)
    from django.db import connection

    from duedesk.channels.providers import transports_for_process
    from duedesk.channels.registry import simulated
    from duedesk.engine.worker import BATCH, for_process, preload
    from duedesk.integrations.jobs import Between

    clock = lambda: NOW  # noqa: E731
    transports = transports_for_process()
    transports.fallback = simulated(clock)
    preload()  # start-up: what the first batch would import (holiday calendars, geocoding data, providers' clients)
    worker = for_process(transports, clock, batch or BATCH, after_batch=Between(clock))  # as `duedesk worker` does
    # On PostgreSQL the worker settles its batches on a thread with a connection of its own (engine/settler.py):
    # its backend's CPU is read on that thread, before its first settling and after each.
    settling: dict[str, float | None] = {}
    settle = worker.runner.settler._settle

    def measured(*args):
        settling.setdefault("first", _backend_cpu(connection))
        settle(*args)
        settling["last"] = _backend_cpu(connection)

    worker.runner.settler._settle = measured
    print("ready", flush=True)
    sys.stdin.readline()
    start, cpu, db = time.time(), _cpu(), _backend_cpu(connection)
    total = worker.run(until_idle=True)
    end, cpu = time.time(), _cpu() - cpu
    db_after = _backend_cpu(connection)  # the same connection: the worker reconnects only after an error
    db_cpu = -1 if db is None or db_after is None else db_after - db
    if worker.runner.settler.background and db_cpu >= 0:
        db_cpu += (settling.get("last") or 0) - (settling.get("first") or 0)
    print(total, start, end, cpu, db_cpu, flush=True)


def _run(args: list[str], env: dict) -> str:
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()


def measure(url: str, count: int, workers: int, batch: int | None = None) -> dict:
    env = {**os.environ, "DUEDESK_DATABASE_URL": url}
    me = [sys.executable, os.path.abspath(__file__)]
    _run(me + ["--role", "seed", "--url", url, "--count", str(count)], env)
    baseline, base_cpu, base_db = (float(x) for x in _run(me + ["--role", "baseline", "--url", url, "--count", str(count)],
                                                          env).splitlines()[-1].split())
    _run(me + ["--role", "seed", "--url", url, "--count", str(count)], env)
    work = me + ["--role", "work", "--url", url] + (["--batch", str(batch)] if batch else [])
    procs = [subprocess.Popen(work, env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(workers)]
    for p in procs:  # every worker started up and connected
        if p.stdout.readline().strip() != "ready":
            raise SystemExit("a worker did not start")
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    runs = [p.communicate()[0].strip().splitlines()[-1].split() for p in procs]
    done = sum(int(run[0]) for run in runs)
    elapsed = max(float(run[2]) for run in runs) - min(float(run[1]) for run in runs)
    if done < count:
        raise SystemExit(f"only {done} of {count} steps ran")
    db = [float(run[4]) for run in runs]
    ms = lambda seconds: round(seconds * 1000 / count, 3)  # noqa: E731
    return {"steps_per_s": round(count / elapsed), "baseline_per_s": round(baseline),
            "worker_cpu_ms": ms(sum(float(run[3]) for run in runs)),
            "db_cpu_ms": ms(sum(db)) if min(db) >= 0 else None,
            "baseline_cpu_ms": ms(base_cpu), "baseline_db_cpu_ms": ms(base_db) if base_db >= 0 else None}


def _drop(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--role")
    parser.add_argument("--url")
    parser.add_argument("--json", action="store_true", help="one JSON object per line per run, no table")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), help="measure only this one")
    parser.add_argument("--workers", type=int, help="on PostgreSQL, only this many workers (1 and 4 by default)")
    parser.add_argument("--batch", type=int, help="steps a worker claims at a time (the worker command's by default)")
    args = parser.parse_args()
    if args.role == "seed":
        return role_seed(args.url, args.count)
    if args.role == "baseline":
        return role_baseline(args.url, args.count)
    if args.role == "work":
        return role_work(args.url, args.batch)

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
        name = f"duedesk_bench_engine_{os.getpid()}"  # its own: two runs side by side don't flush each other's
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        atexit.register(_drop, admin, name)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # atexit runs on SIGTERM too
        pg_url = pg.rsplit("/", 1)[0] + "/" + name
        _run([sys.executable, "-m", "duedesk", "migrate", "-v0"], {**os.environ, "DUEDESK_DATABASE_URL": pg_url})
        runs += [("PostgreSQL", n, pg_url) for n in ([args.workers] if args.workers else [1, 4])]
    elif not args.json:
        print("PostgreSQL: skipped (set DUEDESK_BENCH_POSTGRES_URL or DUEDESK_TEST_POSTGRES_URL)")

    if args.json:
        for store, workers, url in runs:
            print(json.dumps({"store": store.lower(), "workers": workers,
                              **measure(url, args.count, workers, args.batch)}),
                  flush=True)
        return
    print(f"{args.count:,} texts due at once, simulated transport, {os.cpu_count()} cores")
    print(f"{'store':<11} {'workers':>7} {'engine steps/s':>15} {'per worker':>11} {'baseline rows/s':>16} "
          f"{'baseline/engine':>16} {'CPU ms/step: worker':>20} {'db':>5} {'baseline':>9} {'db':>5}")
    for store, workers, url in runs:
        m = measure(url, args.count, workers, args.batch)
        rate, baseline = m["steps_per_s"], m["baseline_per_s"]
        db, base_db = (f"{x:.2f}" if x is not None else "-" for x in (m["db_cpu_ms"], m["baseline_db_cpu_ms"]))
        print(f"{store:<11} {workers:>7} {rate:>15.0f} {rate / workers:>11.0f} {baseline:>16.0f} "
              f"{baseline / rate:>15.2f}x {m['worker_cpu_ms']:>20.2f} {db:>5} {m['baseline_cpu_ms']:>9.2f} {base_db:>5}")


if __name__ == "__main__":
    main()
