"""Simulated patients: scripted people who read texts, answer calls and pay (or don't).

They speak in words: what they say goes through the same understanding and call script as a real
caller's speech, and their texts through the same inbound handling as a real text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


@dataclass
class Patient:
    """One behaviour. `lines` are what they say after the identity questions, in order."""

    behaviour: str
    first_name: str
    last_name: str
    phone: str
    language: str = "en"
    dob: date = date(1980, 3, 3)
    answers_calls: bool = True
    machine: bool = False
    lines: list[str] = field(default_factory=list)
    reply_to_first_text: str | None = None
    replies: list[str] = field(default_factory=list)  # one reply to each text received, in order, until used up
    pays_after_text: timedelta | None = None
    pays_after_call: timedelta | None = None
    pays_on_promise: bool = False
    pays_at: datetime | None = None
    zip_code: str = ""  # the address's ZIP code (its zone and state); blank: none on file
    consent: bool | None = None  # the import's `consent` column: yes, no (withdrawn), or not said
    claims_dob: date | None = None  # the date of birth they say, when it is not the one on file
    # what happened, for the scenario's own checks
    said: list[str] = field(default_factory=list)

    def next_line(self, prompt: str) -> str | None:
        """Answer what the assistant just asked: identity first, then the script."""
        p = prompt.lower()
        if "speaking with" in p or "hablo con" in p:
            return "yes this is me" if self.language == "en" else "sí soy yo"
        if "date of birth" in p or "fecha de nacimiento" in p:
            return spoken_dob(self.claims_dob or self.dob, self.language)
        if "first and last name" in p or "nombre y apellido" in p:
            return f"this is {self.first_name} {self.last_name}" if self.language == "en" else \
                f"soy {self.first_name} {self.last_name}"
        if "is that right" in p or "es correcto" in p:
            return "yes that's right" if self.language == "en" else "sí es correcto"
        if "come through" in p or "le llegó" in p:
            return "yes i got it" if self.language == "en" else "sí ya me llegó"
        if self.lines:
            return self.lines.pop(0)
        return "no thank you bye" if self.language == "en" else "no gracias adiós"


_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]
_MONTHS_ES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre"]
_ORD = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
        "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
        "nineteenth", "twentieth"]


def spoken_dob(d: date, lang: str) -> str:
    if lang == "es":
        return f"el {d.day} de {_MONTHS_ES[d.month - 1]} de {d.year}"
    day = _ORD[d.day] if d.day < len(_ORD) else str(d.day)
    return f"{_MONTHS[d.month - 1]} {day} {d.year}"
