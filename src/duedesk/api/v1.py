"""The JSON API for the systems a clinic already has (billing system, CRM), at /api/v1/.

Every request carries an organization API key (duedesk.api.auth); every query is scoped to the key's
organization, so another organization's invoice or contact is simply not found (404). State changes go
through the engine's actions, as the staff workspace's do: an upserted invoice through the importer's row
rules, payments through actions.record_payment, contact fields through crm.apply_contact_fields, opt-outs
through actions.opt_out.

Errors are `{"errors": [{"field": ..., "message": ...}]}`: 401 for a missing or bad key, 404 for what the
organization does not have, 409 for a payment reference already used otherwise, 422 for bad input, naming
every bad field; a request that fails writes nothing. The reference is docs/api.md.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import ninja
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from django.utils.html import escape
from ninja import Field, NinjaAPI, Path, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase
from pydantic import ConfigDict, PlainValidator, WithJsonSchema

from duedesk.api import auth
from duedesk.api.models import ApiKey, ApiPayment
from duedesk.core import vocabulary
from duedesk.engine import actions
from duedesk.engine.models import Enrollment, Step
from duedesk.intake import checks, importer
from duedesk.intake import crm_fields as crm
from duedesk.records.models import Contact, Event, Handoff, Invoice, Organization

TIMELINE_EVENTS = 20
OPT_OUT_CHANNELS = tuple(vocabulary.CHANNEL_PLURALS)  # sms, call, email, all
CLOCK_SKEW = timedelta(minutes=5)  # a paid_at this far ahead of our clock is still "now", not the future


def now() -> datetime:
    return auth.clock()


# ----------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An answer other than 2xx, with every (field, message) that explains it."""

    def __init__(self, status: int, errors: list[tuple[str, str]]):
        super().__init__(errors)
        self.status = status
        self.errors = errors


class FieldError(Schema):
    field: str = Field(description="The field, query parameter or header at fault")
    message: str


class Errors(Schema):
    errors: list[FieldError]


def _not_found(field: str, message: str) -> ApiError:
    return ApiError(404, [(field, message)])


# ----------------------------------------------------------------------------- the docs page
#
# Swagger UI from django-ninja's own files, served here: the site's Content-Security-Policy allows scripts
# from this origin only, so the CDN page ninja falls back to (ninja is not an installed app) would not run.

_NINJA_STATIC = FilePath(ninja.__file__).resolve().parent / "static" / "ninja"
_DOCS_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
                "swagger-ui-init.js": "text/javascript", "favicon.png": "image/png"}


class LocalSwagger(DocsBase):
    def render_page(self, request, api, **kwargs):
        openapi_url = self.get_openapi_url(api, kwargs)
        assets = reverse("api-v1-docs-asset", args=["x"]).rsplit("/", 1)[0]
        # Script text is not HTML-decoded: JSON with "<" escaped, so no "</script>" can end it early.
        settings_json = json.dumps({"url": openapi_url, "layout": "BaseLayout", "deepLinking": True}).replace(
            "<", "\\u003c")
        return HttpResponse(
            "<!DOCTYPE html><html><head>"
            f'<link rel="stylesheet" href="{assets}/swagger-ui.css">'
            f'<link rel="icon" href="{assets}/favicon.png" type="image/png">'
            f"<title>{escape(api.title)}</title></head><body>"
            f'<script type="application/json" id="swagger-settings">{settings_json}</script>'
            '<div id="swagger-ui"></div>'
            f'<script src="{assets}/swagger-ui-bundle.js"></script>'
            f'<script src="{assets}/swagger-ui-init.js"></script>'
            "</body></html>"
        )


