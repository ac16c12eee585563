"""The pull: CRM contacts into duedesk, driving the same actions the API and the importer use.

An initial full sync reads every contact a page at a time (bounded memory, progress kept on the
connection, so an interrupted sync resumes at its page); then an incremental sync reads what changed
since the cursor. Each record lands in its own transaction: a bad value (a due date that is not a date)
is named in the connection's last error and the other records still land.

Ownership: the CRM owns the due date, the balance, the invoice reference and the outreach switch. A value
is acted on only when the CRM changed it since the last pull (so our own write-backs are not echoed).
When the CRM changes a due date or balance that a person changed in duedesk in the meantime, the CRM's
value wins and the conflict is written on the timeline (and, through the outbox, on the CRM's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from duedesk.core.phones import normalize_phone
from duedesk.engine import actions
from duedesk.intake.checks import check_language
from duedesk.intake.crm_fields import CrmFieldError, _balance, apply_contact_fields
from duedesk.intake.importer import is_timezone, parse_date
from duedesk.integrations.crm.base import Client, Record
from duedesk.integrations.crm.landing import Lander
from duedesk.integrations.crm.mapping import mapping_for
from duedesk.integrations.crm.models import Connection, CrmLink
from duedesk.records.models import Contact, Invoice
from duedesk.records.timeline import log

# Our field -> the key apply_contact_fields understands (intake/crm_fields.py).
ENGINE_FIELDS = {"due_date": "invoice_due_date", "balance": "balance", "invoice_ref": "invoice_ref",
                 "outreach": "outreach"}


@dataclass
class PullResult:
    seen: int = 0
    created: int = 0
    changed: int = 0
    errors: list[str] = field(default_factory=list)


def properties_to_read(conn: Connection, standard: list[str]) -> list[str]:
    return sorted(set(standard) | {p for f, p in mapping_for(conn).items() if f not in ("last_outcome",
                                                                                          "promise_date")})


def pull(conn: Connection, client: Client, now: datetime, standard: dict[str, str],
         progress: Callable[[int], None] | None = None, max_pages: int | None = None) -> PullResult:
    """One pull: the rest of the initial full sync, else the changes since the cursor."""
    mapping = mapping_for(conn)
    props = properties_to_read(conn, list(standard.values()))
    result = PullResult()
    lander = Lander(conn, now)
    pages = 0
    if not conn.full_sync_done:
        if not conn.full_sync_after and not conn.cursor:
            # Changes made while the full sync runs are read afterwards, from the CRM's clock at the start.
            conn.cursor = client.latest_modified() or ""
            Connection.objects.filter(pk=conn.pk).update(cursor=conn.cursor)
        after = conn.full_sync_after or None
        while True:
            page = client.full_page(after, props)
            apply_records(conn, page.records, mapping, standard, now, result, lander)
            after = page.after
            conn.pulled_total += len(page.records)
            Connection.objects.filter(pk=conn.pk).update(full_sync_after=after or "", pulled_total=conn.pulled_total,
                                                          full_sync_done=after is None)
            if progress:
                progress(len(page.records))
            pages += 1
            if after is None:
                conn.full_sync_done = True
                return result
            if max_pages and pages >= max_pages:
                return result
    for page in client.changed_since(conn.cursor, props):
        apply_records(conn, page.records, mapping, standard, now, result, lander)
        if page.records:
            newest = max(r.modified for r in page.records)
            if newest > conn.cursor:
                conn.cursor = newest
        conn.pulled_total += len(page.records)
        Connection.objects.filter(pk=conn.pk).update(cursor=conn.cursor, pulled_total=conn.pulled_total)
        if progress:
            progress(len(page.records))
    return result


def apply_records(conn: Connection, records: list[Record], mapping: dict, standard: dict, now: datetime,
                  result: PullResult, lander: Lander | None = None) -> None:
    """Apply a page: records new to duedesk in bulk (landing.py) where they can, the rest one by one."""
    links = dict(CrmLink.objects.filter(connection=conn, crm_id__in=[r.crm_id for r in records])
                 .values_list("crm_id", "contact_id"))
    contacts = Contact.objects.in_bulk(list(links.values()))
    lander = lander or Lander(conn, now)
    news, one_by_one = [], []
    for record in records:
        candidate = None
        if record.crm_id not in links:
            try:
                values = contact_values(record.properties, mapping, standard, conn.organization.timezone)
            except CrmFieldError:
                values = None  # named by the one-by-one path
            if values is not None:
                candidate = lander.candidate(record, values, engine_values(record.properties, mapping))
        (news if candidate else one_by_one).append(candidate or record)
    result.seen += len(records)
    left = lander.land(news)
    result.created += len(news) - len(left)
    for record in one_by_one + [n.record for n in left]:
        try:
            contact = contacts.get(links.get(record.crm_id))
            changed = apply_record(conn, record, contact, mapping, standard, now)
        except CrmFieldError as error:
            result.errors.append(f"contact {record.crm_id}: {error}")
            continue
        if contact is None:
            result.created += 1
        elif changed:
            result.changed += 1


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def contact_values(props: dict, mapping: dict, standard: dict, org_tz: str) -> dict:
    """The contact's own columns from a CRM record (names, phone, email, language, zone, birth date)."""
    values = {
        "first_name": _text(props.get(standard["first_name"]))[:100],
        "last_name": _text(props.get(standard["last_name"]))[:100],
        "email": _text(props.get(standard["email"]))[:254],
    }
    phone = _text(props.get(standard["phone"]))
    try:
        values["phone"] = (normalize_phone(phone) or "") if phone else ""
    except ValueError:
        raise CrmFieldError("phone", f"{phone!r} is not a phone number") from None
    language = _text(props.get(mapping.get("language", "")))
    if language:
        try:
            values["language"] = check_language(language)  # "es-MX" -> "es"
        except ValueError:
            pass  # a language outreach does not speak leaves the contact's as it is
    zone = _text(props.get(mapping.get("timezone", "")))
    if zone and is_timezone(zone):
        values["timezone"] = zone
    born = _text(props.get(mapping.get("date_of_birth", "")))
    if born:
        try:
            values["date_of_birth"] = parse_date(born[:10])
        except ValueError:
            raise CrmFieldError("date_of_birth", f"{born!r} is not a date") from None
    return values


