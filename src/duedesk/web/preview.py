"""What a workflow would send, and when, for one sample patient: the engine's own planner walked step by
step, assuming every send goes out and nobody replies or pays, with the gate (core/compliance) run at each
send as the worker runs it: the send window, the office's holidays and closed days, the call limits. Each
text is the message itself, rendered for the sample patient in their language; each time is in the
patient's zone with its abbreviation. It runs on a draft as well as on a saved version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from duedesk.core import compliance, conditions, render, timing, vocabulary
from duedesk.core import workflow as wf
from duedesk.engine.planning import SENDS, Anchors, plan
from duedesk.web.block_forms import timing_words

# With no reply, a call ends unanswered once its retries are used up.
ASSUMED_OUTCOME = {"sms": "sent", "email": "sent", "call": "no_answer", "wait": "completed",
                   "handoff": "completed", "update": "completed", "notify": "completed"}
MAX_ROWS = 40
KIND_WORDS = {"sms": "Text", "email": "Email", "call": "Call", "wait": "Wait", "branch": "Decide",
              "handoff": "Hand to a person", "update": "Record", "notify": "Tell other systems", "end": "Finish"}


@dataclass(frozen=True)
class Sample:
    """The patient the preview is for: a first name, a language, a zone, an invoice."""

    org_name: str
    tz: str
    due: date
    start: datetime
    language: str = "en"
    amount: Decimal = Decimal("250.00")
    currency: str = "USD"
    first_name: str = "Ana"
    pay_link: str = "https://pay.example/inv-1001"
    callback_number: str = ""
    window: timing.SendWindow = timing.SendWindow()
    holidays: frozenset = frozenset()
    closed: frozenset = frozenset()


@dataclass
class Row:
    step: str
    name: str  # the step in words
    kind: str
    when: datetime | None
    what: str
    note: str = ""
    message: str = ""
    subject: str = ""
    moved: list[str] = field(default_factory=list)  # the gate's rules that moved it, in words
    local: str = ""  # `when` on the patient's wall clock, with the zone's abbreviation


def local_time(moment: datetime, tz: str) -> str:
    """'Mon, Mar 8, 9:00 AM EST' ('lun 8 mar, 9:00 a.m. EST' on Spanish pages): the patient's wall clock with its
    zone's abbreviation."""
    if (translation.get_language() or "en").startswith("es"):
        return format_datetime(moment, "EEE d MMM, h:mm a zzz", tzinfo=ZoneInfo(tz), locale="es_US")
    return format_datetime(moment, "EEE, MMM d, h:mm a zzz", tzinfo=ZoneInfo(tz), locale="en_US")


def _what(step: wf.Step, names: dict[str, str]) -> str:
    def to(target: str) -> str:
        return _("finish") if target == wf.END else names.get(target, target)

    if step.kind in ("sms", "email"):
        return _("Text") if step.kind == "sms" else _("Email")
    if step.kind == "call":
        return _("Call (up to %(n)s attempts)") % {"n": step.retry.attempts} if step.retry else _("Call")
    if step.kind == "wait":
        return _("Wait %(when)s") % {"when": timing_words(step.at.source if step.at else "", "wait")}
    if step.kind == "handoff":
        reason = pgettext("state", vocabulary.label(vocabulary.HANDOFF_REASONS, step.reason)) \
            if step.reason in wf.HANDOFF_REASONS \
            else _("the answer that led here")
        return _("Hand to a person (%(reason)s)") % {"reason": reason}
    if step.kind == "notify":
        return _("Tell other systems: %(notice)s") % {
            "notice": pgettext("state", vocabulary.label(vocabulary.WORKFLOW_NOTICES, step.notice or ""))}
    if step.kind == "update":
        return _("Record %(what)s") % {"what": ", ".join(f"{k} = {v}" for k, v in step.set.items())}
    if step.kind == "branch":
        return _("Decide: %(rules)s") % {"rules": "; ".join(
            _("if %(condition)s → %(target)s") % {"condition": b.condition, "target": to(b.goto)}
            for b in step.branches)}
    return _(KIND_WORDS.get(step.kind, step.kind))


def _message(definition: wf.Workflow, step: wf.Step, sample: Sample, promise: date | None) -> tuple[str, str]:
    """(text, subject) as the sample patient would read them; a problem in the template, in words."""
    if step.kind not in ("sms", "email") or step.template not in definition.templates:
        return "", ""
    lang = definition.language_for(step.template, sample.language)
    ctx = render.MessageContext(org_name=sample.org_name, first_name=sample.first_name, lang=lang,
                                amount=sample.amount, currency=sample.currency, due_date=sample.due,
                                pay_link=sample.pay_link, promise_date=promise,
                                callback_number=sample.callback_number)
    try:
        if step.kind == "sms":
            return render.render_sms(definition.text(step.template, lang), ctx), ""
        subject, body, _html = render.render_email(definition.subject(step.template, lang) or "",
                                                   definition.text(step.template, lang), ctx)
        return body, subject
    except render.RenderError as error:
        return f"({error})", ""


