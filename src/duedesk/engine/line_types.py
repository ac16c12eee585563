"""Each number's line type, looked up once, before the first text or call to it.

A landline cannot take a text (rule landline_text) and may get at most 3 automated calls in 30 days without
the owner's express consent (rule landline_calls): the gate needs the line type, kept on the line
(records.Line.line_type) for every contact on the number.

Why here, in the worker, right before the first send, and not at intake or in a webhook:
- once per number, and only for numbers we are about to contact: an import of 10,000 rows makes no lookups
  (each costs money at the provider; many patients pay before any reminder), and an API upsert or a CRM page
  never waits on one;
- never in a webhook: a patient's reply is answered at once, from what is stored;
- a failed lookup (the provider down, a timeout) never holds a reminder: the send goes on with the type
  unknown (as before lookups existed) and the number is asked again a day later.
The lookups of one batch run a few at a time on threads (each is one HTTP GET); the database is written on
this thread only, through engine/actions (record_line_types: one transaction for the batch's answers).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.db.models import Q

from duedesk.channels.errors import TransportError
from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.records.models import Line, Organization

logger = logging.getLogger("duedesk.worker")

PHONE_CHANNELS = ("sms", "call")
ASK_AGAIN_AFTER_FAILURE = timedelta(days=1)
AT_ONCE = 8  # lookups in flight at once


def look_up_for_steps(step_ids: list[int], transports_for, now: datetime) -> int:
    """Look up the numbers the texts and calls among these steps go to, where not yet known. Returns how
    many numbers were asked."""
    if not step_ids:
        return 0
    wanted = {(org, phone) for org, phone in Step.objects.filter(pk__any=step_ids, kind__in=PHONE_CHANNELS)
              .values_list("organization_id", "enrollment__invoice__contact__phone") if phone}
    if not wanted:
        return 0
    known = set(Line.objects.filter(organization_id__in={o for o, _ in wanted}, kind="phone",
                                    address__in={p for _, p in wanted})
                .filter(Q(line_type__gt="") | Q(line_type_checked_at__gt=now - ASK_AGAIN_AFTER_FAILURE))
                .values_list("organization_id", "address"))
    missing = sorted(wanted - known)
    if not missing:
        return 0
    organizations = Organization.objects.in_bulk({o for o, _ in missing})
    asks = [(org, number, lookup) for org, number in missing
            if (lookup := transports_for(organizations[org]).lines) is not None]
    if not asks:
        return 0
    with ThreadPoolExecutor(max_workers=min(AT_ONCE, len(asks))) as pool:
        answers = list(pool.map(_ask, asks))
    by_org: dict[int, dict[str, tuple[str, str, str]]] = {}
    for (org, number, _), answer in zip(asks, answers, strict=True):
        by_org.setdefault(org, {})[number] = answer
    for org, found in by_org.items():
        actions.record_line_types(org, found, now)
    return len(asks)


def _ask(ask) -> tuple[str, str, str]:
    _, number, lookup = ask
    try:
        line_type, carrier = lookup.line_type(number)
    except TransportError as error:
        logger.warning("a line type lookup failed (asked again in a day): %s", error)
        return "", "", str(error)
    except Exception as error:  # a lookup must never stop the batch: the sends go on, type unknown
        logger.exception("a line type lookup raised (asked again in a day)")
        return "", "", f"{type(error).__name__}: {error}"
    return line_type, carrier, ""
