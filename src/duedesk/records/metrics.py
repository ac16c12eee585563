"""The overview's figures. Each is one function of (org, now), so each can be tested with known rows.

Amounts are Decimals; "today" is the organization's local date.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from duedesk.records.models import Event, Handoff, Invoice, Organization, Promise

OUTSTANDING = ("open", "hardship", "in_plan", "disputed")
CLOSED = ("paid", "written_off")
ZERO = Decimal("0")
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def today(org: Organization, now: datetime) -> date:
    return now.astimezone(ZoneInfo(org.timezone)).date()


def outstanding_balance(org: Organization, now: datetime) -> Decimal:
    total = Invoice.objects.filter(organization=org, status__in=OUTSTANDING).aggregate(
        s=Coalesce(Sum("balance"), Value(ZERO), output_field=_MONEY))["s"]
    return Decimal(total)


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
    late = Invoice.objects.filter(organization=org, due_date__lt=today(org, now))
    counts = late.aggregate(
        whole=Count("pk"),
        part=Count("pk", filter=Q(status__in=CLOSED) & ~Q(Exists(Handoff.objects.filter(invoice=OuterRef("pk"))))),
    )
    return Share(counts["part"], counts["whole"])


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
    """Outstanding invoices by days past due: count and balance per bucket, in one query."""
    d = today(org, now)
    edges = {
        "current": Q(due_date__gte=d),
        "1–30": Q(due_date__lt=d, due_date__gte=d - timedelta(days=30)),
        "31–60": Q(due_date__lt=d - timedelta(days=30), due_date__gte=d - timedelta(days=60)),
        "61–90": Q(due_date__lt=d - timedelta(days=60), due_date__gte=d - timedelta(days=90)),
        "over 90": Q(due_date__lt=d - timedelta(days=90)),
    }
    aggregates = {}
    for i, q in enumerate(edges.values()):
        aggregates[f"n{i}"] = Count("pk", filter=q)
        aggregates[f"s{i}"] = Coalesce(Sum("balance", filter=q), Value(ZERO), output_field=_MONEY)
    row = Invoice.objects.filter(organization=org, status__in=OUTSTANDING).aggregate(**aggregates)
    return [
        {"bucket": name, "count": row[f"n{i}"], "balance": Decimal(row[f"s{i}"])}
        for i, name in enumerate(edges)
    ]


def funnel(org: Organization, now: datetime) -> dict[str, list[tuple[str, int]]]:
    """Per step: invoices texted -> paid, and called -> promised -> paid."""
    # IN (subquery) rather than a correlated EXISTS per invoice: the database hashes each set once.
    def touched(kind: str):
        return Event.objects.filter(organization=org, kind=kind, at__lte=now, invoice__isnull=False) \
            .values("invoice_id")

    texted = Q(pk__in=touched("sms.sent"))
    called = Q(pk__in=touched("call.placed"))
    promised = Q(pk__in=Promise.objects.filter(organization=org, created_at__lte=now).values("invoice_id"))
    paid = Q(status="paid")
    counts = Invoice.objects.filter(organization=org).aggregate(
        texted=Count("pk", filter=texted),
        texted_paid=Count("pk", filter=texted & paid),
        called=Count("pk", filter=called),
        called_promised=Count("pk", filter=called & promised),
        called_promised_paid=Count("pk", filter=called & promised & paid),
    )
    return {
        "text": [("Texted", counts["texted"]), ("Paid", counts["texted_paid"])],
        "call": [("Called", counts["called"]), ("Promised", counts["called_promised"]),
                 ("Paid", counts["called_promised_paid"])],
    }
