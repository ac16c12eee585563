"""Users in roles, an outsider from another organization, and a clinic with a hardship handoff."""

from __future__ import annotations

from datetime import date

import pytest


@pytest.fixture(autouse=True)
def pinned_now(clock, monkeypatch):
    """Views read the time from web.access.now: pin it to the virtual clock."""
    monkeypatch.setattr("duedesk.web.access.now", clock)
    return clock


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    from duedesk.records.models import Membership

    def make(org, role, username=None):
        username = username or f"{role}-{org.slug}"
        user = get_user_model().objects.create_user(username, f"{username}@example.com", "a-long-password-1")
        Membership.objects.create(user=user, organization=org, role=role)
        return user

    return make


@pytest.fixture
def owner(org, make_user):
    return make_user(org, "owner")


@pytest.fixture
def staff(org, make_user):
    return make_user(org, "staff")


@pytest.fixture
def viewer(org, make_user):
    return make_user(org, "viewer")


@pytest.fixture
def outsider(make_user):
    from duedesk.records.models import Organization

    other = Organization.objects.create(slug="other-clinic", name="Other Clinic")
    return make_user(other, "owner", "outsider")


@pytest.fixture
def login(client):
    def as_(user):
        client.force_login(user)
        return client

    return as_


@pytest.fixture
def case(org, make_contact, make_invoice, clock):
    """A patient with an enrolled invoice and an open hardship handoff from a call."""
    from duedesk.engine import actions

    contact = make_contact(first_name="Ana", last_name="Reyes")
    invoice = make_invoice(contact=contact, amount="300.00", due=date(2026, 12, 1))
    actions.enroll_invoice(invoice, clock())
    handoff = actions.open_handoff(
        contact, "hardship", clock(), invoice=invoice, summary="Lost her job; asks to pay over three months",
        collected={"identity_verified": True, "stated_reason": "lost job", "amount_offered": "100 a month"},
        transcript=[{"speaker": "agent", "text": "Can you pay the balance this month?", "intent": ""},
                    {"speaker": "patient", "text": "I lost my job, I can do 100 a month", "intent": "hardship"}],
    )
    return {"contact": contact, "invoice": invoice, "handoff": handoff}


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    """The overview keeps its figures in the cache; ids may repeat between tests, so start empty, and
    recompute whenever an event landed (no grace period for a busy worker)."""
    from django.core.cache import cache

    monkeypatch.setattr("duedesk.web.overview.STALE_OK", 0)
    cache.clear()
    yield
    cache.clear()
