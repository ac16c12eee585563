"""The day a reply names, read in its context (sixth held-out set, issue 14): greetings and what today
is are background, a correction or a refusal of today moves the day, the day tied to the payment beats
the day money arrives, a reply that ends on a day answers "when?", and only the intents that carry a day
keep one. Phrasings here test the mechanism; none is a held-out line."""

from datetime import date, datetime

import pytest

from duedesk.core.nlu import model, understand
from duedesk.core.nlu.classify import explicitly_unclear
from duedesk.core.nlu.text import normalize

# Tuesday 1 December 2026, 10:00 in New York.
NOW = datetime.fromisoformat("2026-12-01T10:00:00-05:00")
NY = "America/New_York"


@pytest.fixture(autouse=True)
def rules_alone(monkeypatch):
    """These are the rules' decisions: the statistical fallback must not be what gets them right."""
    monkeypatch.setattr(model, "ENABLED", False)


def u(text):
    return understand(text, NOW, NY)


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        # a holiday greeting is not the day
        ("Merry Christmas!! I'll send it on the 3rd", "promise_to_pay", date(2026, 12, 3)),
        ("feliz navidad, le pago el 9", "promise_to_pay", date(2026, 12, 9)),
        # what today is ("today is tuesday") is not the day promised
        ("today is tuesday and I'm broke, I can pay thursday", "promise_to_pay", date(2026, 12, 3)),
        ("new year's is tomorrow lol so the 3rd", "promise_to_pay", date(2026, 12, 3)),
        # a correction: only the corrected day counts
        ("the 10th, actually make it the 12th", "promise_to_pay", date(2026, 12, 12)),
        ("el 5, no, mejor el 7", "promise_to_pay", date(2026, 12, 7)),
        # today refused, another day given
        ("can't do today but the 9th works", "promise_to_pay", date(2026, 12, 9)),
        ("hoy no se puede, el jueves", "promise_to_pay", date(2026, 12, 3)),
        # the day the payment is tied to, not the day the money arrives
        ("my pension comes on the 3rd so I can pay on the 4th", "promise_to_pay", date(2026, 12, 4)),
        # a reply that ends on a day
        ("things have been crazy with the move and the kids, thursday", "promise_to_pay", date(2026, 12, 3)),
        ("ahorita ando sin dinero pero el viernes sí", "promise_to_pay", date(2026, 12, 4)),
        # money arriving is a pay day, not a hardship
        ("I receive my disability on the 3rd, so the 3rd", "promise_to_pay", date(2026, 12, 3)),
        ("we could do 75 dollars on the second", "promise_to_pay", date(2026, 12, 2)),
        # "gets paid" / "will have it paid off" are still to come
        ("I'll pay on the 10th when my wife gets paid", "promise_to_pay", date(2026, 12, 10)),
        ("I will have it paid off by the 20th", "promise_to_pay", date(2026, 12, 20)),
    ],
)
def test_the_day_in_context(text, intent, expected):
    got = u(text)
    assert (got.intent, got.date) == (intent, expected)


@pytest.mark.parametrize("text", ["happy thanksgiving!", "feliz año nuevo 🎉", "Merry christmas to you too"])
def test_a_holiday_greeting_alone_is_unclear_with_no_day(text):
    got = u(text)
    assert (got.intent, got.date) == ("unclear", None)


@pytest.mark.parametrize(
    "text, intent",
    [
        ("I lost my job in October, money is tight", "hardship"),
        ("my deductible was met in March, this bill is wrong", "dispute"),
        ("I paid it in november", "already_paid"),
    ],
)
def test_a_month_in_the_background_is_no_day(text, intent):
    got = u(text)
    assert (got.intent, got.date) == (intent, None)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("80 hoy y 80 el 20", date(2026, 12, 1)),
        ("forty friday and forty on the 18th", date(2026, 12, 4)),
        ("300 el lunes y lo que falta el 30", date(2026, 12, 7)),
    ],
)
def test_amounts_on_two_days_are_a_plan_dated_by_the_first(text, expected):
    got = u(text)
    assert (got.intent, got.date) == ("payment_plan", expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("election day", date(2027, 11, 2)),  # the Tuesday after the first Monday of November
        ("el día del trabajo", date(2027, 5, 1)),
        ("pa reyes", date(2027, 1, 6)),
        ("para los reyes", date(2027, 1, 6)),
    ],
)
def test_more_holidays(text, expected):
    got = u(text)
    assert (got.intent, got.date) == ("promise_to_pay", expected)


@pytest.mark.parametrize(
    "text, intent",
    [
        ("just charge the rest to my debit card", "pay_now"),
        ("put it on the mastercard", "pay_now"),
        ("that visit should have been free under my plan", "dispute"),
        ("my employer is responsible for this, it was a work injury", "dispute"),
        ("la aseguranza dice que no les llegó nada de ustedes", "dispute"),
        ("yo no fui a ninguna consulta", "dispute"),
        ("nunca me mandaron la factura a tiempo, ¿de qué es?", "question"),
        ("yo pagué eso el martes pasado", "already_paid"),
        ("ni me llamen ni me escriban", "cease_contact"),
        ("¿hay una persona con quien pueda hablar?", "request_human"),
        ("tato", "affirm"),
    ],
)
def test_general_phrasings(text, intent):
    assert u(text).intent == intent


def test_not_knowing_is_unclear_and_no_fallback_guesses_an_intent_for_it():
    assert explicitly_unclear(normalize("i don't know"), question_mark=False)


@pytest.mark.parametrize(
    "text, pref",
    [
        ("mándame mensaje en vez de llamar", {"stop": ["call"]}),
        ("just text me instead of calling all the time", {"stop": ["call"]}),
        ("call me after 4, not before", {"channels": ["call"], "not_before": "16:00"}),
        ("márquenme después de las 7, antes no puedo", {"channels": ["call"], "not_before": "19:00"}),
    ],
)
def test_a_channel_instead_of_another_or_an_hour_never_before_is_a_preference(text, pref):
    got = u(text)
    assert (got.intent, got.preference) == ("contact_preference", pref)


@pytest.mark.parametrize("text", ["I lost my job on friday", "my mom passed away on the 3rd", "me corrieron del trabajo el lunes"])
def test_a_hardship_that_happened_on_a_day_stays_a_hardship(text):
    got = u(text)
    assert (got.intent, got.date) == ("hardship", None)
