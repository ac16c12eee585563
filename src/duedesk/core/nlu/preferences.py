"""How and when a patient wants to be reached: "stop calling me, text is fine", "don't call me at
work", "not before 10", "only evenings" (English and Spanish, normalised text).

A preference narrows outreach; it is not an opt-out of everything and not a one-off "call me
later". ``preference`` returns what was asked for as plain data the shell stores on the contact
and the gate honours:

    {"stop": ["call"]}                               calls stop, texts go on
    {"channels": ["call"], "not_before": "10:00"}    no call before 10:00 local time
    {"channels": ["call"], "not_after": "12:00"}     no call after noon
    {"channels": ["call"], "avoid_work_hours": True} no call 09:00-17:00 on weekdays

``channels`` is the channel the reply named ("call", "sms"), both when it named none.
"""

from __future__ import annotations

import re

_CALL = r"(?:call\w*|ring\w*|phone\w*|llam\w*|marc\w*|marqu\w*)"
_TEXT = r"(?:text\w*|messag\w*|sms|mensaj\w*|textos?|whatsapp)"
_STOP = (r"(?:stop|quit|no more|do not|never|please do not|no|dejen de|deje de|paren de|no me|ya no me|no mas"
         r"|ninguna?)")

# "stop calling me, text is fine" / "no me llamen, mejor mensajes": one channel stops, the other stays.
_ONLY_TEXT = re.compile(
    r"\b(?:text\w* (?:is|are|would be) (?:fine|ok|okay|good|better|ok with me)|(?:just|only) (?:text|message)\w*"
    r"|text (?:me )?instead|prefer (?:a )?(?:text|texts|texting|messages)|texts? only|(?:send|shoot) me a text instead"
    r"|(?:mejor|solo|solamente|nada mas) (?:por |con |me (?:mandan|manden|escriben|escriban) )?(?:mensaje|mensajes|texto|textos)"
    r"|(?:los )?(?:mensajes|textos) (?:estan|esta) bien|prefiero (?:los )?(?:mensajes|textos)"
    r"|text me|(?:mandeme|mandame|envieme|enviame|escribame|escribeme) (?:un |por )?(?:mensaje|mensajes|texto|textos)"
    r"|prefiero que me (?:escriban|manden (?:un )?(?:mensajes?|textos?)|texteen)"
    # e-mail asked for instead of calls: the calls stop (e-mail is not a channel a preference narrows yet)
    r"|(?:just |only )?e ?mail (?:me|us)|(?:mandeme|mandame|envieme|enviame) (?:un )?correo|por correo)\b"
)
# "I can't answer calls", "no puedo contestar llamadas": a reason calls should stop
_CANT_TAKE_CALLS = re.compile(
    r"\b(?:can not|could not) (?:answer|take|pick up) (?:the |any |phone )?(?:calls|phone)\b"
    r"|\bno (?:puedo|podemos) (?:contestar|atender|tomar|responder) (?:las |sus )?llamadas\b"
)
_ONLY_CALL = re.compile(
    r"\b(?:(?:just|only) call|call (?:me )?instead|prefer (?:a )?(?:call|phone call)|calls? only"
    r"|(?:mejor|solo|solamente) (?:me )?(?:llamen|llame|llamada|llamadas)|prefiero (?:las )?llamadas)\b"
)
_STOP_CALLS = re.compile(rf"\b{_STOP} (?:me )?(?:{_CALL})\b")
_STOP_TEXTS = re.compile(rf"\b{_STOP} (?:me )?(?:{_TEXT})\b")

# "don't call me at work", "no me llamen al trabajo"
_AT_WORK = re.compile(
    r"\b(?:do not|never|please do not|no|stop|quit) (?:call|ring|phone|text)\w* (?:me )?(?:at|while i am at|during|when i am at) (?:work|my job|my work|the job)\b"
    r"|\bno (?:me )?(?:llamen|llame|marquen) (?:al|en el|cuando estoy en el) trabajo\b"
    r"|\b(?:not|no calls?) (?:during|at) (?:work|working hours|business hours)\b"
)
_HOUR = (r"(\d{1,2})(?::(\d\d))? ?(am|a m|pm|p m|in the morning|de la manana|de la tarde|de la noche)?"
         r"|(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon|una|dos|tres|cuatro|cinco|seis|siete"
         r"|ocho|nueve|diez|once|doce|mediodia)")
