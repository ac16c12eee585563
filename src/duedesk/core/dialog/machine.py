"""The call's state machine: verify -> disclose -> ask -> resolve -> close.

Pure: every decision comes from the CallContext, the stored state and what was heard.
The state is plain JSON so the voice webhook can keep it between Twilio requests; it also
carries the transcript and the collected answers for the timeline and any handoff.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from duedesk.core import language as languages
from duedesk.core import timing
from duedesk.core.dialog import spoken
from duedesk.core.dialog.phrases_en import PHRASES as _EN
from duedesk.core.dialog.phrases_es import PHRASES as _ES
from duedesk.core.dialog.speech import limited_content, long_date, money, spoken_number
from duedesk.core.dialog.types import CallContext, Effect, Turn
from duedesk.core.render import record_date

MAX_IDENTITY_TRIES = 2
MAX_MISSES = 2  # unclear or silent answers in a row before a person takes over
MAX_VAGUE = 2  # "sometime next week" answers before a person takes over
MAX_PATIENT_TURNS = 20  # a call that goes round in circles ends with a handoff
PAUSE_BUSINESS_DAYS = 3  # reminders wait this long while staff check a reported payment
CALLBACK_DELAY = timedelta(hours=2)  # "call me later" with no day: not sooner than this

HANDOFF_INTENTS = ("payment_plan", "dispute", "hardship", "request_human")
LEGAL_STOPS = ("attorney", "bankruptcy", "cease_contact")
IDENTITY_STEPS = ("verify_name", "verify_dob", "verify_zip")
_PHRASES = {"en": _EN, "es": _ES}
_VOICES = {"en": "en-US", "es": "es-US"}  # Twilio <Say language=...>

# Words that make an opt-out cover texts as well as calls.
_ALL_CHANNELS = re.compile(
    r"\b(text|texts|texting|message|messages|sms|contact|contacting|anything|everything|"
    r"mensaje|mensajes|texto|textos|contacten|contactar|contacto|nada)\b"
)

# Read-back (docs/call-script.md): the kind of day a patient named decides which day "the one after" is.
_WEEKDAY_WORD = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thurs|fri|sat|sun"
    r"|lunes|martes|miercoles|jueves|viernes|sabado|domingo)\b"
)
_NEXT_WORD = re.compile(r"\b(?:next|proximo|proxima|que viene|que entra)\b")
_MONTH_END_WORDS = re.compile(
    r"\b(?:end of (?:the |this )?month|month end|last day of (?:the |this )?month|fin(?:es|al)? de(?:l)? mes"
    r"|ultimo dia del mes)\b"
)
# "no, the one after", "the following one", "no, el siguiente", "el de la otra semana"
_ONE_AFTER = re.compile(
    r"\b(?:the one after|one after (?:that|this)|the (?:next|following) one|the week after|the month after"
    r"|the following (?:week|month|one)|after that one|el siguiente|la siguiente|el que sigue|la que sigue"
    r"|el de (?:la )?(?:otra|siguiente|proxima) semana|el del (?:otro|siguiente|proximo) mes|el otro|despues de ese)\b"
)

_HANDOFF_LABELS = {
    "payment_plan": "Asked for a payment plan",
    "dispute": "Disputes the balance",
    "hardship": "Reported financial hardship",
    "request_human": "Asked to speak with a person",
    "verify_payment": "Says the invoice is already paid: please verify the payment",
    "unclear": "The call could not go on: the patient could not be understood",
    "silence": "The call could not go on: no answer was heard",
    "no_date": "The patient could not settle on a specific day to pay",
}


# ---- public API ---------------------------------------------------------------------


def start(ctx: CallContext) -> Turn:
    """The opener (with the recording notice when recording) and the name question."""
    st = new_state()
    parts = [_p(ctx, "hotline_opener" if ctx.inbound else "opener", org=ctx.org_name)]
    if ctx.recording:
        parts.append(_p(ctx, "recording"))
    parts.append(_p(ctx, "ask_name", name=_name(ctx)))
    return _ask(ctx, st, parts)


def new_state() -> dict[str, Any]:
    """A call's state before anything is said (plain JSON)."""
    return {
        "v": 1,
        "step": "verify_name",
        "tries": 0,
        "misses": 0,
        "vague": 0,
        "patient_turns": 0,
        "pending_date": None,
        "pending_kind": None,
        "outcome": None,
        "transcript": [],
        "collected": {
            "identity_verified": False,
            "promised_date": None,
            "stated_reason": None,
            "amount_offered": None,
            "outcome": None,
        },
    }


