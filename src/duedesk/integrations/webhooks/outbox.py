"""Turning timeline events into deliveries, and delivering them.

- `queue(now)`: for each enabled endpoint, new timeline events of its organization (past its cursor) of the
  types it wants become Delivery rows; the endpoint row is locked while its cursor moves, so two workers
  never queue one event twice.
- `deliver_due(now)`: each endpoint's oldest waiting delivery is sent when its time has come. One at a time
  per endpoint, oldest first, so a receiver sees an invoice's events in order, even after being down. A
  failure waits (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 20 h: about three days; longer when the
  receiver's Retry-After says so); after the last, the delivery is given up, the endpoint is switched off
  and its organization's owners are told once.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from duedesk.integrations.webhooks import catalogue
from duedesk.integrations.webhooks.models import Attempt, Delivery, Endpoint
from duedesk.records.models import Event, Membership

logger = logging.getLogger("duedesk.webhooks.outbound")
BACKOFF = [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=5), timedelta(hours=10), timedelta(hours=14), timedelta(hours=20), timedelta(hours=20)]
QUEUE_CHUNK = 500
TIMEOUT = 10.0


def queue(now: datetime) -> int:
    made = 0
    for endpoint_id in Endpoint.objects.filter(enabled=True).values_list("pk", flat=True):
        made += _queue_for(endpoint_id, now)
    return made


def _queue_for(endpoint_id: int, now: datetime) -> int:
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id, enabled=True).first()
        if endpoint is None:
            return 0
        kinds = [kind for name, (kind, _) in catalogue.TYPES.items() if endpoint.wants(name)]
        events = list(Event.objects.filter(organization_id=endpoint.organization_id, pk__gt=endpoint.last_event_id)
                      .order_by("pk").select_related("invoice", "organization")[:QUEUE_CHUNK])
        if not events:
            return 0
        rows = []
        for event in events:
            if event.kind not in kinds:
                continue
            kind = catalogue.KIND_TO_TYPE[event.kind]
            if endpoint.kind == "chat" and kind != "handoff.opened":
                continue
            rows.append(Delivery(endpoint=endpoint, event=event, message_id=f"msg_{endpoint.pk}_{event.pk}", type=kind,
                                 payload=catalogue.payload(event, kind, endpoint.include_transcripts),
                                 next_attempt_at=now, created_at=now))
        Delivery.objects.bulk_create(rows)
        endpoint.last_event_id = events[-1].pk
        endpoint.save(update_fields=["last_event_id"])
        return len(rows)


def deliver_due(now: datetime, *, client: httpx.Client | None = None, limit: int = 50) -> int:
    """Send each endpoint's oldest waiting delivery whose time has come; returns how many were tried."""
    tried = 0
    own = None  # made when a delivery is due: a client loads the system's certificates (tens of ms)
    try:
        for endpoint in Endpoint.objects.filter(enabled=True).select_related("organization"):
            while tried < limit:
                delivery = _take_head(endpoint, now)
                if delivery is None:
                    break
                tried += 1
                if client is None:
                    client = own = httpx.Client(timeout=TIMEOUT)
                if not _attempt(client, endpoint, delivery, now):
                    break  # the endpoint's queue waits behind its oldest
    finally:
        if own is not None:
            own.close()
    return tried


def _take_head(endpoint: Endpoint, now: datetime) -> Delivery | None:
    with transaction.atomic():
        # Not SKIP LOCKED: a worker must never jump past a head another worker is holding (order per endpoint).
        head = Delivery.objects.select_for_update().filter(endpoint=endpoint, status="pending").order_by("pk").first()
        if head is None or head.next_attempt_at > now:
            return None
        # Hold it a minute so another worker leaves this endpoint alone while the request is out.
        Delivery.objects.filter(pk=head.pk).update(next_attempt_at=now + timedelta(minutes=1))
        return head


