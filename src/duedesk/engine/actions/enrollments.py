"""Enrollments: start outreach for an invoice, move it from step to step, finish it.

`now` is always passed in: the worker's clock is real time, the simulator's is virtual.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.db.models import Q

from duedesk.core import workflow as wf
from duedesk.engine import definitions
from duedesk.engine.models import Enrollment, Step, Workflow
from duedesk.engine.planning import Anchors, walk
from duedesk.records.models import Invoice, Promise
from duedesk.records.timeline import log

CLOSED_INVOICE = ("paid", "written_off", "disputed")


def enroll_invoice(invoice: Invoice, now: datetime, workflow: Workflow | None = None,
                   data: dict | None = None) -> Enrollment | None:
    """Start outreach for an invoice with an open balance. Does nothing if one is already running.
    `data`: what the enrollment starts with (an event-started workflow's trigger moment and event)."""
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
            data=data or {},
        )
        log(invoice.organization_id, "enrollment.started", now, contact=invoice.contact, invoice=invoice,
            workflow=workflow.name, version=workflow.version, trigger=(data or {}).get("trigger"))
        go_to_step(enrollment, definition, definition.first().id, now)
        return enrollment


def start_on_event(invoice: Invoice, event_type: str, occurred_at: datetime, now: datetime, *,
                   data: dict | None = None, source: str = "") -> Enrollment | None:
    """An event about an invoice (a failed card, a status change) starts the organization's workflow
    triggered by it, timed from the moment it happened. A running enrollment of another workflow gives way
    (the event is the newer news); the same workflow already running is left alone."""
    workflow = definitions.triggered_by(invoice.organization, "event", event_type)
    with transaction.atomic():
        log(invoice.organization_id, "invoice.event", now, contact=invoice.contact, invoice=invoice,
            type=event_type, occurred_at=occurred_at, source=source, workflow=workflow.name if workflow else None)
        if workflow is None:
            return None
        live = Enrollment.objects.select_for_update().filter(invoice=invoice, status__in=Enrollment.LIVE).first()
        if live is not None:
            if live.workflow.slug == workflow.slug:
                return None
            finish_enrollment(live, "exited", "replaced", now)
        payload = {"trigger": event_type, "trigger_at": occurred_at.isoformat(),
                   "event": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in (data or {}).items()}}
        return enroll_invoice(invoice, now, workflow, data=payload)


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
        trigger_at=_moment((enrollment.data or {}).get("trigger_at")),
        event=(enrollment.data or {}).get("event"),
    )


def _moment(value) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


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


def exit_invoice_enrollments(invoice: Invoice, reason: str, now: datetime) -> int:
    n = 0
    for enrollment in Enrollment.objects.select_for_update().filter(invoice=invoice, status__in=Enrollment.LIVE):
        finish_enrollment(enrollment, "exited", reason, now)
        n += 1
    return n


def pending_steps(invoice: Invoice):
    return Step.objects.filter(enrollment__invoice=invoice).filter(Q(status__in=Step.PENDING) | Q(status="waiting"))
