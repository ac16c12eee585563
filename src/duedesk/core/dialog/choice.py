"""Which invoice a patient means when one phone number has several open ones: a parent and a child sharing a
phone, or one patient with two visits still to pay.

Pure: given the open invoices on the number (as `Option`s, in the order they were listed to the patient) and
what the patient wrote, `pick` gives the index of the one meant, or None when the text does not single one
out. An answer to our question may be the number from the list ("2", "the second one", "dos"), an amount
("$45", "45.00", "the 80 one"), a first name ("Tomas", "it's for my son tomas", "la de Rosa") or the invoice's
reference ("INV-1042"). A text that arrives on its own (not an answer) is read only for what cannot be a day
of the month: a name, a reference, or an amount written as money ("I'll pay the $45 one friday").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from duedesk.core.dialog import spoken

MAX_LISTED = 5  # a short list: more than this and the reply would not fit a text

_INDEX_WORDS = {
    "first": 0, "1st": 0, "one": 0, "uno": 0, "una": 0, "primero": 0, "primera": 0, "primer": 0,
    "second": 1, "2nd": 1, "two": 1, "dos": 1, "segundo": 1, "segunda": 1,
    "third": 2, "3rd": 2, "three": 2, "tres": 2, "tercero": 2, "tercera": 2, "tercer": 2,
    "fourth": 3, "4th": 3, "four": 3, "cuatro": 3, "cuarto": 3, "cuarta": 3,
    "fifth": 4, "5th": 4, "five": 4, "cinco": 4, "quinto": 4, "quinta": 4,
}
# Words around an answer that say nothing about which one: "the first one", "number 2", "la segunda por favor".
_FILLER = {
    "the", "a", "number", "no", "num", "nr", "option", "its", "it", "s", "is", "that", "this", "please", "pls",
    "thanks", "thank", "you", "ok", "okay", "el", "la", "lo", "numero", "opcion", "es", "por", "favor", "gracias",
    "de", "del", "bill", "invoice", "cuenta", "factura", "one",
}
_MONEY = re.compile(r"(?:\$\s*(\d[\d,]*(?:\.\d{1,2})?)|(\d[\d,]*\.\d{2})|(\d[\d,]*)\s*(?:dollars?|dolares|usd|bucks))")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d{1,2})?")


@dataclass(frozen=True, kw_only=True)
class Option:
    """An open invoice on the number, as far as the patient can tell it apart."""

    first_name: str
    last_name: str
    amount: Decimal  # what is still owed
    ref: str = ""


def pick(options: Sequence[Option], text: str | None, *, answer: bool = True) -> int | None:
    """The index of the one option the text names, else None. `answer`: the text answers our list (a bare
    number is its place in the list, and any number may be an amount); otherwise only money, a name or a
    reference count, so "I'll pay on the 15th" never picks an invoice of $15."""
    folded = spoken._fold(text or "").strip()
    if not folded or not options:
        return None
    if answer:
        index = _place(folded, len(options))
        if index is not None:
            return index
    for how in (_by_reference, _by_amount, _by_name):
        found = how(options, folded, answer)
        if len(found) == 1:
            return found[0]
    return None


def _place(folded: str, count: int) -> int | None:
    """ "2", "#2", "the second one", "number two", "la segunda": a place in the list."""
    words = [w for w in re.findall(r"[a-z0-9]+", folded) if w not in _FILLER or w == "one"]
    if len(words) > 1 and "one" in words:
        words = [w for w in words if w != "one"]  # "the first one"
    if len(words) != 1:
        return None
    word = words[0]
    index = int(word) - 1 if word.isdigit() else _INDEX_WORDS.get(word)
    return index if index is not None and 0 <= index < count else None


def _by_reference(options: Sequence[Option], folded: str, answer: bool) -> list[int]:
    text = re.sub(r"[^a-z0-9]", "", folded)
    found = []
    for i, option in enumerate(options):
        ref = re.sub(r"[^a-z0-9]", "", spoken._fold(option.ref))
        digits = re.sub(r"\D", "", ref)
        if ref and (ref in text or (len(digits) >= 3 and re.search(rf"(?<!\d){digits}(?!\d)", folded))):
            found.append(i)
    return found


def _by_amount(options: Sequence[Option], folded: str, answer: bool) -> list[int]:
    said: set[Decimal] = set()
    if answer:
        said |= {_decimal(m) for m in _NUMBER.findall(folded)}
    for match in _MONEY.finditer(folded):
        said.add(_decimal(next(g for g in match.groups() if g)))
    said.discard(None)
    return [i for i, option in enumerate(options) if option.amount in said]


def _by_name(options: Sequence[Option], folded: str, answer: bool) -> list[int]:
    words = set(re.findall(r"[a-z]+", folded))
    firsts = [i for i, o in enumerate(options) if _words(o.first_name) and set(_words(o.first_name)) <= words]
    if len(firsts) <= 1:
        return firsts
    # Two invoices of one person (or two people of one first name): the last name cannot split them either.
    full = [i for i in firsts if set(_words(options[i].last_name)) <= words]
    return full if len({(options[i].first_name, options[i].last_name) for i in full}) == 1 and len(full) == 1 else []


def _words(name: str) -> list[str]:
    return re.findall(r"[a-z]+", spoken._fold(name))


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
