"""A person whose pages are in Spanish reads Spanish in what the code writes too: form errors, flash messages,
the timeline's events and sentences, choices and labels, and every date in Spanish order ("7 dic 2026", never
"Dec 7"); amounts in the office's currency. The same pages in English are unchanged."""

from __future__ import annotations

import pytest
from django.utils import translation

from duedesk.records.models import Membership

pytestmark = pytest.mark.django_db


def in_spanish(user):
    Membership.objects.filter(user=user).update(language="es")


def test_a_payment_and_an_invoice_edit_in_spanish(login, staff, case, clock):
    from duedesk.records.timeline import log

    in_spanish(staff)
    client, invoice = login(staff), case["invoice"]
    log(invoice.organization_id, "call.completed", clock(), contact=case["contact"], invoice=invoice, channel="call",
        outcome="no_answer", answered_by="machine_end_beep")
    page = client.post(f"/invoices/{invoice.pk}/edit/", {f"inv{invoice.pk}-due_date": "2027-01-15",
                                                         f"inv{invoice.pk}-amount_due": "0"}).content.decode()
    assert "Importe: debe ser mayor que cero." in page  # the form's error
    response = client.post(f"/invoices/{invoice.pk}/paid/", {
        f"pay{invoice.pk}-amount": "50.00", f"pay{invoice.pk}-paid_on": "2026-12-07",
        f"pay{invoice.pk}-method": "check", f"pay{invoice.pk}-reference": "1042"}, follow=True)
    page = response.content.decode()
    assert f"Pago registrado en {invoice.external_ref}; saldo $250.00." in page  # the flash message
    assert "Pago registrado" in page and "$50.00 pagados · saldo $250.00" in page  # the timeline
    assert '<span class="tag">Llamada</span>' in page and '<span class="tag">call</span>' not in page  # the channel
    assert "Llamada completada" in page and "no contestó" in page  # the event and how the call ended
    assert "contestó: un contestador (tras el pitido)" in page and "machine end" not in page  # who picked up
    assert f'<p class="ev-actor">por {staff.username}</p>' in page and "staff:" not in page  # who, by name
    assert "7 dic 2026, 10:00 a.m. EST" in page and "Dec 7" not in page  # the timeline's and the steps' times
    assert "de $300.00 · vence el 1 dic 2026" in page  # the invoice's due day
    assert "Cheque" in page  # how it was paid

    page = client.post(f"/invoices/{invoice.pk}/edit/", {f"inv{invoice.pk}-due_date": "2027-01-15",
                                                         f"inv{invoice.pk}-amount_due": "300.00"},
                       follow=True).content.decode()
    assert f"{invoice.external_ref} guardada: vence el 15 ene 2027, saldo $250.00. Recordatorios replanificados." in page
    assert "vencimiento 1 dic 2026 → 15 ene 2027" in page


def test_a_handoff_in_spanish(login, staff, case, clock):
    from duedesk.engine import actions
    from duedesk.records.timeline import log

    in_spanish(staff)
    client, handoff = login(staff), case["handoff"]
    page = client.get(f"/inbox/{handoff.pk}/").content.decode()
    assert "Abierto el 7 dic 2026, 10:00 a.m. EST" in page
    assert "Número de cuotas" in page and "Acordar un plan de pagos" in page and "Mensual" in page
    assert "Motivo indicado" in page  # what the call collected
    page = client.post(f"/inbox/{handoff.pk}/resolve/", {
        "outcome": "payment_plan", "plan-date-0": "2027-01-15", "plan-amount-0": "250.00",
        "plan-date-1": "2027-02-15", "plan-amount-1": "25.00"}).content.decode()
    assert "Las cuotas suman $275.00: faltan $25.00 para el saldo de $300.00." in page
    page = client.post(f"/inbox/{handoff.pk}/note/", {"text": "Llamó la hija"}, follow=True).content.decode()
    assert "Nota añadida." in page
    log(handoff.organization_id, "promise.recorded", clock(), contact=handoff.contact, invoice=handoff.invoice,
        date="2026-12-20", amount="100")
    page = client.get(f"/contacts/{handoff.contact_id}/").content.decode()
    assert "Pagará el 20 dic 2026 ($100.00)" in page
    actions.opt_out(case["contact"], ("sms",), clock())
    page = client.post(f"/inbox/{handoff.pk}/reply/", {"body": "Hola Ana"}, follow=True).content.decode()
    assert "No enviado: se dio de baja de los SMS." in page  # the gate's rule in words, not opted_out
    page = client.post(f"/inbox/{handoff.pk}/resolve/", {"outcome": "pause", "until": "2027-01-10"},
                       follow=True).content.decode()
    assert "Resuelto: Pausar hasta una fecha." in page
    assert "Recordatorios en pausa" in page and "hasta el 10 ene 2027" in page  # the day it was set to
    inbox = client.get("/inbox/?status=all").content.decode()
    assert "7 dic, 10:00 a.m. EST" in inbox


