"""The batch's writes per batch, not per row (records/bulk.py, advance.mark_done): the rows read back as the
ORM would have written them, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duedesk.engine.advance import mark_done, new_step
from duedesk.engine.models import Enrollment, Step
from duedesk.records import bulk
from duedesk.records.fields import TOKEN_PREFIX
from duedesk.records.models import Event, Handoff, Message
from duedesk.records.timeline import event, save_all

pytestmark = pytest.mark.django_db


def _enrollment(invoice, org, clock):
    from duedesk.engine import definitions

    return Enrollment.objects.create(organization=org, invoice=invoice, contact=invoice.contact,
                                     workflow=definitions.current(org), current_step="heads_up",
                                     started_at=clock())


def test_bulk_insert_gives_ids_and_writes_json_times_and_encrypted_fields(make_invoice, org, clock):
    invoice = make_invoice()
    contact = invoice.contact
    events = save_all([event(org, "sms.sent", clock() + timedelta(seconds=i), contact=contact, invoice=invoice,
                             channel="sms", step="heads_up", body=f"text {i}", n=i) for i in range(3)])
    assert all(e.pk for e in events)
    stored = list(Event.objects.filter(invoice=invoice).order_by("pk"))
    assert [e.pk for e in stored] == [e.pk for e in events]
    assert [e.detail for e in stored] == [{"step": "heads_up", "body": f"text {i}", "n": i} for i in range(3)]
    assert [e.at for e in stored] == [clock() + timedelta(seconds=i) for i in range(3)]
    assert stored[0].contact_id == contact.pk and stored[0].channel == "sms"

    message = bulk.insert([Message(organization=org, contact=contact, invoice=invoice, to=contact.phone,
                                   body="Hola", created_at=clock())])[0]
    row = Message.objects.get(pk=message.pk)
    assert (row.body, row.status, row.direction, row.idempotency_key) == ("Hola", "sending", "out", None)
    assert row.updated_at is not None  # auto_now, as save() would set it

    handoff = bulk.insert([Handoff(organization=org, contact=contact, invoice=invoice, reason="payment_plan",
                                   summary="Wants to pay in three parts", collected={"amount": "40"},
                                   created_at=clock())])[0]
    again = Handoff.objects.get(pk=handoff.pk)
    assert (again.summary, again.collected) == ("Wants to pay in three parts", {"amount": "40"})
    with connection.cursor() as cursor:  # encrypted at rest, read back in clear
        cursor.execute("SELECT summary FROM records_handoff WHERE id = %s", [handoff.pk])
        assert cursor.fetchone()[0].startswith(TOKEN_PREFIX)


def test_any_lookup_matches_the_ids_given_and_nothing_for_none(make_invoice, org, clock):
    enrollments = [_enrollment(make_invoice(), org, clock) for _ in range(3)]
    steps = bulk.insert([new_step(org.pk, e.pk, "heads_up", "sms", 1, clock(), clock()) for e in enrollments])
    assert sorted(Step.objects.filter(pk__any=[steps[0].pk, steps[2].pk]).values_list("pk", flat=True)) == \
        sorted([steps[0].pk, steps[2].pk])
    assert Step.objects.filter(enrollment_id__any={enrollments[1].pk}).get().pk == steps[1].pk
    assert not Step.objects.filter(pk__any=[]).exists()


def test_mark_done_writes_each_steps_outcome_and_moment_in_one_update(make_invoice, org, clock):
    enrollments = [_enrollment(make_invoice(), org, clock) for _ in range(3)]
    steps = bulk.insert([new_step(org.pk, e.pk, "heads_up", "sms", 1, clock(), clock(), status="sending")
                         for e in enrollments])
    later = clock() + timedelta(seconds=2)
    mark_done([(steps[0].pk, "sent", clock()), (steps[1].pk, "sent", later), (steps[2].pk, "answered", later)])
    rows = {s.pk: (s.status, s.outcome, s.finished_at, s.lease_until)
            for s in Step.objects.filter(pk__any=[s.pk for s in steps])}
    assert rows == {steps[0].pk: ("done", "sent", clock(), None), steps[1].pk: ("done", "sent", later, None),
                    steps[2].pk: ("done", "answered", later, None)}


def test_writes_sent_together_each_take_effect_in_one_round_trip(make_invoice, org, clock):
    """The settling's UPDATEs (provider ids, first text, steps done, enrollments) go as one query of several
    statements on PostgreSQL; each one still does what it says, quotes and all."""
    enrollments = [_enrollment(make_invoice(), org, clock) for _ in range(2)]
    steps = bulk.insert([new_step(org.pk, e.pk, "heads_up", "sms", 1, clock(), clock(), status="sending")
                         for e in enrollments])
    statements = [
        bulk.update_sql(Step.objects.filter(pk__any=[s.pk for s in steps]), status="done", outcome="it's sent",
                        finished_at=clock()),
        None,  # a write with nothing to do
        bulk.update_sql(Enrollment.objects.filter(pk=enrollments[0].pk), current_step="past_due",
                        data={"last_outcome": "sent; \"quoted\""}),
    ]
    with CaptureQueriesContext(connection) as queries:
        bulk.together(statements)
    assert len(queries.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert set(Step.objects.filter(pk__any=[s.pk for s in steps]).values_list("status", "outcome", "finished_at")) \
        == {("done", "it's sent", clock())}
    first = Enrollment.objects.get(pk=enrollments[0].pk)
    assert (first.current_step, first.data) == ("past_due", {"last_outcome": "sent; \"quoted\""})
    assert Enrollment.objects.get(pk=enrollments[1].pk).current_step == "heads_up"


def test_each_new_step_counts_the_visits_its_enrollment_made_of_that_step_only(make_invoice, org, clock):
    """forward numbers a step's visit by the rows its own enrollment has of that step: another step's rows, or
    another enrollment's rows of the same step, do not count; two moves to one step in a batch count each other."""
    from duedesk.engine import advance

    a, b, c = (_enrollment(make_invoice(), org, clock) for _ in range(3))
    bulk.insert([new_step(org.pk, a.pk, "late_text", "sms", 1, clock(), clock(), status="done"),
                 new_step(org.pk, a.pk, "follow_up_text", "sms", 1, clock(), clock(), status="done"),
                 new_step(org.pk, a.pk, "follow_up_text", "sms", 2, clock(), clock(), status="done"),
                 new_step(org.pk, b.pk, "follow_up_text", "sms", 1, clock(), clock(), status="done"),
                 new_step(org.pk, c.pk, "heads_up", "sms", 1, clock(), clock(), status="done")])
    for e in (a, b, c):
        e.refresh_from_db()
    moves = [advance.Move(a, "late_text"), advance.Move(b, "late_text"), advance.Move(c, "follow_up_text"),
             advance.Move(b, "follow_up_text"), advance.Move(c, "late_text"), advance.Move(c, "late_text")]
    made = advance.forward(moves, clock())
    assert [(s.enrollment_id, s.step_id, s.occurrence) for s in made] == [
        (a.pk, "late_text", 2), (b.pk, "late_text", 1), (c.pk, "follow_up_text", 1),
        (b.pk, "follow_up_text", 2), (c.pk, "late_text", 1), (c.pk, "late_text", 2)]
    assert all(s.pk for s in made) and made[0].idempotency_key == f"e{a.pk}:late_text:2"


