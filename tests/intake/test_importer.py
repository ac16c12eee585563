import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from duedesk.engine.models import Enrollment, Step
from duedesk.intake.importer import (
    NOT_UTF8,
    ImportFileError,
    RowError,
    import_invoices,
    import_invoices_cli,
    parse_amount,
    parse_date,
)
from duedesk.records.models import Contact, Event, Invoice, Organization

pytestmark = pytest.mark.django_db

HEADER = "external_ref,first_name,last_name,phone,email,timezone,language,date_of_birth,amount_due,currency,due_date"
GOOD = "INV-1,Maria,Lopez,(212) 555-0101,maria@example.com,America/New_York,es,03/03/1980,120.00,USD,2026-12-20"


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def run(org, text: str, clock, **kw):
    return import_invoices(org, io.StringIO(text, newline=""), clock(), **kw)


def test_a_good_row_creates_the_contact_and_invoice_and_enrolls_it(org, clock):
    result = run(org, csv_text(GOOD, "INV-2,Ana,Ruiz,,ana@example.com,,,,\"1,250.50\",,12/24/2026"), clock)
    assert (result.created, result.updated, result.errors) == (2, 0, [])
    assert result.summary() == "2 imported (2 created, 0 updated), 0 bad rows"
    invoice = Invoice.objects.get(organization=org, external_ref="INV-1")
    assert invoice.amount_due == invoice.balance == Decimal("120.00")
    assert invoice.due_date == date(2026, 12, 20) and invoice.status == "open"
    assert invoice.pay_link == "https://pay.example.com/INV-1"
    contact = invoice.contact
    assert (contact.phone, contact.language, contact.date_of_birth) == ("+12125550101", "es", date(1980, 3, 3))
    other = Invoice.objects.get(external_ref="INV-2")
    assert other.amount_due == Decimal("1250.50") and other.due_date == date(2026, 12, 24)
    assert other.currency == "USD" and other.contact.language == "en"
    step = Step.objects.get(enrollment__invoice=invoice, status="pending")
    # Three days before Dec 20, at the window's opening in New York.
    assert step.step_id == "heads_up" and step.run_at == datetime(2026, 12, 17, 14, 0, tzinfo=UTC)
    kinds = list(Event.objects.filter(invoice=invoice).values_list("kind", flat=True))
    assert kinds == ["invoice.created", "enrollment.started"]
    assert Event.objects.filter(kind="contact.created", contact=contact).count() == 1


@pytest.mark.parametrize(
    ("cells", "field", "message"),
    [
        ({"amount_due": ""}, "amount_due", "is missing"),
        ({"amount_due": "abc"}, "amount_due", "'abc' is not an amount"),
        ({"amount_due": "$120"}, "amount_due", "'$120' is not an amount"),
        ({"amount_due": "12.345"}, "amount_due", "'12.345' is not an amount"),
        ({"amount_due": "-5.00"}, "amount_due", "'-5.00' is negative; an amount due cannot be"),
        ({"due_date": "next friday"}, "due_date", "'next friday' is not a date (use YYYY-MM-DD or MM/DD/YYYY)"),
        ({"due_date": "12/20/26"}, "due_date", "'12/20/26' is not a date (use YYYY-MM-DD or MM/DD/YYYY)"),
        ({"due_date": "20.12.2026"}, "due_date", "'20.12.2026' is not a date (use YYYY-MM-DD or MM/DD/YYYY)"),
        ({"due_date": "31/12/2026"}, "due_date", "'31/12/2026' is not a date on the calendar"),
        ({"due_date": "2026-02-30"}, "due_date", "'2026-02-30' is not a date on the calendar"),
        ({"due_date": ""}, "due_date", "is missing"),
        ({"phone": "555-01"}, "phone", "'555-01' is not a valid phone number"),
        ({"phone": "", "email": ""}, "phone", "is missing (a phone or an email is needed)"),
        ({"email": "maria-at-example"}, "email", "'maria-at-example' is not an email address"),
        ({"currency": "XYZ"}, "currency", "'XYZ' is not an ISO 4217 currency code (like USD)"),
        ({"timezone": "Mars/Olympus"}, "timezone", "'Mars/Olympus' is not a time zone"),
        ({"language": "fr"}, "language", "'fr' is not a supported language (use en or es, or a locale of them like es-MX)"),
        ({"date_of_birth": "2030-01-01"}, "date_of_birth", "'2030-01-01' is not in the past"),
        ({"external_ref": ""}, "external_ref", "is missing"),
    ],
)
def test_a_bad_cell_is_reported_with_its_line_and_field_and_the_good_rows_land(org, clock, cells, field, message):
    values = dict(zip(HEADER.split(","), GOOD.replace("INV-1", "INV-9").split(","), strict=True))
    values.update(cells)
    bad = ",".join(values.values())
    result = run(org, csv_text(GOOD, bad, "INV-3,Ana,Ruiz,+12125550103,,,,,80,,2026-12-22"), clock)
    assert result.created == 2
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.line, error.field) == (3, field)
    assert error.message.startswith(message)
    assert str(error).startswith(f"line 3, {field}: ")
    assert set(Invoice.objects.values_list("external_ref", flat=True)) == {"INV-1", "INV-3"}


