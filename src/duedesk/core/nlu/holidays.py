"""Holidays patients name as pay days ("Black Friday", "el día de muertos", "Nochebuena"), US and
Latin American, English and Spanish, as dates.

Names are data (normalised text: lowercase ASCII, no apostrophes); each maps to a rule that gives
the date in a year: a fixed day, the n-th weekday of a month, the last weekday of a month, or an
offset from Easter or from another rule. A holiday named for a promise is the next one on or after
today (said on the day itself it is today); looking back (a payment made) it is the last one on or
before today. "the day after/before X" moves one day; "after X" alone is no particular day.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta


def easter(year: int) -> date:
    """Western Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


MON, THU, SUN = 0, 3, 6

# rule kinds: ("fixed", month, day) | ("nth", month, weekday, n) | ("last", month, weekday)
#             | ("easter", offset) | ("after", other rule name, offset)
RULES: dict[str, tuple] = {
    "new_year": ("fixed", 1, 1),
    "epiphany": ("fixed", 1, 6),
    "mlk": ("nth", 1, MON, 3),
    "candlemas": ("fixed", 2, 2),
    "valentine": ("fixed", 2, 14),
    "presidents": ("nth", 2, MON, 3),
    "st_patrick": ("fixed", 3, 17),
    "holy_thursday": ("easter", -3),
    "good_friday": ("easter", -2),
    "easter": ("easter", 0),
    "tax_day": ("fixed", 4, 15),
    "dia_del_nino": ("fixed", 4, 30),
    "cinco_de_mayo": ("fixed", 5, 5),
    "mothers_day_us": ("nth", 5, SUN, 2),
    "dia_de_las_madres": ("fixed", 5, 10),
    "memorial": ("last", 5, MON),
    "fathers_day": ("nth", 6, SUN, 3),
    "juneteenth": ("fixed", 6, 19),
    "july_4": ("fixed", 7, 4),
    "labor": ("nth", 9, MON, 1),
    "may_day": ("fixed", 5, 1),
    "november_first_monday": ("nth", 11, MON, 1),
    "election_day": ("after", "november_first_monday", 1),
    "mexican_independence": ("fixed", 9, 16),
    "columbus": ("nth", 10, MON, 2),
    "dia_de_la_raza": ("fixed", 10, 12),
    "halloween": ("fixed", 10, 31),
    "all_saints": ("fixed", 11, 1),
    "day_of_the_dead": ("fixed", 11, 2),
    "veterans": ("fixed", 11, 11),
    "thanksgiving": ("nth", 11, THU, 4),
    "black_friday": ("after", "thanksgiving", 1),
    "cyber_monday": ("after", "thanksgiving", 4),
    "guadalupe": ("fixed", 12, 12),
    "christmas_eve": ("fixed", 12, 24),
    "christmas": ("fixed", 12, 25),
    "new_years_eve": ("fixed", 12, 31),
}

