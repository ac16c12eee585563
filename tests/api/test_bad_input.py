"""Bad input to the JSON API gets a 4xx in the API's error format naming the field, and writes nothing;
money adds up (overpayments kept as credit for a person, no payment on a closed invoice)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from duedesk.api import auth
from duedesk.api.models import ApiPayment
from duedesk.engine.models import Step
from duedesk.records.models import Event, Handoff, Invoice
from tests.api.test_rest_api import INVOICE, Api, written

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def api_clock(clock, monkeypatch):
    monkeypatch.setattr(auth, "clock", clock)


@pytest.fixture
def api(client, org, clock):
    return Api(client, auth.create_key(org, "billing system", clock()).token)


def refused(response, status: int = 422) -> dict[str, str]:
    """The {field: message} of an error answer, after checking it is one."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return {e["field"]: e["message"] for e in response.json()["errors"]}


# ----------------------------------------------------------------------------- invoices


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"due_date": "0001-01-01"}, "due_date", "'0001-01-01' is outside the years 1900-2200"),
    ({"due_date": "9999-12-31"}, "due_date", "'9999-12-31' is outside the years 1900-2200"),
    ({"amount_due": False}, "amount_due", 'false is not an amount (send a string like "120.00" or a number)'),
    ({"amount_due": True}, "amount_due", 'true is not an amount (send a string like "120.00" or a number)'),
    ({"amount_due": None}, "amount_due", 'null is not an amount (send a string like "120.00" or a number)'),
    ({"first_name": "A\x00na"}, "first_name", "contains a control character"),
    ({"last_name": "Reyes\x07"}, "last_name", "contains a control character"),
    ({"first_name": "A" * 101}, "first_name", "String should have at most 100 characters"),
    ({"email": "a" * 250 + "@example.com"}, "email", "String should have at most 254 characters"),
    ({"timezone": "Not/AZone"}, "timezone", "'Not/AZone' is not a time zone (use a name like America/New_York)"),
    ({"language": "xx"}, "language", "'xx' is not a supported language (use en or es, or a locale of them like es-MX)"),
])
def test_a_bad_invoice_field_is_named_and_nothing_is_written(api, change, field, message):
    before = written()
    errors = refused(api.put("/api/v1/invoices/A-1", {**INVOICE, **change}))
    assert errors == {field: message}
    assert written() == before


def test_a_due_date_at_the_edge_of_the_years_is_planned_in_its_year(api):
    response = api.put("/api/v1/invoices/A-2", {**INVOICE, "due_date": "2200-12-31"})
    assert response.status_code == 201
    assert response.json()["outreach"]["next_step"]["run_at"].startswith("2200-12-")


def test_false_never_marks_an_open_invoice_paid(api):
    api.put("/api/v1/invoices/A-3", INVOICE)
    before = written()
    refused(api.put("/api/v1/invoices/A-3", {**INVOICE, "amount_due": False}))
    assert written() == before
    assert Invoice.objects.get(external_ref="A-3").status == "open"


def test_a_reference_with_a_control_character_or_too_long_is_refused(api):
    before = written()
    assert refused(api.get("/api/v1/invoices/A%00B")) == {
        "external_ref": "is empty or contains a control character or a slash"}
    assert set(refused(api.put("/api/v1/invoices/" + "R" * 101, INVOICE))) == {"external_ref"}
    assert written() == before


# ----------------------------------------------------------------------------- payments


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"amount": True}, "amount", 'true is not an amount (send a string like "120.00" or a number)'),
    ({"amount": False}, "amount", 'false is not an amount (send a string like "120.00" or a number)'),
    ({"amount": "10", "paid_at": "0001-01-01"}, "paid_at", "'0001-01-01' is outside the years 1900-2200"),
    ({"amount": "10", "paid_at": "0001-01-01T00:00:00+14:00"}, "paid_at",
     "'0001-01-01T00:00:00+14:00' is outside the years 1900-2200"),
    ({"amount": "10", "reference": "PAY\x00-1"}, "reference", "contains a control character"),
])
def test_a_bad_payment_is_named_and_nothing_is_written(api, make_invoice, body, field, message):
    invoice = make_invoice()
    before = written()
    assert refused(api.post(f"/api/v1/invoices/{invoice.external_ref}/payments", body)) == {field: message}
    assert written() == before


