"""Contacts: made and changed (from an import row, the API, a CRM record), outreach switched off or on by a
person, the last conversation. (Opt-outs, unreachable marks and consent belong to the contact's lines:
engine/actions/lines.py. Many new contacts at once: engine/actions/imports.py.)"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Contact, Organization
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


def create_contact(org: Organization, now: datetime, *, actor: str, detail: dict, **values) -> Contact:
    """A new contact and its `contact.created` event (`detail`: where it came from)."""
    with transaction.atomic():
        contact = Contact.objects.create(organization=org, **values)
        log(org, "contact.created", now, contact=contact, actor=actor, **detail)
        return contact


def update_contact(contact: Contact, values: dict, now: datetime, *, actor: str, source: str) -> list[str]:
    """The contact's own columns (names, phone, email, language, zone, birth date) as another system holds
    them: the ones that differ change, and `contact.updated` names them. Returns their names."""
    changed = [k for k, v in values.items() if getattr(contact, k) != v]
    if changed:
        with transaction.atomic():
            for k in changed:
                setattr(contact, k, values[k])
            contact.save(update_fields=[*changed, "updated_at"])
            log(contact.organization_id, "contact.updated", now, contact=contact, actor=actor, fields=changed,
                source=source)
    return changed


def set_contact_fields(contact: Contact, fields: dict, now: datetime, *, actor: str, changed: list[str],
                       source: str) -> None:
    """The contact's custom fields become `fields`; `contact.updated` names the ones that `changed`."""
    with transaction.atomic():
        contact.fields = fields
        contact.save(update_fields=["fields", "updated_at"])
        log(contact.organization_id, "contact.updated", now, contact=contact, actor=actor, fields=changed,
            source=source)


def keep_contact_fields(contact_id: int, fields: dict) -> None:
    """The contact's custom fields become `fields`, with no event: bookkeeping of what a CRM holds (a value
    we wrote there ourselves, so the next pull does not take it for the CRM's change; a due date it
    cleared), not a change anyone made to the contact."""
    Contact.objects.filter(pk=contact_id).update(fields=fields)
