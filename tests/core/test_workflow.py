from datetime import timedelta
from decimal import Decimal
from textwrap import dedent

import pytest

from duedesk import workflows
from duedesk.core.conditions import compile_condition
from duedesk.core.workflow import (
    HANDOFF_REASONS,
    KINDS,
    NOTICES,
    OUTCOMES,
    Problem,
    Step,
    Timing,
    WorkflowError,
    check,
    format_problems,
    handoff_reason,
    load_default,
    parse,
    parse_duration,
    parse_timing,
)

TEMPLATES = """\
templates:
  hello:
    en: "Hi, {{ invoice.amount }} is due. {{ invoice.pay_link }}"
    es: "Hola, {{ invoice.amount }}"
"""


def wf(steps: str, extra: str = "", templates: str = TEMPLATES) -> str:
    """A workflow with `steps` (indented 2), an optional top-level block and templates."""
    return "name: Test\n" + extra + "steps:\n" + dedent(steps) + templates


def problems(text: str) -> list[Problem]:
    found = check(text)
    assert found, "expected problems"
    return found


def only(text: str) -> Problem:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# --- the shipped workflows ---------------------------------------------------------------------

def test_default_workflow_parses_into_the_seed_product():
    text, w = load_default()
    assert text == workflows.read("default")
    assert w.name == "Payment reminders"
    heads_up = w.first()
    assert heads_up.kind == "sms" and heads_up.at == Timing("relative", "due_date", -3, source="due_date - 3d")
    call = w.step("late_call")
    assert call.at.days == 5 and call.retry.attempts == 3 and call.retry.every == timedelta(days=1)
    assert w.next_for("late_call", "no_answer") == "late_text"
    assert w.next_for("late_call", "promised") == "promise_reminder"
    assert w.next_for("late_text", "sent") == "wait_for_reply"
    assert w.next_for("wait_for_reply", None) == "no_response"
    assert w.step("no_response").reason == "no_response"
    assert w.step("promise_reminder").at.field == "promise.date"
    check_step = w.step("promise_check")
    assert check_step.at == Timing("relative", "promise.date", 1, source="promise.date + 1d")
    assert check_step.branches[0].condition == "invoice.balance > 0" and check_step.otherwise == "end"
    assert w.step("promise_broken").set == {"promise.status": "broken"}
    assert w.step("broken_twice").reason == "broken_promise"
    for outcome in ("dispute", "hardship", "payment_plan", "request_human"):
        assert w.on_reply[outcome] == "to_person"
        assert handoff_reason(w.step(w.on_reply[outcome]), outcome) == outcome
    assert w.on_reply["promised"] == "promise_reminder"


def test_default_templates_have_english_and_spanish_and_no_opt_out_line():
    _text, w = load_default()
    for key, entry in w.templates.items():
        assert {"en", "es"} <= set(entry), key
        for body in entry.values():
            assert "STOP" not in body and "ALTO" not in body
            assert "{{ invoice.pay_link }}" in body
    assert w.text("heads_up", "es").startswith("Hola")
    assert w.text("heads_up", "fr").startswith("Hi")  # English is the fallback


def test_a_second_broken_promise_goes_to_a_person():
    _text, w = load_default()
    broken_before = compile_condition(w.step("broken_before").branches[0].condition)
    assert not broken_before.evaluate({})
    marked = dict(w.step("note_broken").set)
    assert broken_before.evaluate(marked)
    assert w.step("broken_before").branches[0].goto == "broken_twice"


def test_rent_workflow_parses():
    w = parse(workflows.read("rent"))
    assert w.first().at == Timing("day_of_month", day=27, source="day 27")
    assert w.step("late_call").at.days == 7
    assert w.on_reply["hardship"] == "to_person"
    assert set(workflows.names()) >= {"default", "rent"}
    assert workflows.path("rent.yaml") == workflows.path("rent")


