"""Reads built once per process (records/prepared.py): each call gives what the queryset would, for the values
it is given, with the SQL the ORM wrote the first time."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from duedesk.records.models import Call, Contact, Invoice, Organization
from duedesk.records.prepared import Prepared

pytestmark = pytest.mark.django_db


def test_each_call_reads_the_rows_of_its_own_values(org, make_contact):
    other = Organization.objects.create(slug="other-clinic", name="Oak Clinic")
    maria = make_contact(phone="+12125550111")
    ana = Contact.objects.create(organization=other, first_name="Ana", phone="+12125550111")
    by_phone = Prepared(lambda org_id, phone: Contact.objects.filter(organization_id=org_id, phone=phone)
                        .order_by("pk"))

    assert by_phone(org.pk, "+12125550111") == [maria]
    assert by_phone(other.pk, "+12125550111") == [ana]
    assert by_phone(org.pk, "+12125550999") == []
    found = by_phone(org.pk, maria.phone)[0]
    assert (found.first_name, found.date_of_birth, found.organization_id) == ("Maria", maria.date_of_birth, org.pk)
    assert len(by_phone._compiled) == 1  # one SQL for every call


def test_related_rows_and_annotations_come_with_the_row(org, make_invoice, clock):
    invoice = make_invoice()
    call = Call.objects.create(organization=org, contact=invoice.contact, invoice=invoice, to=invoice.contact.phone,
                               sender="+12125550199", status="ringing", created_at=clock())
    with_related = Prepared(lambda pk: Call.objects.select_related("organization", "contact", "invoice")
                            .filter(pk=pk))
    counted = Prepared(lambda pk: Invoice.objects.filter(pk=pk).annotate(placed=Count("calls")))

    with CaptureQueriesContext(connection) as queries:
        found = with_related(call.pk)[0]
        assert (found.organization.name, found.contact.first_name, found.invoice.balance) == (
            "Maple Clinic", "Maria", invoice.balance)
    assert len(queries) == 1
    assert counted(invoice.pk)[0].placed == 1


def test_a_locking_read_locks_the_row_in_the_callers_transaction(org, make_contact):
    contact = make_contact()
    locked = Prepared(lambda pk: Contact.objects.select_for_update().filter(pk=pk))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert locked(contact.pk) == [contact]
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in queries[-1]["sql"] or "FOR UPDATE" in queries[-2]["sql"]


def test_a_value_the_query_changes_or_a_shape_it_cannot_bind_is_refused(org):
    with pytest.raises(ValueError, match="changed on its way"):
        Prepared(lambda name: Contact.objects.filter(first_name__icontains=name))("Maria")
    with pytest.raises(ValueError, match="as it was given"):
        Prepared(lambda name: Contact.objects.all())("Maria")  # a value the query never uses
    with pytest.raises(TypeError):
        Prepared(lambda when: Contact.objects.filter(created_at=when))(None)


def test_how_columns_become_python_is_asked_once_per_connection(org, make_invoice, clock, monkeypatch):
    """Asking a hundred columns' converters cost as much as the rest of the read: it is done once per query and
    connection (each thread's, whose operations they may be). Later reads still decrypt, parse JSON and (on
    SQLite) make dates as the queryset does."""
    from django.db.models.sql import compiler

    invoice = make_invoice()
    call = Call.objects.create(organization=org, contact=invoice.contact, invoice=invoice, to=invoice.contact.phone,
                               sender="+12125550199", status="ringing", created_at=clock(),
                               dialog_state={"step": "verify_name", "transcript": [{"speaker": "assistant"}]})
    asked = []
    get_converters = compiler.SQLCompiler.get_converters
    monkeypatch.setattr(compiler.SQLCompiler, "get_converters",
                        lambda self, expressions: asked.append(self.connection) or get_converters(self, expressions))
    with_related = Prepared(lambda pk: Call.objects.select_related("organization", "contact", "invoice")
                            .filter(pk=pk))
    expected = Call.objects.select_related("organization", "contact", "invoice").get(pk=call.pk)
    asked.clear()

    def read() -> tuple:
        found = with_related(call.pk)[0]
        return (found.dialog_state, found.created_at, found.invoice.balance, found.invoice.due_date,
                found.contact.date_of_birth, found.contact.fields, found.organization.created_at)

    want = (expected.dialog_state, expected.created_at, expected.invoice.balance, expected.invoice.due_date,
            expected.contact.date_of_birth, expected.contact.fields, expected.organization.created_at)
    assert read() == want and read() == want
    assert asked == [connection]
