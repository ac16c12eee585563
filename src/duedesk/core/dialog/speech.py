"""Amounts, dates, phone numbers and the limited-content message, worded for speaking."""

from __future__ import annotations

from duedesk.core.render import limited_content_problems, long_date, money, spoken_number

__all__ = ["limited_content", "long_date", "money", "spoken_number"]

# Said by the assistant itself, so it names the person to ask for rather than posing as
# them (render's voicemail_text is recorded in a staff member's name).
_LIMITED = {
    "en": ("Please call {org} back at {number}.", "Please call {org} back at {number} and ask for {person}."),
    "es": (
        "Por favor, llame a {org} al {number}.",
        "Por favor, llame a {org} al {number} y pregunte por {person}.",
    ),
}


def limited_content(org_name: str, person_name: str, callback_number: str, lang: str) -> str:
    """The limited-content message: the organization, a person to ask for, the number.

    Nothing about why we called. A name that would reveal a debt is left out (render's
    check); without a callback number there is nothing useful to say.
    """
    number = spoken_number(callback_number or "")
    if not number:
        return ""
    plain, with_person = _LIMITED["es" if lang == "es" else "en"]
    person = " ".join((person_name or "").split())
    if person and not limited_content_problems("", person):
        return with_person.format(org=org_name, number=number, person=person)
    return plain.format(org=org_name, number=number)
