"""When a workflow step runs. The same planner serves the engine and the workflow preview.

A send lands at the opening of the send window on its local day; waits and checks run at the start
of their local day. A reminder whose day has already passed is skipped when it was meant for before
(or on) its anchor date: "due in 3 days" is no longer true. Later steps (a late call) run at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dateparser

from duedesk.core import timing, vocabulary
from duedesk.core import workflow as wf

SENDS = ("sms", "email", "call")


@dataclass(frozen=True)
class Plan:
    run_at: datetime | None  # None: skip the step
    reason: str = ""  # why it was skipped


@dataclass(frozen=True)
class Anchors:
    """The dates a timing can refer to."""

    due_date: date | None
    promise_date: date | None = None
    contact_fields: dict | None = None
    invoice_dates: dict | None = None
    trigger_at: datetime | None = None  # the moment the triggering event happened (event-started workflows)
    event: dict | None = None  # what that event carried (dates a timing may count from)


def field_date(timing_: wf.Timing, anchors: Anchors) -> date | None:
    name = timing_.field or "due_date"
    if name in ("due_date", "invoice.due_date"):
        return anchors.due_date
    if name == "promise.date":
        return anchors.promise_date
    if name.startswith("event."):
        return _as_date((anchors.event or {}).get(name.removeprefix("event.")))
    if name.startswith("contact.fields."):
        return _as_date((anchors.contact_fields or {}).get(name.removeprefix("contact.fields.")))
    if name.startswith("invoice."):
        return _as_date((anchors.invoice_dates or {}).get(name.removeprefix("invoice.")))
    return None


def _as_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parsed = dateparser.parse(str(value), languages=["en", "es"], settings={"DATE_ORDER": "MDY"})
    return parsed.date() if parsed else None


def _local_midnight(day: date, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))


def plan(step: wf.Step, anchors: Anchors, now: datetime, tz: str, window: timing.SendWindow) -> Plan:
    at = step.at
    send = step.kind in SENDS
    if at is None:
        return Plan(timing.next_open(now, tz, window) if send else now)
    if at.kind == "after":
        moment = now + (at.duration or timedelta(0))
        return Plan(timing.next_open(moment, tz, window) if send else moment)
    if at.kind == "trigger":
        # Hours after the event, never before now, and a send still waits for its window.
        moment = max(now, (anchors.trigger_at or now) + (at.duration or timedelta(0)))
        return Plan(timing.next_open(moment, tz, window) if send else moment)

    today = timing.local_date(now, tz)
    if at.kind == "day_of_month":
        target = timing.day_of_month_on_or_after(today, at.day or 1)
        late_is_stale = True
    else:
        base = (timing.local_date(anchors.trigger_at, tz) if at.field == "trigger.date" and anchors.trigger_at
                else field_date(at, anchors))
        if base is None:
            return Plan(None, vocabulary.sentence("no_anchor", field=at.field or "due_date"))
        target = base + timedelta(days=at.days)
        late_is_stale = at.days <= 0 or (at.field == "promise.date")
    if target < today:
        if send and late_is_stale:
            return Plan(None, vocabulary.sentence("day_passed", day=target.isoformat()))
        return Plan(timing.next_open(now, tz, window) if send else now)
    if send:
        return Plan(max(timing.window_opening(target, tz, window), timing.next_open(now, tz, window)))
    return Plan(max(_local_midnight(target, tz), now))


@dataclass(frozen=True)
class Walk:
    """Where an enrollment lands from a step: the first step that can be planned, the ones skipped on
    the way, or how it finishes ("done", "completed") when it runs off the end."""

    current: str
    step_id: str | None = None
    kind: str = ""
    run_at: datetime | None = None
    skipped: tuple[tuple[str, str], ...] = ()
    finish: tuple[str, str] | None = None


def walk(definition: wf.Workflow, start: str | None, anchors: Anchors, now: datetime, tz: str,
         window: timing.SendWindow, current: str = "") -> Walk:
    skipped: list[tuple[str, str]] = []
    step_id = start
    while True:
        if step_id is None or step_id == wf.END:
            return Walk(current, skipped=tuple(skipped), finish=("done", "completed"))
        if len(skipped) > len(definition.steps):
            return Walk(current, skipped=tuple(skipped), finish=("exited", "no_runnable_step"))
        step_def = definition.step(step_id)
        decision = plan(step_def, anchors, now, tz, window)
        current = step_id
        if decision.run_at is not None:
            return Walk(current, step_id, step_def.kind, decision.run_at, tuple(skipped))
        skipped.append((step_id, decision.reason))
        step_id = definition.next_for(step_id, "skipped")
