"""Which invoice an answer picks from the short list (core/dialog/choice.py): a place in the list, an amount,
a first name or a reference; a text of its own only by what cannot be a day of the month."""

from decimal import Decimal

import pytest

from duedesk.core.dialog.choice import Option, pick

FAMILY = [Option(first_name="Tomás", last_name="Díaz", amount=Decimal("45.00"), ref="INV-1042"),
          Option(first_name="Rosa", last_name="Diaz", amount=Decimal("80.00"), ref="INV-1043")]
ONE_PATIENT = [Option(first_name="Maria", last_name="Ruiz", amount=Decimal("120.00"), ref="A-1"),
               Option(first_name="Maria", last_name="Ruiz", amount=Decimal("60.00"), ref="A-2")]


@pytest.mark.parametrize("text, expected", [
    ("2", 1), ("#1", 0), ("the second one", 1), ("number two", 1), ("la segunda por favor", 1), ("uno", 0),
    ("Rosa", 1), ("it's for my son tomas", 0), ("TOMAS", 0), ("la de rosa", 1),
    ("$45", 0), ("the 80 one", 1), ("80.00", 1), ("inv-1043", 1), ("1042", 0),
    ("3", None), ("huh?", None), ("diaz", None), ("", None),
])
def test_an_answer_to_the_list(text, expected):
    assert pick(FAMILY, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("I'll pay on the 15th", None), ("i can pay 45 on friday", None),  # a day, or a partial amount: not a pick
    ("i'll pay the $45 one friday", 0), ("rosa will pay friday", 1), ("tomas's bill is wrong", 0),
])
def test_a_text_of_its_own_is_read_only_for_money_names_and_references(text, expected):
    assert pick(FAMILY, text, answer=False) == expected


def test_one_patients_two_invoices_are_told_apart_by_amount_not_name():
    assert pick(ONE_PATIENT, "maria") is None
    assert pick(ONE_PATIENT, "the 60 one") == 1
