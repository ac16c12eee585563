"""CSV exports: what a billing office opens in its spreadsheet, streamed, in its own zone, and never a formula."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from duedesk.engine import actions
from duedesk.records.models import Message

pytestmark = pytest.mark.django_db


def rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response.streaming  # streamed row by row, not built in memory
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads accents as UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_inbox_export_follows_the_filter_in_the_offices_zone(login, staff, case, make_contact, make_invoice,
                                                                 clock):
    other = make_contact(first_name="Tom", last_name="Becker")
    actions.open_handoff(other, "dispute", clock() + timedelta(hours=1),
                         invoice=make_invoice(contact=other, amount="80.00", due=date(2026, 12, 3)),
                         summary="Says insurance should pay")
    client = login(staff)

    everything = rows(client.get("/inbox/export.csv"))
    assert everything[0][:3] == ["opened (America/New_York)", "reason", "status"]
    assert [r[3] for r in everything[1:]] == ["Tom Becker", "Ana Reyes"]  # newest first, as on the page

    disputes = rows(client.get("/inbox/export.csv?filter=dispute"))
    assert len(disputes) == 2 and disputes[1][1] == "Dispute" and disputes[1][7] == "Says insurance should pay"
    opened = case["handoff"].created_at
    ana = everything[2]
    assert ana[0] == opened.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M")
    assert ana[1] == "Hardship" and ana[2] == "Open"


def test_cells_that_a_spreadsheet_would_run_are_defused(login, staff, org, make_contact, make_invoice, clock):
    evil = make_contact(first_name="=HYPERLINK(\"http://x\")", last_name="@SUM(A1)", email="")
    make_invoice(contact=evil, amount="10.00", due=date(2026, 12, 10))
    client = login(staff)
    table = rows(client.get("/contacts/export.csv"))
    header, (row,) = table[0], table[1:]
    assert header[:3] == ["first name", "last name", "phone"]
    assert row[0] == "'=HYPERLINK(\"http://x\")" and row[1] == "'@SUM(A1)"
    assert row[2] == "'" + evil.phone  # E.164 starts with +: kept as text, not read as a formula
    assert row[7] == "10.00"  # what they owe, a plain number


def test_the_contacts_export_follows_the_search(login, staff, case, make_contact):
    make_contact(first_name="Grace", last_name="Kim")
    client = login(staff)
    assert [r[:2] for r in rows(client.get("/contacts/export.csv?q=reyes"))[1:]] == [["Ana", "Reyes"]]
    assert client.get("/contacts/export.csv?q=%00").status_code == 400


def test_promises_and_payments_exports(login, staff, case, clock):
    invoice = case["invoice"]
    actions.record_promise(invoice, date(2026, 12, 18), clock())
    actions.record_payment(invoice, Decimal("120.50"), clock() + timedelta(hours=2), actor="staff:staff-test")
    client = login(staff)

    (header, promise) = rows(client.get("/promises/export.csv"))
    assert header[:4] == ["promised for", "amount", "currency", "status"]
    assert promise[0] == "2026-12-18" and promise[2] == "USD" and promise[4] == "Ana Reyes"

    (header, payment) = rows(client.get("/payments/export.csv"))
    assert header[0] == "paid (America/New_York)"
    assert payment[1] == "Payment recorded" and payment[2] == "120.50" and payment[3] == "USD"
    assert payment[4] == "179.50" and payment[7] == invoice.external_ref and payment[8] == "staff-test"


def test_the_attempts_export_is_the_auditors_record_for_owners(login, owner, staff, case, clock):
    Message.objects.create(organization=case["contact"].organization, contact=case["contact"],
                           invoice=case["invoice"], channel="sms", direction="out", to=case["contact"].phone,
                           body="Hi, this is Maple Clinic.", status="sent", consent_basis="provided_number",
                           content_sha256="ab" * 32, created_at=clock())
    assert login(staff).get("/audit/export.csv").status_code == 403
    (header, attempt) = rows(login(owner).get("/audit/export.csv"))
    assert header[2] == "at (America/New_York)" and attempt[1] == "sms"
    assert attempt[8] == "provided_number" and attempt[9] == "ab" * 32


def test_an_export_is_the_same_english_file_whatever_the_pages_language(login, staff, case, clock):
    """Column names and words (reason, status, outcome) stay English for a Spanish-speaking staff member: the
    office's spreadsheets, the people it sends files to and the importer read one file, not one per language."""
    from duedesk.inbox import actions as inbox_actions
    from duedesk.records.models import Membership

    inbox_actions.resolve(case["handoff"], "disputed", clock(), actor="staff:dana")
    client = login(staff)
    files = {url: rows(client.get(url)) for url in ("/inbox/export.csv?status=all", "/contacts/export.csv",
                                                   "/promises/export.csv", "/payments/export.csv")}
    Membership.objects.filter(user=staff).update(language="es")
    assert "Bandeja de entrada" in client.get("/inbox/").content.decode()  # the pages are in Spanish
    for url, english in files.items():
        assert rows(client.get(url)) == english, url
    inbox = files["/inbox/export.csv?status=all"]
    assert inbox[0][:3] == ["opened (America/New_York)", "reason", "status"]
    assert inbox[1][1:3] == ["Hardship", "Resolved"] and inbox[1][8] == "Mark disputed"
