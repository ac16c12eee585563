"""Delivery status reported by the provider for a text we sent (Twilio's status callback)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from duedesk.engine.actions import messages
from duedesk.records.models import Message

# Message statuses in the order they happen; a late callback never moves a message backwards.
SMS_RANK = {"sending": 0, "retrying": 0, "accepted": 1, "queued": 1, "scheduled": 1, "sent": 2,
            "delivered": 3, "undelivered": 3, "failed": 3, "read": 4}


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
            messages.remember_provider_id(message, provider_id)
        if SMS_RANK[status] <= SMS_RANK.get(message.status, 0):
            return False  # late or repeated
        messages.record_delivery_status(message, status, code, now, error=error, unreachable=unreachable)
        return True
