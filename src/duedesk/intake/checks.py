"""What every way in accepts: the CSV import, the JSON API and the staff forms check values here.

One set of rules, so a value refused by one door is refused by all of them, with the same words, before
anything reaches the database or the engine:

- dates within the years settings.MIN_YEAR..MAX_YEAR (1900..2200 unless configured): a due date in year 1
  or 9999 is a typo, and the engine's date arithmetic on it would overflow;
- text without control characters (NUL cannot be stored in PostgreSQL at all; the others are never meant)
  and no longer than the column that keeps it;
- time zones from the IANA database, the languages outreach speaks (any locale of them, stored as the
  language: "es-MX" is "es"), emails that fit their column.

Each check raises ValueError with a message that completes "<field> ..." (the caller names the field);
`validator(check)` makes one a Django form validator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import available_timezones

from django.conf import settings
from django.core import validators as django_validators
from django.core.exceptions import ValidationError
from django.utils.translation import pgettext

from duedesk.core import language as languages
from duedesk.core import vocabulary

LANGUAGES = languages.LANGUAGES  # the languages outreach speaks: en, es
EMAIL_MAX = 254  # Contact.email (EmailField's max_length): RFC 5321's longest path
TEXT_LINE_BREAKS = "\t\n\r"  # allowed in multi-line text (notes, texts), never in a name or a reference
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


# ----------------------------------------------------------------------------- dates


def year_range() -> tuple[int, int]:
    return settings.MIN_YEAR, settings.MAX_YEAR


def check_date(value: date) -> date:
    """A date (or a moment) within the configured years."""
    low, high = year_range()
    if not low <= value.year <= high:
        raise ValueError(vocabulary.sentence("out_of_years", value=repr(value.isoformat()), low=low, high=high))
    return value


def check_moment(value: datetime) -> datetime:
    return check_date(value)


# ----------------------------------------------------------------------------- text


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first control character (or lone surrogate) in `text` as 'U+0000', or None."""
    for match in _CONTROL.finditer(text):
        char = match.group()
        if multiline and char in TEXT_LINE_BREAKS:
            continue
        return f"U+{ord(char):04X}"
    return None


def check_text(value: str, limit: int | None = None, *, multiline: bool = False) -> str:
    """Text as it will be stored: no control characters, at most `limit` characters."""
    bad = control_character(value, multiline=multiline)
    if bad:
        raise ValueError(vocabulary.sentence("control_character", what=bad))
    if limit is not None and len(value) > limit:
        raise ValueError(vocabulary.sentence("too_long", limit=limit))
    return value


class BadValue(ValueError):
    """A value inside a structure (JSON fields): where it is, and what is wrong with it."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def check_json_text(value, path: str) -> None:
    """Every key and string in a JSON value is storable text; raises BadValue naming where it is not."""
    if isinstance(value, str):
        try:
            check_text(value, multiline=True)
        except ValueError as error:
            raise BadValue(path, str(error)) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            bad = control_character(str(key))
            if bad:
                raise BadValue(path, f"a name contains a control character ({bad})")
            check_json_text(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json_text(item, f"{path}.{index}")


# ----------------------------------------------------------------------------- contacts


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    return name in _zones()


def check_timezone(name: str) -> str:
    if not is_timezone(name):
        raise ValueError(vocabulary.sentence("not_a_zone", value=repr(name)))
    return name


def check_language(code: str) -> str:
    """The language to store for a locale tag: "es-MX", "es-419", "es_US", "ES" -> "es" (core/language)."""
    return languages.normalise(code)


def check_email(value: str) -> str:
    if len(value) > EMAIL_MAX:
        raise ValueError(vocabulary.sentence("too_long", limit=EMAIL_MAX))
    try:
        django_validators.validate_email(value)
    except ValidationError:
        raise ValueError(vocabulary.sentence("not_an_email", value=repr(value))) from None
    return value


# ----------------------------------------------------------------------------- for Django forms


def validator(check: Callable, *args, **kwargs) -> Callable:
    """A form field validator running `check` (empty values are the field's own business)."""

    def validate(value):
        if value in (None, ""):
            return
        try:
            check(value, *args, **kwargs)
        except ValueError as error:
            # Not code="invalid": a field would swap in its own message for that code.
            raise ValidationError(_sentence(_in_page_language(str(error))), code="refused") from None

    return validate


def _in_page_language(message: str) -> str:
    """A check's sentence (vocabulary.SENTENCES) in the language of the page whose form refused the value."""
    found = vocabulary.found_sentence(message)
    if found is None:
        return message
    english, values = found
    said = pgettext("state", english) % values
    return pgettext("check", "This %(problem)s") % {"problem": said} if english.startswith(("contains", "is ")) \
        else said


def _sentence(message: str) -> str:
    if message.startswith(("contains", "is ")):
        message = f"This {message}"
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")

