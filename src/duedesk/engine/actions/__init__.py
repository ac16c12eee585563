"""Every state change of the engine, one function per verb. Each runs in a transaction and writes
its Event. Views, webhooks, the worker and the simulator call these; they never write models directly.

`now` is always passed in: the worker's clock is real time, the simulator's is virtual.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from duedesk.core import conditions
from duedesk.core import workflow as wf
from duedesk.core.timing import local_date
from duedesk.engine import definitions, signals
from duedesk.engine.models import Enrollment, Step, Workflow
from duedesk.engine.planning import Anchors, walk
from duedesk.records.models import Contact, Handoff, Invoice, Promise
from duedesk.records.timeline import jsonable, log

logger = logging.getLogger("duedesk.engine")

CLOSED_INVOICE = ("paid", "written_off", "disputed")


# ----------------------------------------------------------------------------- enrolling and planning


def enroll_invoice(invoice: Invoice, now: datetime, workflow: Workflow | None = None) -> Enrollment | None:
    """Start outreach for an invoice with an open balance. Does nothing if one is already running."""
    if invoice.status in CLOSED_INVOICE or invoice.balance <= 0:
        return None
    with transaction.atomic():
        if Enrollment.objects.filter(invoice=invoice, status__in=Enrollment.LIVE).exists():
            return None
        workflow = workflow or definitions.ensure_default(invoice.organization)
        definition = definitions.parsed(workflow)
        enrollment = Enrollment.objects.create(
            organization_id=invoice.organization_id,
            invoice=invoice,
            contact_id=invoice.contact_id,
            workflow=workflow,
            status="active",
            started_at=now,
        )
        log(invoice.organization_id, "enrollment.started", now, contact=invoice.contact, invoice=invoice,
            workflow=workflow.name, version=workflow.version)
        go_to_step(enrollment, definition, definition.first().id, now)
        return enrollment


def _anchors(enrollment: Enrollment) -> Anchors:
    invoice = enrollment.invoice
    promise = (
        Promise.objects.filter(invoice_id=invoice.pk, status="pending").order_by("-created_at").first()
    )
    return Anchors(
        due_date=invoice.due_date,
        promise_date=promise.promised_date if promise else None,
        contact_fields=enrollment.contact.fields,
        invoice_dates={"due_date": invoice.due_date, "next_instalment": _next_instalment(invoice)},
    )


def _next_instalment(invoice: Invoice) -> date | None:
    return invoice.instalments.filter(status="pending").order_by("due_date").values_list("due_date", flat=True).first()


def go_to_step(enrollment: Enrollment, definition: wf.Workflow, step_id: str | None, now: datetime) -> Step | None:
    """Move the enrollment to `step_id` and plan its Step row (or finish at "end")."""
    contact = enrollment.contact
    org = enrollment.organization
    where = walk(definition, step_id, _anchors(enrollment), now, contact.tz(), org.send_window(),
                 enrollment.current_step)
    for skipped_id, reason in where.skipped:
        log(org, "step.skipped", now, contact=contact, invoice=enrollment.invoice, step=skipped_id, reason=reason)
    if where.current != enrollment.current_step or enrollment.status != "active":
        enrollment.current_step = where.current
        enrollment.status = "active"
        enrollment.save(update_fields=["current_step", "status"])
    if where.finish:
        finish_enrollment(enrollment, *where.finish, now)
        return None
    occurrence = Step.objects.filter(enrollment=enrollment, step_id=where.step_id).count() + 1
    return Step.objects.create(
        organization_id=enrollment.organization_id,
        enrollment=enrollment,
        step_id=where.step_id,
        kind=where.kind,
        occurrence=occurrence,
        run_at=where.run_at,
        idempotency_key=step_key(enrollment.pk, where.step_id, occurrence),
        created_at=now,
    )


def step_key(enrollment_id: int, step_id: str, occurrence: int) -> str:
    """The idempotency key: one per visit of a step, so nothing is ever sent twice for it."""
    return f"e{enrollment_id}:{step_id}:{occurrence}"


def plan_retry(step: Step, enrollment: Enrollment, run_at: datetime, now: datetime) -> Step:
    occurrence = Step.objects.filter(enrollment=enrollment, step_id=step.step_id).count() + 1
    return Step.objects.create(
        organization_id=step.organization_id, enrollment=enrollment, step_id=step.step_id, kind=step.kind,
        occurrence=occurrence, run_at=run_at, idempotency_key=step_key(enrollment.pk, step.step_id, occurrence),
        created_at=now,
    )


def finish_enrollment(enrollment: Enrollment, status: str, reason: str, now: datetime) -> None:
    _cancel_pending(enrollment, now)
    enrollment.status = status
    enrollment.exit_reason = reason
    enrollment.ended_at = now
    enrollment.save(update_fields=["status", "exit_reason", "ended_at"])
    log(enrollment.organization_id, "enrollment.exited" if status == "exited" else "enrollment.done", now,
        contact=enrollment.contact, invoice=enrollment.invoice, reason=reason)


def _cancel_pending(enrollment: Enrollment, now: datetime) -> int:
    return Step.objects.filter(enrollment=enrollment, status__in=Step.PENDING + ("waiting",)).update(
        status="cancelled", finished_at=now, lease_until=None
    )


def complete_step(step: Step, outcome: str, now: datetime, **detail) -> None:
    """A step finished with an outcome: record it and plan what comes next."""
    with transaction.atomic():
        step = Step.objects.select_for_update().select_related("enrollment").get(pk=step.pk)
        if step.status in ("done", "cancelled", "skipped", "blocked", "failed"):
            return  # already settled: a retried webhook changes nothing
        step.status = "done"
        step.outcome = outcome
        step.finished_at = now
        step.lease_until = None
        step.save(update_fields=["status", "outcome", "finished_at", "lease_until"])
        enrollment = step.enrollment
        if enrollment.status not in Enrollment.LIVE:
            return
        _remember_outcome(enrollment, outcome)
        definition = definitions.parsed(enrollment.workflow)
        go_to_step(enrollment, definition, definition.next_for(step.step_id, outcome), now)


def _remember_outcome(enrollment: Enrollment, outcome: str) -> None:
    # A handoff step reached through an outcome records that outcome as its reason.
    enrollment.data["last_outcome"] = outcome
    enrollment.save(update_fields=["data"])


def route_outcome(enrollment: Enrollment, outcome: str, now: datetime) -> bool:
    """A reply or event outside a step (a promise by text, a dispute): jump where the workflow says."""
    definition = definitions.parsed(enrollment.workflow)
    target = definition.on_reply.get(outcome)
    if not target or enrollment.status not in Enrollment.LIVE:
        return False
    with transaction.atomic():
        _cancel_pending(enrollment, now)
        _remember_outcome(enrollment, outcome)
        go_to_step(enrollment, definition, target, now)
    return True


def replan_invoice(invoice: Invoice, now: datetime) -> None:
    """The due date or balance changed: re-plan the waiting step of each live enrollment."""
    if invoice.status in CLOSED_INVOICE or invoice.balance <= 0:
        return
    with transaction.atomic():
        live = list(Enrollment.objects.filter(invoice=invoice, status__in=("active", "paused")))
        if not live:
            enroll_invoice(invoice, now)
            return
        for enrollment in live:
            pending = Step.objects.filter(enrollment=enrollment, status="pending")
            if not pending.exists():
                continue
            pending.update(status="cancelled", finished_at=now)
            definition = definitions.parsed(enrollment.workflow)
            log(invoice.organization_id, "enrollment.replanned", now, contact=enrollment.contact,
                invoice=invoice, step=enrollment.current_step, due_date=invoice.due_date)
            go_to_step(enrollment, definition, enrollment.current_step, now)


# ----------------------------------------------------------------------------- invoices and payments


def exit_invoice_enrollments(invoice: Invoice, reason: str, now: datetime) -> int:
    n = 0
    for enrollment in Enrollment.objects.select_for_update().filter(invoice=invoice, status__in=Enrollment.LIVE):
        finish_enrollment(enrollment, "exited", reason, now)
        n += 1
    return n


def record_payment(invoice: Invoice, amount: Decimal, now: datetime, *, actor: str = "duedesk",
                   source: str = "") -> Invoice:
    """A payment landed. Paid in full stops everything for the invoice, in this same transaction."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        invoice.balance = max(Decimal("0"), invoice.balance - Decimal(amount))
        fields = ["balance", "updated_at"]
        if invoice.balance == 0:
            invoice.status = "paid"
            fields.append("status")
        invoice.save(update_fields=fields)
        log(invoice.organization_id, "payment.recorded", now, contact=invoice.contact, invoice=invoice,
            actor=actor, amount=str(Decimal(amount)), balance=str(invoice.balance), source=source)
        settle_instalments(invoice, now)
        if invoice.status == "paid":
            _settle_promises(invoice, now, paid=True)
            exit_invoice_enrollments(invoice, "paid", now)
        return invoice


