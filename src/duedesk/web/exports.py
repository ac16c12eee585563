"""CSV exports a billing office takes to its spreadsheet: the inbox (any filter), contacts (any search),
promises, payments and the audit of attempts.

Streamed row by row (StreamingHttpResponse over a server-side cursor), so 100,000 rows never sit in memory.
Times are in the organization's zone, named in the column header; amounts are plain numbers with their
currency beside them.

A file is written in English whatever the language of the pages of whoever downloads it: its column names
and its words (a reason, a status, an outcome) are the same for everyone in the office, for the accountant
and the agency it is sent to, for a spreadsheet's filters and formulas that read them and for the importer
that reads a file back (its columns are matched by their English names). The pages around the download, and
the import's report on its page, are in the staff member's language. A cell that starts with = + - @ (or a tab or carriage return) would run as a formula
when a spreadsheet opens it (OWASP "CSV injection"): it is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

from duedesk.core import vocabulary
from duedesk.inbox.actions import OUTCOMES
from duedesk.inbox.views import filtered_handoffs
from duedesk.records import audit
from duedesk.records.models import PAYMENT_KINDS, Event, Promise
from duedesk.web import contacts
from duedesk.web.access import member

CHUNK = 500  # rows fetched per round trip (the first chunk is read before the first row goes out)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The patient's columns the exports show: nothing else of the contact is read (its date of birth would be
# decrypted for every row).
PATIENT = ("contact", "contact__first_name", "contact__last_name", "contact__phone")


def safe_cell(value) -> str:
    """A cell as text, defused if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """csv.writer writes into this and gets the line back, so each row is yielded as soon as it is made."""

    def write(self, value: str) -> str:
        return value


def _reading():
    """On PostgreSQL the rows are read in a transaction of their own: the server-side cursor is then declared
    WITHOUT HOLD and sends its first rows at once (outside a transaction Django declares it WITH HOLD, and
    PostgreSQL runs the whole query before the first row). One snapshot for the whole file, too. Not on
    SQLite, where a transaction would hold the write lock for the whole download."""
    return transaction.atomic() if connection.vendor == "postgresql" else nullcontext()


def stream_csv(filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    writer = csv.writer(_Line())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # a byte-order mark, so Excel opens accented names as UTF-8
        yield writer.writerow(header)
        with _reading():
            found = iter(rows)
            while True:
                with translation.override("en"):  # each row, as it is made (the request's language is around it)
                    row = next(found, None)
                    if row is None:
                        return
                    line = writer.writerow([safe_cell(v) for v in row])
                yield line

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # patients' details: never kept by a proxy or the browser's cache
    return response


def _local(org):
    zone = ZoneInfo(org.timezone)

    def at(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    return at, org.timezone


def _name(contact) -> str:
    return f"{contact.first_name} {contact.last_name}".strip() if contact else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


@member
def inbox_csv(request):
    try:
        handoffs, current = filtered_handoffs(request)
    except ValueError as error:
        return HttpResponseBadRequest(_("The search %(problem)s.") % {"problem": error}, content_type="text/plain")
    at, zone = _local(request.org)
    header = ["opened (" + zone + ")", "reason", "status", "patient", "phone", "invoice", "assigned to",
              "summary", "resolution", "resolved (" + zone + ")"]
    rows = ([at(h.created_at), h.reason_label(), vocabulary.label(vocabulary.HANDOFF_STATUSES, h.status),
             _name(h.contact), h.contact.phone, h.invoice.external_ref if h.invoice else "",
             h.assignee.get_username() if h.assignee else "", h.summary,
             OUTCOMES.get(h.resolution, h.resolution), at(h.resolved_at)]
            for h in handoffs.select_related("contact", "invoice", "assignee").only(
                "created_at", "reason", "status", "summary", "resolution", "resolved_at", *PATIENT,
                "invoice", "invoice__external_ref", "assignee", "assignee__username").iterator(chunk_size=CHUNK))
    return stream_csv(f"handoffs-{current}.csv", header, rows)


@member
def contacts_csv(request):
    q = request.GET.get("q", "").strip()
    try:
        found = contacts.search(request.org, q)
    except ValueError as error:
        return HttpResponseBadRequest(_("The search %(problem)s.") % {"problem": error}, content_type="text/plain")
    header = ["first name", "last name", "phone", "email", "ZIP code", "language", "outreach", "owed",
              "external id"]
    rows = ([c.first_name, c.last_name, c.phone, c.email, c.zip_code, c.language,
             "on" if c.outreach_on else "off", f"{c.owed or 0:.2f}", c.external_id]
            for c in found.only("first_name", "last_name", "phone", "email", "zip_code", "language", "outreach_on",
                                "external_id").order_by(*contacts.ORDER[bool(q)]).iterator(chunk_size=CHUNK))
    return stream_csv("contacts.csv", header, rows)


@member
def promises_csv(request):
    at, zone = _local(request.org)
    header = ["promised for", "amount", "currency", "status", "patient", "phone", "invoice", "channel",
              "made (" + zone + ")", "settled (" + zone + ")"]
    promises = (Promise.objects.filter(organization=request.org).select_related("contact", "invoice")
                .only("promised_date", "amount", "status", "channel", "created_at", "resolved_at", *PATIENT,
                      "invoice", "invoice__currency", "invoice__external_ref")
                .order_by("promised_date", "pk"))
    rows = ([_day(p.promised_date), p.amount if p.amount is not None else "", p.invoice.currency,
             vocabulary.label(vocabulary.PROMISE_STATUSES, p.status), _name(p.contact), p.contact.phone,
             p.invoice.external_ref, vocabulary.label(vocabulary.CHANNELS, p.channel), at(p.created_at),
             at(p.resolved_at)]
            for p in promises.iterator(chunk_size=CHUNK))
    return stream_csv("promises.csv", header, rows)


@member
def payments_csv(request):
    """Payments, refunds and payments undone, as the timeline recorded them (each in the transaction that changed
    the balance); an undone payment's reason is in the source column."""
    at, zone = _local(request.org)
    header = ["paid (" + zone + ")", "what", "amount", "currency", "balance after", "credit", "patient", "invoice",
              "recorded by", "source"]
    events = (Event.objects.filter(organization=request.org, kind__in=PAYMENT_KINDS)
              .select_related("contact", "invoice")
              .only("at", "kind", "detail", "actor", *PATIENT[:3], "invoice", "invoice__currency",
                    "invoice__external_ref")
              .order_by("at", "pk"))
    rows = ([at(e.at), vocabulary.label(vocabulary.EVENT_KINDS, e.kind), e.detail.get("amount", ""),
             e.invoice.currency if e.invoice else "", e.detail.get("balance", ""), e.detail.get("credit", ""),
             _name(e.contact), e.invoice.external_ref if e.invoice else "", e.actor.removeprefix("staff:"),
             e.detail.get("source") or e.detail.get("reason", "")]
            for e in events.iterator(chunk_size=CHUNK))
    return stream_csv("payments.csv", header, rows)


@member(roles=("owner",))
def attempts_csv(request):
    """Every text, email and call (the auditor's record, as `duedesk audit export`), owners only."""
    at, zone = _local(request.org)
    header = [c if c != "at" else "at (" + zone + ")" for c in audit.COLUMNS]
    rows = ([at(r["_at"]) if c == "at" else r[c] for c in audit.COLUMNS]
            for r in audit.attempts(organization=request.org))
    return stream_csv("attempts.csv", header, rows)
