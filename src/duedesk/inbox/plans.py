"""Payment plans a person builds with the patient: the schedule the builder proposes (so many instalments,
from a first date, weekly, every two weeks or monthly), the check that it adds up to the balance, and the
text that confirms it to the patient."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duedesk.core import render

MAX_INSTALMENTS = 36
EVERY = {"monthly": gettext_lazy("Monthly"), "biweekly": gettext_lazy("Every two weeks"), "weekly": gettext_lazy("Weekly")}
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
    """"" when the instalments add up to the balance, else what is off, in words (the pages' language)."""
    total = sum((amount for _day, amount in rows), Decimal("0"))
    if total == balance:
        return ""
    lang = translation.get_language() or "en"
    amounts = {"total": render.money(total, currency, lang), "gap": render.money(abs(balance - total), currency, lang),
               "balance": render.money(balance, currency, lang)}
    if total < balance:
        return _("The instalments add up to %(total)s, %(gap)s short of the balance of %(balance)s.") % amounts
    return _("The instalments add up to %(total)s, %(gap)s more than the balance of %(balance)s.") % amounts


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
