"""Read-back that settles an ambiguous day (issue 14.2), through the real understanding: the call names the
day and weekday it understood and the other one it could be, and takes "no, the one after" / "no, el
siguiente"; identity answers are never tagged with an intent on the timeline."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from duedesk.core.dialog import collected, transcript
from tests.core.test_dialog import CTX, effect
from tests.core.test_dialog_nlu import _rules_only, call  # noqa: F401  (the autouse fixture and the call helper)

ES = replace(CTX, lang="es")
DOB_EN = ("yes, this is Dana", "March third nineteen eighty")
DOB_ES = ("sí, soy yo", "el tres de marzo de mil novecientos ochenta")


def test_next_friday_early_in_the_week_names_both_fridays_and_takes_the_one_after():
    # Monday 1 December 2025: "next Friday" could be the 5th or the 12th.
    turns = call(CTX, *DOB_EN, "I can pay next Friday", "no, the one after", "yes")
    assert turns[3].say == "Just to be sure: Friday, December 5, not Friday, December 12. Is that right?"
    assert turns[4].say == "Friday, December 12. Is that right?"
    assert turns[-1].outcome == "promised"
    assert effect(turns[-1], "record_promise").data["date"] == date(2025, 12, 12)


def test_el_proximo_viernes_y_luego_el_siguiente():
    turns = call(ES, *DOB_ES, "le pago el próximo viernes", "no, el siguiente", "sí")
    assert turns[3].say == "Para confirmar: el viernes, 5 de diciembre, no el viernes, 12 de diciembre. ¿Es correcto?"
    assert turns[4].say == "El viernes, 12 de diciembre. ¿Es correcto?"
    assert collected(turns[-1].state)["promised_date"] == "2025-12-12"


def test_a_yes_keeps_the_day_first_understood():
    turns = call(CTX, *DOB_EN, "next friday", "yes")
    assert effect(turns[-1], "record_promise").data["date"] == date(2025, 12, 5)


def test_a_plain_weekday_is_read_back_plainly_and_the_one_after_still_works():
    turns = call(CTX, *DOB_EN, "Friday", "no, the following one", "yes")
    assert turns[3].say == "Friday, December 5. Is that right?"
    assert effect(turns[-1], "record_promise").data["date"] == date(2025, 12, 12)


def test_the_fifth_in_a_months_last_week_names_the_month():
    late = replace(CTX, now=datetime(2025, 12, 27, 15, 0, tzinfo=UTC), promise_window_days=45)  # Saturday
    turns = call(late, *DOB_EN, "the fifth", "no the one after", "yes")
    assert turns[3].say == "Just to be sure: Monday, January 5, not Thursday, February 5. Is that right?"
    assert turns[4].say == "Thursday, February 5. Is that right?"
    assert effect(turns[-1], "record_promise").data["date"] == date(2026, 2, 5)


def test_a_fin_de_mes_on_the_last_day_asks_which_month():
    last_day = replace(ES, now=datetime(2025, 12, 31, 15, 0, tzinfo=UTC), promise_window_days=45)  # miércoles
    turns = call(last_day, *DOB_ES, "a fin de mes", "no, el siguiente", "sí")
    assert turns[3].say == "Para confirmar: el miércoles, 31 de diciembre, no el sábado, 31 de enero. ¿Es correcto?"
    assert turns[4].say == "El sábado, 31 de enero. ¿Es correcto?"
    assert effect(turns[-1], "record_promise").data["date"] == date(2026, 1, 31)


def test_the_one_after_beyond_the_promise_window_offers_a_plan():
    late = replace(CTX, now=datetime(2025, 12, 27, 15, 0, tzinfo=UTC))  # 30 days: up to 26 January
    turns = call(late, *DOB_EN, "the fifth", "no, the one after")
    assert turns[-1].outcome == "payment_plan" and "that far out" in turns[-1].say


@pytest.mark.parametrize("ctx, said", [(CTX, DOB_EN), (ES, DOB_ES)])
def test_identity_answers_carry_no_intent_on_the_timeline(ctx, said):
    # A date of birth can read as a day to pay ("el tres de marzo…"); as an identity answer it is not tagged.
    turns = call(ctx, *said, "I want to talk to a person" if ctx.lang == "en" else "quiero hablar con una persona")
    patient = [t for t in transcript(turns[-1].state) if t["speaker"] == "patient"]
    assert [t["intent"] for t in patient] == [None, None, "request_human"]
