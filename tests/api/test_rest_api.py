"""The JSON API at /api/v1/ through Django's test client: keys, each endpoint's rows and events, errors that
name the field and write nothing, tenants that never see each other, payment idempotency."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from duedesk.api import auth
from duedesk.api.models import ApiKey, ApiPayment
from duedesk.engine import actions, definitions
from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Contact, Event, Handoff, Invoice, Line, Organization

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def api_clock(clock, monkeypatch):
    monkeypatch.setattr(auth, "clock", clock)
    return clock


@pytest.fixture
def key(org, clock):
    return auth.create_key(org, "billing system", clock())


@pytest.fixture
def other_org(db):
    other = Organization.objects.create(slug="other-clinic", name="Other Clinic", timezone="America/Chicago")
    definitions.ensure_default(other)
    return other


@pytest.fixture
def other_key(other_org, clock):
    return auth.create_key(other_org, "their CRM", clock())


class Api:
    """The test client with an API key's Authorization header and JSON bodies."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        base = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**base, **(headers or {})}

    def get(self, path, headers=None, **params):
        return self.client.get(path, params, headers=self._headers(headers))

    def put(self, path, body, headers=None):
        return self.client.put(path, body, content_type="application/json", headers=self._headers(headers))

    def post(self, path, body, headers=None):
        return self.client.post(path, body, content_type="application/json", headers=self._headers(headers))


@pytest.fixture
def api(client, key):
    return Api(client, key.token)


@pytest.fixture
def outsider(client, other_key):
    return Api(client, other_key.token)


def written():
    """Everything an API call could write, to prove a refused one wrote nothing."""
    return (
        Event.objects.count(),
        list(Invoice.objects.order_by("pk").values_list("external_ref", "status", "balance", "amount_due",
                                                        "due_date")),
        list(Contact.objects.order_by("pk").values_list("phone", "fields", "outreach_on")),
        list(Line.objects.order_by("pk").values_list("address", "opted_out", "consent")),
        list(Enrollment.objects.order_by("pk").values_list("status", "current_step")),
        list(Step.objects.order_by("pk").values_list("status", "run_at")),
        ApiPayment.objects.count(),
    )