_NOT_BEFORE = re.compile(
    rf"\b(?:not|no calls?|no texts?|do not (?:call|text)(?: me)?|never|nothing|no (?:me )?(?:llamen|llame|escriban) )?"
    rf" ?(?:before|earlier than|antes de(?: las| la)?) (?:{_HOUR})"
)
_ONLY_CALL_VERB = r"(?:(?:call|text|ring|llamen|llame|marquen|escriban) (?:me )?)?"
_AFTER_ONLY = re.compile(
    rf"\b(?:only|just|solo|solamente) {_ONLY_CALL_VERB}(?:after|despues de(?: las| la)?) (?:{_HOUR})"
)
# "llámenme después de las 6, antes no puedo contestar": after that hour, and never before it
_AFTER_NOT_BEFORE = re.compile(
    rf"\b{_CALL} (?:me )?(?:after|despues de(?: las| la)?) (?:{_HOUR})\b.*\b(?:antes no|not before|before that"
    rf"|antes de eso no|antes de esa hora no)\b"
)
_NOT_AFTER = re.compile(
    rf"\b(?:not|no calls?|no texts?|do not (?:call|text)(?: me)?|never|nothing|no (?:me )?(?:llamen|llame|escriban) )"
    rf" ?(?:after|later than|despues de(?: las| la)?) (?:{_HOUR})"
)
_BEFORE_ONLY = re.compile(
    rf"\b(?:only|just|solo|solamente) {_ONLY_CALL_VERB}(?:before|antes de(?: las| la)?) (?:{_HOUR})"
)
# "don't call me in the morning" / "no me llamen en la mañana"; "not in the evening" / "en la noche no"
_NO_MORNINGS = re.compile(
    r"\b(?:do not|never|please do not|no) (?:call|ring|phone|text|llamen|llame|marquen|me llamen|me llame|me marquen)"
    r" (?:me )?(?:in the mornings?|mornings|early|temprano|en la manana|en las mananas|por la manana)\b"
)
_NO_EVENINGS = re.compile(
    r"\b(?:do not|never|please do not|no) (?:call|ring|phone|text|llamen|llame|marquen|me llamen|me llame|me marquen)"
    r" (?:me )?(?:in the evenings?|evenings|at night|late|tarde|en la noche|en las noches|por la noche)\b"
)
_EVENINGS = re.compile(
    r"\b(?:only|just|solo|solamente) (?:(?:call|text|llamen|llame|escriban) (?:me )?)?(?:in the |on |por las |en las )?"
    r"(?:evenings?|nights?|tardes?|noches?|after work)\b"
    r"|\b(?:evenings?|nights?) only\b"
)
_MORNINGS = re.compile(
    r"\b(?:only|just|solo|solamente) (?:(?:call|text|llamen|llame|escriban) (?:me )?)?(?:in the |por las |en las )?"
    r"(?:mornings?|mananas)\b|\bmornings? only\b"
)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
          "eleven": 11, "twelve": 12, "noon": 12, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
          "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "mediodia": 12}
EVENING_FROM = "17:00"
MORNING_UNTIL = "12:00"


def _clock(m: re.Match) -> str | None:
    """"10", "10am", "7 pm", "ten", "las 5 de la tarde" -> "HH:MM"; an hour with no am/pm is read as
    the one a person would mean about calls: 1-7 in the afternoon, 8-12 in the morning (noon at 12)."""
    digits, minutes, half, word = m.group(1), m.group(2), m.group(3), m.group(4)
    hour = int(digits) if digits else _WORDS.get(word or "", -1)
    if not 0 <= hour <= 23:
        return None
    if half in ("pm", "p m", "de la tarde", "de la noche") and hour < 12:
        hour += 12
    elif half in ("am", "a m", "in the morning", "de la manana"):
        hour = 0 if hour == 12 else hour
    elif hour <= 7:
        hour += 12
    return f"{hour:02d}:{int(minutes or 0):02d}"


def _named_channels(t: str) -> list[str]:
    call = re.search(rf"\b{_CALL}\b", t) is not None
    text = re.search(rf"\b{_TEXT}\b", t) is not None
    if call == text:
        return ["call", "sms"]
    return ["call"] if call else ["sms"]


def preference(t: str) -> dict | None:
    """The preference a normalised reply states, or None."""
    if _ONLY_TEXT.search(t) and (_STOP_CALLS.search(t) or _CANT_TAKE_CALLS.search(t)
                                 or re.search(r"\b(?:only|solo|mejor|prefer|prefiero|instead of|en vez de|en lugar de)\b", t)):
        return {"stop": ["call"]}
    if _ONLY_CALL.search(t) and _STOP_TEXTS.search(t):
        return {"stop": ["sms"]}
    found: dict = {}
    if _AT_WORK.search(t):
        found["avoid_work_hours"] = True
    for rx, key in ((_NOT_BEFORE, "not_before"), (_AFTER_ONLY, "not_before"), (_AFTER_NOT_BEFORE, "not_before"),
                    (_NOT_AFTER, "not_after"), (_BEFORE_ONLY, "not_after")):
        m = rx.search(t)
        if m and key not in found and (key != "not_before" or rx is not _NOT_BEFORE or _negated_before(m)):
            clock = _clock(m)
            if clock:
                found[key] = clock
    if _NO_MORNINGS.search(t):
        found.setdefault("not_before", MORNING_UNTIL)
    if _NO_EVENINGS.search(t):
        found.setdefault("not_after", EVENING_FROM)
    if _EVENINGS.search(t):
        found.setdefault("not_before", EVENING_FROM)
    if _MORNINGS.search(t):
        found.setdefault("not_after", MORNING_UNTIL)
    if not found:
        return None
    return {"channels": _named_channels(t), **found}


def _negated_before(m: re.Match) -> bool:
    """"not before 10" states a preference; "call me before 10" asks for a call (no preference)."""
    return bool(m.group(0).strip().split(" ")[0] in ("not", "no", "do", "never", "nothing"))
