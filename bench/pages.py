"""Time the staff pages with many contacts and events: inbox, one contact page and the overview.

Runs against DUEDESK_DATABASE_URL (PostgreSQL by default here) in a throwaway test database and prints
p50/p95 and the query count per page. Usage: .venv/bin/python bench/pages.py [contacts] [runs]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

os.environ.setdefault("DUEDESK_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench")
os.environ.setdefault("DUEDESK_DATA_DIR", tempfile.mkdtemp(prefix="duedesk-bench-"))
os.environ.setdefault("DUEDESK_SECRET_KEY", "bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def seed(n_contacts: int):
    from duedesk.engine import definitions
    from duedesk.records.models import Contact, Event, Handoff, Invoice, Membership, Organization

    org = Organization.objects.create(slug="bench", name="Bench Clinic")
    definitions.ensure_default(org)
    user = get_user_model().objects.create_user("bench", "b@example.com", "a-long-password-1")
    Membership.objects.create(user=user, organization=org, role="owner")
    contacts = Contact.objects.bulk_create(
        Contact(organization=org, first_name=f"P{i}", last_name=f"L{i}", phone=f"+1212555{i % 10000:04d}")
        for i in range(n_contacts))
    statuses = ["open", "open", "paid", "in_plan", "hardship", "written_off"]
    invoices = Invoice.objects.bulk_create(
        Invoice(organization=org, contact=c, external_ref=f"INV-{i}", amount_due=Decimal("120"),
                balance=Decimal("0") if statuses[i % 6] == "paid" else Decimal("120"), status=statuses[i % 6],
                due_date=date(2026, 12, 7) - timedelta(days=(i % 150) - 10))
        for i, c in enumerate(contacts))
    kinds = ["sms.sent", "call.placed", "payment.recorded", "step.skipped", "enrollment.started"]
    events = []
    for i, inv in enumerate(invoices):
        for k in range(10):
            kind = kinds[k % len(kinds)]
            events.append(Event(organization=org, contact_id=inv.contact_id, invoice=inv, kind=kind,
                                at=NOW - timedelta(hours=i % 500 + k),
                                detail={"amount": "20.00"} if kind == "payment.recorded" else {}))
    Event.objects.bulk_create(events, batch_size=5000)
    Handoff.objects.bulk_create(
        Handoff(organization=org, contact_id=inv.contact_id, invoice=inv, reason=["dispute", "hardship"][i % 2],
                status="open" if i % 3 else "resolved", created_at=NOW - timedelta(hours=i),
                resolved_at=None if i % 3 else NOW - timedelta(hours=i // 2))
        for i, inv in enumerate(invoices[: n_contacts // 10]))
    return user, contacts[0]


def measure(client: Client, url: str, runs: int):
    timings = []
    count = [0]

    def counter(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        client.get(url)
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    return statistics.median(timings), p95, count[0]


def main():
    n_contacts = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    old = setup_databases(verbosity=0, interactive=False)
    try:
        import duedesk.web.access as access

        access.now = lambda: NOW
        user, contact = seed(n_contacts)
        client = Client()
        client.force_login(user)
        print(f"{n_contacts} contacts, {n_contacts * 10} events, {n_contacts // 10} handoffs on "
              f"{connection.vendor}; {runs} runs each")
        for name, url in (("inbox", "/inbox/"), ("contact", f"/contacts/{contact.pk}/"), ("overview", "/"),
                          ("contacts search", "/contacts/?q=L42")):
            p50, p95, n = measure(client, url, runs)
            print(f"  {name:16s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {n} queries")
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