def test_settings_in_spanish(login, owner):
    in_spanish(owner)
    client = login(owner)
    page = client.get("/settings/").content.decode()
    assert "Días de envío" in page and "Lunes" in page and "Hora del Este (Nueva York)" in page
    assert "Habituales en EE. UU." in page and "Propietario" in page and "Simulado" in page
    page = client.post("/settings/twilio/", {"twilio_account_sid": "XX123", "twilio_auth_token_env": "",
                                             "sms_from": "", "messaging_service_sid": "", "voice_caller_id": "",
                                             "callback_number": "", "voicemail_name": ""}).content.decode()
    assert "SID de la cuenta" in page and "Un SID de cuenta es AC seguido de 32 letras y cifras." in page
    assert "Falta el SID de la cuenta" in page and "se envía con cada llamada; no hay que pegar nada" in page
    assert "A message comes in" in page  # what Twilio's own (English) console calls the field
    page = client.post("/settings/twilio/test-call/", {"to": "646 555 0123"}, follow=True).content.decode()
    assert "Llamada de prueba a +16465550123 hecha en la línea simulada" in page
    assert "falta el SID de la cuenta" in page and "no hay identificador de llamada" in page
    assert "no hay número remitente" not in page.split("línea simulada")[1].split("</")[0]  # calls need no sender


def test_the_same_pages_in_english_are_unchanged(login, staff, case):
    client, invoice = login(staff), case["invoice"]
    response = client.post(f"/invoices/{invoice.pk}/paid/", {
        f"pay{invoice.pk}-amount": "50.00", f"pay{invoice.pk}-paid_on": "2026-12-07",
        f"pay{invoice.pk}-method": "check", f"pay{invoice.pk}-reference": "1042"}, follow=True)
    page = response.content.decode()
    assert f"Payment recorded on {invoice.external_ref}; balance $250.00." in page
    assert "$50.00 paid · balance $250.00" in page and "Dec 7, 2026 10:00 AM EST" in page
    assert "of $300.00 · due Dec 1, 2026" in page and "Check" in page


def test_dates_in_the_pages_language():
    from datetime import UTC, date, datetime

    from django.utils import timezone, translation

    from duedesk.web.templatetags.dates import day, when, when_short

    moment = datetime(2026, 9, 6, 19, 5, tzinfo=UTC)
    with timezone.override("America/Los_Angeles"):
        with translation.override("es"):
            assert (when(moment), when_short(moment), day(date(2027, 1, 15))) == (
                "6 sep 2026, 12:05 p.m. PDT", "6 sep, 12:05 p.m. PDT", "15 ene 2027")
        with translation.override("en"):
            assert (when(moment), when_short(moment), day(date(2027, 1, 15))) == (
                "Sep 6, 2026 12:05 PM PDT", "Sep 6, 12:05 PM PDT", "Jan 15, 2027")
    assert when(None) == day("") == ""


def test_the_overview_charts_in_spanish(login, staff, case):
    in_spanish(staff)
    page = login(staff).get("/").content.decode()
    assert ">al día</text>" in page and ">más de 90</text>" in page and "al día: $0.00 en 0 facturas" in page
    assert ">Con SMS</text>" in page and ">Con promesa</text>" in page and ">Pagada</text>" in page


def test_the_overview_names_the_promises_states_in_spanish(login, staff, case, clock):
    from datetime import date

    from duedesk.engine import actions

    actions.record_promise(case["invoice"], date(2026, 12, 20), clock(), channel="sms")
    in_spanish(staff)
    page = login(staff).get("/").content.decode()
    assert "<title>Pendiente: 1</title>" in page and "<title>pending: 1</title>" not in page


def test_the_overview_counts_invoices_in_whole_numbers(login, staff, case):
    """PostgreSQL sums the tallies' counts as numeric: the chart's plural is given a whole number, not a Decimal
    (Django warns, and will refuse)."""
    import warnings

    in_spanish(staff)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = login(staff).get("/").content.decode()
    assert "1–30: $300.00 en 1 factura</title>" in page
    assert not [w for w in caught if "Plural value" in str(w.message)]


