"""Workflow definitions: YAML building blocks parsed and checked into frozen dataclasses.

A workflow is what a clinic's billing office edits, so every mistake is reported at once,
each with its YAML line, in words the office uses. The engine runs the result; nothing here
touches a database or a clock. The format is documented in docs/workflows.md.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

import yaml
from jinja2 import TemplateAssertionError, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from duedesk.core import compliance, content, vocabulary, yamltree
from duedesk.core import language as languages
from duedesk.core.conditions import ConditionError, compile_condition
from duedesk.core.render import TEXT_ROOTS, template_problems

KINDS = ("sms", "email", "call", "wait", "branch", "handoff", "update", "notify", "end")
OUTCOMES = ("sent", "failed", "paid", "promised", "dispute", "hardship", "payment_plan", "request_human",
            "already_paid", "wrong_person", "no_answer", "voicemail", "opted_out", "unclear",
            "callback_later", "completed", "unreachable")
HANDOFF_REASONS = tuple(vocabulary.HANDOFF_REASONS)
INVOICE_STATUSES = tuple(vocabulary.INVOICE_STATUSES)
NOTICES = tuple(vocabulary.WORKFLOW_NOTICES)
TEMPLATE_ROOTS = ("org", "contact", "invoice", "promise")
END = "end"

# A handoff whose reason is not one of HANDOFF_REASONS (e.g. `handoff: to_person`) is a label:
# the reason recorded is the outcome that led there, or this when that outcome is not a reason.
FALLBACK_HANDOFF_REASON = "reply_needs_reading"

_SLUG = re.compile(r"[a-z][a-z0-9_]*")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2,4})?")


class FrozenMap(Mapping):
    """A read-only, hashable dict, so steps stay frozen and usable as dict keys."""

    __slots__ = ("_data",)

    def __init__(self, items: Mapping | Iterable[tuple] = ()):
        object.__setattr__(self, "_data", dict(items))

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __setattr__(self, name, value):
        raise AttributeError("FrozenMap is read-only")

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


_EMPTY = FrozenMap()


@dataclass(frozen=True)
class Timing:
    kind: str  # "relative" | "day_of_month" | "after" | "trigger"
    # relative: "due_date" | "promise.date" | "contact.fields.<name>" | "invoice.<field>" | "trigger.date" |
    # "event.<name>" (a date the triggering event carried)
    field: str | None = None
    days: int = 0  # relative offset in days (negative = before)
    day: int | None = None  # day_of_month: 1..31, clamped to the month's length by the engine
    duration: timedelta | None = None  # after; trigger: time after the triggering moment
    source: str = ""  # as written, for messages


@dataclass(frozen=True)
class Trigger:
    """What starts a workflow: an invoice's due date (enrolled when it is added), an event about the
    invoice (`event: payment.failed`, from Stripe or POST /api/v1/events), or a CRM field flipped on."""

    kind: str = "due_date"  # "due_date" | "event" | "field"
    name: str = ""


@dataclass(frozen=True)
class Retry:
    attempts: int  # total attempts including the first
    every: timedelta  # gap between attempts; the engine lands it in the send window


@dataclass(frozen=True)
class Branch:
    condition: str
    goto: str  # step id or "end"
    line: int = 0


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    line: int
    at: Timing | None = None  # None: right after the previous step; a wait keeps its time here too
    template: str | None = None  # sms/email: template key; call: a script label
    on: Mapping[str, str] = _EMPTY
    next: str | None = None
    retry: Retry | None = None
    branches: tuple[Branch, ...] = ()
    otherwise: str | None = None
    set: Mapping[str, object] = _EMPTY
    reason: str | None = None  # handoff: reason or label; end: why the enrollment closed
    note: str | None = None
    notice: str | None = None  # notify: what the office's other systems are told (one of NOTICES)

    def targets(self) -> dict[str, str]:
        """Every step this one can lead to, keyed by where it is written (for checks and docs)."""
        found = {f"on.{outcome}": target for outcome, target in self.on.items()}
        if self.next:
            found["next"] = self.next
        for number, branch in enumerate(self.branches, 1):
            found[f"branch {number} goto"] = branch.goto
        if self.otherwise:
            found["otherwise"] = self.otherwise
        return found


@dataclass(frozen=True)
class Workflow:
    name: str
    steps: tuple[Step, ...]
    templates: Mapping[str, Mapping[str, str]]  # key -> {"en": ..., "es": ..., "subject.en": ...}
    on_reply: Mapping[str, str]
    description: str = ""
    trigger: Trigger = Trigger()
    _index: Mapping[str, int] = field(default=_EMPTY, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_index", FrozenMap((s.id, i) for i, s in enumerate(self.steps)))

    def step(self, step_id: str) -> Step:
        return self.steps[self._index[step_id]]

    def first(self) -> Step:
        return self.steps[0]

    def following(self, step_id: str) -> str | None:
        position = self._index[step_id] + 1
        return self.steps[position].id if position < len(self.steps) else None

    def next_for(self, step_id: str, outcome: str | None) -> str | None:
        """Where an enrollment goes after `step_id` finished with `outcome`.

        step.on[outcome], else step.next, else the following step. "end" or None: done.
        Branch steps are resolved by the engine, which evaluates their conditions.
        """
        step = self.step(step_id)
        if outcome is not None and outcome in step.on:
            return step.on[outcome]
        if step.next is not None:
            return step.next
        return self.following(step_id)

    def language_for(self, key: str, language: str | None) -> str:
        """The language template `key` is written to a contact of `language` in ("es-MX" -> "es"; English
        when the template has no text in it), so the whole message, opt-out line included, is in one."""
        entry = self.templates[key]
        return languages.for_message(language, [lang for lang in entry if entry[lang]])

    def text(self, key: str, language: str) -> str:
        """A template's body in `language` (any locale of it), falling back to English."""
        return self.templates[key][self.language_for(key, language)]

    def subject(self, key: str, language: str) -> str | None:
        """An email template's subject in `language`, falling back to English."""
        entry = self.templates[key]
        return entry.get(f"subject.{languages.for_message(language)}") or entry.get("subject.en")


