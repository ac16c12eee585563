"""Google Calendar and Outlook, over HTTP with google-api-python-client, google-auth-oauthlib, MSAL and httpx
against the local fakes: a promise made on a call becomes an all-day event on its day in both, kept is an
update, the ICS feed says the same; "call me back Thursday afternoon" books the first free slot that
afternoon and the call moves there; an outage loses and duplicates nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from django.db import connection as db
from icalendar import Calendar

from duedesk.conversations import calls as conversation
from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.integrations.calendars import outbox
from duedesk.integrations.calendars.models import CalendarItem, Connection
from duedesk.records.models import Call, Event

from .conftest import ledger, utc

pytestmark = pytest.mark.django_db

TUESDAY_10AM = datetime(2026, 12, 15, 15, 0, tzinfo=UTC)  # 10:00 in New York, five days after the due date


def phone(invoice, lines, clock, worker, transports) -> Call:
    """The overdue call: the patient picks up and says `lines`, then hangs up."""
    actions.enroll_invoice(invoice, clock())
    clock.set(TUESDAY_10AM)
    worker.run_until_idle()
    placed = [Call.objects.get(pk=pk) for pk in transports.voice.take_placed()]
    (call,) = [c for c in placed if c.invoice_id == invoice.pk]
    turn = conversation.answered(call.pk, clock())
    for line in lines:
        if not turn.listen:
            break
        turn = conversation.heard(call.pk, line, clock())
    conversation.ended(call.pk, "completed", clock(), duration=60)
    return call


PROMISE_FRIDAY = ["yes this is me", "march third 1980", "i can pay on friday", "yes that's right", "no thank you bye"]


def _all_day(fake_google, fake_graph):
    google = {e["id"]: e for e in ledger(fake_google)["events"]}
    graph = {e["id"]: e for e in ledger(fake_graph)["events"]}
    return google, graph


def test_a_promise_by_phone_is_an_all_day_event_in_google_and_outlook_and_kept_updates_it(
        client, connected, fake_google, fake_graph, make_invoice, clock, worker, transports):
    invoice = make_invoice(amount="1250.00")
    phone(invoice, PROMISE_FRIDAY, clock, worker, transports)
    promise = invoice.promises.get(status="pending")
    assert promise.promised_date == date(2026, 12, 18)

    assert outbox.tick(clock()) == 2
    google, graph = _all_day(fake_google, fake_graph)
    title = f"Promise: {invoice.external_ref}, $1,250.00 — call if unpaid"
    (g,) = google.values()
    assert g["summary"] == title and g["start"] == {"date": "2026-12-18"} and g["end"] == {"date": "2026-12-19"}
    assert g["transparency"] == "transparent"
    (o,) = graph.values()
    assert o["subject"] == title and o["isAllDay"] is True
    assert o["start"] == {"dateTime": "2026-12-18T00:00:00", "timeZone": "America/New_York"}
    assert o["end"] == {"dateTime": "2026-12-19T00:00:00", "timeZone": "America/New_York"}
    # The minimum about the patient: reference and amount, never the name or phone.
    for event in (g, o):
        assert invoice.contact.last_name not in str(event) and invoice.contact.phone not in str(event)

    # Paid on Friday: the same events now say kept (updated, not added).
    clock.set(datetime(2026, 12, 18, 16, 0, tzinfo=UTC))
    actions.record_payment(invoice, Decimal("1250.00"), clock())
    assert outbox.tick(clock()) == 2
    google, graph = _all_day(fake_google, fake_graph)
    kept = f"Kept: {invoice.external_ref}, $1,250.00"
    assert [e["summary"] for e in google.values()] == [kept]
    assert [e["subject"] for e in graph.values()] == [kept]
    assert [w["op"] for w in ledger(fake_google)["writes"]] == ["insert", "update"]
    assert [w["op"] for w in ledger(fake_graph)["writes"]] == ["create", "update"]

    # The private ICS feed shows the same event, and validates with icalendar.
    assert client.post("/calendar/new/").status_code == 302
    url = client.get("/calendar/").context["new_url"].removeprefix("http://testserver")
    feed = Calendar.from_ical(client.get(url).content)
    (vevent,) = feed.walk("VEVENT")
    assert str(vevent["summary"]) == kept and vevent.decoded("dtstart") == date(2026, 12, 18)
    # Nothing is left to write.
    assert not CalendarItem.objects.exclude(status="done").exists()


def test_a_new_promise_replaces_the_old_event_and_a_broken_one_says_so(connected, fake_google, fake_graph,
                                                                         make_invoice, clock):
    invoice = make_invoice(amount="300.00")
    actions.record_promise(invoice, date(2026, 12, 11), clock(), channel="sms")
    outbox.tick(clock())
    first = actions.record_promise(invoice, date(2026, 12, 16), clock(), channel="sms")
    outbox.tick(clock())
    google, graph = _all_day(fake_google, fake_graph)
    assert [e["start"]["date"] for e in google.values()] == ["2026-12-16"]
    assert [e["start"]["dateTime"][:10] for e in graph.values()] == ["2026-12-16"]
    actions.mark_promise_broken(invoice, clock())
    outbox.tick(clock())
    google, graph = _all_day(fake_google, fake_graph)
    assert [e["summary"] for e in google.values()] == [f"Broken: {invoice.external_ref}, $300.00"]
    assert [e["subject"] for e in graph.values()] == [f"Broken: {invoice.external_ref}, $300.00"]
    assert first.pk


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_call_me_back_thursday_afternoon_books_the_first_free_slot_and_plans_the_call(
        provider, connected, fake_google, fake_graph, make_invoice, clock, worker, transports):
    conn = Connection.objects.get(provider=provider)
    Connection.objects.filter(pk=conn.pk).update(callbacks=True)
    fake = fake_google if provider == "google" else fake_graph
    # Thursday Dec 17 in New York: busy 10:00-11:00, 12:00-13:30 and 13:45-14:00.
    httpx.post(f"{fake.base_url}/__fake__/busy", json={"busy": [
        {"start": "2026-12-17T17:00:00Z", "end": "2026-12-17T18:30:00Z"},
        {"start": "2026-12-17T18:45:00Z", "end": "2026-12-17T19:00:00Z"},
        {"start": "2026-12-17T15:00:00Z", "end": "2026-12-17T16:00:00Z"}]}, verify=getattr(fake, "cert_path", True))
    invoice = make_invoice(amount="1250.00")
    call = phone(invoice, ["yes this is me", "march third 1980", "can you call me back thursday afternoon"],
                 clock, worker, transports)
    call.refresh_from_db()
    assert call.outcome == "callback_later"
    planned = Step.objects.get(enrollment__invoice=invoice, kind="call", status="pending")
    assert planned.run_at == utc(2026, 12, 17, 17, 0)  # noon: the afternoon, before the calendar is asked

    outbox.tick(clock())
    planned.refresh_from_db()
    # The first free 15 minutes on Thursday afternoon: 13:30 in New York.
    assert planned.run_at == utc(2026, 12, 17, 18, 30)
    writes = ledger(fake)["writes"]
    (booked,) = [w["event"] for w in writes]
    if provider == "google":
        assert booked["start"]["dateTime"].startswith("2026-12-17T18:30:00")
        assert booked["start"]["timeZone"] == "America/New_York"
        assert booked["summary"] == f"Call back: {invoice.external_ref} (duedesk calls the patient)"
    else:
        assert booked["start"] == {"dateTime": "2026-12-17T18:30:00", "timeZone": "UTC"}
        assert booked["end"] == {"dateTime": "2026-12-17T18:45:00", "timeZone": "UTC"}
        assert booked["showAs"] == "busy"
    booked_event = Event.objects.get(kind="call.booked")
    assert booked_event.detail["booked_for"] == "2026-12-17T18:30:00+00:00"
    assert booked_event.detail["calendar"] == provider

    # Thursday at noon the call is not made: it waits for the slot booked for it, and goes then. (The week's
    # rest after a conversation does not hold back the call the patient asked for.)
    clock.set(utc(2026, 12, 17, 17, 0))
    worker.run_until_idle()
    assert transports.voice.take_placed() == []
    clock.set(utc(2026, 12, 17, 18, 30))
    worker.run_until_idle()
    (placed,) = transports.voice.take_placed()
    assert Call.objects.get(pk=placed).invoice_id == invoice.pk
    planned.refresh_from_db()
    assert planned.status != "pending"


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_a_callback_booked_for_an_invoice_paid_before_it_is_taken_off_the_calendar(
        provider, connected, fake_google, fake_graph, make_invoice, clock, worker, transports):
    Connection.objects.filter(provider=provider).update(callbacks=True)
    fake = fake_google if provider == "google" else fake_graph
    invoice = make_invoice(amount="40.00")
    phone(invoice, ["yes this is me", "march third 1980", "call me back thursday afternoon"], clock, worker,
          transports)
    outbox.tick(clock())
    assert len([e for e in ledger(fake)["events"] if "Call back" in str(e)]) == 1
    clock.advance(hours=3)
    actions.record_payment(invoice, Decimal("40.00"), clock())
    outbox.tick(clock())
    assert [e for e in ledger(fake)["events"] if "Call back" in str(e)] == []
    assert ledger(fake)["writes"][-1]["op"] == "delete"


def test_a_callback_the_patient_asked_for_goes_but_other_calls_still_rest_a_week(
        connected, make_invoice, make_contact, clock, worker, transports):
    """Only the call asked for is outside the week's rest: "not before 11" (hours, not a callback) books
    nothing and its next try still waits the week."""
    invoice = make_invoice()
    phone(invoice, ["yes this is me", "march third 1980", "please don't call me before 11am"], clock, worker,
          transports)
    assert not CalendarItem.objects.exists()
    clock.set(utc(2026, 12, 16, 16, 0))
    worker.run_until_idle()
    assert transports.voice.take_placed() == []
    deferred = Event.objects.filter(kind="step.deferred", invoice=invoice, channel="call").last()
    assert deferred.detail["rule"] == "call_after_conversation"


def test_an_outage_loses_nothing_and_a_lost_answer_makes_nothing_twice(connected, fake_google, fake_graph,
                                                                        make_invoice, clock):
    invoice = make_invoice(amount="80.00")
    actions.record_promise(invoice, date(2026, 12, 14), clock(), channel="sms")
    for _ in range(3):
        actions.record_promise(make_invoice(), date(2026, 12, 15), clock(), channel="sms")
    for fake in (fake_google, fake_graph):
        httpx.post(f"{fake.base_url}/__fake__/fail", json={"times": 5}, verify=getattr(fake, "cert_path", True))
    assert outbox.tick(clock()) == 0
    # Each calendar was asked once this round; the other rows wait with it, their attempts not counted.
    assert (fake_google.fail_next, fake_graph.fail_next) == (4, 4)
    waiting = CalendarItem.objects.filter(status="pending")
    assert waiting.count() == 8 and sum("503" in i.last_error for i in waiting) == 2
    assert sorted(i.attempts for i in waiting) == [0, 0, 0, 0, 0, 0, 1, 1]
    CalendarItem.objects.exclude(promise__invoice=invoice).delete()
    for fake in (fake_google, fake_graph):
        fake.fail_next = 0
    assert outbox.tick(clock()) == 0  # not before their backoff (Retry-After: 30)
    clock.advance(minutes=2)
    assert outbox.tick(clock()) == 2

    # A write whose answer was lost: the row is tried again without the provider's id.
    CalendarItem.objects.update(status="pending", provider_event_id="", written={}, run_at=clock())
    assert outbox.tick(clock()) == 2
    assert len(ledger(fake_google)["events"]) == 1 and len(ledger(fake_graph)["events"]) == 1
    assert [w["op"] for w in ledger(fake_google)["writes"]] == ["insert", "update"]  # 409, then the same id
    assert [w["op"] for w in ledger(fake_graph)["writes"]] == ["create"]  # transactionId gave back the first


def test_tokens_are_encrypted_refreshed_when_expired_and_a_refused_sign_in_waits(connected, fake_google, fake_graph,
                                                                                make_invoice, clock):
    google, _ = connected
    with db.cursor() as cursor:
        cursor.execute("SELECT tokens FROM calendars_connection")
        stored = [row[0] for row in cursor.fetchall()]
    assert all(s.startswith("gAAAAA") for s in stored)  # Fernet tokens, no plain access token
    assert not any(google.tokens["refresh_token"] in s for s in stored)

    fake_google.expire_access_tokens()
    fake_graph.expire_access_tokens()
    actions.record_promise(make_invoice(), date(2026, 12, 14), clock(), channel="sms")
    assert outbox.tick(clock()) == 2  # each library refreshed its token and wrote
    fresh = Connection.objects.get(pk=google.pk).tokens["access_token"]
    assert fresh != google.tokens["access_token"] and fresh in fake_google.access

    # The person revoked access at Google: the connection asks them to connect again; the write waits.
    fake_google.expire_access_tokens()
    fake_google.refresh.clear()
    actions.record_promise(make_invoice(), date(2026, 12, 15), clock(), channel="sms")
    outbox.tick(clock())
    google.refresh_from_db()
    assert google.status == "auth_failed"
    assert CalendarItem.objects.filter(connection=google, status="pending").count() == 1


def test_the_worker_writes_the_calendars_between_its_batches(connected, fake_google, fake_graph, make_invoice,
                                                             clock):
    from duedesk.integrations.jobs import Between

    invoice = make_invoice(amount="75.00")
    actions.record_promise(invoice, date(2026, 12, 21), clock(), channel="sms")
    Between(clock)()
    google, graph = _all_day(fake_google, fake_graph)
    assert [e["start"] for e in google.values()] == [{"date": "2026-12-21"}]
    assert [e["subject"] for e in graph.values()] == [f"Promise: {invoice.external_ref}, $75.00 — call if unpaid"]


def test_an_event_someone_deleted_on_the_calendar_is_written_again_on_its_next_change(
        connected, fake_google, fake_graph, make_invoice, clock):
    invoice = make_invoice(amount="60.00")
    actions.record_promise(invoice, date(2026, 12, 14), clock(), channel="sms")
    outbox.tick(clock())
    for fake in (fake_google, fake_graph):
        (event_id,) = fake.events
        fake.events.pop(event_id)
        fake.deleted.add(event_id)
    actions.mark_promise_broken(invoice, clock())
    assert outbox.tick(clock()) == 2
    google, graph = _all_day(fake_google, fake_graph)
    assert [e["summary"] for e in google.values()] == [f"Broken: {invoice.external_ref}, $60.00"]
    assert [e["subject"] for e in graph.values()] == [f"Broken: {invoice.external_ref}, $60.00"]
    assert CalendarItem.objects.filter(status="done").count() == 2


def test_my_calendar_page_shows_each_connection_and_asks_to_connect_again_when_refused(
        client, connected, fake_google, make_invoice, clock):
    google, outlook = connected
    page = client.get("/calendar/").content.decode()
    assert "Connected as lee@maple.example." in page  # Outlook names the account (Graph /me)
    assert "Disconnect Google Calendar" in page and "Disconnect Outlook" in page
    assert "<title>My calendar · " in page and page.count('id="conn-h"') == 1  # the section once, in the page
    assert client.post("/calendar/microsoft/roles/", {"callbacks": "on"}).status_code == 302
    outlook.refresh_from_db()
    assert (outlook.promises, outlook.callbacks) == (False, True)

    fake_google.expire_access_tokens()
    fake_google.refresh.clear()
    actions.record_promise(make_invoice(), date(2026, 12, 14), clock(), channel="sms")
    outbox.tick(clock())
    page = client.get("/calendar/").content.decode()
    assert "Sign-in refused" in page and "Connect Google Calendar again" in page

    # Connecting again picks up the writes that waited.
    from .conftest import connect

    connect(client, "google", fake_google)
    assert outbox.tick(clock()) == 1
    assert len(ledger(fake_google)["events"]) == 1
    assert client.post("/calendar/google/disconnect/").status_code == 302
    google.refresh_from_db()
    assert google.status == "disconnected" and google.tokens == {}
