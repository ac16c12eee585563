"""Timeline rows for templates: each Event in the billing office's words, with who did it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext, pgettext_lazy

from duedesk.core import vocabulary
from duedesk.records.models import Event
from duedesk.web.blocks import words
from duedesk.web.preview import KIND_WORDS
from duedesk.web.templatetags.money import money

# Names and labels live in core.vocabulary; these are the timeline's short names for them.
LABELS = vocabulary.EVENT_KINDS
RULES = vocabulary.GATE_RULES
CHANNEL_WORDS = vocabulary.CHANNEL_PLURALS
CALL_OUTCOMES = vocabulary.CALL_OUTCOMES
SPEAKERS = {"agent": "duedesk", "assistant": "duedesk", "bot": "duedesk", "patient": pgettext_lazy("speaker", "Patient"),
            "caller": pgettext_lazy("speaker", "Patient"), "staff": pgettext_lazy("speaker", "Staff")}


def in_words(steps):
    """Planned or finished steps named as the block editor names them ("Late call", "Call"), not by their codes."""
    steps = list(steps)
    for s in steps:
        s.name, s.kind_words = words(s.step_id), gettext(KIND_WORDS.get(s.kind, s.kind))
    return steps


def turns(transcript) -> list[dict]:
    """A call's or a conversation's turns for a page: who spoke, in words, and what a patient's line was understood
    as (shown only behind its "details" toggle; the code itself never reaches the page)."""
    out = []
    for t in transcript or ():
        if not isinstance(t, dict):
            continue
        speaker = str(t.get("speaker", ""))
        intent = t.get("intent") or ""
        out.append({"speaker": speaker, "text": t.get("text", ""), "who": SPEAKERS.get(speaker, capfirst(speaker)),
                    "understood": pgettext("state", vocabulary.label(vocabulary.UNDERSTOOD, intent)) if intent else ""})
    return out


def rule_words(rule: str, channel: str = "") -> str:
    words = RULES.get(rule) or rule.replace("_", " ")
    if rule == "opted_out" and channel in CHANNEL_WORDS:
        words = f"opted out of {CHANNEL_WORDS[channel]}"
    return words


def _when(value) -> str:
    """An ISO instant from an event's detail in the page's zone (the office's), with its abbreviation."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if not moment.tzinfo:
        return moment.strftime("%b %-d, %H:%M")
    return timezone.localtime(moment).strftime("%b %-d, %-I:%M %p %Z")


def _text(e: Event) -> str:
    d = e.detail or {}
    k = e.kind
    if k in ("sms.sent", "sms.received", "staff.note", "staff.call_logged"):
        return d.get("body") or d.get("text") or ""
    if k in ("step.blocked", "sms.blocked"):
        return "Not sent: " + rule_words(d.get("rule", ""), e.channel) + (
            f" · “{words(d['step'])}”" if d.get("step") else "")
    if k in ("step.deferred", "sms.deferred"):
        until = f" · moved to {_when(d['until'])}" if d.get("until") else ""
        return "Waiting: " + rule_words(d.get("rule", ""), e.channel) + until + (
            f" · “{words(d['step'])}”" if d.get("step") else "")
    if k == "call.completed":
        bits = [CALL_OUTCOMES.get(d.get("outcome", ""), str(d.get("outcome", "")).replace("_", " "))]
        if d.get("answered_by") and d["answered_by"] != "human":
            bits.append(f"answered by {d['answered_by'].replace('_', ' ')}")
        promised = (d.get("collected") or {}).get("promised_date")
        if promised:
            bits.append(f"will pay on {promised}")
        return " · ".join(b for b in bits if b)
    if k == "call.reply_times":
        return f"{d.get('turns')} turns · median {d.get('median_ms')} ms · slowest {d.get('slowest_ms')} ms"
    if k == "invoice.updated":
        names = {"due_date": "due date", "amount_due": "amount", "balance": "balance"}
        return " · ".join(f"{label} {d[key]['from']} → {d[key]['to']}" for key, label in names.items()
                          if isinstance(d.get(key), dict))
    if k in ("payment.recorded", "payment.undone", "payment.refunded"):
        cur = e.invoice.currency if e.invoice_id and e.invoice else "USD"
        amount, balance = money(d.get("amount"), cur), money(d.get("balance"), cur)
        if k == "payment.undone":
            return f"{amount} taken off again · balance {balance}" + (f" · {d['reason']}" if d.get("reason") else "")
        if k == "payment.refunded":
            return f"{amount} given back · balance {balance}"
        credit = f" · {money(d['credit'], cur)} paid beyond the balance, kept as credit" if d.get("credit") else ""
        return f"{amount} paid · balance {balance}{credit}"
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
    if k == "workflow.notice":
        return vocabulary.label(vocabulary.WORKFLOW_NOTICES, str(d.get("notice", ""))) + (
            f" · “{words(d['step'])}”" if d.get("step") else "")
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
            "label": vocabulary.label(LABELS, e.kind),
            "text": _text(e), "actor": e.actor,
            "transcript": turns(transcript),
            "quoted": e.kind in ("sms.sent", "sms.received"),
            "invoice_ref": e.invoice.external_ref if e.invoice_id and e.invoice else "",
        })
    return out


def for_contact(contact, limit: int = 300) -> list[dict]:
    qs = (Event.objects.filter(organization_id=contact.organization_id, contact=contact)
          .select_related("invoice", "handoff").order_by("-at", "-id")[:limit])
    return rows(qs)
