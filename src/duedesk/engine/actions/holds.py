"""Legal stops and a contact's own hours: what a patient told us that limits outreach.

An attorney or a bankruptcy stops automation for the invoice it concerns; a request to stop
contacting them (a cease-and-desist) stops it for every invoice of the contact (Regulation F,
12 CFR 1006.6(b)(2) and (c)). The hold is a row field the gate reads before every send, so an
invoice enrolled again later is still blocked, with the rule named on the timeline. A person
reviews each one through its own handoff and may lift it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from duedesk.core.compliance import LEGAL_HOLDS
from duedesk.engine.actions import exit_invoice_enrollments, open_handoff
from duedesk.engine.actions.lines import revoke_consent
from duedesk.records.models import Contact, Handoff, Invoice
from duedesk.records.timeline import log

CONTACT_HOLDS = ("cease_communication",)  # every invoice of the contact; the others hold one invoice
# What the understanding calls each legal stop, and the hold (and handoff reason) it becomes.
HOLD_FOR_INTENT = {"attorney": "attorney_represented", "bankruptcy": "bankruptcy",
                   "cease_contact": "cease_communication"}


def place_legal_hold(contact: Contact, hold: str, now: datetime, *, invoice: Invoice | None = None,
                     source: str, said: str = "", transcript: list | None = None,
                     actor: str = "patient") -> Handoff:
    """Stop automation (this invoice, or all of the contact's for a cease request) and hand it to a
    person. Without an invoice an invoice-level hold covers every open invoice of the contact."""
    if hold not in LEGAL_HOLDS:
        raise ValueError(f"hold: unknown legal hold {hold!r}")
    stamp = {"at": now.isoformat(), "source": source}
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if hold in CONTACT_HOLDS:
            contact.legal_holds.setdefault(hold, stamp)
            contact.save(update_fields=["legal_holds", "updated_at"])
            invoices = list(contact.invoices.all())
        else:
            invoices = [invoice] if invoice is not None else list(
                contact.invoices.exclude(status__in=("paid", "written_off")))
            for inv in invoices:
                inv = Invoice.objects.select_for_update().get(pk=inv.pk)
                inv.legal_holds.setdefault(hold, stamp)
                inv.save(update_fields=["legal_holds", "updated_at"])
        log(contact.organization_id, "compliance.legal_hold", now, contact=contact, invoice=invoice, actor=actor,
            rule=hold, reason=LEGAL_HOLDS[hold], source=source, invoices=[i.external_ref for i in invoices])
        if hold in CONTACT_HOLDS:
            # "Stop contacting me" also withdraws consent for the number (and address) itself, by whatever
            # means it came (a text, a call, a note): every contact on the line, honoured at the next check.
            revoke_consent(contact, now, source=source, evidence=said, actor=actor)
        for inv in invoices:
            exit_invoice_enrollments(inv, hold, now)
        return open_handoff(contact, hold, now, invoice=invoice, summary=said or LEGAL_HOLDS[hold],
                            transcript=transcript, collected={"stated_reason": said, "source": source})


def release_legal_hold(contact: Contact, hold: str, now: datetime, *, invoice: Invoice | None = None,
                       actor: str) -> None:
    """A person checked the hold and lifted it (the attorney withdrew, the bankruptcy was dismissed)."""
    with transaction.atomic():
        if hold in CONTACT_HOLDS:
            contact = Contact.objects.select_for_update().get(pk=contact.pk)
            if contact.legal_holds.pop(hold, None) is None:
                return
            contact.save(update_fields=["legal_holds", "updated_at"])
        else:
            if invoice is None:
                raise ValueError("invoice: a hold on an invoice is lifted per invoice")
            invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
            if invoice.legal_holds.pop(hold, None) is None:
                return
            invoice.save(update_fields=["legal_holds", "updated_at"])
        log(contact.organization_id, "compliance.legal_hold_lifted", now, contact=contact, invoice=invoice,
            actor=actor, rule=hold)


def set_contact_hours(contact: Contact, channels: list[str], hours: dict, now: datetime, *, source: str,
                      actor: str = "patient") -> Contact:
    """Remember the hours the contact asked for on these channels; the gate defers sends outside them."""
    kept = {k: hours[k] for k in ("not_before", "not_after", "avoid_work_hours") if hours.get(k)}
    if not kept:
        raise ValueError("hours: say not_before, not_after or avoid_work_hours")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        for channel in channels:
            if channel not in Contact.CHANNELS:
                raise ValueError(f"channels: unknown channel {channel!r}")
            contact.contact_hours[channel] = {**contact.contact_hours.get(channel, {}), **kept}
        contact.save(update_fields=["contact_hours", "updated_at"])
        log(contact.organization_id, "contact.hours_set", now, contact=contact, actor=actor, channels=channels,
            source=source, **kept)
        return contact