def test_every_bad_cell_of_a_row_is_reported(org, clock):
    result = run(org, csv_text("INV-5,A,B,nope,,Nowhere/City,de,,abc,ZZZ,soon"), clock)
    assert [e.field for e in result.errors] == ["phone", "timezone", "language", "amount_due", "currency",
                                                "due_date"]
    assert result.bad_rows == 1
    assert not Invoice.objects.exists() and not Contact.objects.filter(organization=org).exists()


def test_the_message_named_in_the_docs(org, clock):
    result = run(org, csv_text(*[GOOD.replace("INV-1", f"INV-{n}") for n in range(1, 6)],
                               "INV-7,A,B,+12125550107,,,,,abc,,2026-12-20"), clock)
    assert [str(e) for e in result.errors] == ["line 7, amount_due: 'abc' is not an amount"]


def test_a_duplicate_reference_in_one_file_is_reported_and_the_first_lands(org, clock):
    second = GOOD.replace("120.00", "999.00")
    result = run(org, csv_text(GOOD, second), clock)
    assert result.created == 1
    assert result.errors == [RowError(3, "external_ref", "'INV-1' is already on line 2 of this file")]
    assert Invoice.objects.get(external_ref="INV-1").amount_due == Decimal("120.00")


def test_a_missing_column_imports_nothing(org, clock):
    header = HEADER.replace(",amount_due", "")
    with pytest.raises(ImportFileError, match="the header has no amount_due column; nothing was imported"):
        run(org, csv_text(GOOD.replace(",120.00", ""), header=header), clock)
    assert not Invoice.objects.exists()


def test_phone_or_email_column_is_required(org, clock):
    header = "external_ref,amount_due,due_date"
    with pytest.raises(ImportFileError, match="no phone or email column"):
        run(org, csv_text("INV-1,10,2026-12-20", header=header), clock)


def test_columns_in_any_order_and_case_and_optional_ones_left_out(org, clock):
    text = csv_text("2026-12-20, 45.00 ,+1 212 555 0111,INV-1", header="Due_Date,AMOUNT_DUE,Phone,External_Ref")
    result = run(org, text, clock)
    assert result.created == 1 and not result.errors
    assert Invoice.objects.get().amount_due == Decimal("45.00")


def test_a_row_with_more_cells_than_the_header_is_reported(org, clock):
    result = run(org, csv_text(GOOD + ",extra"), clock)
    assert result.errors == [RowError(2, "row", "the row has 12 cells; the header names 11")]


def test_blank_lines_are_skipped_and_line_numbers_follow_the_file(org, clock):
    text = csv_text(GOOD, ",,,,,,,,,,", "", "INV-2,A,B,+12125550102,,,,,xx,,2026-12-20")
    result = run(org, text, clock)
    assert result.created == 1 and [e.line for e in result.errors] == [5]


def test_utf8_with_a_byte_order_mark_is_read(org, clock, tmp_path):
    path = tmp_path / "invoices.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(GOOD.replace("Maria", "María")).encode())
    result = import_invoices(org, path, clock())
    assert result.created == 1
    assert Contact.objects.get(organization=org).first_name == "María"


