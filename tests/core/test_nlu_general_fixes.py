"""General rules behind the eighth held-out set's fixes: the day money arrives versus the day to pay, spans
from tomorrow, a weekday before a holiday, a day moved by one, a refused day, a day that is a holiday, parts
of a month, "after" a date, and the intents around them. Wordings here are not the set's lines: each test
checks the rule with other words."""

from datetime import date, datetime

import pytest

from tests.core.test_nlu_generalise import u  # Tuesday 1 December 2026, 10:00 in New York


@pytest.mark.parametrize(
    "text, expected",
    [
        # the day money arrives gives way to the day to pay
        ("my check hits on the 10th so the 11th", date(2026, 12, 11)),
        ("me pagan el 20, así que el 21", date(2026, 12, 21)),
        # a span counted from tomorrow
        ("three days from tomorrow", date(2026, 12, 5)),
        ("le pago dos semanas después de mañana", date(2026, 12, 16)),
        # the weekday before a holiday
        ("the monday before christmas", date(2026, 12, 21)),
        ("el jueves antes de año nuevo", date(2026, 12, 31)),
        # a day moved by one: a holiday named by its date, a day of the month
        ("the day before the 4th of july", date(2027, 7, 3)),
        ("the day after the 20th", date(2026, 12, 21)),
        ("el día antes del 30", date(2026, 12, 29)),
        # a refused day, then the one they can
        ("el lunes no, el martes", date(2026, 12, 8)),
        ("not the 15th, the 16th", date(2026, 12, 16)),
        ("not friday, the day after", date(2026, 12, 5)),
        # a day described as a holiday is not the day
        ("monday is a holiday so tuesday", date(2026, 12, 8)),
        ("el lunes es feriado, le pago el martes", date(2026, 12, 8)),
        # "after the 20th" with a day of its own
        ("after the 20th, say the 22nd", date(2026, 12, 22)),
        # money arriving on a day, said without "when"
        ("I'll pay once my refund comes in on the 3rd", date(2026, 12, 3)),
        ("my disability check lands on the 3rd so the 3rd", date(2026, 12, 3)),
        # "not going to be able to … until" is a promise for that day
        ("i'm not going to be able to pay anything until the 9th", date(2026, 12, 9)),
        # a belief that it was paid, then a day
        ("I thought we already paid this? I'll pay it monday", date(2026, 12, 7)),
        ("pensé que ya lo había pagado, lo pago el viernes", date(2026, 12, 4)),
        ("I thought it was already handled, I can pay friday", date(2026, 12, 4)),
        # a span from a weekday
        ("three days from friday", date(2026, 12, 7)),
        ("una semana a partir del lunes", date(2026, 12, 14)),
    ],
)
def test_promises_name_the_day_to_pay(text, expected):
    got = u(text)
    assert (got.intent, got.date) == ("promise_to_pay", expected)


@pytest.mark.parametrize("text", ["mid february", "a mediados de marzo", "sometime after the 20th",
                                  "después del 5 de enero", "después del 20", "pasado el 10", "después de la quincena"])
def test_part_of_a_month_or_after_a_date_names_no_day(text):
    got = u(text)
    assert got.date is None and got.vague_date


def test_the_end_of_a_named_month_is_this_years_until_it_has_passed():
    june = datetime.fromisoformat("2027-06-10T10:00:00-04:00")
    assert u("end of june", now=june).date == date(2027, 6, 30)
    may = datetime.fromisoformat("2027-05-03T10:00:00-04:00")
    assert u("a finales de mayo", now=may).date == date(2027, 5, 31)
    assert u("end of june").date == date(2027, 6, 30)  # said in December


def test_a_weekday_said_to_be_a_holiday_is_not_the_day():
    got = u("el viernes es navidad, le pago el lunes", now=datetime.fromisoformat("2026-12-22T10:00:00-04:00"),
            tz="America/Puerto_Rico")
    assert (got.intent, got.date) == ("promise_to_pay", date(2026, 12, 28))


def test_a_payment_made_last_night_is_yesterday():
    got = u("pagué anoche por la app")
    assert (got.intent, got.date) == ("already_paid", date(2026, 11, 30))


@pytest.mark.parametrize(
    "text, intent",
    [
        ("sorry i cant", "hardship"),
        ("i cant sorry", "hardship"),
        ("no podemos", "hardship"),
        ("no podemos, lo siento", "hardship"),
        ("don't call me at my job", "contact_preference"),
        ("creí que ya estaba pagada, ¿de qué es el cobro?", "question"),
        ("N", "deny"),
        ("y", "affirm"),
        ("me bajaron las horas en el trabajo", "hardship"),
        ("no tengo los chavos", "hardship"),
        ("can I speak con una persona", "request_human"),
        ("do not reach me again in any form", "cease_contact"),
        ("no me contacten más de ninguna manera", "cease_contact"),
        ("eso ya lo pagó mi hija", "already_paid"),
        ("te doy 40 ahorita y lo demás luego", "payment_plan"),
        ("I don't owe anything, we paid it last month", "already_paid"),
        ("I don't owe this, insurance paid it", "dispute"),
        ("stop texting me at work", "contact_preference"),
        ("email me instead, no phone calls", "contact_preference"),
    ],
)
def test_intents(text, intent):
    assert u(text).intent == intent


@pytest.mark.parametrize("text", ["not today", "hoy no", "no, not tonight sorry"])
def test_a_refused_today_with_no_other_day_is_no_payment_today(text):
    got = u(text)
    assert (got.intent, got.date) == ("hardship", None)


def test_a_call_back_on_a_day_of_the_month_carries_it():
    got = u("please call me on the 12th")
    assert (got.intent, got.date) == ("callback_later", date(2026, 12, 12))


def test_half_and_half_over_two_days_is_a_plan_dated_by_the_first():
    got = u("half and half, on the 10th and the 25th")
    assert (got.intent, got.date) == ("payment_plan", date(2026, 12, 10))


def test_preferences_say_what_was_asked():
    assert u("stop texting me at work").preference["avoid_work_hours"] is True
    assert u("email me instead, no phone calls").preference == {"stop": ["call"]}
