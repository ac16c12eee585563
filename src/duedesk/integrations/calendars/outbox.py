"""The calendar outbox: what the connected calendars should show, written by the worker.

- A promise's change (recorded, kept, broken, cancelled with its invoice) marks its CalendarItem on every
  connected billing calendar pending, in the transaction of the change (a timeline listener).
- A callback the patient asked for ("call me back Thursday afternoon") makes a CalendarItem on the calendar
  of the person who takes callbacks; the worker finds their first free slot in business hours, books it and
  moves the planned call there (engine verb book_call).
- `drain(now)` claims due rows as the CRM outbox does (SKIP LOCKED on PostgreSQL, a lease that expires if a
  worker dies) and writes what each event should say *now*, so a row tried twice writes the same thing.
  A calendar that is down keeps its rows pending (backoff, Retry-After); a refused sign-in stops that
  connection's writes until the person connects again; nothing is dropped and nothing is made twice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import F, Q

from duedesk.core import timing
from duedesk.integrations.calendars import feed
from duedesk.integrations.calendars.base import CalendarError, Entry, Gone
from duedesk.integrations.calendars.models import CalendarItem, Connection
from duedesk.records.models import Event, Organization, Promise

logger = logging.getLogger("duedesk.calendars")

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
SLOT = timedelta(minutes=15)  # a callback's length on the calendar
PROMISE_NEWS = ("promise.", "invoice.", "payment.")


def promise_key(promise: Promise) -> str:
    return promise_key_for(promise.organization_id, promise.pk)


def promise_key_for(org_id: int, promise_id: int) -> str:
    # Google event ids allow only 0-9 and a-v (base32hex); the same key is Graph's transactionId.
    return f"duedesk{org_id}p{promise_id}"


def callback_key(org_id: int, step_id: int) -> str:
    return f"duedesk{org_id}c{step_id}"


# ------------------------------------------------------------------------------------------ queueing

def enqueue_events(events: list[Event]) -> None:
    """Timeline listener: the promises and callbacks a connected calendar should hear about, queued in the
    caller's transaction."""
    invoices = {e.invoice_id for e in events if e.invoice_id and e.kind.startswith(PROMISE_NEWS)}
    callbacks = [e for e in events if e.kind == "call.retry_planned" and e.detail.get("asked_by_patient")
                 and e.detail.get("planned_step")]
    if not invoices and not callbacks:
        return
    orgs = {e.organization_id for e in events}
    conns = list(Connection.objects.filter(organization_id__in=orgs, status="active")
                 .filter(Q(promises=True) | Q(callbacks=True)).order_by("pk"))
    if not conns:
        return
    at = max(e.at for e in events)
    if invoices:
        _queue_promises(invoices, [c for c in conns if c.promises], at)
        # A booked callback whose invoice changed (paid, say): its call may be cancelled, and its event with it.
        for item in CalendarItem.objects.filter(kind="callback", step__enrollment__invoice_id__in=invoices,
                                                status="done").exclude(provider_event_id=""):
            _queue(item.connection, "callback", item.key, at)
    for event in callbacks:
        takers = [c for c in conns if c.callbacks and c.organization_id == event.organization_id]
        if takers:  # the first connected person who takes callbacks is the callback's assignee
            _queue(takers[0], "callback", callback_key(event.organization_id, event.detail["planned_step"]), at,
                   step_id=event.detail["planned_step"],
                   detail={"part": event.detail.get("part"), "planned_at": event.detail.get("next_attempt")})


def _queue_promises(invoice_ids: set[int], conns: list[Connection], at: datetime) -> None:
    """The invoices' pending promises, and those already on a calendar (to update or remove), one row per
    promise and calendar, in one statement."""
    if not conns:
        return
    promises = (Promise.objects.filter(invoice_id__in=invoice_ids)
                .filter(Q(status="pending") | Q(calendar_items__isnull=False)).distinct()
                .values_list("pk", "organization_id"))
    rows = [_row(conn, "promise", promise_key_for(org_id, pk), at, promise_id=pk)
            for pk, org_id in promises for conn in conns if conn.organization_id == org_id]
    _upsert_rows(rows)


def _row(conn: Connection, kind: str, key: str, at: datetime, **fields) -> CalendarItem:
    return CalendarItem(organization_id=conn.organization_id, connection=conn, kind=kind, key=key, run_at=at,
                        created_at=at, status="pending", attempts=0, **fields)


def _upsert_rows(rows: list[CalendarItem]) -> None:
    """New rows made, known ones marked pending again (their provider event id and what was written kept)."""
    if rows:
        CalendarItem.objects.bulk_create(rows, update_conflicts=True, unique_fields=["connection", "key"],
                                         update_fields=["status", "run_at", "attempts", "done_at", "last_error"])


def _queue(conn: Connection, kind: str, key: str, at: datetime, **fields) -> None:
    _upsert_rows([_row(conn, kind, key, at, **fields)])


def queue_all_promises(conn: Connection, now: datetime) -> None:
    """A newly connected billing calendar gets the organization's pending promises."""
    for promise in Promise.objects.filter(organization_id=conn.organization_id, status="pending"):
        _queue(conn, "promise", promise_key(promise), now, promise_id=promise.pk)


