"""A phone number is a person's line: opt-outs, unreachable marks and consent belong to the number (and the
email address), the gate checks the number a send goes to whichever contact row it came from, and the history
of a line outlives its contacts (the suppression list by number)."""

import csv
import hashlib
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.records.models import Contact, Event, Line, LineChange, Message
from tests.integrations.twilio.conftest import CLINIC_NUMBER, payload

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York


@pytest.fixture
def hooks(connected_org, hook_clock, twilio_post):
    """Signed Twilio webhooks on the test's clock, for an organization connected to Twilio."""
    def text_in(sender: str, body: str, sid: str):
        response = twilio_post.post("/hooks/twilio/sms", payload(
            "sms_inbound", To=CLINIC_NUMBER, From=sender, Body=body, MessageSid=sid, SmsSid=sid))
        assert response.status_code == 200
        return response

    return text_in


@pytest.fixture
def family(connected_org, make_contact, make_invoice):
    """A parent and a child on one phone, each with an invoice: the child's heads-up comes a week later."""
    parent = make_contact(first_name="Rosa", phone="+12125550177")
    child = make_contact(first_name="Luis", phone="+12125550177", email="luis@example.com")
    return make_invoice(parent, due=date(2026, 12, 10)), make_invoice(child, due=date(2026, 12, 17))


def texts_to(phone: str) -> list[str]:
    """What the phone received: the worker's texts (through the transport) and the replies given back in the
    inbound webhook's TwiML answer (recorded as outbound messages, never through the transport)."""
    return [m.body for m in Message.objects.filter(to=phone, direction="out", channel="sms")
            .exclude(status__in=("failed", "held", "sending")).order_by("pk")]


def test_a_stop_from_a_parent_stops_texts_to_the_child_on_the_same_phone(family, hooks, clock, worker):
    parent_invoice, child_invoice = family
    clock.set(MONDAY)
    actions.enroll_invoice(parent_invoice, clock())
    actions.enroll_invoice(child_invoice, clock())
    worker.tick()
    assert len(texts_to("+12125550177")) == 1  # the parent's heads-up
    clock.advance(minutes=5)
    hooks("+12125550177", "STOP", "SMstop1")
    clock.set(datetime(2026, 12, 14, 15, 0, tzinfo=UTC))  # the child's heads-up day
    worker.tick()
    sent = texts_to("+12125550177")
    assert len(sent) == 2 and "unsubscribed" in sent[1]  # the heads-up, the confirmation: nothing for Luis
    step = Step.objects.get(enrollment__invoice=child_invoice, step_id="heads_up")
    assert (step.status, step.outcome) == ("blocked", "opted_out")
    blocked = Event.objects.get(kind="step.blocked", contact=child_invoice.contact)
    assert blocked.detail["rule"] == "opted_out"
    # Luis's own email address is another line: not stopped by the parent's STOP.
    assert not Line.objects.filter(address="luis@example.com").exclude(opted_out={}).exists()


