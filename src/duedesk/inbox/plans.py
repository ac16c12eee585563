"""Payment plans a person builds with the patient: the schedule the builder proposes (so many instalments,
from a first date, weekly, every two weeks or monthly), the check that it adds up to the balance, and the
text that confirms it to the patient."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta

from duedesk.core import render

MAX_INSTALMENTS = 36
EVERY = {"monthly": "Monthly", "biweekly": "Every two weeks", "weekly": "Weekly"}
_STEP = {"monthly": relativedelta(months=1), "biweekly": relativedelta(weeks=2), "weekly": relativedelta(weeks=1)}
CENT = Decimal("0.01")


def build_schedule(balance: Decimal, count: int, first: date, every: str) -> list[tuple[date, Decimal]]:
    """`count` instalments from `first` that add up to `balance`: equal amounts in whole cents, the cents left
    over on the last one. A monthly plan from Jan 31 falls on Feb 28, Mar 31 (the month's last day)."""
    if not 1 <= count <= MAX_INSTALMENTS:
        raise ValueError(f"a plan has between 1 and {MAX_INSTALMENTS} instalments")
    share = (balance / count).quantize(CENT, rounding=ROUND_DOWN)
    amounts = [share] * (count - 1) + [balance - share * (count - 1)]
    return [(first + _STEP[every] * i, amount) for i, amount in enumerate(amounts)]


def difference(rows: list[tuple[date, Decimal]], balance: Decimal, currency: str) -> str:
    """"" when the instalments add up to the balance, else what is off, in words."""
    total = sum((amount for _, amount in rows), Decimal("0"))
    if total == balance:
        return ""
    gap = abs(balance - total)
    side = "short of" if total < balance else "more than"
    return (f"The instalments add up to {render.money(total, currency, 'en')}, {render.money(gap, currency, 'en')} "
            f"{side} the balance of {render.money(balance, currency, 'en')}.")


_CONFIRMATION = {
    "en": "Your payment plan for invoice {ref} is set: {schedule}. We will text you the day before each payment.",
    "es": "Su plan de pagos para la factura {ref} quedó así: {schedule}. Le escribiremos el día antes de cada pago.",
}
_ON = {"en": "{amount} on {day}", "es": "{amount} el {day}"}


def confirmation_text(ref: str, rows: list[tuple[date, Decimal]], currency: str, lang: str) -> str:
    """The patient's copy of the plan: the reference, each amount and day, nothing else about them."""
    lang = render.lang_code(lang)
    schedule = ", ".join(_ON[lang].format(amount=render.money(amount, currency, lang), day=render.short_date(day, lang))
                         for day, amount in sorted(rows))
    return _CONFIRMATION[lang].format(ref=ref, schedule=schedule)
