"""Every staff page, walked as a Spanish-speaking owner would: no English sentence and no internal code in
what the page shows, beyond what the clinic itself wrote in English (a patient's words, the English message of
a workflow) and names that stay as they are (Twilio's fields, webhook event types)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from duedesk.core import vocabulary
from duedesk.records.models import Line, Membership
from tests.web.test_isolation import _urls

pytestmark = pytest.mark.django_db

_HIDDEN = re.compile(r"<(script|style|textarea|code|pre|datalist)\b.*?</\1>|<!--.*?-->", re.S | re.I)
_TAG = re.compile(r"<[^>]*>", re.S)
# English that is never Spanish: a few of the commonest words of an English sentence.
_ENGLISH = re.compile(r"\b(the|and|with|your|you|was|were|has|have|been|not|from|for|this|that|will|when|"
                      r"could|should|must|of|to|is|are|on|at|by|it)\b", re.I)
_TABLES = [table for name, table in vars(vocabulary).items() if name.isupper() and isinstance(table, dict)]
# Codes: the vocabulary's names with an underscore (no_response, payment_plan) as they would leak.
CODES = {name for table in _TABLES for name in table if "_" in name}
# A part of a line ("Recordatorios terminados · completed") that is a bare code or a label left in English.
NAMES = {name for table in _TABLES for name, label in table.items() if name != label}  # "mobile" is both
BARE = NAMES | {label for table in _TABLES for label in table.values()}


# Labels whose Spanish is written the same, or names a Spanish page keeps ("Email", "Stripe").
SAME = {"Email", "email", "Stripe", "duedesk", "all", "es", "en", "open", "call", "sms"}


def shown(page: str) -> list[str]:
    """The page's visible text, one piece per text between tags (attributes and the YAML box left out)."""
    text = _HIDDEN.sub(" ", page)
    return [html.unescape(" ".join(piece.split())) for piece in _TAG.split(text) if piece.strip()]


def case_of(piece: str, allowed: set[str]) -> bool:
    return any(a in piece for a in allowed if len(a) > 20)


def english_or_codes(page: str, allowed: set[str], english: bool = False) -> list[str]:
    """Pieces of a Spanish page with English or a code in them (`english`: an English page, codes only)."""
    found = []
    for piece in shown(page):
        if (piece in allowed or piece.split(" — ")[0] in allowed or case_of(piece, allowed)
                or "Maple Clinic" in piece):  # a message to a patient in the workflow's English
            continue
        parts = {part.strip(" .“”") for part in re.split(r" · |→|: ", piece)}
        codes = any(re.search(rf"\b{re.escape(c)}\b", piece) for c in CODES)
        if english:
            if codes or parts & NAMES - SAME - allowed:
                found.append(piece)
        elif len(_ENGLISH.findall(piece)) >= 2 or codes or parts & BARE - SAME - allowed:
            found.append(piece)
    return found


def _theirs(case) -> set[str]:
    """What stays as it is on a Spanish page: the organization's workflows' names and block names (its own words), the
    names Twilio's English console gives its fields, the webhook event types receivers read."""
    from duedesk.core import workflow as wf
    from duedesk.engine.models import Workflow
    from duedesk.integrations.twilio.setup import WEBHOOKS
    from duedesk.integrations.webhooks.catalogue import TYPES
    from duedesk.web.blocks import words

    org = case["contact"].organization
    mine = Workflow.objects.filter(organization=org)
    names = {words(step.id) for w in mine for step in wf.parse(w.source).steps} | {w.name for w in mine}
    return names | {label for label, _name, _where in WEBHOOKS} | set(TYPES)


def _history(case, clock):
    """What an invoice's timeline holds after a busy month: the engine's and the importer's own sentences."""
    from duedesk.engine import actions
    from duedesk.records.timeline import log

    contact, invoice = case["contact"], case["invoice"]
    org = invoice.organization_id
    now = clock()
    log(org, "step.skipped", now, contact=contact, invoice=invoice, step="heads_up", reason="2026-11-28 has passed")
    log(org, "step.skipped", now, contact=contact, invoice=invoice, step="visit_call",
        reason="no contact.fields.visit_date to count from")
    log(org, "enrollment.done", now, contact=contact, invoice=invoice, reason="completed")
    log(org, "enrollment.exited", now, contact=contact, invoice=invoice, reason="outreach_off")
    log(org, "workflow.notice", now, contact=contact, invoice=invoice, notice="final_notice", step="final")
    actions.pause_invoice(invoice, now + timedelta(days=5), now, actor="patient", reason="says it was paid")
    actions.record_payment(invoice, Decimal("350.00"), now, actor="staff:dana")
    actions.record_payment(invoice, Decimal("1.00"), now, actor="stripe")
    actions.give_consent(contact, now, basis="express", source="staff", actor="staff:dana", kinds=("phone",))
    actions.opt_out(contact, ("sms",), now)
    actions.mark_unreachable(contact, "call", "fax", now)
    Line.objects.filter(organization_id=org).update(line_type="mobile")
    from datetime import date

    from duedesk.engine.actions.holds import place_legal_hold
    from duedesk.inbox import actions as inbox

    actions.record_promise(invoice, date(2026, 12, 20), now, channel="sms")
    inbox.resolve(case["handoff"], "payment_plan", now, actor="staff:dana",
                  instalments=[(date(2027, 1, 15), Decimal("25.00"))])
    actions.set_invoice_status(invoice, "open", now, actor="staff:dana", note="reminders resumed")
    place_legal_hold(contact, "attorney_represented", now, invoice=invoice, source="call")
    actions.open_handoff(contact, "unknown_send", now, invoice=invoice,
                         summary=vocabulary.sentence("step_unknown", kind="call", step="late_call"))


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_staff_page_in_spanish(login, owner, staff, case, clock, language):
    """In Spanish no English sentence and no code; in English no code either."""
    Membership.objects.filter(user=owner).update(language=language)
    _history(case, clock)
    gets, _posts = _urls(case, staff)
    client = login(owner)
    allowed = _theirs(case) | {"Lost her job; asks to pay over three months", "lost job", "100 a month",
                               "Can you pay the balance this month?", "I lost my job, I can do 100 a month",
                               # the conditions' own language, as the block editor's hint writes it
                               'Con and, or, not y paréntesis, como invoice.balance > 0 and promise.status != "kept"'}
    left = {}
    from duedesk.records.models import Handoff

    pages = {**gets, **{f"handoff {h.reason}": f"/inbox/{h.pk}/" for h in Handoff.objects.all()}}
    for name, url in pages.items():
        if url.endswith(".csv") or name in ("calendar_connect", "crm_salesforce_callback", "calendar_connected"):
            continue
        response = client.get(url, follow=True)
        found = english_or_codes(response.content.decode(), allowed, english=language == "en")
        if found:
            left[name] = found
    assert not left, "\n".join(f"{name}: {found}" for name, found in left.items())
