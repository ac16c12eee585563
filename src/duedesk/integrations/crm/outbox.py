"""The outbox: every touch the engine writes (a text, a call, a promise, a payment, a handoff) becomes one
row here, in the same transaction as its timeline event, and is written to the CRM by the sync loop.

Rows are claimed like the engine's steps (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, a lease that
expires if a worker dies). A write is never duplicated: a row tried before (its answer lost to a timeout,
or its worker gone) first looks its activity up in the CRM by our event id, and creates it only if the
CRM has none. 429s wait for Retry-After without counting as a failure; an expired token stops the
connection's writes (they wait, nothing is dropped) until the token is fixed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection as db
from django.db import transaction

from duedesk.engine import actions
from duedesk.integrations.crm.base import Client, CrmError
from duedesk.integrations.crm.models import Connection, CrmLink, OutboxItem
from duedesk.integrations.crm.touches import touch_for, wanted
from duedesk.records.models import Contact, Event
from duedesk.records.prepared import Prepared

logger = logging.getLogger("duedesk.crm")

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
LIVE = ("active", "auth_failed")  # an expired token still queues: the writes wait for the fix
_LIVE_CONNECTIONS = Prepared(lambda org_id: Connection.objects.filter(organization_id=org_id, status__in=LIVE)
                             .only("pk", "organization_id").order_by("pk"))


def enqueue_events(events: list[Event]) -> None:
    """Timeline listener: queue the events a connected CRM should see, in the caller's transaction."""
    interesting = [e for e in events if wanted(e)]
    if not interesting:
        return
    orgs = {e.organization_id for e in interesting}
    if len(orgs) == 1:  # a webhook's events: every text asks, so its SQL is built once (records/prepared.py)
        conns = [(c.pk, c.organization_id) for c in _LIVE_CONNECTIONS(*orgs)]
    else:
        conns = list(Connection.objects.filter(organization_id__in=orgs, status__in=LIVE)
                     .values_list("pk", "organization_id"))
    if not conns:
        return
    linked = set(CrmLink.objects.filter(connection_id__in=[c for c, _ in conns],
                                        contact_id__in={e.contact_id for e in interesting})
                 .values_list("connection_id", "contact_id"))
    rows = [OutboxItem(organization_id=e.organization_id, connection_id=c, event=e, contact_id=e.contact_id,
                       run_at=e.at, created_at=e.at)
            for e in interesting for c, org_id in conns
            if org_id == e.organization_id and (c, e.contact_id) in linked]
    if rows:
        OutboxItem.objects.bulk_create(rows, ignore_conflicts=True)


def claim(conn: Connection, worker_id: str, now: datetime, limit: int = 100) -> list[int]:
    with transaction.atomic():
        OutboxItem.objects.filter(connection=conn, status="claimed", lease_until__lt=now).update(
            status="pending", leased_by="", lease_until=None)
        qs = OutboxItem.objects.filter(connection=conn, status="pending", run_at__lte=now).order_by("run_at", "pk")
        if db.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:limit])
        if ids:
            from django.db.models import F

            OutboxItem.objects.filter(pk__in=ids, status="pending").update(
                status="claimed", leased_by=worker_id, lease_until=now + LEASE, attempts=F("attempts") + 1)
        return ids


@dataclass
class DrainResult:
    written: int = 0
    failed: int = 0
    retrying: int = 0
    waiting_for: float | None = None  # seconds the CRM asked us to wait (429)
    stopped: str = ""  # why the connection's writes stopped (a refused token)
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def drain(conn: Connection, client: Client, now: datetime, worker_id: str, limit: int | None = None,
          on_auth_failure=None) -> DrainResult:
    """Write the connection's due outbox rows. Returns what happened, in counts and words."""
    from duedesk.integrations.crm.mapping import mapping_for

    result = DrainResult()
    mapping = mapping_for(conn)
    done = 0
    while limit is None or done < limit:
        ids = claim(conn, worker_id, now, 100 if limit is None else min(100, limit - done))
        if not ids:
            break
        items = list(OutboxItem.objects.filter(pk__in=ids).select_related("event", "event__contact")
                     .order_by("run_at", "pk"))
        for i, item in enumerate(items):
            done += 1
            try:
                _push(conn, client, item, mapping, now)
            except CrmError as error:
                words = str(error)
                if error.auth or error.retry_after is not None:
                    # Not this row's fault: it and the rest of the batch go back, their attempt not counted.
                    rest = [it.pk for it in items[i:]]
                    delay = timedelta(seconds=error.retry_after or 0)
                    OutboxItem.objects.filter(pk__in=rest, status="claimed").update(
                        status="pending", leased_by="", lease_until=None, run_at=now + delay,
                        attempts=_minus_one())
                    if error.auth:
                        result.stopped = words
                        if on_auth_failure:
                            on_auth_failure(conn, words, now)
                    else:
                        result.waiting_for = error.retry_after
                    OutboxItem.objects.filter(pk=item.pk).update(last_error=words)
                    return result
                if error.permanent or item.attempts >= MAX_ATTEMPTS:
                    _finish(item, "failed", now, words)
                    result.failed += 1
                else:
                    OutboxItem.objects.filter(pk=item.pk).update(
                        status="pending", leased_by="", lease_until=None, run_at=now + backoff(item.attempts),
                        last_error=words)
                    result.retrying += 1
                result.errors.append(words)
            else:
                result.written += 1
    return result


def _minus_one():
    from django.db.models import F

    return F("attempts") - 1


def _finish(item: OutboxItem, status: str, now: datetime, error: str = "") -> None:
    OutboxItem.objects.filter(pk=item.pk).update(status=status, done_at=now, leased_by="", lease_until=None,
                                                 last_error=error, crm_id=item.crm_id)


def _push(conn: Connection, client: Client, item: OutboxItem, mapping: dict, now: datetime) -> None:
    crm_id = CrmLink.objects.filter(connection=conn, contact_id=item.contact_id).values_list("crm_id", flat=True)
    crm_id = crm_id.first()
    if crm_id is None:
        raise CrmError("the contact is no longer linked to a CRM record", permanent=True)
    touch = touch_for(item.event, conn.write_balance)
    if touch.kind == "task":
        touch.owner_id = conn.owner_id  # the CRM user who gets handoff tasks
    touch.zone = conn.organization.timezone or "UTC"
    if touch.kind and not item.crm_id:
        # Tried before: the CRM may have made it and the answer was lost. Look before writing again.
        found = client.find_activity(touch, crm_id) if item.attempts > 1 else None
        item.crm_id = found or client.create_activity(touch, crm_id)
        OutboxItem.objects.filter(pk=item.pk).update(crm_id=item.crm_id)
    properties = {mapping[f]: v for f, v in touch.properties.items() if mapping.get(f)}
    if properties:
        client.update_contact(crm_id, properties)
        if "balance" in touch.properties:
            # Written by us: the next pull must not read it as the CRM's own change.
            fields = Contact.objects.values_list("fields", flat=True).get(pk=item.contact_id)
            actions.keep_contact_fields(item.contact_id, {**(fields or {}), "balance": touch.properties["balance"]})
    _finish(item, "done", now)


def counts(conn: Connection) -> dict:
    from django.db.models import Count

    rows = OutboxItem.objects.filter(connection=conn).values("status").annotate(n=Count("id"))
    found = {r["status"]: r["n"] for r in rows}
    return {s: found.get(s, 0) for s, _ in OutboxItem.STATUSES}
