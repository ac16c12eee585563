"""The billing office's search box: a person by name ("ana reyes"), phone (as typed or in any format the
number parses from) or an invoice reference. Used by the contacts list and the inbox, each from its own rows."""

from __future__ import annotations

from django.db.models import Q

from duedesk.core.phones import normalize_phone


def person_matches(q: str, *, contact: str = "", invoice_ref: str) -> Q:
    """What matches `q`; `contact` is the path to the contact ("" on contacts, "contact__" from a handoff),
    `invoice_ref` the path to an invoice's reference."""
    match = (Q(**{f"{contact}first_name__icontains": q}) | Q(**{f"{contact}last_name__icontains": q})
             | Q(**{f"{contact}phone__icontains": q}) | Q(**{f"{invoice_ref}__iexact": q}))
    parts = q.split()
    if len(parts) == 2:
        match |= Q(**{f"{contact}first_name__icontains": parts[0], f"{contact}last_name__icontains": parts[1]})
    try:
        match |= Q(**{f"{contact}phone": normalize_phone(q)})
    except ValueError:
        pass
    return match
