"""Invoices imported from the browser: a CSV or Excel file is uploaded, its columns are matched to ours when
its headers say something else ("Invoice #", "Amount", "Mobile"), and the worker imports it with the same
importer as `duedesk import invoices` while the page shows how far it got.

A spreadsheet is turned into CSV when it arrives, one line per sheet row, so every reason in the report
names the row number the office sees in Excel. Re-running an upload is harmless (rows are upserted by
invoice reference), so an import whose worker died is simply started again.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_noop

from duedesk.intake.importer import (
    BULK_CHUNK,
    COLUMNS,
    NOT_UTF8,
    REQUIRED_COLUMNS,
    ImportFileError,
    import_invoices,
)
from duedesk.intake.models import Upload

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024  # about 100,000 invoices; larger files go through `duedesk import invoices`
STALE_AFTER = timedelta(minutes=2)  # a running import that has not moved for this long lost its worker
PROGRESS_EVERY = 1.0  # seconds between two progress writes

# What offices call our columns (after lower-casing and turning anything but letters and digits into "_").
SYNONYMS = {
    "external_ref": ("invoice", "invoice_ref", "invoice_reference", "invoice_number", "invoice_no", "invoice_id",
                     "reference", "ref", "account", "account_number", "statement", "statement_number",
                     "factura", "numero_de_factura"),
    "first_name": ("first", "firstname", "given_name", "patient_first_name", "nombre"),
    "last_name": ("last", "lastname", "surname", "family_name", "patient_last_name", "apellido", "apellidos"),
    "phone": ("phone_number", "mobile", "mobile_phone", "cell", "cell_phone", "cellphone", "telephone", "tel",
              "sms", "telefono", "celular"),
    "email": ("email_address", "e_mail", "mail", "correo", "correo_electronico"),
    "zip_code": ("zip", "zipcode", "postal_code", "postcode", "codigo_postal"),
    "timezone": ("time_zone", "tz", "zone"),
    "language": ("lang", "preferred_language", "locale", "idioma"),
    "date_of_birth": ("dob", "birth_date", "birthdate", "birthday", "fecha_de_nacimiento"),
    "consent": ("sms_consent", "text_consent", "consent_to_text", "opt_in", "optin"),
    "amount_due": ("amount", "balance", "balance_due", "amount_owed", "total_due", "due_amount", "patient_balance",
                   "saldo", "monto"),
    "currency": ("currency_code", "moneda"),
    "due_date": ("due", "due_on", "date_due", "payment_due", "payment_due_date", "fecha_de_vencimiento"),
}
_BY_NAME = {name: column for column, names in SYNONYMS.items() for name in names} | {c: c for c in COLUMNS}
# Marked for the staff pages' catalogue (web/imports.py translates them where it shows them).
COLUMN_LABELS = {
    "external_ref": gettext_noop("Invoice reference"), "first_name": gettext_noop("First name"), "last_name": gettext_noop("Last name"),
    "phone": gettext_noop("Phone"), "email": gettext_noop("Email"), "zip_code": gettext_noop("ZIP code"), "timezone": gettext_noop("Time zone"), "language": gettext_noop("Language"),
    "date_of_birth": gettext_noop("Date of birth"), "consent": gettext_noop("Consent to texts and calls"), "amount_due": gettext_noop("Amount due"),
    "currency": gettext_noop("Currency"), "due_date": gettext_noop("Due date"),
}


class UploadError(Exception):
    """The file cannot be imported at all; the message says why in the office's words."""


# ----------------------------------------------------------------------------- reading the file


def too_large() -> str:
    return f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it, or use `duedesk import invoices`"


