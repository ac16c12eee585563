"""Shared by the texting tests: a patient who got the heads-up text, and a reply from them."""

from datetime import UTC, date, datetime

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.conversations.texts import receive_text
from duedesk.engine import actions

# Signed inbound texts through Twilio's webhook (the Twilio tests' fixtures, shared here by name).
from tests.integrations.twilio.conftest import connected_org, hook_clock, twilio_env, twilio_post  # noqa: F401


@pytest.fixture
def texted(make_invoice, clock, worker):
    """A patient who got the heads-up text on Monday Dec 7 (10:00 in New York)."""
    invoice = make_invoice(due=date(2026, 12, 10))
    clock.set(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    assert SimulatedSend.objects.count() == 1
    return invoice


def reply(invoice, body, clock, transports):
    """The patient texts back five minutes later; returns every text sent after the heads-up."""
    clock.advance(minutes=5)
    receive_text(invoice.organization, invoice.contact.phone, "+12125550000", body, clock(), transports,
                 provider_id=f"SM{clock().timestamp():.0f}{len(body)}")
    return [s.body for s in SimulatedSend.objects.order_by("pk")][1:]
