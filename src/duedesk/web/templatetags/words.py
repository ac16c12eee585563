"""What the software wrote, in the page's language: {{ handoff.summary|said }}."""

from __future__ import annotations

import re
from datetime import date, datetime

from django import template
from django.utils.translation import gettext as _

from duedesk.core import vocabulary
from duedesk.web import timeline
from duedesk.web.labels import state
from duedesk.web.templatetags.dates import day

register = template.Library()


@register.filter
def said(text) -> str:
    """A sentence the engine or an integration stored in English (a handoff's summary) in the page's language;
    a patient's or a person's own words as they were written."""
    return timeline.said(text)


def _in_words(table: dict, code) -> str:
    code = str(code or "")
    return state(table[code]) if code in table else code


@register.filter
def basis(code) -> str:
    """A consent's basis ("express", "provided_number") in words."""
    return _in_words(vocabulary.CONSENT_BASES, code)


@register.filter
def source(code) -> str:
    """Where a line's change came from ("sms keyword", "provider") in words; a source not listed as written."""
    return _in_words(vocabulary.LINE_SOURCES, code)


@register.filter
def line_type(code) -> str:
    return _in_words(vocabulary.LINE_TYPES, code)


@register.filter
def channels(codes) -> str:
    """A change's channels (["sms", "call"], ["all"]) in words."""
    return ", ".join(state("All") if code == "all" else _in_words(vocabulary.CHANNELS, code) for code in codes or ())


_GIVEN = re.compile(r"^(?P<basis>\w+)(?: \(given (?P<day>\d{4}-\d{2}-\d{2})\))?: ?(?P<evidence>.*)$", re.S)


@register.filter
def evidence(change) -> str:
    """A change's evidence; a consent's is stored as "express (given 2026-12-01): the signed form" and reads
    "express consent, given Dec 1, 2026: the signed form"; an unreachable line's why ("fax") in words."""
    if change.what == "unreachable":  # "fax", "not_mobile 30006": why, and the provider's code
        why, _sep, code = (change.evidence or "").partition(" ")
        if why in vocabulary.UNREACHABLE_REASONS:
            return f"{state(vocabulary.UNREACHABLE_REASONS[why])} {code}".strip()
    found = _GIVEN.match(change.evidence or "") if change.what == "consent_given" else None
    if not found or found["basis"] not in vocabulary.CONSENT_BASES:
        return change.evidence
    said = basis(found["basis"])
    if found["day"]:
        said = _("%(basis)s, given %(day)s") % {"basis": said, "day": day(date.fromisoformat(found["day"]))}
    return f"{said}: {found['evidence']}" if found["evidence"] else said


@register.filter
def iso_day(value) -> str:
    """A day or a moment kept as ISO text in a record ("2026-12-07", "2026-12-07T15:00:00+00:00") as the page
    writes days ("7 dic 2026"); anything else as it is."""
    text = str(value or "")
    try:
        return day(datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text))
    except ValueError:
        return text


@register.filter
def event_kind(kind) -> str:
    """A timeline event's kind ("payment.recorded") as the timeline names it ("Payment recorded")."""
    return state(vocabulary.label(vocabulary.EVENT_KINDS, str(kind or "")))


@register.filter
def label(code, table: str) -> str:
    """A code in words from a vocabulary table: {{ s.key|label:"PROMISE_STATUSES" }} -> "Pendiente"."""
    return _in_words(getattr(vocabulary, table), code)


@register.filter
def actor(who) -> str:
    """Who did it, in words: a staff member by their name, the rest by what they are ('the workflow')."""
    return timeline.actor_words(who)
