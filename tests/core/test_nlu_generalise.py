"""Understanding that generalises (issue 14): holidays in both languages, numbers as speech recognition
spells them, spans from today, pay periods, refusals of today, tapbacks, greetings, and replies that say
two things. Phrasings here are not the held-out sets' lines: they test the mechanism, not a line."""

from datetime import date, datetime

import pytest

from duedesk.core.nlu import understand
from duedesk.core.nlu.holidays import easter, holiday_in

# Tuesday 1 December 2026, 10:00 in New York.
NOW = datetime.fromisoformat("2026-12-01T10:00:00-05:00")
NY = "America/New_York"


def u(text, lang=None, now=NOW, tz=NY):
    return understand(text, now, tz, lang)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I can pay on christmas eve", date(2026, 12, 24)),
        ("le pago en navidad", date(2026, 12, 25)),
        ("el mero día de año nuevo", date(2027, 1, 1)),
        ("el día de los reyes magos", date(2027, 1, 6)),
        ("the day before christmas", date(2026, 12, 24)),
        ("el día después de navidad", date(2026, 12, 26)),
        ("I'll pay on Good Friday", date(2027, 3, 26)),  # Easter 2027 is 28 March
        ("el jueves santo", date(2027, 3, 25)),
        ("thanksgiving", date(2027, 11, 25)),  # the next one: 2026's was 26 November
        ("black friday", date(2027, 11, 26)),
        ("labor day", date(2027, 9, 6)),
        ("MLK day", date(2027, 1, 18)),
        ("el día de la virgen", date(2026, 12, 12)),
        ("on dia de muertos", date(2027, 11, 2)),
        ("for Valentine's", date(2027, 2, 14)),
        ("new year's eve", date(2026, 12, 31)),
        ("a fin de año", date(2026, 12, 31)),
    ],
)
def test_holidays_are_dates(text, expected):
    assert u(text).date == expected, text


def test_a_holiday_said_on_the_day_is_today_and_a_payment_looks_back():
    christmas_eve = datetime.fromisoformat("2026-12-24T09:00:00-05:00")
    assert u("nochebuena", now=christmas_eve).date == date(2026, 12, 24)
    paid = u("I paid it on thanksgiving")
    assert (paid.intent, paid.date) == ("already_paid", date(2026, 11, 26))


def test_after_a_holiday_names_no_day():
    r = u("I'll pay after christmas")
    assert (r.intent, r.date, r.vague_date) == ("promise_to_pay", None, True)


def test_holiday_rules():
    assert easter(2026) == date(2026, 4, 5) and easter(2027) == date(2027, 3, 28)
    assert holiday_in("memorial", 2026) == date(2026, 5, 25)
    assert holiday_in("cyber_monday", 2026) == date(2026, 11, 30)


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("el vein ti cin co", "es", date(2026, 12, 25)),
        ("le pago el die ci sie te", "es", date(2026, 12, 17)),
        ("el veinte y ocho", "es", date(2026, 12, 28)),
        ("on the fif teenth", "en", date(2026, 12, 15)),
        ("um thanks giving", "en", date(2027, 11, 25)),
    ],
)
def test_split_spoken_numbers_are_joined(text, lang, expected):
    assert u(text, lang).date == expected


def test_thanks_giving_me_time_is_not_a_holiday():
    assert u("thanks giving me time, I'll pay soon").date is None


@pytest.mark.parametrize(
    "text, now, expected",
    [
        ("en la quincena", NOW, date(2026, 12, 15)),
        ("la próxima quincena", datetime.fromisoformat("2026-12-15T09:00:00-05:00"), date(2026, 12, 31)),
        ("el día de quincena", datetime.fromisoformat("2026-12-31T09:00:00-05:00"), date(2027, 1, 15)),
    ],
)
def test_the_quincena_is_the_next_pay_day(text, now, expected):
    r = u(text, "es", now=now)
    assert (r.intent, r.date) == ("promise_to_pay", expected)


def test_when_the_quincena_is_paid_is_vague_and_every_quincena_is_a_plan():
    assert u("cuando cobre la quincena le pago", "es").vague_date
    r = u("puedo dar 20 dólares cada quincena", "es")
    assert (r.intent, r.date) == ("payment_plan", None)


@pytest.mark.parametrize(
    "text, expected",
    [("three weeks from today", date(2026, 12, 22)), ("dentro de cinco días", date(2026, 12, 6)),
     ("de hoy en quince", date(2026, 12, 16))],
)
def test_spans_count_from_today(text, expected):
    assert u(text).date == expected


@pytest.mark.parametrize("text", ["I can't pay today", "hoy no puedo pagar", "can't do it today sorry"])
def test_refusing_today_is_not_a_promise_for_today(text):
    r = u(text)
    assert (r.intent, r.date) == ("hardship", None)


def test_refusing_today_then_naming_a_day_is_a_promise():
    r = u("hoy no puedo, el jueves sí")
    assert (r.intent, r.date) == ("promise_to_pay", date(2026, 12, 3))


