"""Timeline rows for templates: each Event in the billing office's words, with who did it."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy, pgettext, pgettext_lazy
from django.utils.translation import gettext as _

from duedesk.core import vocabulary
from duedesk.records.models import Event
from duedesk.web.blocks import words
from duedesk.web.labels import state
from duedesk.web.preview import KIND_WORDS
from duedesk.web.templatetags.dates import day, when, when_short
from duedesk.web.templatetags.money import money

# Names and labels live in core.vocabulary; these are the timeline's short names for them.
LABELS = vocabulary.EVENT_KINDS
RULES = vocabulary.GATE_RULES
CALL_OUTCOMES = vocabulary.CALL_OUTCOMES
SPEAKERS = {"agent": "duedesk", "assistant": "duedesk", "bot": "duedesk", "patient": pgettext_lazy("speaker", "Patient"),
            "caller": pgettext_lazy("speaker", "Patient"), "staff": pgettext_lazy("speaker", "Staff")}
# vocabulary.CHANNEL_PLURALS, each opt-out a whole phrase
OPTED_OUT_OF = {"sms": pgettext_lazy("state", "opted out of texts"), "call": pgettext_lazy("state", "opted out of calls"),
                "email": pgettext_lazy("state", "opted out of email"),
                "all": pgettext_lazy("state", "opted out of everything")}


def in_words(steps):
    """Planned or finished steps named as the block editor names them ("Late call", "Call"), not by their codes."""
    steps = list(steps)
    for s in steps:
        s.name, s.kind_words = words(s.step_id), gettext(KIND_WORDS.get(s.kind, s.kind))
        s.when, s.status_words = when(s.run_at), state(s.get_status_display())
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
    """The gate's rule in the page's language: "outside the send window", "opted out of texts"."""
    if rule == "opted_out" and channel in OPTED_OUT_OF:
        return str(OPTED_OUT_OF[channel])
    return state(RULES[rule]) if rule in RULES else rule.replace("_", " ")


# Who did it, in words: a person by their name, the rest by what they are (not "staff:dana" or "workflow").
ACTORS = {"staff": gettext_lazy("a staff member"), "patient": gettext_lazy("the patient"), "workflow": gettext_lazy("the workflow"),
          "import": gettext_lazy("the import"), "stripe": "Stripe", "crm": gettext_lazy("the CRM"), "duedesk": "duedesk"}


def actor_words(actor: str) -> str:
    """'staff:dana' -> 'dana'; 'workflow' -> 'the workflow' ('el flujo'); an actor not listed as it is."""
    who = str(actor or "")
    if who.startswith("staff:"):
        return who.removeprefix("staff:")
    return str(ACTORS.get(who.split(":")[0], who))


def send_words(result) -> str:
    """What became of a text a person sent (engine.actions.sends.TextResult), for the page's flash message in its
    language: the gate's rule in words, never its code."""
    from duedesk.core import compliance

    decision = result.decision
    if isinstance(decision, compliance.Block):
        return _("Not sent: %(rule)s.") % {"rule": rule_words(decision.rule, "sms")}
    if isinstance(decision, compliance.Defer):
        return _("Not sent now: %(rule)s. Allowed from %(when)s.") % {
            "rule": rule_words(decision.rule, "sms"), "when": when_short(decision.until)}
    if result.error:
        return _("The text could not be sent: %(problem)s") % {"problem": result.error}
    return _("Text sent.")


def _when(value) -> str:
    """An ISO instant from an event's detail in the page's zone (the office's), with its abbreviation."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return when_short(moment)


def _until(value) -> str:
    """A pause's end: its day when it ends at the start of one (as staff set it), else the moment."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo and (moment.hour, moment.minute) == (0, 0):
        return day(moment.date())  # midnight where it was set (the contact's zone), that day
    return when_short(moment)