def copy_state(state: Mapping[str, Any]) -> dict:
    """A copy of the state the turn may change, leaving the caller's as it was: its dicts and lists copied, the
    values in them (text, numbers, dates) shared. The state is plain JSON, so this is what copy.deepcopy does,
    in a fifth of its time on a long call's transcript (every turn copies it)."""
    return {key: _copied(value) for key, value in state.items()}


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copied(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


def respond(ctx: CallContext, state: Mapping[str, Any], heard: Any | None, text: str | None) -> Turn:
    """The next turn after the patient answered; `heard` None means nothing was said.

    `heard` is a duedesk.core.nlu Understanding (only its fields are read).
    """
    st = copy_state(state)
    if st["step"] == "done":  # a repeated webhook after the end: nothing more to say or do
        return Turn(say="", lang=_voice(ctx), listen=False, state=st, outcome=st["outcome"], done=True)
    intent = heard.intent if heard is not None else None
    st["transcript"].append({"speaker": "patient", "text": text or "", "intent": intent})
    st["patient_turns"] += 1
    if st["patient_turns"] > MAX_PATIENT_TURNS:
        return _give_up(ctx, st, "unclear", text)
    if heard is None:
        if st["step"] == "confirm_link":  # probably paying already: no handoff for that
            return _link_wait(ctx, st)
        return _miss(ctx, st, "silence", text)
    if st["step"] in IDENTITY_STEPS:
        return _identity(ctx, st, heard, text)
    return _resolve(ctx, st, heard, text)


def transcript(state: Mapping[str, Any]) -> list[dict]:
    """Every turn, both speakers: {"speaker", "text", "intent"}."""
    return [dict(t) for t in state.get("transcript", [])]


def collected(state: Mapping[str, Any]) -> dict:
    """The answers gathered so far, for the timeline and any handoff."""
    return dict(state.get("collected", {}))


# ---- identity -----------------------------------------------------------------------


def _identity(ctx: CallContext, st: dict, heard: Any, text: str | None) -> Turn:
    intent = heard.intent
    # These are honoured before identity because they disclose nothing.
    if intent in LEGAL_STOPS:
        return _legal_stop(ctx, st, intent, text)
    if intent == "contact_preference":
        return _preference(ctx, st, heard)
    if intent == "wrong_person":
        return _wrong_person(ctx, st)
    if intent == "opt_out":
        return _opt_out(ctx, st, text)
    if intent == "request_human":
        return _handoff(ctx, st, "request_human", text)
    if intent == "callback_later":
        return _callback(ctx, st, heard, text)

    step = st["step"]
    # What follows answers who they are (a name, a date of birth, a ZIP code): it is not a statement about
    # the bill, so the timeline does not tag it ("March third nineteen eighty" is no promise to pay).
    st["transcript"][-1]["intent"] = None
    if step == "verify_name":
        if intent == "affirm":
            st["misses"] = 0
            return _after_name(ctx, st)
        if intent == "deny":  # someone else in the household: ask the patient to call back
            return _end_unverified(ctx, st, "not_available", "not_the_patient")
        answer = None
    elif step == "verify_dob":
        answer = spoken.matches_date_of_birth(text, ctx.date_of_birth, _today(ctx),
                                              spoken.date_order(_lang(ctx), ctx.country))
    else:
        answer = spoken.matches_zip(text, ctx.zip_code or "")
    if answer is True:
        return _verified(ctx, st)
    if answer is False:
        return _identity_try(ctx, st, [], "mismatch")
    if intent == "question":
        st["misses"] = 0
        topic = "who" if heard.question_topic == "who" else "details_after_identity"
        said = _who(ctx) if topic == "who" else _p(ctx, topic)
        return _ask(ctx, st, [said, *_prompt(ctx, st)])
    if intent == "unclear":
        return _miss(ctx, st, "unclear", text)
    # Anything else (a dispute, a promise, "yes" to a date question) is not an answer to the
    # identity question, and nothing about the invoice may be said yet.
    return _identity_try(ctx, st, [_p(ctx, "identity_first")], "not_answered")


def _identity_try(ctx: CallContext, st: dict, lead: list[str], reason: str) -> Turn:
    st["tries"] += 1
    st["misses"] = 0
    if st["tries"] >= MAX_IDENTITY_TRIES:
        return _end_unverified(ctx, st, "identity_failed", reason)
    # A wrong answer hears "couldn't confirm that"; a non-answer hears the question again.
    key = "ask_" + st["step"].removeprefix("verify_") + ("" if lead else "_again")
    return _ask(ctx, st, [*lead, _p(ctx, key, name=_name(ctx))])


def _identity_method(ctx: CallContext) -> str | None:
    """The second factor to ask for; a missing one falls back to the other, else None."""
    if ctx.identity_check == "name_only":
        return "name_only"
    order = ("zip", "dob") if ctx.identity_check == "zip" else ("dob", "zip")
    have = {"dob": ctx.date_of_birth is not None, "zip": bool(ctx.zip_code)}
    return next((m for m in order if have[m]), None)


def _after_name(ctx: CallContext, st: dict) -> Turn:
    method = _identity_method(ctx)
    if method == "name_only" or not ctx.baa_signed:
        # A name alone is no proof of identity, and without a BAA the voice provider may not carry the
        # balance: only the limited-content message, which discloses nothing (45 CFR 164.514(h), 164.502(e)).
        reason = "no_baa" if not ctx.baa_signed else "name_only"
        return _end(ctx, st, [_p(ctx, "thanks"), _limited(ctx), _p(ctx, "goodbye")], "limited_content",
                    [Effect("identity_failed", {"reason": reason})])
    if method is None:  # nothing on file to check against: say nothing about the invoice
        return _end_unverified(ctx, st, "identity_failed", "no_identity_data")
    st["step"], st["tries"] = f"verify_{method}", 0
    return _ask(ctx, st, [_p(ctx, "thanks"), _p(ctx, f"ask_{method}")])


def _verified(ctx: CallContext, st: dict) -> Turn:
    st["collected"]["identity_verified"] = True
    st["step"], st["tries"], st["misses"] = "ask_how", 0, 0
    effects = [Effect("identity_verified", {"method": _identity_method(ctx)})]
    if ctx.inbound:  # they called us: they say what they want to know
        return _ask(ctx, st, [_p(ctx, "verified_help" if ctx.amount > 0 else "verified_no_balance")], effects)
    return _ask(ctx, st, [_disclosure(ctx), _p(ctx, "ask_how")], effects)


def _end_unverified(ctx: CallContext, st: dict, key: str, reason: str) -> Turn:
    """The limited-content message: organization, a person to call, the number. Nothing else."""
    parts = [_p(ctx, key), _limited(ctx), _p(ctx, "goodbye")]
    return _end(ctx, st, parts, "identity_failed", [Effect("identity_failed", {"reason": reason})])


# ---- resolving ------------------------------------------------------------------------


def _resolve(ctx: CallContext, st: dict, heard: Any, text: str | None) -> Turn:
    intent = heard.intent
    step = st["step"]
    has_date = heard.date is not None or bool(heard.vague_date)

    if step == "confirm_link":  # the pay link went out; whatever they say next, close warmly
        if intent in ("affirm", "pay_now"):  # never text the same link twice
            return _end(ctx, st, [_p(ctx, "link_ok")], "paid")
        if intent in ("deny", "unclear"):
            return _link_wait(ctx, st)
    if step == "confirm_date" and st.get("pending_kind") and _ONE_AFTER.search(spoken._fold(text or "")) and (
        heard.date is None or heard.date.isoformat() == st["pending_date"]
    ):
        # "no, the one after": the next day of the same kind as the one read back
        st["misses"] = 0
        day = _one_after(st["pending_kind"], date.fromisoformat(st["pending_date"]))
        return _read_back(ctx, st, day, st["pending_kind"], ambiguous=False)
    if step == "confirm_date":
        same_day = heard.date is None or heard.date.isoformat() == st["pending_date"]
        if intent in ("affirm", "promise_to_pay") and same_day and not heard.vague_date:
            return _record_promise(ctx, st)  # "yes", "yes, Friday", "I'll pay then"
        if intent in ("deny", "affirm", "promise_to_pay", "unclear") and has_date:
            return _take_date(ctx, st, heard, text)
        if intent == "deny":
            st["step"], st["misses"] = "ask_date", 0
            return _ask(ctx, st, [_p(ctx, "ask_day_again")])
    if step in ("ask_how", "ask_date") and (
        intent == "promise_to_pay" or (has_date and intent in ("unclear", "affirm"))
        # "a fin de mes" on the month's last day reads as today: which month is meant is asked at the read-back
        or (intent == "pay_now" and heard.date is not None and _day_kind(text or "") == "month_end")
    ):
        return _take_date(ctx, st, heard, text)

    if intent in LEGAL_STOPS:
        return _legal_stop(ctx, st, intent, text)
    if intent == "contact_preference":
        return _preference(ctx, st, heard)
    if intent == "pay_now":
        st["step"], st["misses"] = "confirm_link", 0
        return _ask(ctx, st, [_p(ctx, "link_sent")], [Effect("send_pay_link", {})])
    if intent == "already_paid":
        return _already_paid(ctx, st, text)
    if intent in HANDOFF_INTENTS:
        return _handoff(ctx, st, intent, text)
    if intent == "wrong_person":
        return _wrong_person(ctx, st)
    if intent == "opt_out":
        return _opt_out(ctx, st, text)
    if intent == "callback_later":
        return _callback(ctx, st, heard, text)
    if intent == "question":
        st["misses"] = 0
        return _ask(ctx, st, [_answer(ctx, heard.question_topic), *_prompt(ctx, st)])
    if step == "confirm_link":
        return _link_wait(ctx, st)
    return _miss(ctx, st, "unclear", text)


def _take_date(ctx: CallContext, st: dict, heard: Any, text: str | None = None) -> Turn:
    st["misses"] = 0
    if heard.amount is not None:
        st["collected"]["amount_offered"] = str(heard.amount)
    if heard.date is None or heard.vague_date:
        st["vague"] += 1
        if st["vague"] >= MAX_VAGUE:
            return _give_up(ctx, st, "no_date", None)
        st["step"] = "ask_date"
        return _ask(ctx, st, [_p(ctx, "ask_day")])
    day: date = heard.date
    today = _today(ctx)
    if day < today:
        st["step"] = "ask_date"
        return _ask(ctx, st, [_p(ctx, "date_passed")])
    kind = _day_kind(text or "")
    return _read_back(ctx, st, day, kind, ambiguous=_ambiguous(kind, text or "", day, today))


def _day_kind(text: str) -> str | None:
    """What kind of day the patient named: "weekday" (Friday), "day" (the 5th), "month_end", or None."""
    folded = spoken._fold(text)
    if _MONTH_END_WORDS.search(folded):
        return "month_end"
    words = set(re.findall(r"[a-z]+", folded))
    if words & spoken._MONTHS:
        return None  # a month was named: there is no "other" one to mean
    has_weekday = _WEEKDAY_WORD.search(folded) is not None
    has_number = any(t.isdigit() and 1 <= int(t) <= 31 for t in spoken.words_to_digits(folded))
    if has_weekday and not has_number:
        return "weekday"
    if has_number and not has_weekday:
        return "day"
    return None


def _ambiguous(kind: str | None, text: str, day: date, today: date) -> bool:
    """"next Friday" said early in the week, "the 5th" in a month's last week, "a fin de mes" on its last day."""
    if kind == "weekday":
        return _NEXT_WORD.search(spoken._fold(text)) is not None and day.isocalendar()[:2] == today.isocalendar()[:2]
    if kind == "day":
        return day.month != today.month and (_month_end(today) - today).days < 7
    return kind == "month_end" and day == today


def _month_end(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _one_after(kind: str, day: date) -> date:
    if kind == "weekday":
        return day + timedelta(days=7)
    if kind == "month_end":
        return _month_end(_month_end(day) + timedelta(days=1))
    nxt = _month_end(day) + timedelta(days=1)  # "day": the same day next month, or that month's last
    return nxt.replace(day=min(day.day, _month_end(nxt).day))


def _read_back(ctx: CallContext, st: dict, day: date, kind: str | None, ambiguous: bool) -> Turn:
    """Say back the day understood (with its weekday); when it could be another one, name that too."""
    today = _today(ctx)
    if day > today + timedelta(days=ctx.promise_window_days):
        note = (
            f"Asked to pay on {record_date(day)}, beyond the {ctx.promise_window_days}-day promise "
            "window; offered a payment plan"
        )
        return _handoff(ctx, st, "payment_plan", None, lead="too_far", note=note)
    st["step"], st["pending_date"], st["pending_kind"] = "confirm_date", day.isoformat(), kind
    spoken_day = long_date(day, _lang(ctx))
    other = long_date(_one_after(kind, day), _lang(ctx)) if ambiguous and kind else None
    offered = st["collected"]["amount_offered"]
    if offered is not None:
        amount = money(_decimal(offered), ctx.currency, _lang(ctx))
        if other:
            return _ask(ctx, st, [_p(ctx, "read_back_amount_not", amount=amount, date=spoken_day, other=other)])
        return _ask(ctx, st, [_p(ctx, "read_back_amount", amount=amount, date=spoken_day)])
    if other:
        return _ask(ctx, st, [_p(ctx, "read_back_not", date=spoken_day, other=other)])
    return _ask(ctx, st, [_p(ctx, "read_back", date=spoken_day)])


def _record_promise(ctx: CallContext, st: dict) -> Turn:
    day = date.fromisoformat(st["pending_date"])
    st["collected"]["promised_date"] = day.isoformat()
    offered = st["collected"]["amount_offered"]
    data = {"date": day, "amount": _decimal(offered) if offered is not None else None}
    parts = [_p(ctx, "promise_recorded", date=long_date(day, _lang(ctx)))]
    return _end(ctx, st, parts, "promised", [Effect("record_promise", data)])


def _link_wait(ctx: CallContext, st: dict) -> Turn:
    if ctx.callback_number:
        return _end(ctx, st, [_p(ctx, "link_wait", callback=spoken_number(ctx.callback_number))], "paid")
    return _end(ctx, st, [_p(ctx, "link_wait_no_number")], "paid")


def _already_paid(ctx: CallContext, st: dict, text: str | None) -> Turn:
    until = timing.add_business_days(_today(ctx), PAUSE_BUSINESS_DAYS)
    effects = [
        Effect("pause_invoice", {"until": until}),
        Effect(
            "open_handoff", {"reason": "verify_payment", "summary": _summary(ctx, st, "verify_payment", text)}
        ),
    ]
    return _end(ctx, st, [_p(ctx, "already_paid")], "already_paid", effects)


def _handoff(
    ctx: CallContext, st: dict, reason: str, text: str | None, *, lead: str | None = None, note: str = ""
) -> Turn:
    """One kind sentence, a handoff with the context, and a warm transfer when staff are in."""
    verified = st["collected"]["identity_verified"]
    if reason in ("dispute", "hardship") and text:
        st["collected"]["stated_reason"] = text
    effects = [Effect("open_handoff", {"reason": reason, "summary": _summary(ctx, st, reason, text, note)})]
    transfer = ctx.transfer_number if ctx.business_hours_open and ctx.transfer_number else None
    if verified:
        parts = [
            _p(ctx, lead or f"lead_{reason}"),
            _p(ctx, "connect_billing" if transfer else "billing_will_call"),
        ]
    else:  # not a word about billing to someone we have not identified
        parts = [_p(ctx, "connect_office" if transfer else "office_will_call")]
    if transfer:
        effects.append(Effect("transfer", {"number": transfer}))
    return _end(ctx, st, parts, reason, effects, transfer_to=transfer)


def _wrong_person(ctx: CallContext, st: dict) -> Turn:
    return _end(ctx, st, [_p(ctx, "wrong_person")], "wrong_person", [Effect("mark_wrong_number", {})])


def _opt_out(ctx: CallContext, st: dict, text: str | None) -> Turn:
    channel = "all" if _ALL_CHANNELS.search(spoken._fold(text or "")) else "call"
    return _end(
        ctx, st, [_p(ctx, f"opt_out_{channel}")], "opted_out", [Effect("opt_out", {"channel": channel})]
    )


def _legal_stop(ctx: CallContext, st: dict, intent: str, text: str | None) -> Turn:
    """An attorney, a bankruptcy or "stop contacting me": the call ends politely, saying nothing about the
    bill, and the shell stops automation and hands it to a person (Regulation F 1006.6)."""
    key = "cease" if intent == "cease_contact" else "legal_stop"
    return _end(ctx, st, [_p(ctx, key)], intent, [Effect("legal_hold", {"intent": intent, "said": text or ""})])


def _preference(ctx: CallContext, st: dict, heard: Any) -> Turn:
    """"Stop calling me, text is fine" opts out of calls only; "not before 10" narrows the hours."""
    pref = dict(heard.preference or {})
    if pref.get("stop"):
        channel = pref["stop"][0]
        return _end(ctx, st, [_p(ctx, f"opt_out_{channel}")], "opted_out", [Effect("opt_out", {"channel": channel})])
    # Another try later, which the gate moves into the hours they asked for.
    at = timing.next_open(ctx.now + CALLBACK_DELAY, ctx.tz, ctx.send_window)
    effects = [Effect("contact_hours", pref), Effect("schedule_callback", {"at": at, "date": None})]
    return _end(ctx, st, [_p(ctx, "hours_noted")], "callback_later", effects)


def _callback(ctx: CallContext, st: dict, heard: Any, text: str | None = None) -> Turn:
    """A new attempt inside the send window: on the day asked for (from the part of the day named: "Thursday
    afternoon" is not tried before noon), else a little later."""
    today = _today(ctx)
    asked: date | None = heard.date if heard.date is not None and heard.date > today else None
    part = timing.part_of_day(text)
    if asked is not None:
        at = timing.window_opening(asked, ctx.tz, ctx.send_window)
        if part is not None:
            at = timing.next_open(max(at, timing.wall_to_utc(asked, timing.PARTS_OF_DAY[part][0], ctx.tz)),
                                  ctx.tz, ctx.send_window)
        parts = [_p(ctx, "callback_on", date=long_date(asked, _lang(ctx)))]
    else:
        at = timing.next_open(ctx.now + CALLBACK_DELAY, ctx.tz, ctx.send_window)
        parts = [_p(ctx, "callback")]
    # asked: the patient asked to be called back (not a "not before 11" that only moves the next try).
    effect = Effect("schedule_callback", {"at": at, "date": asked, "part": part, "asked": True})
    return _end(ctx, st, parts, "callback_later", [effect])


def _answer(ctx: CallContext, topic: str | None) -> str:
    """Answers come from the records in the context only."""
    if len(ctx.invoices) > 1 and topic in ("amount", "due_date", "what_for"):
        return _answer_several(ctx, topic)
    if topic == "amount":
        return _p(ctx, "answer_amount", amount=_amount(ctx))
    if topic == "due_date":
        return _due_phrase(ctx, "answer_due")
    if topic == "who":
        return _who(ctx)
    if topic == "what_for" and ctx.invoice_ref and ctx.billed is not None:
        # Only what the invoice record says: its reference, what was billed, what is still open.
        return _p(ctx, "answer_invoice", org=ctx.org_name, ref=spoken_reference(ctx.invoice_ref),
                  billed=money(ctx.billed, ctx.currency, _lang(ctx)), amount=_amount(ctx))
    if topic == "what_for":
        return _p(ctx, "answer_what_for", org=ctx.org_name)
    return _p(ctx, "answer_unknown")


def _answer_several(ctx: CallContext, topic: str) -> str:
    """A caller who owes on several invoices: the total, and each one named (its reference, what is open, when
    it is due; or what was billed, for "what is it for")."""
    lang, today = _lang(ctx), _today(ctx)

    def item(inv) -> str:
        ref, amount = spoken_reference(inv.ref), money(inv.balance, ctx.currency, lang)
        if topic == "what_for":
            return _p(ctx, "invoice_item_billed", ref=ref, billed=money(inv.billed, ctx.currency, lang), amount=amount)
        when = "past" if inv.due_date < today else "today" if inv.due_date == today else "future"
        return _p(ctx, f"invoice_item_due_{when}", ref=ref, amount=amount, date=long_date(inv.due_date, lang))

    items = "; ".join(item(inv) for inv in ctx.invoices)
    if topic == "what_for":
        return _p(ctx, "answer_invoices", count=len(ctx.invoices), org=ctx.org_name, items=items)
    total = money(sum((inv.balance for inv in ctx.invoices), Decimal("0")), ctx.currency, lang)
    return _p(ctx, "answer_total", total=total, count=len(ctx.invoices), items=items)


# ---- misses and endings -----------------------------------------------------------------


def _miss(ctx: CallContext, st: dict, kind: str, text: str | None) -> Turn:
    """Silence or an answer we could not understand: ask again once, then hand over."""
    st["misses"] += 1
    if st["misses"] >= MAX_MISSES:
        return _give_up(ctx, st, kind, text)
    lead = _p(ctx, "still_there" if kind == "silence" else "didnt_catch")
    return _ask(ctx, st, [lead, *_prompt(ctx, st)])


def _give_up(ctx: CallContext, st: dict, kind: str, text: str | None) -> Turn:
    effects = [Effect("open_handoff", {"reason": "unclear", "summary": _summary(ctx, st, kind, text)})]
    if st["collected"]["identity_verified"]:
        parts = [_p(ctx, "trouble"), _p(ctx, "billing_will_call")]
    else:
        parts = [_p(ctx, "trouble_pre"), _limited(ctx), _p(ctx, "goodbye")]
    return _end(ctx, st, parts, "unclear", effects)


def _prompt(ctx: CallContext, st: dict) -> list[str]:
    """The question the current step is waiting on, to ask again."""
    step = st["step"]
    if step == "verify_name":
        return [_p(ctx, "ask_name", name=_name(ctx))]
    if step in ("verify_dob", "verify_zip"):
        return [_p(ctx, "ask_" + step.removeprefix("verify_"))]
    if step == "ask_date":
        return [_p(ctx, "ask_day")]
    if step == "confirm_date":
        return [_p(ctx, "read_back", date=long_date(date.fromisoformat(st["pending_date"]), _lang(ctx)))]
    if step == "confirm_link":
        return [_p(ctx, "link_check")]
    return [_p(ctx, "ask_how_again")]


def _ask(ctx: CallContext, st: dict, parts: list[str], effects: Iterable[Effect] = ()) -> Turn:
    say = " ".join(p for p in parts if p)
    st["transcript"].append({"speaker": "assistant", "text": say, "intent": None})
    return Turn(say=say, lang=_voice(ctx), listen=True, state=st, effects=tuple(effects))


def _end(
    ctx: CallContext,
    st: dict,
    parts: list[str],
    outcome: str,
    effects: Iterable[Effect] = (),
    transfer_to: str | None = None,
) -> Turn:
    say = " ".join(p for p in parts if p)
    st["transcript"].append({"speaker": "assistant", "text": say, "intent": None})
    st["step"], st["outcome"] = "done", outcome
    st["collected"]["outcome"] = outcome
    return Turn(
        say=say,
        lang=_voice(ctx),
        listen=False,
        state=st,
        effects=tuple(effects),
        transfer_to=transfer_to,
        outcome=outcome,
        done=True,
    )


# ---- wording ------------------------------------------------------------------------------


def _lang(ctx: CallContext) -> str:
    return languages.for_message(ctx.lang)


def _voice(ctx: CallContext) -> str:
    return _VOICES[_lang(ctx)]


def _p(ctx: CallContext, key: str, **values: object) -> str:
    return _PHRASES[_lang(ctx)][key].format(**values)


def _who(ctx: CallContext) -> str:
    return _p(ctx, "who_inbound" if ctx.inbound else "who", org=ctx.org_name)


def spoken_reference(ref: str) -> str:
    """An invoice reference said character by character where it has digits ("INV-1042": "I N V, 1 0 4 2")."""
    groups = [g for g in re.split(r"[^0-9A-Za-z]+", ref) if g]
    return ", ".join(" ".join(g) if any(ch.isdigit() for ch in g) or g.isupper() else g for g in groups)


def _name(ctx: CallContext) -> str:
    return f"{ctx.first_name} {ctx.last_name}".strip()


def _today(ctx: CallContext) -> date:
    return timing.local_date(ctx.now, ctx.tz)


def _amount(ctx: CallContext) -> str:
    return money(ctx.amount, ctx.currency, _lang(ctx))


def _decimal(text: str) -> Decimal:
    return Decimal(text)


def _due_phrase(ctx: CallContext, prefix: str, **values: object) -> str:
    today = _today(ctx)
    when = "past" if ctx.due_date < today else "today" if ctx.due_date == today else "future"
    return _p(ctx, f"{prefix}_{when}", date=long_date(ctx.due_date, _lang(ctx)), **values)


def _disclosure(ctx: CallContext) -> str:
    return _due_phrase(ctx, "disclose", amount=_amount(ctx))


def _limited(ctx: CallContext) -> str:
    return limited_content(ctx.business_name or ctx.org_name, ctx.voicemail_name, ctx.callback_number, _lang(ctx))


def _summary(ctx: CallContext, st: dict, kind: str, text: str | None, note: str = "") -> str:
    """A line for the staff inbox (in English, the office's working language)."""
    who = _name(ctx)
    checked = "identity verified" if st["collected"]["identity_verified"] else "identity not verified"
    parts = [
        _HANDOFF_LABELS.get(kind, kind) + ".",
        f"{who}: balance {money(ctx.amount, ctx.currency, 'en')} due {record_date(ctx.due_date)}; {checked}.",
    ]
    if note:
        parts.append(note + ".")
    if text:
        parts.append(f'Patient said: "{text}".')
    return " ".join(parts)
