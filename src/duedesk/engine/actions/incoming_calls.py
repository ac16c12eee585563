"""Calls a patient places to the organization's number (the invoice question hotline): the call's row, its
turns, the contact it turns out to be, and its end on the contact's timeline.

The row is the same Call an outbound call uses, told apart by its key ("incoming:<provider call id>"): `to`
is our number, `sender` the caller's. The key is unique, so Twilio delivering the first request twice makes
one call. A turn is taken and its state kept with the outbound call's verbs (engine/actions/calls.py).
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from duedesk.engine.actions.contacts import record_conversation
from duedesk.records.models import Call, Contact, Invoice, Organization
from duedesk.records.timeline import log

KEY_PREFIX = "incoming:"


def incoming_key(provider_id: str) -> str:
    return f"{KEY_PREFIX}{provider_id}"[:120]


def is_incoming(call: Call) -> bool:
    return (call.idempotency_key or "").startswith(KEY_PREFIX)


def receive_call(org: Organization, caller: str, called: str, provider_id: str, now: datetime, *,
                 contact: Contact | None = None, invoice: Invoice | None = None) -> tuple[Call, bool]:
    """The call's row (and call.received on the contact's timeline when we know the contact). (call, False)
    when this call was already received: a repeated request changes nothing."""
    key = incoming_key(provider_id)
    found = Call.objects.filter(idempotency_key=key).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            call = Call.objects.create(
                organization=org, contact=contact, invoice=invoice, to=called[:20], sender=caller[:20],
                status="in-progress", answered_by="human", provider_id=provider_id[:64], idempotency_key=key,
                created_at=now,
            )
            if contact is not None:
                _received(call, now)
    except IntegrityError:  # the same request delivered at the same moment: the first one's row
        return Call.objects.get(idempotency_key=key), False
    return call, True


def attach_caller(call: Call, contact: Contact, invoice: Invoice | None, now: datetime) -> None:
    """Several contacts share the number and the caller said which one: the call is theirs from now on."""
    with transaction.atomic():
        call.contact, call.invoice = contact, invoice
        call.save(update_fields=["contact", "invoice"])
        _received(call, now)


def _received(call: Call, now: datetime) -> None:
    log(call.organization_id, "call.received", now, contact=call.contact, invoice=call.invoice, channel="call",
        actor="patient", **{"from": call.sender, "to": call.to})


def caller_contact(org: Organization, number: str, now: datetime) -> Contact:
    """A contact for a number we don't know (the handoff needs one): found again on the next call, nameless
    until staff fill it in. Nothing is ever sent to it on its own: it has no invoice."""
    with transaction.atomic():
        contact = Contact.objects.filter(organization=org, phone=number, first_name="", last_name="").first()
        if contact is None:
            contact = Contact.objects.create(organization=org, phone=number, language="en")
            log(org.pk, "contact.created", now, contact=contact, actor="patient", source="incoming call")
        return contact


def finish_incoming_call(call: Call, status: str, now: datetime, *, transcript: list, collected: dict,
                         duration: int | None = None) -> bool:
    """The call is over: call.completed with its transcript on the contact's timeline, once."""
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).select_related("contact", "invoice").get(pk=call.pk)
        if call.ended_at is not None:
            if duration is not None and call.duration_seconds is None:  # the status callback after our end
                call.duration_seconds = duration
                call.save(update_fields=["duration_seconds"])
            return False
        call.status = status
        call.outcome = call.outcome or "completed"
        call.ended_at = now
        call.duration_seconds = duration
        call.save(update_fields=["status", "outcome", "ended_at", "duration_seconds"])
        if collected.get("identity_verified") and call.contact is not None:
            record_conversation(call.contact, now)
        log(call.organization_id, "call.completed", now, contact=call.contact, invoice=call.invoice,
            channel="call", direction="inbound", outcome=call.outcome, answered_by=None,
            transcript=transcript, collected=collected, **{"from": call.sender})
        return True