def test_an_overpayment_is_kept_as_credit_and_handed_to_staff(api, make_invoice):
    invoice = make_invoice(amount="100.00")
    response = api.post(f"/api/v1/invoices/{invoice.external_ref}/payments", {"amount": "500.00"})
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["credit"]) == ("500.00", "400.00")
    assert (body["invoice"]["status"], body["invoice"]["balance"], body["invoice"]["credit"]) == (
        "paid", "0.00", "400.00")
    assert body["invoice"]["open_handoffs"] == 1
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance, invoice.credit) == ("paid", Decimal("0"), Decimal("400.00"))
    event = Event.objects.get(invoice=invoice, kind="payment.recorded")
    assert event.detail["credit"] == "400.00" and event.detail["amount"] == "500.00"
    handoff = Handoff.objects.get(invoice=invoice, status="open")
    assert handoff.reason == "overpaid" and handoff.reason_label() == "Overpaid"
    assert handoff.summary == "Paid $500.00 with $100.00 owed: $400.00 to refund or apply"
    assert not Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()


@pytest.mark.parametrize("status", ["paid", "written_off"])
def test_a_payment_on_a_closed_invoice_is_refused_with_409(api, make_invoice, status):
    invoice = make_invoice(amount="100.00", status=status)
    before = written()
    errors = refused(api.post(f"/api/v1/invoices/{invoice.external_ref}/payments", {"amount": "5.00"}), 409)
    label = {"paid": "paid", "written_off": "written off"}[status]
    assert errors == {"external_ref": f"invoice {invoice.external_ref} is {label}: no payment can be recorded on it"}
    assert written() == before


def test_the_same_reference_after_the_invoice_is_paid_gets_the_original_answer(api, make_invoice):
    invoice = make_invoice(amount="100.00")
    url = f"/api/v1/invoices/{invoice.external_ref}/payments"
    first = api.post(url, {"amount": "100.00", "reference": "PAY-9"})
    assert first.status_code == 201 and first.json()["invoice"]["status"] == "paid"
    before = written()
    again = api.post(url, {"amount": "100.00", "reference": "PAY-9"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["recorded_at"] == first.json()["recorded_at"]
    assert written() == before
    other = api.post(url, {"amount": "100.00", "reference": "PAY-10"})
    assert other.status_code == 409 and ApiPayment.objects.count() == 1


# ----------------------------------------------------------------------------- handoffs, contacts


@pytest.mark.parametrize(("params", "field"), [
    ({"offset": "9223372036854775808"}, "offset"),
    ({"offset": "10000001"}, "offset"),
    ({"offset": "-1"}, "offset"),
    ({"limit": "0"}, "limit"),
    ({"limit": "501"}, "limit"),
    ({"status": "closed"}, "status"),
])
def test_out_of_range_offsets_and_limits_are_named(api, params, field):
    assert set(refused(api.get("/api/v1/handoffs", **params))) == {field}


def test_a_contact_id_beyond_64_bits_is_refused_not_a_500(api):
    errors = refused(api.post("/api/v1/contacts/9223372036854775808/opt-out", {"channels": ["sms"]}))
    assert set(errors) == {"contact_id"}


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"note": "a\x00b"}, "fields.note", "contains a control character (U+0000)"),
    ({"nested": {"deep": ["ok", "x\x00"]}}, "fields.nested.deep.1", "contains a control character (U+0000)"),
    ({"na\x00me": "x"}, "fields", "a name contains a control character (U+0000)"),
    ({"invoice_due_date": "0001-01-01", "balance": "10"}, "fields.invoice_due_date",
     "'0001-01-01' is outside the years 1900-2200"),
])
def test_crm_fields_with_control_characters_or_bad_dates_are_refused(api, make_contact, fields, field, message):
    contact = make_contact()
    before = written()
    assert refused(api.post(f"/api/v1/contacts/{contact.pk}/fields", {"fields": fields})) == {field: message}
    assert written() == before


def test_an_unknown_query_parameter_is_named_not_ignored(client, org, clock, monkeypatch):
    monkeypatch.setattr(auth, "clock", clock)
    api = Api(client, auth.create_key(org, "billing system", clock()).token)
    response = api.get("/api/v1/handoffs", statuss="all")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "statuss"
    assert api.get("/api/v1/handoffs", status="all", limit="5").status_code == 200
