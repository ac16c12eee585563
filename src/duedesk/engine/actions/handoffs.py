"""Handoffs: a conversation given to a person, with what was already collected."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from duedesk.engine import signals
from duedesk.records.models import Contact, Handoff, Invoice
from duedesk.records.timeline import jsonable, log


def open_handoff(contact: Contact, reason: str, now: datetime, *, invoice: Invoice | None = None,
                 summary: str = "", collected: dict | None = None, transcript: list | None = None,
                 actor: str = "duedesk") -> Handoff:
    """Give the conversation to a person, with everything already collected."""
    collected = jsonable(collected or {})
    transcript = jsonable(transcript or [])
    with transaction.atomic():
        existing = Handoff.objects.filter(
            organization_id=contact.organization_id, contact=contact, invoice=invoice, reason=reason, status="open"
        ).first()
        if existing:
            # One open handoff per reason: new context is added to it, never a second ticket.
            existing.transcript = list(existing.transcript) + list(transcript or [])
            existing.collected = {**existing.collected, **(collected or {})}
            existing.save(update_fields=["transcript", "collected"])
            log(contact.organization_id, "handoff.updated", now, contact=contact, invoice=invoice,
                handoff=existing, reason=reason)
            return existing
        handoff = Handoff.objects.create(
            organization_id=contact.organization_id, contact=contact, invoice=invoice, reason=reason,
            summary=summary, collected=collected or {}, transcript=transcript or [], created_at=now,
        )
        log(contact.organization_id, "handoff.opened", now, contact=contact, invoice=invoice, handoff=handoff,
            actor=actor, reason=reason, summary=summary, collected=collected or {})
        transaction.on_commit(lambda: signals.handoff_opened.send(sender=Handoff, handoff_id=handoff.pk))
        return handoff
