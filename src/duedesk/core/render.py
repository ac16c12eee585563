"""Message templates staff can edit, locales, dates and money.

Templates run in Jinja's immutable sandbox with StrictUndefined: a template can
read only the privacy-minimum variables of `template_variables` and a missing
value is an error, never a blank in a message a patient receives. Rendering
problems raise RenderError (a ValueError) with a sentence staff can act on.

Only English and Spanish are supported; any other language falls back to English
("es-MX", "es-419", "es_US" count as Spanish: core/language).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

import phonenumbers
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import escape

from duedesk.core import content
from duedesk.core import language as languages

OPT_OUT_LINE = {"en": "Reply STOP to opt out.", "es": "Responda ALTO para cancelar."}
UNSUBSCRIBE_LINE = {
    "en": "To stop these emails, reply with the word UNSUBSCRIBE.",
    "es": "Para dejar de recibir estos correos, responda con la palabra CANCELAR.",
}
# Parsed once: babel would otherwise look the locale up again for every amount and date.
_LOCALES = {"en": Locale.parse("en_US"), "es": Locale.parse("es_US")}
_LONG_DATE = {"en": "EEEE, MMMM d", "es": "EEEE, d 'de' MMMM"}
_SHORT_DATE = {"en": "MMM d", "es": "d MMM"}

# The variables a template may use: the privacy minimum, nothing else.
ALLOWED_VARIABLES: dict[str, frozenset[str]] = {
    "org": frozenset({"name", "callback_number"}),
    "contact": frozenset({"first_name"}),
    "invoice": frozenset({"amount", "due_date", "pay_link"}),
    "promise": frozenset({"date"}),
}


class RenderError(ValueError):
    """A template could not be rendered; the message says why in plain words."""


class _Sandbox(ImmutableSandboxedEnvironment):
    # Stop a template from building huge strings ({{ 'x' * 10**9 }}).
    intercepted_binops = frozenset({"*", "**"})
    _MAX_FACTOR = 1000

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 100:
            raise SecurityError("the exponent is too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) and n > self._MAX_FACTOR:
                    raise SecurityError("the repetition is too large")
        return super().call_binop(context, operator, left, right)


def _environment(autoescape: bool) -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=autoescape)
    env.globals.clear()  # no range/lipsum/cycler: templates only see their variables
    return env


_TEXT_ENV = _environment(autoescape=False)
_HTML_ENV = _environment(autoescape=True)


def lang_code(lang: str | None) -> str:
    """'es', 'es-MX', 'es-419', 'es_US', 'ES' -> 'es'; anything else -> 'en' (core/language)."""
    return languages.for_message(lang)


@lru_cache(maxsize=4096)  # babel's formatting is most of the cost of a text; amounts and dates repeat
def money(amount: Decimal, currency: str, lang: str) -> str:
    return format_currency(Decimal(amount), currency, locale=_LOCALES[lang_code(lang)])


@lru_cache(maxsize=4096)
def long_date(d: date, lang: str) -> str:
    return format_date(d, _LONG_DATE[lang_code(lang)], locale=_LOCALES[lang_code(lang)])


def record_date(d: date, lang: str = "en") -> str:
    """A date in a note for staff, with its year: "Oct 28, 2026" (never the ISO form the software keeps)."""
    return format_date(d, "medium", locale=_LOCALES[lang_code(lang)])


def short_date(d: date, lang: str) -> str:
    # CLDR abbreviates some Spanish months with a period ("sept."); texts read better without.
    return format_date(d, _SHORT_DATE[lang_code(lang)], locale=_LOCALES[lang_code(lang)]).rstrip(".")


@dataclass(frozen=True)
class MessageContext:
    org_name: str
    first_name: str
    lang: str
    amount: Decimal | None = None
    currency: str = "USD"
    due_date: date | None = None
    pay_link: str = ""
    promise_date: date | None = None
    callback_number: str = ""


def template_variables(ctx: MessageContext) -> dict:
    """What a template sees. Values this message has none for are left out, so a
    template that needs them fails loudly instead of sending "due on ."."""
    invoice: dict[str, str] = {"pay_link": ctx.pay_link}
    if ctx.amount is not None:
        invoice["amount"] = money(ctx.amount, ctx.currency, ctx.lang)
    if ctx.due_date is not None:
        invoice["due_date"] = long_date(ctx.due_date, ctx.lang)
    promise: dict[str, str] = {}
    if ctx.promise_date is not None:
        promise["date"] = long_date(ctx.promise_date, ctx.lang)
    return {
        "org": {"name": ctx.org_name, "callback_number": ctx.callback_number},
        "contact": {"first_name": ctx.first_name},
        "invoice": invoice,
        "promise": promise,
    }


@lru_cache(maxsize=512)
def _compiled(env: _Sandbox, src: str):
    # Compiling is most of the cost of a text; a workflow has a handful of templates.
    return env.from_string(src)


# A text can be read by whoever holds the phone: it names the organization, the amount, the due date
# and the pay link, never the patient.
TEXT_ROOTS = ("org", "invoice", "promise")


@lru_cache(maxsize=512)
def _plain(env: _Sandbox, src: str) -> tuple[str | tuple[str, str], ...] | None:
    """The template as its literal text and `{{ root.field }}` values (root and field as template_variables
    names them), when that is all it is (every shipped text is), else None: anything else (a filter, a
    condition, a syntax error) is Jinja's to render or to refuse. In the text environment Jinja renders such a
    template as exactly this text with each value's `str()` (the sandbox reads a dict's key when the dict has
    no attribute of that name, as none of the field names is); a value the message does not have is left to
    Jinja, which raises."""
    if env.autoescape is not False:
        return None
    try:
        tree = env.parse(src)
    except TemplateError:
        return None
    parts: list[str | tuple[str, str]] = []
    for node in tree.body:
        if type(node) is not nodes.Output:
            return None
        for child in node.nodes:
            if type(child) is nodes.TemplateData:
                parts.append(child.data)
            elif (type(child) is nodes.Getattr and type(child.node) is nodes.Name and child.node.ctx == "load"
                  and child.attr in ALLOWED_VARIABLES.get(child.node.name, ())):
                parts.append((child.node.name, child.attr))
            else:
                return None
    return tuple(parts)


def _render_plain(parts, variables: dict, roots: tuple[str, ...] | None) -> str | None:
    """A plain template (_plain) rendered, or None when it names a value this message does not have."""
    out = []
    for part in parts:
        if type(part) is str:
            out.append(part)
            continue
        root, name = part
        if roots is not None and root not in roots:
            return None
        value = variables[root].get(name, _MISSING)
        if value is _MISSING:
            return None
        out.append(str(value))
    return "".join(out)


_MISSING = object()


def _render(env: _Sandbox, src: str, ctx: MessageContext, roots: tuple[str, ...] | None = None) -> str:
    variables = template_variables(ctx)
    parts = _plain(env, src)
    if parts is not None:
        text = _render_plain(parts, variables, roots)
        if text is not None:
            return text
    if roots is not None:
        variables = {k: v for k, v in variables.items() if k in roots}
    try:
        return _compiled(env, src).render(variables)
    except TemplateSyntaxError as e:
        raise RenderError(f"The template has a syntax error on line {e.lineno}: {e.message}.") from e
    except SecurityError as e:
        raise RenderError(f"The template tried something not allowed: {e}") from e
    except TemplateError as e:
        raise RenderError(f"The template uses a value this message does not have: {e.message or e}.") from e


def _collapse(text: str) -> str:
    return " ".join(text.split())


def render_sms(template_src: str, ctx: MessageContext) -> str:
    """One-line text that names the organization and ends with the opt-out line."""
    return identified_text(_render(_TEXT_ENV, template_src, ctx, TEXT_ROOTS), ctx.org_name, ctx.lang, opt_out=True)


# A text that already tells the patient a keyword (a STOP or START confirmation, HELP) needs no opt-out line.
_KEYWORD_INSTRUCTION = re.compile(r"\b(?:STOP|ALTO|START|UNSUBSCRIBE)\b")


def identified_text(body: str, org_name: str, lang: str, *, opt_out: bool) -> str:
    """Every text names the organization (rule text_identification: "Maple Clinic: ..." when the body
    doesn't), and `opt_out` (the first text in a thread, and every workflow text) ends it with the opt-out
    line in the text's language, unless it already gives a keyword."""
    text = _collapse(body)
    org = _collapse(org_name)
    if org and org.lower() not in text.lower():
        text = f"{org}: {text}"
    line = OPT_OUT_LINE[lang_code(lang)]
    if opt_out and line.lower() not in text.lower() and not _gives_keyword(text):
        text = f"{text} {line}"
    return text


def _gives_keyword(text: str) -> bool:
    # The words looked for first, as plain substrings: the pattern can only match where one of them is.
    return (("STOP" in text or "ALTO" in text or "START" in text or "UNSUBSCRIBE" in text)
            and _KEYWORD_INSTRUCTION.search(text) is not None)


_STYLE_BODY = "font-family: Arial, Helvetica, sans-serif; font-size: 15px; line-height: 1.5; color: #222222;"
_STYLE_P = "margin: 0 0 1em 0;"
_STYLE_FOOT = "margin: 1.5em 0 0 0; font-size: 13px; color: #666666;"


def _plain_body(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def render_email(subject_src: str, body_src: str, ctx: MessageContext) -> tuple[str, str, str]:
    """(subject, plain text, HTML). The body template is plain text; the HTML is
    derived from it with every character escaped, so nothing a template or a
    value contains can become markup. The pay link becomes a link."""
    lang = lang_code(ctx.lang)
    subject = _collapse(_render(_TEXT_ENV, subject_src, ctx))  # no newlines: header-safe
    body = _plain_body(_render(_TEXT_ENV, body_src, ctx))
    plain = f"{body}\n\n{UNSUBSCRIBE_LINE[lang]}"

    paragraphs = []
    for para in filter(None, body.split("\n\n")):
        html = str(escape(para)).replace("\n", "<br>\n")
        if ctx.pay_link.startswith(("https://", "http://")):
            link = str(escape(ctx.pay_link))
            html = html.replace(link, f'<a href="{link}" style="color: #1a5fb4;">{link}</a>')
        paragraphs.append(f'<p style="{_STYLE_P}">{html}</p>')
    paragraphs.append(f'<p style="{_STYLE_FOOT}">{escape(UNSUBSCRIBE_LINE[lang])}</p>')
    html = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8"><title>{escape(subject)}</title></head>\n'
        f'<body style="{_STYLE_BODY}">\n' + "\n".join(paragraphs) + "\n</body>\n</html>\n"
    )
    return subject, plain, html


# Words a limited-content voicemail must not carry (they reveal a debt to whoever
# hears the message). English as word prefixes ("Billing"), Spanish as whole words.
_LIMITED_CONTENT_FORBIDDEN = re.compile(
    r"\b(?:debt|balance|payment|invoice|bill|collect|owe|overdue|past due)"
    r"|\b(?:deudas?|saldos?|pagos?|facturas?|cobros?|cobranzas?)\b",
    re.IGNORECASE,
)


def limited_content_problems(org_name: str, person_name: str) -> list[str]:
    """Why these names can't go in a voicemail (for validating settings early)."""
    problems = []
    for field, value in (("organization name", org_name), ("caller name", person_name)):
        m = _LIMITED_CONTENT_FORBIDDEN.search(value or "")
        if m:
            problems.append(f"The {field} contains {m.group(0)!r}, which a voicemail must not say.")
    return problems


def spoken_number(number: str) -> str:
    """'+12125552368' -> '2 1 2, 5 5 5, 2 3 6 8' so text-to-speech reads digits."""
    try:
        parsed = phonenumbers.parse(number, "US")
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        national = number
    groups = re.findall(r"\d+", national)
    return ", ".join(" ".join(g) for g in groups)


_VOICEMAIL = {
    "en": "Hello, this is {person} from {org}. Please call us back at {number}. Thank you.",
    "es": "Hola, le habla {person} de {org}. Por favor, llámenos al {number}. Gracias.",
}


def voicemail_text(org_name: str, person_name: str, callback_number: str, lang: str) -> str:
    """The limited-content voicemail: who called and how to call back, nothing else.

    Raises ValueError when the settings can't make one: no person's name, a business name that reveals a
    debt or a specialty (content.voicemail_problems, rule voicemail_identity), or no callback number.
    """
    problems = limited_content_problems(org_name, person_name) or content.voicemail_problems(org_name, person_name)
    if problems:
        raise ValueError(" ".join(problems))
    number = spoken_number(callback_number or "")
    if not number:
        raise ValueError("A voicemail needs the organization's callback number.")
    person = _collapse(person_name or "")
    return _VOICEMAIL[lang_code(lang)].format(person=person, org=_collapse(org_name), number=number)


def template_problems(src: str) -> list[str]:
    """Syntax errors and unknown variables or fields, as sentences for staff."""
    try:
        tree = _TEXT_ENV.parse(src)
        _TEXT_ENV.compile(tree)  # catches unknown filters and tests
    except TemplateSyntaxError as e:
        return [f"Line {e.lineno}: {e.message}."]
    known = ", ".join(sorted(ALLOWED_VARIABLES))
    problems = [
        f"Unknown variable '{name}'; use one of: {known}."
        for name in sorted(meta.find_undeclared_variables(tree) - ALLOWED_VARIABLES.keys())
    ]
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        problem = _field_problem(node)
        if problem and problem not in problems:
            problems.append(problem)
    return problems


def _path(node: nodes.Node) -> list[str] | None:
    """['invoice', 'amount'] for invoice.amount / invoice['amount']; None if not a plain path."""
    if isinstance(node, nodes.Name):
        return [node.name]
    if isinstance(node, nodes.Getattr):
        base = _path(node.node)
        return None if base is None else [*base, node.attr]
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        base = _path(node.node)
        return None if base is None else [*base, node.arg.value]
    return None


def _field_problem(node: nodes.Getattr | nodes.Getitem) -> str | None:
    attr = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
    if isinstance(attr, str) and attr.startswith("_"):
        return f"'{attr}' is not allowed in a template."
    path = _path(node)
    if not path or path[0] not in ALLOWED_VARIABLES:
        return None
    root, fields = path[0], ALLOWED_VARIABLES[path[0]]
    if len(path) == 2 and path[1] not in fields:
        return f"Unknown field '{root}.{path[1]}'; {root} has: {', '.join(sorted(fields))}."
    if len(path) == 3 and path[1] in fields:
        return f"'{'.'.join(path)}' does not exist: '{root}.{path[1]}' is already text."
    return None


def pick(templates: Mapping[str, str], lang: str) -> str:
    """The template in the contact's language, falling back to English."""
    for key in (lang_code(lang), "en"):
        if key and templates.get(key):
            return templates[key]
    raise KeyError(f"no template for {lang!r} and no English one to fall back to")
