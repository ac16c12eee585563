"""Landlines, end to end: invoices imported from a CSV file, the worker ticking on a virtual clock, and each
number's line type asked once of the fake Twilio's Lookup v2 over HTTP before the first text or call to it.
A landline gets no text (rule landline_text) and, without the owner's express consent, at most 3 automated
calls in any 30 days (rule landline_calls); a failed lookup never holds a reminder."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.channels.registry import Transports
from duedesk.channels.simulated import SimulatedTransport, SimulatedVoice
from duedesk.conversations import calls
from duedesk.engine import definitions, line_types
from duedesk.engine.models import Step
from duedesk.engine.worker import Worker
from duedesk.intake.importer import import_invoices
from duedesk.integrations.twilio import transport as twilio
from duedesk.integrations.twilio.fake import FakeTwilio
from duedesk.records.models import Call, Event, Line, LineChange
from tests.loopback import PATIENCE

pytestmark = pytest.mark.django_db

LANDLINE = "+12125550142"
LANDLINE_WITH_CONSENT = "+12125550143"
MOBILE = "+12125550144"
HEADER = "external_ref,first_name,phone,zip_code,consent,amount_due,due_date"

# A text before the due date, then calls a day apart: more than 3 in 30 days if nothing stopped them.
CALLS_AFTER_A_TEXT = """\
name: Text then calls
steps:
  - id: heads_up
    sms: heads_up
    at: due_date - 3d
  - id: late_call
    call: late_call
    at: due_date + 1d
    retry: {attempts: 3, every: 1d}
  - id: second_call
    call: late_call
    at: 1d
    retry: {attempts: 3, every: 1d}
templates:
  heads_up:
    en: "Hi, this is {{ org.name }}. Your balance of {{ invoice.amount }} is due {{ invoice.due_date }}."
