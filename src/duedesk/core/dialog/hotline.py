"""The invoice question hotline: a patient calls the organization's number back.

Once we know which contact is on the line this is the reminder call's script (machine.py), worded for a call
the patient made: the identity questions before any detail, the answers from the invoice record, the pay
link, the promise read back and recorded, a dispute or hardship given to a person. Before that this module
greets (the organization's name, and that an automated assistant is speaking), asks which person is calling
when several share the number, and gives an unknown caller the office's number. A conversation that needs a
person is transferred (<Dial>) while the office is open; when it is closed the assistant takes a message,
which becomes the handoff.

Pure, like the machine: the shell (conversations/hotline.py) loads the records, calls these and carries out
the effects. The state is the machine's, so the transcript and the collected answers read the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

from duedesk.core import timing
from duedesk.core.dialog import machine, spoken
from duedesk.core.dialog.speech import limited_content, spoken_number
from duedesk.core.dialog.types import CallContext, Effect, Turn

MAX_NAME_TRIES = 2
OFFICE_DAYS = frozenset({0, 1, 2, 3, 4})  # Monday to Friday: the days staff answer the phone
AFTER_IDENTITY = ("ask_how", "ask_date", "confirm_date", "confirm_link")

_HANDOFF_LABELS = {
    "unknown_caller": "A call from a number that is not in our records",
    "identity_failed": "A caller whose identity could not be confirmed",
}


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who may be on the line before we know which contact it is."""

    org_name: str
    number: str  # the caller ID
    lang: str  # "en" | "es": the contacts' language when they share one
    office_number: str  # the office line an unknown caller is given
    names: Sequence[tuple[str, str]] = ()  # (first, last) of each contact on the number
    # Nobody on the number says which language the caller speaks (an unknown number, or people of both on it):
    # the English greeting offers Spanish ("Para español, oprima dos", in a Spanish voice).
    offer_spanish: bool = False


def office_open(now: datetime, tz: str, opens: time, closes: time, closed: frozenset[date] = frozenset()) -> bool:
    """Staff answer: a weekday, within business hours, not a holiday or a day the office closes."""
    local = timing.local_now(now, tz)
    return local.weekday() in OFFICE_DAYS and local.date() not in closed and opens <= local.time() < closes


# ---- before we know who is calling -------------------------------------------------------------


def greet(ctx: CallContext) -> Turn:
    """One contact on the number: the greeting, then the reminder call's name question."""
    return machine.start(ctx)


def greet_unknown(caller: Caller) -> Turn:
    """A number we don't know: the office's number, nothing else, and a person is told. Offered Spanish, the
    caller who presses 2 (or says "español") during the English message hears it again in Spanish."""
    st = machine.new_state()
    summary = f"{_HANDOFF_LABELS['unknown_caller']}: {caller.number or 'caller ID withheld'}."
    effects = [Effect("open_handoff", {"reason": "unknown_caller", "summary": summary})]
    opener, said = _p(caller.lang, "hotline_opener", org=caller.org_name), _unknown_message(caller, caller.lang)
    if not caller.offer_spanish:
        return _end(caller.lang, st, [opener, said], "unknown_caller", effects)
    st["step"] = "choose_language"
    turn = _ask("en", st, [opener, _p("es", "offer_spanish"), said], effects)
    return replace(turn, parts=((opener, "en-US"), (_p("es", "offer_spanish"), "es-US"), (said, "en-US")))


def language_chosen(caller: Caller, state: Mapping[str, Any], text: str | None) -> Turn:
    """The unknown caller's answer to the offer: Spanish, the message again in Spanish; anything else (silence,
    1, English), the call ends (they heard the message)."""
    st = machine.copy_state(state)
    st["transcript"].append({"speaker": "patient", "text": text or "", "intent": None})
    st["patient_turns"] += 1
    if wants_spanish(text):
        st["lang"] = "es"
        return _end("es", st, [_unknown_message(caller, "es")], "unknown_caller", [])
    return _end("en", st, [], "unknown_caller", [])


def wants_spanish(text: str | None) -> bool:
    """2 on the keypad, "dos", "español", or Spanish words as an English recognizer writes them."""
    words = _words(text or "")
    return (text or "").strip() in ("2", "dos") or bool(set(words) & _SPANISH_WORDS)


_SPANISH_WORDS = frozenset({"espanol", "spanish", "castellano", "hola", "necesito", "quiero", "hablo", "habla",
                            "cuenta", "factura", "gracias", "buenos", "buenas", "senora", "senor", "ayuda"})


def _unknown_message(caller: Caller, lang: str) -> str:
    office = spoken_number(caller.office_number or "")
    return _p(lang, "unknown_caller", office=office) if office else _p(lang, "unknown_caller_no_number")


def greet_several(caller: Caller) -> Turn:
    """Several contacts share the number: ask for the name (no name on file is said before it is given); when
    they speak different languages, Spanish is offered after the question."""
    st = machine.new_state()
    st["step"] = "which_contact"
    opener, ask = _p(caller.lang, "hotline_opener", org=caller.org_name), _p(caller.lang, "ask_who")
    if not caller.offer_spanish:
        return _ask(caller.lang, st, [opener, ask])
    st["offer_spanish"] = True
    turn = _ask("en", st, [opener, ask, _p("es", "offer_spanish")])
    return replace(turn, parts=((f"{opener} {ask}", "en-US"), (_p("es", "offer_spanish"), "es-US")))


