"""A single text sent now, outside a workflow step: the pay link during a call, the STOP
confirmation, the HELP answer, a staff reply. Gated, recorded before it is sent, logged."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import transaction

from duedesk.channels.base import Outgoing
from duedesk.channels.errors import TransportError
from duedesk.core import compliance
from duedesk.records.models import Contact, Invoice, Message
from duedesk.records.timeline import log


def _gate(contact: Contact, invoice: Invoice | None, now: datetime, purpose: str):
    from duedesk.engine.runner import gate_input

    if invoice is None:
        # No invoice (a reply to an unknown thread): only the contact's own state applies.
        invoice = Invoice(status="open", balance=1, organization=contact.organization, contact=contact)
    return compliance.check(gate_input("sms", invoice, contact, now, purpose=purpose))


def send_text_now(contact: Contact, body: str, now: datetime, transports, *, invoice: Invoice | None = None,
                  purpose: str = "reply", actor: str = "duedesk", kind: str = "sms.sent") -> Message | None:
    """Returns the Message, or None when the gate deferred or blocked it (that is logged)."""
    decision = _gate(contact, invoice, now, purpose)
    if not isinstance(decision, compliance.Allow):
        log(contact.organization_id, "sms.not_sent", now, contact=contact, invoice=invoice, channel="sms",
            actor=actor, rule=decision.rule, body=body)
        return None
    with transaction.atomic():
        message = Message.objects.create(
            organization_id=contact.organization_id, contact=contact, invoice=invoice, channel="sms",
            direction="out", to=contact.phone, sender=contact.organization.sms_from, body=body, status="sending",
            idempotency_key=f"now:{uuid.uuid4().hex}", created_at=now,
        )
    try:
        accepted = transports.sms.send(Outgoing(
            channel="sms", to=message.to, body=body, idempotency_key=message.idempotency_key,
            status_callback=f"{settings.PUBLIC_URL}/hooks/twilio/sms/status", organization_id=contact.organization_id,
        ))
    except TransportError as error:
        with transaction.atomic():
            message.status = "failed"
            message.error_code = error.code or ""
            message.save(update_fields=["status", "error_code"])
            log(contact.organization_id, "sms.failed", now, contact=contact, invoice=invoice, channel="sms",
                actor=actor, code=error.code, error=str(error))
        return message
    with transaction.atomic():
        message.provider_id = accepted.provider_id
        message.status = accepted.status
        message.save(update_fields=["provider_id", "status"])
        log(contact.organization_id, kind, now, contact=contact, invoice=invoice, channel="sms", actor=actor,
            body=body)
    return message
