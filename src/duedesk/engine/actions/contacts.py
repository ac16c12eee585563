"""Contacts: outreach switched off or on by a person, the last conversation. (Opt-outs, unreachable marks
and consent belong to the contact's lines: engine/actions/lines.py.)"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Contact
from duedesk.records.timeline import log


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
