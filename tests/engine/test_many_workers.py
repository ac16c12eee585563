"""On PostgreSQL, four worker processes share 10,000 due steps; each is executed exactly once."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from duedesk.channels.models import SimulatedSend
from duedesk.engine import definitions
from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Contact, Event, Invoice, Organization

N = 10_000
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York


def seed(n: int) -> Organization:
    org = Organization.objects.create(slug="busy", name="Busy Clinic", timezone="America/New_York")
    workflow = definitions.ensure_default(org)
    contacts = Contact.objects.bulk_create(
        Contact(organization=org, first_name="P", last_name=str(i), phone=f"+1212{i:07d}", timezone="America/New_York")
        for i in range(n)
    )
    invoices = Invoice.objects.bulk_create(
        Invoice(organization=org, contact=c, external_ref=f"R{i}", amount_due=Decimal("50"), balance=Decimal("50"),
                due_date=date(2026, 12, 10), pay_link="https://pay.example.com/x")
        for i, c in enumerate(contacts)
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(organization=org, invoice=inv, contact_id=inv.contact_id, workflow=workflow, current_step="heads_up",
                   started_at=NOW)
        for inv in invoices
    )
    Step.objects.bulk_create(
        Step(organization=org, enrollment=e, step_id="heads_up", kind="sms", run_at=NOW, created_at=NOW,
             idempotency_key=f"e{e.pk}:heads_up:1")
        for e in enrollments
    )
    return org


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_four_workers_run_each_of_10000_steps_exactly_once():
    if connection.vendor != "postgresql":
        pytest.skip("many workers need PostgreSQL (SQLite runs one worker)")
    seed(N)
    url = os.environ["DUEDESK_DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DUEDESK_DATABASE_URL": url}
    script = Path(__file__).with_name("worker_process.py")
    procs = [subprocess.Popen([sys.executable, str(script), NOW.isoformat()], env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    counts = [int(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(counts) >= N
    assert all(c > 0 for c in counts), f"every worker should have taken a share: {counts}"

    sends = SimulatedSend.objects.filter(channel="sms")
    assert sends.count() == N
    assert sends.values("idempotency_key").distinct().count() == N
    assert Step.objects.filter(step_id="heads_up", status="done").count() == N
    assert Event.objects.filter(kind="sms.sent").count() == N
