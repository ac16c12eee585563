"""Confirming who is texting before a text says the balance or the due date.

A phone number is not a person: "how much do I owe?" from the contact's number gets the date of birth
question (or the ZIP code, when the organization checks that), and the amount only once it matches
exactly, read in the day/month order of the contact's language and country. A confirmation lasts
``VERIFIED_FOR``; two wrong answers hand the thread to a person. The state is the timeline itself
(sms.identity_asked / _verified / _failed), so it survives restarts and is auditable.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from duedesk.core import timing
from duedesk.core.dialog import spoken
from duedesk.core.phones import country_for_phone
from duedesk.records.models import Contact, Event, Invoice
from duedesk.records.timeline import log

VERIFIED_FOR = timedelta(minutes=30)
ASKED_FOR = timedelta(hours=24)  # an answer to our question is read as one for this long
MAX_TRIES = 2
_KINDS = ("sms.identity_asked", "sms.identity_verified", "sms.identity_failed")

QUESTIONS = {
    "dob": {"en": "{org}: To protect your privacy, please reply with your date of birth ({example}).",
            "es": "{org}: Para proteger su privacidad, responda con su fecha de nacimiento ({example})."},
    "zip": {"en": "{org}: To protect your privacy, please reply with your home ZIP code.",
            "es": "{org}: Para proteger su privacidad, responda con el código postal de su casa."},
}
WRONG = {"en": "{org}: Sorry, we could not confirm that. Please try once more.",
         "es": "{org}: Lo sentimos, no pudimos confirmarlo. Inténtelo una vez más."}
FAILED = {"en": "{org}: Sorry, we could not confirm your identity by text. Please call us at {callback}.",
          "es": "{org}: Lo sentimos, no pudimos confirmar su identidad por mensaje. Llámenos al {callback}."}


def method(contact: Contact) -> str | None:
    """What the organization checks ("dob" or "zip"); the other when that is not on file; None if neither."""
    order = ("zip", "dob") if contact.organization.identity_check == "zip" else ("dob", "zip")
    have = {"dob": contact.date_of_birth is not None, "zip": bool(contact.zip_code)}
    return next((m for m in order if have[m]), None)


def date_order(contact: Contact) -> str:
    return spoken.date_order(contact.language or "en", country_for_phone(contact.phone))


def example(contact: Contact, lang: str) -> str:
    mdy = date_order(contact) == "MDY"
    if lang == "es":
        return "MM/DD/AAAA" if mdy else "DD/MM/AAAA"
    return "MM/DD/YYYY" if mdy else "DD/MM/YYYY"


def _last(contact: Contact, now: datetime) -> Event | None:
    return (Event.objects.filter(organization_id=contact.organization_id, contact=contact, kind__in=_KINDS,
                                 at__gt=now - ASKED_FOR, at__lte=now).order_by("-at", "-pk").first())


def verified(contact: Contact, now: datetime) -> bool:
    last = _last(contact, now)
    return last is not None and last.kind == "sms.identity_verified" and last.at > now - VERIFIED_FOR


def pending(contact: Contact, now: datetime) -> Event | None:
    """Our identity question, when it is the last word on identity and still open."""
    last = _last(contact, now)
    return last if last is not None and last.kind == "sms.identity_asked" else None


def ask(contact: Contact, invoice: Invoice | None, topic: str, now: datetime, *, tries: int = 0) -> str:
    """Log the question (with what the patient wanted: the amount, the due date, the pay link)."""
    how = method(contact)
    log(contact.organization_id, "sms.identity_asked", now, contact=contact, invoice=invoice, channel="sms",
        method=how, topic=topic, tries=tries)
    return how


def check(contact: Contact, question: Event, body: str, now: datetime) -> bool | None:
    """True when the answer matches, False when it is another date or ZIP, None when it is no answer."""
    today = timing.local_date(now, contact.tz())
    if question.detail.get("method") == "zip":
        answer = spoken.matches_zip(body, contact.zip_code or "")
    else:
        answer = spoken.matches_date_of_birth(body, contact.date_of_birth, today, date_order(contact))
    if answer is None:
        return None
    kind = "sms.identity_verified" if answer else "sms.identity_failed"
    log(contact.organization_id, kind, now, contact=contact, invoice=question.invoice, channel="sms",
        method=question.detail.get("method"), topic=question.detail.get("topic"))
    return answer


def tries(contact: Contact, now: datetime) -> int:
    return Event.objects.filter(organization_id=contact.organization_id, contact=contact,
                                kind="sms.identity_failed", at__gt=now - ASKED_FOR).count()
