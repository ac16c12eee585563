"""Each overview figure with known rows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from duedesk.engine import actions
from duedesk.engine.runner import first_contact
from duedesk.records import metrics
from duedesk.records.models import Event, Invoice, Promise
from duedesk.records.timeline import log

pytestmark = pytest.mark.django_db

# clock(): 2026-12-07 15:00 UTC, so "today" in New York is 2026-12-07.


def test_outstanding_balance_counts_open_work_only(org, make_invoice, clock):
    make_invoice(amount="100.00")
    make_invoice(amount="50.50", status="in_plan")
    make_invoice(amount="70.00", status="paid")
    make_invoice(amount="30.00", status="written_off")
    assert metrics.outstanding_balance(org, clock()) == Decimal("150.50")


def test_collected_sums_payment_events(org, make_invoice, clock):
    invoice = make_invoice(amount="200.00")
    actions.record_payment(invoice, Decimal("20.25"), clock())
    actions.record_payment(invoice, Decimal("79.75"), clock())
    other = make_invoice(amount="10.00")
    actions.mark_invoice_paid(other, clock())
    assert metrics.collected(org, clock()) == Decimal("110.00")
    bounced = Event.objects.filter(invoice=invoice, kind="payment.recorded").latest("pk")
    actions.undo_payment(bounced, clock(), actor="staff:owner", reason="check bounced")
    assert metrics.collected(org, clock()) == Decimal("30.25")  # a payment undone was never collected


def test_resolved_without_staff(org, make_invoice, clock):
    late = date(2026, 11, 1)
    make_invoice(due=late, status="paid")  # paid, no handoff: counts
    with_handoff = make_invoice(due=late, status="paid")
    actions.open_handoff(with_handoff.contact, "verify_payment", clock(), invoice=with_handoff)
    make_invoice(due=late)  # still open
    make_invoice(due=date(2026, 12, 20), status="paid")  # never late: not counted
    share = metrics.resolved_without_staff(org, clock())
    assert (share.part, share.whole, share.percent) == (1, 3, 33)


def test_promises(org, make_invoice, clock):
    for status in ("kept", "kept", "broken", "pending"):
        invoice = make_invoice()
        Promise.objects.create(organization=org, contact=invoice.contact, invoice=invoice,
                               promised_date=date(2026, 12, 9), status=status, created_at=clock())
    assert metrics.promises(org, clock()) == {"made": 4, "kept": 2, "broken": 1, "pending": 1}


def test_handoffs_open_and_median_time_to_resolve(org, make_contact, clock):
    for hours in (2, 4, 30):
        handoff = actions.open_handoff(make_contact(), "dispute", clock())
        handoff.status = "resolved"
        handoff.resolved_at = clock() + timedelta(hours=hours)
        handoff.save()
    actions.open_handoff(make_contact(), "hardship", clock())
    figures = metrics.handoffs(org, clock())
    assert figures.open == 1 and figures.median_to_resolve == timedelta(hours=4)


def test_the_median_time_to_resolve_is_the_lower_middle_read_as_one_span(org, make_contact, clock):
    """Of an even number the lower of the two middle spans (as before); the overview reads that one span, not
    every resolved handoff's times."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert metrics.handoffs(org, clock()).median_to_resolve is None
    for minutes in (50 * 60, 2 * 60, 30 * 60, 4 * 60 + 15):
        handoff = actions.open_handoff(make_contact(), "dispute", clock())
        handoff.status, handoff.resolved_at = "resolved", clock() + timedelta(minutes=minutes)
        handoff.save()
    with CaptureQueriesContext(connection) as queries:
        figures = metrics.handoffs(org, clock())
    assert figures.open == 0 and figures.median_to_resolve == timedelta(hours=4, minutes=15)
    assert len(queries.captured_queries) == 2 and "LIMIT 1 OFFSET 1" in queries.captured_queries[-1]["sql"]