def test_unknown_shipped_workflow():
    with pytest.raises(FileNotFoundError):
        workflows.path("../secrets")
    with pytest.raises(FileNotFoundError):
        workflows.read("nope")


def test_steps_are_frozen_and_hashable():
    _text, w = load_default()
    step = w.step("late_call")
    with pytest.raises(AttributeError):
        step.kind = "sms"
    with pytest.raises(TypeError):
        step.on["promised"] = "x"
    assert hash(step) == hash(w.step("late_call"))


# --- next_for ----------------------------------------------------------------------------------

def test_next_for_resolution_order():
    w = parse(wf("""\
      - id: one
        sms: hello
        on: {failed: three}
        next: four
      - id: two
        sms: hello
      - id: three
        sms: hello
      - id: four
        sms: hello
        next: end
    """))
    assert w.next_for("one", "failed") == "three"  # on[outcome] first
    assert w.next_for("one", "sent") == "four"  # then next
    assert w.next_for("one", None) == "four"
    assert w.next_for("two", "sent") == "three"  # then the following step
    assert w.next_for("four", "sent") == "end"
    assert w.following("four") is None and w.following("one") == "two"
    assert w.first().id == "one"
    with pytest.raises(KeyError):
        w.step("missing")


def test_last_step_without_next_finishes():
    w = parse(wf("""\
      - id: only
        sms: hello
    """))
    assert w.next_for("only", "sent") is None


# --- timing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("due_date - 3d", Timing("relative", "due_date", -3)),
    ("due_date + 5d", Timing("relative", "due_date", 5)),
    ("due_date+1w", Timing("relative", "due_date", 7)),
    ("invoice.due_date - 2 days", Timing("relative", "due_date", -2)),
    ("promise.date", Timing("relative", "promise.date", 0)),
    ("promise.date + 1d", Timing("relative", "promise.date", 1)),
    ("contact.fields.invoice_due_date - 3d", Timing("relative", "contact.fields.invoice_due_date", -3)),
    ("invoice.issued_on + 30d", Timing("relative", "invoice.issued_on", 30)),
    ("day 27", Timing("day_of_month", day=27)),
    ("2d", Timing("after", duration=timedelta(days=2))),
    ("36h", Timing("after", duration=timedelta(hours=36))),
    ("1w", Timing("after", duration=timedelta(weeks=1))),
    ("1d 12h", Timing("after", duration=timedelta(hours=36))),
])
def test_timing_syntax(text, expected):
    parsed = parse_timing(text)
    assert parsed.source == text
    assert parsed == Timing(**{**expected.__dict__, "source": text})


@pytest.mark.parametrize("text", ["due_date minus 3", "due_date + 36h", "day 32", "day 0", "tomorrow",
                                  "0d", "due_date - 3", "3 fortnights"])
def test_bad_timing(text):
    with pytest.raises(ValueError):
        parse_timing(text)


def test_durations():
    assert parse_duration("90 minutes") == timedelta(minutes=90)
    for bad in ("", "0h", "2", "two days", "-1d"):
        with pytest.raises(ValueError):
            parse_duration(bad)


# --- validation: each problem with its line --------------------------------------------------

def test_yaml_syntax_error_has_its_line():
    p = only("name: Test\nsteps:\n  - id: a\n    sms: [unclosed\n")
    assert p.line >= 4 and "not valid YAML" in p.message


def test_empty_and_wrong_shape():
    assert only("").message == "the workflow is empty"
    assert only("- a\n- b\n").line == 1


def test_missing_name_and_steps():
    found = problems("templates: {}\n")
    assert {p.message for p in found} == {"the workflow has no 'name:'", "the workflow has no 'steps:'"}


def test_unknown_top_level_key():
    p = only(wf("""\
      - id: a
        sms: hello
    """, extra="onreply: {}\n"))
    assert p.line == 2 and "unknown setting 'onreply'" in p.message and "on_reply" in p.message


