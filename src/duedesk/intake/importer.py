"""Importing invoices (and their contacts) from a CSV file: one row per invoice.

Every row is checked first and each bad cell is reported with its line and column; good rows land,
each in its own transaction, so a bad row never leaves half a record behind (design invariant 6).
A row is upserted by (organization, external_ref): a new invoice with an open balance is enrolled in
the organization's workflow; an existing one whose due date or amount changed goes through
`actions.update_invoice`, which re-plans its outreach.

`import_invoices` is the library entry point (the CLI, the web UI and the API share it);
`import_invoices_cli` is what `duedesk import invoices FILE` runs. The file format is in docs/import.md.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from django.db import DatabaseError, transaction

from duedesk.core import vocabulary
from duedesk.core.phones import normalize_phone
from duedesk.intake import checks
from duedesk.records.lines import email_address
from duedesk.records.models import Contact, Invoice, Organization

COLUMNS = ("external_ref", "first_name", "last_name", "phone", "email", "zip_code", "timezone", "language",
           "date_of_birth", "consent", "amount_due", "currency", "due_date")
REQUIRED_COLUMNS = ("external_ref", "amount_due", "due_date")
# The optional `consent` column: prior express consent to automated texts and calls about the bill.
CONSENT_WORDS = {"yes": True, "y": True, "true": True, "1": True, "si": True, "sí": True,
                 "no": False, "n": False, "false": False, "0": False}
LANGUAGES = checks.LANGUAGES
is_timezone = checks.is_timezone  # the CRM sync asks the importer
log = logging.getLogger(__name__)
PHONE_MAX = 40  # as typed, before normalizing: "+1 (212) 555-0123 ext. 45" fits
BULK_CHUNK = 2000
PROGRESS_MIN_ROWS = 1000  # smaller files finish before a bar is worth drawing
NOT_UTF8 = "the file is not UTF-8 (save it as CSV UTF-8)"
ZIP_CODE = re.compile(r"\d{5}(-\d{4})?")
MAX_AMOUNT = Decimal("9999999999.99")  # Invoice.amount_due: 12 digits, 2 after the point


class ImportFileError(Exception):
    """Nothing could be read: the file is missing, not UTF-8, or its header lacks a required column."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def bad_rows(self) -> int:
        return len({e.line for e in self.errors})

    def summary(self) -> str:
        parts = f"{self.created} created, {self.updated} updated"
        if self.unchanged:
            parts += f", {self.unchanged} unchanged"
        return f"{self.imported} imported ({parts}), {self.bad_rows} bad rows"


@dataclass(frozen=True)
class InvoiceRow:
    """One checked row: every value already in the form it is stored in."""

    line: int
    external_ref: str
    first_name: str
    last_name: str
    phone: str
    email: str
    timezone: str
    language: str
    date_of_birth: date | None
    amount_due: Decimal
    currency: str
    due_date: date
    zip_code: str = ""
    consent: bool | None = None  # the `consent` column: yes (express consent), no (none), empty (not said)


class RowProblem(Exception):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


# ----------------------------------------------------------------------------- values


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_PLAIN_AMOUNT = re.compile(r"-?\d+(\.\d{1,2})?")
_GROUPED_AMOUNT = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d{1,2})?")


def parse_date(text: str) -> date:
    """YYYY-MM-DD or MM/DD/YYYY (US order), nothing else: a guessed date is worse than an error."""
    value = str(text).strip()
    if m := _ISO_DATE.fullmatch(value):
        year, month, day = (int(g) for g in m.groups())
    elif m := _US_DATE.fullmatch(value):
        month, day, year = (int(g) for g in m.groups())
    else:
        raise ValueError(vocabulary.sentence("not_a_date", value=repr(value)))
    try:
        day_ = date(year, month, day)
    except ValueError:
        raise ValueError(vocabulary.sentence("no_such_day", value=repr(value))) from None
    return checks.check_date(day_)


