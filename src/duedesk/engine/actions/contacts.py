"""Contacts: opt-outs, unreachable channels, outreach switched off or on by a person."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Contact
from duedesk.records.timeline import log


def opt_out(contact: Contact, channels: tuple[str, ...], now: datetime, *, source: str = "",
            actor: str = "patient") -> Contact:
    """Stop automated texts and calls at once. The gate reads it before every send."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        for ch in channels:
            contact.opted_out.setdefault(ch, now.isoformat())
        contact.save(update_fields=["opted_out", "updated_at"])
        log(contact.organization_id, "contact.opted_out", now, contact=contact, actor=actor,
            channels=list(channels), source=source)
        return contact


def opt_in(contact: Contact, channels: tuple[str, ...], now: datetime, *, source: str = "",
           actor: str = "patient") -> Contact:
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        for ch in channels:
            contact.opted_out.pop(ch, None)
        contact.save(update_fields=["opted_out", "updated_at"])
        log(contact.organization_id, "contact.opted_in", now, contact=contact, actor=actor,
            channels=list(channels), source=source)
        return contact


def mark_unreachable(contact: Contact, channel: str, reason: str, now: datetime, *, code: str = "") -> None:
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        contact.unreachable[channel] = reason
        contact.save(update_fields=["unreachable", "updated_at"])
        log(contact.organization_id, "contact.unreachable", now, contact=contact, channel=channel, reason=reason,
            code=code)


def set_outreach(contact: Contact, on: bool, now: datetime, *, actor: str = "staff") -> None:
    """A person switches outreach off (held steps wait) or back on (they are due again)."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if contact.outreach_on == on:
            return
        contact.outreach_on = on
        contact.save(update_fields=["outreach_on", "updated_at"])
        live = Enrollment.objects.filter(contact=contact, status__in=Enrollment.LIVE)
        if on:
            Step.objects.filter(enrollment__in=live, status="held").update(status="pending")
            Step.objects.filter(enrollment__in=live, status="pending", run_at__lt=now).update(run_at=now)
            live.filter(status="paused").update(status="active")
        else:
            Step.objects.filter(enrollment__in=live, status="pending").update(status="held")
            live.update(status="paused")
        log(contact.organization_id, "outreach.on" if on else "outreach.off", now, contact=contact, actor=actor)


def record_conversation(contact: Contact, now: datetime) -> None:
    Contact.objects.filter(pk=contact.pk).update(last_conversation_at=now)