def handoff_reason(step: Step, outcome: str | None) -> str:
    """The reason to record for a handoff step reached with `outcome` (see FALLBACK_HANDOFF_REASON)."""
    if step.reason in HANDOFF_REASONS:
        return step.reason
    if outcome in HANDOFF_REASONS:
        return outcome
    return FALLBACK_HANDOFF_REASON


class Problem(NamedTuple):
    line: int
    message: str


class WorkflowError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(f"line {p.line}: {p.message}" for p in self.problems))


def _say(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes and minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes} minutes" if minutes != 1 else "1 minute"


def format_problems(problems: Iterable[Problem], filename: str) -> str:
    return "\n".join(f"{filename}:{p.line}: {p.message}" for p in problems)


@functools.lru_cache(maxsize=256)
def _read(text: str) -> tuple[Workflow | None, tuple[Problem, ...]]:
    """The reader's verdict on a text, kept for the last texts read: the engine reads the versions it runs at
    every step, the workflow page reads one version several times (its blocks, its problems, its preview),
    and workflows are frozen."""
    workflow, problems = _Reader(text).read()
    return workflow, tuple(problems)


def parse(text: str) -> Workflow:
    workflow, problems = _read(text)
    if problems or workflow is None:
        raise WorkflowError(list(problems) or [Problem(1, "the workflow could not be read")])
    return workflow


def check(text: str) -> list[Problem]:
    """Every problem: the reader's (structure, references, variables) and the content linter's (clinical
    words, threats: core/content), sorted by line. `parse` runs only the reader, so a version stored
    before a word was added to a list still runs; saving a new version runs both."""
    problems = list(_read(text)[1]) + content_problems(text)
    return sorted(problems, key=lambda p: p.line)


def content_problems(text: str) -> list[Problem]:
    return [Problem(f.line, f.message) for f in content.lint(text)]


def load_default() -> tuple[str, Workflow]:
    from duedesk import workflows

    text = workflows.read("default")
    return text, parse(text)


# --- timing --------------------------------------------------------------------------------

_UNITS = {
    "min": timedelta(minutes=1), "minute": timedelta(minutes=1), "minutes": timedelta(minutes=1),
    "h": timedelta(hours=1), "hour": timedelta(hours=1), "hours": timedelta(hours=1),
    "d": timedelta(days=1), "day": timedelta(days=1), "days": timedelta(days=1),
    "w": timedelta(weeks=1), "week": timedelta(weeks=1), "weeks": timedelta(weeks=1),
}
_UNIT = "|".join(sorted(_UNITS, key=len, reverse=True))
_DURATION_PART = re.compile(rf"(\d+)\s*({_UNIT})\b")
_DURATION = re.compile(rf"(?:\s*\d+\s*(?:{_UNIT})\b\s*)+")
_FIELD = (r"due_date|promise\.date|trigger\.date|event\.[a-z][a-z0-9_]*|invoice\.[a-z][a-z0-9_]*"
          r"|contact\.fields\.[A-Za-z_][A-Za-z0-9_]*")
