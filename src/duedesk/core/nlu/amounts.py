"""Money a patient offers ("I can do 50 a month", "puedo dar 40 dólares").

Only amounts with a money word, a currency sign, an offering verb or a "per
month" after them count, so day numbers ("the 15th", "el 20") are not money.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from . import lexicon_en, lexicon_es

_WORDS = {**lexicon_en.NUMBERS, **lexicon_es.NUMBERS}
_WORDS.pop("a", None)
_WORDS.pop("an", None)
_WORDS.pop("un", None)
_WORDS.pop("una", None)
_WORDS.update({"hundred": 100, "cien": 100, "ciento": 100, "thousand": 1000, "mil": 1000, "veinticinco": 25})
_JOINERS = {"and", "y"}
_NUMWORD = "|".join(sorted(_WORDS, key=len, reverse=True))
_WORDSEQ = rf"(?:(?:a |one |un )?(?:{_NUMWORD})(?: (?:and |y )?(?:{_NUMWORD}))*)"
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_VALUE = rf"(?P<v>{_DIGITS}|{_WORDSEQ})"
_MONEY = r"(?:dollars|dolares|bucks|pesos|usd|dls)"
_PER = r"(?:a|per|each|every|al|por|cada) (?:month|week|paycheck|mes|semana|quincena|two weeks)"
_VERB = (r"(?:do|pay|send|give|put down|make|manage|afford|offer|start with|dar|pagar|mandar|abonar|dejar|poner|enviar"
         r"|depositar|darle|darte|pagarle|pagarte)")

_PATTERNS = [
    re.compile(rf"\$ ?(?P<v>{_DIGITS})"),
    re.compile(rf"\b{_VALUE} {_MONEY}\b"),
    re.compile(rf"\b{_VALUE} {_PER}\b"),
    re.compile(rf"\b{_VERB} (?:you |le |te |them |about |around |like |maybe |unos |como |just |only |solo |nomas )*"
               rf"{_VALUE}\b(?!(?:st|nd|rd|th)\b| ?/| (?:of|de) | (?:days?|weeks?|months?|dias?|semanas?|meses|percent))"),
]


def _words_to_number(words: str) -> int | None:
    total, current = 0, 0
    for w in words.split():
        if w in _JOINERS or w in ("a", "un"):
            continue
        n = _WORDS.get(w)
        if n is None:
            return None
        if n == 1000:
            total += max(current, 1) * 1000
            current = 0
        elif w == "hundred":
            current = max(current, 1) * 100
        else:
            current += n
    return total + current or None


def _to_decimal(raw: str) -> Decimal | None:
    raw = raw.strip()
    if raw[0].isdigit():
        try:
            return Decimal(raw.replace(",", ""))
        except InvalidOperation:
            return None
    n = _words_to_number(raw)
    return Decimal(n) if n else None


def extract_amount(t: str) -> Decimal | None:
    """The first amount of money in normalised text ``t``, or None."""
    best: tuple[int, Decimal] | None = None
    for rx in _PATTERNS:
        for m in rx.finditer(t):
            value = _to_decimal(m.group("v"))
            if value is not None and value > 0 and (best is None or m.start("v") < best[0]):
                best = (m.start("v"), value)
    return best[1] if best else None
