"""The staff pages speak Spanish to whoever chooses it: every visible word in the templates is marked for
translation, the Spanish catalogue is complete, and the compiled catalogue kept in the repository (so `make
run` needs no gettext tools) matches its source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "duedesk"
LOCALE = SRC / "locale" / "es" / "LC_MESSAGES"
NOT_HERE = ()  # templates another part of the app marks itself (none left)

_MARKED = re.compile(r"{%\s*blocktranslate\b.*?{%\s*endblocktranslate\s*%}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}"
                     r"|<script\b.*?</script>|<style\b.*?</style>", re.S)
_TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
_ATTRIBUTE = re.compile(r"""\b(placeholder|aria-label|title|alt)=(")((?:{%.*?%}|{{.*?}}|[^"])*)\2""", re.S)
_HTML = re.compile(r"<[^>]*>", re.S)
# Words given to a filter ({{ x|yesno:"Yes,No" }}, {{ x|default:"Unassigned" }}) are shown as they are.
_FILTER_WORDS = re.compile(r"""\|(?:yesno|default(?:_if_none)?):(["'])(.*?)\1""")
# What is not a word in any language: the product's name, codes, symbols, numbers.
_NOT_WORDS = re.compile(r"duedesk|&[a-z]+;|[^\w]|\d|_", re.I)


def templates() -> list[Path]:
    return sorted(p for p in SRC.rglob("templates/**/*") if p.suffix in (".html", ".txt")
                  and not any(part in p.as_posix() for part in NOT_HERE))


def unmarked(text: str) -> list[str]:
    """Visible words outside {% translate %} / {% blocktranslate %}: text between tags, and the attributes a
    person reads (placeholder, aria-label, title, alt)."""
    text = _MARKED.sub(" ", text)
    found = [words for _, words in _FILTER_WORDS.findall(text) if len(_NOT_WORDS.sub("", words)) > 2]
    found += [value for _, _, value in _ATTRIBUTE.findall(text) if _NOT_WORDS.sub("", _TAG.sub("", value))]
    text = _ATTRIBUTE.sub(" ", text)
    for piece in _TAG.sub("\n", _HTML.sub("\n", text)).split("\n"):
        if len(_NOT_WORDS.sub("", piece).strip()) > 1:  # a letter alone is a mark (the logo's "d")
            found.append(piece.strip())
    return found


def test_every_visible_word_in_the_staff_templates_is_marked():
    left = {p.relative_to(SRC).as_posix(): words for p in templates()
            if (words := unmarked(p.read_text(encoding="utf-8")))}
    assert not left, "\n".join(f"{name}: {words}" for name, words in left.items())


def test_the_checker_sees_unmarked_words():
    assert unmarked('<p>Hello {{ name }}</p><input placeholder="Search">') == ["Search", "Hello"]
    assert unmarked('<p>{% translate "Hello" %} {{ name }}</p>{% blocktranslate %}Hi {{ x }}{% endblocktranslate %}') == []
    assert unmarked("<td>— · 100%</td>") == []
    assert unmarked('<td>{{ ok|yesno:"Yes,No" }} {{ who|default:"Nobody" }} {{ lang|default:"en" }}</td>') == [
        "Yes,No", "Nobody"]


def _catalogue():
    from babel.messages.pofile import read_po

    with (LOCALE / "django.po").open("rb") as f:
        return read_po(f)


def test_every_message_has_its_spanish():
    missing = [m.id for m in _catalogue() if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in _catalogue() if m.id and m.fuzzy]
    assert not missing and not fuzzy, (missing, fuzzy)


def test_the_compiled_catalogue_is_current():
    """django.mo is compiled from django.po (msgfmt, or `pybabel compile -i django.po -o django.mo`); a .po
    changed without compiling again would leave the pages in English."""
    import gettext

    with (LOCALE / "django.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for message in _catalogue():
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            assert compiled.ngettext(message.id[0], message.id[1], 1) == message.string[0], message.id
        elif message.context:
            assert compiled.pgettext(message.context, message.id) == message.string, message.id
        else:
            assert compiled.gettext(message.id) == message.string, message.id


def test_the_vocabulary_the_pages_show_is_in_the_catalogue():
    """core/vocabulary.py imports no Django: web/labels.py lists the labels the pages translate."""
    from django.utils import translation

    from duedesk.core import vocabulary
    from duedesk.web.labels import LABELS, SHOWN

    with translation.override("en"):
        listed = {str(label) for label in LABELS}  # the English, as makemessages read it
    shown = {label for name in SHOWN for label in getattr(vocabulary, name).values()}
    assert shown <= listed, shown - listed
    translated = {m.id for m in _catalogue() if m.string and m.context == "state"}
    assert listed <= translated, listed - translated


@pytest.mark.django_db
def test_a_person_who_chooses_spanish_sees_spanish_pages(login, viewer, case):
    client = login(viewer)  # every role chooses their own pages' language, a viewer too
    assert "Inbox" in client.get("/inbox/").content.decode()
    response = client.post("/account/", {"language": "es"}, follow=True)
    page = response.content.decode()
    assert "Tu cuenta" in page and "Bandeja de entrada" in page and 'lang="es"' in page
    inbox = client.get("/inbox/").content.decode()
    assert "Dificultades económicas" in inbox and "Sin asignar" in inbox and "Todos los abiertos" in inbox
    assert "Contactos" in client.get("/contacts/").content.decode()
    assert "Recordatorios iniciados" in client.get(f"/contacts/{case['contact'].pk}/").content.decode()  # timeline
    client.post("/account/", {"language": "en"})
    assert "Contacts" in client.get("/contacts/").content.decode()


def test_every_vocabulary_and_shown_choice_is_listed_for_translation():
    """A new vocabulary in core/vocabulary.py, or a new choice of a model the pages show, fails here until its
    labels are in web/labels.py (and so in the catalogue, checked above)."""
    from django.apps import apps
    from django.utils import translation

    from duedesk.core import vocabulary
    from duedesk.web.labels import CHOICES_SHOWN, LABELS, NOT_SHOWN, SHOWN

    tables = {name for name, value in vars(vocabulary).items() if name.isupper() and isinstance(value, dict)}
    assert tables == set(SHOWN) | set(NOT_SHOWN), tables ^ (set(SHOWN) | set(NOT_SHOWN))
    with translation.override("en"):
        listed = {str(label) for label in LABELS}
    choices = {str(label) for model, field in CHOICES_SHOWN
               for _, label in apps.get_model(model)._meta.get_field(field).choices}
    assert choices <= listed, choices - listed


# What makemessages reads as a message (Django's keywords for Python, and xgettext's own).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "gettext_noop": None, "gettext_lazy": None,
            "ngettext_lazy": (1, 2), "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3),
            "pgettext_lazy": ((1, "c"), 2), "npgettext_lazy": ((1, "c"), 2, 3)}


def _python_messages():
    from babel.messages.extract import extract_from_file

    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for _line, message, _comments, context in extract_from_file("python", path, keywords=KEYWORDS):
            yield path, context, message


def test_every_word_marked_in_python_has_its_spanish():
    """A word marked with gettext in the code but missing from the catalogue shows in English on Spanish pages."""
    catalogue = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in _catalogue()
                 if m.id and (m.string if isinstance(m.string, str) else all(m.string))}
    missing = [(p.relative_to(SRC).as_posix(), c, m) for p, c, m in _python_messages()
               if (c, m if isinstance(m, str) else m[0]) not in catalogue]
    assert not missing, "\n".join(map(str, missing))


