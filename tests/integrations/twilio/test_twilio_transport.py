"""The engine against FakeTwilio over loopback: texts, delivery callbacks into a live server, replies,
calls (a person, a machine, nobody), faults, and the per-organization configuration."""

from __future__ import annotations

import runpy
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import duedesk.settings
from duedesk.channels.registry import PerOrganization
from duedesk.engine import actions, definitions
from duedesk.engine.models import Step
from duedesk.integrations.twilio import transport as twilio
from duedesk.integrations.twilio.fake import Callee
from duedesk.records.models import Call, Event, Message
from tests.integrations.twilio.conftest import lose_the_next_answer

CLINIC = "+12125550199"


# ----------------------------------------------------------------------------- configuration


@pytest.mark.django_db
def test_without_credentials_the_organization_is_simulated(org, settings):
    settings.TWILIO_AUTH_TOKENS, settings.TWILIO_ACCOUNT_SID, settings.SMTP_CONFIGURED = {}, "", False
    org.sms_from = CLINIC
    org.save()
    assert twilio.transports_for_org(org) is None
    assert twilio.channel_status(org) == {"sms": "simulated", "call": "simulated", "email": "simulated"}
    per_org = PerOrganization(lambda: None, factory=twilio.transports_for_org)
    assert per_org(org) is per_org.fallback



@pytest.mark.django_db
def test_settings_saved_in_the_app_reach_a_running_process_at_its_next_send(org, settings):
    """A process keeps its transports between sends; a new sender saved on Settings → Twilio is used at once."""
    from duedesk.records.models import Organization

    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKENS = {"CLINIC_A_TWILIO_TOKEN": "secret-a"}
    settings.TWILIO_BASE_URL = "http://127.0.0.1:9/"
    org.twilio_auth_token_env, org.sms_from = "CLINIC_A_TWILIO_TOKEN", CLINIC
    org.save()
    per_org = PerOrganization(lambda: None, factory=twilio.transports_for_org)
    first = per_org(Organization.objects.get(pk=org.pk))
    assert first.sms.sender == CLINIC
    assert per_org(Organization.objects.get(pk=org.pk)) is first  # kept while nothing changed

    Organization.objects.filter(pk=org.pk).update(sms_from="+12125550142")  # the office saves a new sender
    assert per_org(Organization.objects.get(pk=org.pk)).sms.sender == "+12125550142"

@pytest.mark.django_db
def test_credentials_from_the_environment(org, settings):
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKENS = {"CLINIC_A_TWILIO_TOKEN": "secret-a"}
    settings.TWILIO_BASE_URL = "http://127.0.0.1:9/"
    settings.SMTP_CONFIGURED = False
    org.twilio_auth_token_env = "CLINIC_A_TWILIO_TOKEN"
    org.messaging_service_sid = "MG" + "2" * 32
    org.save()
    config = twilio.twilio_config(org)
    assert (config.account_sid, config.auth_token, config.base_url) == ("AC" + "1" * 32, "secret-a",
                                                                         "http://127.0.0.1:9")
    assert twilio.channel_status(org) == {"sms": "twilio", "call": "simulated", "email": "simulated"}
    transports = twilio.transports_for_org(org)
    assert isinstance(transports.sms, twilio.TwilioSms)
    assert transports.sms.messaging_service_sid == org.messaging_service_sid
    assert transports.voice.name == "simulated"
    org.voice_caller_id = CLINIC
    settings.SMTP_CONFIGURED = True
    assert twilio.channel_status(org) == {"sms": "twilio", "call": "twilio", "email": "smtp"}


