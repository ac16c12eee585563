"""Playwright on Debian's Chromium against pytest-django's live server. Never downloads a browser."""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.browser.chromium import wait_for_chromium
from tests.loopback import PATIENCE

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "a-long-password-1"


@pytest.fixture(scope="session")
def chromium_path():
    path, why = wait_for_chromium()  # tests/conftest.py starts the install, if one is needed
    if path is None:
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    """Chromium whose pages wait for the live server, and assertions for the page, as long as a busy machine
    needs (Playwright's defaults are 30 s and 5 s): the wait ends as soon as the page is right."""
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect.set_options(timeout=PATIENCE * 1000)
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium_path, args=ARGS, headless=True)
        new_context = instance.new_context

        def patient_context(**options):
            context = new_context(**options)
            context.set_default_timeout(PATIENCE * 1000)
            return context

        instance.new_context = patient_context
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def shot():
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name, full_page=True):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)

    return take


@pytest.fixture
def clinic(transactional_db, org, make_contact, make_invoice, clock, monkeypatch):
    """A billing office mid-month: invoices in every aging bucket, payments, promises and handoffs."""
    from django.contrib.auth import get_user_model

    from duedesk.engine import actions
    from duedesk.records.models import Membership

    monkeypatch.setattr("duedesk.web.access.now", clock)
    user = get_user_model().objects.create_user("dana", "dana@mapleclinic.example", PASSWORD)
    Membership.objects.create(user=user, organization=org, role="owner")
    teammate = get_user_model().objects.create_user("lee", "lee@mapleclinic.example", PASSWORD)
    Membership.objects.create(user=teammate, organization=org, role="staff")
    today = date(2026, 12, 7)
    names = [("Ana", "Reyes"), ("James", "Carter"), ("Priya", "Natarajan"), ("Tom", "Becker"),
             ("Lucia", "Moreno"), ("Grace", "Kim"), ("Omar", "Haddad"), ("Ellen", "Park"),
             ("Sam", "Okafor"), ("Rosa", "Diaz"), ("Will", "Turner"), ("Mei", "Chen")]
    contacts, invoices = [], []
    offsets = [-3, 4, 12, 20, 35, 45, 70, 95, -8, 2, 28, 130]
    amounts = ["300.00", "145.00", "89.50", "420.00", "60.00", "210.00", "75.25", "510.00", "130.00",
               "95.00", "180.00", "260.00"]
    for (first, last), offset, amount in zip(names, offsets, amounts, strict=True):
        c = make_contact(first_name=first, last_name=last)
        inv = make_invoice(contact=c, amount=amount, due=today - timedelta(days=offset))
        actions.enroll_invoice(inv, clock())
        contacts.append(c)
        invoices.append(inv)
    actions.record_payment(invoices[2], Decimal("89.50"), clock() - timedelta(days=2), actor="webhook")
    actions.record_payment(invoices[3], Decimal("120.00"), clock() - timedelta(days=1), actor="webhook")
    actions.record_payment(invoices[10], Decimal("180.00"), clock() - timedelta(days=3), actor="webhook")
    for inv in invoices[1:5]:
        actions.record_promise(inv, today + timedelta(days=5), clock() - timedelta(days=4))
    actions.mark_promise_broken(invoices[4], clock())
    from duedesk.records.timeline import log

    for inv in invoices[:10]:  # what the worker would have logged: texts for most, calls for the late ones
        log(org, "sms.sent", clock() - timedelta(days=6), contact=inv.contact, invoice=inv, channel="sms",
            body=f"Hi {inv.contact.first_name}, this is Maple Clinic. A friendly reminder about your balance.")
    for inv in invoices[1:8]:
        log(org, "call.placed", clock() - timedelta(days=5), contact=inv.contact, invoice=inv, channel="call")
    hardship = actions.open_handoff(
        contacts[0], "hardship", clock() - timedelta(hours=2), invoice=invoices[0],
        summary="Lost her job last month; asks to pay the balance over three months.",
        collected={"identity_verified": True, "stated_reason": "lost job", "amount_offered": "$100 a month"},
        transcript=[
            {"speaker": "agent", "text": "Hi, this is Maple Clinic calling about your balance of $300. "
             "Is this Ana?", "intent": ""},
            {"speaker": "patient", "text": "Yes, this is Ana.", "intent": "identity"},
            {"speaker": "agent", "text": "When would you be able to pay the balance?", "intent": ""},
            {"speaker": "patient", "text": "I lost my job last month. I could do maybe a hundred a month.",
             "intent": "hardship"},
            {"speaker": "agent", "text": "Thank you for telling me. Someone from our billing office will "
             "call you back to set that up.", "intent": ""},
        ])
    actions.open_handoff(contacts[1], "dispute", clock() - timedelta(hours=5), invoice=invoices[1],
                         summary="Says insurance should have covered the visit.",
                         collected={"identity_verified": True, "stated_reason": "insurance"})
    actions.open_handoff(contacts[5], "request_human", clock() - timedelta(days=1), invoice=invoices[5],
                         summary="Asked to speak with someone.")
    resolved = actions.open_handoff(contacts[6], "verify_payment", clock() - timedelta(days=2),
                                    invoice=invoices[6], summary="Says she paid at the front desk.")
    resolved.status, resolved.resolved_at = "resolved", clock() - timedelta(days=1, hours=20)
    resolved.save()
    return {"user": user, "contacts": contacts, "invoices": invoices, "hardship": hardship}


def log_in(page, base_url: str):
    """Log in as the clinic's owner through the login form."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username or email").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")
    return page


@pytest.fixture
def logged_in(page, live_server, clinic):
    return log_in(page, live_server.url)


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    """The overview keeps its figures in the cache; ids may repeat between tests, so start empty, and
    recompute whenever an event landed (no grace period for a busy worker)."""
    from django.core.cache import cache

    monkeypatch.setattr("duedesk.web.overview.STALE_OK", 0)
    cache.clear()
    yield
    cache.clear()
