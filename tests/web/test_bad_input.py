"""Bad input on staff pages: the form names the field and nothing is saved; a bad query string is a 400, never a
500; payments on the contact page follow the same money rules as the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from duedesk.engine.models import Step, Workflow
from duedesk.records.models import Contact, Event, Handoff

pytestmark = pytest.mark.django_db

CONTACT = {"first_name": "Ana", "last_name": "Reyes", "phone": "(212) 555-0199", "email": "ana@example.com",
           "zip_code": "", "timezone": "", "language": "en", "date_of_birth": "1980-03-03"}


def saved(contact: Contact) -> tuple:
    contact.refresh_from_db()
    return (contact.first_name, contact.last_name, contact.phone, contact.email, contact.timezone,
            contact.language, contact.date_of_birth, Event.objects.filter(kind="contact.updated").count())


@pytest.mark.parametrize(("change", "message"), [
    ({"timezone": "Not/AZone"}, "&#x27;Not/AZone&#x27; is not a time zone"),
    ({"language": "xx"}, "Select a valid choice. xx is not one of the available choices."),
    ({"first_name": "A\x07na"}, "This contains a control character (U+0007)."),
    ({"date_of_birth": "0001-01-01"}, "&#x27;0001-01-01&#x27; is outside the years 1900-2200."),
    ({"email": "a" * 250 + "@example.com"}, "Ensure this value has at most 254 characters"),
])
def test_a_contact_with_a_bad_field_is_not_saved_and_the_field_is_named(login, staff, case, change, message):
    contact = case["contact"]
    before = saved(contact)
    response = login(staff).post(f"/contacts/{contact.pk}/edit/", {**CONTACT, **change})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert saved(contact) == before


def test_a_contact_with_a_real_zone_and_language_is_saved(login, staff, case):
    contact = case["contact"]
    data = {**CONTACT, "timezone": "America/Chicago", "language": "es"}
    assert login(staff).post(f"/contacts/{contact.pk}/edit/", data).status_code == 302
    contact.refresh_from_db()
    assert (contact.timezone, contact.language) == ("America/Chicago", "es")
    assert login(staff).get(f"/contacts/{contact.pk}/").status_code == 200


@pytest.mark.parametrize("due", ["0001-01-01", "9999-12-31"])
def test_an_invoice_due_date_outside_the_years_is_refused(login, staff, case, due):
    invoice = case["invoice"]
    steps = list(Step.objects.values_list("pk", "status", "run_at"))
    response = login(staff).post(f"/invoices/{invoice.pk}/edit/", {
        f"inv{invoice.pk}-due_date": due, f"inv{invoice.pk}-amount_due": "300.00"})
    assert response.status_code == 400
    assert f"&#x27;{due}&#x27; is outside the years 1900-2200." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.due_date.year == 2026 and list(Step.objects.values_list("pk", "status", "run_at")) == steps


def test_a_staff_overpayment_shows_the_credit_and_opens_an_overpaid_handoff(login, staff, case):
    invoice = case["invoice"]
    client = login(staff)
    response = client.post(f"/invoices/{invoice.pk}/paid/", {
        f"pay{invoice.pk}-amount": "350.00", f"pay{invoice.pk}-paid_on": "2026-12-05"}, follow=True)
    page = response.content.decode()
    assert "Credit $50.00 (paid beyond what was owed) is in the inbox to refund or apply." in page
    assert "$50.00 credit" in page  # on the invoice itself
    assert "50.00 paid beyond the balance, kept as credit" in page  # on the timeline
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance, invoice.credit) == ("paid", Decimal("0"), Decimal("50.00"))
    assert Handoff.objects.get(invoice=invoice, reason="overpaid").status == "open"
    assert "Overpaid" in client.get("/inbox/?filter=overpaid").content.decode()


def test_a_staff_payment_on_a_paid_invoice_is_refused(login, staff, case):
    invoice = case["invoice"]
    invoice.status, invoice.balance = "paid", Decimal("0")
    invoice.save()
    events = Event.objects.count()
    response = login(staff).post(f"/invoices/{invoice.pk}/paid/", {
        f"pay{invoice.pk}-amount": "10.00", f"pay{invoice.pk}-paid_on": "2026-12-05"}, follow=True)
    assert f"Payment not recorded: invoice {invoice.external_ref} is paid" in response.content.decode()
    assert Event.objects.count() == events


@pytest.mark.parametrize("paid_on", ["0001-01-01", "9999-12-31"])
def test_a_staff_payment_dated_outside_the_years_is_refused(login, staff, case, paid_on):
    invoice = case["invoice"]
    events = Event.objects.count()
    response = login(staff).post(f"/invoices/{invoice.pk}/paid/", {
        f"pay{invoice.pk}-amount": "10.00", f"pay{invoice.pk}-paid_on": paid_on}, follow=True)
    assert "Payment not recorded. Paid on:" in response.content.decode()
    assert Event.objects.count() == events


# ----------------------------------------------------------------------------- query strings and posts


def test_a_workflow_version_that_is_not_a_number_is_a_400(login, staff, org):
    client = login(staff)
    assert client.get("/workflows/payment-reminders/?version=abc").status_code == 400
    assert client.get("/workflows/payment-reminders/?version=99999999999999999999").status_code == 400
    assert client.get("/workflows/payment-reminders/?version=1").status_code == 200


@pytest.mark.parametrize("query", ["due=0001-01-01", "due=9999-12-31", "due=2026-12-10&start=0001-01-01",
                                   "due=yesterday"])
def test_a_preview_date_outside_the_years_is_a_400_with_the_field_named(login, staff, org, query):
    response = login(staff).get(f"/workflows/payment-reminders/?{query}")
    assert response.status_code == 400
    assert response.context["preview_form"].errors and response.context["preview_rows"] is None


def test_a_preview_within_the_years_is_planned(login, staff, org):
    response = login(staff).get("/workflows/payment-reminders/?due=2200-06-01&tz=America/New_York")
    assert response.status_code == 200 and response.context["preview_rows"]


@pytest.mark.parametrize("assignee", ["abc", "1e3", "99999999999999999999", "-1", "١"])
def test_assigning_to_something_that_is_not_a_teammate_is_a_400(login, staff, case, assignee):
    handoff = case["handoff"]
    response = login(staff).post(f"/inbox/{handoff.pk}/assign/", {"assignee": assignee})
    assert response.status_code == 400
    assert "is not a teammate" in response.content.decode()
    handoff.refresh_from_db()
    assert handoff.assignee is None


def test_a_search_with_a_nul_character_is_a_400(login, staff, case):
    response = login(staff).get("/contacts/", {"q": "Ana\x00"})
    assert response.status_code == 400
    assert "contains a control character (U+0000)" in response.content.decode()


def test_a_note_with_control_characters_is_refused_and_line_breaks_are_fine(login, staff, case):
    handoff = case["handoff"]
    client = login(staff)
    bad = client.post(f"/inbox/{handoff.pk}/note/", {"text": "called\x1b[31m back"})
    assert bad.status_code == 400 and "This contains a control character (U+001B)." in bad.content.decode()
    good = client.post(f"/inbox/{handoff.pk}/note/", {"text": "called back\r\nleft a message"})
    assert good.status_code == 302


def test_a_payment_plan_outside_the_years_is_refused(login, staff, case):
    handoff = case["handoff"]
    response = login(staff).post(f"/inbox/{handoff.pk}/resolve/", {
        "outcome": "payment_plan", "plan": "9999-01-15 50.00"})
    assert response.status_code == 400
    assert "Line 1: &#x27;9999-01-15&#x27; is outside the years 1900-2200." in response.content.decode()
    assert not Workflow.objects.filter(slug="payment-plan").exists() or not handoff.invoice.instalments.exists()


@pytest.mark.parametrize(("change", "message"), [
    ({"timezone": "Not/AZone"}, "&#x27;Not/AZone&#x27; no es una zona horaria (use un nombre como America/New_York)."),
    ({"first_name": "A\x07na"}, "Esto contiene un carácter de control (U+0007)."),
    ({"date_of_birth": "0001-01-01"}, "&#x27;0001-01-01&#x27; está fuera de los años 1900-2200."),
])
def test_a_refused_field_is_explained_in_the_staff_members_language(login, staff, case, change, message):
    from duedesk.records.models import Membership

    Membership.objects.filter(user=staff).update(language="es")
    response = login(staff).post(f"/contacts/{case['contact'].pk}/edit/", {**CONTACT, **change})
    assert response.status_code == 400 and message in response.content.decode()