@pytest.mark.django_db
def test_the_token_variable_must_be_a_twilio_one(org, monkeypatch, settings, tmp_path):
    """An organization's settings can't point the token at another secret of the process."""
    monkeypatch.setenv("DUEDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DUEDESK_SECRET_KEY", "not-a-twilio-token")
    monkeypatch.setenv("CLINIC_A_TWILIO_TOKEN", "secret-a")
    fresh = runpy.run_path(str(Path(duedesk.settings.__file__)))  # settings.py as a new process reads it
    assert fresh["TWILIO_AUTH_TOKENS"].get("CLINIC_A_TWILIO_TOKEN") == "secret-a"
    assert "DUEDESK_SECRET_KEY" not in fresh["TWILIO_AUTH_TOKENS"]
    settings.TWILIO_AUTH_TOKENS = fresh["TWILIO_AUTH_TOKENS"]
    org.twilio_account_sid = "AC" + "1" * 32
    org.twilio_auth_token_env = "DUEDESK_SECRET_KEY"
    assert twilio.auth_token(org) == ""
    assert twilio.twilio_config(org) is None
    org.twilio_auth_token_env = "CLINIC_A_TWILIO_TOKEN"
    assert twilio.auth_token(org) == "secret-a"


# ----------------------------------------------------------------------------- the engine over loopback


def late_call_due(make_invoice, clock, **contact):
    """An invoice whose late call is due now."""
    invoice = make_invoice(due=date(2026, 11, 25))
    if contact:
        for k, v in contact.items():
            setattr(invoice.contact, k, v)
        invoice.contact.save()
    enrollment = actions.enroll_invoice(invoice, clock())
    actions._cancel_pending(enrollment, clock())
    actions.go_to_step(enrollment, definitions.parsed(enrollment.workflow), "late_call", clock())
    return invoice


@pytest.mark.django_db(transaction=True)
def test_text_delivered_then_the_reply_lands_on_the_timeline(wired, make_invoice, clock):
    fake = wired.fake
    invoice = make_invoice(due=date(2026, 12, 10))
    contact = invoice.contact
    actions.enroll_invoice(invoice, clock())
    assert wired.worker.run_until_idle() >= 1

    assert len(fake.messages) == 1
    sent = fake.messages[0]
    assert (sent["To"], sent["From"]) == (contact.phone, CLINIC)
    message = Message.objects.get(invoice=invoice, direction="out")
    assert sent["Body"] == message.body and sent["sid"] == message.provider_id
    assert sent["StatusCallback"] == (f"{wired.url}/hooks/twilio/sms/status?key="
                                      + message.idempotency_key.replace(":", "%3A"))
    assert sent["idempotency_token"] == message.idempotency_key

    fake.flush()  # Twilio reports sent, then delivered, to our live server
    assert [c["status"] for c in fake.callback_log] == [204, 204]
    message.refresh_from_db()
    assert message.status == "delivered"
    assert Event.objects.filter(kind="sms.delivered", invoice=invoice).count() == 1

    response = fake.send_inbound_sms(f"{wired.url}/hooks/twilio/sms", from_=contact.phone, to=CLINIC,
                                     body="What is my balance?")
    assert response.status_code == 200
    received = Event.objects.get(kind="sms.received", contact=contact)
    assert received.detail["body"] == "What is my balance?"
    assert received.at == clock()
    # Our answer went out through Twilio as well: the identity question before any amount.
    assert len(fake.messages) == 2 and "date of birth" in fake.messages[1]["Body"]
    assert "$" not in fake.messages[1]["Body"]


@pytest.mark.django_db(transaction=True)
def test_rate_limited_and_server_errors_are_retried_then_sent_once(wired, make_invoice, clock):
    fake = wired.fake
    invoice = make_invoice(due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock())
    fake.fail_next(1, status=429, retry_after=2)
    fake.fail_next(1, status=500)
    wired.worker.tick()
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    assert (step.status, step.attempts) == ("pending", 1)
    assert step.run_at >= clock() + timedelta(seconds=2)  # Retry-After is honoured
    assert Message.objects.get(step=step).status == "retrying"
    clock.advance(minutes=10)
    wired.worker.tick()
    step.refresh_from_db()
    assert (step.status, step.attempts) == ("pending", 2)
    clock.advance(minutes=10)
    wired.worker.tick()
    step.refresh_from_db()
    assert step.status == "done"
    assert len(fake.messages) == 1
    assert fake.counters["faults_injected"] == 2
    assert Message.objects.get(step=step).provider_id == fake.messages[0]["sid"]
    assert Event.objects.filter(kind="sms.sent", invoice=invoice).count() == 1
    assert Event.objects.filter(kind="sms.retrying", invoice=invoice).count() == 2