"""


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def fake(clock):
    with FakeTwilio(callbacks=False, clock=clock) as f:
        yield f


@pytest.fixture
def lookup_worker(fake, org, clock, settings):
    """The organization connected to the fake Twilio: its line-type lookups go over HTTP to the fake (texts
    and calls are recorded by the simulated transports, and each call is ended by its status callback)."""
    settings.TWILIO_BASE_URL = fake.base_url
    settings.TWILIO_LOOKUPS_URL = ""  # unset: lookups follow the base URL to the fake
    settings.TWILIO_AUTH_TOKENS = {"DUEDESK_TWILIO_AUTH_TOKEN": fake.auth_token}
    settings.TWILIO_TIMEOUT = PATIENCE
    settings.SMTP_CONFIGURED = False
    org.twilio_account_sid = fake.account_sid
    org.sms_from = org.voice_caller_id = "+12125550199"
    org.window_start, org.window_end = time(8), time(21)
    org.save()
    lines = twilio.transports_for_org(org).lines
    assert isinstance(lines, twilio.TwilioLineTypes) and lines.rest.lookups_url == fake.base_url
    transports = Transports(sms=SimulatedTransport(clock), voice=SimulatedVoice(clock),
                            email=SimulatedTransport(clock), lines=lines)
    return Worker(lambda o: transports, clock=clock, worker_id="lookups")


def load(org, clock, *rows):
    text = "\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n"
    result = import_invoices(org, io.StringIO(text, newline=""), clock())
    assert not result.errors, result.errors


def run_until(worker, clock, end):
    """Tick at each due step (a few minutes apart at least); every call rings out unanswered a minute later."""
    while clock() < end:
        worker.tick()
        for call in Call.objects.filter(ended_at__isnull=True):
            calls.ended(call.pk, "no-answer", call.created_at + timedelta(minutes=1))
        due = Step.objects.filter(status="pending").order_by("run_at").values_list("run_at", flat=True).first()
        if due is None:
            break
        clock.set(max(due, clock() + timedelta(minutes=5)))


def placed(number):
    return list(SimulatedSend.objects.filter(channel="call", to=number).order_by("at").values_list("at", flat=True))


def texts_to(number):
    return list(SimulatedSend.objects.filter(channel="sms", to=number).values_list("body", flat=True))


def most_in_30_days(moments):
    return max((sum(1 for m in moments if start <= m < start + timedelta(days=30)) for start in moments), default=0)


def test_a_landline_gets_no_text_and_at_most_3_automated_calls_in_30_days_without_consent(
        org, clock, fake, lookup_worker):
    definitions.save_version(org, org.workflow_slug, CALLS_AFTER_A_TEXT)
    fake.line_types.update({LANDLINE: "landline", LANDLINE_WITH_CONSENT: "landline"})
    clock.set(utc(2026, 12, 7, 12, 0))  # Monday 07:00 in New York
    load(org, clock, ("INV-1", "Ana", LANDLINE, "10001", "", "120.00", "2026-12-10"),
         ("INV-2", "Ben", LANDLINE_WITH_CONSENT, "10001", "yes", "120.00", "2026-12-10"),
         ("INV-3", "Cy", MOBILE, "10001", "", "120.00", "2026-12-10"))
    assert fake.lookups == []  # the import asks nothing: only numbers about to be contacted are looked up
    clock.set(utc(2026, 12, 7, 13, 0))  # 08:00: the heads-up texts are due
    run_until(lookup_worker, clock, utc(2027, 1, 20))

    # Asked once per number, before the first send, and kept on the line with when.
    assert sorted(fake.lookups) == sorted([LANDLINE, LANDLINE_WITH_CONSENT, MOBILE])
    line = Line.objects.get(address=LANDLINE)
    assert (line.line_type, line.line_type_checked_at) == ("landline", utc(2026, 12, 7, 13, 0))
    assert LineChange.objects.get(line=line, what="line_type").evidence == "landline (Fake Carrier)"

    # No text reaches a landline; the workflow goes on to the call as for an unreachable number.
    assert texts_to(LANDLINE) == [] and texts_to(LANDLINE_WITH_CONSENT) == []
    assert len(texts_to(MOBILE)) == 1
    blocked = Event.objects.get(kind="step.blocked", contact__phone=LANDLINE)
    assert (blocked.detail["rule"], blocked.detail["step"]) == ("landline_text", "heads_up")

    # Without consent: 3 calls, the 4th waits until the first is 30 days old.
    calls_made = placed(LANDLINE)
    first = calls_made[0]
    assert [c - first < timedelta(days=7) for c in calls_made[:4]] == [True, True, True, False]
    assert most_in_30_days(calls_made) == 3
    # The second round's first call waited for the 30 days (and the next open hour: Jan 10 is a Sunday).
    assert calls_made[3] == utc(2027, 1, 11, 13, 0) >= first + timedelta(days=30)
    waited = [e.detail for e in Event.objects.filter(kind="step.deferred", contact__phone=LANDLINE)]
    assert [(d["rule"], d["until"]) for d in waited] == [("landline_calls", calls_made[3].isoformat())]
    # The owner's express consent (the import's consent column) lifts the limit: the second round goes on.
    assert most_in_30_days(placed(LANDLINE_WITH_CONSENT)) == 6


def test_a_failed_lookup_never_holds_the_text_and_the_number_is_asked_again_a_day_later(
        org, clock, fake, lookup_worker):
    definitions.save_version(org, org.workflow_slug, CALLS_AFTER_A_TEXT)
    fake.line_types[LANDLINE] = "landline"
    clock.set(utc(2026, 12, 7, 13, 0))
    load(org, clock, ("INV-1", "Ana", LANDLINE, "10001", "", "120.00", "2026-12-10"))
    fake.fail_lookups(3)  # Lookup is down: every try of the first lookup fails
    lookup_worker.tick()
    assert len(texts_to(LANDLINE)) == 1  # sent with the type unknown, as before lookups existed
    line = Line.objects.get(address=LANDLINE)
    assert (line.line_type, line.line_type_checked_at) == ("", utc(2026, 12, 7, 13, 0))
    assert LineChange.objects.get(line=line, what="line_type").evidence.startswith("lookup failed")
    asked = len(fake.lookups)
    clock.set(utc(2026, 12, 11, 14, 0))  # the late call, four days later: asked again, a landline now
    lookup_worker.tick()
    assert len(fake.lookups) == asked + 1
    line.refresh_from_db()
    assert line.line_type == "landline"
    assert len(placed(LANDLINE)) == 1  # a call is allowed (the first of 3), a text would not be


# ----------------------------------------------------------------------------- when numbers are asked


def test_numbers_are_asked_in_the_hour_before_their_send_so_the_morning_batch_waits_on_none(
        org, clock, fake, lookup_worker):
    """Fifty heads-ups due at 08:00, imported the evening before. The worker's ticks before 08:00 ask for their
    numbers, at most a pass's worth each, and only within the hour before; at 08:00 the batch asks nothing
    and every landline is already known."""
    landlines = {f"+1212555{n:04d}" for n in range(300, 350, 5)}
    fake.line_types.update(dict.fromkeys(landlines, "landline"))
    clock.set(utc(2026, 12, 6, 23, 0))  # Sunday evening
    load(org, clock, *[(f"INV-{n}", "Ana", f"+1212555{n:04d}", "10001", "", "120.00", "2026-12-10")
                       for n in range(300, 350)])
    clock.set(utc(2026, 12, 7, 11, 30))  # 06:30: the texts are due in an hour and a half
    lookup_worker.tick()
    assert fake.lookups == []
    clock.set(utc(2026, 12, 7, 12, 5))  # 07:05
    lookup_worker.tick()
    assert len(fake.lookups) == line_types.PER_PASS  # a bounded pass
    lookup_worker.tick()
    assert len(set(fake.lookups)) == 50
    clock.set(utc(2026, 12, 7, 13, 0))  # 08:00
    lookup_worker.tick()
    assert len(fake.lookups) == 50  # the batch asked nothing
    sent = {to for to in SimulatedSend.objects.filter(channel="sms").values_list("to", flat=True)}
    assert len(sent) == 40 and not sent & landlines
    assert Event.objects.filter(kind="step.blocked", detail__rule="landline_text").count() == 10


def test_a_lookup_outage_costs_a_tick_one_round_and_the_texts_go_with_the_type_unknown(
        org, clock, fake, lookup_worker):
    clock.set(utc(2026, 12, 7, 13, 0))
    load(org, clock, *[(f"INV-{n}", "Ana", f"+1212555{n:04d}", "10001", "", "120.00", "2026-12-10")
                       for n in range(300, 320)])
    fake.fail_lookups(1000)
    lookup_worker.tick()
    assert len(set(fake.lookups)) == line_types.AT_ONCE  # the first round failed: the pass stopped there
    assert SimulatedSend.objects.filter(channel="sms").count() == 20  # nobody waited


def test_an_organization_that_switched_lookups_off_asks_nothing(org, clock, fake, lookup_worker, client):
    from django.contrib.auth import get_user_model

    from duedesk.records.models import Membership
    from tests.web.test_voicemail_settings import SETTINGS

    owner = get_user_model().objects.create_user("owner", "owner@example.com", "a-long-password-1")
    Membership.objects.create(user=owner, organization=org, role="owner")
    client.force_login(owner)
    assert 'value="on" selected' in client.get("/settings/").content.decode()  # on by default
    assert client.post("/settings/", {**SETTINGS, "line_type_lookups": "off"}).status_code == 302
    org.refresh_from_db()
    assert org.line_type_lookups is False
    assert client.post("/settings/", SETTINGS).status_code == 302  # a form without the choice keeps it
    org.refresh_from_db()
    assert org.line_type_lookups is False

    fake.line_types[LANDLINE] = "landline"
    clock.set(utc(2026, 12, 7, 14, 0))  # 09:00, when the window saved above opens
    load(org, clock, ("INV-1", "Ana", LANDLINE, "10001", "", "120.00", "2026-12-10"))
    lookup_worker.tick()
    assert fake.lookups == []
    assert len(texts_to(LANDLINE)) == 1  # the type unknown: sent, as before lookups existed
    assert Line.objects.get(address=LANDLINE).line_type == ""
