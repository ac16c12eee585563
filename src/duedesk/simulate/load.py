"""Many due texts at once, written in bulk: for the multi-worker test and the throughput benchmark."""

from __future__ import annotations

from datetime import date, datetime

from django.db import connection

from duedesk.engine import definitions
from duedesk.engine.actions.seeding import seed_due_texts as seed_enrolled
from duedesk.records.models import Organization


def seed_due_texts(n: int, now: datetime, slug: str = "busy", due: date = date(2026, 12, 10)) -> Organization:
    """`n` invoices whose heads-up text is due at `now` (contacts in New York)."""
    org = Organization.objects.create(slug=slug, name="Busy Clinic", timezone="America/New_York",
                                      callback_number="+12125550100")  # texts name a number to call back
    workflow = definitions.ensure_default(org)
    seed_enrolled(org, workflow, n, now, due)
    if connection.vendor == "postgresql":
        # After a bulk load, as PostgreSQL's own restore advises: until autovacuum gets to it (up to a minute),
        # the planner takes the new rows for an empty table and the workers' claims compare every pair of rows.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE engine_step, engine_enrollment, records_invoice, records_contact")
    return org
