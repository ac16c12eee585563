"""Lines (a phone number, an email address): opt-outs, unreachable marks and consent, with their history.

Each verb locks the line row (select_for_update) so two changes to one number never interleave, writes a
LineChange (the history that outlives the contact) and the contact's Event, in one transaction. The gate
reads the line at the next check: a STOP is honoured by the next worker tick.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import IntegrityError, transaction

from duedesk.core import vocabulary
from duedesk.records.lines import PURPOSE, address_for, addresses
from duedesk.records.models import Contact, Line, LineChange, Organization
from duedesk.records.timeline import log

CONSENT_BASES = tuple(vocabulary.CONSENT_BASES)


def lock_line(org: Organization | int, kind: str, address: str) -> Line:
    """The line row, created if new, locked until the caller's transaction ends (call inside atomic)."""
    org_id = org if isinstance(org, int) else org.pk
    line = Line.objects.select_for_update().filter(organization_id=org_id, kind=kind, address=address).first()
    if line is not None:
        return line
    try:
        with transaction.atomic():  # a savepoint: a peer that created it first wins, and we take its row
            Line.objects.create(organization_id=org_id, kind=kind, address=address)
    except IntegrityError:
        pass
    return Line.objects.select_for_update().get(organization_id=org_id, kind=kind, address=address)


def _applies(kind: str, channels) -> list[str]:
    return [ch for ch in channels if ch == "all" or ch in Line.CHANNELS[kind]]


def _note(line: Line, contact: Contact | None, what: str, channels, now: datetime, source: str, actor: str,
          evidence: str = "") -> None:
    LineChange.objects.create(organization_id=line.organization_id, line=line, contact=contact, what=what,
                              channels=list(channels), source=source[:60], actor=actor[:100],
                              evidence=evidence or "", at=now)


def stop(contact: Contact, channels: tuple[str, ...], now: datetime, *, source: str = "", actor: str = "patient",
         evidence: str = "") -> bool:
    """Opt the contact's lines out of `channels`. True when something was newly stopped (a STOP on a line
    already stopped changes nothing and asks for no second confirmation)."""
    changed = False
    with transaction.atomic():
        for kind, address in addresses(contact):
            wanted = _applies(kind, channels)
            if not wanted:
                continue
            line = lock_line(contact.organization_id, kind, address)
            new = [ch for ch in wanted if ch not in line.opted_out and "all" not in line.opted_out]
            if not new:
                continue
            for ch in new:
                line.opted_out[ch] = now.isoformat()
            line.save(update_fields=["opted_out", "updated_at"])
            _note(line, contact, "opted_out", new, now, source, actor, evidence)
            changed = True
        if changed:
            log(contact.organization_id, "contact.opted_out", now, contact=contact, actor=actor,
                channels=list(channels), source=source)
    return changed


def opt_out(contact: Contact, channels: tuple[str, ...], now: datetime, *, source: str = "",
            actor: str = "patient", evidence: str = "") -> Contact:
    """Stop automated texts and calls to the contact's number (and email to its address) at once."""
    stop(contact, channels, now, source=source, actor=actor, evidence=evidence)
    return contact


def opt_in(contact: Contact, channels: tuple[str, ...], now: datetime, *, source: str = "",
           actor: str = "patient", evidence: str = "") -> Contact:
    with transaction.atomic():
        for kind, address in addresses(contact):
            wanted = _applies(kind, channels)
            line = lock_line(contact.organization_id, kind, address)
            gone = [ch for ch in wanted if line.opted_out.pop(ch, None) is not None]
            if gone:
                line.save(update_fields=["opted_out", "updated_at"])
                _note(line, contact, "opted_in", gone, now, source, actor, evidence)
        log(contact.organization_id, "contact.opted_in", now, contact=contact, actor=actor,
            channels=list(channels), source=source)
        return contact


def mark_unreachable(contact: Contact, channel: str, reason: str, now: datetime, *, code: str = "") -> None:
    """A provider said the number (or address) cannot take this channel: every contact on it is blocked."""
    key = address_for(contact, channel)
    with transaction.atomic():
        if key is not None:
            line = lock_line(contact.organization_id, *key)
            line.unreachable[channel] = reason
            line.save(update_fields=["unreachable", "updated_at"])
            _note(line, contact, "unreachable", [channel], now, "provider" if code else "reply", "duedesk",
                  f"{reason} {code}".strip())
        log(contact.organization_id, "contact.unreachable", now, contact=contact, channel=channel, reason=reason,
            code=code)


