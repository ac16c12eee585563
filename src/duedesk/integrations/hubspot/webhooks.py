"""HubSpot's webhooks: a contact's property changed (or a contact was made) in HubSpot.

Verified first (v3 signature with the app's client secret over DUEDESK_PUBLIC_URL + path, the request no
older than five minutes): anything else gets 401 and changes nothing. Each event is applied once: its
eventId is kept (WebhookReceipt) in the transaction that applies it, so HubSpot's retries are no-ops. A
change to a mapped field goes through the same actions as a pull; a contact duedesk does not know yet
makes the next pull come at once."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from duedesk.intake.crm_fields import CrmFieldError
from duedesk.integrations.crm import credentials
from duedesk.integrations.crm.mapping import mapping_for
from duedesk.integrations.crm.models import Connection, CrmLink, WebhookReceipt
from duedesk.integrations.crm.pull import apply_change
from duedesk.integrations.hubspot.signing import verify

logger = logging.getLogger("duedesk.webhooks")

clock = timezone.now  # tests replace it with their virtual clock


@csrf_exempt
@require_POST
def contact_changes(request, key: str):
    conn = Connection.objects.filter(webhook_key=key, provider="hubspot").select_related("organization").first()
    if conn is None:
        return HttpResponse(status=404)
    now = clock()
    problem = verify(credentials.webhook_secret(conn), "POST", settings.PUBLIC_URL + request.get_full_path(),
                     request.body, request.headers.get("X-HubSpot-Request-Timestamp", ""),
                     request.headers.get("X-HubSpot-Signature-v3", ""), int(now.timestamp() * 1000))
    if problem:
        logger.warning("HubSpot webhook for connection %s refused: %s", conn.pk, problem)
        return HttpResponse(status=401)
    if conn.status == "disconnected":
        return HttpResponse(status=204)  # HubSpot keeps sending until the app's subscription is removed
    try:
        events = json.loads(request.body)
        assert isinstance(events, list)
    except (ValueError, AssertionError):
        return HttpResponse("body: expected a JSON list of events", status=400)
    mapping = {prop: field for field, prop in mapping_for(conn).items()}
    for event in events:
        handle(conn, event, mapping, now)
    return HttpResponse(status=204)


def handle(conn: Connection, event: dict, by_property: dict, now) -> None:
    delivery = str(event.get("eventId", ""))
    kind = str(event.get("subscriptionType", ""))
    object_id = str(event.get("objectId", ""))
    if not delivery or not object_id:
        return
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(connection=conn, delivery_id=delivery, received_at=now)
            link = CrmLink.objects.filter(connection=conn, crm_id=object_id).select_related("contact").first()
            if link is None or kind == "contact.creation":
                Connection.objects.filter(pk=conn.pk).update(next_pull_at=now)  # the pull brings it in whole
                return
            if kind != "contact.propertyChange" or event.get("propertyName") not in by_property:
                return
            apply_change(conn, link.contact, {event["propertyName"]: event.get("propertyValue")}, now)
    except IntegrityError:
        return  # delivered before: applied once already
    except CrmFieldError as error:
        logger.warning("HubSpot webhook event %s for contact %s not applied: %s", delivery, object_id, error)