def which(caller: Caller, state: Mapping[str, Any], text: str | None) -> tuple[int | None, Turn]:
    """The name the caller gave: (index of the one contact whose first and last names were both said, the state
    to go on with), or (None, the question again / the end after MAX_NAME_TRIES)."""
    st = machine.copy_state(state)
    st["transcript"].append({"speaker": "patient", "text": text or "", "intent": None})  # a name, not an intent
    st["patient_turns"] += 1
    if st.pop("offer_spanish", False) and wants_spanish(text) and not _named_any(caller, text):
        st["lang"] = "es"  # the question again, in Spanish; no try used
        return None, _ask("es", st, [_p("es", "ask_who")])
    caller = replace(caller, lang=st.get("lang") or caller.lang)
    said = set(_words(text or ""))
    found = [i for i, (first, last) in enumerate(caller.names)
             if _words(first) and _words(last) and set(_words(first)) | set(_words(last)) <= said]
    if len(found) == 1:
        st["step"] = "verify_name"
        return found[0], Turn(say="", lang=machine._VOICES[_lang(caller.lang)], listen=True, state=st)
    st["tries"] += 1
    if st["tries"] >= MAX_NAME_TRIES:
        limited = limited_content(caller.org_name, "", caller.office_number, _lang(caller.lang))
        summary = (f"{_HANDOFF_LABELS['identity_failed']}: {caller.number} is on file for {len(caller.names)} "
                   f"people and the caller named none of them.")
        effects = [Effect("identity_failed", {"reason": "name_not_on_file"}),
                   Effect("open_handoff", {"reason": "identity_failed", "summary": summary})]
        parts = [_p(caller.lang, "identity_failed"), limited, _p(caller.lang, "goodbye")]
        return None, _end(caller.lang, st, parts, "identity_failed", effects)
    return None, _ask(caller.lang, st, [_p(caller.lang, "ask_who_again")])


def _named_any(caller: Caller, text: str | None) -> bool:
    said = set(_words(text or ""))
    return any(_words(first) and set(_words(first)) <= said for first, _ in caller.names)


def named(ctx: CallContext, state: Mapping[str, Any]) -> Turn:
    """The caller named a contact on file: on to the second identity question (the name is not proof)."""
    st = machine.copy_state(state)
    st["tries"], st["misses"] = 0, 0
    return machine._after_name(ctx, st)


# ---- the conversation ----------------------------------------------------------------------------


def respond(ctx: CallContext, state: Mapping[str, Any], heard: Any | None, text: str | None) -> Turn:
    """The next turn once the contact is known. A person is needed after identity: a transfer while the office
    is open (the machine's), else a message taken for them."""
    step = state.get("step")
    intent = heard.intent if heard is not None else None
    if step == "take_message":
        return _message(ctx, _heard(state, text, None), text)
    closed = not (ctx.business_hours_open and ctx.transfer_number)
    if step in AFTER_IDENTITY and closed and intent in machine.HANDOFF_INTENTS:
        st = _heard(state, text, intent)
        if st["patient_turns"] <= machine.MAX_PATIENT_TURNS:
            return _ask_message(ctx, st, intent, text)
    return machine.respond(ctx, state, heard, text)


def hung_up(ctx: CallContext, state: Mapping[str, Any]) -> tuple[Effect, ...]:
    """The caller hung up while we were taking a message: the person they asked for is still told."""
    if state.get("step") != "take_message":
        return ()
    st = machine.copy_state(state)
    return (_message_handoff(ctx, st, ""),)


def _heard(state: Mapping[str, Any], text: str | None, intent: str | None) -> dict:
    st = machine.copy_state(state)
    st["transcript"].append({"speaker": "patient", "text": text or "", "intent": intent})
    st["patient_turns"] += 1
    return st


def _ask_message(ctx: CallContext, st: dict, reason: str, text: str | None) -> Turn:
    st["step"], st["misses"] = "take_message", 0
    st["pending_reason"] = reason
    if reason in ("dispute", "hardship") and text:
        st["collected"]["stated_reason"] = text
    st["pending_said"] = text or ""
    return machine._ask(ctx, st, [machine._p(ctx, f"lead_{reason}"), machine._p(ctx, "closed_message")])


def _message(ctx: CallContext, st: dict, text: str | None) -> Turn:
    effect = _message_handoff(ctx, st, text or "")
    return machine._end(ctx, st, [machine._p(ctx, "message_taken")], st.get("pending_reason") or "request_human",
                        [effect])


def _message_handoff(ctx: CallContext, st: dict, message: str) -> Effect:
    reason = st.get("pending_reason") or "request_human"
    note = f'Message left after hours: "{message}"' if message.strip() else "No message left after hours"
    summary = machine._summary(ctx, st, reason, st.get("pending_said") or None, note)
    return Effect("open_handoff", {"reason": reason, "summary": summary, "message": message})


# ---- wording -------------------------------------------------------------------------------------


def _lang(lang: str) -> str:
    return "es" if lang == "es" else "en"


def _p(lang: str, key: str, **values: object) -> str:
    return machine._PHRASES[_lang(lang)][key].format(**values)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", spoken._fold(text))


def _ask(lang: str, st: dict, parts: list[str], effects: Sequence[Effect] = ()) -> Turn:
    say = " ".join(p for p in parts if p)
    st["transcript"].append({"speaker": "assistant", "text": say, "intent": None})
    return Turn(say=say, lang=machine._VOICES[_lang(lang)], listen=True, state=st, effects=tuple(effects))


def _end(lang: str, st: dict, parts: list[str], outcome: str, effects: list[Effect]) -> Turn:
    say = " ".join(p for p in parts if p)
    if say:
        st["transcript"].append({"speaker": "assistant", "text": say, "intent": None})
    st["step"], st["outcome"] = "done", outcome
    st["collected"]["outcome"] = outcome
    return Turn(say=say, lang=machine._VOICES[_lang(lang)], listen=False, state=st, effects=tuple(effects),
                outcome=outcome, done=True)