def give_consent(contact: Contact, now: datetime, *, basis: str, source: str, evidence: str = "",
                 actor: str = "duedesk", kinds: tuple[str, ...] = ("phone", "email"),
                 override_revoked: bool = True, given_on: date | None = None) -> bool:
    """Record consent to be contacted about the bill on the contact's lines. `override_revoked=False` (a
    number provided at import, a text from the number) never undoes a revocation. `given_on`: the day the
    patient gave it, when that was before it was recorded (a signed form). True if anything changed."""
    if basis not in CONSENT_BASES:
        raise ValueError(f"consent: unknown basis {basis!r}")
    changed = []
    with transaction.atomic():
        for kind, address in addresses(contact):
            if kind not in kinds:
                continue
            line = lock_line(contact.organization_id, kind, address)
            record = line.consent.get(PURPOSE) or {}
            if record.get("revoked") and not override_revoked:
                continue
            if record.get("basis") == basis and not record.get("revoked"):
                continue
            if record.get("basis") == "express" and basis != "express" and not record.get("revoked"):
                continue  # express consent is the stronger record: kept
            line.consent[PURPOSE] = {"basis": basis, "source": source, "at": now.isoformat(),
                                     "evidence": evidence[:200]}
            given = ""
            if given_on is not None:
                line.consent[PURPOSE]["given_on"] = given_on.isoformat()
                given = f" (given {given_on.isoformat()})"
            line.save(update_fields=["consent", "updated_at"])
            _note(line, contact, "consent_given", [], now, source, actor, f"{basis}{given}: {evidence}"[:500])
            changed.append(address)
        if changed:
            log(contact.organization_id, "consent.given", now, contact=contact, actor=actor, basis=basis,
                source=source, purpose=PURPOSE)
    return bool(changed)


def revoke_consent(contact: Contact, now: datetime, *, source: str, evidence: str = "",
                   actor: str = "patient", kinds: tuple[str, ...] = ("phone", "email")) -> bool:
    """Consent to automated texts and calls about the bill is withdrawn for the contact's number (and
    address): honoured at the next gate check, for every contact on that line."""
    changed = False
    with transaction.atomic():
        for kind, address in addresses(contact):
            if kind not in kinds:
                continue
            line = lock_line(contact.organization_id, kind, address)
            if (line.consent.get(PURPOSE) or {}).get("revoked"):
                continue
            line.consent[PURPOSE] = {"revoked": now.isoformat(), "source": source}
            line.save(update_fields=["consent", "updated_at"])
            _note(line, contact, "consent_revoked", [], now, source, actor, evidence)
            changed = True
        if changed:
            log(contact.organization_id, "consent.revoked", now, contact=contact, actor=actor, source=source,
                purpose=PURPOSE)
    return changed


def record_line_type(organization_id: int, number: str, line_type: str, now: datetime, *,
                     carrier: str = "", error: str = "") -> None:
    """What the line-type lookup said about one number (blank with `error` when it could not say)."""
    record_line_types(organization_id, {number: (line_type, carrier, error)}, now)


def record_line_types(organization_id: int, answers: dict[str, tuple[str, str, str]], now: datetime) -> None:
    """What the line-type lookups said about numbers of one organization, number -> (type, carrier, error):
    kept on each line for every contact on it, with the time asked, so a number is looked up once (a blank
    type, a failed lookup, is asked again a day later). An answer is history too: an auditor sees when we
    knew a number was a landline. A batch's answers land in one transaction of a few statements (lines
    made where new, then locked in one order), not a transaction per number."""
    if not answers:
        return
    numbers = sorted(answers)
    with transaction.atomic():
        Line.objects.bulk_create([Line(organization_id=organization_id, kind="phone", address=n) for n in numbers],
                                 ignore_conflicts=True)
        found = list(Line.objects.select_for_update().filter(organization_id=organization_id, kind="phone",
                                                             address__in=numbers).order_by("pk"))
        changes = []
        for line in found:
            line_type, carrier, error = answers[line.address]
            line.line_type, line.line_type_checked_at, line.updated_at = line_type[:20], now, now
            evidence = (f"{line_type} ({carrier})" if carrier else line_type) if line_type else \
                f"lookup failed: {error}"
            changes.append(LineChange(organization_id=organization_id, line=line, what="line_type",
                                      channels=["sms", "call"], source="lookup", actor="duedesk",
                                      evidence=evidence, at=now))
        Line.objects.bulk_update(found, ["line_type", "line_type_checked_at", "updated_at"])
        LineChange.objects.bulk_create(changes)