def test_aging_buckets(org, make_invoice, clock):
    today = date(2026, 12, 7)
    for days, amount in ((-3, "10"), (0, "5"), (1, "20"), (30, "21"), (31, "30"), (60, "31"), (61, "40"),
                         (90, "41"), (91, "50"), (400, "51")):
        make_invoice(due=today - timedelta(days=days), amount=amount)
    make_invoice(due=today - timedelta(days=10), amount="999", status="paid")
    rows = {r["bucket"]: (r["count"], r["balance"]) for r in metrics.aging(org, clock())}
    assert rows == {
        "current": (2, Decimal("15")), "1–30": (2, Decimal("41")), "31–60": (2, Decimal("61")),
        "61–90": (2, Decimal("81")), "over 90": (2, Decimal("101")),
    }


def _sent(kind, invoice, at):
    """What the engine writes when a text goes out or a call is placed: the event, and the invoice's first
    text / first call (tests/engine/test_first_contacted.py checks the engine's own paths)."""
    log(invoice.organization, kind, at, contact=invoice.contact, invoice=invoice)
    first_contact([invoice.pk], {"sms.sent": "first_texted_at", "call.placed": "first_called_at"}[kind], at)


def test_funnel(org, make_invoice, clock):
    texted_paid = make_invoice(status="paid")
    texted = make_invoice()
    called_promised_paid = make_invoice(status="paid")
    called = make_invoice()
    for invoice in (texted_paid, texted):
        _sent("sms.sent", invoice, clock())
    for invoice in (called_promised_paid, called):
        _sent("call.placed", invoice, clock())
    Promise.objects.create(organization=org, contact=called_promised_paid.contact, invoice=called_promised_paid,
                           promised_date=date(2026, 12, 9), status="kept", created_at=clock())
    assert metrics.funnel(org, clock()) == {
        "text": [("Texted", 2), ("Paid", 1)],
        "call": [("Called", 2), ("Promised", 1), ("Paid", 1)],
    }


def test_funnel_counts_an_invoice_from_its_first_text_and_call(org, make_invoice, clock):
    """The funnel reads Invoice.first_texted_at / first_called_at (through the invoices' tallies), not the
    timeline, however the invoice was written: here a queryset update, as the engine's batches write them."""
    early, late = make_invoice(status="paid"), make_invoice()
    Invoice.objects.filter(pk=early.pk).update(first_texted_at=clock() - timedelta(days=3),
                                               first_called_at=clock() - timedelta(days=1))
    Promise.objects.create(organization=org, contact=early.contact, invoice=early,
                           promised_date=date(2026, 12, 9), status="kept", created_at=clock() - timedelta(hours=2))
    assert metrics.funnel(org, clock()) == {
        "text": [("Texted", 1), ("Paid", 1)],
        "call": [("Called", 1), ("Promised", 1), ("Paid", 1)],
    }
    Invoice.objects.filter(pk=late.pk).update(first_texted_at=clock())
    assert metrics.funnel(org, clock())["text"] == [("Texted", 2), ("Paid", 1)]


def test_first_contact_keeps_the_earliest_time(org, make_invoice, clock):
    invoice = make_invoice()
    _sent("sms.sent", invoice, clock())
    _sent("sms.sent", invoice, clock() + timedelta(days=2))  # a later text leaves it
    invoice.refresh_from_db()
    assert invoice.first_texted_at == clock() and invoice.first_called_at is None
    _sent("sms.sent", invoice, clock() - timedelta(hours=1))  # settled late with an earlier time: moved back
    invoice.refresh_from_db()
    assert invoice.first_texted_at == clock() - timedelta(hours=1)


def test_figures_are_scoped_to_the_organization(org, make_invoice, clock):
    from duedesk.records.models import Organization

    _sent("sms.sent", make_invoice(amount="100.00"), clock())
    other = Organization.objects.create(slug="elsewhere", name="Elsewhere")
    assert metrics.outstanding_balance(other, clock()) == 0
    assert metrics.aging(other, clock())[0]["count"] == 0
    assert metrics.funnel(other, clock())["text"] == [("Texted", 0), ("Paid", 0)]
