"""What a workflow would send, and when, for one invoice: the engine's own planner walked step by step,
assuming every send goes out as planned and nobody replies or pays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from duedesk.core import conditions, timing
from duedesk.core import workflow as wf
from duedesk.engine.planning import SENDS, Anchors, plan

# With no reply, a call ends unanswered once its retries are used up.
ASSUMED_OUTCOME = {"sms": "sent", "email": "sent", "call": "no_answer", "wait": "completed",
                   "handoff": "completed", "update": "completed"}
MAX_ROWS = 40


@dataclass(frozen=True)
class Row:
    step: str
    kind: str
    when: datetime | None
    what: str
    note: str = ""


def _what(step: wf.Step) -> str:
    if step.kind in ("sms", "email"):
        return f"{'Text' if step.kind == 'sms' else 'Email'}: {step.template}"
    if step.kind == "call":
        tries = f" (up to {step.retry.attempts} attempts)" if step.retry else ""
        return f"Call: {step.template}{tries}"
    if step.kind == "wait":
        return f"Wait ({step.at.source if step.at else ''})"
    if step.kind == "handoff":
        return f"Hand to a person ({step.reason})"
    if step.kind == "update":
        return "Record " + ", ".join(f"{k} = {v}" for k, v in step.set.items())
    if step.kind == "branch":
        return "Decide: " + "; ".join(f"if {b.condition} → {b.goto}" for b in step.branches)
    return step.kind


def walk(definition: wf.Workflow, due: date, tz: str, window: timing.SendWindow, start: datetime,
         first: str | None = None, promise: date | None = None) -> list[Row]:
    anchors = Anchors(due_date=due, promise_date=promise, invoice_dates={"due_date": due})
    values = {"invoice.balance": Decimal("100"), "invoice.status": "open", "promise.status": None,
              "contact.outreach_on": True, "invoice.due_date": due.isoformat()}
    rows: list[Row] = []
    now = start
    current = first or definition.first().id
    seen: dict[str, int] = {}
    outcome = None
    while current and current != wf.END and len(rows) < MAX_ROWS:
        seen[current] = seen.get(current, 0) + 1
        if seen[current] > 2:
            rows.append(Row(current, "", None, "Repeats from here"))
            break
        step = definition.step(current)
        if step.kind == "end":
            rows.append(Row(step.id, "end", now, "Finish", step.reason or ""))
            break
        if step.kind == "branch":
            values["outcome"] = outcome
            target = next((b.goto for b in step.branches
                           if conditions.compile_condition(b.condition).evaluate(values)), None)
            target = target or step.otherwise or definition.following(step.id)
            rows.append(Row(step.id, "branch", now, _what(step), f"goes to {target}"))
            current = target
            continue
        decision = plan(step, anchors, now, tz, window)
        if decision.run_at is None:
            rows.append(Row(step.id, step.kind, None, _what(step), f"skipped: {decision.reason}"))
            current = definition.next_for(step.id, "skipped")
            continue
        now = decision.run_at
        outcome = ASSUMED_OUTCOME.get(step.kind, "completed")
        note = "if nobody answers" if step.kind == "call" else ""
        if step.kind == "update" and "enrollment." in " ".join(step.set):
            values.update({k: v for k, v in step.set.items()})
        rows.append(Row(step.id, step.kind, now if step.kind in SENDS or step.kind == "wait" else now,
                        _what(step), note))
        current = definition.next_for(step.id, outcome)
    return rows


def promise_path(definition: wf.Workflow) -> list[Row]:
    """Steps that only run once a promise is made, listed with their timing as written."""
    start = definition.on_reply.get("promised")
    rows: list[Row] = []
    seen = set()
    current = start
    while current and current != wf.END and current not in seen and len(rows) < MAX_ROWS:
        seen.add(current)
        step = definition.step(current)
        rows.append(Row(step.id, step.kind, None, _what(step), step.at.source if step.at else "right after"))
        current = step.otherwise if step.kind == "branch" else definition.next_for(step.id, ASSUMED_OUTCOME.get(
            step.kind, "completed"))
    return rows
