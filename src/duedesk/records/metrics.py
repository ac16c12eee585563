"""The overview's figures. Each is one function of (org, now), so each can be tested with known rows.

Amounts are Decimals; "today" is the organization's local date.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from duedesk.records.models import Event, Handoff, Invoice, Organization, Promise

OUTSTANDING = ("open", "hardship", "in_plan", "disputed")
CLOSED = ("paid", "written_off")
ZERO = Decimal("0")
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def today(org: Organization, now: datetime) -> date:
    return now.astimezone(ZoneInfo(org.timezone)).date()


def outstanding_balance(org: Organization, now: datetime) -> Decimal:
    return invoice_figures(org, now)["outstanding"]


def collected(org: Organization, now: datetime) -> Decimal:
    """Every payment recorded since outreach began (the payment.recorded events' amounts)."""
    total = Event.objects.filter(organization=org, kind="payment.recorded", at__lte=now).aggregate(
        s=Sum(Cast(KeyTextTransform("amount", "detail"), _MONEY)))["s"]
    return Decimal(total or 0).quantize(Decimal("0.01"))


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
    qs = Handoff.objects.filter(organization=org)
    open_count = qs.filter(status="open").count()
    spans = [
        resolved - created
        for created, resolved in qs.filter(status="resolved", resolved_at__isnull=False)
        .values_list("created_at", "resolved_at")
    ]
    median = statistics.median_low(spans) if spans else None
    return HandoffFigures(open_count, median)


AGING_BUCKETS = ("current", "1–30", "31–60", "61–90", "over 90")


def aging(org: Organization, now: datetime) -> list[dict]:
    """Outstanding invoices by days past due: count and balance per bucket."""
    return invoice_figures(org, now)["aging"]


def invoice_figures(org: Organization, now: datetime) -> dict:
    """Everything the overview reads from invoices, in one pass over the organization's invoices: the
    outstanding balance, the aging buckets, the share of late invoices closed without a person and the
    funnel. Each invoice is tagged (status, aging bucket, handed to a person, texted, called, promised);
    the query counts invoices and sums balances per combination of tags (a few dozen rows, at most 480)
    and the figures are summed from those rows here."""
    d = today(org, now)
    # Sequential WHENs: the first that holds is the invoice's bucket (AGING_BUCKETS, in order).
    bucket = Case(When(due_date__gte=d, then=Value(0)), When(due_date__gte=d - timedelta(days=30), then=Value(1)),
                  When(due_date__gte=d - timedelta(days=60), then=Value(2)),
                  When(due_date__gte=d - timedelta(days=90), then=Value(3)), default=Value(4),
                  output_field=IntegerField())
    # NOT IN / IN (the handoffs' and promises' invoice ids): one hashed set each, not a probe per invoice.
    handed = Handoff.objects.filter(organization=org, invoice__isnull=False).values("invoice_id")
    promised = Promise.objects.filter(organization=org, created_at__lte=now).values("invoice_id")
    flag = {"output_field": BooleanField()}
    rows = (Invoice.objects.filter(organization=org)
            .annotate(bucket=bucket,
                      handed=ExpressionWrapper(Q(pk__in=handed), **flag),
                      # The first text and the first call (sms.sent / call.placed events) as of `now`.
                      texted=ExpressionWrapper(Q(first_texted_at__lte=now), **flag),
                      called=ExpressionWrapper(Q(first_called_at__lte=now), **flag),
                      promised=ExpressionWrapper(Q(pk__in=promised), **flag))
            .values("status", "bucket", "handed", "texted", "called", "promised")
            .annotate(n=Count("pk"), s=Sum("balance")).order_by())
    outstanding, late, late_closed = ZERO, 0, 0
    aging_n, aging_s = [0] * len(AGING_BUCKETS), [ZERO] * len(AGING_BUCKETS)
    funnel = dict.fromkeys(("texted", "texted_paid", "called", "called_promised", "called_promised_paid"), 0)
    for r in rows:
        n, balance, paid = r["n"], Decimal(r["s"] or 0), r["status"] == "paid"
        if r["status"] in OUTSTANDING:
            outstanding += balance
            aging_n[r["bucket"]] += n
            aging_s[r["bucket"]] += balance
        if r["bucket"] > 0:  # due before today
            late += n
            late_closed += n if r["status"] in CLOSED and not r["handed"] else 0
        if r["texted"]:
            funnel["texted"] += n
            funnel["texted_paid"] += n if paid else 0
        if r["called"]:
            funnel["called"] += n
            if r["promised"]:
                funnel["called_promised"] += n
                funnel["called_promised_paid"] += n if paid else 0
    return {
        "outstanding": outstanding,
        "self_resolved": Share(late_closed, late),
        "aging": [{"bucket": name, "count": aging_n[i], "balance": aging_s[i]}
                  for i, name in enumerate(AGING_BUCKETS)],
        "funnel": {
            "text": [("Texted", funnel["texted"]), ("Paid", funnel["texted_paid"])],
            "call": [("Called", funnel["called"]), ("Promised", funnel["called_promised"]),
                     ("Paid", funnel["called_promised_paid"])],
        },
    }


def funnel(org: Organization, now: datetime) -> dict[str, list[tuple[str, int]]]:
    """Per step: invoices texted -> paid, and called -> promised -> paid.

    Texted: the invoice has an sms.sent event at or before `now`; called: a call.placed event. Both are
    read from the invoice (first_texted_at, first_called_at: the earliest such event's time, set with it),
    in invoice_figures' one pass, not from the timeline.
    """
    return invoice_figures(org, now)["funnel"]
