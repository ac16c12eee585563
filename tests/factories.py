"""Shared fixtures: an organization with the default workflow, contacts and invoices, a virtual clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest

_seq = count(1)


class Clock:
    """A virtual clock: tests never read the wall clock."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


@pytest.fixture
def clock():
    # A Monday, 15:00 UTC = 10:00 in New York.
    return Clock(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))


@pytest.fixture
def org(db):
    from duedesk.engine import definitions
    from duedesk.records.models import Organization

    organization = Organization.objects.create(
        slug=f"clinic-{next(_seq)}", name="Maple Clinic", timezone="America/New_York",
        callback_number="+12125550100", voicemail_name="Dana", pay_link_base="https://pay.example.com/",
        twilio_baa_signed=True,
    )
    definitions.ensure_default(organization)
    return organization


@pytest.fixture
def make_contact(org):
    from duedesk.records.models import Contact

    def make(**kw):
        n = next(_seq)
        defaults = dict(
            organization=org, first_name="Maria", last_name=f"Lopez{n}", phone=f"+1212555{n:04d}",
            email=f"maria{n}@example.com", language="en", date_of_birth=date(1980, 3, 3),
        )
        defaults.update(kw)
        return Contact.objects.create(**defaults)

    return make


@pytest.fixture
def make_invoice(org, make_contact):
    from duedesk.records.models import Invoice

    def make(contact=None, amount="120.00", due=date(2026, 12, 10), **kw):
        contact = contact or make_contact()
        n = next(_seq)
        return Invoice.objects.create(
            organization=contact.organization, contact=contact, external_ref=f"INV-{n}",
            amount_due=Decimal(amount), balance=Decimal(amount), due_date=due,
            pay_link=f"https://pay.example.com/INV-{n}", **kw,
        )

    return make


@pytest.fixture
def transports(clock):
    from duedesk.channels.registry import simulated

    return simulated(clock)


@pytest.fixture
def worker(transports, clock):
    from duedesk.engine.worker import Worker

    return Worker(lambda org: transports, clock=clock, worker_id="test-worker")
