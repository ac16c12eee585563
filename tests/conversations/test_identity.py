"""The balance and the due date are said or texted only after the date of birth (or ZIP) matches exactly,
in the order the contact's language and country write dates; without a BAA a call says nothing of the bill."""

from datetime import UTC, date, datetime

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.conversations import calls
from duedesk.conversations.texts import receive_text
from duedesk.engine import actions
from duedesk.records.models import Call, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def texted(make_invoice, make_contact, clock, worker):
    invoice = make_invoice(due=date(2026, 12, 10), contact=make_contact(date_of_birth=date(1980, 3, 4)))
    clock.set(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    return invoice


def reply(invoice, body, clock, transports):
    clock.advance(minutes=2)
    receive_text(invoice.organization, invoice.contact.phone, "+12125550000", body, clock(), transports,
                 provider_id=f"SM{clock().timestamp():.0f}{len(body)}")
    return SimulatedSend.objects.order_by("pk").last().body


def test_how_much_do_i_owe_gets_no_amount_until_the_date_of_birth_matches(texted, clock, transports):
    asked = reply(texted, "how much do I owe?", clock, transports)
    assert "date of birth (MM/DD/YYYY)" in asked and "$" not in asked
    assert "$" not in reply(texted, "04/03/1980", clock, transports)  # day and month swapped: not accepted
    answer = reply(texted, "03/04/1980", clock, transports)
    assert "$120.00" in answer and "December 10" in answer
    assert list(Event.objects.filter(kind__startswith="sms.identity").values_list("kind", flat=True)) == [
        "sms.identity_asked", "sms.identity_failed", "sms.identity_asked", "sms.identity_verified"]
    # Confirmed for a while: the next question is answered at once.
    assert "$120.00" in reply(texted, "when is it due?", clock, transports)


def test_two_wrong_dates_of_birth_go_to_a_person(texted, clock, transports):
    reply(texted, "what's my balance?", clock, transports)
    reply(texted, "1/1/1990", clock, transports)
    last = reply(texted, "2/2/1991", clock, transports)
    assert "could not confirm your identity" in last and "+12125550100" in last
    assert texted.handoffs.get().reason == "identity_failed"
    assert SimulatedSend.objects.filter(body__contains="$120").count() == 1  # the workflow's reminder only


def test_a_spanish_speaker_in_mexico_writes_the_day_first(texted, clock, transports):
    contact = texted.contact
    contact.language, contact.phone = "es", "+525512345678"
    contact.save()
    asked = reply(texted, "¿cuánto debo?", clock, transports)
    assert "DD/MM/AAAA" in asked
    assert "$120.00" in reply(texted, "04/03/1980", clock, transports)


def test_pay_now_by_text_sends_the_link_without_the_amount(texted, clock, transports):
    body = reply(texted, "send me the link to pay", clock, transports)
    assert texted.pay_link in body and "$" not in body


@pytest.fixture
def answered(make_invoice, make_contact, clock, worker):
    def ring(**org_settings):
        invoice = make_invoice(due=date(2026, 12, 10), contact=make_contact(date_of_birth=date(1980, 3, 4)))
        for key, value in org_settings.items():
            setattr(invoice.organization, key, value)
        invoice.organization.save()
        clock.set(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
        actions.enroll_invoice(invoice, clock())
        worker.tick()
        clock.set(datetime(2026, 12, 15, 15, 0, tzinfo=UTC))
        worker.tick()
        worker.tick()
        call = Call.objects.get(invoice=invoice)
        calls.answered(call.pk, clock())
        return call
    return ring


def say(call, text, clock):
    clock.advance(seconds=20)
    return calls.heard(call.pk, text, clock(), turn_key=f"t{clock().timestamp()}")


def test_a_swapped_date_of_birth_on_a_call_is_not_accepted(answered, clock):
    call = answered()
    say(call, "yes", clock)
    turn = say(call, "four three nineteen eighty", clock)  # April 3: swapped
    assert "$" not in turn.say and "couldn't confirm" in turn.say
    assert "$120.00" in say(call, "three four nineteen eighty", clock).say


@pytest.mark.parametrize("setting", [{"twilio_baa_signed": False}, {"identity_check": "name_only"}])
def test_without_a_baa_or_with_name_only_the_call_discloses_nothing(answered, setting, clock):
    call = answered(**setting)
    turn = say(call, "yes", clock)
    assert turn.done and "$" not in turn.say and "balance" not in turn.say
    assert "Please call Maple Clinic back at" in turn.say
    event = Event.objects.get(kind="call.identity_failed")
    assert event.detail["reason"] == ("no_baa" if "twilio_baa_signed" in setting else "name_only")
