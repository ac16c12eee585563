"""Each number's line type, looked up once, shortly before the first text or call to it.

A landline cannot take a text (rule landline_text) and may get at most 3 automated calls in 30 days without
the owner's express consent (rule landline_calls): the gate needs the line type, kept on the line
(records.Line.line_type) for every contact on the number.

When, and what a billing office can expect of it:
- ahead of the send, in a pass of its own: each worker tick (one worker at a time; the others go on to their
  batch), before it claims a batch, asks for the numbers of
  texts and calls due within the next hour whose type is not known, soonest first, at most PER_PASS numbers
  (AT_ONCE in flight). Reminders planned ahead (the morning's heads-ups) have their numbers asked during the
  hour before they are due, so they go out on time and already checked;
- a batch never waits on a lookup: a text or call whose number is not known yet when it is due (a large
  import whose first texts are due at once, more numbers than a pass asks) goes out with the type unknown,
  as before lookups existed: a text to a landline fails at the carrier and the number is marked unreachable
  for texts (the workflow goes on to the call), and the 3-calls-in-30-days count starts with that call;
- once per number, and only for numbers we are about to contact: an import of 10,000 rows makes no lookups
  (each costs money at the provider; many patients pay before any reminder), and an API upsert or a CRM page
  never waits on one; never in a webhook: a patient's reply is answered at once, from what is stored;
- a failed lookup (the provider down, a timeout) never holds a reminder: the number is asked again a day
  later, and a pass stops at its first round with a failure (an outage costs each tick one round, not
  PER_PASS timeouts);
- an organization may switch lookups off (Settings: Organization.line_type_lookups): its numbers stay
  unknown and the landline rules do not act.
The database is written on this thread only, through engine/actions (record_line_types: one transaction per
organization per round).
"""

from __future__ import annotations

import logging
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Exists, OuterRef, Q

from duedesk.channels.errors import TransportError
from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.records.models import Line, Organization

logger = logging.getLogger("duedesk.worker")

PHONE_CHANNELS = ("sms", "call")
ASK_AGAIN_AFTER_FAILURE = timedelta(days=1)
AHEAD = timedelta(hours=1)  # numbers of texts and calls due this soon are asked before they are due
PER_PASS = 40  # numbers asked per worker tick at most
AT_ONCE = 8  # lookups in flight at once
# An organization whose transports have no lookup (simulated ones) is left out of the passes for a minute: its
# thousands of due steps are not read again on every tick to find it has none.
WITHOUT_LOOKUP_FOR = 60.0
PASS_LOCK = 0x6475656465736B01  # the advisory lock the pass takes on PostgreSQL ("duedesk" + 1)
# per provider of transports (a worker's): organization -> time.monotonic() until which it is left out
_without_lookup: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def look_up_ahead(now: datetime, transports_for, limit: int = PER_PASS) -> int:
    """One bounded pass: look up the numbers of texts and calls due by now + AHEAD whose type is not known,
    soonest first. Returns how many numbers were asked. One worker makes the pass at a time (the others go
    on to their batch): four workers used to ask the same numbers at once, and spent most of their ticks
    reading the due steps for them rather than sending."""
    if not _anyone_to_ask(transports_for):  # every organization sends through transports without lookups
        return 0
    with _one_pass_at_a_time() as mine:
        return _pass(now, transports_for, limit) if mine else 0


def _left_out(transports_for) -> tuple[dict[int, float], set[int]]:
    """The organizations found without a lookup lately (by this provider of transports): every organization
    -> until when, and the set of those still left out."""
    clock = time.monotonic()
    try:
        known_without = _without_lookup.setdefault(transports_for, {})
    except TypeError:  # a provider of transports that can't be weakly referenced: nothing is remembered
        known_without = {}
    return known_without, {org for org, until in known_without.items() if until > clock}


def _anyone_to_ask(transports_for) -> bool:
    """One query, before the pass's lock is asked for (every tick of every worker comes here)."""
    return Organization.objects.filter(line_type_lookups=True).exclude(pk__in=_left_out(transports_for)[1]).exists()


@contextmanager
def _one_pass_at_a_time():
    """A PostgreSQL advisory lock for the pass, held by the worker's session (a worker killed mid-pass
    lets go of it with its connection). On SQLite one worker runs."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [PASS_LOCK])
        mine = cursor.fetchone()[0]
    try:
        yield mine
    finally:
        if mine:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PASS_LOCK])


def _pass(now: datetime, transports_for, limit: int) -> int:
    wanted, lookups = _numbers_due(now, transports_for, limit)
    asked = 0
    for start in range(0, len(wanted), AT_ONCE):
        round_ = wanted[start:start + AT_ONCE]
        with ThreadPoolExecutor(max_workers=len(round_)) as pool:
            answers = list(pool.map(_ask, [(number, lookups[org]) for org, number in round_]))
        by_org: dict[int, dict[str, tuple[str, str, str]]] = {}
        for (org, number), answer in zip(round_, answers, strict=True):
            by_org.setdefault(org, {})[number] = answer
        for org, found in by_org.items():
            actions.record_line_types(org, found, now)
        asked += len(round_)
        if any(error for _, _, error in answers):  # the provider is in trouble: the rest wait for a later pass
            break
    return asked


def _numbers_due(now: datetime, transports_for, limit: int) -> tuple[list[tuple[int, str]], dict[int, object]]:
    """Up to `limit` (organization, number) pairs to ask, soonest send first, with each organization's lookup.
    Organizations without a lookup (simulated transports) are left out and the query asked again without them,
    so they never crowd out the others."""
    known = (Line.objects.filter(organization_id=OuterRef("organization_id"), kind="phone",
                                 address=OuterRef("enrollment__invoice__contact__phone"))
             .filter(Q(line_type__gt="") | Q(line_type_checked_at__gt=now - ASK_AGAIN_AFTER_FAILURE)))
    clock = time.monotonic()
    known_without, without = _left_out(transports_for)
    lookups: dict[int, object] = {}
    for _ in range(3):
        rows = list(Step.objects.filter(status="pending", run_at__lte=now + AHEAD, kind__in=PHONE_CHANNELS,
                                        organization__line_type_lookups=True)
                    .exclude(organization_id__in=without).exclude(enrollment__invoice__contact__phone="")
                    .filter(~Exists(known)).order_by("run_at", "pk")
                    .values_list("organization_id", "enrollment__invoice__contact__phone")[:limit * 4])
        wanted: list[tuple[int, str]] = []
        for org, number in rows:
            if (org, number) in wanted:
                continue
            if org not in lookups and org not in without:
                lookup = transports_for(Organization.objects.get(pk=org)).lines
                if lookup is None:
                    without.add(org)
                    known_without[org] = clock + WITHOUT_LOOKUP_FOR
                else:
                    lookups[org] = lookup
            if org in lookups:
                wanted.append((org, number))
                if len(wanted) == limit:
                    break
        if wanted or not rows:
            return wanted, lookups
    return [], lookups


def _ask(ask) -> tuple[str, str, str]:
    number, lookup = ask
    try:
        line_type, carrier = lookup.line_type(number)
    except TransportError as error:
        logger.warning("a line type lookup failed (asked again in a day): %s", error)
        return "", "", str(error)
    except Exception as error:  # a lookup must never stop the worker: the sends go on, type unknown
        logger.exception("a line type lookup raised (asked again in a day)")
        return "", "", f"{type(error).__name__}: {error}"
    return line_type, carrier, ""
