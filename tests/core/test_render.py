from datetime import date
from decimal import Decimal

import pytest

from duedesk.core.render import (
    OPT_OUT_LINE,
    UNSUBSCRIBE_LINE,
    MessageContext,
    RenderError,
    lang_code,
    limited_content_problems,
    long_date,
    money,
    pick,
    render_email,
    render_sms,
    short_date,
    spoken_number,
    template_problems,
    template_variables,
    voicemail_text,
)

CTX = MessageContext(
    org_name="Riverside Clinic",
    first_name="Ana",
    lang="en",
    amount=Decimal("1234.5"),
    due_date=date(2026, 12, 4),
    pay_link="https://pay.example.org/i/abc",
    callback_number="+12125552368",
)
CTX_ES = MessageContext(
    org_name="Clínica Riverside",
    first_name="Ana",
    lang="es",
    amount=Decimal("1234.5"),
    due_date=date(2026, 12, 4),
)


# --- formatting ---------------------------------------------------------------


def test_money():
    assert money(Decimal("1234.5"), "USD", "en") == "$1,234.50"
    assert money(Decimal("1234.5"), "USD", "es") == "$1,234.50"
    assert money(Decimal("0.1"), "USD", "es-MX") == "$0.10"
    assert money(Decimal("20"), "EUR", "en") == "€20.00"


def test_dates():
    d = date(2026, 12, 4)
    assert long_date(d, "en") == "Friday, December 4"
    assert long_date(d, "es") == "viernes, 4 de diciembre"
    assert short_date(d, "en") == "Dec 4"
    assert short_date(d, "es") == "4 dic"
    assert "." not in short_date(date(2026, 9, 4), "es")


def test_lang_code_falls_back_to_english():
    assert lang_code("es-MX") == "es"
    assert lang_code("ES_us") == "es"
    assert lang_code("fr") == "en"
    assert lang_code("") == "en"


def test_template_variables_are_the_privacy_minimum():
    v = template_variables(CTX)
    assert v == {
        "org": {"name": "Riverside Clinic", "callback_number": "+12125552368"},
        "contact": {"first_name": "Ana"},
        "invoice": {"amount": "$1,234.50", "due_date": "Friday, December 4", "pay_link": CTX.pay_link},
        "promise": {},
    }


# --- SMS ----------------------------------------------------------------------


def test_render_sms_appends_opt_out_and_keeps_org():
    text = render_sms(
        "Hi, {{ org.name }} here: {{ invoice.amount }} is due\n"
        "{{ invoice.due_date }}.   Pay: {{ invoice.pay_link }}",
        CTX,
    )
    assert text == (
        "Hi, Riverside Clinic here: $1,234.50 is due Friday, December 4. "
        "Pay: https://pay.example.org/i/abc Reply STOP to opt out."
    )


def test_render_sms_prefixes_org_when_missing():
    assert (
        render_sms("Hi, {{ invoice.amount }} is due.", CTX)
        == "Riverside Clinic: Hi, $1,234.50 is due. Reply STOP to opt out."
    )


def test_render_sms_opt_out_line_only_once():
    text = render_sms("{{ org.name }}: hi. reply stop to opt out.", CTX)
    assert text.lower().count("reply stop to opt out") == 1
    text = render_sms("{{ org.name }}: hi. Reply STOP to opt out.", CTX)
    assert text == "Riverside Clinic: hi. Reply STOP to opt out."


def test_render_sms_spanish():
    text = render_sms("Hola, vence el {{ invoice.due_date }}.", CTX_ES)
    assert text == f"Clínica Riverside: Hola, vence el viernes, 4 de diciembre. {OPT_OUT_LINE['es']}"


def test_a_text_never_names_the_patient():
    # Whoever holds the phone reads it: the organization, amount, due date and pay link only.
    with pytest.raises(RenderError):
        render_sms("Hi {{ contact.first_name }}, {{ invoice.amount }} is due.", CTX)


def test_sms_is_not_html_escaped():
    ctx = MessageContext(org_name="Smith & Jones <3", first_name="Ana", lang="en")
    assert render_sms("{{ org.name }}: hi", ctx).startswith("Smith & Jones <3: hi")


def test_strict_undefined_raises():
    with pytest.raises(RenderError):
        render_sms("Hi {{ contact.last_name }}", CTX)
    with pytest.raises(RenderError):
        render_sms("Hi {{ patient }}", CTX)
    # promise.date is missing in this context: fail instead of sending a blank
    with pytest.raises(RenderError):
        render_sms("You promised {{ promise.date }}", CTX)


def test_syntax_error_raises_render_error():
    with pytest.raises(RenderError, match="line 1"):
        render_sms("Hi {{ contact.first_name ", CTX)


