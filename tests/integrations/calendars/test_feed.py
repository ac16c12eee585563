"""The private ICS feed of promises: valid iCalendar, the right days, updated when kept or broken, and
revocable."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from icalendar import Calendar

from duedesk.engine import actions
from duedesk.integrations.calendars.models import CalendarFeed
from duedesk.records.models import Contact, Invoice, Membership, Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(org, django_user_model):
    user = django_user_model.objects.create_user("lee", password="a-long-password-1")
    Membership.objects.create(user=user, organization=org, role="staff")
    return user


def _feed_url(client, staff):
    client.force_login(staff)
    assert client.post("/calendar/new/").status_code == 302
    url = client.get("/calendar/").context["new_url"]
    assert url.startswith("http://testserver/calendar/") and url.endswith(".ics")
    return url.removeprefix("http://testserver")


def _events(client, url):
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    return {str(e["uid"]): e for e in Calendar.from_ical(response.content).walk("VEVENT")}


def test_a_promise_is_an_all_day_event_on_its_day_and_updates_when_kept(client, staff, make_invoice, clock):
    invoice = make_invoice(amount="1250.00")
    promise = actions.record_promise(invoice, date(2026, 12, 18), clock(), channel="call")
    url = _feed_url(client, staff)
    client.logout()  # the address is the secret: no login needed, as calendars subscribe
    [event] = _events(client, url).values()
    assert event.decoded("dtstart") == date(2026, 12, 18) and event.decoded("dtend") == date(2026, 12, 19)
    assert str(event["summary"]) == f"Promise: {invoice.external_ref}, $1,250.00 — call if unpaid"
    assert invoice.contact.last_name not in event.to_ical().decode() and invoice.contact.phone not in \
        event.to_ical().decode()
    actions.record_payment(invoice, Decimal("1250.00"), clock())
    [kept] = _events(client, url).values()
    assert str(kept["uid"]) == str(event["uid"]) and int(kept["sequence"]) > int(event["sequence"])
    assert str(kept["summary"]).startswith(f"Kept: {invoice.external_ref}")
    assert promise.pk


def test_only_the_organizations_own_promises_and_a_revoked_address_is_gone(client, staff, make_invoice, clock):
    mine = make_invoice()
    actions.record_promise(mine, date(2026, 12, 18), clock(), channel="sms")
    other = Organization.objects.create(slug="other", name="Other Clinic")
    contact = Contact.objects.create(organization=other, first_name="A", last_name="B", phone="+12125550999")
    theirs = Invoice.objects.create(organization=other, contact=contact, external_ref="THEIRS-1", amount_due=5,
                                    balance=5, due_date=date(2026, 12, 10))
    actions.record_promise(theirs, date(2026, 12, 18), clock(), channel="sms")
    url = _feed_url(client, staff)
    assert [str(e["summary"]).split(",")[0] for e in _events(client, url).values()] == [
        f"Promise: {mine.external_ref}"]
    # Only a SHA-256 of the address's token is kept.
    token = url.removeprefix("/calendar/").removesuffix(".ics")
    assert not CalendarFeed.objects.filter(hashed_token=token).exists()
    client.post("/calendar/revoke/")
    assert client.get(url).status_code == 404
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404
