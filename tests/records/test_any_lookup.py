"""`__any` on text columns (records/bulk.AnyText): the rows an `__in` list would find, with one array on
PostgreSQL; the lines a batch of texts reads go through it (records/lines.prefetch)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duedesk.records import lines
from duedesk.records.models import Contact, Line

pytestmark = pytest.mark.django_db


def test_text_any_finds_what_in_finds(org):
    numbers = [f"+1212555{i:04d}" for i in range(5)]
    for number in numbers:
        Line.objects.create(organization=org, kind="phone", address=number)
    Line.objects.create(organization=org, kind="email", address="a@example.com")
    wanted = {numbers[1], numbers[3], "+19999999999", "a@example.com"}
    found = set(Line.objects.filter(address__any=wanted, kind__any=["phone"]).values_list("address", flat=True))
    assert found == {numbers[1], numbers[3]}
    assert found == set(Line.objects.filter(address__in=wanted, kind__in=["phone"]).values_list("address", flat=True))


def test_a_batch_reads_its_contacts_lines_in_one_query(make_invoice, org):
    contacts = [make_invoice().contact for _ in range(3)]
    Line.objects.create(organization=org, kind="phone", address=contacts[1].phone, opted_out={"sms": "2026-01-01"})
    fresh = list(Contact.objects.filter(pk__any=[c.pk for c in contacts]).order_by("pk"))
    with CaptureQueriesContext(connection) as queries:
        lines.prefetch(fresh)
        states = [lines.state(c, "sms", True) for c in fresh]
    assert len(queries) == 1
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"]
    assert [s.opted_out for s in states] == [frozenset(), frozenset({"sms"}), frozenset()]
