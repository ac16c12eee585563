"""The overview's figures. Each is one function of (org, now), so each can be tested with known rows.

Amounts are Decimals; "today" is the organization's local date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q

from duedesk.records.models import Handoff, Organization, Promise
from duedesk.records.tallies import COLUMNS

OUTSTANDING = ("open", "hardship", "in_plan", "disputed")
CLOSED = ("paid", "written_off")
ZERO = Decimal("0")


def today(org: Organization, now: datetime) -> date:
    return now.astimezone(ZoneInfo(org.timezone)).date()


def outstanding_balance(org: Organization, now: datetime) -> Decimal:
    return invoice_figures(org, now)["outstanding"]


def collected(org: Organization, now: datetime) -> Decimal:
    """Every payment recorded since outreach began, less the payments undone (a check that bounced, a payment
    on the wrong invoice): the invoices' paid, summed from their tallies."""
    return invoice_figures(org, now)["collected"]


@dataclass(frozen=True)
class Share:
    part: int
    whole: int

    @property
    def percent(self) -> int:
        return round(100 * self.part / self.whole) if self.whole else 0


def resolved_without_staff(org: Organization, now: datetime) -> Share:
    """Of the invoices that went past due, how many were paid or closed with no handoff at all."""
    return invoice_figures(org, now)["self_resolved"]


def promises(org: Organization, now: datetime) -> dict[str, int]:
    counts = Promise.objects.filter(organization=org, created_at__lte=now).aggregate(
        made=Count("pk"),
        kept=Count("pk", filter=Q(status="kept")),
        broken=Count("pk", filter=Q(status="broken")),
        pending=Count("pk", filter=Q(status="pending")),
    )
    return counts


@dataclass(frozen=True)
class HandoffFigures:
    open: int
    median_to_resolve: timedelta | None