def test_a_file_that_is_not_utf8_is_refused_whole(org, clock, tmp_path):
    path = tmp_path / "invoices.csv"
    path.write_bytes(csv_text(GOOD, GOOD.replace("INV-1", "INV-2").replace("Maria", "María")).encode("cp1252"))
    with pytest.raises(ImportFileError, match=re.escape(f"line 3: {NOT_UTF8}")):
        import_invoices(org, path, clock())
    assert not Invoice.objects.exists()
    with pytest.raises(ImportFileError, match=re.escape(NOT_UTF8)):
        import_invoices(org, path.read_bytes(), clock())


def test_reimporting_the_same_file_changes_nothing(org, clock):
    run(org, csv_text(GOOD), clock)
    clock.advance(hours=1)
    result = run(org, csv_text(GOOD), clock)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert Invoice.objects.count() == 1 and Enrollment.objects.count() == 1
    assert Step.objects.count() == 1


def test_a_changed_due_date_updates_the_invoice_and_replans(org, clock):
    run(org, csv_text(GOOD), clock)
    result = run(org, csv_text(GOOD.replace("2026-12-20", "2026-12-28")), clock)
    assert (result.created, result.updated) == (0, 1)
    invoice = Invoice.objects.get()
    assert invoice.due_date == date(2026, 12, 28)
    assert Step.objects.filter(enrollment__invoice=invoice, status="cancelled").count() == 1
    step = Step.objects.get(enrollment__invoice=invoice, status="pending")
    assert step.run_at == datetime(2026, 12, 25, 14, 0, tzinfo=UTC)
    assert Event.objects.filter(kind="invoice.updated", invoice=invoice, actor="import").exists()


def test_a_changed_amount_updates_the_invoice_and_zero_stops_outreach(org, clock):
    run(org, csv_text(GOOD), clock)
    result = run(org, csv_text(GOOD.replace("120.00", "150.00")), clock)
    assert result.updated == 1
    invoice = Invoice.objects.get()
    assert invoice.amount_due == invoice.balance == Decimal("150.00")
    run(org, csv_text(GOOD.replace("120.00", "0")), clock)
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert Enrollment.objects.get().status == "exited"
    assert not Step.objects.filter(status="pending").exists()


def test_a_new_invoice_with_nothing_owed_is_kept_but_not_enrolled(org, clock):
    result = run(org, csv_text(GOOD.replace("120.00", "0.00")), clock)
    assert result.created == 1
    assert Invoice.objects.get().status == "paid"
    assert not Enrollment.objects.exists()


def test_a_currency_change_on_an_existing_invoice_is_reported(org, clock):
    run(org, csv_text(GOOD), clock)
    result = run(org, csv_text(GOOD.replace("USD", "EUR")), clock)
    assert result.errors == [RowError(2, "currency", "invoice INV-1 is in USD; it cannot change to EUR")]


def test_the_contact_is_matched_by_phone_then_email_else_created(org, clock, make_contact):
    by_phone = make_contact(phone="+12125550150", email="someone@example.com")
    by_email = make_contact(phone="", email="Ana.Ruiz@Example.com")
    text = csv_text(
        "A-1,X,Y,212-555-0150,other@example.com,,,,10,,2026-12-20",
        "A-2,Ana,Ruiz,,ana.ruiz@example.com,,,,10,,2026-12-20",
        "A-3,New,Person,+12125550151,,,,,10,,2026-12-20",
        "A-4,New,Person,(212) 555-0151,,,,,10,,2026-12-21",
    )
    result = run(org, text, clock)
    assert result.created == 4
    assert Invoice.objects.get(external_ref="A-1").contact == by_phone
    assert Invoice.objects.get(external_ref="A-2").contact == by_email
    third = Invoice.objects.get(external_ref="A-3").contact
    assert third not in (by_phone, by_email) and third.first_name == "New"
    assert Invoice.objects.get(external_ref="A-4").contact == third
    by_phone.refresh_from_db()
    assert by_phone.first_name == "Maria"  # a matched contact is not rewritten by the file


