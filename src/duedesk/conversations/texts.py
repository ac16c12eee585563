"""A text from a patient. Keywords first (STOP, START, HELP), then the understanding of anything else:
a promise is recorded and confirmed, disputes, hardship, plans and requests for a person go to a
person with the thread, questions are answered from the records."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery

from duedesk.channels.paylinks import pay_link_for
from duedesk.conversations import choosing, identity
from duedesk.conversations.keywords import callback_number, keyword
from duedesk.core import render, timing, vocabulary
from duedesk.engine import actions, definitions
from duedesk.engine.actions.holds import CONTACT_HOLDS, HOLD_FOR_INTENT, place_legal_hold, set_contact_hours
from duedesk.engine.actions.lines import stop as stop_line
from duedesk.engine.actions.messages import record_inbound_text
from duedesk.engine.actions.sends import send_text_now
from duedesk.engine.models import Enrollment
from duedesk.records import timeline
from duedesk.records.models import Contact, Invoice, Message, Organization
from duedesk.records.prepared import Prepared
from duedesk.records.timeline import log

REPLIES = {
    "stop": {"en": "{org}: You are unsubscribed and will not receive more automated texts or calls. "
                   "Reply START to resubscribe.",
             "es": "{org}: Se ha dado de baja y no recibirá más mensajes ni llamadas automáticas. "
                   "Responda START para volver a suscribirse."},
    "start": {"en": "{org}: You are subscribed again. Reply STOP to opt out.",
              "es": "{org}: Se ha suscrito de nuevo. Responda ALTO para cancelar."},
    "help": {"en": "{org} billing office. Call us at {callback}. Reply STOP to opt out.",
             "es": "Oficina de {org}. Llámenos al {callback}. Responda ALTO para cancelar."},
    "promise": {"en": "{org}: Thank you! We've noted that you plan to pay on {date}. We'll send a reminder that "
                      "morning.",
                "es": "{org}: ¡Gracias! Anotamos que planea pagar el {date}. Le enviaremos un recordatorio esa "
                      "mañana."},
    "ask_day": {"en": "{org}: Thank you. What day can you pay? For example: Friday, or the 15th.",
                "es": "{org}: Gracias. ¿Qué día puede pagar? Por ejemplo: el viernes, o el día 15."},
    "handoff": {"en": "{org}: Thank you for letting us know. A member of our billing team will contact you.",
                "es": "{org}: Gracias por avisarnos. Una persona de nuestro equipo de facturación le contactará."},
    "already_paid": {"en": "{org}: Thank you! We'll check our records and pause reminders in the meantime.",
                     "es": "{org}: ¡Gracias! Revisaremos nuestros registros y pausaremos los recordatorios."},
    "wrong_person": {"en": "{org}: Sorry for the trouble. We'll update our records.",
                     "es": "{org}: Disculpe la molestia. Actualizaremos nuestros registros."},
    "pay_now": {"en": "{org}: You can pay your balance of {amount} here: {link}",
                "es": "{org}: Puede pagar su saldo de {amount} aquí: {link}"},
    "legal_stop": {"en": "{org}: Thank you for letting us know. We have stopped automated messages about this bill; "
                         "a member of our billing team will review it.",
                   "es": "{org}: Gracias por avisarnos. Detuvimos los mensajes automáticos sobre esta cuenta; "
                         "una persona de nuestro equipo de facturación lo revisará."},
    "cease": {"en": "{org}: We received your request and will stop contacting you. Our billing team will "
                    "review it.",
              "es": "{org}: Recibimos su solicitud y dejaremos de contactarle. Nuestro equipo de facturación "
                    "la revisará."},
    "calls_stopped": {"en": "{org}: We will not call you about your bill; we will only text. Reply STOP to end "
                            "texts too.",
                      "es": "{org}: No le llamaremos sobre su cuenta; solo le enviaremos mensajes. Responda ALTO "
                            "para dejar de recibirlos."},
    "texts_stopped": {"en": "{org}: We will not text you about your bill any more; we may still call.",
                      "es": "{org}: Ya no le enviaremos mensajes sobre su cuenta; podríamos llamarle."},
    "hours_noted": {"en": "{org}: Thank you. We noted when to reach you and will keep to it.",
                    "es": "{org}: Gracias. Anotamos cuándo contactarle y lo respetaremos."},
    "pay_link_only": {"en": "{org}: You can pay here: {link}",
                      "es": "{org}: Puede pagar aquí: {link}"},
    "amount": {"en": "{org}: Your balance is {amount}, due {due}. Pay here: {link}",
               "es": "{org}: Su saldo es {amount}, con vencimiento el {due}. Pague aquí: {link}"},
}
HANDOFF_INTENTS = ("dispute", "hardship", "payment_plan", "request_human")


def receive_text(org: Organization, sender: str, to: str, body: str, now: datetime, transports,
                 provider_id: str = "") -> Message | None:
    """Store the text and act on it in one transaction. The same provider id twice is handled once: the
    stored text carries a unique key on (organization, provider id), so a duplicate delivered at the same
    moment waits on the first one's insert and then finds it (None), while a text whose handling failed is
    not kept at all, so the provider's retry acts on it. Control characters (NUL and the like, which no
    phone means and PostgreSQL refuses) are taken out before anything is stored."""
    sender, to, body = clean(sender), clean(to), clean(body)
    word = keyword(body)
    try:
        with transaction.atomic(), timeline.told_once():  # the CRM outbox looks once, not per event
            contact = next(iter(_CONTACT_BY_PHONE(org.pk, sender)), None)
            if contact is not None:
                contact.organization = org  # found by it: not read again
            invoice = _current_invoice(contact) if contact else None
            # HELP changes nothing about the patient: its answer need not wait for the disk (records/commits.py).
            message = record_inbound_text(org, contact, invoice, sender=sender, to=to, body=body,
                                          provider_id=provider_id, now=now, durable=word != "help")
            if contact is not None:
                _act(contact, invoice, body, now, transports, word)
    except IntegrityError:
        if provider_id and Message.objects.filter(organization=org, provider_id=provider_id,
                                                  direction="in").exists():
            return None  # handled by the delivery that got there first
        raise
    return message


def clean(text: str) -> str:
    """The text without control characters (tabs and line breaks stay)."""
    return _CONTROL.sub("", text or "")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _act(contact: Contact, invoice: Invoice | None, body: str, now: datetime, transports, word: str | None) -> None:
    if word == "stop":
        if stop_line(contact, ("all",), now, source="sms keyword", evidence=body):  # one confirmation per opt-out
            _reply(contact, invoice, "stop", now, transports)
    elif word == "start" and (body.strip().lower() != "yes" or contact.opted_out):
        actions.opt_in(contact, tuple(contact.opted_out) or ("all",), now, source="sms keyword")
        _reply(contact, invoice, "start", now, transports)
    elif word == "help":
        _reply(contact, invoice, "help", now, transports)
    else:
        # A text from the number is consent to be answered about the bill (never undoes a revocation).
        actions.give_consent(contact, now, basis="inbound_text", source="inbound text", evidence=body,
                             actor="patient", kinds=("phone",), override_revoked=False)
        converse(contact, invoice, body, now, transports)


def _invoice_a_text_is_about(contact_id: int):
    live_since = (Enrollment.objects.filter(invoice=OuterRef("pk"), contact_id=contact_id,
                                            status__in=Enrollment.LIVE)
                  .order_by("-started_at").values("started_at")[:1])
    return (Invoice.objects.filter(contact_id=contact_id).annotate(live_since=Subquery(live_since))
            .filter(Q(live_since__isnull=False) | ~Q(status__in=("paid", "written_off")))
            .order_by(F("live_since").desc(nulls_last=True), "due_date", "pk")[:1])


# Asked by every inbound text: their SQL is built once per process (records/prepared.py).
_CONTACT_BY_PHONE = Prepared(
    lambda org_id, phone: Contact.objects.filter(organization_id=org_id, phone=phone).order_by("pk")[:1])
_CURRENT_INVOICE = Prepared(_invoice_a_text_is_about)


def _current_invoice(contact: Contact) -> Invoice | None:
    """The invoice a text or call from the contact is about: the one with the most recently started live
    enrollment, else the open one due first. One query (an inbound text's webhook has no room for two)."""
    invoice = next(iter(_CURRENT_INVOICE(contact.pk)), None)
    if invoice is not None:
        invoice.contact = contact
    return invoice


def _reply(contact: Contact, invoice: Invoice | None, key: str, now: datetime, transports, **values) -> None:
    lang = render.lang_code(contact.language)  # es-MX, es_US... answer in Spanish
    org = contact.organization
    text = REPLIES[key][lang].format(org=org.name, callback=callback_number(org), **values)
    send_text_now(contact, text, now, transports, invoice=invoice, purpose="reply")


def thread(contact: Contact, limit: int = 20) -> list[dict]:
    messages = list(Message.objects.filter(contact=contact, channel="sms").order_by("-created_at", "-pk")[:limit])
    return [{"speaker": "patient" if m.direction == "in" else "assistant", "text": m.body, "intent": None}
            for m in reversed(messages)]


def converse(contact: Contact, invoice: Invoice | None, body: str, now: datetime, transports, *,
             chosen: bool = False) -> str:
    """Anything that isn't a keyword goes through the understanding. `chosen`: the invoice was just picked from
    our list (conversations/choosing.py) and `body` is the text first written about it."""
    from duedesk.core.nlu import understand

    if not chosen and len(body.split()) <= 12 and (question := choosing.pending(contact, now)) is not None:
        picked = choosing.answer(contact, question, body, now, transports)
        if picked is True:
            return "which_invoice"
        if picked is not None:
            return converse(picked.contact, picked, question.detail.get("body", ""), now, transports, chosen=True)
    if not chosen and invoice is not None and _identity_answer(contact, invoice, body, now, transports):
        return "identity"
    heard = understand(body, now, contact.tz(), contact.language or None)
    intent = heard.intent
    log(contact.organization_id, "sms.understood", now, contact=contact, invoice=invoice, channel="sms",
        intent=intent, date=heard.date, amount=heard.amount)
    lang = render.lang_code(contact.language)
    if intent in HOLD_FOR_INTENT:
        hold = HOLD_FOR_INTENT[intent]
        # "stop contacting me" also withdraws consent for the number (place_legal_hold does it)
        place_legal_hold(contact, hold, now, invoice=invoice, source="sms reply", said=body,
                         transcript=thread(contact))
        _reply(contact, invoice, "cease" if hold in CONTACT_HOLDS else "legal_stop", now, transports)
        return intent
    if intent == "contact_preference":
        _take_preference(contact, invoice, heard.preference, now, transports)
        return intent
    if intent == "opt_out":
        if stop_line(contact, ("all",), now, source="sms reply", evidence=body):
            _reply(contact, invoice, "stop", now, transports)
        return intent
    if not chosen and intent in choosing.INTENTS and (intent != "promise_to_pay" or heard.date):
        which = _which_invoice(contact, invoice, body, intent, now, transports)
        if which is None:
            return "which_invoice"  # asked; the answer acts on this text
        contact, invoice = which.contact, which
    if invoice is None:
        actions.open_handoff(contact, "reply_needs_reading", now, summary=body, transcript=thread(contact))
        return intent
    window_days = contact.organization.promise_window_days
    today = timing.local_date(now, contact.tz())
    if intent == "promise_to_pay" and heard.date and 0 <= (heard.date - today).days <= window_days:
        actions.record_promise(invoice, heard.date, now, channel="sms", amount=heard.amount)
        _reply(contact, invoice, "promise", now, transports, date=render.long_date(heard.date, lang))
    elif intent == "promise_to_pay" and heard.date is None:
        _reply(contact, invoice, "ask_day", now, transports)
    elif intent in HANDOFF_INTENTS or intent == "promise_to_pay":
        reason = intent if intent in HANDOFF_INTENTS else "payment_plan"  # a date past the promise window
        actions.open_handoff(contact, reason, now, invoice=invoice, summary=body, transcript=thread(contact),
                             collected={"stated_reason": body, "amount_offered": heard.amount,
                                        "promised_date": heard.date})
        if intent == "dispute":
            actions.set_invoice_status(invoice, "disputed", now, actor="patient", note=body)
        elif intent == "hardship":
            actions.set_invoice_status(invoice, "hardship", now, actor="patient", note=body)
        else:
            # The workflow decides what happens next (the default hands off and ends outreach).
            for enrollment in Enrollment.objects.filter(invoice=invoice, status__in=Enrollment.LIVE):
                actions.route_outcome(enrollment, reason, now)
        _reply(contact, invoice, "handoff", now, transports)
    elif intent == "already_paid":
        until_day = timing.add_business_days(today, 3)
        until = datetime.combine(until_day, time(0), tzinfo=ZoneInfo(contact.tz()))
        actions.pause_invoice(invoice, until, now, actor="patient", reason=vocabulary.sentence("says_paid"))
        actions.open_handoff(contact, "verify_payment", now, invoice=invoice, summary=body, transcript=thread(contact))
        _reply(contact, invoice, "already_paid", now, transports)
    elif intent == "pay_now" or (intent == "question" and heard.question_topic in ("amount", "due_date")):
        topic = "pay_now" if intent == "pay_now" else heard.question_topic
        if identity.verified(contact, now):
            _disclose(contact, invoice, topic, now, transports)
        elif topic == "pay_now":  # the link alone says nothing about the bill
            _reply(contact, invoice, "pay_link_only", now, transports, link=pay_link_for(invoice, now))
        else:
            _ask_identity(contact, invoice, topic, now, transports)
    elif intent == "wrong_person":
        actions.mark_unreachable(contact, "sms", "wrong_number", now)
        actions.mark_unreachable(contact, "call", "wrong_number", now)
        _reply(contact, invoice, "wrong_person", now, transports)
    else:
        _unclear(contact, invoice, body, now)
    return intent


def _which_invoice(contact: Contact, invoice: Invoice | None, body: str, intent: str, now: datetime,
                   transports) -> Invoice | None:
    """The invoice an act on the bill is about when the number has several open ones: the one the text names
    (a name, money, a reference), else None after asking which. One open invoice on the number is that one,
    even when it is another contact's (the child's bill texted about from the parent's first-listed row)."""
    invoices = choosing.open_invoices(contact, contact.phone)
    if len(invoices) <= 1:
        return invoices[0] if invoices else invoice
    index = choosing.choice.pick(choosing.options(invoices), body, answer=False)
    if index is not None:
        return invoices[index]
    choosing.ask(contact, invoices, body, intent, now, transports)
    return None


def _disclose(contact: Contact, invoice: Invoice, topic: str, now: datetime, transports) -> None:
    lang = render.lang_code(contact.language)
    _reply(contact, invoice, "pay_now" if topic == "pay_now" else "amount", now, transports,
           amount=render.money(invoice.balance, invoice.currency, lang), link=pay_link_for(invoice, now),
           due=render.long_date(invoice.due_date, lang))


def _ask_identity(contact: Contact, invoice: Invoice, topic: str, now: datetime, transports, *,
                  lead: dict | None = None) -> None:
    """The balance and the due date only after a match: ask for the date of birth (or ZIP) first."""
    how = identity.ask(contact, invoice, topic, now)
    lang = render.lang_code(contact.language)
    org = contact.organization
    if how is None:  # nothing on file to check against: a person answers
        text = identity.FAILED[lang].format(org=org.name, callback=org.callback_number)
    else:
        text = identity.QUESTIONS[how][lang].format(org=org.name, example=identity.example(contact, lang))
        if lead:
            text = lead[lang].format(org=org.name) + " " + text.split(": ", 1)[1]
    send_text_now(contact, text, now, transports, invoice=invoice, purpose="reply")


def _identity_answer(contact: Contact, invoice: Invoice, body: str, now: datetime, transports) -> bool:
    """A reply to our identity question: answer what they asked once it matches. False: not an answer."""
    question = identity.pending(contact, now)
    if question is None:
        return False
    match = identity.check(contact, question, body, now)
    if match is None:
        return False
    topic = question.detail.get("topic", "amount")
    if match:
        _disclose(contact, invoice, topic, now, transports)
    elif identity.tries(contact, now) >= identity.MAX_TRIES:
        lang = render.lang_code(contact.language)
        org = contact.organization
        actions.open_handoff(contact, "identity_failed", now, invoice=invoice, summary=body,
                             transcript=thread(contact))
        send_text_now(contact, identity.FAILED[lang].format(org=org.name, callback=org.callback_number), now,
                      transports, invoice=invoice, purpose="reply")
    else:
        _ask_identity(contact, invoice, topic, now, transports, lead=identity.WRONG)
    return True


def _unclear(contact: Contact, invoice: Invoice, body: str, now: datetime) -> None:
    """The workflow's on_reply route for "unclear" decides; a person reads the thread when it leads to a
    handoff, or when no live enrollment has a route for it."""
    routed = handed = False
    for enrollment in Enrollment.objects.filter(invoice=invoice, status__in=Enrollment.LIVE):
        definition = definitions.parsed(enrollment.workflow)
        target = definition.on_reply.get("unclear")
        if target and actions.route_outcome(enrollment, "unclear", now):
            routed = True
            handed = handed or (target != "end" and definition.step(target).kind == "handoff")
    if not routed or handed:
        actions.open_handoff(contact, "reply_needs_reading", now, invoice=invoice, summary=body,
                             transcript=thread(contact))


def _take_preference(contact: Contact, invoice: Invoice | None, pref: dict, now: datetime, transports) -> None:
    """"Stop calling me, text is fine" stops one channel; "not before 10" narrows the hours."""
    if pref.get("stop"):
        actions.opt_out(contact, tuple(pref["stop"]), now, source="sms reply")
        _reply(contact, invoice, "calls_stopped" if pref["stop"] == ["call"] else "texts_stopped", now, transports)
        return
    set_contact_hours(contact, pref["channels"], pref, now, source="sms reply")
    _reply(contact, invoice, "hours_noted", now, transports)
