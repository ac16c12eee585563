"""Staff record a patient's consent for billing (basis express, source staff) with the day it was given and
what shows it, or withdraw it, for one of the contact's lines; the gate reads it at the next send; the
history of each line (consent, opt-outs, line type) is on its own page, for every contact on the number."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.records.models import Event, Line, LineChange

pytestmark = pytest.mark.django_db


def give(client, contact, **fields):
    data = {"consent-action": "give", "consent-line": "phone", "consent-given_on": "2026-11-02",
            "consent-evidence": "Signed intake form, scanned Nov 2"}
    data.update({f"consent-{k}": v for k, v in fields.items()})
    return client.post(f"/contacts/{contact.pk}/consent/", data)


def test_staff_record_consent_with_its_date_and_evidence_and_the_automated_text_goes(
        login, staff, org, make_contact, make_invoice, clock, worker):
    org.accept_provided_number = False  # only consent on record lets automated texts and calls go
    org.save(update_fields=["accept_provided_number"])
    contact = make_contact(first_name="Ana", last_name="Reyes")
    client = login(staff)
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "Record or withdraw consent" in page and f"{contact.phone} (texts and calls)" in page

    response = give(client, contact)
    assert response.status_code == 302
    line = Line.objects.get(address=contact.phone)
    assert line.consent["billing"] == {"basis": "express", "source": "staff", "at": clock().isoformat(),
                                       "evidence": "Signed intake form, scanned Nov 2", "given_on": "2026-11-02"}
    change = LineChange.objects.get(line=line, what="consent_given")
    assert (change.source, change.actor, change.contact) == ("staff", f"staff:{staff.username}", contact)
    assert change.evidence == "express (given 2026-11-02): Signed intake form, scanned Nov 2"
    assert Event.objects.get(kind="consent.given", contact=contact).detail["source"] == "staff"
    assert not Line.objects.filter(address=contact.email).exclude(consent={}).exists()  # only the line chosen

    invoice = make_invoice(contact, due=clock().date() + timedelta(days=3))
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    assert step.status == "done"
    assert Event.objects.get(kind="sms.sent", invoice=invoice).detail["consent"] == "express"


def test_withdrawn_by_staff_no_automated_text_goes_to_anyone_on_the_number(
        login, staff, make_contact, make_invoice, clock, worker):
    parent = make_contact(first_name="Rosa", phone="+12125550177")
    child = make_contact(first_name="Luis", phone="+12125550177")
    client = login(staff)
    response = client.post(f"/contacts/{parent.pk}/consent/", {
        "consent-action": "withdraw", "consent-line": "phone", "consent-evidence": "Asked at the front desk"})
    assert response.status_code == 302
    follow = client.get(f"/contacts/{parent.pk}/").content.decode()
    assert "Consent withdrawn for +12125550177" in follow
    invoice = make_invoice(child, due=clock().date() + timedelta(days=3))
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    assert Step.objects.get(enrollment__invoice=invoice, step_id="heads_up").outcome == "no_consent"
    blocked = Event.objects.get(kind="step.blocked", invoice=invoice)
    assert blocked.detail["rule"] == "no_consent"
    # Recorded again with its evidence, automation may resume.
    assert give(client, parent).status_code == 302
    assert Line.objects.get(address="+12125550177").consent["billing"]["basis"] == "express"


@pytest.mark.parametrize("fields, error", [
    ({"given_on": ""}, "Date given: say when the patient gave consent."),
    ({"given_on": "2026-12-08"}, "Date given: cannot be in the future."),
    ({"evidence": ""}, "Evidence: say what shows the consent (a form, a call)."),
    ({"evidence": "form\x00"}, "Evidence"),
    ({"line": "fax"}, "Select a valid choice"),
])
def test_consent_without_a_date_or_evidence_is_refused_naming_the_field(login, staff, make_contact, fields, error):
    contact = make_contact()
    response = give(login(staff), contact, **fields)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not LineChange.objects.exists()


def test_the_history_shows_every_change_of_each_line_even_after_a_contact_is_gone(
        login, staff, viewer, make_contact, clock):
    parent = make_contact(first_name="Rosa", phone="+12125550177", email="rosa@example.com")
    child = make_contact(first_name="Luis", phone="+12125550177")
    actions.opt_out(child, ("sms",), clock(), source="sms keyword", evidence="STOP")
    actions.give_consent(parent, clock() + timedelta(hours=1), basis="express", source="staff", actor="staff:dana",
                         evidence="Signed form", kinds=("phone",), given_on=date(2026, 11, 2))
    actions.record_line_type(parent.organization_id, "+12125550177", "mobile", clock(), carrier="Fake Carrier")
    child.delete()
    page = login(viewer).get(f"/contacts/{parent.pk}/consent/history/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Phone number +12125550177" in html and "Email address rosa@example.com" in html
    rows = [c.what for c in page.context["history"][0]["changes"]]
    assert rows == ["opted_out", "line_type", "consent_given"]
    assert "Opted out" in html and "STOP" in html and "a keyword in a text" in html  # Luis's, though he is gone
    assert "given Nov 2, 2026" in html and "2026-11-02" not in html.split("<main")[1] and "Line type: <b>mobile</b>" in html
    assert page.context["history"][1]["changes"] == []  # nothing happened to the email address