def handoffs(org: Organization, now: datetime) -> HandoffFigures:
    """The open handoffs and the median time to resolve one (the lower middle, as statistics.median_low): the
    middle one's span read from the database, sorted there, not every resolved handoff's two times (a couple of
    thousand datetimes parsed was most of the overview's own time when it computed its figures)."""
    qs = Handoff.objects.filter(organization=org)
    resolved = Q(status="resolved", resolved_at__isnull=False)
    counts = qs.aggregate(open=Count("pk", filter=Q(status="open")), resolved=Count("pk", filter=resolved))
    median = None
    if counts["resolved"]:
        span = ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())
        median = (qs.filter(resolved).annotate(span=span).order_by("span", "pk")
                  .values_list("span", flat=True)[(counts["resolved"] - 1) // 2])
    return HandoffFigures(counts["open"], median)


AGING_BUCKETS = ("current", "1–30", "31–60", "61–90", "over 90")


def aging(org: Organization, now: datetime) -> list[dict]:
    """Outstanding invoices by days past due: count and balance per bucket."""
    return invoice_figures(org, now)["aging"]


def invoice_figures(org: Organization, now: datetime) -> dict:
    """Everything the overview reads from invoices: the outstanding balance, the aging buckets, the share of
    late invoices closed without a person, the funnel and what was collected. Read from the invoices'
    tallies (models.InvoiceTally, kept by the database as invoices, handoffs and promises change): the
    invoices counted and their balances and payments summed per (status, due date, texted, called, handed,
    promised), some thousands of rows whatever the number of invoices, summed by aging bucket in the query
    (a few dozen rows, TALLIES); the figures are summed from those here."""
    d = today(org, now)
    edges = [d - timedelta(days=days) for days in (0, 30, 60, 90)]  # a bucket holds due dates from its edge on
    with connection.cursor() as cursor:
        cursor.execute(TALLIES, [*edges, org.pk])
        rows = cursor.fetchall()
    outstanding, collected, late, late_closed, written = ZERO, ZERO, 0, 0, 0
    aging_n, aging_s = [0] * len(AGING_BUCKETS), [ZERO] * len(AGING_BUCKETS)
    funnel = dict.fromkeys(("texted", "texted_paid", "called", "called_promised", "called_promised_paid"), 0)
    tags = 0
    for status, bucket, texted, called, handed, promised, n, balance, paid_in, written_here, tags_here in rows:
        # PostgreSQL sums bigints as numeric: counted invoices are whole numbers (a page's plural needs an int)
        n, balance, paid = int(n or 0), _money(balance), status == "paid"
        collected += _money(paid_in)
        written += written_here
        tags += tags_here
        if status in OUTSTANDING:
            outstanding += balance
            aging_n[bucket] += n
            aging_s[bucket] += balance
        if bucket > 0:  # due before today
            late += n
            late_closed += n if status in CLOSED and not handed else 0
        if texted:
            funnel["texted"] += n
            funnel["texted_paid"] += n if paid else 0
        if called:
            funnel["called"] += n
            if promised:
                funnel["called_promised"] += n
                funnel["called_promised_paid"] += n if paid else 0
    if written > PILED_UP * tags + FEW:
        compact_tallies(org)
    return {
        "outstanding": outstanding,
        "collected": collected,
        "self_resolved": Share(late_closed, late),
        "aging": [{"bucket": name, "count": aging_n[i], "balance": aging_s[i]}
                  for i, name in enumerate(AGING_BUCKETS)],
        "funnel": {
            "text": [("Texted", funnel["texted"]), ("Paid", funnel["texted_paid"])],
            "call": [("Called", funnel["called"]), ("Promised", funnel["called_promised"]),
                     ("Paid", funnel["called_promised_paid"])],
        },
    }


# The tallies per (status, aging bucket, texted, called, handed, promised), with the rows written for them and
# the tags (with a due date) those rows add up to: each tags' rows are summed first, then by bucket.
TALLIES = """
    SELECT status, CASE WHEN due_date >= %s THEN 0 WHEN due_date >= %s THEN 1 WHEN due_date >= %s THEN 2
                        WHEN due_date >= %s THEN 3 ELSE 4 END,
           texted, called, handed, promised, sum(n), sum(balance), sum(paid), sum(written), count(*)
    FROM (SELECT status, due_date, texted, called, handed, promised, sum(n) AS n, sum(balance) AS balance,
                 sum(paid) AS paid, count(*) AS written
          FROM records_invoicetally WHERE organization_id = %s
          GROUP BY status, due_date, texted, called, handed, promised) AS dated
    GROUP BY 1, 2, 3, 4, 5, 6"""
# Past PILED_UP rows per tags (and FEW more), the overview folds an organization's tallies together: a row
# or two per change in between, once per so many changes.
PILED_UP, FEW = 2, 1_000


def _money(value) -> Decimal:
    """A sum as PostgreSQL (numeric) or SQLite (a float) gives it, in cents."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def compact_tallies(org: Organization) -> None:
    """An organization's tally rows folded into one per tags (none where all is zero). On PostgreSQL one
    statement deletes the rows and inserts their sums, so a row a concurrent change adds meanwhile is either
    among those summed or left as it is; SQLite has one writer at a time."""
    tags = "organization_id, status, due_date, texted, called, handed, promised"
    sums = "sum(n), sum(balance), sum(paid)"
    kept = "HAVING sum(n) <> 0 OR sum(balance) <> 0 OR sum(paid) <> 0"
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH gone AS (DELETE FROM records_invoicetally WHERE organization_id = %s "
                           f"RETURNING {COLUMNS}) INSERT INTO records_invoicetally ({COLUMNS}) "
                           f"SELECT {tags}, {sums} FROM gone GROUP BY {tags} {kept}", [org.pk])
            return
        cursor.execute("SELECT max(id) FROM records_invoicetally WHERE organization_id = %s", [org.pk])
        last = cursor.fetchone()[0] or 0
        cursor.execute(f"INSERT INTO records_invoicetally ({COLUMNS}) SELECT {tags}, {sums} "
                       f"FROM records_invoicetally WHERE organization_id = %s AND id <= %s GROUP BY {tags} {kept}",
                       [org.pk, last])
        cursor.execute("DELETE FROM records_invoicetally WHERE organization_id = %s AND id <= %s", [org.pk, last])


def funnel(org: Organization, now: datetime) -> dict[str, list[tuple[str, int]]]:
    """Per step: invoices texted -> paid, and called -> promised -> paid.

    Texted: the invoice has had an sms.sent event; called: a call.placed event; promised: a promise. Read
    from the invoices' tallies (tagged by first_texted_at, first_called_at: the earliest such event's time,
    set with it), not from the timeline.
    """
    return invoice_figures(org, now)["funnel"]
