"""Importing invoices in the browser: upload a CSV or Excel file, match its columns, let the worker import it
with the command line's importer, and read (and download) the report of the rows that had problems."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from duedesk.engine.models import Step
from duedesk.intake.models import Upload
from duedesk.integrations.jobs import Between
from duedesk.records.models import Event, Invoice

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = (
    "external_ref,first_name,last_name,phone,amount_due,due_date,date_of_birth\n"
    "UP-1,Ana,Reyes,212 555 0101,120.00,2026-12-20,1980-03-03\n"
    "UP-2,Tom,Becker,212 555 0102,80.50,12/22/2026,\n"
    "UP-3,Lia,Moss,212 555 0103,twelve,2026-12-20,\n"
    "UP-4,Sam,Ruiz,212 555 0104,45.00,2026-12-21,\n"
    "UP-5,Kim,Park,not a phone,60.00,2026-12-21,\n"
)


def upload(client, name: str, content: bytes, follow: bool = False):
    return client.post("/contacts/import/", {"file": SimpleUploadedFile(name, content)}, follow=follow)


def the_worker_runs(clock) -> None:
    """What the worker does between two batches of steps (its jobs), once."""
    Between(clock, every=0)()


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_a_csv_with_two_bad_rows_imports_the_rest_and_reports_each_problem(login, staff, org, clock):
    client = login(staff)
    response = upload(client, "december.csv", GOOD_AND_BAD.encode())
    done = Upload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/contacts/import/{done.pk}/"
    assert done.status == "queued" and done.rows_total == 5
    assert "Waiting for the worker" in client.get(response["Location"]).content.decode()
    assert not Invoice.objects.exists()  # nothing lands until the worker runs it

    the_worker_runs(clock)

    assert sorted(Invoice.objects.values_list("external_ref", flat=True)) == ["UP-1", "UP-2", "UP-4"]
    assert Invoice.objects.get(external_ref="UP-2").amount_due == Decimal("80.50")
    assert Step.objects.filter(enrollment__invoice__external_ref="UP-1", status="pending").exists()  # enrolled
    page = client.get(f"/contacts/import/{done.pk}/").content.decode()
    assert "<strong>3</strong> invoices added" in page
    assert "<strong>2</strong> rows with problems" in page
    assert "amount_due" in page and "phone" in page

    report = client.get(f"/contacts/import/{done.pk}/problems.csv")
    assert report["Content-Disposition"] == 'attachment; filename="december-problems.csv"'
    rows = csv_rows(report)
    assert rows[0] == ["line", "column", "reason"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("4", "amount_due"), ("6", "phone")]

    done.refresh_from_db()
    assert done.status == "done" and done.content == ""  # the file's patient details are not kept
    with connection.cursor() as cursor:  # and the report, which quotes cells, is encrypted at rest
        cursor.execute("SELECT problems FROM intake_upload WHERE id = %s", [done.pk])
        assert "twelve" not in cursor.fetchone()[0]


def test_the_progress_fragment_polls_until_the_import_is_done(login, staff, clock):
    client = login(staff)
    upload(client, "december.csv", GOOD_AND_BAD.encode())
    done = Upload.objects.get()
    fragment = client.get(f"/contacts/import/{done.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "<progress" in fragment and "<html" not in fragment
    the_worker_runs(clock)
    fragment = client.get(f"/contacts/import/{done.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment and "invoices added" in fragment


def test_other_headers_are_matched_by_a_person_then_imported(login, staff, clock):
    client = login(staff)
    content = ("Invoice #,Patient First,Patient Last,Mobile,Balance,Due,Notes\n"
               "PM-7,Ana,Reyes,(212) 555-0111,\"1,250.00\",2026-12-20,front desk\n")
    response = upload(client, "from-pm.csv", content.encode())
    pending = Upload.objects.get()
    assert response["Location"] == f"/contacts/import/{pending.pk}/columns/" and pending.status == "mapping"
    page = client.get(response["Location"]).content.decode()
    assert "(212) 555-0111" in page  # the first values help the office tell the columns apart
    assert '<option value="external_ref" selected>' in page  # "Invoice #" guessed
    assert '<option value="amount_due" selected>' in page  # "Balance" guessed

    # "Patient First" is not guessed; leaving the due date out is refused, naming what is missing.
    refused = client.post(response["Location"], {"column-0": "external_ref", "column-3": "phone",
                                                 "column-4": "amount_due"})
    assert refused.status_code == 400
    assert "choose the column that holds the due date" in refused.content.decode()
    assert not Invoice.objects.exists()

    chosen = {"column-0": "external_ref", "column-1": "first_name", "column-2": "last_name", "column-3": "phone",
              "column-4": "amount_due", "column-5": "due_date", "column-6": ""}
    assert client.post(response["Location"], chosen)["Location"] == f"/contacts/import/{pending.pk}/"
    the_worker_runs(clock)
    invoice = Invoice.objects.select_related("contact").get()
    assert (invoice.external_ref, invoice.amount_due, invoice.contact.first_name, invoice.contact.phone) == (
        "PM-7", Decimal("1250.00"), "Ana", "+12125550111")
    assert Upload.objects.get().problems == []


def test_the_report_names_a_bad_cells_column_as_the_file_does(login, staff, clock):
    client = login(staff)
    upload(client, "pm.csv", b"Ref,Balance,Due,Mobile\nA-1,lots,2026-12-20,2125550101\n")
    pending = Upload.objects.get()
    client.post(f"/contacts/import/{pending.pk}/columns/", {
        "column-0": "external_ref", "column-1": "amount_due", "column-2": "due_date", "column-3": "phone"})
    the_worker_runs(clock)
    assert Upload.objects.get().problems == [[2, "Balance", "'lots' is not an amount"]]


def test_a_column_chosen_twice_is_refused(login, staff):
    client = login(staff)
    upload(client, "x.csv", b"Ref,Amount,Due,Cell,Home\nA-1,10,2026-12-20,2125550101,2125550102\n")
    pending = Upload.objects.get()
    refused = client.post(f"/contacts/import/{pending.pk}/columns/", {
        "column-0": "external_ref", "column-1": "amount_due", "column-2": "due_date", "column-3": "phone",
        "column-4": "phone"})
    assert refused.status_code == 400 and "Phone is chosen for more than one column" in refused.content.decode()


def test_an_excel_workbook_imports_with_its_row_numbers(login, staff, clock):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["external_ref", "first_name", "phone", "amount_due", "due_date"])
    sheet.append(["XL-1", "Ana", 2125550121, 1250.5, datetime(2026, 12, 20)])
    sheet.append([])  # an empty row: still counted, so the next row is line 4 as Excel shows it
    sheet.append(["XL-2", "Tom", "212-555-0122", "ten", date(2026, 12, 21)])
    sheet.append(["XL-3", "Lia", "2125550123", 99, "2026-12-22"])
    data = io.BytesIO()
    book.save(data)

    client = login(staff)
    upload(client, "december.xlsx", data.getvalue())
    the_worker_runs(clock)
    first = Invoice.objects.select_related("contact").get(external_ref="XL-1")
    assert (first.amount_due, first.due_date, first.contact.phone) == (Decimal("1250.50"), date(2026, 12, 20),
                                                                       "+12125550121")
    assert Invoice.objects.get(external_ref="XL-3").amount_due == Decimal("99")
    done = Upload.objects.get()
    assert [p[:2] for p in done.problems] == [[4, "amount_due"]]


@pytest.mark.parametrize("name, content, says", [
    ("notes.pdf", b"%PDF-1.4", "choose a .csv or .xlsx file"),
    ("latin1.csv", "external_ref,amount_due,due_date,phone\nA-1,10,2026-12-20,Peña\n".encode("latin-1"),
     "line 2: the file is not UTF-8"),
    ("broken.xlsx", b"PK\x03\x04 not really a workbook", "not an Excel workbook"),
    ("empty.csv", b"", "the file is empty"),
])
def test_a_file_that_cannot_be_read_is_refused_in_words_and_nothing_is_kept(login, staff, name, content, says):
    response = upload(login(staff), name, content)
    assert response.status_code == 400
    assert says in response.content.decode() and "Nothing was imported" in response.content.decode()
    assert not Upload.objects.exists()


def test_a_file_without_a_due_date_column_asks_for_it_and_imports_nothing(login, staff, clock):
    client = login(staff)
    upload(client, "short.csv", b"external_ref,amount_due,phone\nA-1,10,2125550101\n")
    pending = Upload.objects.get()
    assert pending.status == "mapping"  # the due date is not there: a person is asked first
    refused = client.post(f"/contacts/import/{pending.pk}/columns/", {
        "column-0": "external_ref", "column-1": "amount_due", "column-2": "phone"})
    assert "due date" in refused.content.decode() and not Invoice.objects.exists()


def test_an_import_is_run_once_by_one_worker_and_a_dead_workers_import_starts_again(login, staff, clock):
    from duedesk.intake import uploads

    client = login(staff)
    upload(client, "december.csv", GOOD_AND_BAD.encode())
    pending = Upload.objects.get()
    Upload.objects.filter(pk=pending.pk).update(status="running", worker="gone:1", heartbeat_at=clock())
    assert uploads.run_next(clock(), "me:2") is None  # another worker has it, and is alive
    clock.advance(minutes=3)
    assert uploads.run_next(clock(), "me:2").pk == pending.pk  # its worker went quiet: started again
    assert Invoice.objects.count() == 3
    assert uploads.run_next(clock(), "me:2") is None
    assert Event.objects.filter(kind="invoice.created").count() == 3


def test_viewers_cannot_upload_and_other_organizations_see_nothing(login, staff, viewer, outsider, clock):
    client = login(staff)
    upload(client, "december.csv", GOOD_AND_BAD.encode())
    pending = Upload.objects.get()
    assert upload(login(viewer), "again.csv", GOOD_AND_BAD.encode()).status_code == 403
    other = login(outsider)
    for url in (f"/contacts/import/{pending.pk}/", f"/contacts/import/{pending.pk}/problems.csv",
                f"/contacts/import/{pending.pk}/columns/"):
        assert other.get(url).status_code == 404
    assert "december.csv" not in other.get("/contacts/import/").content.decode()


def test_a_header_written_over_two_lines_keeps_every_rows_line_number(login, staff, clock):
    """A spreadsheet header cell with a line break ("Amount<newline>due") and, in another, a character Python
    would also end a line at (U+2028): the report still names each row's own line."""
    client = login(staff)
    content = ("Ref\u2028no,\"Amount\ndue\",Due,Cell\r\n"
               "A-1,10,2026-12-20,2125550101\r\n"
               "A-2,ten,2026-12-20,2125550102\r\n"
               "A-3,5,2026-12-20,nope\r\n")
    upload(client, "x.csv", content.encode())
    pending = Upload.objects.get()
    client.post(f"/contacts/import/{pending.pk}/columns/", {
        "column-0": "external_ref", "column-1": "amount_due", "column-2": "due_date", "column-3": "phone"})
    the_worker_runs(clock)
    assert [p[:2] for p in Upload.objects.get().problems] == [[4, "Amount\ndue"], [5, "Cell"]]
    assert Invoice.objects.get().external_ref == "A-1"


def test_the_report_is_in_spanish_on_the_page_and_the_same_file_for_everyone(login, staff, clock):
    """A Spanish-speaking staff member reads each problem in Spanish on the page; the downloaded report is the
    same English file whoever downloads it (its reasons as stored, read by spreadsheets and sent on)."""
    from duedesk.records.models import Membership

    client = login(staff)
    upload(client, "december.csv", GOOD_AND_BAD.encode())
    done = Upload.objects.get()
    the_worker_runs(clock)
    english = csv_rows(client.get(f"/contacts/import/{done.pk}/problems.csv"))
    Membership.objects.filter(user=staff).update(language="es")
    page = client.get(f"/contacts/import/{done.pk}/").content.decode()
    assert "&#x27;twelve&#x27; no es un importe" in page and "is not an amount" not in page
    assert "&#x27;not a phone&#x27; no es un número de teléfono válido" in page
    assert csv_rows(client.get(f"/contacts/import/{done.pk}/problems.csv")) == english
    assert english[0] == ["line", "column", "reason"] and english[1][2] == "'twelve' is not an amount"