@pytest.mark.parametrize(
    "src",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__class__ }}",
        "{{ contact.first_name.__class__.__init__.__globals__ }}",
        "{{ 'x' * 100000000 }}",
        "{{ contact.update({'first_name': 'x'}) }}",
        "{{ range(10) }}",
    ],
)
def test_sandbox_blocks_tricks(src):
    with pytest.raises(RenderError):
        render_sms(src, CTX)


def test_render_error_is_a_value_error():
    assert issubclass(RenderError, ValueError)


# --- email ----------------------------------------------------------------------


def test_render_email():
    ctx = MessageContext(
        org_name="Riverside Clinic",
        first_name="<b>Ana</b>",
        lang="en",
        amount=Decimal("50"),
        pay_link="https://pay.example.org/i/abc?x=1&y=2",
    )
    subject, plain, html = render_email(
        "Your {{ org.name }}\nstatement",
        "Hi {{ contact.first_name }},\n\nYou owe {{ invoice.amount }} & change.\nPay at {{ invoice.pay_link }}\n\n\n\nThanks",
        ctx,
    )
    assert subject == "Your Riverside Clinic statement"
    assert plain == (
        "Hi <b>Ana</b>,\n\nYou owe $50.00 & change.\nPay at https://pay.example.org/i/abc?x=1&y=2\n\n"
        "Thanks\n\n" + UNSUBSCRIBE_LINE["en"]
    )
    assert "<b>Ana</b>" not in html and "&lt;b&gt;Ana&lt;/b&gt;" in html
    assert "$50.00 &amp; change." in html
    assert '<a href="https://pay.example.org/i/abc?x=1&amp;y=2"' in html
    assert UNSUBSCRIBE_LINE["en"] in html
    assert html.count('<p style="') == 4


def test_render_email_spanish_unsubscribe_and_no_javascript_links():
    ctx = MessageContext(org_name="Clínica", first_name="Ana", lang="es", pay_link="javascript:alert(1)")
    _, plain, html = render_email("Hola", "Pague en {{ invoice.pay_link }}", ctx)
    assert plain.endswith(UNSUBSCRIBE_LINE["es"])
    assert "<a " not in html
    assert 'lang="es"' in html


# --- voicemail ----------------------------------------------------------------------

FORBIDDEN = ("debt", "balance", "payment", "invoice", "bill", "deuda", "saldo", "pago", "factura")


def test_voicemail_word_for_word():
    text = voicemail_text("Riverside Clinic", "Sam", "+12125552368", "en")
    assert (
        text
        == "Hello, this is Sam from Riverside Clinic. Please call us back at 2 1 2, 5 5 5, 2 3 6 8. Thank you."
    )
    es = voicemail_text("Clínica Riverside", "Sam", "(212) 555-2368", "es")
    assert (
        es
        == "Hola, le habla Sam de Clínica Riverside. Por favor, llámenos al 2 1 2, 5 5 5, 2 3 6 8. Gracias."
    )
    for t in (text, es):
        assert not any(w in t.lower() for w in FORBIDDEN)


def test_voicemail_refuses_names_that_reveal_a_debt():
    assert limited_content_problems("Riverside Billing Office", "Sam")
    assert limited_content_problems("Clinic", "Debt desk")
    assert limited_content_problems("Oficina de Pagos", "Sam")
    assert limited_content_problems("Riverside Clinic", "Sam") == []
    with pytest.raises(ValueError):
        voicemail_text("Riverside Billing", "Sam", "+12125552368", "en")


def test_a_voicemail_needs_a_persons_name_and_a_name_without_a_debt_or_a_specialty():
    with pytest.raises(ValueError, match="person's name"):
        voicemail_text("Riverside Clinic", "", "+12125552368", "en")
    with pytest.raises(ValueError, match="person's name"):
        voicemail_text("Clínica", "  ", "+12125552368", "es")
    with pytest.raises(ValueError, match="'Recovery'.*debt"):
        voicemail_text("Acme Recovery Services", "Dana", "+12125552368", "en")
    with pytest.raises(ValueError, match="'Oncology'.*specialty"):
        voicemail_text("Springfield Oncology", "Dana", "+12125552368", "en")
    with pytest.raises(ValueError, match="'Oncología'"):
        voicemail_text("Centro de Oncología del Valle", "Dana", "+12125552368", "es")


def test_voicemail_needs_callback_number():
    with pytest.raises(ValueError, match="callback number"):
        voicemail_text("Riverside Clinic", "Sam", "", "en")


def test_spoken_number():
    assert spoken_number("+18005550199") == "8 0 0, 5 5 5, 0 1 9 9"
    assert spoken_number("ext 42") == "4 2"


# --- editing help -------------------------------------------------------------------


def test_template_problems_clean():
    assert (
        template_problems("Hi {{ contact.first_name|title }} from {{ org.name }} {{ invoice['amount'] }}")
        == []
    )
    assert template_problems("{% set n = contact.first_name %}{{ n }}") == []


