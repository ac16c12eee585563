from datetime import date

import pytest

from duedesk.core.dialog import spoken

TODAY = date(2025, 12, 1)
DOB = date(1980, 3, 3)


@pytest.mark.parametrize(
    "text, digits",
    [
        ("nine oh two one oh", ["9", "0", "2", "1", "0"]),
        ("nineteen eighty", ["19", "80"]),
        ("nineteen eighty five", ["19", "85"]),
        ("two thousand and three", ["2003"]),
        ("twenty twenty one", ["20", "21"]),
        ("march twenty third", ["march", "23"]),
        ("mil novecientos ochenta y cinco", ["1985"]),
        ("dos mil tres", ["2003"]),
        ("veintiuno de julio", ["21", "de", "julio"]),
        ("primero de enero", ["1", "de", "enero"]),
        ("this or that", ["this", "or", "that"]),
        ("oh march", ["oh", "march"]),  # "oh" is zero only after a number
    ],
)
def test_words_to_digits(text, digits):
    assert spoken.words_to_digits(text) == digits


@pytest.mark.parametrize(
    "text",
    [
        "march third nineteen eighty",
        "March 3rd, 1980.",
        "3/3/1980",
        "03031980",  # keypad
        "it's march 3 80",
        "el 3 de marzo de 1980",
        "el tres de marzo de mil novecientos ochenta",
        "tres de marzo del ochenta",
        "three three nineteen eighty",
    ],
)
def test_date_of_birth_matches(text):
    assert spoken.matches_date_of_birth(text, DOB, TODAY) is True


def test_numeric_dates_are_read_in_the_callers_order_only():
    assert spoken.date_of_birth_candidates("3/4/1980", TODAY, "MDY") == {date(1980, 3, 4)}
    assert spoken.date_of_birth_candidates("3/4/1980", TODAY, "DMY") == {date(1980, 4, 3)}
    assert spoken.matches_date_of_birth("4/3/1980", date(1980, 3, 4), TODAY, "MDY") is False  # swapped
    assert spoken.matches_date_of_birth("15/3/1980", date(1980, 3, 15), TODAY, "DMY") is True
    assert spoken.matches_date_of_birth("15/3/1980", date(1980, 3, 15), TODAY, "MDY") is None  # not a date


@pytest.mark.parametrize("lang, country, order", [
    ("en", "US", "MDY"), ("es", "US", "DMY"), ("es", "MX", "DMY"), ("es", "PR", "MDY"), ("en", "GB", "DMY"),
])
def test_the_order_comes_from_the_language_and_country(lang, country, order):
    assert spoken.date_order(lang, country) == order


def test_date_of_birth_other_date_or_none():
    assert spoken.matches_date_of_birth("march fourth nineteen eighty", DOB, TODAY) is False
    assert spoken.matches_date_of_birth("march third nineteen eighty one", DOB, TODAY) is False
    assert spoken.matches_date_of_birth("I don't know", DOB, TODAY) is None
    assert spoken.matches_date_of_birth("march 1980", DOB, TODAY) is None  # no day: not an answer
    assert spoken.matches_date_of_birth("", DOB, TODAY) is None
    assert spoken.matches_date_of_birth(None, DOB, TODAY) is None


def test_a_birth_date_is_never_in_the_future():
    assert spoken.date_of_birth_candidates("march 3 2030", TODAY) == set()


@pytest.mark.parametrize(
    "text",
    [
        "nine oh two one oh",
        "90210",
        "9 0 2 1 0",
        "nueve cero dos uno cero",
        "it's 90210-1234",
        "nine zero two ten",
    ],
)
def test_zip_matches(text):
    assert spoken.matches_zip(text, "90210") is True


def test_zip_other_or_none():
    assert spoken.matches_zip("nine oh two one one", "90210") is False
    assert spoken.matches_zip("nine oh two", "90210") is None
    assert spoken.matches_zip(None, "90210") is None
    assert spoken.matches_zip("90210", "90210-4321") is True
