"""A new row and the event that reports it, written together (records/bulk.insert_each, timeline.log_with): as
save() and log() write them, in one round trip on PostgreSQL, both or neither."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from duedesk.records.models import Event, Message
from duedesk.records.timeline import log_with

pytestmark = pytest.mark.django_db


def _text(contact, clock, sid: str) -> Message:
    return Message(organization=contact.organization, contact=contact, channel="sms", direction="in", to="+12125550199",
                   sender=contact.phone, body="HELP", status="received", provider_id=sid, created_at=clock())


def test_a_text_and_its_event_are_written_as_save_and_log_write_them(org, make_contact, clock):
    contact = make_contact()
    message = _text(contact, clock, "SM" + "a" * 32)
    with CaptureQueriesContext(connection) as queries:
        event = log_with(message, org, "sms.received", clock(), contact=contact, channel="sms", actor="patient",
                         body="HELP")
    writes = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2)
    assert message.pk and event.pk and not message._state.adding and not event._state.adding
    stored = Message.objects.get(pk=message.pk)
    assert (stored.body, stored.provider_id, stored.contact_id, stored.created_at) == (
        "HELP", "SM" + "a" * 32, contact.pk, clock())
    assert stored.updated_at is not None and stored.updated_at == message.updated_at  # auto_now, as save() sets it
    written = Event.objects.get(pk=event.pk)
    assert (written.kind, written.contact_id, written.actor, written.detail) == (
        "sms.received", contact.pk, "patient", {"body": "HELP"})


def test_a_text_delivered_twice_writes_neither_row_the_second_time(org, make_contact, clock):
    contact = make_contact()
    log_with(_text(contact, clock, "SM" + "b" * 32), org, "sms.received", clock(), contact=contact, body="HELP")
    events = Event.objects.filter(kind="sms.received").count()
    with pytest.raises(IntegrityError), transaction.atomic():
        log_with(_text(contact, clock, "SM" + "b" * 32), org, "sms.received", clock(), contact=contact, body="HELP")
    assert Message.objects.filter(provider_id="SM" + "b" * 32).count() == 1
    assert Event.objects.filter(kind="sms.received").count() == events
