"""Delivery status reported by the provider for a text we sent (Twilio's status callback)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from duedesk.engine import actions
from duedesk.records.models import Message
from duedesk.records.timeline import log

# Message statuses in the order they happen; a late callback never moves a message backwards.
SMS_RANK = {"sending": 0, "retrying": 0, "accepted": 1, "queued": 1, "scheduled": 1, "sent": 2,
            "delivered": 3, "undelivered": 3, "failed": 3, "read": 4}
SMS_EVENTS = ("delivered", "undelivered", "failed")


def record_delivery(message_id: int, status: str, code: str, provider_id: str, now: datetime, *,
                    error: str | None = None, unreachable: str | None = None) -> bool:
    """Move the message forward (never back), log delivery and failures with the provider's error code
    (`error` is the provider's meaning of it in words), and mark the contact's channel `unreachable`
    (the effect's name) when the provider says the number itself can't be reached. Returns whether
    anything changed.
    A callback may beat the worker's own record of the send; settling never moves a status back either."""
    if status not in SMS_RANK:
        return False
    with transaction.atomic():
        message = (Message.objects.select_for_update(of=("self",)).select_related("contact", "invoice")
                   .get(pk=message_id))
        if not message.provider_id and provider_id:
            message.provider_id = provider_id
            message.save(update_fields=["provider_id"])
        if SMS_RANK[status] <= SMS_RANK.get(message.status, 0):
            return False  # late or repeated
        message.status = status
        if code:
            message.error_code = code
        message.save(update_fields=["status", "error_code"])
        if status in SMS_EVENTS:
            log(message.organization_id, f"{message.channel}.{status}", now, contact=message.contact,
                invoice=message.invoice, channel=message.channel, provider_id=message.provider_id,
                code=code or None, error=error)
        if unreachable and status in ("undelivered", "failed") and message.contact is not None:
            actions.mark_unreachable(message.contact, message.channel, unreachable, now, code=code)
        return True
