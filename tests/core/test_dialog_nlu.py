"""A few whole calls through the real understanding, as the voice webhook runs them."""

from dataclasses import replace
from datetime import date

import pytest

from duedesk.core import nlu
from duedesk.core.dialog import collected, respond, start
from duedesk.core.nlu import llm
from tests.core.test_dialog import CTX, FRIDAY, effect


@pytest.fixture(autouse=True)
def _rules_only(monkeypatch):
    # The optional language-model second opinion must never make these tests reach out.
    monkeypatch.setattr(llm, "SETTINGS", llm.LlmSettings())


def call(ctx, *said):
    turns = [start(ctx)]
    for text in said:
        heard = nlu.understand(text, ctx.now, ctx.tz, ctx.lang) if text else None
        turns.append(respond(ctx, turns[-1].state, heard, text))
    return turns


def test_a_promise_in_english():
    turns = call(CTX, "yes, this is Dana", "March 3rd, 1980", "I can pay on Friday", "yes")
    assert turns[-2].say == "Friday, December 5. Is that right?"
    assert turns[-1].outcome == "promised"
    assert effect(turns[-1], "record_promise").data["date"] == FRIDAY


def test_a_promise_in_spanish():
    ctx = replace(CTX, lang="es")
    turns = call(
        ctx, "sí, soy yo", "el tres de marzo de mil novecientos ochenta", "puedo pagar el viernes", "sí"
    )
    assert turns[-2].say == "El viernes, 5 de diciembre. ¿Es correcto?"
    assert collected(turns[-1].state)["promised_date"] == FRIDAY.isoformat()


def test_a_vague_day_then_a_specific_one():
    turns = call(CTX, "speaking", "3/3/1980", "sometime next week", "Tuesday the 9th", "yes")
    assert "specific day" in turns[3].say
    assert effect(turns[-1], "record_promise").data["date"] == date(2025, 12, 9)


@pytest.mark.parametrize(
    "text, outcome",
    [
        ("I already paid this last week", "already_paid"),
        ("I want to talk to a real person", "request_human"),
        ("I lost my job and I can't afford it right now", "hardship"),
        ("please stop calling me", "opted_out"),
    ],
)
def test_endings_in_english(text, outcome):
    assert call(CTX, "yes", "march third nineteen eighty", text)[-1].outcome == outcome


def test_wrong_number_before_identity():
    turns = call(CTX, "you have the wrong number, there's no Dana here")
    assert turns[-1].outcome == "wrong_person"
    assert "$" not in turns[-1].say


def test_wrong_birth_dates_end_without_details():
    turns = call(CTX, "yes", "January 1st 1990", "January 2nd 1990")
    assert turns[-1].outcome == "identity_failed"
    assert not any("120" in t.say for t in turns)


def test_keypad_answers():
    assert effect(call(CTX, "yes", "03031980")[-1], "identity_verified").data == {"method": "dob"}
    zip_ctx = replace(CTX, identity_check="zip")
    assert effect(call(zip_ctx, "yes", "90210")[-1], "identity_verified").data == {"method": "zip"}


def test_spanish_dispute_is_handed_over_with_the_patients_words():
    ctx = replace(CTX, lang="es")
    text = "yo no debo eso, ya lo cubrió el seguro"
    last = call(ctx, "sí", "3 de marzo de 1980", text)[-1]
    assert last.outcome == "dispute"
    assert collected(last.state)["stated_reason"] == text
