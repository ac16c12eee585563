"""Rows to start from for the demo, the scenarios and the load benchmark: contacts and invoices as a clinic
would already have them. Not anyone's action, so no event is written; outreach starts, where the caller
wants it, through `enroll_invoice` like any other (or, for the load benchmark, with every first text
already due)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from duedesk.engine.advance import new_step
from duedesk.engine.models import Enrollment, Step, Workflow
from duedesk.records.models import Contact, Invoice, Organization

CHUNK = 5000


def seed_contact(org: Organization, **values) -> Contact:
    return Contact.objects.create(organization=org, **values)


def seed_invoice(org: Organization, contact: Contact, *, external_ref: str, amount: Decimal, due_date: date,
                 pay_link: str) -> Invoice:
    return Invoice.objects.create(organization=org, contact=contact, external_ref=external_ref, amount_due=amount,
                                  balance=amount, due_date=due_date, pay_link=pay_link)


def seed_due_texts(org: Organization, workflow: Workflow, n: int, now: datetime, due: date) -> None:
    """`n` contacts in New York, each with an invoice enrolled in `workflow` and its heads-up text due at
    `now`, written in bulk."""
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