def record_refund(invoice: Invoice, amount: Decimal, now: datetime, *, actor: str = "duedesk",
                  source: str = "") -> Invoice:
    """Money went back to the patient: the balance reopens by that much (never above the amount due) and
    a paid invoice is open again. Outreach does not restart on its own; the caller hands it to a person."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        invoice.balance = min(invoice.amount_due, invoice.balance + Decimal(amount))
        fields = ["balance", "updated_at"]
        if invoice.status == "paid" and invoice.balance > 0:
            invoice.status = "open"
            fields.append("status")
        invoice.save(update_fields=fields)
        log(invoice.organization_id, "payment.refunded", now, contact=invoice.contact, invoice=invoice,
            actor=actor, amount=str(Decimal(amount)), balance=str(invoice.balance), source=source)
        return invoice


def settle_instalments(invoice: Invoice, now: datetime) -> int:
    """Mark a payment plan's instalments paid once the balance no longer covers them (earliest first)."""
    pending = list(invoice.instalments.filter(status="pending").order_by("due_date", "pk"))
    settled = 0
    for i, row in enumerate(pending):
        still_owed_after = sum((r.amount for r in pending[i + 1:]), Decimal("0"))
        if invoice.balance > still_owed_after:
            break
        row.status = "paid"
        row.save(update_fields=["status"])
        log(invoice.organization_id, "plan.instalment_paid", now, contact=invoice.contact, invoice=invoice,
            date=row.due_date, amount=str(row.amount))
        settled += 1
    return settled


