"""Workflow blocks without a channel: a branch reads fresh rows, an update writes them."""

from __future__ import annotations

from datetime import datetime

from duedesk.core import conditions
from duedesk.core import workflow as wf
from duedesk.core.timing import local_date
from duedesk.engine.actions.invoices import set_invoice_status
from duedesk.engine.actions.promises import mark_promise_broken
from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Promise
from duedesk.records.timeline import log


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