def read_file(filename: str, data: bytes) -> str:
    """The upload as CSV text: a .csv as written (UTF-8), an .xlsx's first sheet turned into CSV."""
    name = filename.lower()
    if len(data) > MAX_BYTES:
        raise UploadError(too_large())
    if name.endswith(".xlsx"):
        return _sheet_as_csv(data)
    if not name.endswith((".csv", ".txt")):
        raise UploadError("choose a .csv or .xlsx file (in Excel: File → Save As → CSV UTF-8 or Excel Workbook)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UploadError(f"line {line}: {NOT_UTF8}") from None


def _sheet_as_csv(data: bytes) -> str:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
        raise UploadError("the file is not an Excel workbook (.xlsx) that can be read") from None
    try:
        sheet = book.worksheets[0]
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        for row in sheet.iter_rows(values_only=True):
            writer.writerow([_cell_text(value) for value in row])
        return out.getvalue()
    finally:
        book.close()


def _cell_text(value) -> str:
    """A spreadsheet cell as the importer reads text: dates as YYYY-MM-DD, 1250.5 as 1250.5, 2125550100 (a
    phone typed as a number) without a decimal point; a line break inside a cell becomes a space, so each
    sheet row stays one line and the report's line numbers are Excel's row numbers."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal | int):
        return str(value)
    return re.sub(r"[\r\n]+", " ", str(value))


def header_of(text: str) -> list[str]:
    try:
        header = next(csv.reader(io.StringIO(text, newline="")))
    except StopIteration:
        raise UploadError("the file is empty (the first line must name the columns)") from None
    except csv.Error as error:
        raise UploadError(f"line 1: the header is not CSV: {error}") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    if not any(header):
        raise UploadError("line 1 is empty: the first line must name the columns")
    return header


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Each header's column by its name or a usual synonym; a column is guessed for one header only."""
    mapping, taken = {}, set()
    for header in headers:
        column = _BY_NAME.get(_key(header), "")
        if column in taken:
            column = ""
        taken.add(column)
        mapping[header] = column
    return mapping


def mapping_problems(headers: list[str], mapping: dict[str, str]) -> list[str]:
    chosen = [mapping.get(h, "") for h in headers]
    problems = []
    for column in sorted({c for c in chosen if c and chosen.count(c) > 1}):
        problems.append(f"{COLUMN_LABELS[column]} is chosen for more than one column")
    for column in chosen:
        if column and column not in COLUMNS:
            problems.append(f"{column!r} is not a column duedesk imports")
    for column in REQUIRED_COLUMNS:
        if column not in chosen:
            problems.append(f"choose the column that holds the {COLUMN_LABELS[column].lower()}")
    if "phone" not in chosen and "email" not in chosen:
        problems.append("choose the column that holds the phone number or the email address")
    return problems


def _needs_a_person(headers: list[str], mapping: dict[str, str]) -> bool:
    """The file's headers are ours already (any case): nothing to ask."""
    return bool(mapping_problems(headers, mapping)) or any(_key(h) not in COLUMNS for h in headers if h)


def _count_rows(text: str) -> int:
    return max(0, sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1)


def with_our_header(text: str, headers: list[str], mapping: dict[str, str]) -> str:
    """The CSV with its header row renamed to our columns (a column not imported gets a name we ignore).
    A header written over several lines is followed by blank lines so every row keeps its line number."""
    source = io.StringIO(text, newline="")  # lines as the csv module counts them (\n, \r\n or \r)
    reader = csv.reader(source)
    next(reader)
    header_lines = reader.line_num
    source.seek(0)
    for _ in range(header_lines):
        source.readline()
    rest = source.read()
    names = [mapping.get(h) or f"not_imported_{i}" for i, h in enumerate(headers)]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerow(names)
    return out.getvalue() + "\n" * (header_lines - 1) + rest


# ----------------------------------------------------------------------------- what the web pages do


def receive(org, user, filename: str, data: bytes, now: datetime) -> Upload:
    """Keep an uploaded file: queued for the worker when its headers are ours, else waiting for a person to
    match its columns. UploadError when nothing in it can be imported."""
    text = read_file(filename, data)
    headers = header_of(text)
    doubled = sorted({h for h in headers if h and headers.count(h) > 1})
    if doubled:
        raise UploadError(f"line 1: the column {', '.join(doubled)} appears twice")
    mapping = guess_mapping(headers)
    status = Upload.MAPPING if _needs_a_person(headers, mapping) else Upload.QUEUED
    return Upload.objects.create(organization=org, uploaded_by=user, uploaded_at=now, filename=filename[:255],
                                 content=text, headers=headers, mapping=mapping, status=status,
                                 rows_total=_count_rows(text))


def choose_columns(upload: Upload, mapping: dict[str, str]) -> list[str]:
    """Keep the office's choice of columns and queue the import; the problems with it, else []."""
    mapping = {h: mapping.get(h, "") for h in upload.headers}
    problems = mapping_problems(upload.headers, mapping)
    upload.mapping = mapping
    if not problems:
        upload.status = Upload.QUEUED
    upload.save(update_fields=["mapping", "status"])
    return problems


# ----------------------------------------------------------------------------- what the worker does


def run_next(now: datetime, worker: str) -> Upload | None:
    """Import the oldest queued upload, if any (one per call: the worker's steps wait meanwhile)."""
    Upload.objects.filter(status=Upload.RUNNING, heartbeat_at__lt=now - STALE_AFTER).update(
        status=Upload.QUEUED, rows_done=0, worker="")
    for pk in Upload.objects.filter(status=Upload.QUEUED).order_by("uploaded_at", "pk").values_list("pk", flat=True)[:5]:
        # Claimed by a conditional update, so two workers never run one file (on SQLite as on PostgreSQL).
        if Upload.objects.filter(pk=pk, status=Upload.QUEUED).update(status=Upload.RUNNING, worker=worker[:100],
                                                                       heartbeat_at=now, rows_done=0):
            upload = Upload.objects.select_related("organization", "uploaded_by").get(pk=pk)
            _run(upload, now)
            return upload
    return None


def _run(upload: Upload, now: datetime) -> None:
    started, last, done = time.monotonic(), [time.monotonic()], [0]

    def progress(rows: int) -> None:
        done[0] += rows
        if time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            beat = now + timedelta(seconds=last[0] - started)
            Upload.objects.filter(pk=upload.pk).update(rows_done=done[0], heartbeat_at=beat)

    actor = f"staff:{upload.uploaded_by.get_username()}" if upload.uploaded_by else "import"
    text = with_our_header(upload.content, upload.headers, upload.mapping)
    try:
        result = import_invoices(upload.organization, io.StringIO(text, newline=""), now,
                                 bulk=upload.rows_total > 5 * BULK_CHUNK, actor=actor, progress=progress)
    except ImportFileError as error:
        _finish(upload, now, Upload.FAILED, failure=str(error))
        return
    except Exception as error:  # noqa: BLE001 - the office must see that it stopped, not a page stuck at 40%
        log.exception("upload %s stopped", upload.pk)
        _finish(upload, now, Upload.FAILED, rows_done=done[0],
                failure=f"the import stopped ({type(error).__name__}) after {done[0]} rows; the rows before "
                        "that are saved, and uploading the file again finishes it")
        return
    as_in_the_file = {column: header for header, column in upload.mapping.items() if column}  # "Balance"
    _finish(upload, now, Upload.DONE, rows_done=done[0], created=result.created, updated=result.updated,
            unchanged=result.unchanged, bad_rows=result.bad_rows,
            problems=[[e.line, as_in_the_file.get(e.field, e.field), e.message] for e in result.errors])


def _finish(upload: Upload, now: datetime, status: str, **values) -> None:
    with transaction.atomic():
        for name, value in values.items():
            setattr(upload, name, value)
        upload.status, upload.finished_at, upload.content = status, now, ""  # the rows are in duedesk now
        upload.save()