def docs_asset(request, name: str):
    if name not in _DOCS_ASSETS:
        raise Http404(name)
    response = FileResponse((_NINJA_STATIC / name).open("rb"), content_type=_DOCS_ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


api = NinjaAPI(
    title="duedesk API",
    version="1",
    description="Invoices, payments, contact fields, opt-outs and handoffs for the systems a clinic already has. "
                "Authenticate with `Authorization: Bearer dd_<prefix>_<secret>` (`duedesk apikey create`).",
    auth=auth.ApiKeyAuth(),
    urls_namespace="api-v1",
    docs=LocalSwagger(),
)


def _errors(request, status: int, errors: list[tuple[str, str]]):
    return api.create_response(request, {"errors": [{"field": f, "message": m} for f, m in errors]}, status=status)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return _errors(request, exc.status, exc.errors)


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc: AuthenticationError):
    response = _errors(request, 401, [("Authorization", exc.message)])
    response["WWW-Authenticate"] = 'Bearer realm="duedesk"'
    return response


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    """Ninja's own checks (types, required fields, query values), in the same shape as ours."""
    errors = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] == "body":
            loc = loc[2:] or ["body"]  # ("body", <parameter name>, field, …)
        elif loc and loc[0] in ("query", "path", "header"):
            loc = loc[1:]
        field = ".".join(loc) or "body"
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        kind = error.get("type")
        if kind == "missing":
            message = "is missing"
        elif kind == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == TEXT:
            message = "contains a control character"
        elif kind == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == PATH_TEXT:
            message = "is empty or contains a control character or a slash"
        elif kind == "string_unicode":
            message = "is not valid Unicode text"
        errors.append((field, message))
    return _errors(request, 422, errors)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _errors(request, exc.status_code, [("body" if exc.status_code == 400 else "request", exc.message)])


@api.exception_handler(Http404)
def _no_route(request, exc):
    return _errors(request, 404, [("path", "not found")])


# ----------------------------------------------------------------------------- schemas
#
# The schemas say what the server enforces, so a client (or a fuzzer reading /api/v1/openapi.json) can trust
# them: lengths are the columns', text has no control characters, amounts are strings or numbers but never
# booleans (JSON's false is not 0), offsets and ids fit the database's 64-bit integers.

TEXT = r"^[^\x00-\x1f\x7f-\x9f]*$"  # no control characters (PostgreSQL cannot store NUL at all)
PATH_TEXT = r"^[^\x00-\x1f\x7f-\x9f/]+$"  # a reference in a path: no control characters, no slash
DATE_TEXT = r"^\s*(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})\s*$"
MAX_ID = 2**63 - 1  # BigAutoField
MAX_OFFSET = 10_000_000
MAX_AMOUNT = float(importer.MAX_AMOUNT)


def _text(limit: int, description: str | None = None, **kwargs):
    return Field(None, max_length=limit, pattern=TEXT, description=description, **kwargs)