def _gate(kind: str, moment: datetime, sample: Sample, calls: list[datetime]) -> tuple[datetime | None, list[str]]:
    """The gate at the planned moment: the same moment, a later one (with the rules that moved it), or None."""
    moved: list[str] = []
    for _attempt in range(10):
        decision = compliance.check(compliance.GateInput(
            channel=kind, now=moment, tz=sample.tz, window=sample.window, holidays=sample.holidays,
            closed_dates=sample.closed, call_attempts=tuple(calls), person_calls=tuple(calls)))
        if isinstance(decision, compliance.Defer):
            moved.append(vocabulary.GATE_RULES.get(decision.rule, decision.rule))
            moment = decision.until
            continue
        if isinstance(decision, compliance.Block):
            return None, moved + [vocabulary.GATE_RULES.get(decision.rule, decision.rule)]
        return moment, moved
    return moment, moved


def walk(definition: wf.Workflow, sample: Sample, first: str | None = None, promise: date | None = None,
         names: dict[str, str] | None = None) -> list[Row]:
    names = names or {s.id: s.id.replace("_", " ").capitalize() for s in definition.steps}
    anchors = Anchors(due_date=sample.due, promise_date=promise, invoice_dates={"due_date": sample.due},
                      trigger_at=sample.start, event={"next_billing_date": sample.due.isoformat()})
    values = {"invoice.balance": sample.amount, "invoice.status": "open", "promise.status": None,
              "contact.outreach_on": True, "invoice.due_date": sample.due.isoformat(),
              "contact.language": sample.language}
    rows: list[Row] = []
    calls: list[datetime] = []
    now = sample.start
    current = first or definition.first().id
    seen: dict[str, int] = {}
    outcome = None
    while current and current != wf.END and len(rows) < MAX_ROWS:
        seen[current] = seen.get(current, 0) + 1
        name = names.get(current, current)
        if seen[current] > 2:
            rows.append(Row(current, name, "", None, _("Repeats from here")))
            break
        step = definition.step(current)
        if step.kind == "end":
            rows.append(Row(step.id, name, "end", now, _("Finish"), step.reason or ""))
            break
        if step.kind == "branch":
            values["outcome"] = outcome
            target = next((b.goto for b in step.branches
                           if conditions.compile_condition(b.condition).evaluate(values)), None)
            target = target or step.otherwise or definition.following(step.id)
            rows.append(Row(step.id, name, "branch", now, _what(step, names),
                            _("goes to %(target)s") % {"target": _("finish") if target in (None, wf.END)
                                                       else names.get(target, target)}))
            current = target
            continue
        decision = plan(step, anchors, now, sample.tz, sample.window)
        if decision.run_at is None:
            rows.append(Row(step.id, name, step.kind, None, _what(step, names), _("skipped: %(why)s") % {"why": decision.reason}))
            current = definition.next_for(step.id, "skipped")
            continue
        now = decision.run_at
        moved: list[str] = []
        if step.kind in SENDS:
            gated, moved = _gate(step.kind, now, sample, calls)
            if gated is None:
                rows.append(Row(step.id, name, step.kind, None, _what(step, names), _("blocked"), moved=moved))
                current = definition.next_for(step.id, "failed")
                continue
            now = gated
        text, subject = _message(definition, step, sample, promise)
        note = _("if nobody answers") if step.kind == "call" else ""
        rows.append(Row(step.id, name, step.kind, now, _what(step, names), note, text, subject, moved))
        if step.kind == "call":
            calls.append(now)
            for attempt in range(2, (step.retry.attempts if step.retry else 1) + 1):
                planned = timing.next_open(now + step.retry.every, sample.tz, sample.window)
                gated, moved = _gate("call", planned, sample, calls)
                if gated is None:
                    rows.append(Row(step.id, name, "call", None, _("Call, attempt %(n)s") % {"n": attempt}, _("blocked"),
                                    moved=moved))
                    break
                now = gated
                calls.append(now)
                rows.append(Row(step.id, name, "call", now, _("Call, attempt %(n)s") % {"n": attempt},
                                _("if nobody answers"), moved=moved))
        outcome = ASSUMED_OUTCOME.get(step.kind, "completed")
        if step.kind == "update" and "enrollment." in " ".join(step.set):
            values.update({k: v for k, v in step.set.items()})
        current = definition.next_for(step.id, outcome)
    for row in rows:
        row.local = local_time(row.when, sample.tz) if row.when else ""
    return rows


def promise_path(definition: wf.Workflow, sample: Sample, names: dict[str, str] | None = None) -> list[Row]:
    """What happens once the patient promises a date (a week after the due date in the sample): the
    reply route walked like the rest, from the day the promise is made."""
    start = definition.on_reply.get("promised")
    if not start or start == wf.END:
        return []
    promised = sample.due + timedelta(days=10)
    made = timing.wall_to_utc(sample.due + timedelta(days=3), datetime.min.time().replace(hour=12), sample.tz)
    from dataclasses import replace

    return walk(definition, replace(sample, start=made), first=start, promise=promised, names=names)


def sample_message(kind: str, body: str, subject: str, lang: str, sample: Sample) -> str:
    """One message of the editor as the sample patient would read it (a problem in the template, in words)."""
    ctx = render.MessageContext(org_name=sample.org_name, first_name=sample.first_name, lang=lang,
                                amount=sample.amount, currency=sample.currency, due_date=sample.due,
                                pay_link=sample.pay_link, promise_date=sample.due + timedelta(days=10),
                                callback_number=sample.callback_number)
    try:
        if kind == "sms":
            return render.render_sms(body, ctx)
        subject_text, text, _html = render.render_email(subject or "", body, ctx)
        return f"{subject_text} — {text}" if subject_text else text
    except render.RenderError as error:
        return f"({error})"
