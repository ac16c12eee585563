"""Pipedrive's webhooks: a person was added, changed or deleted in Pipedrive.

Pipedrive signs nothing; a webhook carries the basic-auth user and password given when it was made
(Settings → Tools and apps → Webhooks → HTTP Auth). duedesk checks them against the connection's webhook
secret (user `duedesk`) before reading the body: anything else gets 401 and changes nothing. Each delivery
is applied once: its `meta.id` (v2; else a digest of the body, which Pipedrive's retries repeat) is kept
(WebhookReceipt) in the transaction that applies it. A change to a mapped field of a person duedesk knows
goes through the same actions as a pull; a person duedesk does not know yet makes the next pull come at
once (it brings the person in whole)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from duedesk.intake.crm_fields import CrmFieldError
from duedesk.integrations.crm import credentials, providers
from duedesk.integrations.crm.base import CrmError
from duedesk.integrations.crm.models import Connection, CrmLink, WebhookReceipt
from duedesk.integrations.crm.pull import apply_change
from duedesk.integrations.pipedrive.client import person_record

logger = logging.getLogger("duedesk.webhooks")

USER = "duedesk"
clock = timezone.now  # tests replace it with their virtual clock


def authorized(header: str, password: str) -> str:
    """'' when the Authorization header carries user `duedesk` and the password, else why not (for the log)."""
    if not password:
        return "no webhook password configured for this connection"
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return "no basic auth"
    try:
        user, _, given = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "basic auth is not base64"
    ok_user = hmac.compare_digest(user.encode(), USER.encode())
    ok_password = hmac.compare_digest(given.encode(), password.encode())
    return "" if ok_user and ok_password else "wrong user or password"


def unauthorized() -> HttpResponse:
    response = HttpResponse(status=401)
    response["WWW-Authenticate"] = 'Basic realm="duedesk"'
    return response


@csrf_exempt
@require_POST
def person_changes(request, key: str):
    conn = Connection.objects.filter(webhook_key=key, provider="pipedrive").select_related("organization").first()
    if conn is None:
        return HttpResponse(status=404)
    problem = authorized(request.headers.get("Authorization", ""), credentials.webhook_secret(conn))
    if problem:
        logger.warning("Pipedrive webhook for connection %s refused: %s", conn.pk, problem)
        return unauthorized()
    if conn.status == "disconnected":
        return HttpResponse(status=204)  # Pipedrive keeps sending until the webhook is deleted there
    try:
        payload = json.loads(request.body)
        meta = payload["meta"]
        assert isinstance(payload, dict) and isinstance(meta, dict)
    except (ValueError, KeyError, TypeError, AssertionError):
        return HttpResponse("body: expected Pipedrive's webhook JSON with data and meta", status=400)
    handle(conn, payload, request.body, clock())
    return HttpResponse(status=204)


def handle(conn: Connection, payload: dict, raw: bytes, now) -> None:
    meta = payload["meta"]
    entity = str(meta.get("entity") or meta.get("object") or "")
    action = str(meta.get("action") or "")
    person = payload.get("data") or payload.get("current")
    delivery = str(meta.get("id") or "") or hashlib.sha256(raw).hexdigest()
    if entity != "person" or not isinstance(person, dict) or person.get("id") is None:
        return
    fields = None
    if action in ("change", "updated"):
        try:
            fields = providers.client_for(conn).fields()
        except CrmError as error:
            logger.warning("Pipedrive webhook %s: person fields unreadable (%s); the next pull brings it", delivery,
                           error)
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(connection=conn, delivery_id=delivery[:100], received_at=now)
            link = CrmLink.objects.filter(connection=conn, crm_id=str(person["id"])).select_related("contact").first()
            if link is None or fields is None:
                if action != "delete" and action != "deleted":
                    Connection.objects.filter(pk=conn.pk).update(next_pull_at=now)  # the pull brings it in whole
                return
            apply_change(conn, link.contact, person_record(person, fields).properties, now)
    except IntegrityError:
        return  # delivered before: applied once already
    except CrmFieldError as error:
        logger.warning("Pipedrive webhook %s for person %s not applied: %s", delivery, person.get("id"), error)
