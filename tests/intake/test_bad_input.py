"""Bad input to the import: dates outside the accepted years, control characters, over-long cells, bad time
zones and languages are reported with their line and field; the rows around them land, row by row and in bulk."""

import io

import pytest

from duedesk.engine.models import Step
from duedesk.intake import checks, importer
from duedesk.intake.importer import RowError, import_invoices
from duedesk.records.models import Contact, Invoice

pytestmark = pytest.mark.django_db

HEADER = "external_ref,first_name,last_name,phone,email,timezone,language,date_of_birth,amount_due,currency,due_date"


def row(ref: str, **cells) -> str:
    values = {"first_name": "Maria", "last_name": "Lopez", "phone": "", "email": f"{ref.lower()}@example.com",
              "timezone": "", "language": "", "date_of_birth": "", "amount_due": "120.00", "currency": "",
              "due_date": "2026-12-20", **cells}
    return ",".join([ref, *(values[c] for c in HEADER.split(",")[1:])])


def run(org, clock, *rows, bulk=False):
    text = "\n".join([HEADER, *rows]) + "\n"
    return import_invoices(org, io.StringIO(text, newline=""), clock(), bulk=bulk)


BAD_CELLS = [
    ({"due_date": "0001-01-01"}, "due_date", "'0001-01-01' is outside the years 1900-2200"),
    ({"due_date": "9999-12-31"}, "due_date", "'9999-12-31' is outside the years 1900-2200"),
    ({"due_date": "12/31/9999"}, "due_date", "'9999-12-31' is outside the years 1900-2200"),
    ({"date_of_birth": "1850-01-01"}, "date_of_birth", "'1850-01-01' is outside the years 1900-2200"),
    ({"first_name": "Ma\x00ria"}, "first_name", "contains a control character (U+0000)"),
    ({"last_name": "Lo\x1bpez"}, "last_name", "contains a control character (U+001B)"),
    ({"first_name": "M" * 101}, "first_name", "is longer than 100 characters"),
    ({"email": "a" * 250 + "@example.com"}, "email", "is longer than 254 characters"),
    ({"email": "ana\x00@example.com"}, "email", "contains a control character (U+0000)"),
    ({"phone": "212\x00555"}, "phone", "contains a control character (U+0000)"),
    ({"timezone": "Not/AZone"}, "timezone", "'Not/AZone' is not a time zone (use a name like America/New_York)"),
    ({"language": "xx"}, "language", "'xx' is not a supported language (use en or es, or a locale of them like es-MX)"),
]


@pytest.mark.parametrize("bulk", [False, True], ids=["row by row", "bulk"])
@pytest.mark.parametrize(("cells", "field", "message"), BAD_CELLS)
def test_a_bad_cell_is_named_and_the_rows_after_it_land(org, clock, cells, field, message, bulk):
    result = run(org, clock, row("GOOD-1"), row("BAD-1", **cells), row("GOOD-2"), bulk=bulk)
    assert result.errors == [RowError(3, field, message)]
    assert result.created == 2
    assert set(Invoice.objects.filter(organization=org).values_list("external_ref", flat=True)) == {
        "GOOD-1", "GOOD-2"}
    assert not Contact.objects.filter(email="bad-1@example.com").exists()


def test_the_accepted_years_are_a_setting(org, clock, settings):
    settings.MIN_YEAR, settings.MAX_YEAR = 2000, 2030
    result = run(org, clock, row("A", due_date="2031-01-01"), row("B", due_date="2030-12-31"))
    assert result.errors == [RowError(2, "due_date", "'2031-01-01' is outside the years 2000-2030")]
    assert Invoice.objects.get(external_ref="B").due_date.year == 2030


def test_the_edges_of_the_accepted_years_are_planned(org, clock):
    """1900 and 2200 land: the first is long overdue, the second's step is planned in its own year."""
    result = run(org, clock, row("OLD", due_date="1900-01-01"), row("FAR", due_date="2200-12-31"))
    assert result.errors == [] and result.created == 2
    far = Step.objects.get(enrollment__invoice__external_ref="FAR", status="pending")
    assert far.run_at.year == 2200


@pytest.mark.parametrize("bulk", [False, True], ids=["row by row", "bulk"])
def test_a_row_the_engine_cannot_plan_is_reported_and_the_import_goes_on(org, clock, monkeypatch, bulk):
    """Whatever goes wrong with one row (here: planning raises), it is that row's error, not the file's."""
    from duedesk.engine.actions import invoices

    enroll = invoices.enroll_invoice

    def flaky(invoice, now, *args, **kwargs):
        if invoice.external_ref == "BAD-1":
            raise OverflowError("date value out of range")
        return enroll(invoice, now, *args, **kwargs)

    monkeypatch.setattr(invoices, "enroll_invoice", flaky)  # as a new invoice is enrolled (create_invoice)
    monkeypatch.setattr(importer, "BULK_CHUNK", 2)
    if bulk:  # the chunk's own planning fails too: it is written row by row
        from duedesk.intake import bulk as bulk_module

        walk = bulk_module.BulkWriter._walk

        def flaky_walk(self, due_date, tz, fields):
            if due_date.day == 21:
                raise OverflowError("date value out of range")
            return walk(self, due_date, tz, fields)

        monkeypatch.setattr(bulk_module.BulkWriter, "_walk", flaky_walk)
    result = run(org, clock, row("GOOD-1"), row("BAD-1", due_date="2026-12-21"), row("GOOD-2"), bulk=bulk)
    assert result.errors == [RowError(3, "row", "could not be imported (OverflowError); nothing of it was saved")]
    assert set(Invoice.objects.values_list("external_ref", flat=True)) == {"GOOD-1", "GOOD-2"}


def test_checks_name_the_first_control_character():
    assert checks.control_character("fine\ttext") == "U+0009"
    assert checks.control_character("line one\nline two", multiline=True) is None
    assert checks.control_character("bell\x07", multiline=True) == "U+0007"
    assert checks.control_character("lone \ud800 surrogate") == "U+D800"
    assert checks.control_character("Señora Müller 李") is None