def test_the_workflow_preview_gives_the_patients_time_in_spanish_order():
    from datetime import UTC, datetime

    from django.utils import translation

    from duedesk.web.preview import local_time

    moment = datetime(2027, 3, 8, 17, 0, tzinfo=UTC)
    with translation.override("es"):
        assert local_time(moment, "America/Los_Angeles") == "lun 8 mar, 9:00 a.m. PST"
    with translation.override("en"):
        assert local_time(moment, "America/Los_Angeles") == "Mon, Mar 8, 9:00 AM PST"


def test_webhooks_and_the_account_page_in_spanish(login, owner):
    in_spanish(owner)
    client = login(owner)
    page = client.get("/settings/webhooks/").content.decode()
    assert "payment.recorded — Se registró un pago" in page  # the type's name stays: the receiver reads it
    assert "Webhook firmado" in page and "URL del endpoint" in page
    page = client.post("/settings/webhooks/", {"url": "https://", "kind": "standard"}).content.decode()
    assert "Introduzca una URL válida." in page  # Django's own Spanish
    assert "· Propietario</p>" in client.get("/account/").content.decode()


def test_what_the_engine_wrote_reads_in_spanish(login, staff, case, clock):
    """The timeline's and the inbox's sentences the engine stored in English (so a row reads on its own) are said
    in the viewer's language, with their days and block names as the page says them; English pages and the
    stored rows are unchanged."""
    from decimal import Decimal

    from duedesk.engine import actions
    from duedesk.records.models import Handoff
    from duedesk.records.timeline import log

    contact, invoice = case["contact"], case["invoice"]
    now = clock()
    log(invoice.organization_id, "step.skipped", now, contact=contact, invoice=invoice, step="heads_up",
        reason="2026-11-28 has passed")
    log(invoice.organization_id, "enrollment.done", now, contact=contact, invoice=invoice, reason="completed")
    log(invoice.organization_id, "enrollment.exited", now, contact=contact, invoice=invoice, reason="outreach_off")
    log(invoice.organization_id, "contact.unreachable", now, contact=contact, channel="sms", reason="not_mobile")
    actions.pause_invoice(invoice, None, now, actor="patient", reason="says it was paid")
    actions.record_payment(invoice, Decimal("350.00"), now, actor="staff:dana")
    overpaid = Handoff.objects.get(reason="overpaid")
    assert overpaid.summary == "Paid $350.00 with $300.00 owed: $50.00 to refund or apply"  # as stored

    in_spanish(staff)
    client = login(staff)
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "el 28 nov 2026 ya pasó · “Heads up”" in page and "has passed" not in page
    assert "todos los pasos hechos" in page and ">completed<" not in page
    assert "el contacto desactivó el contacto" not in page and "outreach_off" not in page
    assert "no es un número móvil" in page and "not_mobile" not in page
    assert "Pagó $350.00 con $300.00 pendientes: $50.00 para devolver o aplicar" in page
    assert "Paid $350.00 with" not in page
    inbox = client.get("/inbox/").content.decode()
    assert "Pagó $350.00 con $300.00 pendientes" in inbox
    detail = client.get(f"/inbox/{overpaid.pk}/").content.decode()
    assert "<p>Pagó $350.00 con $300.00 pendientes: $50.00 para devolver o aplicar</p>" in detail
    assert "<dt>Importe pagado</dt><dd>350.00</dd>" in detail and "<dt>Saldo anterior</dt><dd>300.00</dd>" in detail
    actions.record_payment(invoice, Decimal("1.00"), now, actor="stripe")
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "<td>Stripe</td>" in page and "<td>stripe</td>" not in page  # who recorded it, in words

    Membership.objects.filter(user=staff).update(language="en")
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "2026-11-28 has passed" not in page and "Nov 28, 2026 has passed · “Heads up”" in page
    assert "every step done" in page and "Paid $350.00 with $300.00 owed: $50.00 to refund or apply" in page


def test_a_handoff_without_a_summary_gives_its_reason_in_spanish(login, staff, case, clock):
    from duedesk.engine import actions

    handoff = actions.open_handoff(case["contact"], "no_response", clock(), invoice=case["invoice"])
    in_spanish(staff)
    page = login(staff).get(f"/inbox/{handoff.pk}/").content.decode()
    assert "<p>Sin respuesta</p>" in page


