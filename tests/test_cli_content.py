"""`duedesk workflow check` runs the content linter (core/content.py): a clinical word or a threat in any
template, in English or Spanish, is refused with the template, the language, the word and the rule at its
line; the shipped workflows pass."""

from __future__ import annotations

import pytest

from tests.test_cli import duedesk

WORKFLOW = """\
name: Reminders
steps:
  - id: hello
    sms: hello
  - id: later
    email: later
templates:
  hello:
    en: >-
      Hi, this is {{ org.name }}. {EN}
    es: >-
      Hola, le escribe {{ org.name }}. {ES}
  later:
    subject:
      en: "{SUBJECT}"
    en: "Your balance of {{ invoice.amount }} is due. Pay here: {{ invoice.pay_link }}"
"""


def write(tmp_path, en="Pay here: {{ invoice.pay_link }}", es="Pague aquí: {{ invoice.pay_link }}",
          subject="{{ org.name }}: a reminder"):
    path = tmp_path / "wf.yaml"
    path.write_text(WORKFLOW.replace("{EN}", en).replace("{ES}", es).replace("{SUBJECT}", subject))
    return path


def problems(path) -> list[str]:
    result = duedesk("workflow", "check", str(path))
    assert result.returncode == (1 if result.stderr.strip() else 0), result.stderr
    return result.stderr.strip().splitlines()


def test_a_clean_workflow_passes(tmp_path):
    assert problems(write(tmp_path)) == []


@pytest.mark.parametrize("en, es, subject, expected", [
    ("Dr. Patel asks you to pay your chemotherapy balance of {{ invoice.amount }}.", "Pague aquí.", "Hi",
     [(10, "'en' text says 'Dr.'", "content_clinical")]),
    ("Your oncology balance is due.", "Su saldo de quimioterapia vence.", "Hi",
     [(10, "'en' text says 'oncology'", "content_clinical"), (12, "'es' text says 'quimioterapia'",
                                                             "content_clinical")]),
    ("Pay now or we will sue and report you to the credit bureaus.", "Pague o tomaremos acción legal.", "Hi",
     [(10, "'en' text says 'sue'", "content_threat"), (12, "'es' text says 'acción legal'", "content_threat")]),
    ("Pay here.", "Pague aquí o lo reportamos al buró de crédito.", "See you in court",
     [(12, "'es' text says 'buró de crédito'", "content_threat"),
      (15, "'en' subject says 'court'", "content_threat")]),
    ("Your {{ 'insulin' }} refill balance is due.", "Pague aquí.", "Hi",
     [(10, "'en' text says 'insulin'", "content_clinical")]),
    ("We may garnish your wages.", "Pague aquí.", "Hi", [(10, "'en' text says 'garnish'", "content_threat")]),
])
def test_clinical_words_and_threats_are_refused_naming_the_template_and_the_word(tmp_path, en, es, subject,
                                                                                expected):
    path = write(tmp_path, en, es, subject)
    lines = problems(path)
    assert len(lines) == len(expected), lines
    for line, (number, words, rule) in zip(lines, expected, strict=True):
        assert line.startswith(f"{path}:{number}: template ")
        assert words in line and f"(rule {rule})" in line, line


def test_a_variable_beyond_the_minimum_is_refused_naming_the_ones_allowed(tmp_path):
    lines = problems(write(tmp_path, en="Your {{ invoice.diagnosis }} bill. {{ contact.date_of_birth }}"))
    assert any("'invoice.diagnosis'" in line and "amount, due_date, pay_link" in line for line in lines), lines
    assert any("contact" in line for line in lines), lines


def test_the_shipped_workflows_and_the_payment_plan_pass_the_linter(tmp_path):
    from pathlib import Path

    from duedesk import workflows
    from duedesk.core import content

    plan = Path(workflows.__file__).resolve().parents[1] / "inbox" / "plan_workflow.yaml"
    for path in [*(workflows.path(name) for name in workflows.names()), plan]:
        assert content.lint(path.read_text(encoding="utf-8")) == [], path
        assert duedesk("workflow", "check", str(path)).returncode == 0