def test_template_problems_syntax():
    (p,) = template_problems("Hi {{ contact.first_name ")
    assert p.startswith("Line 1:")
    (p,) = template_problems("{{ org.name|nosuchfilter }}")
    assert "nosuchfilter" in p


def test_template_problems_unknown_names_and_fields():
    problems = template_problems(
        "{{ patient.ssn }} {{ contact.last_name }} {{ invoice.amount.upper }} {{ contact.diagnosis }} {{ contact.last_name }}"
    )
    assert problems == [
        "Unknown variable 'patient'; use one of: contact, invoice, org, promise.",
        "Unknown field 'contact.last_name'; contact has: first_name.",
        "'invoice.amount.upper' does not exist: 'invoice.amount' is already text.",
        "Unknown field 'contact.diagnosis'; contact has: first_name.",
    ]


def test_template_problems_private_attributes():
    assert template_problems("{{ ''.__class__ }}") == ["'__class__' is not allowed in a template."]


def test_pick():
    templates = {"en": "Hello", "es": "Hola"}
    assert pick(templates, "es") == "Hola"
    assert pick(templates, "es-MX") == "Hola"
    assert pick(templates, "fr") == "Hello"
    assert pick({"en": "Hello", "es": ""}, "es") == "Hello"
    with pytest.raises(KeyError):
        pick({"es": "Hola"}, "fr")


# --- plain templates rendered without Jinja -------------------------------------


def _jinja(src, ctx, roots=None):
    """What Jinja itself renders (the path every template took before plain ones were read directly)."""
    from duedesk.core import render

    variables = template_variables(ctx)
    if roots is not None:
        variables = {k: v for k, v in variables.items() if k in roots}
    return render._compiled(render._TEXT_ENV, src).render(variables)


def _shipped_texts():
    from duedesk import workflows
    from duedesk.core import workflow as wf

    for name in workflows.names():
        for key, entry in wf.parse(workflows.read(name)).templates.items():
            for lang, text in entry.items():
                yield f"{name}:{key}:{lang}", text


@pytest.mark.parametrize("ctx", [CTX, CTX_ES, MessageContext(org_name="A & B <Clinic>", first_name="{{ x }}",
                                                             lang="es-MX", amount=Decimal("0"), pay_link="")])
def test_plain_templates_render_as_jinja_does(ctx):
    from duedesk.core import render

    texts = dict(_shipped_texts())
    assert texts and all(render._plain(render._TEXT_ENV, src) is not None for src in texts.values())
    texts.update({
        "newlines": "Line one\r\n{{ org.name }}\n\n  {{ org.callback_number }}  \n",
        "braces in data": "{ org.name } {{ org.name }}}",
        "empty": "",
        "data only": "Hello",
    })
    for where, src in texts.items():
        for roots in (None, render.TEXT_ROOTS):
            try:
                expected = _jinja(src, ctx, roots)
            except Exception as error:  # noqa: BLE001 - the same refusal either way
                with pytest.raises(RenderError):
                    render._render(render._TEXT_ENV, src, ctx, roots)
                assert type(error).__name__ == "UndefinedError", where
                continue
            assert render._render(render._TEXT_ENV, src, ctx, roots) == expected, where


def test_templates_that_are_not_plain_go_to_jinja():
    from duedesk.core import render

    for src in ("{{ org.name | upper }}", "{% if promise.date %}x{% endif %}", "{{ invoice['amount'] }}",
                "{{ org.items }}", "{{ org.name }", "{{ org }}", "{{ 'x' * 2 }}"):
        assert render._plain(render._TEXT_ENV, src) is None, src
    assert render_sms("{{ org.name | upper }} {{ invoice.amount }}", CTX).startswith("RIVERSIDE CLINIC $1,234.50")
    # A value the message does not have, or a patient's name in a text, is refused as before.
    with pytest.raises(RenderError, match="does not have"):
        render_sms("Due {{ promise.date }}", CTX)
    with pytest.raises(RenderError, match="does not have"):
        render_sms("Hi {{ contact.first_name }}", CTX)
    with pytest.raises(RenderError, match="syntax error"):
        render_sms("{{ org.name }", CTX)
    assert render_email("{{ org.name }}", "Hi {{ contact.first_name }}", CTX)[1].startswith("Hi Ana")


def test_a_text_that_gives_a_keyword_gets_no_opt_out_line():
    from duedesk.core.render import identified_text

    for body in ("Text STOP to end", "Envíe ALTO", "Reply START again", "UNSUBSCRIBE here", "stop? STOP."):
        assert identified_text(body, "Clinic", "en", opt_out=True) == f"Clinic: {body}"
    # The words inside others are no instruction ("STOPPED", "UNSTOPPABLE", lower case).
    for body in ("STOPPED", "UNSTOPPABLE ALTOS", "stop", "RESTARTED"):
        assert identified_text(body, "Clinic", "en", opt_out=True) == f"Clinic: {body} Reply STOP to opt out."