def test_the_block_editor_offers_its_choices_in_spanish(login, owner):
    from duedesk import workflows
    from duedesk.web import block_forms, blocks

    in_spanish(owner)
    data = block_forms.data_for(blocks.from_yaml(workflows.read("default")))
    data.update(op="add", add_kind="notify")
    added = login(owner).post("/workflows/payment-reminders/", data)
    page = added.content.decode()
    assert "No se pudo enviar ni llamar" in page and "Could not be sent or placed" not in page  # what a block ended with
    assert ">Último aviso enviado</option>" in page and ">Final notice sent<" not in page  # the notify block's notice
    assert ">Verificar el pago</option>" in page or ">Dificultades económicas</option>" in page  # a handoff's reason
    from tests.web.test_workflow_blocks import NOTIFYING

    data = block_forms.data_for(blocks.from_yaml(NOTIFYING.replace("notify: collections", "notify: final_notice")))
    data.update(due="2027-03-10", language="en", start="2027-02-20", tz="America/Chicago")
    preview = login(owner).post("/workflows/payment-reminders/preview/", data, HTTP_HX_REQUEST="true")
    assert "Avisar a otros sistemas: Último aviso enviado" in preview.content.decode()
    listed = login(owner).get("/workflows/").content.decode()
    assert "Recordatorios de pago" in listed and "Recordatorios del alquiler" in listed


def test_a_spanish_page_leaves_the_thread_in_the_language_it_had(login, staff, case):
    """The pages' language is the request's: after a Spanish page, the thread that served it (the next request,
    a command, the worker, a test) speaks what it spoke before."""
    in_spanish(staff)
    client = login(staff)
    assert translation.get_language() == "en-us"
    assert "Abierto el 7 dic 2026" in client.get(f"/inbox/{case['handoff'].pk}/").content.decode()
    assert translation.get_language() == "en-us"
    assert "Ana Reyes" in b"".join(client.get("/inbox/export.csv").streaming_content).decode()
    assert translation.get_language() == "en-us"
    with translation.override("es"):  # a thread already in Spanish gets Spanish back after an English page
        Membership.objects.filter(user=staff).update(language="en")
        assert "Opened Dec 7, 2026" in client.get(f"/inbox/{case['handoff'].pk}/").content.decode()
        assert translation.get_language() == "es"


def test_a_streamed_response_is_written_in_the_requests_language_after_the_view_returned(rf):
    """A streamed file (a CSV export) is written row by row after the middleware returned: each row in the
    language of the request, and the thread's own language between rows and after."""
    from django.http import StreamingHttpResponse

    from duedesk.web.access import RequestLanguage

    def view(request):
        translation.activate("es")  # as the staff member's language does
        return StreamingHttpResponse(translation.pgettext("state", "Dispute") for _ in range(2))

    response = RequestLanguage(view)(rf.get("/inbox/export.csv"))
    assert translation.get_language() == "en-us"
    rows = iter(response.streaming_content)
    assert next(rows) == b"Disputa"
    assert translation.get_language() == "en-us"
    assert b"".join(rows) == b"Disputa"
    assert translation.get_language() == "en-us"


def test_the_consent_history_in_spanish(login, staff, case, clock):
    """A line's basis, where each change came from, its channels and its type in words, never their codes."""
    from datetime import date

    from duedesk.engine import actions
    from duedesk.records.models import Line

    contact, now = case["contact"], clock()
    actions.give_consent(contact, now, basis="express", source="staff", evidence="signed form", actor="staff:dana",
                         kinds=("phone",), given_on=date(2026, 12, 1))
    actions.opt_out(contact, ("sms",), now, source="sms keyword")
    actions.mark_unreachable(contact, "call", "fax", now)
    Line.objects.filter(organization_id=contact.organization_id, kind="phone").update(line_type="landline")
    in_spanish(staff)
    page = login(staff).get(f"/contacts/{contact.pk}/consent/history/").content.decode()
    assert "<b>consentimiento expreso</b>" in page and "de un miembro del personal" in page
    assert "dado el 1 dic 2026" in page and "consentimiento expreso, dado el 1 dic 2026: signed form" in page
    assert "Tipo de línea: <b>fija</b>" in page or "<b>fija</b>" in page
    assert "<td>SMS</td><td>una palabra clave en un SMS</td>" in page
    assert "<td>Llamadas</td><td>una respuesta</td>" in page and "<td>contestó un fax</td>" in page
    for code in ("express", "provided_number", "sms keyword", "landline", ">sms<", ">call<", "2026-12-01"):
        assert code not in page.split("<main")[1], code