def parse_amount(text: str) -> Decimal:
    """A plain amount: 1234.50 or 1,234.50. No currency signs, at most two decimals, not negative."""
    value = str(text).strip()
    if not (_PLAIN_AMOUNT.fullmatch(value) or _GROUPED_AMOUNT.fullmatch(value)):
        raise ValueError(vocabulary.sentence("not_an_amount", value=repr(value)))
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation:
        raise ValueError(vocabulary.sentence("not_an_amount", value=repr(value))) from None
    if amount < 0:
        raise ValueError(vocabulary.sentence("negative", value=repr(value)))
    if amount > MAX_AMOUNT:
        raise ValueError(vocabulary.sentence("too_large", value=repr(value)))
    return amount


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    return code in _currencies()


def check_row(raw: dict, line: int, org: Organization, now: datetime) -> tuple[InvoiceRow | None, list[RowError]]:
    """Check one row; every bad cell is reported, not only the first."""
    errors: list[RowError] = []

    def cell(name: str) -> str:
        value = raw.get(name)
        return "" if value is None else str(value).strip()

    def bad(name: str, message: str) -> None:
        errors.append(RowError(line, name, message))

    def text(name: str, limit: int) -> str:
        value = cell(name)
        try:
            checks.check_text(value, limit)
        except ValueError as error:
            bad(name, str(error))
        return value

    ref = text("external_ref", 100)
    if not ref:
        bad("external_ref", vocabulary.sentence("missing"))
    first_name = text("first_name", 100)
    last_name = text("last_name", 100)

    phone = text("phone", PHONE_MAX)
    if phone and not any(e.field == "phone" for e in errors):
        try:
            phone = normalize_phone(phone)
        except ValueError:
            bad("phone", vocabulary.sentence("not_a_phone", value=repr(phone)))
    email = cell("email")
    if email:
        try:
            checks.check_text(email)
            checks.check_email(email)
        except ValueError as error:
            bad("email", str(error))
    if not phone and not email:
        bad("phone", vocabulary.sentence("no_phone_or_email"))

    zip_code = cell("zip_code")
    if zip_code and not ZIP_CODE.fullmatch(zip_code):
        bad("zip_code", vocabulary.sentence("not_a_zip", value=repr(zip_code[:20])))
    zone = cell("timezone")
    if zone:
        try:
            checks.check_timezone(zone)
        except ValueError as error:
            bad("timezone", str(error))
    language = cell("language")
    if language:
        try:
            language = checks.check_language(language)
        except ValueError as error:
            bad("language", str(error))

    dob = None
    if cell("date_of_birth"):
        try:
            dob = parse_date(cell("date_of_birth"))
        except ValueError as error:
            bad("date_of_birth", str(error))
        else:
            if dob >= now.date():
                bad("date_of_birth", vocabulary.sentence("not_past", value=repr(cell("date_of_birth"))))
                dob = None

    amount = None
    if not cell("amount_due"):
        bad("amount_due", vocabulary.sentence("missing"))
    else:
        try:
            amount = parse_amount(cell("amount_due"))
        except ValueError as error:
            bad("amount_due", str(error))

    currency = cell("currency").upper() or org.default_currency
    if not is_currency(currency):
        bad("currency", vocabulary.sentence("not_a_currency", value=repr(cell("currency"))))

    due = None
    if not cell("due_date"):
        bad("due_date", vocabulary.sentence("missing"))
    else:
        try:
            due = parse_date(cell("due_date"))
        except ValueError as error:
            bad("due_date", str(error))

    consent = None
    if cell("consent"):
        consent = CONSENT_WORDS.get(cell("consent").lower())
        if consent is None:
            bad("consent", vocabulary.sentence("not_yes_no", value=repr(cell("consent"))))

    if errors:
        return None, errors
    return InvoiceRow(
        line=line, external_ref=ref, first_name=first_name, last_name=last_name, phone=phone, email=email,
        timezone=zone, language=language, date_of_birth=dob, amount_due=amount, currency=currency, due_date=due,
        zip_code=zip_code,
        consent=consent,
    ), []


