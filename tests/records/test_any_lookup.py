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


def test_lists_of_ids_and_texts_go_to_postgresql_as_the_same_array_text(org, make_invoice):
    """A list of plain ints, or of plain strings none of which needs quoting, is written as psycopg writes it
    (records/bulk: in one go); any other list as psycopg writes it; and the rows found are the same."""
    if connection.vendor != "postgresql":
        pytest.skip("arrays are PostgreSQL's")
    from psycopg.adapt import PyFormat, Transformer
    from psycopg.types.array import ListBinaryDumper, ListDumper

    connection.ensure_connection()
    adapters = connection.connection.adapters
    assert adapters.get_dumper(list, PyFormat.TEXT).__name__ == "IdListDumper"
    assert adapters.get_dumper(list, PyFormat.BINARY) is ListBinaryDumper
    ours = adapters.get_dumper(list, PyFormat.TEXT)
    tx = Transformer(connection.connection)
    for value in ([1, 2, 3], [5], [2**40, -7, 0], [-(2**63), 2**63 - 1], [10**30, 1], [1, None, 3], [True, False],
                  [], [None], [[1, 2], [3, 4]], ["a", "b c"], [1.5, 2], list(range(300)),
                  ["a", "b"], ["+12125550100", "+1"], [f"SM{n:032x}" for n in range(300)], ["sent"] * 5, ["NULL"],
                  ["null", "x"], ["x", "Null"], ["nul", "nulls"], ["a,b"], [""], ["a", ""], ["x\xa0y"], ["é", "ñ"],
                  ["a\\b"], ['a"b'], ["{x}"], ["x y"], ["tab\t"], ["a\x00"], ["a", None], ["\u3000"],
                  ["a@example.com", "B@EXAMPLE.COM"]):
        assert _dumped(tx, ours, value) == _dumped(tx, ListDumper, value), value
    assert _dumped(tx, ours, [3, 1, 2]) == (ListDumper(list, tx).upgrade([3, 1, 2], PyFormat.TEXT).oid, b"{3,1,2}")
    assert _dumped(tx, ours, ["b", "a"])[1] == b"{b,a}" and _dumped(tx, ours, ["b", "a b"])[1] == b'{b,"a b"}'
    invoices = [make_invoice() for _ in range(3)]
    ids = [invoices[0].pk, invoices[2].pk, 10**12]
    assert sorted(Contact.objects.filter(invoices__pk__any=ids).values_list("pk", flat=True)) == \
        sorted([invoices[0].contact_id, invoices[2].contact_id])


def _dumped(tx, dumper, value):
    """The array's type and text as the dumper writes it, or the error it raises."""
    from psycopg.adapt import PyFormat

    try:
        upgraded = dumper(list, tx).upgrade(value, PyFormat.TEXT)
        return upgraded.oid, upgraded.dump(value)
    except Exception as error:  # noqa: BLE001 - the same refusal either way
        return type(error)
