"""The block editor's forms: one small Django form per block, read from and written to a `blocks.Draft`.

The whole draft travels in every POST (progressive enhancement: the page works without JavaScript; the
script only moves blocks by drag and refreshes the preview). Blocks point at each other by their `key`, so
renaming a block keeps the branches that lead to it. `read(data)` gives the draft (or the forms with their
errors); `data_for(draft)` writes a draft as the POST the forms read, so an edit (add, move, duplicate,
remove) is done on the draft and shown again through the same forms.
"""

from __future__ import annotations

import ast
import html
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.choices import BaseChoiceIterator
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from duedesk.core import conditions, vocabulary
from duedesk.core import workflow as wf
from duedesk.web import blocks

KIND_NAMES = {"sms": _("Text"), "email": _("Email"), "call": _("Call"), "wait": _("Wait"), "branch": _("Decide"),
              "handoff": _("Hand to a person"), "update": _("Record"), "notify": _("Tell other systems"),
              "end": _("Finish")}
LANGUAGE_NAMES = {"en": _("English"), "es": _("Spanish")}
WHEN_KINDS = [
    ("previous", _("Right after the block above")),
    ("due", _("Days before or after the due date")),
    ("promise", _("Days before or after the promised date")),
    ("after", _("A while after the block above")),
    ("day", _("On a day of the month")),
    ("event", _("A while after the event that started it")),
    ("written", _("As written")),
]
UNITS = [("d", _("days")), ("h", _("hours"))]
DIRECTIONS = [("-", _("before")), ("+", _("after"))]
# Which outcomes a block can lead somewhere by, in the order the editor lists them.
CALL_OUTCOMES = ("promised", "paid", "already_paid", "dispute", "hardship", "payment_plan", "request_human",
                 "wrong_person", "unclear", "callback_later", "opted_out", "no_answer", "voicemail", "completed",
                 "failed", "unreachable")
SEND_OUTCOMES = ("sent", "failed", "opted_out", "unreachable")
OTHER_OUTCOMES = ("completed",)
VARIABLES = ("org.name", "invoice.amount", "invoice.due_date", "invoice.pay_link", "promise.date",
             "org.callback_number")


def fast_selects(form: forms.Form) -> None:
    for f in form.fields.values():
        if isinstance(f, forms.ChoiceField) and type(f.widget) is forms.Select:
            f.widget = Select(choices=f.choices)


def outcome_words(outcome: str) -> str:
    """What a block ended with, in the page's language ("Could not be sent or placed", "No se pudo enviar")."""
    return pgettext("state", vocabulary.label(vocabulary.WORKFLOW_OUTCOMES, outcome))


def outcomes_for(kind: str, chosen) -> list[str]:
    base = CALL_OUTCOMES if kind == "call" else SEND_OUTCOMES if kind in ("sms", "email") else OTHER_OUTCOMES
    return list(base) + [o for o in wf.OUTCOMES if o in chosen and o not in base]


class Choices(BaseChoiceIterator):
    """Choices already as Django's forms normalize them, shared by every field that offers them (the
    editor's blocks all offer the same blocks to go to) and never copied: each language's <option>s are
    written once, and a select only marks the one chosen."""

    def __init__(self, items):
        self.items = list(items)
        self._options: dict[str | None, str] = {}

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def options(self, selected: str) -> str:
        language = get_language()
        written = self._options.get(language)
        if written is None:
            written = self._options[language] = "".join(
                f'<option value="{escape(choice)}">{escape(label)}</option>' for choice, label in self.items)
        chosen = f'<option value="{escape(selected)}">'
        return written.replace(chosen, chosen[:-1] + " selected>")


