"""What a web process loads before it answers anyone.

Django reads the URLconf (every view, the API's schemas) on a process's first request, and the code a webhook
runs loads its modules and data the first time it needs them: libphonenumber's geocoding for the state a number
is in, dateparser's languages, the `holidays` calendars, babel's locales, the understanding's model (trained on
first use). Together that is seconds of work, and a gunicorn worker does it on whichever request comes first,
with every request that arrives meanwhile waiting behind it: a patient's text, or a turn of a call in progress.
wsgi.py calls `web_process()` as the process starts (gunicorn loads the application before a worker accepts
connections), so the first patient is answered as fast as the hundredth.

Nothing here touches the database or the network.
"""

from __future__ import annotations

import gc
import importlib
from datetime import UTC, date, datetime
from decimal import Decimal

# Modules the webhooks and what they call import inside functions (to keep other entry points light, or to
# avoid an import cycle); tests/test_warm.py checks this list against the code.
FIRST_USE = (
    "duedesk.channels.registry",
    "duedesk.conversations.calls",
    "duedesk.conversations.hotline",
    "duedesk.conversations.texts",
    "duedesk.core.folding",
    "duedesk.core.nlu",
    "duedesk.core.nlu.classify",
    "duedesk.core.nlu.text",
    "duedesk.engine.actions.channels",
    "duedesk.engine.actions.handoffs",
    "duedesk.engine.definitions",
    "duedesk.engine.lease",
    "duedesk.engine.runner",
    "duedesk.records.lines",
    "duedesk.workflows",
)


def web_process() -> None:
    from django.urls import get_resolver

    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - the URLconf, and with it every view module
    resolver.reverse_dict  # noqa: B018 - reverse() builds it on first use
    for name in FIRST_USE:
        importlib.import_module(name)
    _core_data()
    gc.collect()
    gc.freeze()


def _core_data() -> None:
    """Load the data the core reads lazily, by asking it once what a webhook asks."""
    from duedesk.core import render, states, timing
    from duedesk.core.nlu import understand
    from duedesk.core.nlu.dates import warm_up
    from duedesk.core.nlu.model import get_model

    now = datetime.now(UTC)
    states.state_for_phone("+12125550100")  # libphonenumber's geocoding
    timing.public_holidays("US", (now.year, now.year + 1))
    warm_up()  # dateparser, English and Spanish
    get_model()  # the understanding's fallback model
    for lang, said in (("en", "I can pay $50 on friday"), ("es", "puedo pagar 50 dólares el viernes")):
        understand(said, now, "America/New_York", lang)
        render.money(Decimal("120.00"), "USD", lang)
        render.long_date(date(now.year, 1, 15), lang)
