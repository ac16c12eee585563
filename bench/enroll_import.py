"""Importing and enrolling many invoices on PostgreSQL.

The target: 1,000,000 imported invoices, each with its first step planned, in under 5 minutes, with the
importing process under 300 MB. This script writes a CSV of --count invoices (default 20,000 so
`make bench` stays short) into a fresh database (duedesk_bench) and measures:

  baseline   the same contacts, invoices, enrollments and steps inserted in bulk with no engine logic
             (no checks, no contact matching, no planner, no timeline events);
  import     `import_invoices(..., bulk=True)`: every row checked, contacts matched, invoices upserted,
             the first step of each enrollment planned by the real planner, every event written
             (with COPY, a chunk of 2,000 invoices per transaction);
  per-row    a small sample through the one-row-at-a-time path, for comparison.

It prints rows per second for each, the ratio, the time extrapolated to 1,000,000 rows and the peak RSS
of each phase (each runs in its own process). Run the full target with:

    DUEDESK_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/enroll_import.py --count 1000000

Without DUEDESK_BENCH_POSTGRES_URL (or DUEDESK_TEST_POSTGRES_URL) it prints "skipped: no PostgreSQL".
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "duedesk_bench"
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York
AREA_CODES = ("212", "312", "415", "617", "713", "305", "206", "404", "503", "602", "214", "303")
TARGET_ROWS = 1_000_000
TARGET_SECONDS = 300
TARGET_RSS_MB = 300


def server_url() -> str | None:
    return os.environ.get("DUEDESK_BENCH_POSTGRES_URL") or os.environ.get("DUEDESK_TEST_POSTGRES_URL")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def fresh_database(url: str) -> str:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return with_database(url, BENCH_DB)


def write_csv(path: Path, count: int, prefix: str = "INV") -> None:
    """One invoice per contact; due dates from 20 days ago to 60 days ahead."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["external_ref", "first_name", "last_name", "phone", "email", "timezone", "language",
                      "date_of_birth", "amount_due", "currency", "due_date"])
        for n in range(count):
            area = AREA_CODES[n % len(AREA_CODES)]
            exchange = 201 + (n // len(AREA_CODES) // 10000) % 700
            phone = f"+1{area}{exchange}{(n // len(AREA_CODES)) % 10000:04d}"
            due = date(2026, 11, 17) + timedelta(days=n % 80)
            out.writerow([f"{prefix}-{n}", "Maria", f"Lopez{n}", phone, f"patient{n}@example.com", "",
                          "es" if n % 5 == 0 else "en", "1980-03-03", f"{50 + n % 400}.00", "USD",
                          due.isoformat()])


def setup_django(database_url: str) -> None:
    os.environ["DUEDESK_DATABASE_URL"] = database_url
    os.environ.setdefault("DUEDESK_DATA_DIR", tempfile.mkdtemp(prefix="duedesk-bench-"))
    os.environ.setdefault("DUEDESK_SECRET_KEY", "bench-secret-key-not-for-production")
    os.environ.pop("DUEDESK_DEBUG", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")
    import django

    django.setup()


def organization(slug: str):
    from duedesk.engine import definitions
    from duedesk.records.models import Organization

    org = Organization.objects.create(slug=slug, name="Bench Clinic", timezone="America/New_York",
                                      pay_link_base="https://pay.example.com/")
    definitions.ensure_default(org)
    return org


def phase_baseline(path: Path) -> dict:
    """Plain bulk inserts of the same rows: what the database costs without any engine logic."""
    from decimal import Decimal

    from django.db import transaction

    from duedesk.engine.models import Enrollment, Step
    from duedesk.records.models import Contact, Invoice

    org = organization("baseline")
    workflow = org.workflows.get()
    rows = 0
    started = time.perf_counter()

    def flush(chunk):
        with transaction.atomic():
            contacts = Contact.objects.bulk_create([
                Contact(organization=org, first_name=r["first_name"], last_name=r["last_name"], phone=r["phone"],
                        email=r["email"], language=r["language"], date_of_birth=r["date_of_birth"])
                for r in chunk])
            invoices = Invoice.objects.bulk_create([
                Invoice(organization=org, contact=c, external_ref=r["external_ref"],
                        amount_due=Decimal(r["amount_due"]), balance=Decimal(r["amount_due"]),
                        currency=r["currency"], due_date=r["due_date"])
                for c, r in zip(contacts, chunk, strict=True)])
            enrollments = Enrollment.objects.bulk_create([
                Enrollment(organization=org, invoice=i, contact_id=i.contact_id, workflow=workflow,
                           current_step="heads_up", started_at=NOW) for i in invoices])
            Step.objects.bulk_create([
                Step(organization=org, enrollment=e, step_id="heads_up", kind="sms", run_at=NOW,
                     idempotency_key=f"e{e.pk}:heads_up:1", created_at=NOW) for e in enrollments])

    with path.open(encoding="utf-8", newline="") as f:
        chunk = []
        for row in csv.DictReader(f):
            chunk.append(row)
            if len(chunk) == 2000:
                flush(chunk)
                rows += len(chunk)
                chunk = []
        if chunk:
            flush(chunk)
            rows += len(chunk)
    return {"rows": rows, "seconds": time.perf_counter() - started}


def phase_import(path: Path, bulk: bool) -> dict:
    from duedesk.engine.models import Step
    from duedesk.intake.importer import import_invoices

    org = organization("bulk" if bulk else "per-row")
    started = time.perf_counter()
    result = import_invoices(org, path, NOW, bulk=bulk)
    seconds = time.perf_counter() - started
    steps = Step.objects.filter(organization=org, status="pending").count()
    return {"rows": result.imported, "seconds": seconds, "errors": len(result.errors),
            "first_error": str(result.errors[0]) if result.errors else "", "pending_steps": steps}


def child(phase: str, database_url: str, path: Path) -> None:
    setup_django(database_url)
    if phase == "baseline":
        figures = phase_baseline(path)
    else:
        figures = phase_import(path, bulk=phase == "import")
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def run_phase(phase: str, database_url: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--phase", phase, "--database-url", database_url,
                           "--file", str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the {phase} phase failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="invoices to import (default 20000)")
    parser.add_argument("--per-row-sample", type=int, default=500, help="rows through the one-row path")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase, args.database_url, Path(args.file))
        return 0

    url = server_url()
    if not url:
        print("skipped: no PostgreSQL (set DUEDESK_BENCH_POSTGRES_URL)")
        return 0
    database_url = fresh_database(url)
    setup_django(database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory(prefix="duedesk-bench-") as tmp:
        path = Path(tmp) / "invoices.csv"
        sample = Path(tmp) / "sample.csv"
        write_csv(path, args.count)
        write_csv(sample, min(args.per_row_sample, args.count), prefix="ROW")
        print(f"{args.count} invoices, PostgreSQL database {BENCH_DB}")
        base = run_phase("baseline", database_url, path)
        real = run_phase("import", database_url, path)
        rows = run_phase("per-row", database_url, sample) if args.per_row_sample else None

    def rate(figures):
        return figures["rows"] / figures["seconds"] if figures["seconds"] else float("inf")

    print(f"baseline (bulk SQL, no engine): {rate(base):10.0f} invoices/s  "
          f"{base['seconds']:7.1f} s  peak RSS {base['peak_rss_mb']:.0f} MB")
    print(f"import, bulk path:              {rate(real):10.0f} invoices/s  "
          f"{real['seconds']:7.1f} s  peak RSS {real['peak_rss_mb']:.0f} MB  "
          f"({real['pending_steps']} first steps pending, {real['errors']} bad rows)")
    if real["errors"]:
        print(f"  first bad row: {real['first_error']}")
    if rows:
        print(f"import, one row at a time:      {rate(rows):10.0f} invoices/s  "
              f"({rows['rows']} rows)  peak RSS {rows['peak_rss_mb']:.0f} MB")
    print(f"import / baseline: {rate(base) / rate(real):.1f}x slower")
    extrapolated = TARGET_ROWS / rate(real)
    print(f"1,000,000 invoices extrapolated: {extrapolated / 60:.1f} min on the bulk path "
          f"(target {TARGET_SECONDS // 60} min: {'met' if extrapolated <= TARGET_SECONDS else 'NOT met'})"
          + (f"; {TARGET_ROWS / rate(rows) / 3600:.1f} h one row at a time" if rows else ""))
    if args.count >= TARGET_ROWS:
        verdict = "met" if real["peak_rss_mb"] <= TARGET_RSS_MB else "NOT met"
        print(f"peak RSS of the import: {real['peak_rss_mb']:.0f} MB (target {TARGET_RSS_MB} MB: {verdict})")
    else:
        print(f"peak RSS of the import: {real['peak_rss_mb']:.0f} MB "
              f"(target {TARGET_RSS_MB} MB at 1,000,000 rows; measure with --count 1000000)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
