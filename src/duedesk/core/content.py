"""What a message may say: the template linter, and the names a voicemail may carry.

A text or a voicemail reaches whoever holds the phone, so a reminder says who is writing, how much, by
when and where to pay, and nothing else (HIPAA minimum necessary, 45 CFR 164.502(b)); and it never
threatens (Regulation F, 12 CFR 1006.14 and 1006.18). `lint(yaml_text)` reads every template of a
workflow (each language, email subjects too) and refuses:

- `content_clinical`: a clinical word (a diagnosis, a procedure, a drug, a specialty, a provider title:
  "Dr.", "oncology", "chemotherapy"), from the packaged lists core/words/clinical.{en,es}.txt;
- `content_threat`: a threat (sue, court, arrest, credit bureau, legal action, garnish…), from
  core/words/threats.{en,es}.txt.

Template variables beyond the minimum (`render.ALLOWED_VARIABLES`: org.name, org.callback_number,
contact.first_name (emails only), invoice.amount, invoice.due_date, invoice.pay_link, promise.date) are
refused by the workflow reader itself (rule `content_variables`). Only the words a template writes are
read (its text and any quoted strings in its placeholders), not the values filled in.

`voicemail_problems` checks the organization's voicemail settings (rule `voicemail_identity`): a person's
name, and a business name that reveals no debt ("Acme Recovery Services") and no specialty
("Springfield Oncology"). `workflow check`, the staff editor's save and `engine.definitions.save_version`
run the linter; the renderer and the compose path enforce what a sent text must carry (render.py).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources
from typing import NamedTuple

import yaml
from jinja2 import TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from duedesk.core import yamltree

RULE_CLINICAL = "content_clinical"
RULE_THREAT = "content_threat"
RULE_VARIABLES = "content_variables"
RULE_VOICEMAIL = "voicemail_identity"
RULE_IDENTIFIED = "text_identification"

_LISTS = {
    RULE_CLINICAL: ("clinical.en.txt", "clinical.es.txt"),
    RULE_THREAT: ("threats.en.txt", "threats.es.txt"),
    "debt": ("debt.txt",),
}
_WHY = {
    RULE_CLINICAL: "a clinical word; a message may not say anything about a patient's care",
    RULE_THREAT: "a threat; a reminder may not threaten legal action, arrest or credit reporting",
}
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


class Finding(NamedTuple):
    line: int
    rule: str
    word: str
    message: str


def fold(text: str) -> str:
    """Lower case without accents, so "Oncología" and "oncologia" are the same word."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@cache
def words(name: str) -> tuple[str, ...]:
    """The entries of one packaged list (see core/words/__init__.py)."""
    found: list[str] = []
    for filename in _LISTS[name]:
        text = resources.files("duedesk.core.words").joinpath(filename).read_text(encoding="utf-8")
        found.extend(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return tuple(found)


@cache
def _pattern(name: str) -> re.Pattern[str]:
    alternatives = []
    for entry in sorted({fold(w) for w in words(name)}, key=len, reverse=True):
        body = re.escape(entry.rstrip("*")).replace(r"\ ", r"\s+")
        alternatives.append(body + (r"\w*" if entry.endswith("*") else ""))
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


def find(name: str, text: str) -> str | None:
    """The first word of list `name` in `text`, as written there, or None."""
    folded = fold(text)
    match = _pattern(name).search(folded)
    if match is None:
        return None
    # Folding keeps one character per letter for Latin text, so the span points into the original.
    return text[match.start():match.end()] if len(folded) == len(text) else match.group(0)


_ENV = SandboxedEnvironment()


def written_words(src: str) -> list[str]:
    """The words a template writes itself: its text and the quoted strings in its placeholders."""
    try:
        tree = _ENV.parse(src)
    except TemplateError:
        return [_PLACEHOLDER.sub(" ", src)]  # the syntax error is reported by the workflow reader
    parts = [n.data for n in tree.find_all(nodes.TemplateData)]
    parts += [n.value for n in tree.find_all(nodes.Const) if isinstance(n.value, str)]
    return parts


def message_problems(src: str) -> list[tuple[str, str]]:
    """(rule, word) for each clinical word or threat a template writes, one per rule."""
    found = []
    for rule in (RULE_CLINICAL, RULE_THREAT):
        for part in written_words(src):
            word = find(rule, part)
            if word:
                found.append((rule, word))
                break
    return found


def lint(text: str) -> list[Finding]:
    """Every clinical word and threat in a workflow's templates, each at its line, naming the template
    (the block), the language and the word. Nothing when the YAML can't be read (the reader says why)."""
    return list(_lint(text))


@lru_cache(maxsize=64)
def _lint(text: str) -> tuple[Finding, ...]:
    # Every new organization saves the shipped workflows: the same few sources, linted once per process.
    try:
        root = yamltree.compose(text)
    except yaml.YAMLError:
        return ()
    if not isinstance(root, yaml.MappingNode):
        return ()
    findings: list[Finding] = []
    for key_node, value_node in root.value:
        if getattr(key_node, "value", None) == "templates" and isinstance(value_node, yaml.MappingNode):
            for name_node, entry in value_node.value:
                findings.extend(_lint_template(str(name_node.value), entry))
    return tuple(sorted(findings))


def _lint_template(key: str, entry: yaml.Node) -> list[Finding]:
    if not isinstance(entry, yaml.MappingNode):
        return []
    bodies: list[tuple[str, yaml.Node]] = []
    for lang_node, body_node in entry.value:
        lang = str(getattr(lang_node, "value", ""))
        if lang == "subject" and isinstance(body_node, yaml.MappingNode):
            bodies.extend((f"'{s.value}' subject", b) for s, b in body_node.value)
        else:
            bodies.append((f"'{lang}' text", body_node))
    findings = []
    for what, node in bodies:
        if not isinstance(node, yaml.ScalarNode):
            continue
        first_line = node.start_mark.line + 1 + (1 if node.style in ("|", ">") else 0)
        for rule, word in message_problems(node.value):
            findings.append(Finding(first_line, rule, word,
                                    f"template '{key}': the {what} says '{word}', {_WHY[rule]} (rule {rule})"))
    return findings


def voicemail_problems(business_name: str, person_name: str) -> list[str]:
    """Why these voicemail settings can't be used, as sentences for staff (empty: they can)."""
    problems = []
    person = " ".join((person_name or "").split())
    business = " ".join((business_name or "").split())
    if not person:
        problems.append("A voicemail must give a person's name (the name said in voicemails is empty).")
    if not business:
        problems.append("A voicemail must give a business name (the business name said in voicemails is empty).")
    for field, value in (("business name", business), ("person's name", person)):
        word = find("debt", value) if field == "business name" else None  # a person may be called Bill
        if word:
            problems.append(f"The {field} '{value}' says '{word}', which tells whoever hears the voicemail "
                            "that it is about a debt.")
        word = find(RULE_CLINICAL, value)
        if word:
            problems.append(f"The {field} '{value}' says '{word}', which tells whoever hears the voicemail "
                            "about a patient's care; use a name without the specialty.")
    return problems
