"""Which line (phone number or email address) a contact's channel goes to, and its state for the gate.

A send by text or call goes to the contact's phone, an email to the contact's address: the gate reads the
opt-outs, unreachable marks and consent of *that* line, whichever contact row the send came from. The
writes live in engine/actions/lines.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from duedesk.records import bulk  # noqa: F401  (the `__any` lookups)
from duedesk.records.models import Contact, Line, Organization
from duedesk.records.prepared import Prepared

PURPOSE = "billing"
KIND_OF_CHANNEL = {"sms": "phone", "call": "phone", "email": "email"}
# The basis named when the organization accepts a number given for the bill and no record says otherwise.
PROVIDED_NUMBER = "provided_number"


def email_address(email: str) -> str:
    return (email or "").strip().lower()


def addresses(contact: Contact) -> list[tuple[str, str]]:
    """(kind, address) of each line the contact has."""
    found = []
    if contact.phone:
        found.append(("phone", contact.phone))
    if contact.email:
        found.append(("email", email_address(contact.email)))
    return found


def address_for(contact: Contact, channel: str) -> tuple[str, str] | None:
    kind = KIND_OF_CHANNEL[channel]
    address = contact.phone if kind == "phone" else email_address(contact.email)
    return (kind, address) if address else None


def lines_of(contact: Contact) -> dict[tuple[str, str], Line]:
    """The contact's lines that exist, by (kind, address). A batch attaches them beforehand (prefetch)."""
    cached = getattr(contact, "_lines", None)
    if cached is not None:
        return cached
    keys = addresses(contact)
    if not keys:
        return {}
    found = _LINES(contact.organization_id, *(part for key in keys for part in key))
    return {(ln.kind, ln.address): ln for ln in found}


def _lines(organization_id: int, *kinds_and_addresses: str):
    from django.db.models import Q

    query = Q()
    for kind, address in zip(kinds_and_addresses[::2], kinds_and_addresses[1::2], strict=True):
        query |= Q(kind=kind, address=address)
    return Line.objects.filter(query, organization_id=organization_id)


# The gate asks it before every send: its SQL is built once per process for each number of lines
# (records/prepared.py).
_LINES = Prepared(_lines)


def prefetch(contacts) -> None:
    """Attach every contact's lines in one query (the batch asks the gate for many at once)."""
    contacts = list(contacts)
    wanted = {(c.organization_id, *key) for c in contacts for key in addresses(c)}
    # Two lists, not one OR per address (building hundreds of Q objects cost more than the query itself);
    # a number that is another organization's line or an email address's is left out below.
    rows = Line.objects.filter(organization_id__any={w[0] for w in wanted}, kind__any={w[1] for w in wanted},
                               address__any={w[2] for w in wanted}) if wanted else []  # the unique index
    found = {k: ln for ln in rows if (k := (ln.organization_id, ln.kind, ln.address)) in wanted}
    for c in contacts:
        c._lines = {k: found[(c.organization_id, *k)] for k in addresses(c) if (c.organization_id, *k) in found}


def line_for(contact: Contact, channel: str) -> Line | None:
    key = address_for(contact, channel)
    return lines_of(contact).get(key) if key else None


@dataclass(frozen=True)
class LineState:
    """What the gate needs to know about the line one channel goes to."""

    opted_out: frozenset[str] = frozenset()
    unreachable: frozenset[str] = frozenset()
    consent: str | None = None  # the basis ("express", "provided_number", "inbound_text"), None: none
    line_type: str | None = None  # "landline", "mobile", ... from the lookup; None: not known

    @property
    def express(self) -> bool:
        """The owner's own consent is on record (what lifts the landline call limit; a number merely
        provided for the bill, or a text from it, does not)."""
        return self.consent == "express"


# The state of a line with no row (a number never looked up, opted out or consented): the same for every
# contact, and frozen.
_NO_ROW = {True: LineState(consent=PROVIDED_NUMBER), False: LineState()}


def state(contact: Contact, channel: str, accept_provided_number: bool) -> LineState:
    line = line_for(contact, channel)
    if line is None:
        has_address = address_for(contact, channel) is not None
        return _NO_ROW[bool(accept_provided_number and has_address)]
    return LineState(
        opted_out=frozenset(line.opted_out),
        unreachable=frozenset(line.unreachable),
        consent=consent_basis(line, accept_provided_number),
        line_type=line.line_type or None,
    )


def consent_basis(line: Line, accept_provided_number: bool) -> str | None:
    record = line.consent.get(PURPOSE) or {}
    if record.get("revoked"):
        return None
    if record.get("basis") and (record["basis"] != PROVIDED_NUMBER or accept_provided_number):
        return record["basis"]
    return PROVIDED_NUMBER if accept_provided_number else None


def merged(contact: Contact, field: str) -> dict:
    """The contact's opt-outs (or unreachable marks) over all its lines, channel -> value: what staff see."""
    found: dict = {}
    for (kind, _), line in lines_of(contact).items():
        for channel, value in getattr(line, field).items():
            if channel == "all" or channel in Line.CHANNELS[kind]:
                found.setdefault(channel, value)
    return found


def contacts_on_number(org: Organization | int, number: str) -> list[Contact]:
    """The contacts on a phone line (whose number it is), oldest first: who may be calling from it."""
    if not number:
        return []
    org_id = org if isinstance(org, int) else org.pk
    return list(Contact.objects.filter(organization_id=org_id, phone=number).select_related("organization")
                .order_by("pk"))