def _amount(value: Any) -> str:
    """An amount as the importer reads it: a string ("1,234.50") or a number, never true/false or null."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{json.dumps(value)} is not an amount (send a string like \"120.00\" or a number)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("is not a finite number")
    return str(value)


def _amount_schema(minimum: dict) -> dict:
    return {"anyOf": [{"type": "string", "maxLength": 20, "examples": ["120.00"]},
                      {"type": "number", **minimum, "maximum": MAX_AMOUNT}]}


Amount = Annotated[str, PlainValidator(_amount), WithJsonSchema(_amount_schema({"minimum": 0}))]
PositiveAmount = Annotated[str, PlainValidator(_amount), WithJsonSchema(_amount_schema({"exclusiveMinimum": 0}))]


def money(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


class ContactRef(Schema):
    id: int
    name: str
    phone: str
    email: str


class NextStep(Schema):
    step_id: str
    kind: str = Field(description="sms, call, email, wait, branch…")
    run_at: datetime
    status: str = Field(description="pending, or held while outreach is off")


class Outreach(Schema):
    enrollment_status: str = Field(description="active, waiting, paused, done or exited")
    exit_reason: str
    workflow: str
    workflow_version: int
    current_step: str
    next_step: NextStep | None


class TimelineEvent(Schema):
    id: int
    kind: str
    at: datetime
    channel: str
    actor: str
    detail: dict[str, Any]


class InvoiceOut(Schema):
    external_ref: str
    status: str = Field(description=", ".join(vocabulary.INVOICE_STATUSES))
    currency: str
    amount_due: str = Field(examples=["120.00"])
    balance: str = Field(examples=["45.50"])
    credit: str = Field(examples=["0.00"], description="Paid beyond what was owed, for the clinic to refund or "
                                                      "apply (an \"overpaid\" handoff is open for it)")
    due_date: date
    pay_link: str
    contact: ContactRef
    outreach: Outreach | None = Field(description="The invoice's latest enrollment; null if never enrolled")
    open_handoffs: int
    events: list[TimelineEvent] = Field(description=f"The last {TIMELINE_EVENTS} timeline events, newest first")


class UpsertOut(InvoiceOut):
    result: Literal["created", "updated", "unchanged"]


class InvoiceIn(Schema):
    """The CSV import's columns (docs/import.md), with the same rules; the reference is in the path."""

    # amount_due and due_date are required: left out, they are named with every other bad field at once.
    model_config = ConfigDict(json_schema_extra={"required": ["amount_due", "due_date"]})

    first_name: str | None = _text(100)
    last_name: str | None = _text(100)
    phone: str | None = _text(importer.PHONE_MAX, "A phone or an email is needed", examples=["+12125550123"])
    email: str | None = _text(checks.EMAIL_MAX)
    zip_code: str | None = Field(None, pattern=r"^\d{5}(-\d{4})?$", examples=["10001"],
                                 description="The address's US ZIP code: its time zone and state rules apply")
    timezone: str | None = _text(64, "An IANA time zone", examples=["America/New_York"])
    language: str | None = _text(35, "en or es, or a locale of them (es-MX, es-419, es_US, en-GB): stored as its "
                                      "language, so the contact is written to wholly in it", examples=["es-MX"])
    date_of_birth: str | None = Field(None, pattern=DATE_TEXT, description="YYYY-MM-DD or MM/DD/YYYY, in the past")
    amount_due: Amount = Field(None, description="1234.50 or 1,234.50; at most two decimals", examples=["120.00"])
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$", description="ISO 4217; default the organization's")
    due_date: str = Field(None, pattern=DATE_TEXT, examples=["2026-12-10"],
                          description="YYYY-MM-DD or MM/DD/YYYY, in the years the server accepts (1900-2200 "
                                      "unless configured)")
    consent: bool | None = Field(None, description="Prior express consent to automated texts and calls about "
                                 "this bill: true records it for the phone and email, false withdraws it")


class PaymentIn(Schema):
    amount: PositiveAmount = Field(description="More than zero, at most two decimals", examples=["45.50"])
    paid_at: str | None = Field(None, max_length=40, pattern=TEXT,
                                description="When the payer paid: YYYY-MM-DD or an ISO 8601 moment (without an "
                                            "offset: the organization's time zone), not in the future")
    reference: str | None = _text(100, "The billing system's payment id: the same reference twice records one "
                                       "payment")


class PaymentOut(Schema):
    amount: str
    credit: str = Field(description="What this payment paid beyond the balance (kept as the invoice's credit)")
    reference: str | None
    paid_at: datetime | None
    recorded_at: datetime
    duplicate: bool = Field(description="True when this reference was already recorded: nothing new was written")
    invoice: InvoiceOut


class InvoiceSummary(Schema):
    external_ref: str
    status: str
    balance: str
    due_date: date


class ContactOut(Schema):
    id: int
    name: str
    phone: str
    email: str
    outreach_on: bool
    opted_out: dict[str, str] = Field(description="channel -> when the contact opted out")
    fields: dict[str, Any]
    invoices: list[InvoiceSummary]


class FieldsIn(Schema):
    fields: dict[str, Any] = Field(
        description="CRM fields to merge into the contact. invoice_due_date, balance and invoice_ref drive the "
                    "invoice; outreach (on/off) switches reminders; any other field is kept as is.",
        examples=[{"invoice_due_date": "2026-12-10", "balance": "120.00", "outreach": "on"}],
    )


class OptOutIn(Schema):
    channels: list[Annotated[str, Field(max_length=10, pattern=TEXT)]] = Field(
        description="Any of sms, call, email, or all (any case)", examples=[["sms", "call"]])


class HandoffOut(Schema):
    id: int
    reason: str
    reason_label: str
    status: str
    summary: str
    contact_id: int
    contact_name: str
    invoice_ref: str | None
    created_at: datetime
    assignee: str | None = Field(description="The staff member's username, or null")
    url: str = Field(description="The handoff's page in the staff workspace")


class HandoffList(Schema):
    count: int
    items: list[HandoffOut]


# ----------------------------------------------------------------------------- reading


def _org(request) -> Organization:
    key: ApiKey = request.auth
    return key.organization


