"""Amounts, dates, phone numbers and the limited-content message, worded for speaking."""

from __future__ import annotations

from duedesk.core.render import long_date, money, spoken_number, voicemail_text

__all__ = ["limited_content", "long_date", "money", "spoken_number"]


def limited_content(org_name: str, person_name: str, callback_number: str, lang: str) -> str:
    """The limited-content message, or nothing when the settings can't make a safe one.

    render refuses a name that reveals a debt or a missing callback number; a live call
    must not fail on that, so it simply ends without the message.
    """
    try:
        return voicemail_text(org_name, person_name, callback_number, lang)
    except ValueError:
        return ""