def test_the_opt_out_outlives_the_contact_and_stops_a_new_contact_on_that_number(
        hooks, connected_org, make_contact, make_invoice, clock, worker):
    first = make_contact(phone="+12125550188")
    clock.set(MONDAY)
    hooks("+12125550188", "STOP", "SMstop2")
    first.delete()  # staff remove the contact (or the admin does)
    change = LineChange.objects.get(line__address="+12125550188", what="opted_out")
    assert change.contact is None and change.source == "sms keyword"
    again = make_contact(phone="+12125550188", first_name="Again")  # imported again later
    invoice = make_invoice(again, due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    assert not [b for b in texts_to("+12125550188") if "unsubscribed" not in b]
    assert Step.objects.get(enrollment__invoice=invoice, step_id="heads_up").outcome == "opted_out"


def test_a_number_reported_unreachable_blocks_every_contact_on_it(make_contact, make_invoice, clock, worker):
    one = make_contact(phone="+12125550166")
    two = make_contact(phone="+12125550166")
    actions.mark_unreachable(one, "sms", "invalid_number", MONDAY, code="21211")
    assert two.unreachable == {"sms": "invalid_number"}
    invoice = make_invoice(two, due=date(2026, 12, 10))
    clock.set(MONDAY)
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    assert texts_to("+12125550166") == []
    assert Step.objects.get(enrollment__invoice=invoice, step_id="heads_up").outcome == "channel_unreachable"


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_each_contacts_opt_outs_and_unreachable_marks_to_its_lines():
    before, after = [("records", "0008_encrypt_health_information")], [("records", "0009_lines")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    org = old.get_model("records", "Organization").objects.create(slug="old", name="Old Clinic")
    OldContact = old.get_model("records", "Contact")
    OldContact.objects.create(organization=org, phone="+12125550111", email="A@Example.com",
                              opted_out={"all": "2026-01-02T03:04:05+00:00"})
    OldContact.objects.create(organization=org, phone="+12125550122", unreachable={"sms": "21211"},
                              consent={"call": False})
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    lines = {(ln.kind, ln.address): ln for ln in Line.objects.filter(organization_id=org.pk)}
    assert lines[("phone", "+12125550111")].opted_out == {"all": "2026-01-02T03:04:05+00:00"}
    assert lines[("email", "a@example.com")].opted_out == {"all": "2026-01-02T03:04:05+00:00"}
    second = lines[("phone", "+12125550122")]
    assert second.unreachable == {"sms": "21211"} and set(second.opted_out) == {"call"}
    assert LineChange.objects.filter(line=second).count() == 2
    contact = Contact.objects.get(phone="+12125550111")
    assert contact.opted_out == {"all": "2026-01-02T03:04:05+00:00"}


# ----------------------------------------------------------------------------- STOP and HELP


def test_three_stops_in_two_minutes_get_one_confirmation(hooks, connected_org, make_contact, clock):
    make_contact(phone="+12125550155")
    clock.set(MONDAY)
    for n in range(3):
        hooks("+12125550155", "STOP", f"SMthrice{n}")
        clock.advance(seconds=50)
    sent = texts_to("+12125550155")
    assert len(sent) == 1 and "unsubscribed" in sent[0]
    assert LineChange.objects.filter(line__address="+12125550155", what="opted_out").count() == 1


def test_stop_is_confirmed_in_the_contacts_language(hooks, connected_org, make_contact, clock):
    make_contact(phone="+12125550144", language="es-MX")
    clock.set(MONDAY)
    hooks("+12125550144", "ALTO", "SMalto")
    assert texts_to("+12125550144") == [
        "Maple Clinic: Se ha dado de baja y no recibirá más mensajes ni llamadas automáticas. "
        "Responda START para volver a suscribirse."]


def test_help_names_the_organization_and_a_working_number_even_without_a_callback_number(
        hooks, connected_org, make_contact, clock):
    make_contact(phone="+12125550133")
    connected_org.callback_number = ""
    connected_org.save()
    clock.set(MONDAY)
    hooks("+12125550133", "HELP", "SMhelp")
    [answer] = texts_to("+12125550133")
    assert "Maple Clinic" in answer and CLINIC_NUMBER in answer and "Call us at ." not in answer


def test_no_callback_number_defers_automated_texts_with_the_rule_named(connected_org, make_invoice, clock, worker):
    connected_org.callback_number = ""
    connected_org.save()
    invoice = make_invoice(due=date(2026, 12, 10))
    clock.set(MONDAY)
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    assert SimulatedSend.objects.count() == 0
    assert Event.objects.get(kind="step.deferred", contact=invoice.contact).detail["rule"] == "no_callback_number"


# ----------------------------------------------------------------------------- consent


def test_without_consent_an_automated_text_is_blocked_and_with_it_the_send_carries_the_basis(
        connected_org, clock, worker):
    from duedesk.intake.importer import import_invoices

    connected_org.accept_provided_number = False  # express consent only
    connected_org.save()
    clock.set(MONDAY)
    rows = ("external_ref,first_name,phone,amount_due,due_date,consent\n"
            "C-1,Ana,+12125550121,120.00,2026-12-10,yes\n"
            "C-2,Bo,+12125550122,80.00,2026-12-10,\n")
    result = import_invoices(connected_org, io.StringIO(rows, newline=""), clock())
    assert (result.created, result.errors) == (2, [])
    worker.tick()
    assert len(texts_to("+12125550121")) == 1 and texts_to("+12125550122") == []
    blocked = Event.objects.get(kind="step.blocked")
    assert blocked.contact.first_name == "Bo" and blocked.detail["rule"] == "no_consent"
    sent = Event.objects.get(kind="sms.sent")
    assert sent.detail["consent"] == "express"
    assert sent.detail["sha256"] == hashlib.sha256(sent.detail["body"].encode()).hexdigest()
    given = LineChange.objects.get(line__address="+12125550121", what="consent_given")
    assert given.source == "import" and "consent=yes" in given.evidence


def test_stop_contacting_me_withdraws_consent_for_everyone_on_the_number(
        hooks, connected_org, make_contact, make_invoice, clock, worker):
    parent = make_contact(phone="+12125550111")
    child = make_contact(phone="+12125550111")
    clock.set(MONDAY)
    hooks("+12125550111", "please stop contacting me", "SMcease")
    invoice = make_invoice(child, due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    assert (step.status, step.outcome) == ("blocked", "no_consent")
    assert Event.objects.filter(kind="consent.revoked", contact=parent).exists()


# ----------------------------------------------------------------------------- records for an auditor


def test_audit_export_writes_every_attempt_and_purge_keeps_the_suppression_list(
        hooks, connected_org, make_invoice, clock, worker, tmp_path, settings):
    from typer.testing import CliRunner

    from duedesk.cli import app
    from duedesk.records import audit

    invoice = make_invoice(due=date(2026, 12, 10))
    phone = invoice.contact.phone
    clock.set(MONDAY)
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    hooks(phone, "STOP", "SMaudit")
    out = tmp_path / "attempts.csv"
    result = CliRunner().invoke(app, ["audit", "export", "--contact", str(invoice.contact_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert [(r["channel"], r["to"], r["consent_basis"]) for r in rows] == [
        ("sms", phone, "provided_number"), ("sms", phone, "reply")]
    heads_up = SimulatedSend.objects.filter(to=phone).order_by("pk").first()
    assert rows[0]["content_sha256"] == hashlib.sha256(heads_up.body.encode()).hexdigest()
    assert rows[0]["outcome"] in ("sent", "queued", "delivered") and rows[0]["invoice"] == invoice.external_ref
    by_date = CliRunner().invoke(app, ["audit", "export", "--from", "2026-12-07", "--to", "2026-12-07"])
    assert by_date.exit_code == 0 and by_date.output.count(phone) == 2
    assert CliRunner().invoke(app, ["audit", "export", "--from", "2026-12-08", "--to", "2026-12-09"]).output \
        .strip() == ",".join(audit.COLUMNS)

    invoice.contact.delete()
    settings.RETENTION_DAYS = 30
    deleted = audit.purge(MONDAY + timedelta(days=31))
    assert deleted["messages"] == 3 and not Event.objects.exists()  # two texts out, the STOP in
    line = Line.objects.get(address=phone)
    assert "all" in line.opted_out and line.changes.filter(what="opted_out").exists()
