"""`{{ moment|when }}`, `{{ moment|when_short }}`, `{{ day|day }}`: every date and time on the staff pages written by
babel in the reader's language (the one their pages are in) with the office's country, in the page's zone (the
office's: access.member) with its abbreviation. "Dec 7, 2026 10:00 AM EST" in English, "7 dic 2026, 10:00 a.m. EST"
in Spanish; never English order in Spanish pages ("Dec 7" for "7 dic")."""

from __future__ import annotations

from datetime import date, datetime

from babel import Locale
from babel.dates import format_date, format_datetime
from django import template
from django.utils import timezone, translation

register = template.Library()

# The office's country is the United States (its holidays, its phones): its English and its Spanish. Parsed once.
_LOCALES = {"en": Locale.parse("en_US"), "es": Locale.parse("es_US")}
_PATTERNS = {
    # (date and time with the year, without it, a day)
    "en": ("MMM d, y h:mm a", "MMM d, h:mm a", "MMM d, y"),
    "es": ("d MMM y, h:mm a", "d MMM, h:mm a", "d MMM y"),
}


def _language() -> str:
    return "es" if (translation.get_language() or "en").startswith("es") else "en"


def locale() -> Locale:
    """The locale the pages are written in now: the reader's language, the office's country."""
    return _LOCALES[_language()]


def _moment(value, which: int) -> str:
    if not isinstance(value, datetime):
        return "" if value in (None, "") else str(value)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
        zone = f" {value.tzname()}"
    else:
        zone = ""
    lang = _language()
    return format_datetime(value, _PATTERNS[lang][which], locale=_LOCALES[lang]) + zone


@register.filter
def when(value) -> str:
    """A moment with its date, year, time and zone: "Dec 7, 2026 10:00 AM EST" / "7 dic 2026, 10:00 a.m. EST"."""
    return _moment(value, 0)


@register.filter
def when_short(value) -> str:
    """A moment of this year or close to it: "Dec 7, 10:00 AM EST" / "7 dic, 10:00 a.m. EST"."""
    return _moment(value, 1)


@register.filter
def day(value) -> str:
    """A calendar day: "Dec 7, 2026" / "7 dic 2026" (a moment is taken on the page's zone's calendar)."""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not isinstance(value, date):
        return "" if value in (None, "") else str(value)
    lang = _language()
    return format_date(value, _PATTERNS[lang][2], locale=_LOCALES[lang])
