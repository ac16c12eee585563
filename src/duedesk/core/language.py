"""The language a contact is written to and spoken to in.

Billing systems and CRMs send locale tags in every spelling: "es-MX", "es-419", "es_US", "ES", "spa",
"en-GB". duedesk's templates, replies and confirmations are written per language (English and Spanish),
so every tag is read with babel's `Locale.parse` (CLDR) and reduced to its language: a contact tagged
"es-MX" is written to wholly in Spanish, never a Spanish opt-out line under an English body. The country
that decides how a date is written comes from the phone number (core/phones), not from this tag.

Used at input (`intake.checks.check_language`: the import, the API, the staff form and the CRM pull store
the language, "es-MX" stored as "es") and at render (`render.lang_code`, `Workflow.language_for`), so a
value stored before this rule, or written past it, still gets one language.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

from babel import Locale, UnknownLocaleError

# The languages duedesk writes in; English is the fallback for every template and reply.
LANGUAGES = ("en", "es")
DEFAULT = "en"


@lru_cache(maxsize=256)
def parse(tag: str | None) -> str | None:
    """The language of a locale tag ("es-MX", "es_419", "ES", "spa" -> "es"), or None when it is none."""
    text = (tag or "").strip().replace("-", "_")
    if not text or len(text) > 35:
        return None
    try:
        return Locale.parse(text).language
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def normalise(tag: str) -> str:
    """The language outreach speaks for this tag; ValueError naming the value when there is none."""
    language = parse(tag)
    if language not in LANGUAGES:
        raise ValueError(f"{tag!r} is not a supported language (use en or es, or a locale of them like es-MX)")
    return language


def for_message(tag: str | None, available: Collection[str] = LANGUAGES) -> str:
    """The language to write in: the tag's language when the templates have it, else English."""
    language = parse(tag)
    return language if language in available else DEFAULT