def _day(value) -> str:
    """An ISO day from an event's detail ("2026-12-18") as the page writes days ("Dec 18, 2026")."""
    try:
        return day(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _field(name) -> str:
    """A workflow's date to count from ("due_date", "contact.fields.visit_date") as the block editor names it."""
    from duedesk.web.block_forms import FIELDS, field_words

    name = str(name)
    return field_words(name if name in FIELDS or "invoice." + name not in FIELDS else "invoice." + name)


# How a stored sentence's values are said on a page; the rest are shown as they were written.
_VALUES = {"day": _day, "field": _field, "step": lambda step: words(str(step)),
           "kind": lambda kind: gettext(KIND_WORDS[kind]).lower() if kind in KIND_WORDS else kind}


def said(text) -> str:
    """What the engine, the importer or an integration wrote (vocabulary.SENTENCES, stored in English so the
    row reads on its own) in the page's language, its values as the page says them ("2026-11-28 has passed"
    -> "pasó el 28 nov 2026"). Anything else (a patient's or a person's own words) as it was written."""
    text = str(text or "")
    found = vocabulary.found_sentence(text)
    if found is None:
        return text
    english, values = found
    values = {name: _VALUES[name](value) if name in _VALUES else value for name, value in values.items()}
    return state(english) % values if values else state(english)


def collected_words(key: str) -> str:
    """A handoff's collected answer's name in words ("amount_paid" -> "Importe pagado")."""
    return state(vocabulary.COLLECTED[key]) if key in vocabulary.COLLECTED else words(key)


def reason_words(reason) -> str:
    """Why reminders finished or a step was skipped, in words: the finish's reason, the gate's rule, a stored
    sentence, or (a workflow's own `end` reason) as its author wrote it."""
    reason = str(reason or "")
    if reason in vocabulary.FINISH_REASONS:
        return state(vocabulary.FINISH_REASONS[reason])
    if reason in RULES:
        return rule_words(reason)
    return said(reason)


def _step(d: dict) -> str:
    return f" · “{words(d['step'])}”" if d.get("step") else ""


def _text(e: Event) -> str:
    d = e.detail or {}
    k = e.kind
    if k in ("sms.sent", "sms.received", "staff.note", "staff.call_logged"):
        return d.get("body") or d.get("text") or ""
    if k in ("step.blocked", "sms.blocked"):
        return _("Not sent: %(rule)s") % {"rule": rule_words(d.get("rule", ""), e.channel)} + _step(d)
    if k in ("step.deferred", "sms.deferred"):
        words = {"rule": rule_words(d.get("rule", ""), e.channel)}
        if d.get("until"):
            line = _("Waiting: %(rule)s · moved to %(when)s") % {**words, "when": _when(d["until"])}
        else:
            line = _("Waiting: %(rule)s") % words
        return line + _step(d)
    if k == "call.completed":
        outcome = d.get("outcome", "")
        bits = [state(CALL_OUTCOMES[outcome]) if outcome in CALL_OUTCOMES else str(outcome).replace("_", " ")]
        if d.get("answered_by") and d["answered_by"] != "human":
            who = d["answered_by"]
            bits.append(_("answered by %(who)s") % {
                "who": state(vocabulary.ANSWERED_BY[who]) if who in vocabulary.ANSWERED_BY else who.replace("_", " ")})
        promised = (d.get("collected") or {}).get("promised_date")
        if promised:
            bits.append(_("will pay on %(day)s") % {"day": _day(promised)})
        return " · ".join(b for b in bits if b)
    if k == "call.reply_times":
        return _("%(turns)s turns · median %(median)s ms · slowest %(slowest)s ms") % {
            "turns": d.get("turns"), "median": d.get("median_ms"), "slowest": d.get("slowest_ms")}
    if k == "invoice.updated":
        cur = e.invoice.currency if e.invoice_id and e.invoice else "USD"
        return " · ".join(_invoice_change(key, d[key], cur) for key in ("due_date", "amount_due", "balance")
                          if isinstance(d.get(key), dict))
    if k in ("payment.recorded", "payment.undone", "payment.refunded"):
        cur = e.invoice.currency if e.invoice_id and e.invoice else "USD"
        amounts = {"amount": money(d.get("amount"), cur), "balance": money(d.get("balance"), cur)}
        if k == "payment.undone":
            return _("%(amount)s taken off again · balance %(balance)s") % amounts + (
                f" · {d['reason']}" if d.get("reason") else "")
        if k == "payment.refunded":
            return _("%(amount)s given back · balance %(balance)s") % amounts
        line = _("%(amount)s paid · balance %(balance)s") % amounts
        if d.get("credit"):
            line += _(" · %(credit)s paid beyond the balance, kept as credit") % {"credit": money(d["credit"], cur)}
        return line
    if k == "promise.recorded":
        cur = e.invoice.currency if e.invoice_id and e.invoice else "USD"
        return _("Will pay on %(day)s") % {"day": _day(d.get("date"))} + (
            f" ({money(d['amount'], cur)})" if d.get("amount") else "")
    if k.startswith("handoff."):
        reason, outcome = d.get("reason", ""), d.get("outcome", "")
        bits = [state(vocabulary.HANDOFF_REASONS[reason]) if reason in vocabulary.HANDOFF_REASONS else reason,
                said(d.get("summary")), _outcome(outcome), said(d.get("note"))]
        if d.get("to"):
            bits.append(_("to %(person)s") % {"person": d["to"]})
        return " · ".join(b for b in bits if b)
    if k == "invoice.status_changed":
        statuses = vocabulary.INVOICE_STATUSES
        old, new = (state(statuses[s]) if s in statuses else str(s) for s in (d.get("old"), d.get("new")))
        return f"{old} → {new}" + (f" · {said(d['note'])}" if d.get("note") else "")
    if k == "invoice.paused":
        return _("until %(when)s") % {"when": _until(d["until"])} if d.get("until") else _("pause cleared")
    if k == "plan.created":
        cur = e.invoice.currency if e.invoice_id and e.invoice else "USD"
        return ", ".join(_("%(amount)s on %(day)s") % {"amount": money(i["amount"], cur), "day": _day(i["date"])}
                         for i in d.get("instalments", []))
    if k == "workflow.notice":
        notice = str(d.get("notice", ""))
        notices = vocabulary.WORKFLOW_NOTICES
        return (state(notices[notice]) if notice in notices else vocabulary.label(notices, notice)) + _step(d)
    if k in ("enrollment.started",):
        return f"{d.get('workflow')} v{d.get('version')}"
    if k == "compliance.legal_hold" and d.get("rule") in RULES:
        return rule_words(d["rule"])
    if k == "contact.unreachable" and d.get("reason") in vocabulary.UNREACHABLE_REASONS:
        return state(vocabulary.UNREACHABLE_REASONS[d["reason"]])
    if k == "step.skipped":
        return reason_words(d.get("reason")) + _step(d)
    if "reason" in d:
        return reason_words(d["reason"])
    return ""


def _invoice_change(key: str, change: dict, currency: str) -> str:
    words = {"due_date": _("due date %(from)s → %(to)s"), "amount_due": _("amount %(from)s → %(to)s"),
             "balance": _("balance %(from)s → %(to)s")}[key]
    shown = _day if key == "due_date" else lambda amount: money(amount, currency)
    return words % {"from": shown(change.get("from")), "to": shown(change.get("to"))}


def _outcome(outcome: str) -> str:
    """How a person resolved a handoff (inbox/actions.OUTCOMES), in words."""
    from duedesk.inbox.actions import OUTCOMES

    return str(OUTCOMES[outcome]) if outcome in OUTCOMES else outcome


def rows(events) -> list[dict]:
    """Each event with what the page shows already in words and in the page's zone (its label, its time, who
    did it): worked out once here, each kind's label translated once, not through the template language."""
    out, labels = [], {}
    for e in events:
        d = e.detail or {}
        transcript = d.get("transcript") or (e.handoff.transcript if e.kind == "handoff.opened" and e.handoff else None)
        if e.kind not in labels:
            labels[e.kind] = state(vocabulary.label(LABELS, e.kind))
        at = timezone.localtime(e.at)
        out.append({
            "at": e.at, "iso": at.isoformat(), "when": when(at), "kind": e.kind, "group": e.kind.split(".")[0],
            "channel": e.channel,
            "channel_words": gettext(KIND_WORDS[e.channel]) if e.channel in KIND_WORDS else e.channel,
            "label": labels[e.kind],
            "text": _text(e), "actor": actor_words(e.actor),
            "by": _("by %(who)s") % {"who": actor_words(e.actor)},
            "transcript": turns(transcript),
            "quoted": e.kind in ("sms.sent", "sms.received"),
            "invoice_ref": e.invoice.external_ref if e.invoice_id and e.invoice else "",
        })
    return out


def for_contact(contact, limit: int = 300) -> list[dict]:
    # Only what a row shows: not every column of each event's invoice and handoff (their JSON parsed, their
    # encrypted answers decrypted) for each of up to 300 events.
    qs = (Event.objects.filter(organization_id=contact.organization_id, contact=contact)
          .select_related("invoice", "handoff")
          .only("kind", "channel", "actor", "detail", "at", "contact_id", "invoice__external_ref", "invoice__currency",
                "handoff__transcript")
          .order_by("-at", "-id")[:limit])
    return rows(qs)
