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


def assign_handoff(handoff: Handoff, assignee, now: datetime, *, actor: str) -> Handoff:
    """Give the handoff to a person (or to nobody)."""
    with transaction.atomic():
        handoff.assignee = assignee
        handoff.save(update_fields=["assignee"])
        log(handoff.organization_id, "handoff.assigned", now, contact=handoff.contact, invoice=handoff.invoice,
            handoff=handoff, actor=actor, to=assignee.get_username() if assignee else None)
    return handoff


def close_handoff(handoff: Handoff, outcome: str, now: datetime, *, actor: str, note: str = "",
                  invoice: Invoice | None = None) -> Handoff:
    """A person decided: the handoff is resolved with the outcome and their note."""
    with transaction.atomic():
        handoff.status = "resolved"
        handoff.resolution = outcome
        handoff.resolution_note = note
        handoff.resolved_at = now
        handoff.save(update_fields=["status", "resolution", "resolution_note", "resolved_at"])
        log(handoff.organization_id, "handoff.resolved", now, contact=handoff.contact,
            invoice=invoice or handoff.invoice, handoff=handoff, actor=actor, outcome=outcome, note=note)
    return handoff


def reopen_handoff(handoff: Handoff, now: datetime, *, actor: str) -> Handoff:
    """A resolved handoff is open again (resolved by mistake, or the patient came back). What resolving did
    (a payment marked, a plan set) stays; the person decides again."""
    with transaction.atomic():
        handoff.status = "open"
        handoff.resolution = ""
        handoff.resolved_at = None
        handoff.save(update_fields=["status", "resolution", "resolved_at"])
        log(handoff.organization_id, "handoff.reopened", now, contact=handoff.contact, invoice=handoff.invoice,
            handoff=handoff, actor=actor)
    return handoff