def test_duplicate_step_ids():
    p = only(wf("""\
      - id: a
        sms: hello
      - id: a
        sms: hello
    """))
    assert p.line == 5 and "step 'a' is used twice (first on line 3)" in p.message


def test_missing_id():
    p = only(wf("""\
      - id: a
        sms: hello
      - sms: hello
    """))
    assert p == Problem(5, "step 2 has no 'id:'")


def test_unknown_key_in_a_step():
    p = only(wf("""\
      - id: a
        sms: hello
        retries: 3
    """))
    assert p.line == 5 and "step 'a': unknown setting 'retries'" in p.message and "retry" in p.message


def test_unknown_kind_and_two_kinds():
    found = problems(wf("""\
      - id: a
        text: hello
      - id: b
        sms: hello
        call: late_call
    """))
    assert [p.line for p in found] == [3, 4, 5]
    assert "step 'a' does not say what to do" in found[0].message
    assert "unknown setting 'text'" in found[1].message
    assert "step 'b' has sms and call" in found[2].message


def test_goto_on_next_and_on_reply_to_unknown_steps():
    found = problems(wf("""\
      - id: late_call
        call: late_call
        on:
          promised: promise_remind
        next: nowhere
      - id: promise_reminder
        sms: hello
      - id: check
        branch:
          - if: invoice.balance > 0
            goto: gone
        otherwise: away
    """, extra="on_reply:\n  dispute: to_person\n"))
    messages = {(p.line, p.message) for p in found}
    assert (8, "step 'late_call': on.promised goes to 'promise_remind', which is not a step "
               "(did you mean 'promise_reminder'?)") in messages
    assert any(line == 9 and "next goes to 'nowhere'" in m for line, m in messages)
    assert any(line == 14 and "branch 1 goto goes to 'gone'" in m for line, m in messages)
    assert any(line == 16 and "otherwise goes to 'away'" in m for line, m in messages)
    assert any(line == 3 and "on_reply.dispute goes to 'to_person'" in m for line, m in messages)
    assert len(found) == 5
    assert str(WorkflowError(found)).splitlines()[0].startswith("line 3: on_reply.dispute")


def test_unknown_outcomes():
    found = problems(wf("""\
      - id: a
        call: late_call
        on: {promissed: end, voicemail: end}
    """, extra="on_reply:\n  answered: a\n"))
    assert [p.line for p in found] == [3, 7]
    assert "on_reply: 'answered' is not an outcome" in found[0].message
    assert "'promissed' is not an outcome (did you mean 'promised'?)" in found[1].message


@pytest.mark.parametrize("kind", ["update: {promise.status: broken}", "notify: collections"])
def test_on_does_not_apply_to_updates_and_notices(kind):
    p = only(wf(f"""\
      - id: a
        {kind}
        on: {{sent: end}}
    """))
    assert p.line == 5 and f"{kind.split(':')[0]} step has no outcomes" in p.message


def test_bad_timing_and_bad_duration_lines():
    found = problems(wf("""\
      - id: a
        sms: hello
        at: due_date minus 3
      - id: b
        wait: 2 fortnights
      - id: c
        wait: until 2d
      - id: d
        call: late_call
        retry: {attempts: 3, every: soon}
    """))
    assert [p.line for p in found] == [5, 7, 9, 12]
    assert "'due_date minus 3' is not a time duedesk understands" in found[0].message
    assert "after 'until' give a date" in found[2].message
    assert "retry every: 'soon' is not a length of time" in found[3].message


def test_bad_condition():
    found = problems(wf("""\
      - id: a
        branch:
          - if: invoice.balance >
            goto: end
          - if: __import__('os')
            goto: end
          - if: payments.total > 0
            goto: end
    """))
    assert [p.line for p in found] == [5, 7, 9]
    assert all(p.message.startswith("step 'a': branch ") for p in found)
    assert "not something a condition can look at" in found[2].message