# ----------------------------------------------------------------------------- reading


def check_utf8(path: Path) -> int:
    """Read the file once in binary: raise ImportFileError unless it is UTF-8; return its line count."""
    with path.open("rb") as f:
        return _check_utf8_stream(f)


def _check_utf8_stream(f) -> int | None:
    """Raise ImportFileError unless the binary stream is UTF-8; its line count (None: a text stream)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    while chunk := f.read(1 << 20):
        if isinstance(chunk, str):
            return None
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            bad_line = lines + chunk.count(b"\n", 0, error.start)
            raise ImportFileError(f"line {bad_line}: {NOT_UTF8}") from None
        lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(f"line {lines}: {NOT_UTF8}") from None
    return lines


def _seekable(f) -> bool:
    try:
        return bool(f.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def _csv_rows(text_stream: Iterable[str]) -> Iterator[tuple[int, dict]]:
    reader = csv.reader(text_stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("the file is empty (the first line must name the columns)") from None
    except csv.Error as error:
        raise ImportFileError(f"line 1: the header is not CSV: {error}") from None
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if "phone" not in names and "email" not in names:
        missing.append("phone or email")
    if missing:
        raise ImportFileError(f"line 1: the header has no {', '.join(missing)} column; nothing was imported "
                              f"(columns are: {', '.join(COLUMNS)})")
    doubled = sorted({n for n in names if n and names.count(n) > 1})
    if doubled:
        raise ImportFileError(f"line 1: the column {', '.join(doubled)} appears twice; nothing was imported")
    last = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield last + 1, {None: f"the row is not valid CSV: {error}"}
            last = reader.line_num
            continue
        line, last = last + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank lines, such as a spreadsheet's trailing rows
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
            yield line, {None: f"the row has {len(cells)} cells; the header names {len(names)}"}
            continue
        yield line, dict(zip(names, cells, strict=False))


def _rows(source) -> Iterator[tuple[int, dict]]:
    """(line, cells) from a path, a binary or text file, or an iterable of dicts (numbered from line 2)."""
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            check_utf8(path)
            f = path.open(encoding="utf-8-sig", newline="")
        except OSError as error:
            raise ImportFileError(f"cannot read {path}: {error.strerror or error}") from None
        with f:
            yield from _csv_rows(f)
        return
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    if isinstance(source, io.TextIOBase):
        yield from _csv_rows(source)  # already text: read as it streams
        return
    if hasattr(source, "read") and _seekable(source):
        start = source.tell()
        binary = _check_utf8_stream(source) is not None  # a bad file is refused before any row lands
        source.seek(start)
        if binary:  # streamed, never held whole
            text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
            try:
                yield from _csv_rows(text)
            finally:
                text.detach()  # the caller's file stays open
            return
    if hasattr(source, "read"):
        data = source.read()
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8-sig")
            except UnicodeDecodeError as error:
                bad_line = data.count(b"\n", 0, error.start) + 1
                raise ImportFileError(f"line {bad_line}: {NOT_UTF8}") from None
        yield from _csv_rows(io.StringIO(data, newline=""))
        return
    for index, row in enumerate(source):
        yield index + 2, {str(k).strip().lower(): v for k, v in row.items()}


# ----------------------------------------------------------------------------- writing, one row at a time


def find_contact(org: Organization, phone: str, email: str) -> Contact | None:
    """The organization's contact with this phone (E.164), else this email, else None."""
    if phone:
        contact = Contact.objects.filter(organization=org, phone=phone).order_by("id").first()
        if contact:
            return contact
    if email:
        return Contact.objects.filter(organization=org, email__iexact=email).order_by("id").first()
    return None


def contact_values(row: InvoiceRow) -> dict:
    """The fields of a contact made from a row."""
    return dict(first_name=row.first_name, last_name=row.last_name, phone=row.phone, email=row.email,
                zip_code=row.zip_code, timezone=row.timezone, language=row.language or "en", date_of_birth=row.date_of_birth)


