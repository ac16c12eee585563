"""What billing staff do with a handoff or a contact: assign, note, text, resolve, set a payment plan.

Each verb writes its Event with the staff actor and goes through the engine's actions for any change
the engine cares about (payments, pauses, statuses, enrollments). Staff texts pass the same
compliance gate as automated ones, with purpose "staff".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from django.db import transaction
from django.utils import timezone

from duedesk.channels.base import Outgoing
from duedesk.channels.errors import TransportError
from duedesk.core import compliance, render
from duedesk.engine import actions, definitions
from duedesk.engine.models import Workflow
from duedesk.engine.runner import gate_input, message_context
from duedesk.records.models import Contact, Handoff, Instalment, Invoice, Message
from duedesk.records.timeline import log

PLAN_SLUG = "payment-plan"
PLAN_SOURCE = Path(__file__).with_name("plan_workflow.yaml")

OUTCOMES = {
    "resume": "Resume reminders",
    "pause": "Pause until a date",
    "payment_plan": "Set a payment plan",
    "disputed": "Mark disputed",
    "written_off": "Write off",
    "paid": "Mark paid",
}


def actor_of(user) -> str:
    return f"staff:{user.get_username()}"


# ----------------------------------------------------------------------------- notes and assignment


def assign(handoff: Handoff, assignee, now: datetime, *, actor: str) -> Handoff:
    with transaction.atomic():
        handoff.assignee = assignee
        handoff.save(update_fields=["assignee"])
        log(handoff.organization_id, "handoff.assigned", now, contact=handoff.contact, invoice=handoff.invoice,
            handoff=handoff, actor=actor, to=assignee.get_username() if assignee else None)
    return handoff


def add_note(contact: Contact, text: str, now: datetime, *, actor: str, handoff: Handoff | None = None,
             invoice: Invoice | None = None, kind: str = "staff.note") -> None:
    log(contact.organization_id, kind, now, contact=contact, invoice=invoice or (handoff and handoff.invoice),
        handoff=handoff, actor=actor, text=text)


def log_call_back(handoff: Handoff, text: str, now: datetime, *, actor: str) -> None:
    add_note(handoff.contact, text, now, actor=actor, handoff=handoff, kind="staff.call_logged")


# ----------------------------------------------------------------------------- texts sent by a person


@dataclass(frozen=True)
class TextResult:
    decision: compliance.Decision
    message: Message | None = None
    error: str = ""

    @property
    def sent(self) -> bool:
        return self.message is not None and self.message.status not in ("failed", "sending")

    def explain(self) -> str:
        d = self.decision
        if isinstance(d, compliance.Block):
            return f"Not sent: {d.detail or d.rule} ({d.rule})."
        if isinstance(d, compliance.Defer):
            return f"Not sent now: {d.detail or d.rule}. Allowed from {d.until:%b %d, %H:%M} UTC ({d.rule})."
        if self.error:
            return f"The text could not be sent: {self.error}"
        return "Text sent."


def send_staff_text(contact: Contact, invoice: Invoice | None, body: str, now: datetime, *, actor: str,
                    transports, handoff: Handoff | None = None) -> TextResult:
    """Gate, record, then send. A deferred or blocked text is logged with the rule, never queued."""
    subject = invoice or SimpleNamespace(status="open", balance=Decimal("1"))
    decision = compliance.check(gate_input("sms", subject, contact, now, purpose="staff"))
    if not isinstance(decision, compliance.Allow):
        kind = "sms.deferred" if isinstance(decision, compliance.Defer) else "sms.blocked"
        log(contact.organization_id, kind, now, contact=contact, invoice=invoice, handoff=handoff, channel="sms",
            actor=actor, rule=decision.rule, until=getattr(decision, "until", None), body=body)
        return TextResult(decision)
    opt_out = render.OPT_OUT_LINE[render.lang_code(contact.language)]
    if opt_out.lower() not in body.lower():
        body = f"{body.strip()} {opt_out}"
    key = f"staff:{uuid.uuid4().hex}"
    with transaction.atomic():  # recorded before the provider is asked
        message = Message.objects.create(
            organization_id=contact.organization_id, contact=contact, invoice=invoice, channel="sms",
            direction="out", to=contact.phone, body=body, status="sending", idempotency_key=key, created_at=now,
        )
    try:
        accepted = transports.for_channel("sms").send(Outgoing(
            channel="sms", to=contact.phone, body=body, idempotency_key=key, organization_id=contact.organization_id,
        ))
    except TransportError as error:
        with transaction.atomic():
            message.status = "failed"
            message.error_code = error.code or ""
            message.save(update_fields=["status", "error_code"])
            log(contact.organization_id, "sms.failed", now, contact=contact, invoice=invoice, handoff=handoff,
                channel="sms", actor=actor, error=str(error))
        return TextResult(decision, message, str(error))
    with transaction.atomic():
        message.status = accepted.status
        message.provider_id = accepted.provider_id
        message.save(update_fields=["status", "provider_id"])
        log(contact.organization_id, "sms.sent", now, contact=contact, invoice=invoice, handoff=handoff,
            channel="sms", actor=actor, body=body)
    return TextResult(decision, message)


def reply_by_text(handoff: Handoff, body: str, user, now: datetime, transports) -> TextResult:
    return send_staff_text(handoff.contact, handoff.invoice, body, now, actor=actor_of(user),
                           transports=transports, handoff=handoff)


def remind_now(invoice: Invoice, user, now: datetime, transports) -> TextResult:
    """The workflow's own reminder text, sent now through the gate."""
    contact = invoice.contact
    definition = definitions.parsed(definitions.ensure_default(invoice.organization))
    ctx = message_context(invoice, contact)
    late = invoice.due_date < timezone.localtime(now, _zone(contact)).date()
    keys = ("late_text", "heads_up") if late else ("heads_up", "late_text")
    key = next((k for k in keys if k in definition.templates), None)
    if key:
        body = render.render_sms(definition.text(key, ctx.lang), ctx)
    else:
        body = render.render_sms(
            "Hi {{ contact.first_name }}, this is {{ org.name }}. A reminder about your balance of "
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
        invoice.instalments.filter(status="pending").delete()
        rows = [
            Instalment.objects.create(organization_id=invoice.organization_id, invoice=invoice, due_date=d,
                                      amount=a, created_at=now)
            for d, a in sorted(instalments)
        ]
        actions.exit_invoice_enrollments(invoice, "payment_plan", now)
        invoice = actions.set_invoice_status(invoice, "in_plan", now, actor=actor, note="payment plan")
        if invoice.paused_until:
            actions.pause_invoice(invoice, None, now, actor=actor, reason="payment plan")
        log(invoice.organization_id, "plan.created", now, contact=invoice.contact, invoice=invoice, actor=actor,
            instalments=[{"date": r.due_date, "amount": str(r.amount)} for r in rows])
        actions.enroll_invoice(invoice, now, workflow=plan_workflow(invoice.organization))
    return rows


def record_staff_payment(invoice: Invoice, amount: Decimal, now: datetime, *, actor: str,
                         paid_on: date | None = None) -> Invoice:
    source = f"staff, paid on {paid_on.isoformat()}" if paid_on else "staff"
    with transaction.atomic():
        invoice = actions.record_payment(invoice, amount, now, actor=actor, source=source)
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
        if outcome == "resume" and invoice is not None:
            if invoice.paused_until:
                actions.pause_invoice(invoice, None, now, actor=actor, reason="resumed")
            if invoice.status in ("hardship", "disputed"):
                invoice = actions.set_invoice_status(invoice, "open", now, actor=actor, note="reminders resumed")
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
        handoff.status = "resolved"
        handoff.resolution = outcome
        handoff.resolution_note = note
        handoff.resolved_at = now
        handoff.save(update_fields=["status", "resolution", "resolution_note", "resolved_at"])
        log(handoff.organization_id, "handoff.resolved", now, contact=handoff.contact, invoice=invoice,
            handoff=handoff, actor=actor, outcome=outcome, note=note)
    return handoff