def test_template_used_but_not_defined():
    p = only(wf("""\
      - id: a
        sms: helo
    """))
    assert p.line == 4 and "uses template 'helo', which is not under 'templates:' (did you mean 'hello'?)" in p.message


def test_template_missing_english():
    p = only(wf("""\
      - id: a
        sms: hello
    """, templates='templates:\n  hello:\n    es: "Hola"\n'))
    assert p.line == 6 and "template 'hello' has no English ('en') text" in p.message


def test_template_syntax_error_line():
    templates = 'templates:\n  hello:\n    en: "Hi"\n    es: |\n      Hola\n      {{ contact.first_name }\n'
    p = only(wf("""\
      - id: a
        sms: hello
    """, templates=templates))
    assert p.line == 10 and "template 'hello': the 'es' text has a mistake" in p.message


def test_template_roots():
    templates = 'templates:\n  hello:\n    en: "Hi {{ patient.diagnosis }} {{ org.name }}"\n'
    p = only(wf("""\
      - id: a
        sms: hello
    """, templates=templates))
    assert p.line == 7 and "uses 'patient'" in p.message


def test_a_text_template_may_not_name_the_patient():
    templates = 'templates:\n  hello:\n    en: "Hi {{ contact.first_name }}, {{ invoice.amount }} is due"\n'
    p = only(wf("""\
      - id: a
        sms: hello
      - id: b
        sms: hello
    """, templates=templates))  # reported once, at the template
    assert p.line == 8 and "sent by text" in p.message and "contact" in p.message


def test_template_fields_and_filters_are_checked_by_the_renderer():
    templates = ('templates:\n  hello:\n    en: "Hi {{ contact.last_name }}"\n'
                 '    es: "Hola {{ contact.first_name | shout }}"\n'
                 '    subject: {en: "Your balance"}\n')
    found = problems(wf("""\
      - id: a
        email: hello
    """, templates=templates))
    assert [p.line for p in found] == [7, 8]
    assert "contact.last_name" in found[0].message and "shout" in found[1].message


def test_email_templates_need_a_subject():
    templates = ('templates:\n  hello:\n    en: "Hi"\n    subject:\n      en: "Your balance"\n'
                 '      es: "Su saldo"\n  bare:\n    en: "Hi"\n')
    w = parse(wf("""\
      - id: a
        email: hello
    """, templates=templates))
    assert w.subject("hello", "es") == "Su saldo" and w.subject("hello", "fr") == "Your balance"
    p = only(wf("""\
      - id: a
        email: bare
    """, templates=templates))
    assert p.line == 11 and "has no English subject" in p.message


def test_retry_only_on_calls_and_sane_attempts():
    found = problems(wf("""\
      - id: a
        sms: hello
        retry: {attempts: 3, every: 1d}
      - id: b
        call: late_call
        retry: {attempts: 0, every: 1d}
      - id: c
        call: late_call
        retry: {attempts: 2}
    """))
    assert [p.line for p in found] == [5, 8, 11]
    assert "only calls are retried" in found[0].message
    assert "from 1 to 10" in found[1].message
    assert "needs both 'attempts' and 'every'" in found[2].message


def test_kind_specific_settings():
    found = problems(wf("""\
      - id: a
        sms: hello
        otherwise: end
      - id: b
        wait: 2d
        at: due_date
      - id: c
        end: done
        next: a
      - id: d
        update: {invoice.status: closed, patient.name: x}
    """))
    assert [p.line for p in found] == [5, 8, 11, 13, 13]
    assert "'otherwise:' belongs to a branch step" in found[0].message
    assert "drop 'at:'" in found[1].message
    assert "'next:' does not apply to the end step" in found[2].message


