"""Identity answers as speech recognition hands them to us.

Callers say numbers as words ("nine oh two one oh", "nineteen eighty", "mil novecientos
ochenta"), as digits, or key them in. This module turns number words into digits and
reads a date of birth or a ZIP code out of the result. Pure and deterministic: dateparser
runs with fixed settings and an explicit reference date.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

import dateparser
from babel import Locale, UnknownLocaleError

# kind: "zero" | "unit" (1-9) | "teen" (10-19 and the one-word 21-29 of Spanish) | "tens"
# (20-90) | "hundreds" (Spanish 100-900) | "hundred" | "thousand" (multipliers).
_WORDS: dict[str, tuple[int, str]] = {}


def _add(kind: str, pairs: dict[str, int]) -> None:
    for word, value in pairs.items():
        _WORDS[word] = (value, kind)


# fmt: off
_add("zero", {"zero": 0, "cero": 0})
_add("unit", {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9})
_add("unit", {"uno": 1, "un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
              "siete": 7, "ocho": 8, "nueve": 9})
_add("teen", {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
              "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19})
_add("teen", {"diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
              "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19,
              "veintiuno": 21, "veintiun": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24,
              "veinticinco": 25, "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29})
_add("tens", {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
              "eighty": 80, "ninety": 90})
_add("tens", {"veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
              "setenta": 70, "ochenta": 80, "noventa": 90})
_add("hundreds", {"cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300,
                  "cuatrocientos": 400, "quinientos": 500, "seiscientos": 600, "setecientos": 700,
                  "ochocientos": 800, "novecientos": 900})
_add("hundred", {"hundred": 100})
_add("thousand", {"thousand": 1000, "mil": 1000})
# fmt: on

# Ordinals end a number ("twenty third" -> 23): the day of a date.
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "primero": 1, "primer": 1,
}  # fmt: skip

# For each kind of word, the kinds of last word it may follow inside one number. Anything
# else starts a new number: "nineteen eighty" is 19 then 80, "nine oh two" is 9, 0, 2.
_EXTENDS = {
    "zero": set(),
    "unit": {"tens", "hundred", "thousand", "hundreds"},
    "teen": {"hundred", "thousand", "hundreds"},
    "tens": {"hundred", "thousand", "hundreds"},
    "hundreds": {"thousand"},
    "hundred": {"unit", "teen"},
    "thousand": {"unit", "teen", "tens", "hundreds", "hundred"},
}

_MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
    "agosto", "septiembre", "setiembre", "octubre", "noviembre", "diciembre",
}  # fmt: skip


def _fold(text: str) -> str:
    """Lower case without accents: speech engines are not consistent about them."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _tokens(text: str) -> list[str]:
    text = re.sub(r"(\d)(st|nd|rd|th|ro|do|to|o)\b", r"\1", _fold(text))  # 3rd, 1ro
    return re.findall(r"\d+(?:[/.-]\d+)*|[a-z]+", text)


def words_to_digits(text: str) -> list[str]:
    """The text's tokens with every spoken number turned into digits.

    Numbers said one after another stay separate tokens ("nine oh two" -> 9 0 2) so that a
    ZIP code can be read digit by digit and a year in two halves can be put back together.
    """
    out: list[str] = []
    total = current = 0
    last: str | None = None  # kind of the last word of the number being built

    def flush() -> None:
        nonlocal total, current, last
        if last is not None:
            out.append(str(total + current))
        total = current = 0
        last = None

    toks = _tokens(text)
    for i, tok in enumerate(toks):
        if tok in ("and", "y") and last is not None and i + 1 < len(toks) and toks[i + 1] in _WORDS:
            continue  # "two thousand and three", "ochenta y cinco"
        if tok in ("oh", "o") and last is not None:
            tok = "zero"  # only after a number: "nineteen oh five", never the "o" of "this or that"
        if tok in _ORDINALS:
            value = _ORDINALS[tok]
            if last in ("tens", "hundred", "thousand", "hundreds") and value < 10:
                current += value
            else:
                flush()
                current, total = value, 0
            last = "unit"
            flush()
            continue
        if tok not in _WORDS:
            flush()
            out.append(tok)
            continue
        value, kind = _WORDS[tok]
        if last is not None and last not in _EXTENDS[kind]:
            flush()
        if kind == "hundred":
            current = (current or 1) * 100
        elif kind == "thousand":
            total += (current or 1) * 1000
            current = 0
        else:
            current += value
        last = kind
        if kind == "zero":
            flush()
    flush()
    return out