def mark_invoice_paid(invoice: Invoice, now: datetime, *, actor: str = "duedesk", source: str = "") -> Invoice:
    return record_payment(invoice, invoice.balance, now, actor=actor, source=source)


def set_invoice_status(invoice: Invoice, status: str, now: datetime, *, actor: str = "duedesk",
                       note: str = "") -> Invoice:
    """Disputed and written off stop outreach; hardship waits for a person; open and in_plan run it."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        old = invoice.status
        invoice.status = status
        invoice.save(update_fields=["status", "updated_at"])
        log(invoice.organization_id, "invoice.status_changed", now, contact=invoice.contact, invoice=invoice,
            actor=actor, old=old, new=status, note=note)
        if status in CLOSED_INVOICE:
            _settle_promises(invoice, now, paid=status == "paid")
            exit_invoice_enrollments(invoice, status, now)
        return invoice


def update_invoice(invoice: Invoice, now: datetime, *, due_date: date | None = None,
                   amount_due: Decimal | None = None, balance: Decimal | None = None,
                   actor: str = "duedesk") -> Invoice:
    """Change the due date or amount; outreach is re-planned (or stopped, when nothing is owed)."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        changes = {}
        if due_date is not None and due_date != invoice.due_date:
            changes["due_date"] = (invoice.due_date, due_date)
            invoice.due_date = due_date
        if amount_due is not None and amount_due != invoice.amount_due:
            paid_so_far = invoice.amount_due - invoice.balance
            changes["amount_due"] = (invoice.amount_due, amount_due)
            invoice.amount_due = amount_due
            invoice.balance = max(Decimal("0"), amount_due - paid_so_far)
        if balance is not None and balance != invoice.balance:
            changes["balance"] = (invoice.balance, balance)
            invoice.balance = balance
        if not changes:
            return invoice
        if invoice.balance <= 0 and invoice.status not in CLOSED_INVOICE:
            invoice.status = "paid"
        invoice.save()
        log(invoice.organization_id, "invoice.updated", now, contact=invoice.contact, invoice=invoice, actor=actor,
            **{k: {"from": str(a), "to": str(b)} for k, (a, b) in changes.items()})
        if invoice.status == "paid":
            _settle_promises(invoice, now, paid=True)
            exit_invoice_enrollments(invoice, "paid", now)
        elif "due_date" in changes:
            replan_invoice(invoice, now)
        elif invoice.status == "open":
            enroll_invoice(invoice, now)
        return invoice


def pause_invoice(invoice: Invoice, until: datetime, now: datetime, *, actor: str = "duedesk",
                  reason: str = "") -> None:
    with transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(paused_until=until)
        invoice.paused_until = until
        log(invoice.organization_id, "invoice.paused", now, contact=invoice.contact, invoice=invoice, actor=actor,
            until=until, reason=reason)


# ----------------------------------------------------------------------------- promises


