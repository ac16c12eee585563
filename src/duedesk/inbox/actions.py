"""What billing staff do with a handoff or a contact: assign, note, text, resolve, set a payment plan.

Each verb writes its Event with the staff actor and goes through the engine's actions for any change
the engine cares about (payments, pauses, statuses, enrollments). Staff texts pass the same
compliance gate as automated ones, with purpose "staff".
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duedesk.core import render, vocabulary
from duedesk.core.compliance import LEGAL_HOLDS
from duedesk.core.nlu import legal_stop_in
from duedesk.engine import actions, definitions
from duedesk.engine.actions.holds import HOLD_FOR_INTENT, place_legal_hold, release_legal_hold
from duedesk.engine.actions.sends import TextResult, send_text_now
from duedesk.engine.models import Workflow
from duedesk.engine.runner import message_context
from duedesk.inbox import plans
from duedesk.records.models import Contact, Handoff, Instalment, Invoice
from duedesk.records.timeline import log

PLAN_SLUG = "payment-plan"
PLAN_SOURCE = Path(__file__).with_name("plan_workflow.yaml")

# How a person resolves a handoff, in the pages' language (lazy: read when shown).
OUTCOMES = {
    "resume": _("Resume reminders"),
    "pause": _("Pause until a date"),
    "payment_plan": _("Set a payment plan"),
    "disputed": _("Mark disputed"),
    "written_off": _("Write off"),
    "paid": _("Mark paid"),
}


def actor_of(user) -> str:
    return f"staff:{user.get_username()}"


# ----------------------------------------------------------------------------- notes and assignment


def reopen(handoff: Handoff, now: datetime, *, actor: str) -> Handoff:
    return actions.reopen_handoff(handoff, now, actor=actor)


def assign(handoff: Handoff, assignee, now: datetime, *, actor: str) -> Handoff:
    return actions.assign_handoff(handoff, assignee, now, actor=actor)


def add_note(contact: Contact, text: str, now: datetime, *, actor: str, handoff: Handoff | None = None,
             invoice: Invoice | None = None, kind: str = "staff.note") -> None:
    """A note on the timeline. A note that records an attorney, a bankruptcy or a request to stop contacting
    the patient stops automation exactly as if the patient had said it to us (and says so on the timeline)."""
    invoice = invoice or (handoff and handoff.invoice)
    with transaction.atomic():
        log(contact.organization_id, kind, now, contact=contact, invoice=invoice, handoff=handoff, actor=actor,
            text=text)
        stop = legal_stop_in(text)
        if stop is not None:
            place_legal_hold(contact, HOLD_FOR_INTENT[stop], now, invoice=invoice, source="staff note", said=text,
                             actor=actor)


def log_call_back(handoff: Handoff, text: str, now: datetime, *, actor: str) -> None:
    add_note(handoff.contact, text, now, actor=actor, handoff=handoff, kind="staff.call_logged")


# ----------------------------------------------------------------------------- texts sent by a person


def send_staff_text(contact: Contact, invoice: Invoice | None, body: str, now: datetime, *, actor: str,
                    transports, handoff: Handoff | None = None) -> TextResult:
    """A person's text: the same gate (as "staff"), record-before-send and timeline as every other text."""
    opt_out = render.OPT_OUT_LINE[render.lang_code(contact.language)]
    if opt_out.lower() not in body.lower():
        body = f"{body.strip()} {opt_out}"
    return send_text_now(contact, body, now, transports, invoice=invoice, purpose="staff", actor=actor,
                         handoff=handoff)


def reply_by_text(handoff: Handoff, body: str, user, now: datetime, transports) -> TextResult:
    return send_staff_text(handoff.contact, handoff.invoice, body, now, actor=actor_of(user),
                           transports=transports, handoff=handoff)


def confirm_plan(handoff: Handoff, instalments: list[tuple[date, Decimal]], user, now: datetime,
                 transports) -> TextResult:
    """The patient's copy of the plan just agreed, texted through the gate like any staff text."""
    invoice = handoff.invoice
    body = plans.confirmation_text(invoice.external_ref, instalments, invoice.currency, handoff.contact.language)
    return send_staff_text(handoff.contact, invoice, body, now, actor=actor_of(user), transports=transports,
                           handoff=handoff)


def remind_now(invoice: Invoice, user, now: datetime, transports) -> TextResult:
    """The workflow's own reminder text, sent now through the gate."""
    contact = invoice.contact
    definition = definitions.parsed(definitions.ensure_default(invoice.organization))
    ctx = message_context(invoice, contact, now=now)
    late = invoice.due_date < timezone.localtime(now, _zone(contact)).date()
    keys = ("late_text", "heads_up") if late else ("heads_up", "late_text")
    key = next((k for k in keys if k in definition.templates), None)
    if key:
        ctx = dataclasses.replace(ctx, lang=definition.language_for(key, ctx.lang))  # one language throughout
        body = render.render_sms(definition.text(key, ctx.lang), ctx)
    else:
        body = render.render_sms(
            "Hi, this is {{ org.name }}. A reminder about your balance of "
            "{{ invoice.amount }}. You can pay here: {{ invoice.pay_link }}", ctx)
    return send_staff_text(contact, invoice, body, now, actor=actor_of(user), transports=transports)