# ------------------------------------------------------------------------------------------ writing

def client_for(conn: Connection):
    if conn.provider == "google":
        from duedesk.integrations.calendars.google import GoogleCalendar

        return GoogleCalendar(conn.tokens, conn.calendar_id or "primary")
    from duedesk.integrations.calendars.graph import GraphCalendar

    return GraphCalendar(conn.tokens, conn.calendar_id)


def claim(worker_id: str, now: datetime, limit: int = 50) -> list[int]:
    with transaction.atomic():
        CalendarItem.objects.filter(status="claimed", lease_until__lt=now).update(
            status="pending", leased_by="", lease_until=None)
        qs = (CalendarItem.objects.filter(status="pending", run_at__lte=now, connection__status="active")
              .order_by("run_at", "pk"))
        if db.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        ids = list(qs.values_list("pk", flat=True)[:limit])
        if ids:
            CalendarItem.objects.filter(pk__in=ids, status="pending").update(
                status="claimed", leased_by=worker_id, lease_until=now + LEASE, attempts=F("attempts") + 1)
        return ids


def drain(now: datetime, worker_id: str = "worker", limit: int = 50) -> int:
    """Write the due rows; returns how many were written."""
    written = 0
    ids = claim(worker_id, now, limit)
    items = list(CalendarItem.objects.filter(pk__in=ids).select_related("connection", "organization")
                 .order_by("run_at", "pk"))
    clients: dict[int, object] = {}
    resting: dict[int, datetime] = {}  # calendars that did not answer or asked us to wait: not asked again now
    try:
        for item in items:
            conn = item.connection
            if conn.status != "active":
                _release(item, now, None, "the calendar is not connected")
                continue
            if conn.pk in resting:
                # One timeout per calendar per round, not one per row: a calendar that hangs must not hold
                # the worker's next batch for the whole claim.
                CalendarItem.objects.filter(pk=item.pk).update(status="pending", leased_by="", lease_until=None,
                                                               run_at=resting[conn.pk], attempts=F("attempts") - 1)
                continue
            try:
                client = clients.get(conn.pk) or clients.setdefault(conn.pk, client_for(conn))
                _write(item, client, now)
            except CalendarError as error:
                _failed(item, conn, error, now)
                if error.retry_after is not None or error.auth:
                    resting[conn.pk] = now + timedelta(seconds=error.retry_after or 300)
            else:
                written += 1
            finally:
                _keep_tokens(conn, clients.get(conn.pk))
    finally:
        for client in clients.values():
            if hasattr(client, "close"):
                client.close()
    return written


def _keep_tokens(conn: Connection, client) -> None:
    fresh = client.tokens() if client is not None else None
    if fresh and fresh != conn.tokens:
        conn.tokens = {**conn.tokens, **fresh}
        Connection.objects.filter(pk=conn.pk).update(tokens=conn.tokens)


def _release(item: CalendarItem, now: datetime, run_at: datetime | None, error: str) -> None:
    CalendarItem.objects.filter(pk=item.pk).update(status="pending", leased_by="", lease_until=None,
                                                   run_at=run_at or now + timedelta(minutes=5), last_error=error[:300])


def _failed(item: CalendarItem, conn: Connection, error: CalendarError, now: datetime) -> None:
    words = str(error)[:300]
    logger.warning("calendar %s item %s: %s", conn.pk, item.pk, words)
    if error.auth:
        # The person must connect again: this connection's rows wait, nothing is dropped.
        Connection.objects.filter(pk=conn.pk).update(status="auth_failed", last_error=words)
        CalendarItem.objects.filter(pk=item.pk).update(status="pending", leased_by="", lease_until=None,
                                                       attempts=F("attempts") - 1, last_error=words)
        conn.status = "auth_failed"
        return
    if error.permanent or item.attempts >= MAX_ATTEMPTS:
        _finish(item, "failed", now, words)
        return
    wait = timedelta(seconds=error.retry_after) if error.retry_after else timedelta(seconds=30 * 2 ** item.attempts)
    _release(item, now, now + max(wait, timedelta(seconds=30 * 2 ** (item.attempts - 1))), words)


def _finish(item: CalendarItem, status: str, now: datetime, error: str = "", **fields) -> None:
    CalendarItem.objects.filter(pk=item.pk).update(status=status, done_at=now, leased_by="", lease_until=None,
                                                   last_error=error[:300], **fields)


def _write(item: CalendarItem, client, now: datetime) -> None:
    if item.kind == "promise":
        _write_promise(item, client, now)
    else:
        _write_callback(item, client, now)


def promise_entry(item: CalendarItem, promise: Promise) -> Entry:
    org = item.organization
    link = f"{settings.PUBLIC_URL}/contacts/{promise.contact_id}/"
    return Entry(key=item.key, title=feed.promise_title(promise), description=f"Open in duedesk: {link}",
                 timezone=org.timezone, day=promise.promised_date)


