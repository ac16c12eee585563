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
# What is not a word in any language: the product's name, codes, symbols, numbers.
_NOT_WORDS = re.compile(r"duedesk|&[a-z]+;|[^\w]|\d|_", re.I)


def templates() -> list[Path]:
    return sorted(p for p in SRC.rglob("templates/**/*") if p.suffix in (".html", ".txt")
                  and not any(part in p.as_posix() for part in NOT_HERE))


def unmarked(text: str) -> list[str]:
    """Visible words outside {% translate %} / {% blocktranslate %}: text between tags, and the attributes a
    person reads (placeholder, aria-label, title, alt)."""
    text = _MARKED.sub(" ", text)
    found = [value for _, _, value in _ATTRIBUTE.findall(text) if _NOT_WORDS.sub("", _TAG.sub("", value))]
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
