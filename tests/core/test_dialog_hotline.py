"""The hotline's script (core/dialog/hotline.py), pure: who is calling, the office's hours, the message taken
when it is closed. The conversation after identity is the reminder call's (tests/core/test_dialog.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal

from duedesk.core.dialog import hotline
from tests.core.test_dialog import CTX, DETAILS, DOB_OK, YES, U

INBOUND = replace(CTX, inbound=True, invoice_ref="INV-2041", billed=Decimal("150.00"),
                  transfer_number="+12125550100")
CALLER = hotline.Caller(org_name="Sunrise Family Clinic", number="+12125550777", lang="en",
                        office_number="+12125550100", names=[("Rosa", "Diaz"), ("Tomas", "Diaz")])


def talk(ctx, *answers):
    turns = [hotline.greet(ctx)]
    for heard, text in answers:
        assert not turns[-1].done
        turns.append(hotline.respond(ctx, json.loads(json.dumps(turns[-1].state)), heard, text))
    return turns


def test_the_greeting_names_the_organization_and_says_it_is_automated():
    assert hotline.greet(INBOUND).say == ("Hello, you've reached Sunrise Family Clinic. This is an automated "
                                          "assistant. Am I speaking with Dana Reyes?")


def test_after_identity_the_caller_says_what_they_want():
    turns = talk(INBOUND, YES, DOB_OK, (U("question", question_topic="what_for"), "what is this for"))
    assert turns[2].say.startswith("Thank you for confirming. How can I help you today?")
    assert "120" not in turns[2].say  # they called: nothing is read out before they ask
    assert turns[3].say.startswith("It's invoice I N V, 2 0 4 1 from Sunrise Family Clinic, billed at $150.00, "
                                   "and $120.50 of it is still open. I don't have the details of the visit here")


def test_office_open_hours_weekends_holidays_and_closed_days():
    nine, five = time(9), time(17)
    monday_10 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert hotline.office_open(monday_10, "America/New_York", nine, five)
    assert not hotline.office_open(datetime(2026, 12, 7, 22, 30, tzinfo=UTC), "America/New_York", nine, five)
    assert not hotline.office_open(datetime(2026, 12, 12, 15, 0, tzinfo=UTC), "America/New_York", nine, five)
    assert not hotline.office_open(monday_10, "America/New_York", nine, five, frozenset({date(2026, 12, 7)}))


def test_closed_office_takes_a_message_that_becomes_the_handoff():
    closed = replace(INBOUND, business_hours_open=False)
    turns = talk(closed, YES, DOB_OK, (U("hardship"), "i lost my job"), (U("unclear"), "call me after 5"))
    assert turns[3].say.startswith("I'm sorry to hear things are difficult right now")
    assert "Our office is closed right now." in turns[3].say and turns[3].listen
    last = turns[4]
    assert last.done and last.outcome == "hardship" and last.transfer_to is None
    (handoff,) = [e for e in last.effects if e.kind == "open_handoff"]
    assert handoff.data["reason"] == "hardship" and handoff.data["message"] == "call me after 5"
    assert 'Message left after hours: "call me after 5"' in handoff.data["summary"]
    assert "i lost my job" in handoff.data["summary"]


def test_a_hang_up_while_the_message_is_taken_still_reaches_a_person():
    closed = replace(INBOUND, business_hours_open=False)
    turns = talk(closed, YES, DOB_OK, (U("request_human"), "a person please"))
    (effect,) = hotline.hung_up(closed, turns[-1].state)
    assert effect.data["reason"] == "request_human" and "No message left" in effect.data["summary"]
    assert hotline.hung_up(closed, turns[-2].state) == ()


def test_open_office_transfers():
    last = talk(replace(INBOUND, business_hours_open=True), YES, DOB_OK, (U("dispute"), "this is wrong"))[-1]
    assert last.transfer_to == "+12125550100" and last.done


def test_unknown_caller_gets_the_office_number_and_a_handoff():
    turn = hotline.greet_unknown(replace(CALLER, names=[]))
    assert turn.done and "2 1 2, 5 5 5, 0 1 0 0" in turn.say
    assert [e.data["reason"] for e in turn.effects] == ["unknown_caller"]
    for word in DETAILS:
        assert word.lower() not in turn.say.lower()


def test_several_on_the_number_the_full_name_picks_one_and_nothing_else_does():
    first = hotline.greet_several(CALLER)
    assert "Rosa" not in first.say and "Tomas" not in first.say and first.listen
    index, _ = hotline.which(CALLER, first.state, "hi it's Tomás Díaz")
    assert index == 1
    index, again = hotline.which(CALLER, first.state, "diaz")  # both are Diaz: not enough
    assert index is None and again.listen and "once more" in again.say
    index, end = hotline.which(CALLER, again.state, "someone else")
    assert index is None and end.done and end.outcome == "identity_failed"
    assert {e.kind for e in end.effects} == {"identity_failed", "open_handoff"}
    assert "Rosa" not in end.say and "2 1 2, 5 5 5, 0 1 0 0" in end.say


def test_spanish_caller_greeting():
    es = replace(INBOUND, lang="es")
    assert hotline.greet(es).say.startswith("Hola, se ha comunicado con Sunrise Family Clinic.")
    assert hotline.greet(es).lang == "es-US"