def send(client: httpx.Client, endpoint: Endpoint, message_id: str, body: str) -> httpx.Response:
    if endpoint.kind == "chat":
        return client.post(endpoint.url, json={"text": json.loads(body)["text"]})
    # The signature's timestamp is the real moment of sending: receivers check it against their own clock.
    sent_at = datetime.fromtimestamp(time.time()).astimezone()
    signature = Webhook(endpoint.secret).sign(message_id, sent_at, body)
    return client.post(endpoint.url, content=body, headers={
        "content-type": "application/json", "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())), "webhook-signature": signature})


def _body(endpoint: Endpoint, delivery: Delivery) -> str:
    if endpoint.kind == "chat":
        data = delivery.payload["data"]
        link = f"{settings.PUBLIC_URL}/inbox/{data.get('handoff_id', '')}/"
        return json.dumps({"text": f"[{endpoint.organization.name}] A conversation needs a person "
                                   f"({data.get('reason', '').replace('_', ' ')}): {link}"})
    return json.dumps(delivery.payload, separators=(",", ":"))


def _attempt(client: httpx.Client, endpoint: Endpoint, delivery: Delivery, now: datetime) -> bool:
    started = time.perf_counter()
    status, excerpt, error, retry_after = None, "", "", None
    try:
        response = send(client, endpoint, delivery.message_id, _body(endpoint, delivery))
        status, excerpt = response.status_code, response.text[:500]
        retry_after = _retry_after(response.headers.get("retry-after"), now)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    latency = int((time.perf_counter() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    with transaction.atomic():
        Attempt.objects.create(delivery=delivery, at=now, status_code=status, latency_ms=latency,
                               response_excerpt=excerpt, error=error)
        delivery.attempts += 1
        delivery.last_status, delivery.last_error = status, error or ("" if ok else f"HTTP {status}")
        if ok:
            delivery.status, delivery.delivered_at = "delivered", now
        elif delivery.attempts > len(BACKOFF):
            delivery.status = "failed"
        else:
            wait = BACKOFF[delivery.attempts - 1]
            delivery.next_attempt_at = max(now + wait, retry_after or now)
        delivery.save(update_fields=["attempts", "last_status", "last_error", "status", "delivered_at",
                                     "next_attempt_at"])
    if delivery.status == "failed":
        switch_off(endpoint, now, f"gave up on {delivery.message_id} after {delivery.attempts} attempts")
    return ok


def _retry_after(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        return now + timedelta(seconds=int(value))
    except ValueError:
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None


def switch_off(endpoint: Endpoint, now: datetime, reason: str) -> None:
    """An endpoint failing for days is switched off and its owners told, once."""
    with transaction.atomic():
        changed = Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(enabled=False, disabled_reason=reason)
    if not changed:
        return
    logger.warning("webhook endpoint %s switched off: %s", endpoint.pk, reason)
    owners = [m.user.email for m in Membership.objects.filter(organization=endpoint.organization_id, role="owner")
              .select_related("user") if m.user.email]
    if owners:
        try:
            send_mail(f"[{endpoint.organization.name}] A webhook endpoint was switched off",
                      f"duedesk could not deliver to {endpoint.url} for about three days ({reason}).\n"
                      f"Fix the receiver, then switch it back on: {settings.PUBLIC_URL}/settings/webhooks/\n",
                      endpoint.organization.email_from or settings.DEFAULT_FROM_EMAIL, owners)
        except Exception:
            logger.exception("could not tell the owners about endpoint %s", endpoint.pk)


def replay(delivery: Delivery, now: datetime) -> Delivery:
    """Deliver a message once more, with the same webhook-id (receivers drop it if they already have it)."""
    return Delivery.objects.create(endpoint=delivery.endpoint, event=delivery.event, message_id=delivery.message_id,
                                   type=delivery.type, payload=delivery.payload, next_attempt_at=now, created_at=now)


def test_event(endpoint: Endpoint, now: datetime, webhook_type: str = "payment.recorded") -> Delivery:
    return Delivery.objects.create(endpoint=endpoint, message_id=f"msg_test_{endpoint.pk}_{int(now.timestamp())}",
                                   type=webhook_type, payload=catalogue.example(webhook_type), next_attempt_at=now,
                                   created_at=now)


def start_cursor(endpoint: Endpoint) -> None:
    """A new endpoint hears what happens from now on, not the organization's whole history."""
    last = Event.objects.filter(organization_id=endpoint.organization_id).order_by("-pk").values_list("pk", flat=True)
    endpoint.last_event_id = last.first() or 0


def tick(now: datetime) -> int:
    """One round for the worker: queue new events, then deliver what is due."""
    queue(now)
    return deliver_due(now)
