"""Enrollments: start outreach for an invoice, move it from step to step, finish it.

`now` is always passed in: the worker's clock is real time, the simulator's is virtual.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from duedesk.core import workflow as wf
from duedesk.engine import advance, definitions
from duedesk.engine.advance import step_key as step_key  # its home is the one way forward
from duedesk.engine.models import Enrollment, Step, Workflow
from duedesk.records.models import Invoice
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
                   data: dict | None = None, source: str = "", kind: str = "event") -> Enrollment | None:
    """An event about an invoice (a failed card, a status change) starts the organization's workflow
    triggered by it, timed from the moment it happened. A running enrollment of another workflow gives way
    (the event is the newer news); the same workflow already running is left alone. `kind="field"`: a
    contact field switched on (`event_type` is the field's name), for a workflow with `trigger: {field: …}`."""
    workflow = definitions.triggered_by(invoice.organization, kind, event_type)
    with transaction.atomic():
        log(invoice.organization_id, "invoice.event", now, contact=invoice.contact, invoice=invoice,
            type=event_type if kind == "event" else f"{kind}:{event_type}", occurred_at=occurred_at,
            source=source, workflow=workflow.name if workflow else None)
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


def go_to_step(enrollment: Enrollment, definition: wf.Workflow | None, step_id: str | None, now: datetime
               ) -> Step | None:
    """Move the enrollment to `step_id` and plan its Step row (or finish at "end"), by the one way forward."""
    return advance.go_to_step(enrollment, step_id, now)


def plan_retry(step: Step, enrollment: Enrollment, run_at: datetime, now: datetime) -> Step:
    return advance.plan_retry(step, run_at, now)


def finish_enrollment(enrollment: Enrollment, status: str, reason: str, now: datetime) -> None:
    _cancel_pending(enrollment, now)
    enrollment.status = status
    enrollment.exit_reason = reason
    enrollment.ended_at = now
    enrollment.save(update_fields=["status", "exit_reason", "ended_at"])
    log(enrollment.organization_id, "enrollment.exited" if status == "exited" else "enrollment.done", now,
        contact=enrollment.contact, invoice=enrollment.invoice, reason=reason)


def _cancel_pending(enrollment: Enrollment, now: datetime) -> int:
    return advance.cancel_not_started([enrollment.pk], now)


def complete_step(step: Step, outcome: str, now: datetime) -> None:
    """A step finished with an outcome: record it and plan what comes next."""
    advance.complete_step(step, outcome, now)


def route_outcome(enrollment: Enrollment, outcome: str, now: datetime) -> bool:
    """A reply or event outside a step (a promise by text, a dispute): jump where the workflow says."""
    definition = definitions.parsed(enrollment.workflow)
    target = definition.on_reply.get(outcome)
    if not target or enrollment.status not in Enrollment.LIVE:
        return False
    with transaction.atomic():
        _cancel_pending(enrollment, now)
        advance.go_to_step(enrollment, target, now, outcome=outcome)
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


def move_to_version(workflow: Workflow, now: datetime, actor: str = "") -> int:
    """A new version was published with "move running invoices at their next step": every live enrollment
    on an older version of the workflow finishes the step it is on as that version wrote it, then goes on in
    `workflow` (the move happens in advance.forward, as the next step is planned). Returns how many."""
    with transaction.atomic():
        live = list(Enrollment.objects.select_for_update().filter(
            organization_id=workflow.organization_id, workflow__slug=workflow.slug, status__in=Enrollment.LIVE,
            workflow__version__lt=workflow.version))
        for enrollment in live:
            enrollment.data["move_to"] = workflow.pk
        Enrollment.objects.bulk_update(live, ["data"])
        log(workflow.organization_id, "workflow.published", now, actor=actor or "duedesk", workflow=workflow.name,
            version=workflow.version, running="move", moving=len(live))
        return len(live)


def exit_invoice_enrollments(invoice: Invoice, reason: str, now: datetime) -> int:
    n = 0
    for enrollment in Enrollment.objects.select_for_update().filter(invoice=invoice, status__in=Enrollment.LIVE):
        finish_enrollment(enrollment, "exited", reason, now)
        n += 1
    return n


def pending_steps(invoice: Invoice):
    return Step.objects.filter(enrollment__invoice=invoice).filter(Q(status__in=Step.PENDING) | Q(status="waiting"))
