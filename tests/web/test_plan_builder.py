"""The payment-plan builder on a handoff: so many instalments from a first day, weekly to monthly, rows a person
can change, a plan that must add up to the balance, and the patient's copy by text."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from duedesk.engine import actions
from duedesk.records.models import Event, Handoff, Instalment

pytestmark = pytest.mark.django_db


def resolve(client, handoff, **data):
    return client.post(f"/inbox/{handoff.pk}/resolve/", {"outcome": "payment_plan", **data}, follow=True)


def rows(*pairs) -> dict:
    out = {}
    for i, (day, amount) in enumerate(pairs):
        out[f"plan-date-{i}"], out[f"plan-amount-{i}"] = day, amount
    return out


def test_the_builder_proposes_rows_that_add_up_to_the_balance(login, staff, case):
    client = login(staff)
    response = client.post(f"/inbox/{case['handoff'].pk}/resolve/", {
        "outcome": "payment_plan", "build": "1", "plan_count": "3", "plan_first": "2027-01-31",
        "plan_every": "monthly"})
    assert response.status_code == 200
    page = response.content.decode()
    for i, (day, amount) in enumerate([("2027-01-31", "100.00"), ("2027-02-28", "100.00"), ("2027-03-31", "100.00")]):
        assert f'name="plan-date-{i}" value="{day}"' in page and f'name="plan-amount-{i}" value="{amount}"' in page
    assert Handoff.objects.get(pk=case["handoff"].pk).status == "open"  # nothing resolved by building
    assert 'role="alert"' not in page  # and nothing is wrong with it

    weekly = client.post(f"/inbox/{case['handoff'].pk}/resolve/", {
        "outcome": "payment_plan", "build": "1", "plan_count": "7", "plan_first": "2027-01-04",
        "plan_every": "weekly"}).content.decode()
    assert 'name="plan-date-6" value="2027-02-15"' in weekly
    assert 'name="plan-amount-0" value="42.85"' in weekly and 'name="plan-amount-6" value="42.90"' in weekly


def test_building_needs_a_number_and_a_first_day(login, staff, case):
    response = login(staff).post(f"/inbox/{case['handoff'].pk}/resolve/", {"outcome": "payment_plan", "build": "1"})
    assert response.status_code == 400
    assert "How many instalments?" in response.content.decode()
    assert "Pick the day of the first payment." in response.content.decode()


def test_a_plan_that_does_not_add_up_says_the_difference_and_changes_nothing(login, staff, case):
    response = resolve(login(staff), case["handoff"], **rows(("2027-01-15", "100.00"), ("2027-02-15", "100.00")))
    assert response.status_code == 400
    assert "The instalments add up to $200.00, $100.00 short of the balance of $300.00." in response.content.decode()
    assert 'name="plan-amount-1" value="100.00"' in response.content.decode()  # what was typed stays
    assert not Instalment.objects.exists() and Handoff.objects.get(pk=case["handoff"].pk).status == "open"


def test_changed_rows_that_add_up_set_the_plan_and_the_patient_is_texted_it(login, staff, case):
    response = resolve(login(staff), case["handoff"], **rows(("2027-01-15", "200.00"), ("2027-02-15", "100")))
    assert "The patient was texted the plan." in response.content.decode()
    assert list(Instalment.objects.order_by("due_date").values_list("due_date", "amount")) == [
        (date(2027, 1, 15), Decimal("200.00")), (date(2027, 2, 15), Decimal("100.00"))]
    sent = Event.objects.get(kind="sms.sent", invoice=case["invoice"])
    assert (f"Your payment plan for invoice {case['invoice'].external_ref} is set: $200.00 on Jan 15, "
            "$100.00 on Feb 15.") in sent.detail["body"]
    assert "Ana" not in sent.detail["body"]  # a text never names the patient


def test_a_spanish_speaker_gets_the_plan_in_spanish(login, staff, case):
    case["contact"].language = "es"
    case["contact"].save()
    resolve(login(staff), case["handoff"], **rows(("2027-01-15", "300.00")))
    body = Event.objects.get(kind="sms.sent").detail["body"]
    assert "Su plan de pagos para la factura" in body and "el 15 ene" in body


def test_the_confirmation_goes_through_the_gate(login, staff, case, clock):
    actions.opt_out(case["contact"], ("sms",), clock())
    response = resolve(login(staff), case["handoff"], **rows(("2027-01-15", "300.00")))
    assert "Confirmation text to the patient: Not sent: opted out of texts." in response.content.decode()
    assert Instalment.objects.count() == 1  # the plan stands; only the text was held back
    assert not Event.objects.filter(kind="sms.sent").exists()
