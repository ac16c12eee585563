"""Which invoice a text means when the number it came from has several open ones.

A parent and a child share a phone, or one patient has two visits still to pay: "I'll pay friday", "I
already paid", "this is wrong" can't be acted on until we know which invoice it is about. The text is kept
(`sms.invoice_asked`, with the invoices listed and what was written), a short list goes back ("1) $80.00, due
December 10; 2) $45.00, due December 9") — amounts and due dates only, what the reminders already said; a text
never names the patient — and the answer (the number, an amount, a first name, the reference) picks one
(`sms.invoice_chosen`); the text first written is then acted on for that invoice, and its contact. The
question and the answer are on the timeline, so the state survives restarts and is auditable, as the
identity question's is (conversations/identity.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from duedesk.core import render
from duedesk.core.dialog import choice
from duedesk.engine.actions.sends import send_text_now
from duedesk.records.models import Contact, Event, Invoice
from duedesk.records.timeline import log

ASKED_FOR = timedelta(hours=24)  # an answer to our list is read as one for this long
MAX_TRIES = 2  # answers that pick nothing before the text is read as a new one
CLOSED = ("paid", "written_off")
# What can't be done without knowing the invoice: a promise with its day, a payment, a dispute, hardship, a plan.
INTENTS = ("promise_to_pay", "pay_now", "already_paid", "dispute", "hardship", "payment_plan")

QUESTION = {
    "en": "{org}: Which bill is your message about? Reply with its number: {items}. You can also reply with the "
          "patient's first name.",
    "es": "{org}: ¿Sobre qué cuenta es su mensaje? Responda con su número: {items}. También puede responder con el "
          "nombre del paciente.",
}
AGAIN = {
    "en": "{org}: Sorry, we could not tell which one you meant. Please reply with its number: {items}.",
    "es": "{org}: Disculpe, no pudimos saber a cuál se refiere. Responda con su número: {items}.",
}
ITEM = {"en": "{n}) {amount}, due {due}", "es": "{n}) {amount}, vence el {due}"}


def open_invoices(contact: Contact, number: str) -> list[Invoice]:
    """The invoices still owed by everyone on the number, the one due first first (the order they are listed)."""
    return list(Invoice.objects.filter(organization_id=contact.organization_id, contact__phone=number,
                                       balance__gt=0).exclude(status__in=CLOSED)
                .select_related("contact__organization").order_by("due_date", "pk"))


def options(invoices: list[Invoice]) -> list[choice.Option]:
    return [choice.Option(first_name=i.contact.first_name, last_name=i.contact.last_name, amount=i.balance,
                          ref=i.external_ref) for i in invoices]


def pending(contact: Contact, now: datetime) -> Event | None:
    """Our list, when it is the last word about which invoice and still open."""
    last = (Event.objects.filter(organization_id=contact.organization_id, contact=contact,
                                 kind__in=("sms.invoice_asked", "sms.invoice_chosen"), at__gt=now - ASKED_FOR,
                                 at__lte=now).order_by("-at", "-pk").first())
    return last if last is not None and last.kind == "sms.invoice_asked" else None


def ask(contact: Contact, invoices: list[Invoice], body: str, intent: str, now: datetime, transports, *,
        tries: int = 0) -> None:
    """Keep what was written and send the list (again, after an answer that picked nothing)."""
    listed = invoices[: choice.MAX_LISTED]
    log(contact.organization_id, "sms.invoice_asked", now, contact=contact, channel="sms",
        invoices=[i.pk for i in invoices], body=body, intent=intent, tries=tries)
    lang = render.lang_code(contact.language)
    items = "; ".join(ITEM[lang].format(n=n, amount=render.money(i.balance, i.currency, lang),
                                        due=render.long_date(i.due_date, lang)) for n, i in enumerate(listed, 1))
    text = (AGAIN if tries else QUESTION)[lang].format(org=contact.organization.name, items=items)
    send_text_now(contact, text, now, transports, purpose="reply")


def answer(contact: Contact, question: Event, body: str, now: datetime, transports) -> Invoice | None | bool:
    """The invoice the answer picks (sms.invoice_chosen logged); True when it picked nothing and the list went
    out again; None when it picked nothing and is to be read as a text of its own."""
    ids = question.detail.get("invoices") or []
    found = {i.pk: i for i in Invoice.objects.filter(pk__in=ids, organization_id=contact.organization_id)
             .exclude(status__in=CLOSED).select_related("contact__organization")}
    invoices = [found[pk] for pk in ids if pk in found]
    index = choice.pick(options(invoices[: choice.MAX_LISTED]), body)
    if index is None and len(invoices) > choice.MAX_LISTED:
        index = choice.pick(options(invoices), body, answer=False)  # by name, money or reference only
    if index is not None:
        chosen = invoices[index]
        log(contact.organization_id, "sms.invoice_chosen", now, contact=contact, invoice=chosen, channel="sms",
            answer=body, chosen_for=chosen.contact_id)
        return chosen
    tries = int(question.detail.get("tries") or 0) + 1
    if tries < MAX_TRIES and len(body.split()) <= 4:  # a short answer that missed: the list once more
        ask(contact, invoices, question.detail.get("body", ""), question.detail.get("intent", ""), now, transports,
            tries=tries)
        return True
    log(contact.organization_id, "sms.invoice_chosen", now, contact=contact, channel="sms", answer=body,
        chosen_for=None)  # the question is closed: the text is read on its own
    return None