@pytest.mark.django_db(transaction=True)
def test_timeout_after_twilio_accepted_is_not_sent_again(wired, make_invoice, clock, monkeypatch):
    fake = wired.fake
    invoice = make_invoice(due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock())
    lose_the_next_answer(fake, wired.transports.sms.rest, monkeypatch, lambda: fake.messages)
    wired.worker.run_until_idle()
    clock.advance(hours=1)
    wired.worker.run_until_idle()
    assert len(fake.messages) == 1
    message = Message.objects.get(invoice=invoice, direction="out")
    assert message.provider_id == fake.messages[0]["sid"]
    assert Step.objects.get(enrollment__invoice=invoice, step_id="heads_up").status == "done"


@pytest.mark.django_db(transaction=True)
def test_invalid_number_takes_the_fallback(wired, make_invoice, clock):
    fake = wired.fake
    invoice = make_invoice(due=date(2026, 12, 10))
    contact = invoice.contact
    fake.error_for(contact.phone, 21211)
    actions.enroll_invoice(invoice, clock())
    wired.worker.tick()
    contact.refresh_from_db()
    assert contact.unreachable == {"sms": "invalid_number"}
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    assert step.status == "failed"
    assert Message.objects.get(step=step).error_code == "21211"
    following = Step.objects.filter(enrollment__invoice=invoice, status="pending").get()
    assert following.step_id == "past_due"
    assert fake.messages == [] and fake.counters["rejected"] == 1


@pytest.mark.django_db(transaction=True)
def test_delivery_failure_by_callback_marks_the_number(wired, make_invoice, clock):
    fake = wired.fake
    invoice = make_invoice(due=date(2026, 12, 10))
    fake.error_for(invoice.contact.phone, 30003)
    actions.enroll_invoice(invoice, clock())
    wired.worker.tick()
    fake.flush()
    message = Message.objects.get(invoice=invoice, direction="out")
    assert (message.status, message.error_code) == ("undelivered", "30003")
    invoice.contact.refresh_from_db()
    assert invoice.contact.unreachable == {"sms": "unreachable"}
    assert Event.objects.get(kind="sms.undelivered").detail["code"] == "30003"


# ----------------------------------------------------------------------------- calls


@pytest.mark.django_db(transaction=True)
def test_person_answers_and_promises(wired, make_invoice, clock):
    fake = wired.fake
    invoice = late_call_due(make_invoice, clock)
    lines = ["yes this is me", "march third 1980", "i can pay on friday", "yes that's right", "no thank you bye"]
    fake.script_call(invoice.contact.phone, Callee.person(lines=lines))
    wired.worker.tick()
    call = Call.objects.get(invoice=invoice)
    assert call.status == "ringing"
    placed = fake.calls[0]
    assert placed["Url"] == f"{wired.url}/hooks/twilio/voice/answer?call={call.pk}"
    assert placed["MachineDetection"] == "DetectMessageEnd" and placed["AsyncAmd"] == "true"
    assert placed["AsyncAmdStatusCallback"] == f"{wired.url}/hooks/twilio/voice/amd?call={call.pk}"
    assert placed["StatusCallback"] == f"{wired.url}/hooks/twilio/voice/status?call={call.pk}"
    assert placed["Record"] == "false"
    fake.flush()
    placed = fake.call(call.provider_id)
    assert placed.errors == []
    assert placed.said[:3] == lines[:3]
    call.refresh_from_db()
    assert call.ended_at is not None and call.status == "completed"
    completed = Event.objects.get(kind="call.completed", invoice=invoice)
    said = [t["text"] for t in completed.detail["transcript"] if t["speaker"] == "patient"]
    assert said[:3] == lines[:3]
    assert any("Maria" in t["text"] for t in completed.detail["transcript"] if t["speaker"] != "patient")
    assert invoice.promises.filter(status="pending").exists()
    # Who answered comes from the answering-machine detection's callback, logged once.
    (answered,) = Event.objects.filter(kind="call.answered", invoice=invoice)
    assert answered.detail["answered_by"] == "human"


