import datetime as dt
from decimal import Decimal

import pytest

from duedesk.core.conditions import ROOTS, ConditionError, compile_condition


def ev(expr, **values):
    return compile_condition(expr).evaluate({k.replace("__", "."): v for k, v in values.items()})


def test_decimal_comparisons():
    assert ev("invoice.balance > 0", invoice__balance=Decimal("120.00"))
    assert not ev("invoice.balance > 0", invoice__balance=Decimal("0.00"))
    assert ev("invoice.balance == 120", invoice__balance=Decimal("120.00"))
    assert ev("invoice.balance >= 0.1", invoice__balance=Decimal("0.10"))
    assert ev("invoice.balance < -1.5", invoice__balance=Decimal("-2"))
    assert ev("invoice.balance <= 50.25", invoice__balance=50.25)  # floats compare as Decimal


def test_strings_and_quotes():
    assert ev('contact.language == "es"', contact__language="es")
    assert ev("contact.language == 'es'", contact__language="es")
    assert ev('contact.language != "es"', contact__language="en")
    assert ev('outcome == "voicemail"', outcome="voicemail")


def test_missing_names_are_none_and_never_raise():
    assert not ev("invoice.balance > 0")
    assert not ev("invoice.balance < 0")
    assert not ev('promise.status == "kept"')
    assert ev('promise.status != "kept"')
    assert ev("promise.status == null")
    assert not ev("enrollment.broken_before == true")


def test_in_lists():
    assert ev('contact.language in ["es", "fr"]', contact__language="es")
    assert not ev('contact.language in ["es", "fr"]', contact__language="en")
    assert ev('outcome not in ["voicemail", "no_answer"]', outcome="promised")
    assert ev("invoice.balance in [10, 20]", invoice__balance=Decimal("20.00"))
    assert not ev('contact.language in ["es"]')


def test_and_or_not_parentheses():
    values = {"invoice.balance": Decimal("5"), "contact.language": "es", "promise.status": "broken"}
    cond = compile_condition('invoice.balance > 0 and (contact.language == "es" or not promise.status == "broken")')
    assert cond.evaluate(values)
    assert not compile_condition('not (invoice.balance > 0)').evaluate(values)
    assert compile_condition('invoice.balance > 100 or promise.status == "broken"').evaluate(values)


def test_booleans_and_chained_comparisons():
    assert ev("enrollment.broken_before == true", enrollment__broken_before=True)
    assert ev("enrollment.flag == false", enrollment__flag=False)
    assert not ev("enrollment.flag == 1", enrollment__flag=True)  # a flag is not a number
    assert ev("0 < invoice.balance <= 100", invoice__balance=Decimal("100"))
    assert not ev("0 < invoice.balance <= 100", invoice__balance=Decimal("100.01"))


def test_custom_field_text_reads_as_number_or_date():
    assert ev("contact.fields.visits > 2", contact__fields__visits="3")
    assert not ev("contact.fields.visits > 2", contact__fields__visits="many")
    assert ev('invoice.due_date < "2025-03-01"', invoice__due_date=dt.date(2025, 2, 1))
    assert not ev("invoice.due_date > 5", invoice__due_date=dt.date(2025, 2, 1))  # mismatched: False


def test_names_lists_only_looked_up_names():
    cond = compile_condition('invoice.balance > 0 and contact.fields.plan == "gold" or true')
    assert cond.names == frozenset({"invoice.balance", "contact.fields.plan"})
    assert "outcome" in ROOTS


@pytest.mark.parametrize("expr", [
    "__import__('os').system('true')",
    "invoice.__class__",
    "invoice.balance.__class__.__mro__",
    "contact._secret == 1",
    "len(contact.name) > 2",
    "invoice.balance.quantize(1) > 0",
    "contact.fields['plan'] == 'gold'",
    "invoice.balance + 1 > 0",
    "lambda: 1",
    "[x for x in invoice]",
    "invoice.balance is None",
    "outcome == f'{invoice}'",
    "contact.language in contact.languages",
    "(yield 1)",
    "os.system == 1",
    "payment.amount > 0",
])
def test_rejects_anything_but_the_small_language(expr):
    with pytest.raises(ConditionError):
        compile_condition(expr)


@pytest.mark.parametrize("expr", ["", "   ", "invoice.balance >", "a = 1", "invoice.balance > 0; 1"])
def test_rejects_bad_syntax(expr):
    with pytest.raises(ConditionError):
        compile_condition(expr)


def test_unknown_root_message_names_the_roots():
    with pytest.raises(ConditionError, match="payment.amount.*invoice, contact"):
        compile_condition("payment.amount > 0")
