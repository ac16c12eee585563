"""One harness for every CRM: the `crm` fixture runs a test once per provider (providers.py)."""

from __future__ import annotations

import pytest

from tests.loopback import PATIENCE

from .providers import ALL


@pytest.fixture(params=list(ALL))
def crm(request, org, settings, clock):
    provider = ALL[request.param]()
    provider.start(settings)
    settings.CRM_TIMEOUT = PATIENCE  # the fake answers at once; a busy machine may not run it at once
    try:
        provider.connect(org, clock)
        yield provider
    finally:
        provider.fake.stop()