@pytest.mark.django_db(transaction=True)
def test_machine_gets_the_limited_content_voicemail(wired, make_invoice, clock):
    fake = wired.fake
    invoice = late_call_due(make_invoice, clock)
    fake.script_call(invoice.contact.phone, Callee.voicemail())
    wired.worker.tick()
    fake.flush()
    call = Call.objects.get(invoice=invoice)
    placed = fake.call(call.provider_id)
    # Word for word: the organization, the person to ask for, the number we called from (the assistant answers
    # it: the invoice question hotline). Nothing else.
    expected = "Hello, this is Dana from Maple Clinic. Please call us back at 2 1 2, 5 5 5, 0 1 9 9. Thank you."
    assert placed.voicemail == expected
    assert placed.updates and "<Hangup" in placed.updates[0]["Twiml"]
    call.refresh_from_db()
    assert (call.answered_by, call.outcome) == ("machine", "voicemail")
    assert Event.objects.get(kind="call.voicemail").detail["text"] == expected
    assert call.ended_at is not None
    # The answer webhook came first, but the timeline never says a person answered a machine.
    assert not Event.objects.filter(kind="call.answered").exists()


@pytest.mark.django_db(transaction=True)
def test_no_answer_plans_a_retry_inside_the_send_window(wired, make_invoice, clock):
    fake = wired.fake
    invoice = late_call_due(make_invoice, clock)
    fake.script_call(invoice.contact.phone, Callee.no_answer())
    wired.worker.tick()
    fake.flush()
    call = Call.objects.get(invoice=invoice)
    assert (call.status, call.outcome) == ("no-answer", "no_answer")
    retry = Step.objects.get(enrollment__invoice=invoice, step_id="late_call", status="pending")
    assert retry.occurrence == 2 and retry.run_at > clock()
    local = retry.run_at.astimezone(ZoneInfo("America/New_York"))
    window = wired.org.send_window()
    assert window.start <= local.time() < window.end
    assert Event.objects.filter(kind="call.retry_planned", invoice=invoice).count() == 1
    clock.set(retry.run_at)
    wired.worker.tick()
    assert len(fake.calls) == 2


@pytest.mark.django_db(transaction=True)
def test_recording_only_when_the_organization_records(wired, make_invoice, clock):
    wired.org.recording = True
    wired.org.save()
    invoice = late_call_due(make_invoice, clock)
    wired.fake.script_call(invoice.contact.phone, Callee.no_answer())
    wired.worker.tick()
    assert wired.fake.calls[0]["Record"] == "true"


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_are_capped_per_organization(wired, make_invoice, clock):
    wired.org.max_concurrent_calls = 1
    wired.org.save()
    wired.transports.voice.max_concurrent = 1
    first = late_call_due(make_invoice, clock)
    second = late_call_due(make_invoice, clock)
    wired.worker.tick()
    assert len(wired.fake.calls) == 1
    waiting = Step.objects.get(step_id="late_call", status="pending")
    assert waiting.run_at >= clock() + timedelta(seconds=twilio.CAPACITY_RETRY_AFTER)
    assert {first.pk, second.pk} == set(Call.objects.values_list("invoice_id", flat=True))
    wired.fake.flush()  # the first call ends (nobody home by default: a person who says nothing)
    clock.advance(minutes=1)
    wired.worker.tick()
    assert len(wired.fake.calls) == 2



