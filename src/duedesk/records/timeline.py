"""Writing the timeline. Callers run inside the transaction of the change the event reports."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from duedesk.records import bulk, instances
from duedesk.records.models import Contact, Event, Handoff, Invoice, Organization

# Called with the events just written, inside the same transaction (e.g. the CRM outbox queues its writes
# there, so a touch and its CRM write commit together). Layers above register in their app's ready().
_listeners: list[Callable[[list[Event]], None]] = []
_held = threading.local()  # events written inside told_once(), told at its end


def on_written(listener: Callable[[list[Event]], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def log(org: Organization | int, kind: str, at: datetime, **fields) -> Event:
    """Write one Event now; `fields` are event()'s: contact, invoice, handoff, channel, actor, then detail."""
    ev = event(org, kind, at, **fields)
    ev.save()
    _tell([ev])
    return ev


def log_with(row, org: Organization | int, kind: str, at: datetime, **fields) -> Event:
    """Write a new `row` (a text, say) and the Event that reports it, in one round trip (bulk.insert_each);
    `fields` as log()'s."""
    ev = event(org, kind, at, **fields)
    bulk.insert_each([row, ev])
    _tell([ev])
    return ev


def _tell(events: list[Event]) -> None:
    held = getattr(_held, "events", None)
    if held is not None:
        held.extend(events)
        return
    for listener in _listeners:
        listener(events)


@contextmanager
def told_once() -> Iterator[None]:
    """Tell the listeners once, at the end of the block, about every event written in it: a webhook writes a
    few events, and the CRM outbox then looks its connections up once rather than per event. Use it inside
    the transaction, around code that does not swallow a rolled-back savepoint's errors (an exception drops
    what was held, as its transaction is rolled back). Nested blocks tell at the outermost one's end."""
    if getattr(_held, "events", None) is not None:
        yield
        return
    _held.events = []
    try:
        yield
        events = _held.events
    finally:
        _held.events = None
    if events:
        _tell(events)


def save_all(events: list[Event]) -> list[Event]:
    """Write many events at once (records/bulk.py: COPY on PostgreSQL), telling the listeners as log() does."""
    written = bulk.insert(events)
    if written:
        _tell(written)
    return written


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
    return instances.build(
        Event, organization_id=org_id,
        kind=kind,
        at=at,
        # Ids, not the objects: quicker to build by the hundred, and the timeline only keeps the ids.
        contact_id=contact.pk if contact is not None else None,
        invoice_id=invoice.pk if invoice is not None else None,
        handoff_id=handoff.pk if handoff is not None else None,
        channel=channel,
        actor=actor,
        detail=jsonable(detail),
    )


_AS_IS = (str, int, float, bool)  # exact types jsonable returns unchanged: not asked again, value by value


def jsonable(value):
    if isinstance(value, dict):
        return {k: v if type(v) in _AS_IS else jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