_TRIGGER = re.compile(rf"trigger(?:\s*\+\s*((?:\s*\d+\s*(?:{_UNIT})\b\s*)+))?")
_RELATIVE = re.compile(rf"({_FIELD})(?:\s*([+-])\s*(\d+)\s*([a-z]+))?")
_DAY_OF_MONTH = re.compile(r"day\s+(\d+)")
_TIMING_HELP = ("write it like 'due_date - 3d', 'promise.date + 1d', 'day 27', '2d', 'trigger + 1h' or "
                "'trigger.date + 1d'")


def parse_duration(text: str) -> timedelta:
    """'2d', '36h', '1w', '1d 12h', '90 minutes' -> timedelta. ValueError when unreadable."""
    cleaned = str(text).strip().lower()
    if not _DURATION.fullmatch(cleaned):
        raise ValueError(f"'{text}' is not a length of time; write it like '2d', '36h' or '1w'")
    total = sum((int(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(cleaned)), timedelta())
    if total <= timedelta():
        raise ValueError(f"'{text}' is no time at all; give a length of time above zero")
    return total


def parse_timing(text: str) -> Timing:
    """'due_date - 3d', 'promise.date', 'day 27', '2d' -> Timing. ValueError when unreadable."""
    source = str(text).strip()
    lowered = source.lower()
    if m := _DAY_OF_MONTH.fullmatch(lowered):
        day = int(m.group(1))
        if not 1 <= day <= 31:
            raise ValueError(f"'{source}': a day of the month is 1 to 31")
        return Timing(kind="day_of_month", day=day, source=source)
    if m := _TRIGGER.fullmatch(lowered):
        duration = parse_duration(m.group(1)) if m.group(1) else timedelta(0)
        return Timing(kind="trigger", duration=duration, source=source)
    if m := _RELATIVE.fullmatch(source):
        name, sign, amount, unit = m.groups()
        days = 0
        if sign:
            if unit in ("d", "day", "days"):
                days = int(amount)
            elif unit in ("w", "week", "weeks"):
                days = int(amount) * 7
            else:
                raise ValueError(f"'{source}': an offset from a date is in days or weeks, like '{name} - 3d'")
            days = -days if sign == "-" else days
        if name == "invoice.due_date":  # one spelling for the engine
            name = "due_date"
        return Timing(kind="relative", field=name, days=days, source=source)
    try:
        return Timing(kind="after", duration=parse_duration(lowered), source=source)
    except ValueError:
        raise ValueError(f"'{source}' is not a time duedesk understands; {_TIMING_HELP}") from None


# --- reading -------------------------------------------------------------------------------

_STEP_KEYS = frozenset(KINDS) | {"id", "at", "on", "next", "retry", "otherwise", "note"}
_TOP_KEYS = ("name", "description", "trigger", "on_reply", "steps", "templates")
TRIGGER_KINDS = ("due_date", "event", "field")
_ON_KINDS = ("sms", "email", "call", "wait", "handoff")
_NOTIFY_WORDS = frozenset({"crm", "webhook", "webhooks", "notice", "notification"})
_UPDATE_KEY = re.compile(r"(promise\.status|invoice\.status|contact\.fields\.[A-Za-z_][A-Za-z0-9_]*"
                         r"|enrollment\.[a-z][a-z0-9_]*)")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _scalar_value(node: yaml.ScalarNode) -> object:
    """A plain value for `update`; YAML 1.1's yes/no/on/off stay text, as staff mean them."""
    if node.style is None:
        lowered = node.value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered in ("null", "~", ""):
            return None
        if node.tag == "tag:yaml.org,2002:int":
            try:
                return int(node.value.replace("_", ""))
            except ValueError:
                return node.value
        if node.tag == "tag:yaml.org,2002:float":
            try:
                return Decimal(node.value.replace("_", ""))
            except ArithmeticError:
                return node.value
    return node.value


class _Reader:
    """Walks the composed YAML nodes (which carry line numbers), collecting every problem."""

    def __init__(self, text: str):
        self.text = text
        self.problems: list[Problem] = []
        self.env = SandboxedEnvironment()
        self.lines: dict[tuple[str, str], int] = {}  # (step id, "on.promised"/"next"/...) -> line

    def problem(self, node_or_line: yaml.Node | int, message: str) -> None:
        line = node_or_line if isinstance(node_or_line, int) else _line(node_or_line)
        self.problems.append(Problem(line, message))

    def read(self) -> tuple[Workflow | None, list[Problem]]:
        workflow = self._read()
        self.problems.sort(key=lambda p: p.line)
        return (None if self.problems else workflow), self.problems

    # -- generic node helpers --

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """(key, key node, value node) for a mapping, reporting non-text and repeated keys."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} should be a list of 'name: value' settings")
            return []
        seen: set[str] = set()
        pairs = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, f"{what}: a setting name must be plain text")
                continue
            key = key_node.value
            if key in seen:
                self.problem(key_node, f"{what}: '{key}' is given twice")
                continue
            seen.add(key)
            pairs.append((key, key_node, value_node))
        return pairs

    def text_value(self, node: yaml.Node, what: str, *, slug: bool = False) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.value == "" and node.style is None:
            self.problem(node, f"{what} should be a single word or phrase")
            return None
        value = node.value.strip()
        if slug and not _SLUG.fullmatch(value):
            self.problem(node, f"{what}: '{value}' should be lower-case letters, digits and underscores, "
                               "starting with a letter")
            return None
        return value

    # -- the document --

    def _read(self) -> Workflow | None:
        try:
            root = yamltree.compose(self.text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            what = ", ".join(part for part in (exc.context, exc.problem) if part)
            self.problem(line, f"this is not valid YAML: {what}")
            return None
        except yaml.YAMLError as exc:
            self.problem(1, f"this is not valid YAML: {exc}")
            return None
        if root is None:
            self.problem(1, "the workflow is empty")
            return None
        if not isinstance(root, yaml.MappingNode):
            self.problem(root, "a workflow starts with 'name:', 'steps:' and 'templates:'")
            return None

        parts: dict[str, yaml.Node] = {}
        for key, key_node, value_node in self.mapping(root, "the workflow"):
            if key not in _TOP_KEYS:
                self.problem(key_node, f"unknown setting '{key}' at the top of the workflow"
                                       f"{_hint(key, _TOP_KEYS)}")
            else:
                parts[key] = value_node

        name = ""
        if "name" in parts:
            name = self.text_value(parts["name"], "name") or ""
        else:
            self.problem(root, "the workflow has no 'name:'")
        description = ""
        if "description" in parts:
            description = self.text_value(parts["description"], "description") or ""

        trigger = self._trigger(parts["trigger"]) if "trigger" in parts else Trigger()
        templates = self._templates(parts["templates"]) if "templates" in parts else {}
        if "steps" not in parts:
            self.problem(root, "the workflow has no 'steps:'")
            steps: list[Step] = []
        else:
            steps = self._steps(parts["steps"])
        on_reply = self._on_reply(parts["on_reply"]) if "on_reply" in parts else {}

        ids = {s.id for s in steps}
        self._check_references(steps, on_reply, ids)
        self._check_templates_used(steps, templates)
        self._check_trigger_timings(steps, trigger)
        if not steps:
            return None
        return Workflow(
            name=name,
            description=description,
            trigger=trigger,
            steps=tuple(steps),
            templates=FrozenMap((k, FrozenMap(v)) for k, (v, _line_no) in templates.items()),
            on_reply=FrozenMap((k, v) for k, (v, _n) in on_reply.items()),
        )

    # -- the trigger --

    def _trigger(self, node: yaml.Node) -> Trigger:
        if isinstance(node, yaml.ScalarNode):
            if node.value == "due_date":
                return Trigger()
            self.problem(node, "trigger: write 'due_date', or 'event: <type>' or 'field: <name>' on their own lines")
            return Trigger()
        entries = self.mapping(node, "trigger")
        if len(entries) != 1 or entries[0][0] not in ("event", "field"):
            self.problem(node, "trigger: give one of 'event: <type>' (e.g. payment.failed) or 'field: <name>'")
            return Trigger()
        kind, _, value_node = entries[0]
        name = self.text_value(value_node, f"trigger {kind}") or ""
        if not re.fullmatch(r"[a-z][a-z0-9_.]*" if kind == "event" else r"[A-Za-z_][A-Za-z0-9_]*", name):
            self.problem(value_node, f"trigger {kind}: '{name}' is not a name (letters, digits, '_'"
                                     f"{' and .' if kind == 'event' else ''})")
            return Trigger()
        return Trigger(kind=kind, name=name)

    def _check_trigger_timings(self, steps: list[Step], trigger: Trigger) -> None:
        if trigger.kind != "due_date":
            return
        for step in steps:
            field_name = step.at.field if step.at else None
            if step.at and (step.at.kind == "trigger" or field_name == "trigger.date"
                            or (field_name or "").startswith("event.")):
                self.problem(step.line, f"step '{step.id}': '{step.at.source}' needs a workflow started by an "
                                        f"event or a field (add 'trigger: {{event: <type>}}')")

    # -- templates --

    def _templates(self, node: yaml.Node) -> dict[str, tuple[dict[str, str], int]]:
        found: dict[str, tuple[dict[str, str], int]] = {}
        for key, key_node, value_node in self.mapping(node, "templates"):
            if not _SLUG.fullmatch(key):
                self.problem(key_node, f"template '{key}': a template name is lower-case letters, digits "
                                       "and underscores")
                continue
            texts: dict[str, str] = {}
            for lang, lang_node, text_node in self.mapping(value_node, f"template '{key}'"):
                if lang == "subject":
                    for slang, slang_node, stext_node in self.mapping(text_node, f"template '{key}' subject"):
                        if self._language_ok(key, slang, slang_node):
                            body = self._template_text(key, f"subject in '{slang}'", stext_node)
                            if body is not None:
                                texts[f"subject.{slang}"] = body
                    continue
                if not self._language_ok(key, lang, lang_node):
                    continue
                body = self._template_text(key, f"'{lang}' text", text_node)
                if body is not None:
                    texts[lang] = body
            if isinstance(value_node, yaml.MappingNode) and not any(
                    isinstance(k, yaml.ScalarNode) and k.value == "en" for k, _v in value_node.value):
                self.problem(key_node, f"template '{key}' has no English ('en') text; English is the fallback "
                                       "for every language")
            if any(k.startswith("subject.") for k in texts) and "subject.en" not in texts:
                self.problem(key_node, f"template '{key}' has a subject but none in English ('en')")
            found[key] = (texts, _line(key_node))
        return found

    def _language_ok(self, key: str, lang: str, lang_node: yaml.Node) -> bool:
        if _LANGUAGE.fullmatch(lang):
            return True
        self.problem(lang_node, f"template '{key}': '{lang}' is not a language code like 'en' or 'es' "
                                "(or 'subject' for an email)")
        return False

    def _template_text(self, key: str, what: str, node: yaml.Node) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"template '{key}': the {what} should be text")
            return None
        body = node.value
        # Block scalars (| or >) start on the line after the indicator.
        first_line = _line(node) + (1 if node.style in ("|", ">") else 0)
        try:
            tree = self.env.parse(body)
        except TemplateSyntaxError as exc:
            self.problem(first_line + max((exc.lineno or 1) - 1, 0),
                         f"template '{key}': the {what} has a mistake in its {{{{ }}}} placeholders: {exc.message}")
            return body
        try:
            outside = sorted(set(meta.find_undeclared_variables(tree)) - set(TEMPLATE_ROOTS))
        except TemplateAssertionError:
            outside = []  # an unknown filter: the renderer, which knows its filters, reports it
        for name in outside:
            self.problem(first_line, f"template '{key}': the {what} uses '{name}', but a message may only "
                                     f"use {', '.join(TEMPLATE_ROOTS)}")
        if not outside:
            # The renderer's own checks: only the fields a message may show, known filters.
            for message in template_problems(body):
                self.problem(first_line, f"template '{key}': the {what}: {message.rstrip('.')}")
        return body

    # -- steps --

    def _steps(self, node: yaml.Node) -> list[Step]:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, "steps should be a list, each step starting with '- id:'")
            return []
        if not node.value:
            self.problem(node, "the workflow has no steps")
        steps: list[Step] = []
        seen: dict[str, int] = {}
        for position, step_node in enumerate(node.value, 1):
            step = self._step(step_node, position)
            if step is None:
                continue
            if step.id in seen:
                self.problem(step_node, f"step '{step.id}' is used twice (first on line {seen[step.id]}); "
                                        "each step needs its own id")
                continue
            seen[step.id] = step.line
            steps.append(step)
            self._record_lines(step.id, step_node)
        return steps

    def _step(self, node: yaml.Node, position: int) -> Step | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"step {position} should be a list of settings starting with 'id:'")
            return None
        pairs = self.mapping(node, f"step {position}")
        values = {key: value_node for key, _k, value_node in pairs}

        step_id = None
        if "id" not in values:
            self.problem(node, f"step {position} has no 'id:'")
        else:
            step_id = self.text_value(values["id"], f"step {position} id", slug=True)
            if step_id == END:
                self.problem(values["id"], f"step {position}: 'end' is reserved for finishing; pick another id")
                step_id = None
        label = f"step '{step_id}'" if step_id else f"step {position}"

        for key, key_node, _v in pairs:
            if key in _NOTIFY_WORDS:
                self.problem(key_node, f"{label}: unknown setting '{key}'; to tell the CRM or the webhooks, "
                                       "write 'notify: <notice>' (Settings say which systems hear it)")
            elif key not in _STEP_KEYS:
                self.problem(key_node, f"{label}: unknown setting '{key}'{_hint(key, _STEP_KEYS)}")
        kinds = [k for k in KINDS if k in values]
        if not kinds:
            self.problem(node, f"{label} does not say what to do; give one of {', '.join(KINDS)}")
            return None
        if len(kinds) > 1:
            self.problem(node, f"{label} has {' and '.join(kinds)}; a step does one thing, so split it into "
                               "separate steps")
            return None
        kind = kinds[0]
        kind_node = values[kind]
        extra: dict[str, object] = {}

        if kind in ("sms", "email", "call"):
            extra["template"] = self.text_value(kind_node, f"{label}: {kind}", slug=True)
        elif kind == "wait":
            extra["at"] = self._wait(kind_node, label)
            if "at" in values:
                self.problem(values["at"], f"{label}: a wait gives its time after 'wait:', so drop 'at:'")
        elif kind == "branch":
            extra["branches"] = self._branches(kind_node, label)
        elif kind == "handoff":
            extra["reason"] = self._handoff(kind_node, label)
        elif kind == "update":
            extra["set"] = self._update(kind_node, label)
        elif kind == "notify":
            extra["notice"] = self._notify(kind_node, label)
        elif kind == "end":
            if not (isinstance(kind_node, yaml.ScalarNode) and kind_node.value == ""):
                extra["reason"] = self.text_value(kind_node, f"{label}: end", slug=True)

        if "at" in values and kind != "wait":
            extra["at"] = self._timing(values["at"], f"{label}: at")
        if "on" in values:
            if kind in _ON_KINDS:
                extra["on"] = FrozenMap(self._outcomes(values["on"], f"{label}: on"))
            else:
                self.problem(values["on"], f"{label}: a {kind} step has no outcomes, so 'on:' does not apply")
        if "next" in values:
            if kind in ("end", "branch"):
                hint = "use 'otherwise:'" if kind == "branch" else "the workflow finishes there"
                self.problem(values["next"], f"{label}: 'next:' does not apply to the {kind} step ({hint})")
            else:
                extra["next"] = self.text_value(values["next"], f"{label}: next", slug=True)
        if "retry" in values:
            if kind == "call":
                extra["retry"] = self._retry(values["retry"], label)
            else:
                self.problem(values["retry"], f"{label}: only calls are retried; 'retry:' does not apply "
                                              f"to a {kind} step")
        if "otherwise" in values:
            if kind == "branch":
                extra["otherwise"] = self.text_value(values["otherwise"], f"{label}: otherwise", slug=True)
            else:
                self.problem(values["otherwise"], f"{label}: 'otherwise:' belongs to a branch step")
        if "note" in values:
            extra["note"] = self.text_value(values["note"], f"{label}: note")

        if step_id is None:
            return None
        return Step(id=step_id, kind=kind, line=_line(node), **extra)  # type: ignore[arg-type]

    def _record_lines(self, step_id: str, node: yaml.MappingNode) -> None:
        """Remember where a step's references are written, to point problems at their own line."""
        for key_node, value_node in node.value:
            key = getattr(key_node, "value", "")
            if key in (*KINDS, "next", "otherwise"):
                self.lines[(step_id, key)] = _line(value_node)
            if key == "on" and isinstance(value_node, yaml.MappingNode):
                for outcome_node, target_node in value_node.value:
                    self.lines[(step_id, f"on.{getattr(outcome_node, 'value', '')}")] = _line(target_node)

    def _timing(self, node: yaml.Node, what: str) -> Timing | None:
        text = self.text_value(node, what)
        if text is None:
            return None
        try:
            return parse_timing(text)
        except ValueError as exc:
            self.problem(node, f"{what}: {exc}")
            return None

    def _wait(self, node: yaml.Node, label: str) -> Timing | None:
        text = self.text_value(node, f"{label}: wait")
        if text is None:
            return None
        if text.lower().startswith("until "):
            timing = self._timing_text(node, text[len("until "):].strip(), f"{label}: wait")
            if timing is not None and timing.kind == "after":
                self.problem(node, f"{label}: wait '{text}': after 'until' give a date, like 'until due_date + 1d' "
                                   "or 'until day 8'; for a length of time drop 'until'")
                return None
            return timing
        return self._timing_text(node, text, f"{label}: wait")

    def _timing_text(self, node: yaml.Node, text: str, what: str) -> Timing | None:
        try:
            return parse_timing(text)
        except ValueError as exc:
            self.problem(node, f"{what}: {exc}")
            return None

    def _outcomes(self, node: yaml.Node, what: str) -> dict[str, str]:
        found = {}
        for outcome, key_node, value_node in self.mapping(node, what):
            if outcome not in OUTCOMES:
                self.problem(key_node, f"{what}: '{outcome}' is not an outcome{_hint(outcome, OUTCOMES)}; "
                                       f"outcomes are {', '.join(OUTCOMES)}")
                continue
            target = self.text_value(value_node, f"{what}.{outcome}", slug=True)
            if target:
                found[outcome] = target
        return found

    def _retry(self, node: yaml.Node, label: str) -> Retry | None:
        pairs = {key: (key_node, value_node) for key, key_node, value_node in self.mapping(node, f"{label}: retry")}
        for key, (key_node, _v) in pairs.items():
            if key not in ("attempts", "every"):
                self.problem(key_node, f"{label}: retry has 'attempts' and 'every', not '{key}'")
        attempts = every = None
        if "attempts" not in pairs or "every" not in pairs:
            if isinstance(node, yaml.MappingNode):
                self.problem(node, f"{label}: retry needs both 'attempts' and 'every', like "
                                   "{attempts: 3, every: 1d}")
        if "attempts" in pairs:
            value_node = pairs["attempts"][1]
            raw = value_node.value if isinstance(value_node, yaml.ScalarNode) else ""
            if raw.isdigit() and 1 <= int(raw) <= 10:
                attempts = int(raw)
            else:
                self.problem(value_node, f"{label}: retry attempts should be a whole number from 1 to 10 "
                                         "(the first call counts)")
        if "every" in pairs:
            value_node = pairs["every"][1]
            text = self.text_value(value_node, f"{label}: retry every")
            if text is not None:
                try:
                    every = parse_duration(text)
                except ValueError as exc:
                    self.problem(value_node, f"{label}: retry every: {exc}")
        if attempts is None or every is None:
            return None
        self._retry_limits(node, label, attempts, every)
        return Retry(attempts=attempts, every=every)

    def _retry_limits(self, node: yaml.Node, label: str, attempts: int, every: timedelta) -> None:
        """A retry the call rules would never let run as written is refused here, naming the block."""
        for problem in compliance.retry_problems(attempts, every):
            self.problem(node, f"{label}: retry {{attempts: {attempts}, every: {_say(every)}}} can't be "
                               f"honoured: {problem}")

    def _branches(self, node: yaml.Node, label: str) -> tuple[Branch, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, f"{label}: a branch is a list of '- if: ...' with 'goto: ...'")
            return ()
        branches = []
        for number, item in enumerate(node.value, 1):
            what = f"{label}: branch {number}"
            pairs = {key: (key_node, value_node) for key, key_node, value_node in self.mapping(item, what)}
            for key, (key_node, _v) in pairs.items():
                if key not in ("if", "goto"):
                    self.problem(key_node, f"{what}: a branch has 'if' and 'goto', not '{key}'")
            condition = goto = None
            if "if" not in pairs or "goto" not in pairs:
                if isinstance(item, yaml.MappingNode):
                    missing = " and ".join(k for k in ("if", "goto") if k not in pairs)
                    self.problem(item, f"{what} has no '{missing}'")
            if "if" in pairs:
                value_node = pairs["if"][1]
                condition = self.text_value(value_node, f"{what} if")
                if condition is not None:
                    try:
                        compile_condition(condition)
                    except ConditionError as exc:
                        self.problem(value_node, f"{what}: {exc}")
                        condition = None
            if "goto" in pairs:
                goto = self.text_value(pairs["goto"][1], f"{what} goto", slug=True)
            if condition is not None and goto is not None:
                branches.append(Branch(condition=condition, goto=goto, line=_line(item)))
        return tuple(branches)

    def _handoff(self, node: yaml.Node, label: str) -> str | None:
        if isinstance(node, yaml.MappingNode):
            pairs = {key: (key_node, value_node) for key, key_node, value_node in
                     self.mapping(node, f"{label}: handoff")}
            for key, (key_node, _v) in pairs.items():
                if key != "reason":
                    self.problem(key_node, f"{label}: a handoff has a 'reason', not '{key}'")
            if "reason" not in pairs:
                return None
            node = pairs["reason"][1]
        if isinstance(node, yaml.ScalarNode) and node.value == "":
            return None
        return self.text_value(node, f"{label}: handoff reason", slug=True)

    def _notify(self, node: yaml.Node, label: str) -> str | None:
        choices = ", ".join(NOTICES)
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            self.problem(node, f"{label}: notify needs one notice, like 'notify: final_notice'; notices are {choices}")
            return None
        notice = node.value
        if notice not in NOTICES:
            self.problem(node, f"{label}: '{notice}' is not a notice{_hint(notice, NOTICES)}; notices are {choices}")
            return None
        return notice

    def _update(self, node: yaml.Node, label: str) -> FrozenMap:
        found = {}
        pairs = self.mapping(node, f"{label}: update")
        if isinstance(node, yaml.MappingNode) and not pairs:
            self.problem(node, f"{label}: update has nothing to set")
        for key, key_node, value_node in pairs:
            if not _UPDATE_KEY.fullmatch(key):
                self.problem(key_node, f"{label}: update cannot set '{key}'; it can set promise.status, "
                                       "invoice.status, contact.fields.<name> or enrollment.<name>")
                continue
            if not isinstance(value_node, yaml.ScalarNode):
                self.problem(value_node, f"{label}: update {key} should be a single value")
                continue
            value = _scalar_value(value_node)
            if key == "invoice.status" and value not in INVOICE_STATUSES:
                self.problem(value_node, f"{label}: '{value}' is not an invoice status; use one of "
                                         f"{', '.join(INVOICE_STATUSES)}")
                continue
            if key == "promise.status" and not (isinstance(value, str) and _SLUG.fullmatch(value)):
                self.problem(value_node, f"{label}: promise.status should be a word like 'broken' or 'kept'")
                continue
            found[key] = value
        return FrozenMap(found)

    # -- on_reply and cross references --

    def _on_reply(self, node: yaml.Node) -> dict[str, tuple[str, int]]:
        found = {}
        for outcome, key_node, value_node in self.mapping(node, "on_reply"):
            if outcome not in OUTCOMES:
                self.problem(key_node, f"on_reply: '{outcome}' is not an outcome{_hint(outcome, OUTCOMES)}; "
                                       f"outcomes are {', '.join(OUTCOMES)}")
                continue
            target = self.text_value(value_node, f"on_reply.{outcome}", slug=True)
            if target:
                found[outcome] = (target, _line(value_node))
        return found

    def _check_references(self, steps: list[Step], on_reply: dict[str, tuple[str, int]], ids: set[str]) -> None:
        def check_target(line: int, where: str, target: str) -> None:
            if target != END and target not in ids:
                self.problem(line, f"{where} goes to '{target}', which is not a step{_hint(target, ids)}")

        for step in steps:
            for where, target in step.targets().items():
                check_target(self._target_line(step, where), f"step '{step.id}': {where}", target)
        for outcome, (target, line) in on_reply.items():
            check_target(line, f"on_reply.{outcome}", target)

    def _target_line(self, step: Step, where: str) -> int:
        """Best line for a reference inside a step: its own line when known, else the step's."""
        if where.startswith("branch "):
            number = int(where.split()[1])
            return step.branches[number - 1].line or step.line
        return self.lines.get((step.id, where), step.line)

    def _names_patient(self, texts: Mapping[str, str]) -> bool:
        for body in texts.values():
            try:
                names = set(meta.find_undeclared_variables(self.env.parse(body)))
                if names & set(TEMPLATE_ROOTS) - set(TEXT_ROOTS):  # unknown roots are reported elsewhere
                    return True
            except (TemplateSyntaxError, TemplateAssertionError):
                continue  # reported where the template is read
        return False

    def _check_templates_used(self, steps: list[Step], templates: dict[str, tuple[dict[str, str], int]]) -> None:
        named: set[str] = set()  # templates already reported for naming the patient in a text
        for step in steps:
            if step.kind not in ("sms", "email") or not step.template:
                continue
            if step.template not in templates:
                self.problem(self.lines.get((step.id, step.kind), step.line),
                             f"step '{step.id}': the {step.kind} uses template '{step.template}', "
                                        f"which is not under 'templates:'{_hint(step.template, templates)}")
            elif step.kind == "sms" and step.template not in named and self._names_patient(templates[step.template][0]):
                named.add(step.template)
                self.problem(templates[step.template][1],
                             f"template '{step.template}' is sent by text (step '{step.id}'): a text may name "
                             "only the organization, the amount, the due date and the pay link, "
                             "so leave out {{ contact... }}")
            elif step.kind == "email" and "subject.en" not in templates[step.template][0]:
                self.problem(templates[step.template][1],
                             f"template '{step.template}' is sent by email (step '{step.id}') but has no "
                             "English subject ('subject: {en: ...}')")