def _origin(row: InvoiceRow, origin: dict | None) -> dict:
    """Where a row came from, for the timeline: a file's line, or what the caller says (the API)."""
    return origin if origin is not None else {"source": "import", "line": row.line}


def import_row(org: Organization, row: InvoiceRow, now: datetime, actor: str = "import",
               origin: dict | None = None) -> str:
    """Upsert one checked row in its own transaction: "created", "updated" or "unchanged".
    Raises RowProblem naming the field when the row can't land (e.g. a different currency)."""
    from duedesk.engine import actions

    with transaction.atomic():
        # One lock per person's line (the phone, else the email): two upserts of one new number at once make
        # one contact; the second waits here and then finds the contact the first made.
        actions.lock_line(org, *(("phone", row.phone) if row.phone else ("email", email_address(row.email))))
        invoice = (Invoice.objects.select_for_update()
                   .filter(organization=org, external_ref=row.external_ref).first())
        if invoice is not None:
            _record_consent(invoice.contact, row, now, actor, origin)
            if invoice.currency != row.currency:
                raise RowProblem("currency", vocabulary.sentence("currency_fixed", ref=row.external_ref,
                                                                  currency=invoice.currency, new=row.currency))
            changes = {}
            if row.due_date != invoice.due_date:
                changes["due_date"] = row.due_date
            if row.amount_due != invoice.amount_due:
                changes["amount_due"] = row.amount_due
            if not changes:
                return "unchanged"
            actions.update_invoice(invoice, now, actor=actor, **changes)
            return "updated"
        contact = find_contact(org, row.phone, row.email)
        if contact is None:
            contact = actions.create_contact(org, now, actor=actor, detail=_origin(row, origin), **contact_values(row))
        contact.organization = org
        _record_consent(contact, row, now, actor, origin)
        actions.create_invoice(org, contact, now, external_ref=row.external_ref, amount_due=row.amount_due,
                               due_date=row.due_date, currency=row.currency, actor=actor,
                               detail={"amount_due": str(row.amount_due), "currency": row.currency,
                                       "due_date": row.due_date.isoformat(), **_origin(row, origin)})
        return "created"


def _record_consent(contact: Contact, row: InvoiceRow, now: datetime, actor: str, origin: dict | None) -> None:
    """The row's `consent`: yes records express consent for the number and address, no withdraws it."""
    from duedesk.engine import actions

    if row.consent is None:
        return
    source = (origin or {}).get("source", "import")
    said = f"{source} consent={'yes' if row.consent else 'no'}" + (f" (line {row.line})" if row.line else "")
    if row.consent:
        actions.give_consent(contact, now, basis="express", source=source, evidence=said, actor=actor)
    else:
        actions.revoke_consent(contact, now, source=source, evidence=said, actor=actor)


def _import_one(org: Organization, row: InvoiceRow, now: datetime, actor: str, result: ImportResult) -> None:
    try:
        outcome = import_row(org, row, now, actor)
    except RowProblem as problem:
        result.errors.append(RowError(row.line, problem.field, problem.message))
        return
    except DatabaseError as error:
        result.errors.append(RowError(row.line, "external_ref", f"could not be saved: {error}"))
        return
    except Exception as error:  # noqa: BLE001 - one row's surprise must not stop the rows after it
        log.exception("import line %s could not be imported", row.line)
        result.errors.append(RowError(row.line, "row", f"could not be imported ({type(error).__name__}); "
                                                       "nothing of it was saved"))
        return
    setattr(result, outcome, getattr(result, outcome) + 1)


# ----------------------------------------------------------------------------- writing in bulk
#
# In duedesk.intake.bulk: chunks of new invoices written with COPY on PostgreSQL (bulk_create elsewhere),
# each first step planned by the engine's walk, a chunk that fails written again row by row.


# ----------------------------------------------------------------------------- the entry points


