"""Messages: a text that came in, and what the provider reports about one we sent (its delivery status).

The conversation shell decides (which contact and invoice a text is about; whether a status moves a
message forward) and these verbs write the rows and their events, in the caller's transaction.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime

from django.db import transaction

from duedesk.engine.actions.lines import mark_unreachable
from duedesk.records.commits import next_statement_without_flush
from duedesk.records.models import Contact, Invoice, Message, Organization
from duedesk.records.timeline import log, log_with

DELIVERY_EVENTS = ("delivered", "undelivered", "failed")


def record_inbound_text(org: Organization, contact: Contact | None, invoice: Invoice | None, *, sender: str,
                        to: str, body: str, provider_id: str, now: datetime, durable: bool = True) -> Message:
    """Store a text from a patient (or from a number we don't know) and put it on the timeline. The unique
    key on (organization, provider id) makes a second delivery of the same text fail here.

    `durable` False: what the text asks changes nothing (HELP: the office's number is answered), so its
    transaction commits without waiting for the disk (records/commits.py): a database server crash in the next
    fraction of a second loses the text with its answer's record, whole; nothing is done twice."""
    with transaction.atomic(savepoint=False), (nullcontext() if durable else next_statement_without_flush()):
        message = Message(
            organization=org, contact=contact, invoice=invoice, channel="sms", direction="in", to=to,
            sender=sender, body=body, status="received", provider_id=provider_id, created_at=now,
        )
        log_with(message, org, "sms.received", now, contact=contact, invoice=invoice, channel="sms", actor="patient",
                 body=body, **({} if contact else {"from": sender}))  # one round trip for both
        return message


def remember_provider_id(message: Message, provider_id: str) -> None:
    """The provider's id for a message we sent, when its status callback brings it before our record did."""
    message.provider_id = provider_id
    message.save(update_fields=["provider_id"])


def record_delivery_status(message: Message, status: str, code: str, now: datetime, *, error: str | None = None,
                           unreachable: str | None = None) -> None:
    """A later status of a message we sent (the caller checked it moves forward): delivered, undelivered and
    failed go on the timeline with the provider's code and its meaning (`error`); `unreachable` (the effect's
    name) marks the contact's channel when the provider says the number itself can't be reached."""
    with transaction.atomic(savepoint=False):
        message.status = status
        if code:
            message.error_code = code
        message.save(update_fields=["status", "error_code"])
        if status in DELIVERY_EVENTS:
            log(message.organization_id, f"{message.channel}.{status}", now, contact=message.contact,
                invoice=message.invoice, channel=message.channel, provider_id=message.provider_id,
                code=code or None, error=error)
        if unreachable and status in ("undelivered", "failed") and message.contact is not None:
            mark_unreachable(message.contact, message.channel, unreachable, now, code=code)
