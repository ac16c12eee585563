"""Promises to pay: recorded, broken, kept or cancelled with the invoice."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from duedesk.engine.actions.enrollments import route_outcome
from duedesk.engine.models import Enrollment
from duedesk.records.models import Invoice, Promise
from duedesk.records.timeline import log


def record_promise(invoice: Invoice, promised: date, now: datetime, *, channel: str = "call",
                   amount: Decimal | None = None, actor: str = "patient", route: bool = True) -> Promise:
    with transaction.atomic():
        Promise.objects.filter(invoice=invoice, status="pending").update(status="cancelled", resolved_at=now)
        promise = Promise.objects.create(
            organization_id=invoice.organization_id, contact_id=invoice.contact_id, invoice=invoice,
            promised_date=promised, amount=amount, channel=channel, created_at=now,
        )
        log(invoice.organization_id, "promise.recorded", now, contact=invoice.contact, invoice=invoice,
            channel=channel, actor=actor, date=promised, amount=amount)
        if route:
            for enrollment in Enrollment.objects.filter(invoice=invoice, status__in=Enrollment.LIVE):
                route_outcome(enrollment, "promised", now)
        return promise


def mark_promise_broken(invoice: Invoice, now: datetime) -> Promise | None:
    promise = Promise.objects.filter(invoice=invoice, status="pending").order_by("-created_at").first()
    if promise is None:
        return None
    promise.status = "broken"
    promise.resolved_at = now
    promise.save(update_fields=["status", "resolved_at"])
    log(invoice.organization_id, "promise.broken", now, contact=invoice.contact, invoice=invoice,
        date=promise.promised_date)
    return promise


def settle_promises(invoice: Invoice, now: datetime, paid: bool) -> None:
    for promise in Promise.objects.filter(invoice=invoice, status="pending"):
        promise.status = "kept" if paid else "cancelled"
        promise.resolved_at = now
        promise.save(update_fields=["status", "resolved_at"])
        if paid:
            log(invoice.organization_id, "promise.kept", now, contact=invoice.contact, invoice=invoice,
                date=promise.promised_date)
