"""Writing the timeline. Callers run inside the transaction of the change the event reports."""

from __future__ import annotations

from datetime import datetime

from duedesk.records.models import Contact, Event, Handoff, Invoice, Organization


def log(org: Organization | int, kind: str, at: datetime, **fields) -> Event:
    """Write one Event now; `fields` are event()'s: contact, invoice, handoff, channel, actor, then detail."""
    ev = event(org, kind, at, **fields)
    ev.save()
    return ev


def event(
    org: Organization | int,
    kind: str,
    at: datetime,
    *,
    contact: Contact | None = None,
    invoice: Invoice | None = None,
    handoff: Handoff | None = None,
    channel: str = "",
    actor: str = "duedesk",
    **detail,
) -> Event:
    """An unsaved Event, for callers that write many at once with bulk_create."""
    org_id = org if isinstance(org, int) else org.pk
    return Event(
        organization_id=org_id,
        kind=kind,
        at=at,
        contact=contact,
        invoice=invoice,
        handoff=handoff,
        channel=channel,
        actor=actor,
        detail=jsonable(detail),
    )


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