@pytest.mark.django_db(transaction=True)
def test_call_request_timing_out_after_twilio_took_it_is_reconciled_not_redialled(wired, make_invoice, clock,
                                                                                  monkeypatch):
    """Twilio has no idempotency key for calls (the fake doesn't dedupe them either): only the lookup
    in Twilio's Calls list stands between a lost answer and a second call to the patient."""
    fake = wired.fake
    invoice = late_call_due(make_invoice, clock)
    fake.script_call(invoice.contact.phone, Callee.no_answer())
    lose_the_next_answer(fake, wired.transports.voice.rest, monkeypatch, lambda: fake.calls)  # the call is made
    wired.worker.tick()
    clock.advance(minutes=10)
    wired.worker.tick()
    assert len(fake.calls) == 1
    call = Call.objects.get(invoice=invoice)
    assert call.provider_id == fake.calls[0].sid
    assert call.status == "ringing"
    assert Step.objects.get(enrollment__invoice=invoice, step_id="late_call", occurrence=1).status == "waiting"
    assert not Event.objects.filter(kind="call.retrying", invoice=invoice).exists()


@pytest.mark.django_db(transaction=True)
def test_voice_lookup_reads_the_calls_list(wired, make_invoice, clock):
    """Queued calls (no start time yet) and dialed ones are both found; calls another row owns,
    other numbers and other callers are not; two unclaimed calls are not guessed between."""
    from duedesk.channels.errors import TransportError

    fake = wired.fake
    voice = wired.transports.voice
    invoice = make_invoice()
    phone = invoice.contact.phone
    since = clock() - timedelta(minutes=5)

    def row(key, **kw):
        return Call.objects.create(organization=wired.org, contact=invoice.contact, invoice=invoice, to=phone,
                                   sender=CLINIC, status="dialing", idempotency_key=key, created_at=clock(), **kw)

    assert voice.lookup("no-such-key", phone, since) is None
    mine = row("e1:late_call:1")
    assert voice.lookup(mine.idempotency_key, phone, since) is None  # Twilio has no call to the number
    voice.rest.create_call(to="+12125550111", from_=CLINIC, url="http://x/a", status_callback="http://x/s")
    voice.rest.create_call(to=phone, from_="+12125550000", url="http://x/a", status_callback="http://x/s")
    assert voice.lookup(mine.idempotency_key, phone, since) is None  # another number, another caller
    placed = voice.rest.create_call(to=phone, from_=CLINIC, url="http://x/a", status_callback="http://x/s")
    assert fake.call(placed["sid"]).status == "queued"  # callbacks are manual: not dialed yet
    found = voice.lookup(mine.idempotency_key, phone, since)
    assert found.provider_id == placed["sid"]
    fake.flush()  # now dialed (and over): found by its start time
    assert fake.call(placed["sid"]).status != "queued"
    assert voice.lookup(mine.idempotency_key, phone, since).provider_id == placed["sid"]

    row("e1:late_call:2", provider_id=placed["sid"], )  # another row owns it
    assert voice.lookup(mine.idempotency_key, phone, since) is None
    second = voice.rest.create_call(to=phone, from_=CLINIC, url="http://x/a", status_callback="http://x/s")
    assert voice.lookup(mine.idempotency_key, phone, since).provider_id == second["sid"]
    voice.rest.create_call(to=phone, from_=CLINIC, url="http://x/a", status_callback="http://x/s")
    with pytest.raises(TransportError):
        voice.lookup(mine.idempotency_key, phone, since)  # two unclaimed calls: not a guess
    mine.provider_id = "CA" + "c" * 32  # a webhook already named ours
    mine.save()
    assert voice.lookup(mine.idempotency_key, phone, since).provider_id == "CA" + "c" * 32