def _rejoin_years(tokens: list[str]) -> list[str]:
    """Put a year said in two halves back together: 19 80 -> 1980, 19 0 5 -> 1905."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        nxt2 = tokens[i + 2] if i + 2 < len(tokens) else ""
        if tok in ("19", "20") and nxt == "0" and re.fullmatch(r"\d", nxt2):
            out.append(tok + "0" + nxt2)
            i += 3
        elif tok in ("18", "19", "20") and re.fullmatch(r"\d\d", nxt):
            out.append(tok + nxt)
            i += 2
        else:
            out.append(tok)
            i += 1
    return out


_SETTINGS = {
    "PREFER_DAY_OF_MONTH": "first",
    "PREFER_DATES_FROM": "past",
    "REQUIRE_PARTS": ["day", "month", "year"],
    "RETURN_AS_TIMEZONE_AWARE": False,
}


def date_order(lang: str, country: str) -> str:
    """"MDY" or "DMY": how people who speak ``lang`` in ``country`` write a date in numbers (babel's short
    date pattern: en-US and es-PR month first, es-US, es-MX and en-GB day first)."""
    try:
        pattern = Locale.parse(f"{(lang or 'en')[:2].lower()}_{(country or 'US').upper()}").date_formats["short"].pattern
    except (UnknownLocaleError, ValueError):
        pattern = Locale.parse((lang or "en")[:2].lower()).date_formats["short"].pattern
    lowered = pattern.lower()
    return "DMY" if lowered.index("d") < lowered.index("m") else "MDY"


def date_of_birth_candidates(text: str, today: date, order: str = "MDY") -> set[date]:
    """The date the answer means, read in the caller's order (``date_order``).

    Only that order: a day and month swapped ("3/4/1980" for April 3 from someone who writes month
    first) is another date, not a second guess, so a date of birth must match exactly.
    """
    tokens = _rejoin_years(words_to_digits(text))
    kept = [t for t in tokens if t[0].isdigit() or t in _MONTHS]
    if len(kept) == 1 and re.fullmatch(r"\d{8}", kept[0]):  # keypad: MMDDYYYY or DDMMYYYY, in the same order
        d = kept[0]
        kept = [f"{d[:2]}/{d[2:4]}/{d[4:]}"]
    if not kept:
        return set()
    phrase = " ".join(kept)
    base = datetime(today.year, today.month, today.day)
    settings = {**_SETTINGS, "DATE_ORDER": order, "RELATIVE_BASE": base}
    parsed = dateparser.parse(phrase, languages=["en", "es"], settings=settings)
    if parsed is None or parsed.date() > today:
        return set()
    if not any(t in _MONTHS for t in kept) and not _fits_order(kept, parsed.date(), order):
        return set()  # dateparser swapped an impossible reading ("15/3" month first): not in this order
    return {parsed.date()}


def _fits_order(numbers: list[str], day: date, order: str) -> bool:
    parts = [int(n) for n in re.split(r"\D+", " ".join(numbers)) if n]
    if len(parts) < 2:
        return True
    first, second = parts[0], parts[1]
    return (first, second) == ((day.month, day.day) if order == "MDY" else (day.day, day.month))


def matches_date_of_birth(text: str | None, expected: date, today: date, order: str = "MDY") -> bool | None:
    """True on a match, False on another date, None when no date could be heard."""
    if not text:
        return None
    candidates = date_of_birth_candidates(text, today, order)
    if not candidates:
        return None
    return expected in candidates


def zip_digits(text: str | None) -> str:
    """The digits of a spoken or keyed ZIP code ("nine oh two one oh" -> "90210")."""
    if not text:
        return ""
    digits = "".join(t for t in words_to_digits(text) if t[0].isdigit())
    return re.sub(r"\D", "", digits)


def matches_zip(text: str | None, expected: str) -> bool | None:
    """True on a match of the first five digits, False on others, None when none heard."""
    heard = zip_digits(text)
    if len(heard) < 5:
        return None
    return heard[:5] == re.sub(r"\D", "", expected)[:5]