def test_today_is_the_contacts_day_when_utc_is_already_tomorrow():
    late = datetime.fromisoformat("2026-12-01T21:30:00-08:00")  # 05:30 UTC on 2 December
    assert (u("I'll pay tonight", now=late, tz="America/Los_Angeles").date) == date(2026, 12, 1)
    assert u("tomorrow", now=late, tz="America/Los_Angeles").date == date(2026, 12, 2)


@pytest.mark.parametrize(
    "text, intent",
    [
        ('Liked “See you Friday!”', "affirm"),
        ('Loved "Thanks, we got it"', "affirm"),
        ('Le encantó “Gracias por su pago”', "affirm"),
        ('Disliked “Can you pay today?”', "deny"),
        ('Laughed at “Your balance is $85.”', "unclear"),
        ('Reacted 👍 to "Is this Ana?"', "affirm"),
    ],
)
def test_tapbacks_answer_with_the_reaction_not_the_quote(text, intent):
    r = u(text)
    assert (r.intent, r.date) == (intent, None)


@pytest.mark.parametrize("text", ["wassup", "hey what's up", "qué onda", "quiubo", "buenas", "hey whats good"])
def test_a_greeting_alone_is_unclear(text):
    assert u(text).intent == "unclear"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my hours got cut but I can pay on the 18th", date(2026, 12, 18)),
        ("when my disability check comes on the 3rd", date(2026, 12, 3)),
        ("sorry, I was in the hospital all month. I can pay it Friday though", date(2026, 12, 4)),
    ],
)
def test_a_hardship_that_ends_with_a_day_is_a_promise(text, expected):
    r = u(text)
    assert (r.intent, r.date) == ("promise_to_pay", expected)


def test_a_hardship_without_a_day_stays_a_hardship():
    assert u("I lost my job and my disability check is late").intent == "hardship"


def test_a_yes_that_names_a_day_is_a_promise():
    r = u("yes that's me, I can do the 10th")
    assert (r.intent, r.date) == ("promise_to_pay", date(2026, 12, 10))
    assert u("yes this is him").intent == "affirm"


def test_denying_who_they_are_beats_disputing_the_bill():
    assert u("that's not my bill, I'm not Jorge").intent == "wrong_person"
    assert u("this should be billed to my insurance not me").intent == "dispute"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("half on friday and the rest on the 15th", date(2026, 12, 4)),
        ("la mitad el 10 y el resto el 24", date(2026, 12, 10)),
        ("la mitad el 18 y la otra mitad a fin de mes", date(2026, 12, 18)),
    ],
)
def test_a_payment_split_over_two_days_is_a_plan_dated_by_its_first(text, expected):
    r = u(text)
    assert (r.intent, r.date) == ("payment_plan", expected)


@pytest.mark.parametrize("text", ["the insurance ya pagó eso", "mi aseguranza should cover this"])
def test_insurance_disputes_in_spanglish(text):
    assert u(text).intent == "dispute"


@pytest.mark.parametrize("text", ["no me contacten por ningún medio", "do not contact me by any means"])
def test_contact_by_any_means_is_a_cease(text):
    assert u(text).intent == "cease_contact"


@pytest.mark.parametrize(
    "text, pref",
    [
        ("text me, don't call", {"stop": ["call"]}),
        ("mejor mándeme mensaje", {"stop": ["call"]}),
        ("prefiero que me escriban, no puedo contestar llamadas", {"stop": ["call"]}),
        ("only call me after 6pm", {"channels": ["call"], "not_before": "18:00"}),
        ("don't call me in the morning", {"channels": ["call"], "not_before": "12:00"}),
        ("no me llamen en la noche", {"channels": ["call"], "not_after": "17:00"}),
    ],
)
def test_contact_preferences(text, pref):
    r = u(text)
    assert (r.intent, r.preference) == ("contact_preference", pref)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the friday after thanksgiving", date(2027, 11, 26)),
        ("el lunes después de navidad", date(2026, 12, 28)),
        ("before christmas, on december 20", date(2026, 12, 20)),
        ("by the end of the year", date(2026, 12, 31)),
        ("la quincena de enero", date(2027, 1, 15)),
        ("two weeks", date(2026, 12, 15)),
        ("when I get my tax refund on the 10th", date(2026, 12, 10)),
    ],
)
def test_more_named_days(text, expected):
    r = u(text)
    assert (r.intent, r.date) == ("promise_to_pay", expected), text


def test_after_a_holiday_with_no_other_day_is_vague():
    r = u("after the 4th of july")
    assert (r.date, r.vague_date) == (None, True)


def test_amounts_on_two_days_are_a_plan():
    r = u("I can send 60 friday and 60 on the 16th")
    assert (r.intent, r.date) == ("payment_plan", date(2026, 12, 4))


def test_a_legal_stop_carries_no_date():
    r = u("we filed chapter seven in march")
    assert (r.intent, r.date) == ("bankruptcy", None)