class Select(forms.Select):
    """A select written out directly: the editor has a hundred of them with twenty options each, and
    Django's template per option made the page take seconds."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        attrs["name"] = name
        selected = "" if value is None else str(value)
        if isinstance(self.choices, Choices):
            options = self.choices.options(selected)
        else:
            options = _options(self.choices, selected)
        return mark_safe(f"<select{_flatatt(attrs)}>{options}</select>")


def _options(choices, selected: str) -> str:
    """The options; a group (its label and its choices: the settings' time zones) in an optgroup."""
    out = []
    for value, label in choices:
        if isinstance(label, (list, tuple)):
            out.append(f'<optgroup label="{escape(value)}">{_options(label, selected)}</optgroup>')
        else:
            out.append(f'<option value="{escape(value)}"{" selected" if str(value) == selected else ""}>'
                       f"{escape(label)}</option>")
    return "".join(out)


def _flatatt(attrs: dict) -> str:
    """Django's flatatt (names in order, the valued ones first) without a format_html per attribute."""
    valued = sorted(((k, v) for k, v in attrs.items() if not isinstance(v, bool) and v is not None),
                    key=lambda item: item[0])
    bare = sorted(k for k, v in attrs.items() if v is True)
    return "".join(f' {escape(k)}="{escape(v)}"' for k, v in valued) + "".join(f" {escape(k)}" for k in bare)


WAIT_KINDS = Choices(WHEN_KINDS[1:])
UNIT_CHOICES = Choices(UNITS)
ATTEMPTS = Choices([("", _("One call, no retries"))] + [(str(n), str(n)) for n in range(2, 11)])
NOTICES = Choices((notice, pgettext_lazy("state", label)) for notice, label in vocabulary.WORKFLOW_NOTICES.items())


def escape(value) -> str:
    """conditional_escape without its lazy wrapper (a few thousand calls on the editor's page)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _attrs(attrs: dict) -> str:
    """Django's widgets/attrs.html: True a bare name, False left out, every value escaped."""
    return "".join(f" {escape(name)}" if value is True else f' {escape(name)}="{escape(value)}"'
                   for name, value in attrs.items() if value is not False)


class FastWidgets(DjangoTemplates):
    """Django's inputs and text areas written out as their templates write them, without a template each:
    the editor shows a hundred and fifty of them. Any other widget goes through its template."""

    def render(self, template_name, context, request=None):
        widget = context.get("widget") if template_name in _INPUTS or template_name == _TEXTAREA else None
        if widget is None:
            return super().render(template_name, context, request)
        attrs = _attrs(widget["attrs"])
        if template_name == _TEXTAREA:
            value = escape(widget["value"]) if widget["value"] else ""
            return mark_safe(f'<textarea name="{escape(widget["name"])}"{attrs}>\n{value}</textarea>')
        value = "" if widget["value"] is None else f' value="{escape(widget["value"])}"'
        return mark_safe(f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"{value}{attrs}>')


_INPUTS = {f"django/forms/widgets/{n}.html" for n in ("input", "text", "number", "hidden", "email", "url", "password",
                                                       "date", "time", "search", "tel")}
_TEXTAREA = "django/forms/widgets/textarea.html"
FAST_WIDGETS = FastWidgets()


class Fast:
    """A form (mixed in before forms.Form or forms.ModelForm) whose inputs, text areas and selects are written
    out directly (FAST_WIDGETS, Select): a Django template for each field and each of its attributes was most
    of the time of a contact's page."""

    default_renderer = FAST_WIDGETS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fast_selects(self)


# ----------------------------------------------------------------------------- when <-> at


def when_fields(at: str, kind: str) -> dict[str, str]:
    """A timing as written, as the editor's 'when' fields."""
    if not at:
        return {"when": "previous"}
    try:
        timing = wf.parse_timing(at)
    except ValueError:
        return {"when": "written", "when_text": at}
    if timing.kind == "relative" and timing.field in ("due_date", "promise.date"):
        return {"when": "due" if timing.field == "due_date" else "promise", "when_n": str(abs(timing.days)),
                "when_dir": "-" if timing.days < 0 else "+"}
    if timing.kind == "day_of_month":
        return {"when": "day", "when_n": str(timing.day)}
    if timing.kind in ("after", "trigger") and timing.duration is not None:
        minutes = int(timing.duration.total_seconds() // 60)
        for unit, size in (("d", 1440), ("h", 60)):
            if minutes % size == 0 and (minutes or timing.kind == "trigger"):
                return {"when": "after" if timing.kind == "after" else "event", "when_n": str(minutes // size),
                        "when_unit": unit}
    return {"when": "written", "when_text": at}


def timing_words(at: str, kind: str = "") -> str:
    """A timing as written, in the office's words: 'due_date - 3d' -> '3 days before the due date'."""
    if not at:
        return "" if kind == "wait" else str(_("right after the block above"))
    try:
        t = wf.parse_timing(at)
    except ValueError:
        return at
    if t.kind == "relative":
        return _relative_words(t.field or "", t.days)
    if t.kind == "day_of_month":
        return str(_("on day %(n)s of the month") % {"n": t.day})
    length = _length(t.duration)
    if t.kind == "trigger":
        return str(_("%(length)s after the event") % {"length": length}) if t.duration else str(_("when the event happens"))
    return str((_("for %(length)s") if kind == "wait" else _("%(length)s after the block above")) % {"length": length})


def _relative_words(field: str, days: int) -> str:
    """Days before or after a date, each phrase whole so a translation can say it its own way."""
    n = abs(days)
    if field == "due_date":
        if not days:
            return str(_("on the due date"))
        text = (ngettext("%(n)s day before the due date", "%(n)s days before the due date", n) if days < 0 else
                ngettext("%(n)s day after the due date", "%(n)s days after the due date", n))
    elif field == "promise.date":
        if not days:
            return str(_("on the promised date"))
        text = (ngettext("%(n)s day before the promised date", "%(n)s days before the promised date", n)
                if days < 0 else
                ngettext("%(n)s day after the promised date", "%(n)s days after the promised date", n))
    else:
        if not days:
            return str(_("on %(date)s") % {"date": field})
        text = (ngettext("%(n)s day before %(date)s", "%(n)s days before %(date)s", n) if days < 0 else
                ngettext("%(n)s day after %(date)s", "%(n)s days after %(date)s", n))
    return text % {"n": n, "date": field}


def _length(delta) -> str:
    minutes = int(delta.total_seconds() // 60) if delta else 0
    if minutes and minutes % 1440 == 0:
        return ngettext("%(n)s day", "%(n)s days", minutes // 1440) % {"n": minutes // 1440}
    if minutes and minutes % 60 == 0:
        return ngettext("%(n)s hour", "%(n)s hours", minutes // 60) % {"n": minutes // 60}
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


def at_from(cleaned: dict) -> str:
    when, n = cleaned.get("when"), cleaned.get("when_n") or 0
    if when == "due" or when == "promise":
        field = "due_date" if when == "due" else "promise.date"
        return f"{field} {cleaned.get('when_dir') or '+'} {n}d" if n else field
    if when == "day":
        return f"day {n}"
    if when == "after":
        return f"{n}{cleaned.get('when_unit') or 'd'}"
    if when == "event":
        return f"trigger + {n}{cleaned.get('when_unit') or 'h'}" if n else "trigger"
    if when == "written":
        return (cleaned.get("when_text") or "").strip()
    return ""


# ----------------------------------------------------------------------------- conditions <-> pickers

# What a condition can look at, in words; a name the draft records (enrollment.<name>, contact.fields.<name>)
# is offered too. `TYPES` says what a value must be; `VALUES` the values a field takes (offered as a list).
FIELDS = {
    "invoice.balance": _("Balance still owed"),
    "invoice.amount_due": _("Amount due"),
    "invoice.status": _("Invoice status"),
    "invoice.due_date": _("Due date"),
    "invoice.instalment_missed": _("An instalment of a plan was missed"),
    "invoice.currency": _("Currency"),
    "promise.status": _("Promise status"),
    "promise.date": _("Promised date"),
    "outcome": _("Outcome of the block before"),
    "contact.language": _("Patient's language"),
    "contact.outreach_on": _("Outreach switched on for the patient"),
    "enrollment.status": _("Reminders' status"),
}
TYPES = {"invoice.balance": "number", "invoice.amount_due": "number", "invoice.due_date": "date",
         "promise.date": "date", "invoice.instalment_missed": "yes_no", "contact.outreach_on": "yes_no"}
VALUES = {"outcome": vocabulary.WORKFLOW_OUTCOMES, "invoice.status": vocabulary.INVOICE_STATUSES,
          "promise.status": vocabulary.PROMISE_STATUSES, "enrollment.status": vocabulary.ENROLLMENT_STATUSES,
          "contact.language": {"en": "English", "es": "Spanish"},
          "invoice.instalment_missed": {"true": "Yes", "false": "No"},
          "contact.outreach_on": {"true": "Yes", "false": "No"}}
CLOSED = ("outcome", "invoice.status", "promise.status", "enrollment.status")  # no other value can be
OPERATORS = [("==", _("is")), ("!=", _("is not")), (">", _("is more than")), (">=", _("is at least")),
             ("<", _("is less than")), ("<=", _("is at most")), ("in", _("is one of")),
             ("not in", _("is none of"))]
WRITTEN = "written"
_NAME = re.compile("^(" + "|".join(conditions.ROOTS) + r")(\.[a-z_][a-z0-9_]*)*$", re.IGNORECASE)
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def field_words(name: str) -> str:
    if name in FIELDS:
        return str(FIELDS[name])
    if name.startswith("contact.fields."):
        return str(_("Patient's field: %(name)s") % {"name": blocks.words(name.removeprefix("contact.fields."))})
    if name.startswith("enrollment."):
        return str(_("Noted on these reminders: %(name)s") % {"name": blocks.words(name.removeprefix("enrollment."))})
    return name


def field_choices(extra=()) -> list[tuple[str, str]]:
    """The fields a condition's picker offers: the known ones, then those the draft records, then 'as written'."""
    known = _known_fields(get_language())
    more = sorted({n for n in extra if n and n not in FIELDS and _NAME.match(n)})
    return Choices([*known.items[:-1], *[(n, field_words(n)) for n in more], known.items[-1]]) if more else known


@lru_cache(maxsize=8)
def _known_fields(language: str | None) -> Choices:
    """Per language, in plain text: the editor shows these in every condition."""
    return Choices([("", "—")] + [(n, str(words)) for n, words in FIELDS.items()]
                   + [(WRITTEN, str(_("Something else, written as a condition")))])


@lru_cache(maxsize=8)
def _operators(language: str | None) -> Choices:
    return Choices([(op, str(words)) for op, words in OPERATORS])


def picked(condition: str) -> dict[str, str]:
    """A condition as the picker's fields when the pickers can say it (one name compared with a value or a
    list of values), else as written. 'if' keeps the condition as it was written either way."""
    out = {"if": condition, "if_field": WRITTEN}
    try:
        node = ast.parse(condition.strip(), mode="eval").body
    except SyntaxError:
        return out
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return out
    ops = {ast.Eq: "==", ast.NotEq: "!=", ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.In: "in",
           ast.NotIn: "not in"}
    op, name = ops.get(type(node.ops[0])), ast.get_source_segment(condition.strip(), node.left)
    right = node.comparators[0]
    if op is None or not name or not _NAME.match(name) or not isinstance(node.left, ast.Name | ast.Attribute):
        return out
    items = right.elts if op in ("in", "not in") and isinstance(right, ast.List | ast.Tuple) else [right]
    if op not in ("in", "not in") and isinstance(right, ast.List | ast.Tuple):
        return out
    shown = [_shown(condition.strip(), item) for item in items]
    if any(v is None for v in shown):
        return out
    return {**out, "if_field": name, "if_op": op, "if_value": ", ".join(shown)}


def _shown(source: str, node: ast.AST) -> str | None:
    """A value of a condition as typed in the picker: text bare unless it would read as something else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
        bare = text == text.strip() and text and _literal(text) == json.dumps(text, ensure_ascii=False)
        return text if bare and "," not in text and '"' not in text else json.dumps(text, ensure_ascii=False)
    segment = ast.get_source_segment(source, node)
    if segment is None:
        return None
    if isinstance(node, ast.Name) and node.id.lower() in ("true", "false", "null", "none"):
        return segment
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool | int | float)):
        return segment
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return segment
    return None


def _literal(text: str) -> str:
    """A value typed in the picker as the condition language writes it: numbers, true, false and null as
    they are, text in quotes."""
    text = text.strip()
    if text.lower() in ("true", "false", "null"):
        return text.lower()
    if _NUMBER.match(text):
        return text
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False)


_ITEM = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[^,]*?)\s*(?:,|$)')


def _items(text: str) -> list[str]:
    """'voicemail, no_answer' (or '"a, b", c') as its values."""
    return [m.group(1) for m in _ITEM.finditer(text) if m.group(1).strip()]


def written(field: str, op: str, value: str) -> str:
    """The picker's fields as a condition."""
    if op in ("in", "not in"):
        return f"{field} {op} [{', '.join(_literal(v) for v in _items(value))}]"
    return f"{field} {op} {_literal(value)}"


def condition_problem(field: str, op: str, value: str) -> str | None:
    """What is wrong with a condition picked, in words that name the field; None when nothing is."""
    words = field_words(field)
    values = _items(value) if op in ("in", "not in") else [value.strip()] if value.strip() else []
    if not values:
        return str(_("Say what “%(field)s” is compared with.") % {"field": words})
    kind = TYPES.get(field)
    for item in values:
        bare = item.strip().strip('"')
        if kind == "number" and not _NUMBER.match(item.strip()) and item.strip().lower() != "null":
            return str(_("“%(field)s” is an amount: compare it with a number, like 0 or 120.00.") % {"field": words})
        if kind == "date" and item.strip().lower() != "null" and not _DATE.match(bare):
            return str(_("“%(field)s” is a date: write it like 2027-03-01.") % {"field": words})
        if kind == "yes_no" and item.strip().lower() not in ("true", "false"):
            return str(_("“%(field)s” is true or false.") % {"field": words})
        if field in CLOSED and bare not in VALUES[field] and item.strip().lower() != "null":
            return str(_("“%(field)s” cannot be “%(value)s”; it is one of: %(values)s.")
                       % {"field": words, "value": bare, "values": ", ".join(VALUES[field])})
    if op in (">", ">=", "<", "<=") and kind not in ("number", "date") and not (
            _NUMBER.match(value.strip()) or _DATE.match(value.strip().strip('"'))):
        return str(_("“%(field)s” can be more or less than a number or a date only.") % {"field": words})
    try:
        conditions.compile_condition(written(field, op, value))
    except conditions.ConditionError as error:
        return f"“{words}”: {error}"
    return None


def same_condition(a: str, b: str) -> bool:
    try:
        return ast.dump(ast.parse(a.strip(), mode="eval")) == ast.dump(ast.parse(b.strip(), mode="eval"))
    except SyntaxError:
        return False


# ----------------------------------------------------------------------------- the forms


class WorkflowForm(forms.Form):
    default_renderer = FAST_WIDGETS
    name = forms.CharField(label=_("Workflow name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, max_length=500)
    trigger_kind = forms.ChoiceField(label=_("Starts"), widget=Select, choices=Choices([
        ("due_date", _("From each invoice's due date")), ("event", _("When an event happens")),
        ("field", _("When a contact field is switched on"))]))
    trigger_name = forms.CharField(label=_("Event or field name"), required=False, max_length=100)

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        stay = Choices([("", _("Stay where it is"))] + list(targets))
        for outcome in wf.OUTCOMES:
            self.fields[f"reply_{outcome}"] = forms.ChoiceField(
                label=outcome_words(outcome), required=False, widget=Select, choices=stay)
        fast_selects(self)


class BlockForm(forms.Form):
    default_renderer = FAST_WIDGETS
    order = forms.IntegerField(widget=forms.HiddenInput)
    key = forms.CharField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(widget=forms.HiddenInput, choices=Choices(KIND_NAMES.items()))
    name = forms.CharField(label=_("Name"), max_length=60)
    note = forms.CharField(label=_("Note for staff"), required=False, max_length=300)
    when = forms.ChoiceField(label=_("When"), choices=Choices(WHEN_KINDS), widget=Select)
    when_n = forms.IntegerField(label=_("How many"), required=False, min_value=0, max_value=3650)
    when_dir = forms.ChoiceField(label=_("Before or after"), choices=Choices(DIRECTIONS), required=False,
                                 widget=Select)
    when_unit = forms.ChoiceField(label=_("Unit"), choices=Choices(UNITS), required=False, widget=Select)
    when_text = forms.CharField(label=_("Time as written"), required=False, max_length=200,
                                help_text=_("Like 'due_date - 3d', 'contact.fields.visit_date + 1d' or '2d'"))

    def __init__(self, *args, kind: str, targets=(), languages=("en",), rows=0, sets=0, chosen=(), names=(),
                 after=None, goto=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.block_kind = kind
        self.languages = list(dict.fromkeys(["en", *languages, "es"])) if kind in ("sms", "email") else []
        self.rows, self.sets = rows, sets
        # What the blocks can lead to: the same for every block, so `read` makes them once for all.
        after = after if after is not None else Choices([("", _("Go on to the block below"))] + list(targets))
        if kind == "wait":
            self.fields["when"].choices = WAIT_KINDS
            self.fields["when"].label = _("Wait until")
        if kind in ("sms", "email"):
            self.fields["template"] = forms.CharField(widget=forms.HiddenInput, required=False)
            self.fields["langs"] = forms.CharField(widget=forms.HiddenInput, required=False)
            for lang in self.languages:
                words = LANGUAGE_NAMES.get(lang, lang)
                if kind == "email":
                    self.fields[f"subject_{lang}"] = forms.CharField(
                        label=_("Subject in %(language)s") % {"language": words}, required=False, max_length=300)
                self.fields[f"text_{lang}"] = forms.CharField(
                    label=_("Message in %(language)s") % {"language": words}, required=lang == "en",
                    widget=forms.Textarea(attrs={"rows": 3, "class": "message"}))
        if kind == "call":
            self.fields["template"] = forms.CharField(label=_("Call label"), max_length=60,
                                                      help_text=_("A name for this call, like late_call; every call "
                                                                  "runs the same polite script"))
            self.fields["retry_attempts"] = forms.TypedChoiceField(
                label=_("Attempts"), required=False, coerce=int, empty_value=None, widget=Select,
                choices=ATTEMPTS)
            self.fields["retry_n"] = forms.IntegerField(label=_("Tried again every"), required=False, min_value=1,
                                                        max_value=60)
            self.fields["retry_unit"] = forms.ChoiceField(label=_("Unit of the retry gap"), choices=UNIT_CHOICES,
                                                          required=False, widget=Select)
        if kind in blocks.ON_KINDS:
            for outcome in outcomes_for(kind, chosen):
                self.fields[f"on_{outcome}"] = forms.ChoiceField(label=outcome_words(outcome), required=False,
                                                                 choices=after, widget=Select)
        if kind not in ("branch", "end"):
            self.fields["next"] = forms.ChoiceField(label=_("Then"), required=False, choices=after, widget=Select)
        if kind == "branch":
            goto = goto if goto is not None else Choices([("", "—")] + list(targets))
            for j in range(rows + 1):
                n = {"n": j + 1}
                current = self._value(f"if_field_{j}") or ""
                self.fields[f"if_field_{j}"] = forms.ChoiceField(
                    label=_("Condition %(n)s: what it looks at") % n, required=False, widget=Select,
                    choices=field_choices([*names, current]))
                self.fields[f"if_op_{j}"] = forms.ChoiceField(
                    label=_("Condition %(n)s: how it compares") % n, required=False, widget=Select,
                    choices=_operators(get_language()))
                values = f"values-{current.replace('.', '-')}" if current in VALUES else None
                self.fields[f"if_value_{j}"] = forms.CharField(
                    label=_("Condition %(n)s: value") % n, required=False, max_length=300,
                    widget=forms.TextInput(attrs={"list": values} if values else {}),
                    help_text=_("A number, a word, true, false or null; for “is one of”, values separated by "
                                "commas") if j == 0 else "")
                self.fields[f"if_{j}"] = forms.CharField(
                    label=_("Condition %(n)s as written") % n, required=False, max_length=300,
                    help_text=_("With and, or, not and parentheses, like invoice.balance > 0 and "
                                "promise.status != \"kept\"") if j == 0 else "")
                self.fields[f"goto_{j}"] = forms.ChoiceField(
                    label=_("If true, go to (condition %(n)s)") % {"n": j + 1}, required=False, widget=Select,
                    choices=goto)
            self.fields["otherwise"] = forms.ChoiceField(label=_("Otherwise"), required=False, choices=after, widget=Select)
        if kind == "handoff":
            reasons = [(r, pgettext("state", label)) for r, label in vocabulary.HANDOFF_REASONS.items()
                       if r in wf.HANDOFF_REASONS]
            current = (self.data.get(self.add_prefix("reason")) if self.is_bound else self.initial.get("reason"))
            label_word = current if current and current not in wf.HANDOFF_REASONS else "to_person"
            self.fields["reason"] = forms.ChoiceField(
                label=_("Reason"), widget=Select, choices=Choices([(label_word, _("The answer that led here"))] + reasons))
        if kind == "notify":
            self.fields["notice"] = forms.ChoiceField(
                label=_("What they are told"), widget=Select, choices=NOTICES,
                help_text=_("Your CRM gets it as a note on the patient, your webhooks as a workflow.notice event; "
                            "Settings say which of them hear it"))
        if kind == "end":
            self.fields["reason"] = forms.SlugField(label=_("Why it finished (optional)"), required=False,
                                                    max_length=60)
        if kind == "update":
            for j in range(sets + 1):
                self.fields[f"set_name_{j}"] = forms.CharField(
                    label=_("Record %(n)s: what") % {"n": j + 1}, required=False, max_length=100,
                    help_text=_("promise.status, invoice.status, contact.fields.<name> or enrollment.<name>")
                    if j == 0 else "")
                self.fields[f"set_value_{j}"] = forms.CharField(
                    label=_("Record %(n)s: value") % {"n": j + 1}, required=False, max_length=200)
        fast_selects(self)

    # -- grouping for the template --

    def message_fields(self):
        samples, key = getattr(self, "samples", {}), self._value("key")
        return [{"lang": lang, "words": LANGUAGE_NAMES.get(lang, lang), "text": self[f"text_{lang}"],
                 "sample_id": f"sample-{key}-{lang}", "sample": samples.get(f"{key}-{lang}", ""),
                 "subject": self[f"subject_{lang}"] if self.block_kind == "email" else None,
                 "filled": bool(self._value(f"text_{lang}"))} for lang in self.languages]

    def has_outcomes(self):
        return any(self._value(name) for name in self.fields if name.startswith("on_"))

    def when_words(self):
        """When the block runs, in words, for its heading ('3 days before the due date')."""
        if not self.is_bound or self.errors:
            return ""
        return timing_words(at_from(self.cleaned_data), self.block_kind)

    def outcome_fields(self):
        return [self[name] for name in self.fields if name.startswith("on_")]

    def branch_rows(self):
        return [{"n": j + 1, "field": self[f"if_field_{j}"], "op": self[f"if_op_{j}"], "value": self[f"if_value_{j}"],
                 "text": self[f"if_{j}"], "goto": self[f"goto_{j}"]} for j in range(self.rows + 1)]

    def set_rows(self):
        return [(self[f"set_name_{j}"], self[f"set_value_{j}"]) for j in range(self.sets + 1)]

    def key_value(self):
        return self._value("key")

    def name_value(self):
        return self._value("name") or ""

    def when_fields(self):
        return [self[n] for n in ("when", "when_n", "when_dir", "when_unit", "when_text")]

    def hidden_extra(self):
        """The counts and names the next POST needs to build this block's forms again."""
        return {"rows": self.rows, "sets": self.sets, "langs": ",".join(self.languages)}

    def kind_words(self):
        return KIND_NAMES[self.block_kind]

    def _value(self, name):
        return self.data.get(self.add_prefix(name)) if self.is_bound else self.initial.get(name)

    def clean(self):
        cleaned = super().clean()
        when = cleaned.get("when")
        if when in ("due", "promise", "after", "day", "event") and cleaned.get("when_n") is None:
            self.add_error("when_n", _("Say how many."))
        if when == "after" and not cleaned.get("when_n"):
            self.add_error("when_n", _("Give a length of time above zero."))
        if when == "day" and not 1 <= (cleaned.get("when_n") or 0) <= 31:
            self.add_error("when_n", _("A day of the month is 1 to 31."))
        if when == "written":
            try:
                wf.parse_timing((cleaned.get("when_text") or "").strip())
            except ValueError as error:
                self.add_error("when_text", str(error))
        if self.block_kind == "call" and cleaned.get("retry_attempts") and not cleaned.get("retry_n"):
            self.add_error("retry_n", _("Say how long to wait between attempts."))
        if self.block_kind == "branch":
            for j in range(self.rows + 1):
                self._check_condition(cleaned, j)
        return cleaned

    def _field_of(self, c: dict, j: int) -> str:
        if self.add_prefix(f"if_field_{j}") not in self.data and (c.get(f"if_{j}") or "").strip():
            return WRITTEN  # a condition posted as text alone
        return c.get(f"if_field_{j}") or ""

    def _check_condition(self, c: dict, j: int) -> None:
        field, goto, text = self._field_of(c, j), c.get(f"goto_{j}"), (c.get(f"if_{j}") or "").strip()
        n = {"n": j + 1}
        if field == WRITTEN:
            if not text and not goto:
                return
            try:
                conditions.compile_condition(text)
            except conditions.ConditionError as error:
                self.add_error(f"if_{j}", str(_("Condition %(n)s: %(problem)s") % {**n, "problem": error}))
        elif field:
            problem = condition_problem(field, c.get(f"if_op_{j}") or "==", c.get(f"if_value_{j}") or "")
            if problem:
                self.add_error(f"if_value_{j}", problem)
        elif goto:
            self.add_error(f"if_field_{j}", _("Choose what condition %(n)s looks at.") % n)
            return
        else:
            return
        if not goto:
            self.add_error(f"goto_{j}", _("Choose where to go when condition %(n)s is true.") % n)

    def condition(self, j: int) -> str:
        """Condition j as the workflow writes it: as it was written when the pickers say the same."""
        c = self.cleaned_data
        field, text = self._field_of(c, j), (c.get(f"if_{j}") or "").strip()
        if field == WRITTEN or not field:
            return text if field else ""
        made = written(field, c.get(f"if_op_{j}") or "==", c.get(f"if_value_{j}") or "")
        return text if text and same_condition(text, made) else made

    def block(self) -> blocks.Block:
        c = self.cleaned_data
        block = blocks.Block(key=c["key"], kind=self.block_kind, name=c["name"].strip(), note=c.get("note", "").strip(),
                             at=at_from(c))
        if self.block_kind in ("sms", "email"):
            block.template = c.get("template") or ""
            block.texts = {lang: c[f"text_{lang}"].strip() for lang in self.languages if c.get(f"text_{lang}", "").strip()}
            if self.block_kind == "email":
                block.subjects = {lang: c[f"subject_{lang}"].strip() for lang in self.languages
                                  if c.get(f"subject_{lang}", "").strip()}
        if self.block_kind == "call":
            block.template = c["template"].strip()
            if c.get("retry_attempts"):
                block.retry_attempts = c["retry_attempts"]
                block.retry_every = f"{c['retry_n']}{c.get('retry_unit') or 'd'}"
        block.on = {name[3:]: c[name] for name in self.fields if name.startswith("on_") and c.get(name)}
        block.next = c.get("next") or ""
        if self.block_kind == "branch":
            block.branches = [(self.condition(j), c[f"goto_{j}"]) for j in range(self.rows + 1)
                              if self.condition(j) and c.get(f"goto_{j}")]
            block.otherwise = c.get("otherwise") or ""
        if self.block_kind in ("handoff", "end"):
            block.reason = c.get("reason") or ""
        if self.block_kind == "notify":
            block.notice = c.get("notice") or ""
        if self.block_kind == "update":
            block.set = [(c[f"set_name_{j}"].strip(), c[f"set_value_{j}"].strip()) for j in range(self.sets + 1)
                         if c.get(f"set_name_{j}", "").strip()]
        return block


# ----------------------------------------------------------------------------- draft <-> POST


def data_for(draft: blocks.Draft) -> dict[str, str]:
    """The draft as the POST its forms read."""
    data = {"name": draft.name, "description": draft.description, "trigger_kind": draft.trigger_kind,
            "trigger_name": draft.trigger_name, "b-count": str(len(draft.blocks)),
            "spare": _spare(draft.spare_templates)}
    data.update({f"reply_{o}": k for o, k in draft.on_reply.items()})
    for i, block in enumerate(draft.blocks):
        p = f"b{i}-"
        values = {"order": str(i), "key": block.key, "kind": block.kind, "name": block.name, "note": block.note,
                  **when_fields(block.at, block.kind), "template": block.template, "next": block.next,
                  "otherwise": block.otherwise, "reason": block.reason, "notice": block.notice,
                  "rows": str(len(block.branches)),
                  "sets": str(len(block.set))}
        if block.kind in ("sms", "email"):
            values["langs"] = ",".join(block.texts) or "en"
            values.update({f"text_{lang}": text for lang, text in block.texts.items()})
            values.update({f"subject_{lang}": text for lang, text in block.subjects.items()})
        if block.retry_attempts:
            gap = when_fields(block.retry_every, "wait")
            values.update(retry_attempts=str(block.retry_attempts), retry_n=gap.get("when_n", ""),
                          retry_unit=gap.get("when_unit", "d"))
        values.update({f"on_{o}": k for o, k in block.on.items()})
        for j, (condition, goto) in enumerate(block.branches):
            values.update({f"{name}_{j}": value for name, value in picked(condition).items()}, **{f"goto_{j}": goto})
        for j, (name, value) in enumerate(block.set):
            values.update({f"set_name_{j}": name, f"set_value_{j}": value})
        data.update({p + k: v for k, v in values.items()})
    return data


def _spare(templates: dict) -> str:
    import json

    return json.dumps(templates, ensure_ascii=False) if templates else ""


def _int(data, name: str, default: int = 0, top: int = 200) -> int:
    value = str(data.get(name, "")).strip()
    return min(int(value), top) if value.isdigit() else default


@dataclass
class Editor:
    """The block editor's bound forms, and the draft they give when they are valid."""

    head: WorkflowForm
    forms: list[BlockForm]
    spare: dict

    def is_valid(self) -> bool:
        head_ok = self.head.is_valid()
        return all([head_ok] + [f.is_valid() for f in self.forms])

    def draft(self) -> blocks.Draft:
        ordered = sorted(self.forms, key=lambda f: (f.cleaned_data["order"], self.forms.index(f)))
        c = self.head.cleaned_data
        kind = c["trigger_kind"]
        return blocks.Draft(
            name=c["name"].strip(), description=c.get("description", "").strip(), trigger_kind=kind,
            trigger_name=c.get("trigger_name", "").strip() if kind != "due_date" else "",
            on_reply={o: c[f"reply_{o}"] for o in wf.OUTCOMES if c.get(f"reply_{o}")},
            blocks=[f.block() for f in ordered], spare_templates=self.spare)

    def ordered(self) -> list[BlockForm]:
        def position(form):
            value = form.data.get(form.add_prefix("order"), "")
            return int(value) if str(value).lstrip("-").isdigit() else 0
        return sorted(self.forms, key=lambda f: (position(f), self.forms.index(f)))


_RECORDED = re.compile(r"^b[0-9]+-(set_name|if_field)_[0-9]+$")


@lru_cache(maxsize=8)
def value_lists(language: str | None = None) -> str:
    """The values a condition's field takes, as the lists its value input offers (one <datalist> each)."""
    return mark_safe("".join(
        f'<datalist id="values-{field.replace(".", "-")}">'
        + "".join(f'<option value="{escape(v)}">{escape(pgettext("state", label))}</option>' for v, label in values.items())
        + "</datalist>" for field, values in VALUES.items()))


def read(data) -> Editor:
    """The editor's forms bound to a POST (or to `data_for(draft)`)."""
    import json

    count = _int(data, "b-count")
    raw = []
    for i in range(count):
        p = f"b{i}-"
        kind = data.get(p + "kind", "")
        if kind not in KIND_NAMES:
            continue
        raw.append((p, kind, data.get(p + "key", ""), data.get(p + "name", "")))
    targets = [(key, name or key) for _p, _k, key, name in raw] + [(wf.END, _("Finish"))]
    after, goto = Choices([("", _("Go on to the block below"))] + targets), Choices([("", "—")] + targets)
    names = {str(v).strip() for k, v in data.items() if _RECORDED.match(k) and v}  # offered to every condition
    forms_ = []
    for p, kind, _key, _name in raw:
        langs = [x for x in str(data.get(p + "langs", "")).split(",") if x]
        langs += [k[len(p) + 5:] for k in data if k.startswith(p + "text_") and data.get(k)]
        chosen = [k[len(p) + 3:] for k in data if k.startswith(p + "on_") and data.get(k)]
        forms_.append(BlockForm(data, prefix=p[:-1], kind=kind, targets=targets, languages=langs,
                                rows=_int(data, p + "rows", top=20), sets=_int(data, p + "sets", top=20),
                                chosen=chosen, names=names, after=after, goto=goto))
    try:
        spare = json.loads(data.get("spare") or "{}")
        spare = spare if isinstance(spare, dict) else {}
    except ValueError:
        spare = {}
    return Editor(WorkflowForm(data, targets=targets), forms_, spare)