def test_translation_functions_keep_names_makemessages_reads():
    """`gettext_lazy as _lazy` would hide every label marked with it from makemessages (and from the catalogue)."""
    aliased = re.compile(r"from django\.utils\.translation import [^\n]*\b(\w*gettext\w*) as (\w+)")
    wrong = [(p.relative_to(SRC).as_posix(), name, alias) for p in SRC.rglob("*.py")
             for name, alias in aliased.findall(p.read_text(encoding="utf-8")) if alias not in KEYWORDS]
    assert not wrong, wrong


# Python that writes what staff read: the pages' views and forms.
STAFF_PYTHON = ("web/*.py", "web/templatetags/*.py", "inbox/*.py", "integrations/*/views.py")


def _english(node) -> bool:
    """Words a person reads, written as they are in the code: a literal with letters, an f-string with some, or
    either joined to something (gettext's answer is a call, never one of these)."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(ch.isalpha() for ch in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and any(ch.isalpha() for ch in v.value) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return _english(node.left) or (isinstance(node.op, ast.Add) and _english(node.right))
    if isinstance(node, ast.IfExp):
        return _english(node.body) or _english(node.orelse)
    return False


def unmarked_python(source: str) -> list[str]:
    """Unmarked words where the pages show them: flash messages, form errors, labels, help texts, placeholders,
    choices, a plain-text 400. (Http404 and PermissionDenied are left out: their words reach no one.)"""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        shown = []
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            if owner == "messages" and name in ("success", "error", "info", "warning"):
                shown += node.args[1:2]
            elif name == "add_error":
                shown += node.args[1:2]
            elif name in ("ValidationError", "HttpResponseBadRequest"):
                shown += node.args[:1]
            for keyword in node.keywords:
                if keyword.arg in ("label", "help_text", "placeholder"):
                    shown.append(keyword.value)
                elif keyword.arg == "error_messages" and isinstance(keyword.value, ast.Dict):
                    shown += keyword.value.values
                elif keyword.arg == "choices" and isinstance(keyword.value, ast.List | ast.Tuple):
                    shown += [e.elts[1] for e in keyword.value.elts if isinstance(e, ast.Tuple) and len(e.elts) == 2]
        elif isinstance(node, ast.ClassDef) and node.name == "Meta":
            shown += [value for stmt in node.body if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Dict)
                      and getattr(stmt.targets[0], "id", "") in ("labels", "help_texts") for value in stmt.value.values]
        found += [f"{n.lineno}: {ast.unparse(n)[:90]}" for n in shown if _english(n)]
    return found


def test_every_word_the_staff_pages_show_from_python_is_marked():
    left = {p.relative_to(SRC).as_posix(): words for pattern in STAFF_PYTHON for p in sorted(SRC.glob(pattern))
            if (words := unmarked_python(p.read_text(encoding="utf-8")))}
    assert not left, "\n".join(f"{name}: {words}" for name, words in left.items())


def test_the_python_checker_sees_unmarked_words():
    assert unmarked_python('messages.success(request, f"Saved {x}.")') == ["1: f'Saved {x}.'"]
    assert unmarked_python('messages.success(request, "Saved.")\nmessages.info(request, _("Saved."))') == [
        "1: 'Saved.'"]
    assert unmarked_python('forms.CharField(label="Name", help_text=_("Hint"))') == ["1: 'Name'"]
    assert unmarked_python('class Meta:\n    labels = {"a": "Name", "b": gettext_lazy("Name")}') == ["2: 'Name'"]
    assert unmarked_python('raise forms.ValidationError(_("%(x)s is wrong.") % {"x": x})') == []
    assert unmarked_python('self.add_error("f", "Pick one.")') == ["1: 'Pick one.'"]
    assert unmarked_python('forms.ChoiceField(choices=[("a", "Apple"), ("b", _("Pear"))])') == ["1: 'Apple'"]


@pytest.mark.django_db
def test_model_forms_name_every_field_in_the_pages_language():
    """A model form's field without its own label shows the model's English verbose name (and help text)."""
    from django.utils.functional import Promise

    from duedesk.integrations.webhooks.views import EndpointForm
    from duedesk.records.models import Organization
    from duedesk.web.contacts import ContactForm
    from duedesk.web.settings_views import OrganizationForm
    from duedesk.web.twilio_settings import TwilioForm

    forms = [ContactForm(), TwilioForm(instance=Organization()), OrganizationForm(instance=Organization()),
             EndpointForm()]
    english = [(type(form).__name__, name) for form in forms for name, field in form.fields.items()
               if not isinstance(field.label, Promise) or (field.help_text and not isinstance(field.help_text, Promise))]
    assert not english, english


def test_the_ready_workflows_are_listed_for_translation():
    """Settings → Workflows lists the workflows duedesk ships by their name and description, in the page's
    language: a new or reworded shipped workflow fails here until web/labels.py lists its words."""
    from django.utils import translation

    from duedesk import workflows
    from duedesk.core import workflow as wf
    from duedesk.web.labels import READY_WORKFLOWS

    with translation.override("en"):
        listed = {str(words) for words in READY_WORKFLOWS}
    shipped = {words for name in workflows.names() for words in (wf.parse(workflows.read(name)).name,
                                                                 wf.parse(workflows.read(name)).description)}
    assert shipped <= listed, shipped - listed