def _zone(contact: Contact):
    from zoneinfo import ZoneInfo

    return ZoneInfo(contact.tz())


# ----------------------------------------------------------------------------- payment plans


def plan_workflow(org) -> Workflow:
    """The organization's payment-plan workflow, stored from plan_workflow.yaml the first time."""
    existing = definitions.current(org, PLAN_SLUG)
    return existing or definitions.save_version(org, PLAN_SLUG, PLAN_SOURCE.read_text(encoding="utf-8"))


def set_payment_plan(invoice: Invoice, instalments: list[tuple[date, Decimal]], now: datetime, *,
                     actor: str) -> list[Instalment]:
    """Replace reminders with one per instalment: the invoice goes in_plan on the plan workflow."""
    if not instalments:
        raise ValueError("a payment plan needs at least one instalment")
    with transaction.atomic():
        rows = actions.replace_instalments(invoice, instalments, now)
        actions.exit_invoice_enrollments(invoice, "payment_plan", now)
        invoice = actions.set_invoice_status(invoice, "in_plan", now, actor=actor, note=vocabulary.sentence("payment_plan"))
        if invoice.paused_until:
            actions.pause_invoice(invoice, None, now, actor=actor, reason=vocabulary.sentence("payment_plan"))
        log(invoice.organization_id, "plan.created", now, contact=invoice.contact, invoice=invoice, actor=actor,
            instalments=[{"date": r.due_date, "amount": str(r.amount)} for r in rows])
        actions.enroll_invoice(invoice, now, workflow=plan_workflow(invoice.organization))
    return rows


PAYMENT_METHODS = {"card": _("Card"), "cash": _("Cash"), "check": _("Check"), "bank_transfer": _("Bank transfer"),
                   "other": _("Other")}


def record_staff_payment(invoice: Invoice, amount: Decimal, now: datetime, *, actor: str,
                         paid_on: date | None = None, method: str = "", reference: str = "") -> Invoice:
    """A payment staff took (at the desk, by phone, a check in the mail): how it was paid and its receipt or
    check number stay on the timeline."""
    source = f"staff, paid on {paid_on.isoformat()}" if paid_on else "staff"
    detail = {k: v for k, v in (("paid_on", paid_on.isoformat() if paid_on else ""), ("method", method),
                                ("reference", reference)) if v}
    with transaction.atomic():
        invoice = actions.record_payment(invoice, amount, now, actor=actor, source=source, refuse_if_closed=True,
                                         detail=detail)
    return invoice


# ----------------------------------------------------------------------------- resolving


def resolve(handoff: Handoff, outcome: str, now: datetime, *, actor: str, note: str = "",
            until: datetime | None = None, instalments: list[tuple[date, Decimal]] | None = None) -> Handoff:
    """Close the handoff with what the person decided, and set outreach accordingly."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    invoice = handoff.invoice
    if invoice is None and outcome != "resume":
        raise ValueError("this handoff has no invoice to act on")
    with transaction.atomic():
        if outcome == "resume" and handoff.reason in LEGAL_HOLDS:
            # A person checked it (the attorney withdrew, the bankruptcy was dismissed): the hold is lifted.
            release_legal_hold(handoff.contact, handoff.reason, now, invoice=invoice, actor=actor)
        if outcome == "resume" and invoice is not None:
            if invoice.paused_until:
                actions.pause_invoice(invoice, None, now, actor=actor, reason=vocabulary.sentence("resumed"))
            if invoice.status in ("hardship", "disputed"):
                invoice = actions.set_invoice_status(invoice, "open", now, actor=actor, note=vocabulary.sentence("reminders_resumed"))
            actions.enroll_invoice(invoice, now)
        elif outcome == "pause":
            if until is None:
                raise ValueError("pick the date to pause until")
            actions.pause_invoice(invoice, until, now, actor=actor, reason=note or "paused by staff")
        elif outcome == "payment_plan":
            set_payment_plan(invoice, instalments or [], now, actor=actor)
        elif outcome in ("disputed", "written_off"):
            actions.set_invoice_status(invoice, outcome, now, actor=actor, note=note)
        elif outcome == "paid":
            actions.mark_invoice_paid(invoice, now, actor=actor, source="staff")
        actions.close_handoff(handoff, outcome, now, actor=actor, note=note, invoice=invoice)
    return handoff