def _actor(request) -> str:
    return request.auth.actor


def _invoice(request, external_ref: str, *, lock: bool = False) -> Invoice:
    qs = Invoice.objects.select_for_update() if lock else Invoice.objects
    invoice = qs.filter(organization=_org(request), external_ref=external_ref).select_related("contact").first()
    if invoice is None:
        raise _not_found("external_ref", f"no invoice {external_ref!r}")
    return invoice


def _contact(request, contact_id: int) -> Contact:
    contact = Contact.objects.filter(organization=_org(request), pk=contact_id).first()
    if contact is None:
        raise _not_found("contact_id", f"no contact {contact_id}")
    return contact


def _outreach(invoice: Invoice) -> dict | None:
    enrollments = Enrollment.objects.filter(organization_id=invoice.organization_id, invoice=invoice)
    enrollment = (enrollments.filter(status__in=Enrollment.LIVE).select_related("workflow").first()
                  or enrollments.select_related("workflow").order_by("-started_at", "-pk").first())
    if enrollment is None:
        return None
    step = (Step.objects.filter(enrollment=enrollment, status__in=("pending", "held"))
            .order_by("run_at", "pk").first())
    return {
        "enrollment_status": enrollment.status, "exit_reason": enrollment.exit_reason,
        "workflow": enrollment.workflow.name, "workflow_version": enrollment.workflow.version,
        "current_step": enrollment.current_step,
        "next_step": step and {"step_id": step.step_id, "kind": step.kind, "run_at": step.run_at,
                               "status": step.status},
    }


def _invoice_out(invoice: Invoice) -> dict:
    invoice = Invoice.objects.select_related("contact").get(pk=invoice.pk)  # fresh, after any action
    contact = invoice.contact
    events = (Event.objects.filter(organization_id=invoice.organization_id, invoice=invoice)
              .order_by("-at", "-id")[:TIMELINE_EVENTS])
    return {
        "external_ref": invoice.external_ref, "status": invoice.status, "currency": invoice.currency,
        "amount_due": money(invoice.amount_due), "balance": money(invoice.balance), "credit": money(invoice.credit),
        "due_date": invoice.due_date,
        "pay_link": invoice.pay_link,
        "contact": {"id": contact.pk, "name": contact.full_name, "phone": contact.phone, "email": contact.email},
        "outreach": _outreach(invoice),
        "open_handoffs": Handoff.objects.filter(organization_id=invoice.organization_id, invoice=invoice,
                                                status="open").count(),
        "events": [{"id": e.pk, "kind": e.kind, "at": e.at, "channel": e.channel, "actor": e.actor,
                    "detail": e.detail} for e in events],
    }


def _contact_out(contact: Contact) -> dict:
    contact = Contact.objects.get(pk=contact.pk)
    invoices = contact.invoices.order_by("-due_date", "-pk")
    return {
        "id": contact.pk, "name": contact.full_name, "phone": contact.phone, "email": contact.email,
        "outreach_on": contact.outreach_on, "opted_out": contact.opted_out, "fields": contact.fields,
        "invoices": [{"external_ref": i.external_ref, "status": i.status, "balance": money(i.balance),
                      "due_date": i.due_date} for i in invoices],
    }


# ----------------------------------------------------------------------------- invoices


@api.put("/invoices/{external_ref}", response={200: UpsertOut, 201: UpsertOut, 400: Errors, 401: Errors, 422: Errors},
         summary="Create or update an invoice with its contact", tags=["invoices"])
def put_invoice(request, payload: InvoiceIn, external_ref: str = Path(..., max_length=100, pattern=PATH_TEXT)):
    """The CSV import's row rules, one invoice at a time. A new invoice with a balance is enrolled in the
    organization's workflow (201); a changed due date or amount re-plans its outreach (200). The contact is
    found by phone, else email, else created; an existing invoice keeps its contact."""
    org = _org(request)
    at = now()
    raw = {**payload.model_dump(), "external_ref": external_ref}
    row, errors = importer.check_row(raw, 0, org, at)
    if errors:
        raise ApiError(422, [(e.field, e.message) for e in errors])
    try:
        result = _upsert(org, row, at, _actor(request))
    except IntegrityError:
        # Another request created this reference a moment ago: this one is now an update of it.
        result = _upsert(org, row, at, _actor(request))
    invoice = Invoice.objects.get(organization=org, external_ref=row.external_ref)
    return Status(201 if result == "created" else 200, {**_invoice_out(invoice), "result": result})


