"""A channel paused after the provider refused our account or sender: shown in Settings, resumed by staff."""

from __future__ import annotations

from datetime import date

import pytest

from duedesk.engine import actions
from duedesk.engine.actions.channels import pause_channel
from duedesk.engine.models import Step
from duedesk.records.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def paused(org, make_invoice, clock):
    invoice = make_invoice(due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock())
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    Step.objects.filter(pk=step.pk).update(status="held")
    assert pause_channel(org.pk, "sms", clock(), code="20003", error="Twilio rejected our account credentials.")
    assert not pause_channel(org.pk, "sms", clock(), code="20003")  # once
    return step


def test_settings_show_the_paused_channel_and_why(login, owner, paused):
    page = login(owner).get("/settings/").content.decode()
    assert "Texts are paused" in page and "error 20003" in page
    assert "Twilio rejected our account credentials." in page and "/settings/channels/sms/resume/" in page


def test_staff_resume_the_channel_and_its_held_reminders_are_due(login, staff, paused, org, clock):
    response = login(staff).post("/settings/channels/sms/resume/")
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.paused_channels == {}
    planned = paused.run_at
    paused.refresh_from_db()
    assert (paused.status, paused.run_at) == ("pending", planned)  # due on its own day, not sooner
    (resumed,) = Event.objects.filter(kind="channel.resumed")
    assert resumed.actor == staff.get_username() and resumed.detail["steps"] == 1


def test_a_viewer_cannot_resume(login, viewer, paused, org):
    assert login(viewer).post("/settings/channels/sms/resume/").status_code == 403
    org.refresh_from_db()
    assert "sms" in org.paused_channels


def test_an_unknown_channel_is_404(login, owner, paused):
    assert login(owner).post("/settings/channels/fax/resume/").status_code == 404