def test_handoffs_and_ends():
    w = parse(wf("""\
      - id: a
        handoff: {reason: hardship}
      - id: b
        handoff: to_person
      - id: c
        handoff:
      - id: d
        end: resolved
      - id: e
        end:
    """))
    assert w.step("a").reason == "hardship" and handoff_reason(w.step("a"), "dispute") == "hardship"
    assert handoff_reason(w.step("b"), "dispute") == "dispute"
    assert handoff_reason(w.step("b"), "wrong_person") == "reply_needs_reading"
    assert handoff_reason(w.step("c"), None) == "reply_needs_reading"
    assert w.step("d").reason == "resolved" and w.step("e").reason is None
    assert "reply_needs_reading" in HANDOFF_REASONS
    p = only(wf("""\
      - id: a
        handoff: Call Them!
    """))
    assert p.line == 4 and "lower-case letters" in p.message


def test_update_values_keep_their_meaning():
    w = parse(wf("""\
      - id: a
        update:
          contact.fields.status: no
          contact.fields.visits: 3
          enrollment.flag: true
          invoice.status: disputed
    """))
    assert w.step("a").set == {"contact.fields.status": "no", "contact.fields.visits": 3,
                               "enrollment.flag": True, "invoice.status": "disputed"}


def test_on_key_is_not_read_as_yaml_true():
    w = parse(wf("""\
      - id: a
        call: late_call
        on: {no_answer: end}
    """))
    assert w.step("a").on == {"no_answer": "end"}


def test_many_problems_are_all_reported_sorted_by_line():
    text = wf("""\
      - id: heads_up
        sms: heads
        at: due_date - three days
      - id: heads_up
        sms: hello
      - id: call
        call: late_call
        on: {promised: nowhere, sleepy: end}
        retry: {attempts: 3, every: 1d}
      - id: check
        branch:
          - if: invoice.balance >> 0
            goto: end
    """, extra="on_reply:\n  dispute: person\n")
    found = check(text)
    assert [p.line for p in found] == [3, 6, 7, 8, 12, 12, 16]
    with pytest.raises(WorkflowError) as info:
        parse(text)
    assert info.value.problems == found
    assert str(info.value).splitlines()[0] == "line 3: on_reply.dispute goes to 'person', which is not a step"
    assert format_problems(found[:1], "clinic.yaml") == (
        "clinic.yaml:3: on_reply.dispute goes to 'person', which is not a step")


def test_duplicate_keys_are_reported():
    p = only(wf("""\
      - id: a
        sms: hello
        sms: hello
    """))
    assert p.line == 5 and "'sms' is given twice" in p.message


def test_constants_are_consistent():
    assert len(KINDS) == 9 and "promised" in OUTCOMES
    assert Step(id="x", kind="end", line=1).on == {}
    assert Decimal("0") == 0


def test_a_notify_step_names_one_notice_from_the_list():
    w = parse(wf("""\
      - id: final
        notify: final_notice
        at: due_date + 30d
        next: end
    """))
    step = w.step("final")
    assert (step.kind, step.notice, step.at.days, step.next) == ("notify", "final_notice", 30, "end")
    assert "notify" in KINDS and "collections" in NOTICES
    p = only(wf("""\
      - id: to_agency
        notify: colections
    """))
    assert p.line == 4
    assert p.message.startswith("step 'to_agency': 'colections' is not a notice (did you mean 'collections'?)")
    assert "final_notice, no_reply, call_list, collections, write_off_review" in p.message
    for written in ("notify:", "notify: ''", "notify: {to: crm}", "notify: [collections]"):
        p = only(wf(f"""\
          - id: to_agency
            {written}
        """))
        assert "step 'to_agency': notify needs one notice, like 'notify: final_notice'" in p.message, written


def test_a_crm_or_webhook_setting_points_at_notify():
    found = problems(wf("""\
      - id: to_agency
        webhook: collections
    """))
    assert [p.line for p in found] == [3, 4]
    assert "unknown setting 'webhook'; to tell the CRM or the webhooks, write 'notify: <notice>'" in found[1].message