# ----------------------------------------------------------------------------- errors about us, not the patient


def _owners(org):
    from django.contrib.auth import get_user_model

    from duedesk.records.models import Membership

    users = get_user_model().objects
    for name, role in (("olga", "owner"), ("omar", "owner"), ("sam", "staff")):
        Membership.objects.create(user=users.create_user(name, f"{name}@clinic.example", "a-long-password-1"),
                                  organization=org, role=role)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status, code", [(401, 20003), (400, 21212), (400, 21606), (400, 21659), (400, 0),
                                          (422, 0)])
def test_an_error_about_our_account_pauses_the_channel_and_leaves_the_patient_alone(status, code, wired,
                                                                                    make_invoice, clock):
    from django.core import mail

    fake = wired.fake
    _owners(wired.org)
    first, second = make_invoice(due=date(2026, 12, 10)), make_invoice(due=date(2026, 12, 10))
    fake.fail_next(1, status=status, code=code)
    actions.enroll_invoice(first, clock())
    actions.enroll_invoice(second, clock())
    wired.worker.run_until_idle()
    # Nobody's number is marked, and nothing was texted after the first refusal.
    for invoice in (first, second):
        invoice.contact.refresh_from_db()
        assert invoice.contact.unreachable == {}
        assert not Event.objects.filter(kind="contact.unreachable", contact=invoice.contact).exists()
        assert Step.objects.get(enrollment__invoice=invoice, step_id="heads_up").status == "held"
    assert fake.messages == [] and fake.counters["faults_injected"] == 1
    wired.org.refresh_from_db()
    assert wired.org.paused_channels["sms"]["code"] == (str(code) if code else str(status))
    # The owners are told once, in words; staff members are not owners.
    (alert,) = mail.outbox
    assert sorted(alert.to) == ["olga@clinic.example", "omar@clinic.example"]
    assert "Texts are paused" in alert.subject and "/settings/" in alert.body
    assert Event.objects.filter(kind="channel.paused").count() == 1
    assert Event.objects.filter(kind="sms.held").count() == 2

    # A person fixes the account and resumes texts: the held reminders go out, once each.
    from duedesk.engine.actions.channels import resume_channel

    assert resume_channel(wired.org, "sms", clock(), actor="olga")
    wired.worker.run_until_idle()
    assert sorted(m["To"] for m in fake.messages) == sorted([first.contact.phone, second.contact.phone])
    assert Step.objects.filter(step_id="heads_up", status="done").count() == 2
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_delivery_report_about_our_sender_pauses_texts_not_the_number(wired, make_invoice, clock):
    from django.core import mail

    fake = wired.fake
    _owners(wired.org)
    invoice = make_invoice(due=date(2026, 12, 10))
    fake.error_for(invoice.contact.phone, 30034)  # our number is not registered for texting
    actions.enroll_invoice(invoice, clock())
    wired.worker.tick()
    fake.flush()
    invoice.contact.refresh_from_db()
    assert invoice.contact.unreachable == {}
    wired.org.refresh_from_db()
    assert wired.org.paused_channels["sms"]["code"] == "30034"
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("code, effect", [(21211, "invalid_number"), (21610, "opted_out"), (21614, "not_mobile")])
def test_an_error_about_the_number_marks_it_and_pauses_nothing(code, effect, wired, make_invoice, clock):
    from django.core import mail

    fake = wired.fake
    invoice = make_invoice(due=date(2026, 12, 10))
    fake.error_for(invoice.contact.phone, code)
    actions.enroll_invoice(invoice, clock())
    wired.worker.tick()
    invoice.contact.refresh_from_db()
    assert invoice.contact.unreachable == {"sms": effect}
    wired.org.refresh_from_db()
    assert wired.org.paused_channels == {} and mail.outbox == []