def test_the_next_pending_instalment_of_each_invoice(make_invoice, org, clock):
    from datetime import date
    from decimal import Decimal

    from duedesk.engine import advance
    from duedesk.records.models import Instalment

    a, b, c = make_invoice(), make_invoice(), make_invoice()
    for invoice, day, status in ((a, date(2027, 1, 5), "pending"), (a, date(2027, 1, 1), "paid"),
                                 (a, date(2027, 2, 5), "pending"), (b, date(2027, 3, 1), "pending"),
                                 (c, date(2027, 1, 2), "paid")):
        Instalment.objects.create(organization=org, invoice=invoice, due_date=day, amount=Decimal("10"),
                                  status=status, created_at=clock())
    assert advance._next_instalments([a.pk, b.pk, c.pk, a.pk]) == {a.pk: date(2027, 1, 5), b.pk: date(2027, 3, 1)}
    assert advance._next_instalments([]) == {}


def test_enrollments_written_together_keep_each_its_own_data(make_invoice, org, clock):
    """The batch's enrollments are written in groups of equal places and data: values JSON tells apart stay apart
    (true is not 1), and the same data in another key order is written the same."""
    from duedesk.engine import advance

    enrollments = [_enrollment(make_invoice(), org, clock) for _ in range(5)]
    datas = [{"flag": True}, {"flag": 1}, {"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, {"flag": 1.5}]
    for e, data in zip(enrollments, datas, strict=True):
        e.data, e.current_step = data, "late_text"
    bulk.together(advance._write_enrollments(enrollments))
    stored = {e.pk: (e.data, e.current_step) for e in Enrollment.objects.filter(pk__in=[e.pk for e in enrollments])}
    assert [stored[e.pk] for e in enrollments] == [({"flag": True}, "late_text"), ({"flag": 1}, "late_text"),
                                                   ({"a": 1, "b": [1, 2]}, "late_text"),
                                                   ({"a": 1, "b": [1, 2]}, "late_text"), ({"flag": 1.5}, "late_text")]
    assert type(stored[enrollments[0].pk][0]["flag"]) is bool and type(stored[enrollments[1].pk][0]["flag"]) is int


def test_the_simulated_transport_records_a_handover_in_one_write(clock, db):
    from itertools import count

    from duedesk.channels.base import Outgoing
    from duedesk.channels.models import SimulatedSend
    from duedesk.channels.simulated import SimulatedTransport

    ticks = count()
    moments = lambda: clock() + timedelta(seconds=next(ticks))  # noqa: E731 - each row reads the clock
    transport = SimulatedTransport(moments)
    msgs = [Outgoing(channel=channel, to=to, body=f"body {i} \\ \t tab", idempotency_key=f"e{i}:heads_up:1")
            for i, (channel, to) in enumerate((("sms", "+12125550101"), ("email", "a@example.com"), ("sms", "+1")))]
    accepted = transport.send_many(msgs)
    rows = list(SimulatedSend.objects.order_by("pk").values_list("channel", "to", "body", "idempotency_key",
                                                                 "provider_id", "at"))
    assert rows == [(m.channel, m.to, m.body, m.idempotency_key, a.provider_id, clock() + timedelta(seconds=i))
                    for i, (m, a) in enumerate(zip(msgs, accepted, strict=True))]
    assert [a.provider_id[:2] for a in accepted] == ["SM", "EM", "SM"] and len(accepted[0].provider_id) == 34
    assert transport.lookup("e1:heads_up:1", "a@example.com", clock()).provider_id == accepted[1].provider_id
    with pytest.raises(ValueError):
        bulk.insert_values(SimulatedSend, ("channel", "to"), [("sms", "+1")])
