"""Text as the search box compares it: without accents and case, so "lucia" finds "Lucía" and "MUNOZ" finds
"Muñoz".

Letters are decomposed (NFKD) and their combining marks dropped; the few Latin letters that carry no
separable mark (ß, æ, ø, đ, ł, œ, þ) are spelled as PostgreSQL's `unaccent` spells them, so a contact
folded here and one folded by `lower(unaccent(...))` in the database (the search column's first fill on
PostgreSQL, records migration 0017) read the same. Used for the contacts' search column (records.Contact
.search_text) and for what staff type.
"""

from __future__ import annotations

import unicodedata

_SPELLED = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l",
                          "Ł": "L", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "TH", "ı": "i"})


def fold(text: str) -> str:
    """`text` in lower case without accents: 'José Muñoz' -> 'jose munoz'."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELLED))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    """The folded words of a search ('Ana  REYES' -> ['ana', 'reyes'])."""
    return fold(text).split()