def test_rows_never_reach_another_organization(org, clock):
    other = Organization.objects.create(slug="other-clinic", name="Other Clinic")
    run(org, csv_text(GOOD), clock)
    import_invoices(other, [dict(zip(HEADER.split(","), GOOD.split(","), strict=True))], clock())
    assert Invoice.objects.filter(external_ref="INV-1").count() == 2
    assert Contact.objects.filter(phone="+12125550101").count() == 2


def test_rows_as_dicts_are_numbered_as_if_under_a_header(org, clock):
    rows = [{"external_ref": "D-1", "email": "d@example.com", "amount_due": "5", "due_date": "2026-12-20"},
            {"external_ref": "D-2", "email": "d@example.com", "amount_due": "5", "due_date": "soon"}]
    result = import_invoices(org, rows, clock())
    assert result.created == 1 and [(e.line, e.field) for e in result.errors] == [(3, "due_date")]


def test_parsers_are_strict():
    assert parse_date("2026-01-05") == date(2026, 1, 5)
    assert parse_date("1/5/2026") == date(2026, 1, 5)
    assert parse_amount("1,234.5") == Decimal("1234.5")
    for text in ("1/5/26", "Jan 5 2026", "2026/01/05", "5-1-2026"):
        with pytest.raises(ValueError):
            parse_date(text)
    for text in ("1.234,50", "12,34", "1e3", "", "NaN"):
        with pytest.raises(ValueError):
            parse_amount(text)


# ----------------------------------------------------------------------------- bulk path


def _snapshot(org):
    out = []
    for invoice in Invoice.objects.filter(organization=org).order_by("external_ref"):
        enrollment = Enrollment.objects.filter(invoice=invoice).first()
        steps = list(Step.objects.filter(enrollment__invoice=invoice).order_by("id")
                     .values_list("step_id", "kind", "run_at", "status", "occurrence"))
        events = list(Event.objects.filter(invoice=invoice).order_by("id").values_list("kind", "actor", "detail"))
        out.append((
            invoice.external_ref, invoice.contact.phone, invoice.contact.email, invoice.status, str(invoice.balance),
            enrollment and (enrollment.status, enrollment.current_step, enrollment.exit_reason),
            steps, events, Event.objects.filter(kind="contact.created", contact=invoice.contact).count(),
        ))
    return out


def test_the_bulk_path_writes_what_the_row_path_writes(org, clock, make_contact, monkeypatch):
    from duedesk.intake import importer

    monkeypatch.setattr(importer, "BULK_CHUNK", 3)
    other = Organization.objects.create(slug="bulk-clinic", name="Maple Clinic", timezone="America/New_York",
                                        pay_link_base="https://pay.example.com/")
    for o in (org, other):
        make_contact(organization=o, phone="+12125550150", email="known@example.com")
    rows = [
        "B-1,A,One,+12125550150,,,,,10,,2026-12-20",  # known contact, heads-up planned
        "B-2,B,Two,,KNOWN@example.com,,,,10,,2026-12-08",  # heads-up day passed: skipped
        "B-3,C,Three,+12125550161,,America/Los_Angeles,,,10,,2026-11-01",  # long past due
        "B-4,C,Three,+12125550161,,,,,0,,2026-12-20",  # nothing owed: not enrolled
        "B-5,D,Four,+12125550162,d@example.com,,es,,abc,,2026-12-20",  # bad row
        "B-6,E,Five,,e@example.com,,,,33.10,,2027-01-15",
        "B-1,A,Dup,+12125550150,,,,,10,,2026-12-20",  # duplicate
    ]
    text = csv_text(*rows)
    one = run(org, text, clock)
    many = run(other, text, clock, bulk=True)
    assert (one.created, one.errors) == (many.created, many.errors) == (5, many.errors)
    assert len(many.errors) == 2
    assert _snapshot(org) == _snapshot(other)
    # A second bulk import of changed rows goes through update_invoice and re-plans the same way.
    changed = csv_text(*[r.replace("2026-12-20", "2026-12-27") for r in rows])
    clock.advance(hours=2)
    one = run(org, changed, clock)
    many = run(other, changed, clock, bulk=True)
    assert (one.updated, one.unchanged) == (many.updated, many.unchanged) == (2, 3)
    assert _snapshot(org) == _snapshot(other)