def _write_promise(item: CalendarItem, client, now: datetime) -> None:
    promise = Promise.objects.select_related("invoice").filter(pk=item.promise_id).first()
    if promise is None or promise.status == "cancelled":
        # Superseded by a new promise, or cancelled with its invoice: off the calendar.
        if item.provider_event_id:
            client.delete(item.provider_event_id)
        _finish(item, "done", now, written={})
        return
    entry = promise_entry(item, promise)
    wanted = {"title": entry.title, "day": entry.day.isoformat()}
    if item.written == wanted:
        _finish(item, "done", now)
        return
    event_id = _upsert(item, client, entry)
    _finish(item, "done", now, provider_event_id=event_id, written=wanted)


def _upsert(item: CalendarItem, client, entry: Entry) -> str:
    if item.provider_event_id:
        try:
            return client.update(item.provider_event_id, entry)
        except Gone:
            # Deleted on the calendar by someone: made again (Graph), or, on Google where a deleted id stays
            # taken, under a new key.
            if item.connection.provider == "google":
                # Derived from the deleted id, so a retry of this create finds it (409) rather than making two.
                fresh = client.create(Entry(**{**entry.__dict__, "key": f"{item.provider_event_id}r"}))
                CalendarItem.objects.filter(pk=item.pk).update(provider_event_id=fresh)
                return fresh
            CalendarItem.objects.filter(pk=item.pk).update(provider_event_id="")
    event_id = client.create(entry)
    # Stored at once: if the rest of this row fails, the next try updates rather than creates.
    CalendarItem.objects.filter(pk=item.pk).update(provider_event_id=event_id)
    return event_id


# ------------------------------------------------------------------------------------------ callbacks

def _write_callback(item: CalendarItem, client, now: datetime) -> None:
    from duedesk.engine.actions.calls import book_call
    from duedesk.engine.models import Step

    step = Step.objects.select_related("enrollment__invoice").filter(pk=item.step_id).first()
    if step is None or step.status != "pending":
        if item.provider_event_id and (step is None or step.status == "cancelled"):
            # The call will not be made (the invoice was paid, say): the time is given back.
            client.delete(item.provider_event_id)
            _finish(item, "done", now, provider_event_id="", written={})
            return
        _finish(item, "done", now)
        return
    if item.provider_event_id:  # booked already; the call's move may be what is left
        slot = datetime.fromisoformat(item.written["start"])
        if step.run_at != slot:
            book_call(step.pk, slot, now, calendar=item.connection.provider)
        _finish(item, "done", now)
        return
    org = item.organization
    start, end = _search_window(org, step.run_at, item.detail.get("part"), now)
    if start is None:
        _finish(item, "done", now, "no business hours left that day; the call stays as planned")
        return
    busy = client.busy(start, end)
    slot = first_free(start, end, busy)
    if slot is None:
        _finish(item, "done", now, "no free time then on the calendar; the call stays as planned")
        return
    invoice = step.enrollment.invoice
    entry = Entry(key=item.key, title=f"Call back: {invoice.external_ref} (duedesk calls the patient)",
                  description=f"The patient asked to be called back. Open in duedesk: "
                              f"{settings.PUBLIC_URL}/contacts/{invoice.contact_id}/",
                  timezone=org.timezone, start=slot, end=slot + SLOT, busy=True)
    event_id = client.create(entry)
    written = {"start": slot.isoformat(), "end": (slot + SLOT).isoformat()}
    CalendarItem.objects.filter(pk=item.pk).update(provider_event_id=event_id, written=written)
    book_call(step.pk, slot, now, calendar=item.connection.provider)
    _finish(item, "done", now, provider_event_id=event_id, written=written)


def _search_window(org: Organization, planned: datetime, part: str | None, now: datetime):
    """Where to look for the slot: the planned call's local day, within business hours and the part of the
    day the patient named, from now on."""
    day: date = timing.local_date(planned, org.timezone)
    opens, closes = org.business_hours_start, org.business_hours_end
    if part in timing.PARTS_OF_DAY:
        part_start, part_end = timing.PARTS_OF_DAY[part]
        opens, closes = max(opens, part_start), min(closes, part_end)
    if opens >= closes:
        return None, None
    start = max(timing.wall_to_utc(day, opens, org.timezone), planned if part is None else now, now)
    end = timing.wall_to_utc(day, closes, org.timezone)
    start = _round_up(start)
    return (start, end) if start + SLOT <= end else (None, None)


def _round_up(moment: datetime) -> datetime:
    extra = (moment.minute % 15) * 60 + moment.second + moment.microsecond / 1e6
    return moment if not extra else moment + timedelta(seconds=15 * 60 - extra)


def first_free(start: datetime, end: datetime, busy) -> datetime | None:
    moment = start
    while moment + SLOT <= end:
        clash = [b for b in busy if b.start < moment + SLOT and b.end > moment]
        if not clash:
            return moment
        moment = _round_up(max(b.end for b in clash))
    return None


def tick(now: datetime, worker_id: str = "worker") -> int:
    total = 0
    while True:
        written = drain(now, worker_id)
        total += written
        if not written:
            return total
