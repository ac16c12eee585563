"""Understanding patients' replies: intents, precedence, negation, dates, amounts, language."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from duedesk.core.nlu import INTENTS, detect_language, understand
from duedesk.core.nlu.evaluate import evaluate

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "nlu_corpus.jsonl"
# Tuesday 1 December 2026, 10:00 in New York.
NOW = datetime.fromisoformat("2026-12-01T10:00:00-05:00")
NY = "America/New_York"


def u(text, lang=None, now=NOW, tz=NY):
    return understand(text, now, tz, lang)


def test_corpus_accuracy():
    report, metrics = evaluate(str(CORPUS))
    assert metrics["n"] >= 400
    assert metrics["intent_accuracy"] >= 0.95, report
    assert metrics["date_accuracy"] >= 0.95, report
    assert set(metrics["per_intent"]) == set(INTENTS)


@pytest.mark.parametrize(
    "text, intent",
    [
        # opt_out > dispute > hardship > request_human > the rest
        ("stop calling me, this bill is wrong", "opt_out"),
        ("wrong number stop texting", "opt_out"),
        ("I lost my job, please stop calling", "opt_out"),
        ("I already paid so stop texting me", "opt_out"),
        ("i cant afford this and insurance should have covered it", "dispute"),
        ("you charged me twice, i want to talk to a manager", "dispute"),
        ("i lost my job can i do a payment plan", "hardship"),
        ("i'm on disability can i talk to someone", "hardship"),
        ("i want to talk to a person about a payment plan", "request_human"),
        ("let me speak to someone, i already paid", "request_human"),
        ("no I already paid", "already_paid"),
        ("yes I'll pay Friday", "promise_to_pay"),
        ("ya pagué pero me cobraron doble", "dispute"),
        ("no puedo pagar, perdí mi trabajo", "hardship"),
        ("quiero hablar con una persona sobre un plan de pagos", "request_human"),
        ("no me llamen más, esa no es mi cuenta", "opt_out"),
    ],
)
def test_precedence(text, intent):
    assert u(text).intent == intent


@pytest.mark.parametrize(
    "text, intent",
    [
        ("I can pay now", "pay_now"),
        ("I can't pay now", "hardship"),
        ("I can't pay", "hardship"),
        ("i cant pay until friday", "promise_to_pay"),
        ("I can't pay it all at once", "payment_plan"),
        ("i haven't paid yet but i will tomorrow", "promise_to_pay"),
        ("no", "deny"),
        ("no I already paid", "already_paid"),
        ("not a good time", "callback_later"),
        ("i'm not sure", "unclear"),
        ("I don't owe this", "dispute"),
        ("don't call me again", "opt_out"),
        ("don't call me until friday", "callback_later"),
        ("puedo pagar ahorita", "pay_now"),
        ("no puedo pagar", "hardship"),
        ("no puedo pagar hasta el viernes", "promise_to_pay"),
        ("no le pago hoy, le pago el lunes", "promise_to_pay"),
        ("I won't be able to pay", "hardship"),
        ("insurance didn't cover it and I can't afford it", "hardship"),
    ],
)
def test_negation(text, intent):
    assert u(text).intent == intent


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("I'll pay Friday", "en", date(2026, 12, 4)),
        ("tomorrow", "en", date(2026, 12, 2)),
        ("the 15th", "en", date(2026, 12, 15)),
        ("12/18", "en", date(2026, 12, 18)),
        ("end of the month", "en", date(2026, 12, 31)),
        ("in two weeks", "en", date(2026, 12, 15)),
        ("payday is the first", "en", date(2027, 1, 1)),
        ("el viernes", "es", date(2026, 12, 4)),
        ("mañana", "es", date(2026, 12, 2)),
        ("manana", "es", date(2026, 12, 2)),
        ("a fin de mes", "es", date(2026, 12, 31)),
        ("el 20 de diciembre", "es", date(2026, 12, 20)),
        ("18/12", "es", date(2026, 12, 18)),
        ("friday next week", "en", date(2026, 12, 11)),
        ("jan 5", "en", date(2027, 1, 5)),
        ("November 3rd", "en", date(2027, 11, 3)),  # passed this year: next year's
        ("el primero", "es", date(2027, 1, 1)),
        ("pasado mañana", "es", date(2026, 12, 3)),
        ("mañana en la mañana", "es", date(2026, 12, 2)),
        ("Tuesday the 15th", "en", date(2026, 12, 15)),
        ("el martes 9", "es", date(2027, 2, 9)),  # the next 9th that is a Tuesday
    ],
)
def test_dates(text, lang, expected):
    got = u(text, lang)
    assert got.date == expected
    assert got.intent == "promise_to_pay"
    assert not got.vague_date


def test_dates_use_the_contacts_zone():
    # 03:30 UTC on 2 December is still Tuesday 1 December in Los Angeles.
    now = datetime.fromisoformat("2026-12-02T03:30:00+00:00")
    assert understand("tomorrow", now, "America/Los_Angeles").date == date(2026, 12, 2)
    assert understand("tomorrow", now, "Europe/Madrid").date == date(2026, 12, 3)


def test_paid_dates_look_back():
    assert u("I paid it on Friday").date == date(2026, 11, 27)
    assert u("pagué ayer", "es").date == date(2026, 11, 30)


@pytest.mark.parametrize("text", ["next week", "I'll pay next week", "soon", "when I get paid", "la próxima semana"])
def test_vague_dates_ask_for_a_day(text):
    got = u(text)
    assert got.intent == "promise_to_pay"
    assert got.date is None
    assert got.vague_date


@pytest.mark.parametrize(
    "text, amount",
    [
        ("I can do 50 a month", Decimal("50")),
        ("puedo dar 40 dólares", Decimal("40")),
        ("i can pay $25.50 every week", Decimal("25.50")),
        ("fifty dollars on friday", Decimal("50")),
        ("le puedo dar cincuenta dolares", Decimal("50")),
        ("i can send 1,200 bucks", Decimal("1200")),
        ("I'll pay on the 15th", None),
        ("el 20 de diciembre", None),
    ],
)
def test_amounts(text, amount):
    assert u(text).amount == amount


def test_amount_offer_is_a_plan():
    got = u("I can do 50 a month")
    assert got.intent == "payment_plan"
    assert got.amount == Decimal("50")


@pytest.mark.parametrize(
    "text, topic",
    [
        ("how much do I owe?", "amount"),
        ("when was it due", "due_date"),
        ("who is this", "who"),
        ("what is this for", "what_for"),
        ("¿cuánto debo?", "amount"),
        ("¿quién habla?", "who"),
    ],
)
def test_question_topics(text, topic):
    got = u(text)
    assert (got.intent, got.question_topic) == ("question", topic)


@pytest.mark.parametrize(
    "text, lang",
    [
        ("I already paid", "en"),
        ("ya pague", "es"),
        ("sí", "es"),
        ("yes", "en"),
        ("mañana", "es"),
        ("tmrw", "en"),
        ("no gracias", "es"),
        ("quien habla", "es"),
        ("who is this", "en"),
        ("el viernes le pago", "es"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_given_language_is_kept_and_null_is_detected():
    assert u("yes", "es").lang == "es"
    assert u("ya pagué").lang == "es"
    assert u("I already paid").lang == "en"


@pytest.mark.parametrize(
    "text, intent",
    [
        ("uh um i i already paid that", "already_paid"),
        ("STOP!!!", "opt_out"),
        ("Alredy payed 🙂", "already_paid"),
        ("ill pay tmrw", "promise_to_pay"),
        ("yesss", "affirm"),
        ("NOOO", "deny"),
        ("dejen de yamar", "opt_out"),
        ("numero equivocado", "wrong_person"),
    ],
)
def test_speech_and_text_noise(text, intent):
    assert u(text).intent == intent


def test_unknown_zone_names_the_field():
    with pytest.raises(ValueError, match="tz"):
        u("tomorrow", tz="Mars/Olympus")
