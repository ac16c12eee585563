"""Many due texts at once, written in bulk: for the multi-worker test and the throughput benchmark."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from duedesk.engine import definitions
from duedesk.engine.advance import new_step
from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Contact, Invoice, Organization

CHUNK = 5000


def seed_due_texts(n: int, now: datetime, slug: str = "busy", due: date = date(2026, 12, 10)) -> Organization:
    """`n` invoices whose heads-up text is due at `now` (contacts in New York)."""
    org = Organization.objects.create(slug=slug, name="Busy Clinic", timezone="America/New_York",
                                      callback_number="+12125550100")  # texts name a number to call back
    workflow = definitions.ensure_default(org)
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        contacts = Contact.objects.bulk_create(
            Contact(organization=org, first_name="Pat", last_name=str(i), phone=f"+1212{i:07d}",
                    timezone="America/New_York")
            for i in range(start, start + size)
        )
        invoices = Invoice.objects.bulk_create(
            Invoice(organization=org, contact=c, external_ref=f"R{start + i}", amount_due=Decimal("50.00"),
                    balance=Decimal("50.00"), due_date=due, pay_link="https://pay.example.com/x")
            for i, c in enumerate(contacts)
        )
        enrollments = Enrollment.objects.bulk_create(
            Enrollment(organization=org, invoice=inv, contact_id=inv.contact_id, workflow=workflow,
                       current_step="heads_up", started_at=now)
            for inv in invoices
        )
        Step.objects.bulk_create(new_step(org.pk, e.pk, "heads_up", "sms", 1, now, now) for e in enrollments)
    return org
