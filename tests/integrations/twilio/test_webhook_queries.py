"""The webhooks Twilio waits on stay cheap: the queries of an inbound text and of a call turn are counted, so a
change that adds a query to either fails here (the latency targets, bench/webhook_latency.py, have no room
for a read or a savepoint too many). Counts include the savepoint the test's own transaction turns the
webhook's transaction into."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duedesk.engine import actions
from duedesk.records.models import Call, Message
from tests.integrations.twilio.conftest import CLINIC_NUMBER, payload

pytestmark = pytest.mark.django_db

# An inbound HELP text from a patient with a live enrollment, answered before: the owner by the number it reached;
# the contact, its invoice (with its live enrollment, one query), the text with its event (one statement); whether
# a text went to the number before, the line for the gate; the reply with its event (one statement; the invoice is
# texted already: no UPDATE); the CRM connections, once for both events. SQLite writes each pair in two.
TEXT_QUERIES = 10 if connection.vendor == "postgresql" else 12
# A call turn, one transaction: the call under its lock with its contact, organization and invoice (read once,
# for the signature check and the turn), the turn's key stored unless it is there already (one statement), the
# script's new state.
TURN_QUERIES = 5


def test_an_inbound_text_takes_a_fixed_number_of_queries(twilio_post, hook_clock, connected_org, make_invoice):
    invoice = make_invoice()
    actions.enroll_invoice(invoice, hook_clock())
    phone = invoice.contact.phone
    twilio_post.post("/hooks/twilio/sms", payload("sms_inbound", To=CLINIC_NUMBER, From=phone, Body="HELP",
                                                  MessageSid="SM" + "0" * 32))
    with CaptureQueriesContext(connection) as queries:
        response = twilio_post.post("/hooks/twilio/sms", payload("sms_inbound", To=CLINIC_NUMBER, From=phone,
                                                                 Body="HELP", MessageSid="SM" + "1" * 32))
    assert response.status_code == 200
    assert "Call us at +12125550100" in response.content.decode()  # the HELP answer, in the TwiML
    reply = Message.objects.filter(direction="out", body__contains="Call us at").latest("pk")
    assert reply.status == "queued"
    assert reply.idempotency_key.removeprefix("now:") in response.content.decode()  # its status callback
    sqls = [q["sql"] for q in queries.captured_queries]
    assert len(sqls) == TEXT_QUERIES, "\n".join(sqls)
    assert not any(sql.startswith("UPDATE \"records_message\"") for sql in sqls)  # recorded once, as handed over


def test_an_inbound_text_never_builds_the_organizations_rest_transports(twilio_post, hook_clock, connected_org,
                                                                       make_invoice):
    """A text is answered by text in the webhook's response: no connection pool, no TLS context for the
    organization's Twilio account (which a process's first text would otherwise pay for)."""
    from duedesk.channels import providers

    invoice = make_invoice()
    asked = []
    providers.use(lambda org: asked.append(org.pk))
    response = twilio_post.post("/hooks/twilio/sms", payload("sms_inbound", To=CLINIC_NUMBER,
                                                             From=invoice.contact.phone, Body="HELP"))
    assert response.status_code == 200 and "Call us at" in response.content.decode()
    assert asked == []


def test_a_call_turn_takes_a_fixed_number_of_queries(twilio_post, hook_clock, connected_org, make_invoice):
    invoice = make_invoice()
    call = Call.objects.create(organization=connected_org, contact=invoice.contact, invoice=invoice,
                               to=invoice.contact.phone, sender=CLINIC_NUMBER, status="ringing",
                               provider_id="CA" + "b" * 32, created_at=hook_clock())
    twilio_post.post(f"/hooks/twilio/voice/answer?call={call.pk}", payload("voice_answer", CallSid=call.provider_id))
    with CaptureQueriesContext(connection) as queries:
        response = twilio_post.post(f"/hooks/twilio/voice/turn?call={call.pk}&n=1", payload(
            "voice_turn_speech", CallSid=call.provider_id, SpeechResult="sorry who is calling"))
    assert response.status_code == 200 and "<Gather" in response.content.decode()
    sqls = [q["sql"] for q in queries.captured_queries]
    assert len(sqls) == TURN_QUERIES, "\n".join(sqls)


def _built_reads(monkeypatch) -> list[str]:
    """The SELECTs the ORM builds (compiles) from here on: reads made through records/prepared.py are not."""
    from django.db.models.sql import compiler

    built: list[str] = []
    select = compiler.SQLCompiler.execute_sql

    def execute_sql(self, *args, **kwargs):
        if type(self).__name__ == "SQLCompiler":  # not an INSERT, UPDATE, DELETE or aggregate
            built.append(self.query.model.__name__)
        return select(self, *args, **kwargs)

    monkeypatch.setattr(compiler.SQLCompiler, "execute_sql", execute_sql)
    return built


def test_the_reads_every_text_and_turn_makes_are_not_built_again(twilio_post, hook_clock, connected_org,
                                                                 make_invoice, monkeypatch):
    """Building a query cost the web process more than the database spent running it: the organization, the
    contact, the invoice, whether the number was texted before and its line, the CRM connections the timeline's
    events go to, and a turn's call, are read with SQL built once per process."""
    invoice = make_invoice()
    actions.enroll_invoice(invoice, hook_clock())
    phone = invoice.contact.phone
    call = Call.objects.create(organization=connected_org, contact=invoice.contact, invoice=invoice, to=phone,
                               sender=CLINIC_NUMBER, status="ringing", provider_id="CA" + "d" * 32,
                               created_at=hook_clock())
    twilio_post.post(f"/hooks/twilio/voice/answer?call={call.pk}", payload("voice_answer", CallSid=call.provider_id))
    built = _built_reads(monkeypatch)
    text = twilio_post.post("/hooks/twilio/sms", payload("sms_inbound", To=CLINIC_NUMBER, From=phone, Body="HELP",
                                                         MessageSid="SM" + "2" * 32))
    assert text.status_code == 200 and "Call us at" in text.content.decode()
    assert built == []
    built.clear()
    turn = twilio_post.post(f"/hooks/twilio/voice/turn?call={call.pk}&n=1", payload(
        "voice_turn_speech", CallSid=call.provider_id, SpeechResult="sorry who is calling"))
    assert turn.status_code == 200 and "<Gather" in turn.content.decode()
    assert built == []


