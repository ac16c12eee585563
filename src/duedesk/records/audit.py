"""The record an auditor asks for: every attempt (text, email, call) with its channel, time, outcome, consent
basis and a SHA-256 of its content, as CSV; and the retention purge, which keeps the suppression list.

Attempts are Message and Call rows: they outlive a deleted contact (their contact link is set to null), so
an export by date still lists them.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from typing import TextIO

from django.conf import settings

from duedesk.records.models import Call, Event, Message, Organization

COLUMNS = ("organization", "channel", "at", "direction", "to", "contact_id", "invoice", "outcome",
           "consent_basis", "content_sha256", "provider_id")


def attempts(*, contact_id: int | None = None, start: datetime | None = None, end: datetime | None = None):
    """Every attempt, oldest first: outgoing texts and emails, and calls."""
    messages = Message.objects.filter(direction="out").select_related("organization", "invoice")
    calls = Call.objects.select_related("organization", "invoice")
    if contact_id is not None:
        messages, calls = messages.filter(contact_id=contact_id), calls.filter(contact_id=contact_id)
    if start is not None:
        messages, calls = messages.filter(created_at__gte=start), calls.filter(created_at__gte=start)
    if end is not None:
        messages, calls = messages.filter(created_at__lt=end), calls.filter(created_at__lt=end)
    rows = [_row(m, m.channel, m.status) for m in messages] + [_row(c, "call", c.outcome or c.status) for c in calls]
    return sorted(rows, key=lambda r: (r["at"], r["channel"]))


def _row(record, channel: str, outcome: str) -> dict:
    return {
        "organization": record.organization.slug, "channel": channel, "at": record.created_at.isoformat(),
        "direction": getattr(record, "direction", "out"), "to": record.to, "contact_id": record.contact_id or "",
        "invoice": record.invoice.external_ref if record.invoice else "", "outcome": outcome,
        "consent_basis": record.consent_basis, "content_sha256": record.content_sha256,
        "provider_id": record.provider_id,
    }


def write_csv(out: TextIO, rows) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def purge(now: datetime) -> dict[str, int]:
    """Delete attempts and timeline events older than each organization's retention (its own setting, else
    DUEDESK_RETENTION_DAYS, default 7 years). Lines and their history (the suppression list) are kept."""
    deleted = {"events": 0, "messages": 0, "calls": 0}
    for org in Organization.objects.all():
        cutoff = now - timedelta(days=org.retention_days or settings.RETENTION_DAYS)
        deleted["events"] += Event.objects.filter(organization=org, at__lt=cutoff).delete()[0]
        deleted["messages"] += Message.objects.filter(organization=org, created_at__lt=cutoff).delete()[0]
        deleted["calls"] += Call.objects.filter(organization=org, created_at__lt=cutoff).delete()[0]
    return deleted
