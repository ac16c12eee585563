"""The billing office's search box: a person by name ("ana reyes", "lucia" for Lucía, "munoz" for Muñoz, in any
order and case), email, phone (part of it, or as typed in any format the number parses from) or an invoice
reference. Used by the contacts list and its export, and by the inbox, each from its own rows.

Names, email and phone are compared on the contact's search column (Contact.search_text: folded by
core.folding, without accents or case); each word of the search must be found in it. On PostgreSQL a
trigram GIN index serves those LIKE '%word%' (records migration 0017); SQLite reads the column.
"""

from __future__ import annotations

import re

from django.db.models import Q

from duedesk.core.folding import words
from duedesk.core.phones import normalize_phone
from duedesk.records.models import Contact, Invoice, Organization

_PHONE_MARKS = re.compile(r"[()\-.]")


def _word(word: str) -> str:
    """A word as the column holds it: a piece of a number typed "(212)" or "555-01" is looked up as digits."""
    bare = _PHONE_MARKS.sub("", word)
    return bare if bare.isdigit() else word


def person_matches(q: str, *, contact: str = "", invoice_ref: str | None = None) -> Q:
    """What matches `q`; `contact` is the path to the contact ("" on contacts, "contact__" from a handoff),
    `invoice_ref` the path to an invoice's reference (None: the caller looks references up itself)."""
    match = Q()
    for word in map(_word, words(q)):
        if len(word) < 3:  # "ib": a word that starts so (Ibáñez), as a trigram index can find it
            match &= Q(**{f"{contact}search_text__startswith": word}) | Q(**{f"{contact}search_text__contains": " " + word})
        else:
            match &= Q(**{f"{contact}search_text__contains": word})
    if invoice_ref:
        match |= Q(**{f"{invoice_ref}__iexact": q})
    try:
        match |= Q(**{f"{contact}phone": normalize_phone(q)})
    except ValueError:
        pass
    return match


def about(org: Organization, q: str, *, contact: str = "contact", invoice: str = "invoice") -> Q:
    """For rows that point at a contact and an invoice (handoffs): those whose contact matches `q` or whose
    invoice has `q` as its reference. Both are subqueries, each served by its own index (the search column's
    trigrams, the reference in any case), so the rows are never joined to every contact and invoice first."""
    people = Contact.objects.filter(organization=org).filter(person_matches(q)).values("pk")
    referenced = Invoice.objects.filter(organization=org, external_ref__iexact=q).values("pk")
    return Q(**{f"{contact}__in": people}) | Q(**{f"{invoice}__in": referenced})
