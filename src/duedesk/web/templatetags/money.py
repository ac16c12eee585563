"""`{{ amount|money:currency }}`: every amount on the staff pages written one way, "$1,250.00", by babel with the
invoice's currency and the pages' locale (the reader's language, the office's country: templatetags/dates.py), the
same formatting the patient's texts use; never a hard-coded "$"."""

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django import template
from django.utils import translation

from duedesk.core.render import money as formatted
from duedesk.web.templatetags.dates import locale

register = template.Library()


def _amount(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def money(amount, currency: str = "USD") -> str:
    value = _amount(amount)
    if value is None:
        return "" if amount is None else str(amount)
    return formatted(value, currency or "USD", translation.get_language() or "en")


@register.filter
def whole_money(amount, currency: str = "USD") -> str:
    """"$1,250" for a chart's label, where the cents are noise."""
    value = _amount(amount)
    if value is None:
        return "" if amount is None else str(amount)
    return format_currency(value, currency or "USD", locale=locale(), format="¤#,##0", currency_digits=False)