NAMES: dict[str, str] = {
    # English
    "new years day": "new_year", "new years": "new_year", "new year": "new_year", "new year day": "new_year",
    "three kings day": "epiphany", "epiphany": "epiphany",
    "mlk day": "mlk", "mlk": "mlk", "martin luther king day": "mlk", "martin luther king jr day": "mlk",
    "valentines day": "valentine", "valentines": "valentine", "valentine day": "valentine",
    "presidents day": "presidents", "president day": "presidents",
    "st patricks day": "st_patrick", "saint patricks day": "st_patrick", "st patricks": "st_patrick",
    "st patrick day": "st_patrick", "saint patrick day": "st_patrick",
    "holy thursday": "holy_thursday", "maundy thursday": "holy_thursday",
    "good friday": "good_friday", "easter sunday": "easter", "easter": "easter",
    "tax day": "tax_day", "mothers day": "mothers_day_us", "mother day": "mothers_day_us",
    "memorial day": "memorial", "fathers day": "fathers_day", "father day": "fathers_day",
    "juneteenth": "juneteenth", "fourth of july": "july_4", "4th of july": "july_4", "independence day": "july_4",
    "labor day": "labor", "labour day": "labor", "columbus day": "columbus", "indigenous peoples day": "columbus",
    "halloween": "halloween", "all saints day": "all_saints", "day of the dead": "day_of_the_dead",
    "all souls day": "day_of_the_dead", "veterans day": "veterans", "veteran day": "veterans",
    "thanksgiving day": "thanksgiving", "thanksgiving": "thanksgiving", "turkey day": "thanksgiving",
    "black friday": "black_friday", "cyber monday": "cyber_monday", "election day": "election_day",
    "may day": "may_day",
    "christmas eve": "christmas_eve", "xmas eve": "christmas_eve", "christmas day": "christmas",
    "christmas": "christmas", "xmas": "christmas", "new years eve": "new_years_eve", "new year eve": "new_years_eve",
    "end of the year": "new_years_eve", "end of year": "new_years_eve", "year end": "new_years_eve",
    "last day of the year": "new_years_eve",
    # Spanish (accents stripped)
    "ano nuevo": "new_year", "dia de ano nuevo": "new_year", "primero de ano": "new_year",
    "dia de reyes": "epiphany", "dia de los reyes": "epiphany", "dia de los reyes magos": "epiphany",
    "dia de los santos reyes": "epiphany", "reyes magos": "epiphany", "reyes": "epiphany",
    "dia del trabajo": "may_day", "dia del trabajador": "may_day", "dia internacional del trabajo": "may_day",
    "dia de la candelaria": "candlemas", "la candelaria": "candlemas",
    "dia de san valentin": "valentine", "san valentin": "valentine", "dia del amor y la amistad": "valentine",
    "dia del amor": "valentine", "dia de los presidentes": "presidents", "dia de san patricio": "st_patrick",
    "san patricio": "st_patrick", "jueves santo": "holy_thursday", "viernes santo": "good_friday",
    "domingo de pascua": "easter", "domingo de resurreccion": "easter", "pascua": "easter", "pascuas": "easter",
    "dia del nino": "dia_del_nino", "dia de los ninos": "dia_del_nino", "cinco de mayo": "cinco_de_mayo",
    "dia de las madres": "dia_de_las_madres", "dia de la madre": "dia_de_las_madres",
    "dia de los caidos": "memorial", "dia del padre": "fathers_day", "dia de los padres": "fathers_day",
    "dia de la independencia de mexico": "mexican_independence", "dia del grito": "mexican_independence",
    "el grito": "mexican_independence", "fiestas patrias": "mexican_independence",
    "dia de la raza": "dia_de_la_raza", "dia de la hispanidad": "dia_de_la_raza", "dia de colon": "columbus",
    "noche de brujas": "halloween", "dia de todos los santos": "all_saints",
    "dia de muertos": "day_of_the_dead", "dia de los muertos": "day_of_the_dead",
    "dia de los fieles difuntos": "day_of_the_dead", "dia de los difuntos": "day_of_the_dead",
    "dia de los veteranos": "veterans", "dia de accion de gracias": "thanksgiving", "accion de gracias": "thanksgiving",
    "dia de gracias": "thanksgiving", "viernes negro": "black_friday",
    "dia de la virgen de guadalupe": "guadalupe", "dia de la virgen": "guadalupe", "virgen de guadalupe": "guadalupe",
    "dia de la guadalupana": "guadalupe", "dia de la lupita": "guadalupe",
    "nochebuena": "christmas_eve", "noche buena": "christmas_eve", "dia de navidad": "christmas",
    "navidad": "christmas", "nochevieja": "new_years_eve", "noche vieja": "new_years_eve",
    "fin de ano": "new_years_eve", "ultimo dia del ano": "new_years_eve", "despedida de ano": "new_years_eve",
}

_NAME = "|".join(re.escape(n) for n in sorted(NAMES, key=len, reverse=True))
_SHIFT = (
    r"(?P<after>(?:the )?day after|(?:el )?dia (?:despues|siguiente) de(?:l)?|(?:el )?dia siguiente a(?:l)?)"
    r"|(?P<before>(?:the )?day before|(?:el )?dia (?:antes|anterior) de(?:l)?|(?:la )?vispera de(?:l)?)"
    r"|(?P<vague>after|before|despues de(?:l)?|antes de(?:l)?|around|por)"
)
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
             "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6}
# "the Friday after Thanksgiving", "el lunes después de Navidad": the first such weekday after the holiday
# "the Friday before Easter", "el viernes antes de semana santa": the last such weekday before it
_WD_AFTER = (rf"(?:the |el )?(?P<wd>{'|'.join(_WEEKDAYS)}) (?:right |just |justo )?(?:(?P<wd_after>after|despues de(?:l)?"
             rf"|siguiente a(?:l)?)|before|antes de(?:l)?|previo a(?:l)?) (?:the |el |la )?")
_HOLIDAY = re.compile(rf"(?:\b{_WD_AFTER}|(?:\b(?:{_SHIFT}) (?:the |el |la )?))?\b(?P<name>{_NAME})\b")


def holiday_in(key: str, year: int) -> date:
    rule = RULES[key]
    kind = rule[0]
    if kind == "fixed":
        return date(year, rule[1], rule[2])
    if kind == "nth":
        return _nth_weekday(year, rule[1], rule[2], rule[3])
    if kind == "last":
        return _last_weekday(year, rule[1], rule[2])
    if kind == "easter":
        return easter(year) + timedelta(days=rule[1])
    return holiday_in(rule[1], year) + timedelta(days=rule[2])


def find_holiday(t: str, today: date, past: bool = False) -> tuple[date | None, bool, tuple[int, int]] | None:
    """(date, vague, span) for the holiday normalised text ``t`` names, or None when it names none.
    "after Christmas" names no day: (None, True, span)."""
    m = _HOLIDAY.search(t)
    if not m:
        return None
    if m.group("vague"):
        return None, True, m.span()
    key = NAMES[m.group("name")]
    shift = 1 if m.group("after") else -1 if m.group("before") else 0
    years = (today.year, today.year - 1) if past else (today.year, today.year + 1)
    for y in years:
        d = holiday_in(key, y) + timedelta(days=shift)
        if m.group("wd") and m.group("wd_after"):
            d += timedelta(days=(_WEEKDAYS[m.group("wd")] - d.weekday()) % 7 or 7)
        elif m.group("wd"):
            d -= timedelta(days=(d.weekday() - _WEEKDAYS[m.group("wd")]) % 7 or 7)
        if (d <= today) if past else (d >= today):
            return d, False, m.span()
    return None, False, m.span()