def _upsert(org: Organization, row: importer.InvoiceRow, at: datetime, actor: str) -> str:
    """The importer's own upsert, with the timeline saying the API did it (not a file's line)."""
    try:
        return importer.import_row(org, row, at, actor, origin={"source": "api"})
    except importer.RowProblem as problem:
        raise ApiError(422, [(problem.field, problem.message)]) from None


@api.get("/invoices/{external_ref}", response={200: InvoiceOut, 401: Errors, 404: Errors, 422: Errors},
         summary="An invoice: balance, outreach state, handoffs, recent timeline", tags=["invoices"])
def get_invoice(request, external_ref: str = Path(..., max_length=100, pattern=PATH_TEXT)):
    return _invoice_out(_invoice(request, external_ref))


# ----------------------------------------------------------------------------- payments


def _paid_at(text: str | None, org: Organization, at: datetime) -> datetime | None:
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    zone = ZoneInfo(org.timezone)
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(0), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
    except ValueError:
        raise ApiError(422, [("paid_at", f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 moment")]) from None
    low, high = checks.year_range()
    try:
        checks.check_moment(moment)
        moment.astimezone(ZoneInfo("UTC"))  # an offset could still carry year 1 off the calendar
    except (ValueError, OverflowError):
        raise ApiError(422, [("paid_at", f"{value!r} is outside the years {low}-{high}")]) from None
    if moment > at + CLOCK_SKEW:
        raise ApiError(422, [("paid_at", f"{value!r} is in the future")])
    return moment


def _payment_out(payment: ApiPayment, duplicate: bool) -> dict:
    credit = (payment.event.detail.get("credit") if payment.event else None) or "0"
    return {"amount": money(payment.amount), "credit": money(Decimal(credit)), "reference": payment.reference,
            "paid_at": payment.paid_at,
            "recorded_at": payment.recorded_at, "duplicate": duplicate, "invoice": _invoice_out(payment.invoice)}


def _same_payment(existing: ApiPayment, invoice: Invoice, amount: Decimal) -> dict:
    if existing.invoice_id != invoice.pk or existing.amount != amount:
        raise ApiError(409, [("reference", f"{existing.reference!r} was already recorded as "
                                           f"{money(existing.amount)} on invoice {existing.invoice.external_ref}")])
    return _payment_out(existing, duplicate=True)


@api.post("/invoices/{external_ref}/payments",
          response={200: PaymentOut, 201: PaymentOut, 400: Errors, 401: Errors, 404: Errors, 409: Errors, 422: Errors},
          summary="Record a payment", tags=["payments"])
def post_payment(request, payload: PaymentIn, external_ref: str = Path(..., max_length=100, pattern=PATH_TEXT)):
    """Lowers the balance; paid in full marks the invoice paid and stops its outreach in the same transaction.
    Paid beyond the balance, the rest is kept as the invoice's `credit` and an "overpaid" handoff asks staff to
    refund or apply it. An invoice already paid or written off takes no payment (409).
    With a `reference`, sending the same payment again records nothing and answers 200 with `duplicate: true`
    (even once the invoice is paid); the same reference with another amount or invoice is refused (409)."""
    org = _org(request)
    at = now()
    errors = []
    amount = None
    try:
        amount = importer.parse_amount(str(payload.amount))
        if amount == 0:
            errors.append(("amount", "must be more than zero"))
    except ValueError as error:
        errors.append(("amount", str(error)))
    reference = (payload.reference or "").strip() or None
    paid_at = None
    try:
        paid_at = _paid_at(payload.paid_at, org, at)
    except ApiError as error:
        errors.extend(error.errors)
    if errors:
        raise ApiError(422, errors)
    source = ", ".join(["api", *([f"reference {reference}"] if reference else []),
                        *([f"paid on {paid_at.astimezone(ZoneInfo(org.timezone)).date().isoformat()}"]
                          if paid_at else [])])
    try:
        with transaction.atomic():
            invoice = _invoice(request, external_ref, lock=True)  # one payment at a time per invoice
            if reference:
                existing = ApiPayment.objects.filter(organization=org, reference=reference).first()
                if existing:
                    return Status(200, _same_payment(existing, invoice, amount))
            try:
                invoice = actions.record_payment(invoice, amount, at, actor=_actor(request), source=source,
                                                 refuse_if_closed=True)
            except actions.InvoiceClosed as error:
                raise ApiError(409, [("external_ref", str(error))]) from None
            event = (Event.objects.filter(organization=org, invoice=invoice, kind="payment.recorded")
                     .order_by("-id").first())
            payment = ApiPayment.objects.create(organization=org, invoice=invoice, reference=reference,
                                                amount=amount, paid_at=paid_at, recorded_at=at, event=event,
                                                api_key=request.auth)
    except IntegrityError:
        # The same reference, sent twice at the same moment: the other request recorded it.
        existing = ApiPayment.objects.filter(organization=org, reference=reference).first()
        if existing is None:
            raise
        return Status(200, _same_payment(existing, _invoice(request, external_ref), amount))
    return Status(201, _payment_out(payment, duplicate=False))


# ----------------------------------------------------------------------------- contacts


@api.post("/contacts/{contact_id}/fields",
          response={200: ContactOut, 400: Errors, 401: Errors, 404: Errors, 422: Errors},
          summary="Set CRM fields on a contact (due date, balance, outreach on/off)", tags=["contacts"])
def post_contact_fields(request, payload: FieldsIn, contact_id: int = Path(..., ge=1, le=MAX_ID)):
    """The due date lives as a field on the contact: `invoice_due_date` with `balance` (and optionally
    `invoice_ref`, default `CRM-<contact id>`) creates and enrolls the invoice or re-plans it; `balance` 0
    marks it paid; `outreach` on/off switches reminders. A bad value is refused and nothing changes."""
    contact = _contact(request, contact_id)
    if not payload.fields:
        raise ApiError(422, [("fields", "is empty")])
    try:
        checks.check_json_text(payload.fields, "fields")
    except checks.BadValue as error:
        raise ApiError(422, [(error.path, error.message)]) from None
    try:
        contact = crm.apply_contact_fields(contact, payload.fields, now(), actor=_actor(request))
    except crm.CrmFieldError as error:
        raise ApiError(422, [(f"fields.{error.field}", error.message)]) from None
    return _contact_out(contact)


@api.post("/contacts/{contact_id}/opt-out",
          response={200: ContactOut, 400: Errors, 401: Errors, 404: Errors, 422: Errors},
          summary="Record a do-not-contact request", tags=["contacts"])
def post_opt_out(request, payload: OptOutIn, contact_id: int = Path(..., ge=1, le=MAX_ID)):
    """Stops automated texts, calls or emails (or all) to the contact at once; the gate reads it before every
    send. Opting out again is harmless."""
    contact = _contact(request, contact_id)
    channels = [str(c).strip().lower() for c in payload.channels]
    errors = [(f"channels.{i}", f"{payload.channels[i]!r} is not one of {', '.join(OPT_OUT_CHANNELS)}")
              for i, ch in enumerate(channels) if ch not in OPT_OUT_CHANNELS]
    if not channels:
        errors.append(("channels", "is empty (name sms, call, email or all)"))
    if errors:
        raise ApiError(422, errors)
    channels = list(dict.fromkeys(channels))
    contact = actions.opt_out(contact, tuple(channels), now(), source="api", actor=_actor(request))
    return _contact_out(contact)


# ----------------------------------------------------------------------------- handoffs


class HandoffQuery(Schema):
    status: Literal["open", "resolved", "all"] = "open"
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@api.get("/handoffs", response={200: HandoffList, 401: Errors, 422: Errors},
         summary="Conversations waiting for a person", tags=["handoffs"])
def list_handoffs(request, filters: Query[HandoffQuery]):
    """Newest first. `url` opens the handoff in the staff workspace."""
    # An unknown parameter is a mistake the caller should hear about (422 naming it), not a silent default.
    unknown = sorted(set(request.GET) - set(HandoffQuery.model_fields))
    if unknown:
        raise ApiError(422, [(name or "(empty name)", "unknown query parameter; use status, limit or offset")
                             for name in unknown])
    qs = Handoff.objects.filter(organization=_org(request))
    if filters.status != "all":
        qs = qs.filter(status=filters.status)
    total = qs.count()
    rows = qs.select_related("contact", "invoice", "assignee").order_by("-created_at", "-pk")[
        filters.offset:filters.offset + filters.limit]
    return {"count": total, "items": [{
        "id": h.pk, "reason": h.reason, "reason_label": h.reason_label(), "status": h.status, "summary": h.summary,
        "contact_id": h.contact_id, "contact_name": h.contact.full_name,
        "invoice_ref": h.invoice.external_ref if h.invoice else None, "created_at": h.created_at,
        "assignee": h.assignee.get_username() if h.assignee else None,
        "url": settings.PUBLIC_URL + reverse("inbox_detail", args=[h.pk]),
    } for h in rows]}


# ----------------------------------------------------------------------------- events


class EventIn(Schema):
    type: str = Field(..., pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=60,
                      description="What happened, e.g. `payment.failed`: starts the workflow triggered by it")
    invoice: str = Field(..., min_length=1, max_length=100, pattern=TEXT, description="The invoice's reference")
    idempotency_key: str = Field(..., min_length=1, max_length=100, pattern=TEXT,
                                 description="The same key twice records one event (a retry after a timeout)")
    occurred_at: datetime | None = Field(None, description="When it happened (default: now); the workflow's "
                                                           "'trigger + 1h' counts from here")
    data: dict[str, date | str | int | bool | None] = Field(
        default_factory=dict, description="Dates the workflow may count from, e.g. "
                                          "`{\"next_billing_date\": \"2027-01-05\"}` for `event.next_billing_date - 2d`")


class EventOut(Schema):
    type: str
    invoice: str
    duplicate: bool
    workflow: str | None = Field(None, description="The workflow the event started, if any")


@api.post("/events", response={200: EventOut, 201: EventOut, 400: Errors, 401: Errors, 404: Errors, 409: Errors,
                               422: Errors},
          summary="Report an event about an invoice", tags=["events"])
def post_event(request, payload: EventIn):
    """An event about an invoice starts the organization's workflow triggered by it (`trigger: {event: …}`),
    for example failed-payment recovery for `payment.failed`. The same `idempotency_key` again answers 200
    with `duplicate: true` and starts nothing; with another type or invoice it is a 409."""
    from duedesk.api.models import ApiEvent

    org = _org(request)
    moment = now()
    occurred = payload.occurred_at or moment
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=ZoneInfo(org.timezone))
    errors = []
    try:
        checks.check_moment(occurred)
        occurred.astimezone(ZoneInfo("UTC"))
    except (ValueError, OverflowError):
        low, high = checks.year_range()
        errors.append(("occurred_at", f"is outside the years {low}-{high}"))
    try:
        checks.check_json_text(payload.data, "data")
    except checks.BadValue as error:
        errors.append((error.path, error.message))
    if errors:
        raise ApiError(422, errors)
    try:
        with transaction.atomic():
            invoice = _invoice(request, payload.invoice, lock=True)
            seen = ApiEvent.objects.filter(organization=org, key=payload.idempotency_key).first()
            if seen is None:
                ApiEvent.objects.create(organization=org, key=payload.idempotency_key, type=payload.type,
                                        invoice=invoice, received_at=moment)
                enrollment = actions.start_on_event(invoice, payload.type, occurred, moment, data=payload.data,
                                                    source=_actor(request))
                name = enrollment.workflow.name if enrollment else None
                ApiEvent.objects.filter(organization=org, key=payload.idempotency_key).update(workflow=name or "")
                return Status(201, {"type": payload.type, "invoice": invoice.external_ref, "duplicate": False,
                                    "workflow": name})
    except IntegrityError:  # the same key at the same moment: the other request recorded it
        seen = ApiEvent.objects.filter(organization=org, key=payload.idempotency_key).first()
    if seen.type != payload.type or seen.invoice.external_ref != payload.invoice:
        raise ApiError(409, [("idempotency_key", f"already used for {seen.type} on invoice "
                                                 f"{seen.invoice.external_ref}")])
    return Status(200, {"type": seen.type, "invoice": seen.invoice.external_ref, "duplicate": True,
                        "workflow": seen.workflow or None})
