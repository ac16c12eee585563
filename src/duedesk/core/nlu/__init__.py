"""Understanding a patient's reply: intent, date and amount, in English or Spanish.

``understand`` takes a text message or one transcribed speech turn, the moment
it arrived and the contact's time zone, and returns an ``Understanding``. It is
pure: the caller passes ``now``; nothing here reads the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import llm, model
from .amounts import extract_amount
from .classify import classify, explicitly_unclear, legal_stop, question_topic
from .dates import DateResult, extract_date
from .language import detect_language
from .preferences import preference
from .text import has_question_mark, normalize

INTENTS = (
    "attorney", "bankruptcy", "cease_contact", "contact_preference", "pay_now", "already_paid", "promise_to_pay", "payment_plan", "dispute", "hardship", "wrong_person",
    "opt_out", "request_human", "callback_later", "question", "affirm", "deny", "unclear",
)

__all__ = ["INTENTS", "Understanding", "understand", "detect_language", "local_today", "legal_stop_in"]


@dataclass(frozen=True)
class Understanding:
    intent: str
    date: date | None = None
    amount: Decimal | None = None
    lang: str = "en"
    vague_date: bool = False  # "next week", "soon": the dialog asks for a day
    question_topic: str | None = None  # for intent question: "amount" | "due_date" | "who" | "what_for" | None
    preference: dict | None = None  # for intent contact_preference: see preferences.py


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"tz: unknown time zone {tz!r}") from exc


def local_today(now: datetime, tz: str) -> date:
    """The contact's calendar day at ``now``; a naive ``now`` is taken as already local."""
    zone = _zone(tz)
    if now.tzinfo is None:
        return now.date()
    return now.astimezone(zone).date()


# A tapback sent as text ('Liked "…"', 'Le encantó "…"', 'Reacted 👍 to "…"'): the quoted words are
# ours, so only the reaction counts.
_TAPBACK = re.compile(
    r'^\s*(?P<verb>liked|loved|disliked|laughed at|emphasi[sz]ed|questioned|le gust[oó]|le encant[oó]|no le gust[oó]'
    r'|se ri[oó] de|enfatiz[oó]|pregunt[oó]|reacted (?P<emoji>\S+) to|reaccion[oó] (?:con )?(?P<emoji2>\S+) a)'
    r'\s*[“"«„\'].*[”"»\']?\s*$',
    re.IGNORECASE | re.DOTALL,
)
_TAPBACK_ANSWER = {"liked": "yes", "loved": "yes", "le gusto": "yes", "le encanto": "yes", "disliked": "no",
                   "no le gusto": "no", "👍": "yes", "❤️": "yes", "❤": "yes", "👎": "no"}


def _tapback(text: str) -> str | None:
    """What a tapback answers ("yes", "no", or "" for a laugh or emphasis), or None if it is not one."""
    m = _TAPBACK.match(text)
    if not m:
        return None
    key = m.group("emoji") or m.group("emoji2") or normalize(m.group("verb"))
    return _TAPBACK_ANSWER.get(key, "")


# Where a split payment's second part starts: "… and the rest on the 20th", "… y la otra mitad a fin de mes".
_SECOND_PART = re.compile(
    r"\b(?:and|then|plus|y|luego) (?:the |la |el |lo |otros? |otras? )?(?:rest|other half|remainder|balance|otra mitad"
    r"|otra parte|demas|resto|restante|que falta|\$? ?\d+)\b"
)


# Intents whose date means something: a day to pay, a payment made, a plan's first payment, a time to call back.
_DATED = ("promise_to_pay", "pay_now", "already_paid", "payment_plan", "callback_later")


def understand(text: str, now: datetime, tz: str, lang: str | None = None) -> Understanding:
    today = local_today(now, tz)
    if lang not in ("en", "es"):
        lang = detect_language(text)
    tapback = _tapback(text)
    if tapback is not None:
        text = tapback
    t = normalize(text)
    when = extract_date(t, today, lang)
    amount = extract_amount(t)
    question_mark = has_question_mark(text)
    intent, topic = classify(t, question_mark, when, today, amount)
    if intent == "unclear" and not explicitly_unclear(t, question_mark):
        # No rule matched: the statistical fallback may name an intent (see model.py).
        intent = model.fallback(text) or "unclear"
        if intent == "question":
            topic = question_topic(t)
    if intent == "unclear" and llm.configured():
        intent = llm.classify_with_llm(text, lang, INTENTS) or "unclear"
    if intent == "already_paid" and when.date is not None:
        when = extract_date(t, today, lang, past=True)  # a payment made looks back: "I paid Friday"
    elif intent not in _DATED:
        # "we filed chapter seven in March", "I lost my job in January", "I met my deductible in June":
        # background, never a day to pay
        when = DateResult()
    elif intent == "hardship" and when.date == today:
        when = DateResult()  # "I can't pay today": today is the day refused, not promised
    elif intent == "payment_plan" and when.date is not None:
        second = _SECOND_PART.search(t)
        first = extract_date(t[:second.start()], today, lang) if second else None
        if first is not None and first.date is not None:
            when = first  # a plan's date is its first payment's
    return Understanding(
        intent=intent,
        date=when.date,
        amount=amount,
        lang=lang,
        vague_date=when.vague and when.date is None,
        question_topic=topic if intent == "question" else None,
        preference=preference(t) if intent == "contact_preference" else None,
    )


def legal_stop_in(text: str) -> str | None:
    """"attorney", "bankruptcy" or "cease_contact" when a note or message states one (and does not deny it)."""
    return legal_stop(normalize(text))
