"""The sync loop: for each connection, a pull every `pull_every` seconds and the outbox drained.

The worker calls `run_due` after its batches (cli: `duedesk worker`); `duedesk crm sync` calls
`sync_connection` once. Connections are claimed like steps — `SKIP LOCKED` on PostgreSQL, a lease that
expires — so two workers never sync the same connection at once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection as db
from django.db import transaction
from django.db.models import Q

from duedesk.integrations.crm import connections, outbox, providers
from duedesk.integrations.crm.base import CrmError
from duedesk.integrations.crm.models import Connection, OutboxItem
from duedesk.integrations.crm.pull import PullResult, pull

logger = logging.getLogger("duedesk.crm")
LEASE = timedelta(minutes=10)


@dataclass
class SyncResult:
    pulled: PullResult | None = None
    pushed: outbox.DrainResult | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = []
        if self.pulled:
            parts.append(f"pulled {self.pulled.seen} contacts ({self.pulled.created} new, {self.pulled.changed} "
                         f"changed)")
        if self.pushed:
            parts.append(f"wrote {self.pushed.written}, {self.pushed.retrying} to retry, {self.pushed.failed} failed")
            if self.pushed.waiting_for is not None:
                parts.append(f"the CRM asked us to wait {self.pushed.waiting_for:g} s")
        parts.extend(self.errors)
        return "; ".join(parts)


def sync_connection(conn: Connection, now: datetime, worker_id: str = "sync", *, do_pull: bool = True,
                    push_limit: int | None = None, progress=None) -> SyncResult:
    result = SyncResult()
    try:
        client = providers.client_for(conn)
    except CrmError as error:
        _pull_failed(conn, error, now, result)
        return result
    if do_pull:
        _, standard = providers.defaults(conn.provider)
        try:
            result.pulled = pull(conn, client, now, standard, progress=progress)
        except CrmError as error:
            _pull_failed(conn, error, now, result)
        else:
            words = ""
            if result.pulled.errors:
                words = f"{len(result.pulled.errors)} contact(s) not applied; first: {result.pulled.errors[0]}"
                result.errors.append(words)
            Connection.objects.filter(pk=conn.pk).update(last_pull_at=now, last_pull_error=words,
                                                          next_pull_at=now + timedelta(seconds=conn.pull_every))
    if conn.status == "active":  # a refused token: writes wait until it is fixed
        result.pushed = outbox.drain(conn, client, now, worker_id, push_limit,
                                     on_auth_failure=connections.token_refused)
    usage = getattr(client, "usage", "")
    if usage and usage != conn.api_usage:
        # Salesforce's count of today's requests (Sforce-Limit-Info), for the status page.
        conn.api_usage = usage
        Connection.objects.filter(pk=conn.pk).update(api_usage=usage[:64])
    return result


def _pull_failed(conn: Connection, error: CrmError, now: datetime, result: SyncResult) -> None:
    words = str(error)
    result.errors.append(words)
    retry = now + timedelta(seconds=error.retry_after or conn.pull_every)
    Connection.objects.filter(pk=conn.pk).update(last_pull_error=words, next_pull_at=retry)
    if error.auth:
        connections.token_refused(conn, words, now)


def claim_due(now: datetime, worker_id: str) -> list[int]:
    """Connections whose pull is due or whose outbox has writes due."""
    with transaction.atomic():
        has_writes = OutboxItem.objects.filter(status="pending", run_at__lte=now).values("connection_id")
        qs = Connection.objects.filter(status="active").filter(
            Q(next_pull_at__lte=now) | Q(next_pull_at__isnull=True) | Q(pk__in=has_writes)).filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now)).order_by("pk")
        if db.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:20])
        if ids:
            Connection.objects.filter(pk__in=ids).update(lease_until=now + LEASE, leased_by=worker_id)
        return ids


def run_due(now: datetime, worker_id: str, push_limit: int = 200) -> int:
    """One round of the sync loop (the worker calls it after each batch). Returns connections synced."""
    ids = claim_due(now, worker_id)
    for conn in Connection.objects.filter(pk__in=ids).select_related("organization"):
        due_pull = conn.next_pull_at is None or conn.next_pull_at <= now
        try:
            sync_connection(conn, now, worker_id, do_pull=due_pull, push_limit=push_limit)
        except Exception:
            logger.exception("CRM sync of connection %s failed; it is tried again next round", conn.pk)
        finally:
            Connection.objects.filter(pk=conn.pk).update(lease_until=None, leased_by="")
    return len(ids)