@pytest.fixture
def told(monkeypatch):
    """What the timeline's listeners are told, call by call."""
    from duedesk.records import timeline

    calls: list[list[str]] = []
    monkeypatch.setattr(timeline, "_listeners", [lambda events: calls.append([e.kind for e in events])])
    return calls


def test_the_timeline_listeners_hear_a_webhooks_events_once_at_its_end(told, connected_org, make_contact, clock):
    from django.db import transaction

    from duedesk.records.timeline import log, told_once

    contact = make_contact()
    with transaction.atomic(), told_once():
        log(connected_org, "sms.received", clock(), contact=contact)
        with told_once():  # an inner block tells at the outer one's end
            log(connected_org, "sms.sent", clock(), contact=contact)
        assert told == []
    assert told == [["sms.received", "sms.sent"]]
    log(connected_org, "sms.sent", clock(), contact=contact)  # outside a block: told at once
    assert told[-1] == ["sms.sent"]


def test_events_of_a_failed_webhook_are_never_told(told, connected_org, make_contact, clock):
    from django.db import transaction

    from duedesk.records.timeline import log, told_once

    contact = make_contact()
    with pytest.raises(ValueError), transaction.atomic(), told_once():
        log(connected_org, "sms.received", clock(), contact=contact)
        raise ValueError("the text could not be handled")
    assert told == []
    log(connected_org, "sms.sent", clock(), contact=contact)
    assert told == [["sms.sent"]]


def test_the_pay_link_asked_for_during_a_call_is_sent_by_the_worker_not_the_turn(twilio_post, hook_clock,
                                                                                  connected_org, make_invoice,
                                                                                  worker):
    from duedesk.channels.models import SimulatedSend
    from duedesk.records.models import Event

    invoice = make_invoice()
    call = Call.objects.create(organization=connected_org, contact=invoice.contact, invoice=invoice,
                               to=invoice.contact.phone, sender=CLINIC_NUMBER, status="ringing",
                               provider_id="CA" + "c" * 32, created_at=hook_clock())
    twilio_post.post(f"/hooks/twilio/voice/answer?call={call.pk}", payload("voice_answer", CallSid=call.provider_id))
    said = ["Yes, this is Maria.", "March 3rd 1980", "I'll pay now"]
    for n, words in enumerate(said, start=1):
        response = twilio_post.post(f"/hooks/twilio/voice/turn?call={call.pk}&n={n}",
                                    payload("voice_turn_speech", CallSid=call.provider_id, SpeechResult=words))
        assert response.status_code == 200
    # The turn answered without asking the provider: the text is recorded, waiting for the worker.
    assert not SimulatedSend.objects.filter(to=invoice.contact.phone).exists()
    waiting = Message.objects.get(contact=invoice.contact, direction="out")
    assert waiting.status == "waiting" and invoice.pay_link in waiting.body
    assert not Event.objects.filter(contact=invoice.contact, kind="sms.sent").exists()

    hook_clock.advance(seconds=2)
    worker.tick()
    sent = SimulatedSend.objects.get(to=invoice.contact.phone)
    assert invoice.pay_link in sent.body and sent.idempotency_key == waiting.idempotency_key
    waiting.refresh_from_db()
    assert waiting.status not in ("waiting", "sending") and waiting.provider_id
    event = Event.objects.get(contact=invoice.contact, kind="sms.sent")
    assert event.at == hook_clock() and invoice.pay_link in event.detail["body"]
    worker.tick()  # handed over once
    assert SimulatedSend.objects.filter(to=invoice.contact.phone).count() == 1


