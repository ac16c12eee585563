"""CRM sync against the HubSpot fake (or, with --provider salesforce, the Salesforce fake through
simple-salesforce), through the real client library over loopback.

  pull   the initial full sync of --contacts HubSpot contacts (default 50,000), each with a due date and a
         balance, so every one becomes a contact, an invoice and an enrollment with its first step planned.
         Target: under 2 minutes and under 300 MB peak RSS (the fake runs in its own process, so the figure
         is duedesk's alone).
  push   --activities timeline events (texts) written to HubSpot as communications through the outbox, with
         the connection's limit set to --per-10s requests per 10 seconds (the fake enforces the same and
         answers 429 beyond it). Prints the rate achieved against the limit.

    .venv/bin/python bench/crm_sync.py [--contacts 50000] [--activities 10000] [--per-10s 1000]
                                       [--provider hubspot|salesforce]

Salesforce has no per-10-second limit of its own (a daily allowance): its fake does not answer 429, so the
push there measures duedesk's own spacing against --per-10s.

SQLite in a scratch directory (the embedded default).
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=50_000)
    ap.add_argument("--activities", type=int, default=10_000)
    ap.add_argument("--per-10s", type=int, default=1000)
    ap.add_argument("--provider", choices=("hubspot", "salesforce"), default="hubspot")
    args = ap.parse_args()

    scratch = tempfile.mkdtemp(prefix="duedesk-crm-bench-")
    port = free_port()
    limit = ["--per-10s", str(max(args.per_10s, 1000))] if args.provider == "hubspot" else [
        "--daily-limit", str(10 * (args.contacts + 2 * args.activities) + 1000)]
    fake = subprocess.Popen([sys.executable, "-m", "duedesk", "fake-crm", args.provider, "--port", str(port),
                             "--token", TOKEN, *limit], stdout=subprocess.DEVNULL)
    prefix = f"DUEDESK_{args.provider.upper()}_"
    os.environ.update(DUEDESK_DATA_DIR=scratch, DUEDESK_DATABASE_URL=f"sqlite:///{scratch}/bench.sqlite3",
                      **{prefix + "BASE_URL": f"http://127.0.0.1:{port}", prefix + "TOKEN": TOKEN},
                      DJANGO_SETTINGS_MODULE="duedesk.settings", DUEDESK_LOG_LEVEL="WARNING")
    try:
        return run(args, f"http://127.0.0.1:{port}")
    finally:
        fake.terminate()
        fake.wait(10)


def patient(provider: str, n: int) -> dict:
    """A patient in the CRM's own shape, due in 3 to 32 days with a balance."""
    phone, due = f"+1212{200 + n // 10_000:03d}{n % 10_000:04d}", (NOW.date() + timedelta(days=3 + n % 30)).isoformat()
    if provider == "salesforce":
        return {"FirstName": "Pat", "LastName": f"Bench{n}", "MobilePhone": phone, "Email": f"pat{n}@example.com",
                "Duedesk_Due_Date__c": due, "Duedesk_Balance__c": 50 + n % 400, "Duedesk_Outreach__c": True}
    return {"properties": {"firstname": "Pat", "lastname": f"Bench{n}", "phone": phone, "email": f"pat{n}@example.com",
                           "duedesk_due_date": due, "duedesk_balance": f"{50 + n % 400}.00", "duedesk_outreach": "on"}}


def run(args, fake_url: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from duedesk.engine import definitions
    from duedesk.engine.models import Enrollment
    from duedesk.integrations.crm.connections import connect
    from duedesk.integrations.crm.models import Connection, CrmLink, OutboxItem
    from duedesk.integrations.crm.sync import sync_connection
    from duedesk.records.models import Event, Organization
    from duedesk.records.timeline import event, save_all

    for _ in range(100):
        try:
            httpx.get(f"{fake_url}/__fake__/ledger", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    seed_start = time.perf_counter()
    for start in range(0, args.contacts, 5000):
        batch = [patient(args.provider, n) for n in range(start, min(args.contacts, start + 5000))]
        httpx.post(f"{fake_url}/__fake__/contacts", json=batch, timeout=120).raise_for_status()
    print(f"seeded {args.contacts} contacts in the fake in {time.perf_counter() - seed_start:.1f} s")

    org = Organization.objects.create(slug="bench", name="Bench Clinic", timezone="America/New_York")
    definitions.ensure_default(org)
    conn, _ = connect(org, args.provider, f"DUEDESK_{args.provider.upper()}_TOKEN", NOW, rate_limit=args.per_10s)

    t0, cpu0 = time.perf_counter(), time.process_time()
    result = sync_connection(conn, NOW, "bench")
    pull_s, pull_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    enrolled = Enrollment.objects.filter(organization=org).count()
    print(f"pull: {result.pulled.seen} contacts read, {result.pulled.created} created, {enrolled} enrolled, "
          f"errors {len(result.pulled.errors)}")
    print(f"pull: {pull_s:.1f} s ({result.pulled.seen / pull_s:.0f} contacts/s), peak RSS {rss_mb:.0f} MB — "
          f"target < 120 s: {'met' if pull_s < 120 else 'NOT met'}, < 300 MB: {'met' if rss_mb < 300 else 'NOT met'}")
    print(f"pull: {pull_cpu:.1f} s of CPU in duedesk's process ({os.getloadavg()[0]:.1f} load average on "
          f"{os.cpu_count()} cores at the end)")

    # The push: texts on the timeline of linked contacts, queued by the timeline listener, drained at the limit.
    OutboxItem.objects.all().delete()
    contacts = list(CrmLink.objects.filter(connection=conn).values_list("contact_id", flat=True)[:args.activities])
    events = [event(org, "sms.sent", NOW, contact=None, channel="sms", body=f"Bench text {i}")
              for i in range(args.activities)]
    for i, ev in enumerate(events):
        ev.contact_id = contacts[i % len(contacts)]
    from django.db import transaction

    with transaction.atomic():
        save_all(events)
    queued = OutboxItem.objects.filter(status="pending").count()
    Connection.objects.filter(pk=conn.pk).update(rate_limit=args.per_10s, rate_window=10.0)
    conn.refresh_from_db()
    t0 = time.perf_counter()
    written, waits = 0, 0
    moment = NOW + timedelta(hours=1)
    while True:
        res = sync_connection(conn, moment, "bench", do_pull=False)
        written += res.pushed.written
        if res.pushed.waiting_for is None:
            break
        waits += 1
        time.sleep(res.pushed.waiting_for)  # the 429's Retry-After, in real time and on the sync's clock
        moment += timedelta(seconds=res.pushed.waiting_for)
    push_s = time.perf_counter() - t0
    left = OutboxItem.objects.exclude(status="done").count()
    requests = written * 2  # each text: the activity, then the contact's last outcome
    print(f"push: {queued} queued, {written} written in {push_s:.1f} s, {left} not done, {waits} 429 waits")
    print(f"push: {requests / push_s * 10:.0f} requests per 10 s achieved against a limit of {args.per_10s} "
          f"({written / push_s:.1f} activities/s)")
    assert Event.objects.filter(kind="sms.sent").count() == args.activities
    return 0


if __name__ == "__main__":
    sys.exit(main())
