"""Health information is encrypted at rest: raw SQL sees Fernet tokens, the application sees plain values,
and `duedesk rotate-keys` re-encrypts under a new first key."""

from datetime import UTC, date, datetime

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from duedesk.engine import actions
from duedesk.records import fields
from duedesk.records.models import Call, Contact, Handoff

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def handoff(make_contact):
    contact = make_contact(date_of_birth=date(1980, 3, 4))
    return actions.open_handoff(contact, "hardship", NOW, summary="I'm on chemo and can't work",
                                transcript=[{"speaker": "patient", "text": "I'm on chemo"}])


def test_raw_sql_sees_ciphertext_and_the_app_reads_plaintext(handoff):
    contact = handoff.contact
    for table, column, pk, plain in [
        ("records_contact", "date_of_birth", contact.pk, "1980-03-04"),
        ("records_handoff", "summary", handoff.pk, "chemo"),
        ("records_handoff", "transcript", handoff.pk, "chemo"),
    ]:
        stored = raw(table, column, pk)
        assert stored.startswith(fields.TOKEN_PREFIX) and plain not in stored
    assert Contact.objects.get(pk=contact.pk).date_of_birth == date(1980, 3, 4)
    fresh = Handoff.objects.get(pk=handoff.pk)
    assert fresh.summary == "I'm on chemo and can't work" and fresh.transcript[0]["text"] == "I'm on chemo"


def test_a_call_transcript_is_encrypted(make_invoice):
    invoice = make_invoice()
    call = Call.objects.create(organization=invoice.organization, contact=invoice.contact, invoice=invoice,
                               to=invoice.contact.phone, created_at=NOW,
                               dialog_state={"transcript": [{"speaker": "patient", "text": "my diagnosis"}]})
    assert "diagnosis" not in raw("records_call", "dialog_state", call.pk)
    Call.objects.filter(pk=call.pk).update(dialog_state={"step": "done"})  # update() encrypts too
    assert raw("records_call", "dialog_state", call.pk).startswith(fields.TOKEN_PREFIX)
    assert Call.objects.get(pk=call.pk).dialog_state == {"step": "done"}


def test_rotation_re_encrypts_under_the_first_key(handoff, settings):
    from typer.testing import CliRunner

    from duedesk.cli import app

    old_token = raw("records_contact", "date_of_birth", handoff.contact_id)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_KEYS = [new_key, *settings.FIELD_KEYS]
    result = CliRunner().invoke(app, ["rotate-keys"])
    assert result.exit_code == 0 and "re-encrypted" in result.output
    token = raw("records_contact", "date_of_birth", handoff.contact_id)
    assert token != old_token
    assert Fernet(new_key.encode()).decrypt(token.encode()) == b"1980-03-04"  # the new key alone reads it
    settings.FIELD_KEYS = [new_key]
    assert Contact.objects.get(pk=handoff.contact_id).date_of_birth == date(1980, 3, 4)


def test_the_data_migration_encrypts_rows_written_before_it(handoff):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE records_contact SET date_of_birth = %s WHERE id = %s", ["1979-01-02",
                                                                                    handoff.contact_id])
    from importlib import import_module

    migration = import_module("duedesk.records.migrations.0008_encrypt_health_information")
    fields.seal_columns(connection, migration.COLUMNS, rotate_tokens=False)
    assert raw("records_contact", "date_of_birth", handoff.contact_id).startswith(fields.TOKEN_PREFIX)
    assert Contact.objects.get(pk=handoff.contact_id).date_of_birth == date(1979, 1, 2)