def import_invoices(org: Organization, rows_or_file, now: datetime, *, bulk: bool = False,
                    actor: str = "import", progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check and upsert invoice rows for `org`.

    `rows_or_file`: a path, a binary or text file of CSV, or an iterable of dicts keyed by column name.
    Raises ImportFileError when nothing can be read (not UTF-8, a required column missing from the header).
    `bulk=True` writes new invoices a chunk at a time (for files of many thousands of rows); the rows,
    events and planned steps are the same as one row at a time.
    `progress(n)` is called as rows are read.
    """
    from duedesk.intake.bulk import BulkWriter, KeyTable

    result = ImportResult()
    seen = KeyTable("i")  # reference -> its first line; hashes, not strings: ~35 bytes a row
    chunk: list[InvoiceRow] = []
    rows = _rows(rows_or_file)
    try:
        first = next(rows)
    except StopIteration:
        return result
    writer = BulkWriter(org, now, actor) if bulk else None

    def import_one(row: InvoiceRow) -> None:
        _import_one(org, row, now, actor, result)

    try:
        _check_and_write(org, _chain(first, rows), now, result, seen, chunk, writer, import_one, progress)
    finally:
        if writer is not None:
            writer.close()
    result.errors.sort(key=lambda e: e.line)
    return result


def _check_and_write(org, rows, now, result, seen, chunk, writer, import_one, progress) -> None:
    for line, raw in rows:
        if progress:
            progress(1)
        if None in raw:
            result.errors.append(RowError(line, "row", str(raw[None])))
            continue
        row, errors = check_row(raw, line, org, now)
        ref = str(raw.get("external_ref") or "").strip()
        if ref:
            first_line = seen.setdefault(ref, line)
            if first_line != line:
                errors = [RowError(line, "external_ref", vocabulary.sentence("twice", ref=repr(ref), line=first_line))]
                row = None
        if row is None:
            result.errors.extend(errors)
            continue
        if writer is None:
            import_one(row)
            continue
        chunk.append(row)
        if len(chunk) >= BULK_CHUNK:
            writer.write_chunk(chunk, result, import_one)
            chunk = []
    if chunk:
        writer.write_chunk(chunk, result, import_one)
    if writer is not None:
        writer.flush(result, import_one)


def _chain(first, rest):
    yield first
    yield from rest


def resolve_organization(slug: str | None) -> Organization:
    if slug:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            known = ", ".join(Organization.objects.order_by("slug").values_list("slug", flat=True)[:20])
            raise ImportFileError(f"no organization {slug!r}" + (f" (there is: {known})" if known else ""))
        return org
    orgs = list(Organization.objects.order_by("slug")[:21])
    if not orgs:
        raise ImportFileError("there is no organization yet; create one first (duedesk demo, or the admin)")
    if len(orgs) > 1:
        names = ", ".join(o.slug for o in orgs[:20])
        raise ImportFileError(f"there are several organizations: pass --org SLUG (one of: {names})")
    return orgs[0]


def import_invoices_cli(file: Path, org_slug: str | None, *, now: datetime | None = None,
                        out=None, err=None) -> int:
    """`duedesk import invoices FILE [--org SLUG]`: 0 all rows landed, 1 some were bad, 2 nothing read."""
    from django.utils import timezone

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        org = resolve_organization(org_slug)
        path = Path(file)
        if not path.is_file():
            raise ImportFileError(f"cannot read {path}: no such file")
        lines = check_utf8(path)
    except ImportFileError as error:
        print(f"{file}: {error}", file=err)
        return 2
    bar = _progress_bar(lines - 1, err)
    try:
        result = import_invoices(org, path, now or timezone.now(), bulk=lines > 5 * BULK_CHUNK,
                                 progress=bar.update if bar else None)
    except ImportFileError as error:
        print(f"{file}: {error}", file=err)
        return 2
    finally:
        if bar:
            bar.close()
    print(result.summary(), file=out)
    for error in result.errors:
        print(f"{file}: {error}", file=err)
    return 1 if result.errors else 0


def _progress_bar(total: int, stream):
    if total < PROGRESS_MIN_ROWS or not getattr(stream, "isatty", lambda: False)():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="rows", file=stream, desc="importing", leave=False)
