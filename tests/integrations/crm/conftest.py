"""One harness for every CRM: the `crm` fixture runs a test once per provider (providers.py)."""

from __future__ import annotations

import pytest

from .providers import ALL


@pytest.fixture(params=list(ALL))
def crm(request, org, settings, clock):
    provider = ALL[request.param]()
    provider.start(settings)
    settings.CRM_TIMEOUT = 5.0
    try:
        provider.connect(org, clock)
        yield provider
    finally:
        provider.fake.stop()
