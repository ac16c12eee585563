"""The overview's invoice figures come from tallies the database keeps as invoices, handoffs and promises
change (records.models.InvoiceTally). Whatever happens to the invoices, the figures must equal the same
figures computed from scratch from the invoices, their handoffs and promises and the payments on the
timeline."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from duedesk.engine import actions
from duedesk.engine.runner import first_contact
from duedesk.records import metrics
from duedesk.records.models import Contact, Event, Handoff, Invoice, InvoiceTally, Organization, Promise

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 7)  # clock(): 2026-12-07 15:00 UTC, a Monday morning in New York


def from_scratch(org) -> dict:
    """The figures read from every invoice, as a person would count them."""
    handed = set(Handoff.objects.filter(organization=org).values_list("invoice_id", flat=True))
    promised = set(Promise.objects.filter(organization=org).values_list("invoice_id", flat=True))
    outstanding, late, late_closed = Decimal(0), 0, 0
    aging = {name: [0, Decimal(0)] for name in metrics.AGING_BUCKETS}
    funnel = dict.fromkeys(("texted", "texted_paid", "called", "called_promised", "called_promised_paid"), 0)
    for invoice in Invoice.objects.filter(organization=org):
        days_late = (TODAY - invoice.due_date).days
        bucket = ("current" if days_late <= 0 else "1–30" if days_late <= 30 else "31–60" if days_late <= 60
                  else "61–90" if days_late <= 90 else "over 90")
        paid = invoice.status == "paid"
        if invoice.status in ("open", "hardship", "in_plan", "disputed"):
            outstanding += invoice.balance
            aging[bucket][0] += 1
            aging[bucket][1] += invoice.balance
        if days_late > 0:
            late += 1
            late_closed += invoice.status in ("paid", "written_off") and invoice.pk not in handed
        if invoice.first_texted_at:
            funnel["texted"] += 1
            funnel["texted_paid"] += paid
        if invoice.first_called_at:
            funnel["called"] += 1
            if invoice.pk in promised:
                funnel["called_promised"] += 1
                funnel["called_promised_paid"] += paid
    collected = Decimal(0)
    for event in Event.objects.filter(organization=org, kind__in=("payment.recorded", "payment.undone")):
        collected += Decimal(event.detail["amount"]) * (1 if event.kind == "payment.recorded" else -1)
    return {
        "outstanding": outstanding, "collected": collected, "self_resolved": (late_closed, late),
        "aging": [{"bucket": name, "count": n, "balance": s} for name, (n, s) in aging.items()],
        "funnel": {"text": [("Texted", funnel["texted"]), ("Paid", funnel["texted_paid"])],
                   "call": [("Called", funnel["called"]), ("Promised", funnel["called_promised"]),
                            ("Paid", funnel["called_promised_paid"])]},
    }


def figures(org, clock) -> dict:
    found = metrics.invoice_figures(org, clock())
    share = found.pop("self_resolved")
    return {**found, "self_resolved": (share.part, share.whole)}


def test_the_tallies_equal_a_count_from_scratch_through_an_offices_week(org, make_contact, make_invoice, clock):
    other = Organization.objects.create(slug="elsewhere", name="Elsewhere")
    elsewhere = Contact.objects.create(organization=other, first_name="Ola", last_name="Berg", phone="+12125550999")
    actions.create_invoice(other, elsewhere, clock(), external_ref="X-1", amount_due=Decimal("999.00"),
                           due_date=TODAY, detail={})
    invoices = [make_invoice(amount=str(100 + 10 * i), due=TODAY - timedelta(days=d))
                for i, d in enumerate((-5, 0, 3, 29, 31, 45, 61, 95, 200, 400))]
    a, b, c, d, e, f, g, h, i, j = invoices
    assert figures(org, clock) == from_scratch(org)

    first_contact([a.pk, b.pk, c.pk, d.pk, e.pk], "first_texted_at", clock())  # one UPDATE for a batch
    first_contact([c.pk, d.pk, g.pk], "first_called_at", clock())
    actions.record_promise(c, TODAY + timedelta(days=3), clock())
    actions.record_promise(c, TODAY + timedelta(days=5), clock())  # a second promise: still one invoice
    actions.record_promise(g, TODAY + timedelta(days=3), clock())
    actions.record_payment(a, Decimal("25.50"), clock())
    actions.record_payment(c, Decimal("120.00"), clock())  # paid in full
    actions.record_payment(d, Decimal("200.00"), clock())  # overpaid: credit and an "overpaid" handoff
    actions.mark_invoice_paid(e, clock())
    assert figures(org, clock) == from_scratch(org)

    undone = Event.objects.filter(invoice=c, kind="payment.recorded").latest("pk")
    actions.undo_payment(undone, clock(), actor="staff:owner", reason="check bounced")
    actions.record_refund(d, Decimal("70.00"), clock())
    handoff = actions.open_handoff(f.contact, "hardship", clock(), invoice=f)
    actions.open_handoff(f.contact, "dispute", clock(), invoice=f)  # a second handoff on the same invoice
    actions.close_handoff(handoff, "written_off", clock(), actor="staff:owner")
    actions.set_invoice_status(g, "disputed", clock())
    actions.set_invoice_status(h, "written_off", clock())
    actions.update_invoice(i, clock(), due_date=TODAY + timedelta(days=10), amount_due=Decimal("300.00"))
    actions.replace_instalments(j, [(TODAY + timedelta(days=30), Decimal("95.00")),
                                    (TODAY + timedelta(days=60), Decimal("95.00"))], clock())
    actions.set_invoice_status(j, "in_plan", clock())
    actions.record_payment(j, Decimal("95.00"), clock())
    made = actions.create_invoice(org, make_contact(), clock(), external_ref="NEW-1", amount_due=Decimal("80.00"),
                                  due_date=TODAY - timedelta(days=12), detail={"source": "staff"})
    Invoice.objects.filter(pk__in=[b.pk, made.pk]).update(status="hardship")  # several rows in one statement
    assert figures(org, clock) == from_scratch(org)

    Promise.objects.filter(invoice=g).delete()  # the last promise leaves: no longer promised
    Handoff.objects.filter(invoice=d).update(invoice=e)  # a handoff moved to another invoice
    Contact.objects.filter(pk=a.contact_id).delete()  # a patient erased, with the invoice
    assert figures(org, clock) == from_scratch(org)
    assert metrics.invoice_figures(other, clock())["outstanding"] == Decimal("999.00")


def test_folding_the_tallies_keeps_the_figures(org, make_invoice, clock):
    invoices = [make_invoice(amount="50.00", due=TODAY - timedelta(days=n)) for n in range(3)]
    for _ in range(3):
        for invoice in invoices:
            actions.record_payment(invoice, Decimal("5.00"), clock())
    rows = InvoiceTally.objects.filter(organization=org).count()
    metrics.compact_tallies(org)
    assert InvoiceTally.objects.filter(organization=org).count() == 3 < rows  # one per due date left
    assert figures(org, clock) == from_scratch(org)
    for invoice in invoices:
        actions.mark_invoice_paid(invoice, clock())
    assert figures(org, clock) == from_scratch(org)


def test_the_overview_folds_its_tallies_when_they_pile_up(org, make_invoice, clock, monkeypatch):
    monkeypatch.setattr(metrics, "FEW", 0)  # rows beyond twice the tags, however few
    invoice = make_invoice(amount="500.00")
    for _ in range(5):
        actions.record_payment(invoice, Decimal("1.00"), clock())
    assert InvoiceTally.objects.filter(organization=org).count() > 2 * 1  # a row or two per payment, one tags
    assert figures(org, clock) == from_scratch(org)
    assert InvoiceTally.objects.filter(organization=org).count() == 1
    assert figures(org, clock)["collected"] == Decimal("5.00")


def test_the_overview_shows_what_was_collected_less_a_bounced_check(login, staff, org, make_invoice, clock):
    invoice = make_invoice(amount="300.00")
    actions.record_payment(invoice, Decimal("120.00"), clock())
    actions.record_payment(invoice, Decimal("80.00"), clock())
    client = login(staff)
    assert "$200.00" in client.get("/").content.decode()
    bounced = Event.objects.filter(invoice=invoice, kind="payment.recorded").latest("pk")
    actions.undo_payment(bounced, clock(), actor="staff:owner", reason="check bounced")
    page = client.get("/").content.decode()
    assert "$120.00" in page and "$200.00" not in page


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_handoff_on_an_invoice_does_not_wait_for_rows_that_merely_point_at_it(make_invoice, clock):
    """The handoffs' trigger locks the invoice as an update of it does (FOR NO KEY UPDATE): a transaction that
    has just written a row pointing at the invoice (an event, a promise: a key-share lock) is not waited for."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    import psycopg

    invoice = make_invoice()
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        other.execute("SELECT id FROM records_invoice WHERE id = %s FOR KEY SHARE", [invoice.pk])  # held open
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")
        try:
            actions.open_handoff(invoice.contact, "hardship", clock(), invoice=invoice)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")
        other.rollback()
    assert figures(invoice.organization, clock) == from_scratch(invoice.organization)
    assert figures(invoice.organization, clock)["self_resolved"] == (0, 0)
