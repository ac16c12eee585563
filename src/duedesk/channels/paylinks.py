"""The pay link a message carries. A payment provider (Stripe Checkout) makes one for the current balance
when the organization uses it; otherwise, or when the provider can't be reached, it is the invoice's own
link. The provider is found by the dotted path in `settings.PAY_LINK_FOR_INVOICE`, so the engine and the
conversations never import a provider's package."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils.module_loading import import_string

_provider = None


def pay_link_for(invoice, now: datetime) -> str:
    global _provider
    path = getattr(settings, "PAY_LINK_FOR_INVOICE", "")
    if not path:
        return invoice.pay_link
    if _provider is None or _provider[0] != path:
        _provider = (path, import_string(path))
    return _provider[1](invoice, now) or invoice.pay_link
