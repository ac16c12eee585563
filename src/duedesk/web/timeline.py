"""Timeline rows for templates: each Event in the billing office's words, with who did it."""

from __future__ import annotations

from datetime import datetime

from django.utils.text import capfirst

from duedesk.records.models import Event

LABELS = {
    "sms.sent": "Text sent", "sms.received": "Text received", "sms.failed": "Text failed",
    "sms.blocked": "Text blocked", "sms.deferred": "Text deferred", "sms.retrying": "Text retrying",
    "email.sent": "Email sent", "email.failed": "Email failed",
    "call.placed": "Call placed", "call.answered": "Call answered", "call.ended": "Call ended",
    "call.failed": "Call failed", "call.completed": "Call completed",
    "promise.recorded": "Promise recorded", "promise.kept": "Promise kept", "promise.broken": "Promise broken",
    "payment.recorded": "Payment recorded",
    "handoff.opened": "Handed to a person", "handoff.updated": "Handoff updated",
    "handoff.assigned": "Handoff assigned", "handoff.resolved": "Handoff resolved",
    "step.blocked": "Step blocked", "step.deferred": "Step deferred", "step.skipped": "Step skipped",
    "invoice.status_changed": "Invoice status changed", "invoice.paused": "Reminders paused",
    "invoice.updated": "Invoice updated",
    "enrollment.started": "Reminders started", "enrollment.exited": "Reminders stopped",
    "enrollment.done": "Reminders finished", "enrollment.replanned": "Reminders re-planned",
    "outreach.on": "Outreach switched on", "outreach.off": "Outreach switched off",
    "contact.opted_out": "Opted out", "contact.opted_in": "Opted back in", "contact.updated": "Contact updated",
    "contact.unreachable": "Channel unreachable",
    "staff.note": "Note", "staff.call_logged": "Call back logged",
    "plan.created": "Payment plan set", "plan.instalment_paid": "Instalment paid",
}


# The gate's rules (core.compliance) in the billing office's words.
RULES = {
    "outreach_off": "outreach is switched off for this contact",
    "opted_out": "opted out",
    "channel_unreachable": "the number or address is unreachable",
    "invoice_paid": "the invoice is paid",
    "invoice_written_off": "the invoice is written off",
    "invoice_disputed": "the invoice is disputed",
    "invoice_hardship": "hardship: a person handles this invoice",
    "no_balance": "nothing is owed",
    "paused": "reminders are paused",
    "call_frequency": "7 call attempts in the last 7 days",
    "call_after_conversation": "spoke with the patient in the last 7 days",
    "send_window": "outside the send window",
}
CHANNEL_WORDS = {"sms": "texts", "call": "calls", "email": "email", "all": "everything"}
CALL_OUTCOMES = {
    "promised": "promised a date to pay", "paid": "says it is paid", "completed": "conversation finished",
    "no_answer": "no answer", "voicemail": "left a voicemail", "busy": "line busy", "failed": "call failed",
    "handoff": "handed to a person", "dispute": "disputes the bill", "hardship": "hardship",
    "callback": "asked to be called back", "wrong_person": "wrong person", "opted_out": "asked not to be called",
}
SPEAKERS = {"agent": "duedesk", "bot": "duedesk", "patient": "Patient", "caller": "Patient", "staff": "Staff"}


def rule_words(rule: str, channel: str = "") -> str:
    words = RULES.get(rule) or rule.replace("_", " ")
    if rule == "opted_out" and channel in CHANNEL_WORDS:
        words = f"opted out of {CHANNEL_WORDS[channel]}"
    return words


def _when(value) -> str:
    """An ISO instant from an event's detail, as the timeline shows times (UTC)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.strftime("%b %-d, %H:%M UTC") if moment.tzinfo else moment.strftime("%b %-d, %H:%M")


def _text(e: Event) -> str:
    d = e.detail or {}
    k = e.kind
    if k in ("sms.sent", "sms.received", "staff.note", "staff.call_logged"):
        return d.get("body") or d.get("text") or ""
    if k in ("step.blocked", "sms.blocked"):
        return "Not sent: " + rule_words(d.get("rule", ""), e.channel) + (
            f" · step {d['step']}" if d.get("step") else "")
    if k in ("step.deferred", "sms.deferred"):
        until = f" · moved to {_when(d['until'])}" if d.get("until") else ""
        return "Waiting: " + rule_words(d.get("rule", ""), e.channel) + until + (
            f" · step {d['step']}" if d.get("step") else "")
    if k == "call.completed":
        bits = [CALL_OUTCOMES.get(d.get("outcome", ""), str(d.get("outcome", "")).replace("_", " "))]
        if d.get("answered_by") and d["answered_by"] != "human":
            bits.append(f"answered by {d['answered_by'].replace('_', ' ')}")
        promised = (d.get("collected") or {}).get("promised_date")
        if promised:
            bits.append(f"will pay on {promised}")
        return " · ".join(b for b in bits if b)
    if k == "invoice.updated":
        names = {"due_date": "due date", "amount_due": "amount", "balance": "balance"}
        return " · ".join(f"{label} {d[key]['from']} → {d[key]['to']}" for key, label in names.items()
                          if isinstance(d.get(key), dict))
    if k == "payment.recorded":
        return f"{d.get('amount')} paid · balance {d.get('balance')}"
    if k == "promise.recorded":
        return f"Will pay on {d.get('date')}" + (f" ({d['amount']})" if d.get("amount") else "")
    if k.startswith("handoff."):
        bits = [d.get("reason", ""), d.get("summary", ""), d.get("outcome", ""), d.get("note", "")]
        if d.get("to"):
            bits.append(f"to {d['to']}")
        return " · ".join(b for b in bits if b)
    if k == "invoice.status_changed":
        return f"{d.get('old')} → {d.get('new')}" + (f" · {d['note']}" if d.get("note") else "")
    if k == "invoice.paused":
        return f"until {d['until']}" if d.get("until") else "pause cleared"
    if k == "plan.created":
        return ", ".join(f"{i['amount']} on {i['date']}" for i in d.get("instalments", []))
    if k in ("enrollment.started",):
        return f"{d.get('workflow')} v{d.get('version')}"
    if "reason" in d:
        return str(d["reason"])
    return ""


def rows(events) -> list[dict]:
    out = []
    for e in events:
        d = e.detail or {}
        transcript = d.get("transcript") or (e.handoff.transcript if e.kind == "handoff.opened" and e.handoff else None)
        out.append({
            "at": e.at, "kind": e.kind, "group": e.kind.split(".")[0], "channel": e.channel,
            "label": LABELS.get(e.kind, capfirst(e.kind.replace(".", " ").replace("_", " "))),
            "text": _text(e), "actor": e.actor,
            "transcript": [{**t, "who": SPEAKERS.get(t.get("speaker", ""), capfirst(t.get("speaker", "")))}
                           for t in transcript or () if isinstance(t, dict)],
            "quoted": e.kind in ("sms.sent", "sms.received"),
            "invoice_ref": e.invoice.external_ref if e.invoice_id and e.invoice else "",
        })
    return out


def for_contact(contact, limit: int = 300) -> list[dict]:
    qs = (Event.objects.filter(organization_id=contact.organization_id, contact=contact)
          .select_related("invoice", "handoff").order_by("-at", "-id")[:limit])
    return rows(qs)
