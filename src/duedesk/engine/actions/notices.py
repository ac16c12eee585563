"""A workflow's `notify` block: one timeline event, nothing sent from here.

The timeline is how the engine hands work to the integrations above it: the CRM outbox queues its note
from the event in this same transaction (a timeline listener), and each webhook endpoint turns it into a
delivery from its cursor on the timeline. So the notice commits with the step that reached it, or not at
all, and no receiver is waited on while the invoice is locked."""

from __future__ import annotations

from datetime import datetime

from duedesk.core import workflow as wf
from duedesk.engine.models import Step
from duedesk.records.timeline import log


def run_notify(step: Step, step_def: wf.Step, now: datetime) -> None:
    enrollment = step.enrollment
    log(enrollment.organization_id, "workflow.notice", now, contact=enrollment.contact, invoice=enrollment.invoice,
        actor="workflow", step=step.step_id, notice=step_def.notice)
