"""The overview's figures. Each is one function of (org, now), so each can be tested with known rows.

Amounts are Decimals; "today" is the organization's local date.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import BooleanField, Count, DecimalField, ExpressionWrapper, Q, Sum, Value
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
    outstanding balance, the aging buckets and the share of late invoices closed without a person."""
    d = today(org, now)
    edges = {
        "current": Q(due_date__gte=d),
        "1–30": Q(due_date__lt=d, due_date__gte=d - timedelta(days=30)),
        "31–60": Q(due_date__lt=d - timedelta(days=30), due_date__gte=d - timedelta(days=60)),
        "61–90": Q(due_date__lt=d - timedelta(days=60), due_date__gte=d - timedelta(days=90)),
        "over 90": Q(due_date__lt=d - timedelta(days=90)),
    }
    outstanding = Q(status__in=OUTSTANDING)
    late = Q(due_date__lt=d)
    # NOT IN (the handoffs' invoice ids): one hashed set, not a probe per invoice.
    handed = Handoff.objects.filter(organization=org, invoice__isnull=False).values("invoice_id")
    aggregates = {
        "outstanding": Coalesce(Sum("balance", filter=outstanding), Value(ZERO), output_field=_MONEY),
        "late": Count("pk", filter=late),
        "late_closed": Count("pk", filter=late & Q(status__in=CLOSED) & ~Q(pk__in=handed)),
    }
    for i, q in enumerate(edges.values()):
        aggregates[f"n{i}"] = Count("pk", filter=outstanding & q)
        aggregates[f"s{i}"] = Coalesce(Sum("balance", filter=outstanding & q), Value(ZERO), output_field=_MONEY)
    row = Invoice.objects.filter(organization=org).aggregate(**aggregates)
    return {
        "outstanding": Decimal(row["outstanding"]),
        "self_resolved": Share(row["late_closed"], row["late"]),
        "aging": [{"bucket": name, "count": row[f"n{i}"], "balance": Decimal(row[f"s{i}"])}
                  for i, name in enumerate(edges)],
    }


def funnel(org: Organization, now: datetime) -> dict[str, list[tuple[str, int]]]:
    """Per step: invoices texted -> paid, and called -> promised -> paid.

    One query: each invoice is tagged texted / called / promised (each an IN over one hashed set of
    invoice ids, read from the (organization, kind, invoice, at) index alone), then counted per
    combination of tags and status; at most 48 rows come back and are summed here.
    """
    def touched(kind: str):
        return Event.objects.filter(organization=org, kind=kind, invoice__isnull=False, at__lte=now) \
            .values("invoice_id")

    flag = {"output_field": BooleanField()}
    rows = (Invoice.objects.filter(organization=org)
            .annotate(texted=ExpressionWrapper(Q(pk__in=touched("sms.sent")), **flag),
                      called=ExpressionWrapper(Q(pk__in=touched("call.placed")), **flag),
                      promised=ExpressionWrapper(Q(pk__in=Promise.objects.filter(
                          organization=org, created_at__lte=now).values("invoice_id")), **flag))
            .values("status", "texted", "called", "promised").annotate(n=Count("pk")).order_by())
    counts = dict.fromkeys(("texted", "texted_paid", "called", "called_promised", "called_promised_paid"), 0)
    for r in rows:
        paid = r["status"] == "paid"
        if r["texted"]:
            counts["texted"] += r["n"]
            counts["texted_paid"] += r["n"] if paid else 0
        if r["called"]:
            counts["called"] += r["n"]
            if r["promised"]:
                counts["called_promised"] += r["n"]
                counts["called_promised_paid"] += r["n"] if paid else 0
    return {
        "text": [("Texted", counts["texted"]), ("Paid", counts["texted_paid"])],
        "call": [("Called", counts["called"]), ("Promised", counts["called_promised"]),
                 ("Paid", counts["called_promised_paid"])],
    }