# ----------------------------------------------------------------------------- the command


def test_cli_prints_the_summary_and_errors_and_exits_1_on_bad_rows(org, clock, tmp_path):
    path = tmp_path / "invoices.csv"
    path.write_text(csv_text(GOOD, "INV-2,A,B,+12125550102,,,,,abc,,2026-12-20"), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert import_invoices_cli(path, None, now=clock(), out=out, err=err) == 1
    assert out.getvalue() == "1 imported (1 created, 0 updated), 1 bad rows\n"
    assert err.getvalue() == f"{path}: line 3, amount_due: 'abc' is not an amount\n"
    path.write_text(csv_text(GOOD), encoding="utf-8")
    out = io.StringIO()
    assert import_invoices_cli(path, org.slug, now=clock(), out=out, err=err) == 0
    assert out.getvalue() == "1 imported (0 created, 0 updated, 1 unchanged), 0 bad rows\n"


def test_cli_exits_2_when_nothing_can_be_read(org, clock, tmp_path):
    path = tmp_path / "invoices.csv"
    path.write_bytes(csv_text(GOOD.replace("Maria", "María")).encode("latin-1"))
    err = io.StringIO()
    assert import_invoices_cli(path, None, now=clock(), out=io.StringIO(), err=err) == 2
    assert err.getvalue() == f"{path}: line 2: {NOT_UTF8}\n"
    path.write_text(csv_text(header="external_ref,phone,due_date"), encoding="utf-8")
    err = io.StringIO()
    assert import_invoices_cli(path, None, now=clock(), out=io.StringIO(), err=err) == 2
    assert "the header has no amount_due column" in err.getvalue()
    err = io.StringIO()
    assert import_invoices_cli(tmp_path / "missing.csv", None, now=clock(), out=io.StringIO(), err=err) == 2
    assert "no such file" in err.getvalue()
    assert not Invoice.objects.exists()


def test_cli_needs_org_when_there_are_several(org, clock, tmp_path):
    Organization.objects.create(slug="zz-clinic", name="Another")
    path = tmp_path / "invoices.csv"
    path.write_text(csv_text(GOOD), encoding="utf-8")
    err = io.StringIO()
    assert import_invoices_cli(path, None, now=clock(), out=io.StringIO(), err=err) == 2
    assert f"there are several organizations: pass --org SLUG (one of: {org.slug}, zz-clinic)" in err.getvalue()
    err = io.StringIO()
    assert import_invoices_cli(path, "nope", now=clock(), out=io.StringIO(), err=err) == 2
    assert "no organization 'nope'" in err.getvalue()
    assert import_invoices_cli(path, "zz-clinic", now=clock(), out=io.StringIO(), err=err) == 0
    assert Invoice.objects.get().organization.slug == "zz-clinic"


def test_the_command_line_runs_the_import(org, clock, tmp_path, monkeypatch, capsys):
    from typer.testing import CliRunner

    from duedesk import cli
    from duedesk.intake import importer

    path = tmp_path / "invoices.csv"
    path.write_text(csv_text(GOOD), encoding="utf-8")
    real = importer.import_invoices_cli
    monkeypatch.setattr(importer, "import_invoices_cli", lambda file, slug: real(file, slug, now=clock()))
    result = CliRunner().invoke(cli.app, ["import", "invoices", str(path), "--org", org.slug])
    assert result.exit_code == 0, result.output
    assert Invoice.objects.filter(organization=org).count() == 1


def test_the_copy_path_writes_what_the_row_path_writes_on_postgresql(org, clock, monkeypatch):
    from django.db import connection

    from duedesk.engine.actions.imports import NewInvoices
    from duedesk.intake import importer

    if connection.vendor != "postgresql":
        pytest.skip("COPY is the PostgreSQL writer")
    monkeypatch.setattr(importer, "BULK_CHUNK", 4)
    monkeypatch.setattr(NewInvoices, "create", lambda *a: pytest.fail("bulk_create on PostgreSQL"))
    other = Organization.objects.create(slug="copy-clinic", name="Maple Clinic", timezone="America/New_York",
                                        pay_link_base="https://pay.example.com/")
    rows = [f"C-{n},Ana,Ruiz{n},+1212555{n % 5:04d},a{n % 7}@example.com,,{'es' if n % 3 else ''},"
            f"{'1980-03-04' if n % 2 else ''},{n % 4}0.50,,2026-12-{1 + n % 28:02d}" for n in range(30)]
    text = csv_text(*rows, "C-30,Bad,Row,,,,,,1,,2026-12-20")
    one = run(org, text, clock)
    many = run(other, text, clock, bulk=True)
    assert (one.created, one.errors) == (many.created, many.errors) == (30, many.errors)
    assert _snapshot(org) == _snapshot(other)
    contacts = Contact.objects.filter(organization=other)
    assert contacts.count() == Contact.objects.filter(organization=org).count()
    made = contacts.order_by("id").first()
    assert made.fields == {} and made.outreach_on and made.created_at is not None
    # The date of birth goes through COPY encrypted, and reads back as the date.
    born = contacts.exclude(date_of_birth=None).first()
    assert born.date_of_birth == date(1980, 3, 4)
    with connection.cursor() as cursor:
        cursor.execute("SELECT date_of_birth FROM records_contact WHERE id = %s", [born.pk])
        assert cursor.fetchone()[0].startswith("gAAAAA")
    step = Step.objects.filter(organization=other).order_by("id").first()
    assert step.idempotency_key == f"e{step.enrollment_id}:{step.step_id}:1" and step.attempts == 0


def test_a_chunk_that_cannot_be_written_whole_lands_row_by_row(org, clock, monkeypatch):
    from django.db import DatabaseError, connection

    from duedesk.engine.actions.imports import NewInvoices
    from duedesk.intake import importer
    from duedesk.records.rows import CopyTable

    monkeypatch.setattr(importer, "BULK_CHUNK", 3)
    calls = []
    if connection.vendor == "postgresql":
        import psycopg

        copy = CopyTable.copy

        def failing(self, cursor, rows):  # chunk 2's events: after its invoices, enrollments and steps
            calls.append(self.table)
            if calls.count("records_event") == 2 and self.table == "records_event":
                raise psycopg.DataError("the second chunk fails")
            copy(self, cursor, rows)

        monkeypatch.setattr(CopyTable, "copy", failing)
    else:
        bulk_create = NewInvoices.create

        def failing(self, prepared):
            calls.append(len(prepared))
            bulk_create(self, prepared)  # the chunk is written, then fails: all of it must be undone
            if len(calls) == 2:
                raise DatabaseError("the second chunk fails")

        monkeypatch.setattr(NewInvoices, "create", failing)
    other = Organization.objects.create(slug="chunk-clinic", name="Maple Clinic", timezone="America/New_York",
                                        pay_link_base="https://pay.example.com/")
    rows = [f"F-{n},A,B{n},+1212555{n:04d},f{n % 2}@example.com,,,,10,,2026-12-20" for n in range(8)]
    many = run(other, csv_text(*rows), clock, bulk=True)
    one = run(org, csv_text(*rows), clock)
    assert calls == [3, 3, 2] or calls.count("records_event") == 3  # three chunks
    assert (many.created, many.errors) == (one.created, one.errors) == (8, [])
    assert _snapshot(org) == _snapshot(other)
    assert Contact.objects.filter(organization=other).count() == Contact.objects.filter(organization=org).count()


def test_a_binary_file_is_read_as_it_streams_and_left_open(org, clock):
    data = io.BytesIO(csv_text(GOOD, GOOD.replace("INV-1", "INV-2")).encode())
    result = import_invoices(org, data, clock(), bulk=True)
    assert result.created == 2 and not data.closed


def test_the_key_table_keeps_the_first_value_of_each_key():
    from duedesk.intake.bulk import KeyTable

    table = KeyTable("i", capacity=4)
    for n in range(5000):
        assert table.setdefault(f"INV-{n}", n + 2) == n + 2
    assert len(table) == 5000
    assert table.setdefault("INV-17", 99) == 19 and table.get("INV-4999") == 5001
    assert table.get("INV-5000") is None and table.get("") is None
