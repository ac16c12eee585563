"""The record an auditor asks for: every attempt (text, email, call) with its channel, time, outcome, consent
basis and a SHA-256 of its content, as CSV; and the retention purge, which keeps the suppression list.

Attempts are Message and Call rows: they outlive a deleted contact (their contact link is set to null), so
an export by date still lists them.
"""

from __future__ import annotations

import csv
import heapq
from datetime import datetime, timedelta
from typing import TextIO

from django.conf import settings

from duedesk.records.models import Call, Event, Message, Organization

COLUMNS = ("organization", "channel", "at", "direction", "to", "contact_id", "invoice", "outcome",
           "consent_basis", "content_sha256", "provider_id")


def attempts(*, organization: Organization | None = None, contact_id: int | None = None,
             start: datetime | None = None, end: datetime | None = None):
    """Every attempt, oldest first: outgoing texts and emails, and calls. Streamed: the two tables are read in
    order over a cursor and merged, so a long history never sits in memory."""
    # Only the columns a row shows (no message body, no call's encrypted dialog state to decrypt).
    shown = ("organization", "organization__slug", "invoice", "invoice__external_ref", "created_at", "to", "contact_id", "consent_basis",
             "content_sha256", "provider_id")
    messages = (Message.objects.filter(direction="out").select_related("organization", "invoice")
                .only(*shown, "direction", "channel", "status"))
    calls = Call.objects.select_related("organization", "invoice").only(*shown, "outcome", "status")
    if organization is not None:
        messages, calls = messages.filter(organization=organization), calls.filter(organization=organization)
    if contact_id is not None:
        messages, calls = messages.filter(contact_id=contact_id), calls.filter(contact_id=contact_id)
    if start is not None:
        messages, calls = messages.filter(created_at__gte=start), calls.filter(created_at__gte=start)
    if end is not None:
        messages, calls = messages.filter(created_at__lt=end), calls.filter(created_at__lt=end)
    texts = (_row(m, m.channel, m.status) for m in messages.order_by("created_at", "pk").iterator(chunk_size=500))
    voice = (_row(c, "call", c.outcome or c.status)
             for c in calls.order_by("created_at", "pk").iterator(chunk_size=500))
    return heapq.merge(texts, voice, key=lambda r: (r["_at"], r["channel"]))


def _row(record, channel: str, outcome: str) -> dict:
    return {
        "organization": record.organization.slug, "channel": channel, "at": record.created_at.isoformat(),
        "direction": getattr(record, "direction", "out"), "to": record.to, "contact_id": record.contact_id or "",
        "invoice": record.invoice.external_ref if record.invoice else "", "outcome": outcome,
        "consent_basis": record.consent_basis, "content_sha256": record.content_sha256,
        "provider_id": record.provider_id, "_at": record.created_at,
    }


def write_csv(out: TextIO, rows) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
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