def _differs(key: str, before: str, after: str) -> bool:
    """A value the CRM changed. Amounts are compared as amounts: a balance we wrote back as "0" and a CRM
    that keeps numbers gives back as 0.0 is the same balance, not a change made there."""
    if before == after:
        return False
    if key == "balance" and before and after:
        try:
            return _balance(before) != _balance(after)
        except CrmFieldError:
            return True
    return True


def engine_values(props: dict, mapping: dict) -> dict:
    out = {}
    for ours, key in ENGINE_FIELDS.items():
        prop = mapping.get(ours)
        if prop and prop in props:
            out[key] = _text(props.get(prop))
    return out


def apply_record(conn: Connection, record: Record, contact: Contact | None, mapping: dict, standard: dict,
                 now: datetime) -> bool:
    org = conn.organization
    values = contact_values(record.properties, mapping, standard, org.timezone)
    incoming = engine_values(record.properties, mapping)
    with transaction.atomic():
        if contact is None:
            contact = actions.create_contact(org, now, actor="crm", detail={"source": conn.provider,
                                                                            "crm_id": record.crm_id},
                                             external_id=f"{conn.provider}:{record.crm_id}"[:100], **values)
            CrmLink.objects.create(connection=conn, contact=contact, crm_id=record.crm_id)
            changed_attrs = []
        else:
            changed_attrs = actions.update_contact(contact, values, now, actor="crm", source=conn.provider)
        stored = contact.fields or {}
        # Only what the CRM changed since the last pull; an empty value never seen before is no change.
        fresh = {k: v for k, v in incoming.items() if _differs(k, _text(stored.get(k)), v) and (v or k in stored)}
        if fresh:
            _log_conflicts(conn, contact, stored, fresh, now)
            if fresh.get("invoice_due_date") == "" and "balance" not in fresh:
                fresh.pop("invoice_due_date")  # a cleared due date keeps the invoice as it is
                actions.keep_contact_fields(contact.pk, {**stored, "invoice_due_date": ""})
            if fresh:
                apply_contact_fields(contact, fresh, now, actor="crm")
        return bool(changed_attrs or fresh)


def apply_change(conn: Connection, contact: Contact, properties: dict, now: datetime) -> bool:
    """One or a few properties changed in the CRM (a webhook): act on the mapped ones that differ."""
    incoming = engine_values(properties, mapping_for(conn))
    stored = contact.fields or {}
    fresh = {k: v for k, v in incoming.items() if _differs(k, _text(stored.get(k)), v) and (v or k in stored)}
    if not fresh:
        return False
    _log_conflicts(conn, contact, stored, fresh, now)
    apply_contact_fields(contact, fresh, now, actor="crm")
    return True


def _log_conflicts(conn: Connection, contact: Contact, stored: dict, fresh: dict, now: datetime) -> None:
    """The CRM changed a value a person also changed here since the last pull: the CRM's wins, both are shown."""
    ref = _text(stored.get("invoice_ref")) or f"CRM-{contact.pk}"
    invoice = Invoice.objects.filter(organization_id=contact.organization_id, external_ref=ref,
                                     contact=contact).first()
    if invoice is None:
        return
    checks = [("invoice_due_date", "due date", invoice.due_date.isoformat()),
              ("balance", "balance", str(invoice.balance))]
    for key, words, ours in checks:
        before = _text(stored.get(key))
        if key not in fresh or not before or not fresh[key]:
            continue
        try:
            before = parse_date(before).isoformat() if key == "invoice_due_date" else str(_balance(before))
        except (ValueError, CrmFieldError):
            continue
        if ours != before:
            log(contact.organization_id, "crm.conflict", now, contact=contact, invoice=invoice, actor="crm",
                field=words, duedesk=ours, crm=fresh[key], kept="crm", source=conn.provider)
