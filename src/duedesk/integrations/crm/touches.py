"""Which timeline events are written to the CRM, and what each becomes there.

duedesk owns activities and outcomes: every text, call (with its transcript), payment and handoff is
written as the CRM's own activity, and `last_outcome` / `promise_date` on the contact say where things
stand. The CRM owns the due date, the balance and the switch: those are only written back when duedesk
is the one that changed them (a payment recorded here, outreach switched here) — never an echo of a
change that came from the CRM (actor "crm")."""

from __future__ import annotations

from django.conf import settings

from duedesk.core import vocabulary
from duedesk.integrations.crm.base import Touch
from duedesk.records.models import Event, Handoff

PUSHED = frozenset({
    "sms.sent", "sms.received", "email.sent", "call.completed", "promise.recorded", "payment.recorded",
    "handoff.opened", "outreach.on", "outreach.off", "crm.conflict", "workflow.notice",
})

SPEAKERS = {"agent": "duedesk", "assistant": "duedesk", "bot": "duedesk", "caller": "Patient", "patient": "Patient",
            "staff": "Staff"}


def wanted(event: Event) -> bool:
    if event.kind not in PUSHED or event.contact_id is None:
        return False
    if event.kind.startswith("outreach.") and event.actor == "crm":
        return False  # the CRM switched it: writing it back would be an echo
    return True


def key_for(event_id: int) -> str:
    return f"duedesk-event-{event_id}"


def transcript_text(turns) -> str:
    lines = []
    for turn in turns or ():
        if not isinstance(turn, dict):
            continue
        who = SPEAKERS.get(str(turn.get("speaker", "")), str(turn.get("speaker", "")).capitalize() or "?")
        lines.append(f"{who}: {turn.get('text', '')}")
    return "\n".join(lines)


def touch_for(event: Event, write_balance: bool = True) -> Touch:
    d = event.detail or {}
    t = Touch(event_id=event.pk, key=key_for(event.pk), kind=None, at=event.at, event_kind=event.kind)
    k = event.kind
    if k == "sms.sent":
        t.kind, t.subject, t.body = "text", "Text sent by duedesk", d.get("body", "")
        t.properties["last_outcome"] = "Text sent"
    elif k == "sms.received":
        t.kind, t.direction, t.subject, t.body = "text", "in", "Text received", d.get("body", "")
        t.properties["last_outcome"] = "Text received"
    elif k == "email.sent":
        t.kind, t.subject, t.body = "note", "Email sent by duedesk", f"Email sent: {d.get('subject', '')}"
        t.properties["last_outcome"] = "Email sent"
    elif k == "call.completed":
        outcome = str(d.get("outcome") or "completed").replace("_", " ")
        t.kind, t.subject, t.status = "call", f"duedesk call: {outcome}", outcome
        transcript = transcript_text(d.get("transcript"))
        t.body = f"Outcome: {outcome}\n\n{transcript}" if transcript else f"Outcome: {outcome}"
        t.properties["last_outcome"] = f"Call: {outcome}"
    elif k == "promise.recorded":
        t.properties["promise_date"] = d.get("date", "")
        t.properties["last_outcome"] = f"Promised to pay on {d.get('date', '')}"
    elif k == "payment.recorded":
        amount, balance = d.get("amount", ""), d.get("balance", "")
        t.kind, t.subject = "note", "Payment recorded in duedesk"
        t.body = f"Payment of {amount} recorded in duedesk. Balance now {balance}."
        t.properties["last_outcome"] = "Paid in full" if balance in ("0", "0.00") else "Part payment"
        if write_balance and balance != "":
            t.properties["balance"] = balance
    elif k == "handoff.opened":
        reason = dict(Handoff.REASONS).get(d.get("reason", ""), str(d.get("reason", "")).replace("_", " "))
        name = event.contact.full_name if event.contact_id else ""
        link = f"{settings.PUBLIC_URL}/inbox/{event.handoff_id}/" if event.handoff_id else settings.PUBLIC_URL
        t.kind, t.subject = "task", f"duedesk handoff: {reason} — {name}".strip(" —")
        summary = d.get("summary") or ""
        t.body = f"Reason: {reason}\n{('Summary: ' + summary + chr(10)) if summary else ''}Open in duedesk: {link}"
        t.properties["last_outcome"] = f"Needs a person: {reason}"
    elif k == "crm.conflict":
        t.kind, t.subject = "note", f"duedesk: the {d.get('field', 'value')} changed on both sides"
        t.body = (f"The {d.get('field', 'value')} was {d.get('duedesk', '')} in duedesk and changed to "
                  f"{d.get('crm', '')} here; duedesk now uses {d.get('crm', '')} (the CRM owns this field).")
    elif k == "workflow.notice":
        notice = vocabulary.label(vocabulary.WORKFLOW_NOTICES, str(d.get("notice", "")))
        t.kind, t.subject = "note", f"duedesk: {notice}"
        t.body = f"{notice} (the reminders' step '{d.get('step', '')}')."
        t.properties["last_outcome"] = notice
    elif k in ("outreach.on", "outreach.off"):
        t.properties["outreach"] = "on" if k == "outreach.on" else "off"
    return t