def record_promise(invoice: Invoice, promised: date, now: datetime, *, channel: str = "call",
                   amount: Decimal | None = None, actor: str = "patient", route: bool = True) -> Promise:
    with transaction.atomic():
        Promise.objects.filter(invoice=invoice, status="pending").update(status="cancelled", resolved_at=now)
        promise = Promise.objects.create(
            organization_id=invoice.organization_id, contact_id=invoice.contact_id, invoice=invoice,
            promised_date=promised, amount=amount, channel=channel, created_at=now,
        )
        log(invoice.organization_id, "promise.recorded", now, contact=invoice.contact, invoice=invoice,
            channel=channel, actor=actor, date=promised, amount=amount)
        if route:
            for enrollment in Enrollment.objects.filter(invoice=invoice, status__in=Enrollment.LIVE):
                route_outcome(enrollment, "promised", now)
        return promise


def mark_promise_broken(invoice: Invoice, now: datetime) -> Promise | None:
    promise = Promise.objects.filter(invoice=invoice, status="pending").order_by("-created_at").first()
    if promise is None:
        return None
    promise.status = "broken"
    promise.resolved_at = now
    promise.save(update_fields=["status", "resolved_at"])
    log(invoice.organization_id, "promise.broken", now, contact=invoice.contact, invoice=invoice,
        date=promise.promised_date)
    return promise


def _settle_promises(invoice: Invoice, now: datetime, paid: bool) -> None:
    for promise in Promise.objects.filter(invoice=invoice, status="pending"):
        promise.status = "kept" if paid else "cancelled"
        promise.resolved_at = now
        promise.save(update_fields=["status", "resolved_at"])
        if paid:
            log(invoice.organization_id, "promise.kept", now, contact=invoice.contact, invoice=invoice,
                date=promise.promised_date)


# ----------------------------------------------------------------------------- handoffs


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


# ----------------------------------------------------------------------------- contacts


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


# ----------------------------------------------------------------------------- workflow blocks without a channel


def values_for(enrollment: Enrollment, outcome: str | None = None, now: datetime | None = None) -> dict:
    """The flat names a branch condition can read, from fresh rows."""
    invoice = enrollment.invoice
    contact = enrollment.contact
    today = local_date(now, contact.tz()) if now else None
    promise = Promise.objects.filter(invoice=invoice).order_by("-created_at").first()
    values = {
        "invoice.balance": invoice.balance,
        "invoice.amount_due": invoice.amount_due,
        "invoice.status": invoice.status,
        "invoice.currency": invoice.currency,
        "invoice.due_date": invoice.due_date.isoformat(),
        "invoice.instalment_missed": bool(today) and invoice.instalments.filter(
            status="pending", due_date__lt=today).exists(),
        "contact.language": contact.language,
        "contact.outreach_on": contact.outreach_on,
        "promise.status": promise.status if promise else None,
        "promise.date": promise.promised_date.isoformat() if promise else None,
        "enrollment.status": enrollment.status,
        "outcome": outcome,
        "org.slug": enrollment.organization.slug,
    }
    for key, value in (contact.fields or {}).items():
        values[f"contact.fields.{key}"] = value
    for key, value in (enrollment.data or {}).items():
        values[f"enrollment.{key}"] = value
    return values


def run_branch(step: Step, step_def: wf.Step, now: datetime) -> str | None:
    enrollment = step.enrollment
    last = (
        Step.objects.filter(enrollment=enrollment, status="done").exclude(pk=step.pk)
        .order_by("-finished_at", "-pk").values_list("outcome", flat=True).first()
    )
    values = values_for(enrollment, last, now)
    for branch in step_def.branches:
        if conditions.compile_condition(branch.condition).evaluate(values):
            return branch.goto
    return step_def.otherwise


def run_update(step: Step, step_def: wf.Step, now: datetime) -> None:
    enrollment = step.enrollment
    invoice = enrollment.invoice
    contact = enrollment.contact
    for target, value in step_def.set.items():
        if target == "promise.status" and value == "broken":
            mark_promise_broken(invoice, now)
        elif target == "invoice.status":
            set_invoice_status(invoice, str(value), now, actor="workflow")
        elif target.startswith("contact.fields."):
            contact.fields[target.removeprefix("contact.fields.")] = value
            contact.save(update_fields=["fields", "updated_at"])
            log(contact.organization_id, "contact.updated", now, contact=contact, invoice=invoice,
                actor="workflow", field=target, value=value)
        elif target.startswith("enrollment."):
            enrollment.data[target.removeprefix("enrollment.")] = value
            enrollment.save(update_fields=["data"])
        else:
            raise ValueError(f"cannot set {target}")


def pending_steps(invoice: Invoice):
    return Step.objects.filter(enrollment__invoice=invoice).filter(Q(status__in=Step.PENDING) | Q(status="waiting"))

