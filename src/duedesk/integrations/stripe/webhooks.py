"""`POST /hooks/stripe`: Stripe's signed events. The signature is checked with the library
(`stripe.Webhook.construct_event`) against the signing secret of the organization the event names in our
metadata (else each connected organization's in turn); a bad or missing signature gets 400 and changes
nothing. Each event id is acted on once: it is stored in the transaction that acts on it, so a retry after
a failure acts, and a repeat of a success answers 200 without acting again."""

from __future__ import annotations

import json
import logging

import stripe
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from duedesk.integrations.stripe import events
from duedesk.integrations.stripe.client import webhook_secret
from duedesk.integrations.stripe.models import StripeAccount, StripeEvent

logger = logging.getLogger("duedesk.webhooks")
clock = timezone.now  # tests replace it with their virtual clock


def _candidates(payload: bytes):
    accounts = StripeAccount.objects.select_related("organization")
    try:
        obj = json.loads(payload)["data"]["object"]
        org_id = int((obj.get("metadata") or {}).get("duedesk_org") or 0)
    except (ValueError, KeyError, TypeError, AttributeError):
        org_id = 0
    named = [a for a in accounts.filter(organization_id=org_id)] if org_id else []
    return named or list(accounts)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    payload, header = request.body, request.headers.get("Stripe-Signature", "")
    for account in _candidates(payload):
        secret = webhook_secret(account)
        if not secret:
            continue
        try:
            event = stripe.Webhook.construct_event(payload, header, secret)
        except (stripe.SignatureVerificationError, ValueError):
            continue
        return _act(account.organization, event.to_dict())
    logger.warning("Stripe webhook refused: no organization's signing secret matches")
    return JsonResponse({"error": "signature does not verify"}, status=400)


def _act(org, event: dict) -> JsonResponse:
    now = clock()
    try:
        with transaction.atomic():
            StripeEvent.objects.create(organization=org, event_id=event["id"], type=event["type"], received_at=now)
            done = events.handle(org, event, now)
    except IntegrityError:
        return JsonResponse({"received": True, "duplicate": True})
    logger.info("Stripe event %s (%s) for organization %s: %s", event["id"], event["type"], org.pk, done)
    return JsonResponse({"received": True, "result": done})