def test_a_number_found_unreachable_before_the_worker_sends_the_pay_link_stops_it(twilio_post, hook_clock, connected_org, make_invoice,
                                                               worker):
    from duedesk.channels.models import SimulatedSend
    from duedesk.engine.actions.sends import text_later
    from duedesk.records.models import Event

    invoice = make_invoice()
    text_later(invoice.contact, "Here is the link to pay: " + invoice.pay_link, hook_clock(), invoice=invoice)
    # A reply the patient asked for is not stopped by an opt-out, but the gate at sending still reads the line.
    actions.mark_unreachable(invoice.contact, "sms", "invalid_number", hook_clock(), code="21211")
    worker.tick()
    assert not SimulatedSend.objects.filter(to=invoice.contact.phone).exists()
    assert Message.objects.get(contact=invoice.contact, direction="out").status == "blocked"
    assert Event.objects.get(contact=invoice.contact, kind="sms.blocked").detail["rule"] == "channel_unreachable"


def _synchronous_commit() -> str:
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def _answered_call(twilio_post, hook_clock, connected_org, make_invoice, sid: str) -> Call:
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    invoice = make_invoice()
    call = Call.objects.create(organization=connected_org, contact=invoice.contact, invoice=invoice,
                               to=invoice.contact.phone, sender=CLINIC_NUMBER, status="ringing", provider_id=sid,
                               created_at=hook_clock())
    twilio_post.post(f"/hooks/twilio/voice/answer?call={call.pk}", payload("voice_answer", CallSid=sid))
    return call


@pytest.mark.postgres_only
def test_a_turn_that_only_moves_the_script_on_does_not_wait_for_the_disk(twilio_post, hook_clock, connected_org,
                                                                          make_invoice):
    """A question answered changes nothing but where the script is: its transaction commits without waiting for
    the write-ahead log's flush (lost whole, key and state, only if the database server crashes just then)."""
    call = _answered_call(twilio_post, hook_clock, connected_org, make_invoice, "CA" + "e" * 32)
    assert _synchronous_commit() == "on"
    response = twilio_post.post(f"/hooks/twilio/voice/turn?call={call.pk}&n=1", payload(
        "voice_turn_speech", CallSid=call.provider_id, SpeechResult="sorry who is calling"))
    assert response.status_code == 200 and "<Gather" in response.content.decode()
    assert _synchronous_commit() == "off"  # SET LOCAL: the test's own transaction is still the turn's


@pytest.mark.postgres_only
def test_a_turn_that_opens_a_handoff_waits_for_the_disk(twilio_post, hook_clock, connected_org, make_invoice):
    from duedesk.records.models import Handoff

    call = _answered_call(twilio_post, hook_clock, connected_org, make_invoice, "CA" + "f" * 32)
    response = twilio_post.post(f"/hooks/twilio/voice/turn?call={call.pk}&n=1", payload(
        "voice_turn_speech", CallSid=call.provider_id, SpeechResult="I want to speak to a person please"))
    assert response.status_code == 200
    assert Handoff.objects.filter(contact=call.contact).exists()
    assert _synchronous_commit() == "on"


@pytest.mark.postgres_only
def test_a_help_text_is_answered_without_waiting_for_the_disk(twilio_post, hook_clock, connected_org, make_invoice):
    """HELP changes nothing about the patient: the text and its answer commit without waiting for the write-ahead
    log's flush (lost together, never half, only if the database server crashes just then)."""
    invoice = make_invoice()
    assert _synchronous_commit() == "on"
    response = twilio_post.post("/hooks/twilio/sms", payload("sms_inbound", To=CLINIC_NUMBER,
                                                             From=invoice.contact.phone, Body="HELP"))
    assert response.status_code == 200 and "Call us at" in response.content.decode()
    assert Message.objects.filter(contact=invoice.contact, direction="in", body="HELP").exists()
    assert _synchronous_commit() == "off"  # SET LOCAL: the test's own transaction is still the text's


@pytest.mark.postgres_only
@pytest.mark.parametrize("body", ["STOP", "I can pay on Friday", "Who is this?"])
def test_a_text_that_changes_anything_waits_for_the_disk(twilio_post, hook_clock, connected_org, make_invoice, body):
    """An opt-out, a promise, the consent a text gives: their commit waits for the flush, as before."""
    invoice = make_invoice()
    actions.enroll_invoice(invoice, hook_clock())
    response = twilio_post.post("/hooks/twilio/sms", payload("sms_inbound", To=CLINIC_NUMBER,
                                                             From=invoice.contact.phone, Body=body))
    assert response.status_code == 200
    assert Message.objects.filter(contact=invoice.contact, direction="in", body=body).exists()
    assert _synchronous_commit() == "on"