def fields_named(response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


INVOICE = {
    "first_name": "Ana", "last_name": "Reyes", "phone": "(212) 555-0188", "email": "ana@example.com",
    "language": "es", "date_of_birth": "1985-04-02", "amount_due": "240.00", "due_date": "2026-12-20",
}


# ----------------------------------------------------------------------------- keys


def test_key_is_shown_once_and_only_its_hash_is_kept(key):
    row = ApiKey.objects.get(pk=key.key.pk)
    prefix, secret = key.token.removeprefix("dd_").split("_", 1)
    assert row.prefix == prefix and len(prefix) == 8
    assert secret not in row.hashed_secret and row.hashed_secret == auth.hash_secret(secret)
    assert key.token not in str(ApiKey.objects.values_list().get(pk=row.pk))


@pytest.mark.parametrize("header", [
    None,
    "Bearer dd_00000000_" + "x" * 43,
    "Bearer not-a-key",
    "Token {token}",
    "Bearer {token}x",
])
def test_missing_or_bad_key_is_401(client, key, header):
    headers = {"Authorization": header.format(token=key.token)} if header else {}
    response = client.get("/api/v1/handoffs", headers=headers)
    assert response.status_code == 401
    assert fields_named(response) == {"Authorization"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401_on_every_endpoint(api, key, make_invoice, clock):
    invoice = make_invoice()
    auth.revoke_key(key.key.prefix, clock())
    before = written()
    ref, cid = invoice.external_ref, invoice.contact_id
    for response in (
        api.get(f"/api/v1/invoices/{ref}"),
        api.put(f"/api/v1/invoices/{ref}", INVOICE),
        api.post(f"/api/v1/invoices/{ref}/payments", {"amount": "10.00"}),
        api.post(f"/api/v1/contacts/{cid}/fields", {"fields": {"outreach": "off"}}),
        api.post(f"/api/v1/contacts/{cid}/opt-out", {"channels": ["all"]}),
        api.get("/api/v1/handoffs"),
    ):
        assert response.status_code == 401, response.content
        assert response.json()["errors"][0]["message"] == "the API key was revoked"
    assert written() == before


def test_last_used_is_recorded(api, key, clock):
    assert api.get("/api/v1/handoffs").status_code == 200
    assert ApiKey.objects.get(pk=key.key.pk).last_used_at == clock()


# ----------------------------------------------------------------------------- PUT /invoices/{ref}


def test_put_creates_the_invoice_and_contact_and_enrolls_it(api, org, clock):
    response = api.put("/api/v1/invoices/A-100", INVOICE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["result"] == "created"
    assert (body["status"], body["amount_due"], body["balance"], body["due_date"]) == (
        "open", "240.00", "240.00", "2026-12-20")
    invoice = Invoice.objects.get(organization=org, external_ref="A-100")
    assert invoice.contact.phone == "+12125550188" and invoice.contact.language == "es"
    assert invoice.pay_link == "https://pay.example.com/A-100"
    assert body["contact"] == {"id": invoice.contact_id, "name": "Ana Reyes", "phone": "+12125550188",
                               "email": "ana@example.com"}
    enrollment = Enrollment.objects.get(invoice=invoice)
    outreach = body["outreach"]
    assert outreach["enrollment_status"] == enrollment.status == "active"
    assert outreach["current_step"] == enrollment.current_step
    step = Step.objects.get(enrollment=enrollment, status="pending")
    assert outreach["next_step"]["step_id"] == step.step_id
    assert datetime.fromisoformat(outreach["next_step"]["run_at"].replace("Z", "+00:00")) == step.run_at
    kinds = [e["kind"] for e in body["events"]]
    assert {"invoice.created", "enrollment.started"} <= set(kinds)
    assert Event.objects.get(contact=invoice.contact, kind="contact.created").detail == {"source": "api"}
    created = Event.objects.get(invoice=invoice, kind="invoice.created")
    assert created.actor == "api:billing system" and created.detail["source"] == "api"


def test_put_again_with_a_new_due_date_replans_and_same_values_change_nothing(api, org, clock):
    api.put("/api/v1/invoices/A-101", INVOICE)
    invoice = Invoice.objects.get(organization=org, external_ref="A-101")
    first_step = Step.objects.get(enrollment__invoice=invoice, status="pending")

    before = written()
    unchanged = api.put("/api/v1/invoices/A-101", INVOICE)
    assert unchanged.status_code == 200 and unchanged.json()["result"] == "unchanged"
    assert written() == before

    moved = api.put("/api/v1/invoices/A-101", {**INVOICE, "due_date": "12/28/2026"})
    assert moved.status_code == 200 and moved.json()["result"] == "updated"
    invoice.refresh_from_db()
    assert invoice.due_date == date(2026, 12, 28)
    first_step.refresh_from_db()
    assert first_step.status == "cancelled"
    new_step = Step.objects.get(enrollment__invoice=invoice, status="pending")
    assert new_step.run_at > first_step.run_at
    assert Event.objects.filter(invoice=invoice, kind="enrollment.replanned").exists()
    assert Event.objects.get(invoice=invoice, kind="invoice.updated").detail["due_date"] == {
        "from": "2026-12-20", "to": "2026-12-28"}


def test_put_with_amount_zero_marks_paid_and_stops_outreach(api, org):
    api.put("/api/v1/invoices/A-102", INVOICE)
    response = api.put("/api/v1/invoices/A-102", {**INVOICE, "amount_due": 0})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "paid" and body["balance"] == "0.00"
    assert body["outreach"]["enrollment_status"] == "exited" and body["outreach"]["next_step"] is None
    assert not Step.objects.filter(enrollment__invoice__external_ref="A-102", status="pending").exists()


def test_put_names_every_bad_field_and_writes_nothing(api):
    before = written()
    response = api.put("/api/v1/invoices/A-103", {
        "phone": "12", "email": "not-an-email", "timezone": "Mars/Base",
        "date_of_birth": "2031-01-01", "amount_due": "-5", "currency": "XXQ", "due_date": "31/12/2026",
    })
    assert response.status_code == 422
    assert fields_named(response) == {"phone", "email", "timezone", "date_of_birth", "amount_due",
                                      "currency", "due_date"}
    # A language outreach does not speak is named by the row rules.
    assert fields_named(api.put("/api/v1/invoices/A-103", {**INVOICE, "language": "fr"})) == {"language"}
    assert all(e["message"] for e in response.json()["errors"])
    missing = api.put("/api/v1/invoices/A-103", {"first_name": "Ana"})
    assert missing.status_code == 422
    assert fields_named(missing) == {"phone", "amount_due", "due_date"}
    wrong_type = api.put("/api/v1/invoices/A-103", {**INVOICE, "phone": {"home": "x"}})
    assert wrong_type.status_code == 422 and "phone" in fields_named(wrong_type)
    assert written() == before


def test_put_refuses_a_changed_currency_and_writes_nothing(api):
    api.put("/api/v1/invoices/A-104", INVOICE)
    before = written()
    response = api.put("/api/v1/invoices/A-104", {**INVOICE, "currency": "EUR", "amount_due": "99.00"})
    assert response.status_code == 422 and fields_named(response) == {"currency"}
    assert written() == before


def test_put_never_touches_another_organizations_invoice(api, outsider, org, other_org):
    api.put("/api/v1/invoices/SHARED-1", INVOICE)
    mine = Invoice.objects.get(organization=org, external_ref="SHARED-1")
    response = outsider.put("/api/v1/invoices/SHARED-1", {**INVOICE, "amount_due": "5.00"})
    assert response.status_code == 201  # their own invoice: references are per organization
    theirs = Invoice.objects.get(organization=other_org, external_ref="SHARED-1")
    assert theirs.pk != mine.pk and theirs.contact.organization_id == other_org.pk
    mine.refresh_from_db()
    assert mine.amount_due == Decimal("240.00")
    assert response.json()["contact"]["id"] != mine.contact_id


# ----------------------------------------------------------------------------- GET /invoices/{ref}


def test_get_invoice_shows_balance_outreach_handoffs_and_recent_events(api, make_invoice, clock):
    invoice = make_invoice(amount="120.00")
    actions.enroll_invoice(invoice, clock())
    actions.open_handoff(invoice.contact, "dispute", clock(), invoice=invoice, summary="Says it was paid")
    for n in range(25):
        Event.objects.create(organization=invoice.organization, contact=invoice.contact, invoice=invoice,
                             kind="staff.note", at=clock() + timedelta(minutes=n), detail={"n": n})
    response = api.get(f"/api/v1/invoices/{invoice.external_ref}")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["amount_due"], body["balance"], body["currency"]) == ("open", "120.00", "120.00",
                                                                                       "USD")
    assert body["open_handoffs"] == 1
    assert body["outreach"]["enrollment_status"] == "active"
    assert body["outreach"]["next_step"]["status"] == "pending"
    assert len(body["events"]) == 20
    assert body["events"][0]["detail"] == {"n": 24}  # newest first


def test_get_invoice_of_another_organization_is_404(api, outsider, make_invoice):
    invoice = make_invoice()
    response = outsider.get(f"/api/v1/invoices/{invoice.external_ref}")
    assert response.status_code == 404 and fields_named(response) == {"external_ref"}
    assert api.get("/api/v1/invoices/NOPE").status_code == 404


# ----------------------------------------------------------------------------- payments


def test_partial_then_full_payment_stops_everything(api, make_invoice, clock):
    invoice = make_invoice(amount="120.00")
    actions.enroll_invoice(invoice, clock())
    url = f"/api/v1/invoices/{invoice.external_ref}/payments"
    partial = api.post(url, {"amount": "20.50", "reference": "PAY-1", "paid_at": "2026-12-06"})
    assert partial.status_code == 201, partial.content
    assert partial.json()["invoice"]["balance"] == "99.50" and partial.json()["duplicate"] is False
    assert Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()

    full = api.post(url, {"amount": 99.5, "reference": "PAY-2"})
    assert full.status_code == 201
    body = full.json()
    assert body["invoice"]["status"] == "paid" and body["invoice"]["balance"] == "0.00"
    assert body["invoice"]["outreach"]["enrollment_status"] == "exited"
    assert not Step.objects.filter(enrollment__invoice=invoice, status__in=("pending", "held")).exists()
    events = Event.objects.filter(invoice=invoice, kind="payment.recorded").order_by("pk")
    assert [e.detail["amount"] for e in events] == ["20.50", "99.5"]
    assert events[0].detail["source"] == "api, reference PAY-1, paid on 2026-12-06"
    assert events[0].actor == "api:billing system"
    assert ApiPayment.objects.get(reference="PAY-1").event_id == events[0].pk


def test_the_same_reference_twice_records_one_payment(api, make_invoice):
    invoice = make_invoice(amount="120.00")
    url = f"/api/v1/invoices/{invoice.external_ref}/payments"
    first = api.post(url, {"amount": "40.00", "reference": "TX-9"})
    assert first.status_code == 201
    before = written()
    again = api.post(url, {"amount": "40", "reference": "TX-9"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["invoice"]["balance"] == "80.00"
    assert written() == before
    assert Event.objects.filter(invoice=invoice, kind="payment.recorded").count() == 1

    other = make_invoice()
    before = written()
    conflict = api.post(f"/api/v1/invoices/{other.external_ref}/payments", {"amount": "40.00", "reference": "TX-9"})
    assert conflict.status_code == 409 and fields_named(conflict) == {"reference"}
    different = api.post(url, {"amount": "41.00", "reference": "TX-9"})
    assert different.status_code == 409
    assert written() == before

    # Without a reference each call is a payment of its own.
    assert api.post(url, {"amount": "1.00"}).status_code == 201
    assert api.post(url, {"amount": "1.00"}).status_code == 201
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("78.00")


def test_payment_names_bad_fields_and_writes_nothing(api, make_invoice):
    invoice = make_invoice()
    url = f"/api/v1/invoices/{invoice.external_ref}/payments"
    before = written()
    bad = api.post(url, {"amount": "12.345", "paid_at": "2027-06-01"})
    assert bad.status_code == 422 and fields_named(bad) == {"amount", "paid_at"}
    assert fields_named(api.post(url, {"amount": "0"})) == {"amount"}
    assert fields_named(api.post(url, {"amount": "ten"})) == {"amount"}
    assert fields_named(api.post(url, {"paid_at": "2026-12-01"})) == {"amount"}
    assert fields_named(api.post(url, {"amount": "1", "paid_at": "yesterday"})) == {"paid_at"}
    assert written() == before


def test_payment_on_another_organizations_invoice_is_404(outsider, make_invoice):
    invoice = make_invoice()
    before = written()
    response = outsider.post(f"/api/v1/invoices/{invoice.external_ref}/payments", {"amount": "10.00",
                                                                                   "reference": "X"})
    assert response.status_code == 404
    assert written() == before


# ----------------------------------------------------------------------------- contact fields


def test_contact_fields_create_enroll_and_switch_outreach(api, make_contact, org):
    contact = make_contact()
    response = api.post(f"/api/v1/contacts/{contact.pk}/fields",
                        {"fields": {"invoice_due_date": "2026-12-15", "balance": "75", "plan": "gold"}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["fields"] == {"invoice_due_date": "2026-12-15", "balance": "75", "plan": "gold"}
    assert body["invoices"] == [{"external_ref": f"CRM-{contact.pk}", "status": "open", "balance": "75.00",
                                 "due_date": "2026-12-15"}]
    invoice = Invoice.objects.get(organization=org, external_ref=f"CRM-{contact.pk}")
    assert Enrollment.objects.get(invoice=invoice).status == "active"
    assert Event.objects.filter(contact=contact, kind="contact.updated", actor="api:billing system").exists()

    off = api.post(f"/api/v1/contacts/{contact.pk}/fields", {"fields": {"outreach": "off"}})
    assert off.status_code == 200 and off.json()["outreach_on"] is False
    assert Enrollment.objects.get(invoice=invoice).status == "paused"
    assert Event.objects.filter(contact=contact, kind="outreach.off").exists()

    paid = api.post(f"/api/v1/contacts/{contact.pk}/fields", {"fields": {"balance": 0}})
    assert paid.json()["invoices"][0]["status"] == "paid"
    assert Enrollment.objects.get(invoice=invoice).status == "exited"


def test_contact_fields_name_the_bad_field_and_write_nothing(api, make_contact):
    contact = make_contact()
    url = f"/api/v1/contacts/{contact.pk}/fields"
    before = written()
    for fields, named in [
        ({"invoice_due_date": "next week", "balance": "10"}, "fields.invoice_due_date"),
        ({"invoice_due_date": "2026-12-15", "balance": "-3"}, "fields.balance"),
        ({"invoice_due_date": "2026-12-15"}, "fields.balance"),  # a new invoice needs a balance
        ({"outreach": "maybe", "plan": "gold"}, "fields.outreach"),
        ({}, "fields"),
    ]:
        response = api.post(url, {"fields": fields})
        assert response.status_code == 422, fields
        assert fields_named(response) == {named}
    assert fields_named(api.post(url, {"fields": ["not", "a", "dict"]})) == {"fields"}
    assert written() == before


def test_contact_fields_of_another_organization_is_404(outsider, make_contact):
    contact = make_contact()
    before = written()
    response = outsider.post(f"/api/v1/contacts/{contact.pk}/fields", {"fields": {"outreach": "off"}})
    assert response.status_code == 404 and fields_named(response) == {"contact_id"}
    assert written() == before


# ----------------------------------------------------------------------------- opt-out


def test_opt_out_stops_the_channels(api, make_invoice, clock):
    invoice = make_invoice()
    contact = invoice.contact
    response = api.post(f"/api/v1/contacts/{contact.pk}/opt-out", {"channels": ["SMS", "call", "sms"]})
    assert response.status_code == 200, response.content
    assert set(response.json()["opted_out"]) == {"sms", "call"}
    contact.refresh_from_db()
    assert set(contact.opted_out) >= {"sms", "call"}
    event = Event.objects.get(contact=contact, kind="contact.opted_out")
    assert event.detail == {"channels": ["sms", "call"], "source": "api"} and event.actor == "api:billing system"


def test_opt_out_names_bad_channels_and_writes_nothing(api, make_contact):
    contact = make_contact()
    before = written()
    response = api.post(f"/api/v1/contacts/{contact.pk}/opt-out", {"channels": ["sms", "fax"]})
    assert response.status_code == 422 and fields_named(response) == {"channels.1"}
    assert fields_named(api.post(f"/api/v1/contacts/{contact.pk}/opt-out", {"channels": []})) == {"channels"}
    assert fields_named(api.post(f"/api/v1/contacts/{contact.pk}/opt-out", {})) == {"channels"}
    assert written() == before


def test_opt_out_of_another_organizations_contact_is_404(outsider, make_contact):
    contact = make_contact()
    before = written()
    assert outsider.post(f"/api/v1/contacts/{contact.pk}/opt-out", {"channels": ["all"]}).status_code == 404
    assert written() == before


# ----------------------------------------------------------------------------- handoffs


def test_handoffs_list_open_ones_with_a_link_to_the_staff_page(api, make_invoice, clock, django_user_model,
                                                               settings):
    invoice = make_invoice()
    dana = django_user_model.objects.create_user("dana", password="x" * 12)
    first = actions.open_handoff(invoice.contact, "hardship", clock(), invoice=invoice, summary="Lost job")
    Handoff.objects.filter(pk=first.pk).update(assignee=dana)
    clock.advance(hours=1)
    second = actions.open_handoff(invoice.contact, "request_human", clock())
    done = actions.open_handoff(invoice.contact, "dispute", clock(), invoice=invoice)
    Handoff.objects.filter(pk=done.pk).update(status="resolved")

    response = api.get("/api/v1/handoffs", status="open")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [h["id"] for h in body["items"]] == [second.pk, first.pk]
    item = body["items"][1]
    assert item["reason"] == "hardship" and item["reason_label"] == "Hardship"
    assert item["contact_name"] == invoice.contact.full_name and item["invoice_ref"] == invoice.external_ref
    assert item["assignee"] == "dana" and item["summary"] == "Lost job"
    assert item["url"] == f"{settings.PUBLIC_URL}/inbox/{first.pk}/"
    assert body["items"][0]["invoice_ref"] is None and body["items"][0]["assignee"] is None
    assert api.get("/api/v1/handoffs", status="all").json()["count"] == 3
    assert [h["id"] for h in api.get("/api/v1/handoffs", status="resolved").json()["items"]] == [done.pk]
    assert fields_named(api.get("/api/v1/handoffs", status="closed")) == {"status"}


def test_handoffs_of_another_organization_are_not_listed(outsider, make_invoice, clock):
    invoice = make_invoice()
    actions.open_handoff(invoice.contact, "dispute", clock(), invoice=invoice)
    response = outsider.get("/api/v1/handoffs")
    assert response.status_code == 200 and response.json() == {"count": 0, "items": []}


# ----------------------------------------------------------------------------- OpenAPI


def test_openapi_schema_and_docs_page_load(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "duedesk API"
    paths = schema["paths"]
    assert {"/api/v1/invoices/{external_ref}", "/api/v1/invoices/{external_ref}/payments",
            "/api/v1/contacts/{contact_id}/fields", "/api/v1/contacts/{contact_id}/opt-out",
            "/api/v1/handoffs"} <= set(paths)
    assert set(paths["/api/v1/invoices/{external_ref}"]) == {"get", "put"}
    assert any(s.get("scheme") == "bearer" for s in schema["components"]["securitySchemes"].values())
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/docs/assets/settings.py").status_code == 404



def test_malformed_json_is_refused_naming_the_body(api):
    before = written()
    response = api.client.put("/api/v1/invoices/A-200", "{not json", content_type="application/json",
                              headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code in (400, 422)
    assert fields_named(response) == {"body"}
    assert written() == before


# ----------------------------------------------------------------------------- the apikey commands


def test_apikey_commands_create_list_and_revoke(org, client):
    from typer.testing import CliRunner

    from duedesk.cli import app

    runner = CliRunner()
    created = runner.invoke(app, ["apikey", "create", "--org", org.slug, "--name", "practice CRM"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("dd_")
    key = ApiKey.objects.get(organization=org)
    assert key.name == "practice CRM" and token.startswith(f"dd_{key.prefix}_")
    assert Api(client, token).get("/api/v1/handoffs").status_code == 200

    listed = runner.invoke(app, ["apikey", "list", "--org", org.slug])
    assert listed.exit_code == 0 and key.prefix in listed.stdout and "practice CRM" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout

    revoked = runner.invoke(app, ["apikey", "revoke", key.prefix])
    assert revoked.exit_code == 0, revoked.output
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert Api(client, token).get("/api/v1/handoffs").status_code == 401

    assert runner.invoke(app, ["apikey", "revoke", "ffffffff"]).exit_code == 1
    assert runner.invoke(app, ["apikey", "create", "--org", "no-such-clinic", "--name", "x"]).exit_code == 2
