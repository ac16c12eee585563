"""Dates a patient gives ("Friday", "the 15th", "a fin de mes"), as local dates.

Input is normalised text (see ``text.normalize``) and the contact's local
``today``. The patterns people actually use are handled here with plain
arithmetic, because dateparser costs milliseconds per call; dateparser handles
whatever is left, and only when the text has a date-like token at all.

Conventions (written down in docs/understanding.md):
- a weekday means the next one strictly after today; "next Friday" is the same
  day as "Friday"; "Friday next week" is the Friday of next week;
- a bare day of the month ("the 15th") is the next such day strictly after today;
- a month and day with no year is this year's, or next year's once it has passed;
- promises look forward; when ``past`` is set (a payment already made) they look back;
- "next week", "soon", "when I get paid" are vague: no date, ``vague`` set.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from . import lexicon_en, lexicon_es
from .holidays import NAMES as _HOLIDAY_NAMES
from .holidays import find_holiday


@dataclass(frozen=True)
class DateResult:
    date: date | None = None
    vague: bool = False


NONE = DateResult()

_WEEKDAYS = {**lexicon_en.WEEKDAYS, **lexicon_es.WEEKDAYS}
_MONTHS = {**lexicon_en.MONTHS, **lexicon_es.MONTHS}
_ORDINALS = {**lexicon_en.ORDINALS, **lexicon_es.ORDINALS}
_NUMBERS = {**lexicon_en.NUMBERS, **lexicon_es.NUMBERS}

_WD = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDW = "|".join(sorted(_ORDINALS, key=len, reverse=True))
_NUMW = "|".join(sorted(_NUMBERS, key=len, reverse=True))
_DAYNUM = r"(?P<d>\d{1,2})(?:st|nd|rd|th|ro|ero|vo|to|o)?"
_DAYTOK = rf"(?:{_DAYNUM}|(?P<dw>{_ORDW}))"
_YEAR = r"(?:,? (?:de(?:l)? )?(?P<y>20\d\d))?"

# "december 20th", "dec 20 2026", "diciembre 20"
_MONTH_DAY = re.compile(rf"\b(?P<m>{_MON}) (?:the )?{_DAYTOK}\b{_YEAR}")
# "20 december", "the 20th of december", "20 de diciembre", "el veinte de diciembre"
_DAY_MONTH = re.compile(rf"\b{_DAYTOK} (?:of |de |del )?(?P<m>{_MON})\b{_YEAR}")
_NUMERIC = re.compile(r"\b(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{2}|\d{4}))?\b")

_DAY_AFTER_TOMORROW = re.compile(r"\b(?:day after tomorrow|pasado manana)\b")
_DAY_BEFORE_YESTERDAY = re.compile(r"\b(?:day before yesterday|antier|anteayer|antes de ayer)\b")
_TOMORROW = re.compile(r"\btomorrow\b|(?<!\bla )(?<!\besta )(?<!\blas )\bmanana\b")
_YESTERDAY = re.compile(r"\b(?:yesterday|ayer|last night|anoche)\b")
_TODAY = re.compile(
    r"\b(?:today|tonight|this (?:morning|afternoon|evening)|hoy|esta (?:tarde|noche|manana))\b"
)

_NEXT_WEEK_WD = re.compile(
    rf"\b(?P<w>{_WD}) (?:of )?(?:next week|de la (?:proxima|otra) semana|de la semana que (?:viene|entra))\b"
    rf"|\b(?:next week|la (?:proxima|otra) semana|la semana que (?:viene|entra)),? (?:on )?(?:el )?(?P<w2>{_WD})\b"
    rf"|\b(?P<w3>{_WD}) after next\b|\bel otro (?P<w4>{_WD})\b"
)
_WEEK_FROM_WD = re.compile(rf"\ba week from (?:this |next )?(?P<w>{_WD})\b")
_LAST_WD = re.compile(rf"\b(?:last|past) (?P<w>{_WD})\b|\b(?:el )?(?P<w2>{_WD}) pasado\b")
_WEEKDAY = re.compile(rf"(?<!\bevery )(?<!\bcada )(?<!\blos )\b(?P<w>{_WD})\b")
# "Tuesday the 9th", "el martes 9": the day of the month decides; the weekday confirms.
_WD_DAY = re.compile(rf"\b(?P<w>{_WD}),? (?:the |el |dia )?{_DAYTOK}\b(?! (?:{_MON}|dollars|bucks|dolares|pesos)\b)")

_END_NEXT_MONTH = re.compile(
    r"\bend of (?:the )?next month\b|\bfin(?:es|al)? del? (?:proximo mes|mes que viene|otro mes)\b"
)
_END_MONTH_NAMED = re.compile(rf"\b(?:end|fin(?:es|al|ales)?) (?:of |de |del )(?P<m>{_MON})\b")
_END_MONTH = re.compile(
    r"\b(?:end|last day) of (?:the |this )?month\b|\bmonth end\b|\bend of month\b"
    r"|\bfin(?:es|ales|al)? (?:de|del) (?:este )?mes\b|\bultimo dia del mes\b"
)
# Pay periods: "la quincena" is the next pay day (the 15th or the month's last day) after today;
# "cada quincena" / "20 por quincena" is a schedule, not a day.
_QUINCENA = re.compile(r"(?<!\bcada )(?<!\bpor )(?<!\bal )(?<!\bsegunda )(?<!\bprimera )\bquincena\b")
# "cuando cobre la quincena" names the pay, not its day: vague, like "when I get paid"
_QUINCENA_OF = re.compile(rf"\b(?:primera )?quincena de(?:l mes de)? (?P<m>{_MON})\b")
_WHEN_PAID = re.compile(r"\b(?:cuando|en cuanto|apenas|hasta que) (?:me (?:paguen|depositen|llegue)|cobre|reciba)\b")
_WEEKEND = re.compile(r"\b(?:weekend|fin de semana|finde)\b")
_END_WEEK = re.compile(r"\bend of (?:the |this )?week\b")

_UNIT = r"(?P<u>days?|weeks?|months?|dias?|semanas?|mes|meses)"
_COUNT = rf"(?P<n>\d{{1,3}}|{_NUMW})"
_IN_N = re.compile(rf"\b(?:in|within|en|dentro de) {_COUNT} {_UNIT}\b")
_GIVE_N = re.compile(rf"\b(?:give me|i need|need|dame|deme|necesito) (?:about |like |unos |como )?{_COUNT} {_UNIT}\b")
# "two weeks" / "dos semanas" as the whole answer to "when?"
_BARE_SPAN = re.compile(rf"^(?:like |about |maybe |unos |como |tal vez )?{_COUNT} {_UNIT}(?: (?:ok|okay|si|yes|mas o menos))?$")
_N_FROM_NOW = re.compile(rf"\b{_COUNT} {_UNIT} from (?:now|today)\b|\bde hoy en (?P<h>ocho|quince|8|15)\b")
# "two weeks from tomorrow", "dos semanas a partir de mañana": the span starts tomorrow
_N_FROM_TOMORROW = re.compile(
    rf"\b{_COUNT} {_UNIT} (?:from|after|a partir de(?:l)?|despues de(?:l)?|desde(?: el)?) (?P<base>tomorrow|manana|{_WD})\b"
)

_FIRST_OF_NEXT = re.compile(r"\b(?:the )?(?:1st|first) of (?:the |next )?month\b|\bprimero de(?:l)? mes\b")
# "the 15th", "on the fifteenth", "payday is the first"; nouns after "first" mean something else.
_THE_DAY = re.compile(
    rf"\b(?:the|el dia|el|dia|para el|on) {_DAYTOK}\b(?! (?:payment|time|thing|one|part|half|step|bill|"
    r"of the year|pago|vez|cosa|dolares|dollars|bucks|pesos|a month|al mes|por ciento|percent|semanas?|weeks?"
    r"|dias?|days?|meses|months?|minutes|minutos|horas?|hours?|am|pm|de la manana|de la tarde))"
)
_BARE_ORD = re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)\b")

# "early january", "a principios de enero", "mid march": a part of a month, no day in it
_PART_OF_MONTH = [
    rf"\b(?:beginning|start|middle|mid|early|late) (?:of )?(?:{_MON})\b",
    rf"\b(?:a |para )?(?:principios|mediados|inicios|comienzos) de(?:l mes de)? (?:{_MON})\b",
]
_VAGUE = re.compile("|".join(lexicon_en.VAGUE_DATE + lexicon_es.VAGUE_DATE + _PART_OF_MONTH))

# Only a text with one of these goes to dateparser, and only such a match is kept:
# relative phrases it also knows ("a month") are amounts or vague far too often.
_DATEISH = re.compile(rf"\b(?:{_MON})\b|\d/\d|\b\d{{1,2}}(?:st|nd|rd|th)\b")
# "out of work since November", "desde enero": a month in the past is background, not a day.
_PAST_MONTH = re.compile(rf"\b(?:since|back in|last|desde) (?:{_MON})\b(?! (?:\d|the \d))"
                         rf"|\b(?:{_MON}) (?:pasado|ago)\b")


_HOL = "|".join(sorted(_HOLIDAY_NAMES, key=len, reverse=True))
# Each alternative starts with a few plain words, so the long list of names is tried only after them.
_BACKGROUND = re.compile(
    rf"\b(?:happy|merry|feliz|felices|prospero|have a (?:good|great|nice|happy)|enjoy (?:your|the)) (?:{_HOL})\b"
    rf"|\b(?:today|tomorrow|it|hoy|manana|que) (?:is|es|sera) (?:a |an |el |la )?(?:{_HOL}|{_WD})\b"
)
# "new year's is tomorrow": found from its end, the name is checked only when "is tomorrow" is there
_IS_TODAY = re.compile(r"\b(?:is|es) (?:today|tomorrow|hoy|manana)\b")
_HOL_AT_END = re.compile(rf"\b(?:{_HOL}) $")


def _strip_background(t: str) -> str:
    t = _BACKGROUND.sub(" ", t)
    m = _IS_TODAY.search(t)
    if m:
        h = _HOL_AT_END.search(t, 0, m.start())
        if h:
            t = t[:h.start()] + " " + t[m.end():]
    return t
_GREETING_ONLY = re.compile(
    rf"\b(?:happy|merry|feliz|felices|prospero) (?:{_HOL})\b|\b(?:to you|and you|too|a usted|a ti|igualmente|y|and|to all"
    rf"|a todos|everyone|lol|haha|jaja|jajaja|tambien|for you|hey|hi|hola|ok)\b"
)
_CORRECTION = re.compile(r"\b(?:mejor|better make it|better|actually|no wait|wait no|o sea|pensandolo bien|make that)\b")
_HAS_DAY = re.compile(
    rf"\b(?:{_WD}|{_MON}|{_HOL}|tomorrow|manana|\d{{1,2}}(?:st|nd|rd|th)?|{_ORDW})\b"
)
# "not today", "can not today", "hoy no", "not tonight": today is the day refused, not the one promised
_REFUSED_TODAY = re.compile(
    r"\b(?:not|no)(?: \w+){0,3} (?:today|tonight|hoy|right now|ahora mismo|ahorita|ahora)\b"
    r"|\b(?:today|tonight|hoy|ahorita|ahora mismo|ahora) (?:no|not|is not|can not)\b"
)
# a pay verb just before a day: "can pay on the 4th", "le pago el 3"
_PAY_VERB_BEFORE = re.compile(
    r"\b(?:pay|paying|send|do|pagar|pago|pagarle|le pago|deposito|mando)(?: \w+){0,2} $"
)


# money arriving just before a day: "get paid on the 5th", "my check comes the 1st", "me pagan el 15"
_INCOME_BEFORE = re.compile(
    r"\b(?:(?:get|gets|getting|got|am|be|is|are) paid|payday is|pay day is|(?:check|deposit|paycheck|ssi|ssdi|benefits"
    r"|unemployment|disability|social security|refund|money)s? (?:comes?|arrives?|hits?|lands?|drops?|is)|(?:me|nos) (?:pagan"
    r"|depositan|llega|cae)|cobro|cobramos)(?: \w+){0,2} $"
)


def _next_weekday(today: date, wd: int, past: bool = False) -> date:
    if past:
        delta = (today.weekday() - wd) % 7 or 7
        return today - timedelta(days=delta)
    delta = (wd - today.weekday()) % 7 or 7
    return today + timedelta(days=delta)


def _add_months(d: date, n: int, day: int | None = None) -> date:
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    last = calendar.monthrange(y, m)[1]
    return date(y, m, min(day or d.day, last))


def _end_of_month(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def _day_of_month(today: date, day: int, past: bool = False) -> date | None:
    if not 1 <= day <= 31:
        return None
    if past:
        for k in range(0, 13):
            cand = _add_months(today, -k, day)
            if cand.day == day and cand <= today:
                return cand
        return None
    for k in range(0, 13):
        cand = _add_months(today, k, day)
        if cand.day == day and cand > today:
            return cand
    return None


def _weekday_day(today: date, wd: int, day: int, past: bool) -> date | None:
    first = _day_of_month(today, day, past)
    cand = first
    for _ in range(12):  # the next such day that falls on that weekday, else the first one
        if cand is None or cand.weekday() == wd:
            break
        cand = _day_of_month(cand, day, past)
    return cand if cand is not None and cand.weekday() == wd else first


def _month_day(today: date, month: int, day: int, year: int | None, past: bool) -> date | None:
    try:
        if year:
            return date(year if year > 99 else 2000 + year, month, day)
        cand = date(today.year, month, day)
    except ValueError:
        return None
    if past and cand > today:
        return cand.replace(year=cand.year - 1)
    if not past and cand < today:
        try:
            return cand.replace(year=cand.year + 1)
        except ValueError:  # 29 February
            return None
    return cand


def _day_value(m: re.Match) -> int | None:
    if m.group("d"):
        return int(m.group("d"))
    word = m.group("dw")
    return _ORDINALS.get(word) if word else None


def _count(word: str) -> int | None:
    return int(word) if word.isdigit() else _NUMBERS.get(word)


_DAY_SHIFT = re.compile(
    r"\b(?:the )?day (?:(?P<after>after)|before) (?!tomorrow|yesterday)|\b(?:el )?dia (?:(?P<after2>despues|siguiente)|antes|anterior) (?:de(?:l)?|a(?:l)?) "
)
_AFTER_WORD = re.compile(r"\b(?:after|despues de(?:l)?|pasado(?= el )) (?=\w)")
_PAY_PERIOD = re.compile(r"(?:la |the |next |my )?(?:quincena|payday|pay day)\b")


def _after(t: str) -> re.Match | None:
    """"after" that starts a span of days ("after the 15th"), not one that moves a day ("the day after the 4th",
    "the friday after the 15th")."""
    for m in _AFTER_WORD.finditer(t):
        before = t[:m.start()].split()[-1:]
        if not before or (before[0] not in ("day", "dia", "week", "semana") and before[0] not in _WEEKDAYS):
            return m
    return None


def _span(m: re.Match, base: date) -> date | None:
    """``base`` plus the count and unit a span pattern matched ("two weeks", "3 días")."""
    n = _count(m.group("n"))
    if n is None:
        return None
    unit = m.group("u")
    if unit.startswith(("day", "dia")):
        return base + timedelta(days=n)
    if unit.startswith(("week", "semana")):
        return base + timedelta(days=7 * n)
    return _add_months(base, n)


def _holiday_name_length(t: str, span: tuple[int, int]) -> int:
    """Length of the bare holiday name at the end of ``span`` (the match may start with "the day after")."""
    m = _HOL_AT_END.search(t[span[0]:span[1]] + " ")
    return (m.end() - m.start() - 1) if m else span[1] - span[0]


def _fast(t: str, today: date, lang: str, past: bool) -> DateResult | None:
    hol = find_holiday(t, today, past)
    if hol is not None and hol[1]:
        # "after the 4th of July" names no day, unless the rest of the reply does ("…, on the 8th")
        rest = _fast(t[:hol[2][0]] + " " + t[hol[2][1]:], today, lang, past)
        return rest if rest is not None and rest.date is not None else DateResult(None, vague=True)
    after = _after(t) if not past else None
    if after is not None:
        # "después del 10 de mayo", "after the 15th" name no day, unless the rest of the reply does
        tail = t[after.end():]
        for rx, text in ((_DAY_MONTH, tail), (_MONTH_DAY, tail), (_THE_DAY, tail), (_BARE_ORD, tail),
                         (_THE_DAY, "el " + tail), (_PAY_PERIOD, tail)):  # "después del 15": "del" took the article
            m = rx.match(text)
            if m:
                rest = _fast(t[:after.start()] + " " + text[m.end():], today, lang, past)
                return rest if rest is not None and rest.date is not None else DateResult(None, vague=True)
    shift = _DAY_SHIFT.search(t)
    if shift is not None and (hol is None or hol[2][0] >= shift.end() and hol[2][1] - hol[2][0] == _holiday_name_length(t, hol[2])):
        # "the day after the 15th", "el día antes del viernes": that day moved by one
        moved = _fast(t[shift.end():], today, lang, past)
        if moved is None or moved.date is None:  # "el día después del 15": "del" took the article
            moved = _fast("el " + t[shift.end():], today, lang, past)
        if moved is not None and moved.date is not None:
            return DateResult(moved.date + timedelta(days=1 if shift.group("after") or shift.group("after2") else -1))
    if hol is not None and hol[0] is not None and (hol[2][1] - hol[2][0]) > _holiday_name_length(t, hol[2]):
        return DateResult(hol[0])  # "the day after the 4th of july", "the friday before easter": the holiday moved
    for rx in (_MONTH_DAY, _DAY_MONTH):
        m = rx.search(t)
        if m:
            day = _day_value(m)
            y = m.group("y")
            if day:
                d = _month_day(today, _MONTHS[m.group("m")], day, int(y) if y else None, past)
                if d:
                    return DateResult(d)
    m = _NUMERIC.search(t)
    if m:
        a, b = int(m.group("a")), int(m.group("b"))
        y = int(m.group("y")) if m.group("y") else None
        order = [(b, a), (a, b)] if lang == "es" else [(a, b), (b, a)]
        for month, day in order:
            if 1 <= month <= 12:
                d = _month_day(today, month, day, y, past)
                if d:
                    return DateResult(d)
    if hol is not None:
        return DateResult(hol[0])
    if _DAY_AFTER_TOMORROW.search(t):
        return DateResult(today + timedelta(days=2))
    if _DAY_BEFORE_YESTERDAY.search(t):
        return DateResult(today - timedelta(days=2))
    if _END_NEXT_MONTH.search(t):
        return DateResult(_end_of_month(_add_months(today, 1, 1)))
    m = _END_MONTH_NAMED.search(t)
    if m:
        # the month's last day, this year's until it has passed ("end of april" on 14 April is this April)
        last = _end_of_month(date(today.year, _MONTHS[m.group("m")], 1))
        if past and last > today:
            last = _end_of_month(date(today.year - 1, last.month, 1))
        elif not past and last < today:
            last = _end_of_month(date(today.year + 1, last.month, 1))
        return DateResult(last)
    if _END_MONTH.search(t):
        return DateResult(_end_of_month(today))
    m = _N_FROM_TOMORROW.search(t)
    if m:  # "two weeks from tomorrow", "dos semanas a partir del lunes": the span starts on that day
        w = m.group("base")
        d = _span(m, today + timedelta(days=1) if w in ("tomorrow", "manana") else _next_weekday(today, _WEEKDAYS[w]))
        if d is not None:
            return DateResult(d)
    m = _WD_DAY.search(t)
    if m and _day_value(m):
        d = _weekday_day(today, _WEEKDAYS[m.group("w")], _day_value(m), past)
        if d:
            return DateResult(d)
    m = _WEEK_FROM_WD.search(t)
    if m:
        return DateResult(_next_weekday(today, _WEEKDAYS[m.group("w")]) + timedelta(days=7))
    m = _NEXT_WEEK_WD.search(t)
    if m:
        w = _WEEKDAYS[m.group("w") or m.group("w2") or m.group("w3") or m.group("w4")]
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        d = monday + timedelta(days=w)
        if m.group("w3") or m.group("w4"):  # "friday after next": the one after the coming one
            d = _next_weekday(today, w) + timedelta(days=7)
        return DateResult(d)
    m = _LAST_WD.search(t)
    if m:
        return DateResult(_next_weekday(today, _WEEKDAYS[m.group("w") or m.group("w2")], past=True))
    m = _WEEKDAY.search(t)
    if m:
        return DateResult(_next_weekday(today, _WEEKDAYS[m.group("w")], past))
    # a span counts from today: "two weeks from today" is not today
    m = _IN_N.search(t) or _N_FROM_NOW.search(t) or _GIVE_N.search(t) or _BARE_SPAN.match(t)
    if m:
        if m.groupdict().get("h"):
            return DateResult(today + timedelta(days=int(_count(m.group("h")) or 0)))
        d = _span(m, today)
        if d is not None:
            return DateResult(d)
    if _TOMORROW.search(t):
        return DateResult(today + timedelta(days=1))
    if _YESTERDAY.search(t):
        return DateResult(today - timedelta(days=1))
    if _TODAY.search(t):
        return DateResult(today)
    m = _QUINCENA_OF.search(t)
    if m and not past:
        return DateResult(_month_day(today, _MONTHS[m.group("m")], 15, None, past))
    if _QUINCENA.search(t) and not past and not _WHEN_PAID.search(t):
        mid = date(today.year, today.month, 15)
        return DateResult(mid if today < mid else _end_of_month(today) if today < _end_of_month(today)
                          else _add_months(today, 1, 15))
    if _END_WEEK.search(t):
        return DateResult(_next_weekday(today, 4) if today.weekday() >= 4 else today + timedelta(4 - today.weekday()))
    if _WEEKEND.search(t):
        return DateResult(today if today.weekday() == 5 else _next_weekday(today, 5))
    if _FIRST_OF_NEXT.search(t):
        return DateResult(_day_of_month(today, 1, past))
    for rx in (_THE_DAY, _BARE_ORD):
        found: list[tuple[bool, date]] = []
        for m in rx.finditer(t):
            day = _day_value(m) if "dw" in m.groupdict() else int(m.group("d"))
            d = _day_of_month(today, day, past) if day else None
            if d:
                found.append((bool(_PAY_VERB_BEFORE.search(t, 0, m.start())),
                              bool(_INCOME_BEFORE.search(t, 0, m.start())), d))
        if found:
            # "I get my check on the 1st, can pay on the 2nd": the day the payment is tied to wins;
            # "I get paid on the 5th so the 6th": the day money arrives gives way to another day
            return DateResult(next((d for paid, _, d in found if paid), None)
                              or next((d for _, income, d in found if not income), found[0][2]))
    return None


_DP_SETTINGS_BASE = {
    "PREFER_DATES_FROM": "future",
    "RETURN_AS_TIMEZONE_AWARE": False,
    "STRICT_PARSING": False,
    "PREFER_DAY_OF_MONTH": "first",
}


def _dateparser(t: str, today: date, lang: str, past: bool) -> date | None:
    from dateparser.search import search_dates  # imported on first use: it is slow to load

    settings = dict(_DP_SETTINGS_BASE)
    settings["RELATIVE_BASE"] = datetime(today.year, today.month, today.day, 12, 0)
    settings["PREFER_DATES_FROM"] = "past" if past else "future"
    settings["DATE_ORDER"] = "DMY" if lang == "es" else "MDY"
    try:
        found = search_dates(t, languages=[lang], settings=settings)
    except Exception:  # dateparser raises on odd input; a missing date is the safe answer
        return None
    for text, value in found or ():
        if _DATEISH.search(text) and not (past and not re.search(r"\d|" + _ORDW, text)):
            # "I paid in October" names no day to look back to
            return value.date()
    return None


REFUSED_TODAY = _REFUSED_TODAY
_DAYTOK_PLAIN = rf"(?:\d{{1,2}}(?:st|nd|rd|th|ro|ero|vo|to|o)?|{_ORDW})\b"
# a reply that ends on a day: "…, the 26th", "…, mejor el 12", "…, so wednesday", "…, pa reyes"
_ENDS_WITH_DAY = re.compile(
    rf"(?:\b(?:the|el|on|dia) {_DAYTOK_PLAIN}|\b(?:{_WD})|\b(?:{_HOL})|\b(?:{_MON}) {_DAYTOK_PLAIN}|\btomorrow|\bmanana)"
    r"(?: (?:then|please|pls|ok|okay|si|sin falta|for sure|seguro|if that is ok|then ok))?$"
)


def ends_with_day(t: str) -> bool:
    return _ENDS_WITH_DAY.search(t) is not None


def strip_greetings(t: str) -> str:
    """``t`` without holiday greetings: "" for "happy new year", "feliz año nuevo"."""
    if not _BACKGROUND.search(t):
        return t
    return _GREETING_ONLY.sub(" ", t).strip()


_A_DAY = (rf"(?:tomorrow|manana|(?:on |el |the )?(?:{_WD})(?: {_DAYTOK_PLAIN})?|(?:the |el |el dia |on the |on )?{_DAYTOK_PLAIN}"
          rf"|(?:el |la |the |on )?(?:{_HOL}))")
# "the 4th no, the 5th", "el día del trabajo no, el lunes", "not tomorrow, the day after": a day refused, then
# the one they can; the refused one is background
_REFUSED_DAY = re.compile(rf"(?:\bnot (?P<a>{_A_DAY})|(?:^|\b(?:no|si|yes|ok) )(?P<b>{_A_DAY}) no)\b")
_NO_WORD = re.compile(r"\b(?:no|not)\b")
_IS_WORD = re.compile(r"\b(?:is|es|sera|will be)\b")
# "…, the day after" right after a refused day: the day after that one
_THE_DAY_AFTER = re.compile(r"^(?:but |pero |maybe |mejor |better )?(?:the |el )?(?:day after|dia (?:despues|siguiente)"
                            r"|al (?:otro )?dia siguiente|al otro dia)(?: (?:then|please|pls|ok|si|for sure|sin falta))?$")
# "el 16 de septiembre es feriado", "monday is a holiday, banks are closed": what that day is, not the day
_DAY_IS_A_HOLIDAY = re.compile(
    rf"\b(?:{_A_DAY}|\d{{1,2}} de (?:{_MON})) (?:is|es|sera|will be) (?:a |an |un |dia |the |el )?(?:holiday|bank holiday|feriado|festivo"
    rf"|dia feriado|dia festivo|day off|{_HOL})\b"
)


def _focus(t: str) -> str:
    """The part of ``t`` that can name the day: greetings ("happy new year"), what today or tomorrow is
    ("tomorrow is new years", "it is sunday") and a day refused ("not today", "hoy no") are background;
    after a correction ("…, mejor el 12", "actually the 9th") only the corrected day counts."""
    t = _strip_background(t)
    # the long patterns below are tried only when their cheap key words are there
    if _IS_WORD.search(t):
        t = _DAY_IS_A_HOLIDAY.sub(" ", t)
    m = _REFUSED_DAY.search(t) if _NO_WORD.search(t) else None
    if m:
        rest = t[m.end():].strip()
        if _THE_DAY_AFTER.match(rest):
            refused = (m.group("a") or m.group("b")).strip()
            t = "day after tomorrow" if refused in ("tomorrow", "manana") else f"the day after {refused}"
        elif _HAS_DAY.search(rest):
            t = rest
    parts = _CORRECTION.split(t)
    if len(parts) > 1 and _HAS_DAY.search(parts[-1]):
        t = parts[-1]
    if _REFUSED_TODAY.search(t):
        rest = _REFUSED_TODAY.sub(" ", t)
        if _HAS_DAY.search(rest):
            t = rest
    return t


def extract_date(t: str, today: date, lang: str = "en", past: bool = False) -> DateResult:
    """The date in normalised text ``t`` as a local date, or vague, or nothing."""
    t = _focus(t)
    found = _fast(t, today, lang, past)
    if found is not None:
        return found if found.date is not None or found.vague else NONE
    if _VAGUE.search(t):
        return DateResult(None, vague=True)
    if not past:
        t = _PAST_MONTH.sub(" ", t)
    if _DATEISH.search(t):
        d = _dateparser(t, today, lang, past)
        if d is not None:
            return DateResult(d)
    return NONE


def warm_up() -> None:
    """Load dateparser's language data now rather than on a patient's first message."""
    _dateparser("december 20", date(2026, 1, 1), "en", False)
    _dateparser("20 de diciembre", date(2026, 1, 1), "es", False)
