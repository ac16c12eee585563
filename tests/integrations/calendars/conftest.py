"""Staff who connected their own Google Calendar and Outlook through the OAuth pages, against the local fakes
(FakeGoogle over HTTP, FakeGraph over HTTPS with its own certificate), driven by the real libraries."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from duedesk.integrations.calendars.fake import FakeGoogle, FakeGraph
from duedesk.integrations.calendars.models import Connection
from duedesk.records.models import Membership
from tests.loopback import PATIENCE


@pytest.fixture
def fake_google():
    fake = FakeGoogle(account="lee@maple.example").start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_graph():
    fake = FakeGraph(account="lee@maple.example").start()
    yield fake
    fake.stop()


@pytest.fixture
def calendar_env(settings, fake_google, fake_graph, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake Google speaks plain HTTP on loopback
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "google-client", "google-secret"
    settings.GOOGLE_OAUTH_AUTH_URL = f"{fake_google.base_url}/o/oauth2/auth"
    settings.GOOGLE_OAUTH_TOKEN_URL = f"{fake_google.base_url}/token"
    settings.GOOGLE_CALENDAR_BASE_URL = f"{fake_google.base_url}/calendar/v3/"
    settings.MICROSOFT_CLIENT_ID, settings.MICROSOFT_CLIENT_SECRET = "azure-app", "azure-secret"
    settings.MICROSOFT_AUTHORITY = f"{fake_graph.base_url}/common"
    settings.GRAPH_BASE_URL = f"{fake_graph.base_url}/v1.0"
    settings.MICROSOFT_CA_BUNDLE = fake_graph.cert_path
    settings.CALENDAR_TIMEOUT = PATIENCE  # the fake answers at once; a busy machine may not run it at once
    return settings


@pytest.fixture
def staff(org, django_user_model):
    user = django_user_model.objects.create_user("lee", password="a-long-password-1", email="lee@maple.example")
    Membership.objects.create(user=user, organization=org, role="staff")
    return user


def connect(client, provider: str, fake) -> Connection:
    """The person clicks Connect, consents at the provider (the fake says yes), and comes back."""
    start = client.get(f"/calendar/connect/{provider}/")
    assert start.status_code == 302
    consent = httpx.get(start["Location"], verify=getattr(fake, "cert_path", True))
    assert consent.status_code == 302
    back = urlsplit(consent.headers["location"])
    assert back.path == f"/calendar/connected/{provider}/"
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302 and done["Location"] == "/calendar/"
    return Connection.objects.get(provider=provider)


@pytest.fixture
def connected(client, staff, calendar_env, fake_google, fake_graph):
    client.force_login(staff)
    return connect(client, "google", fake_google), connect(client, "microsoft", fake_graph)


def ledger(fake) -> dict:
    """The fake's record of writes, read over HTTP as any test client would."""
    return httpx.get(f"{fake.base_url}/__fake__/ledger", verify=getattr(fake, "cert_path", True)).json()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
