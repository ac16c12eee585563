"""A workflow as a list of blocks, and back to YAML.

The YAML stays the saved format (docs/workflows.md); the block editor is another way to write it. A
`Draft` holds what the editor shows: the workflow's settings and one `Block` per step, each naming the
steps it leads to by a `key` that does not change while the block is renamed. `from_workflow` reads a
parsed workflow into a draft, `to_yaml` writes a draft back; the two keep every setting the checker
reads, so YAML -> blocks -> YAML means the same workflow (`meaning` is what tests compare).
`to_yaml_over` writes a draft over the text it was read from, keeping that text's comments and layout.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

import yaml

from duedesk.core import workflow as wf

ON_KINDS = ("sms", "email", "call", "wait", "handoff")
_WORD = re.compile(r"[^a-z0-9]+")


def words(step_id: str) -> str:
    """A step id in words: 'late_call' -> 'Late call'."""
    text = step_id.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def slug(name: str) -> str:
    """A block's name as a step id: 'Late call (2)' -> 'late_call_2'; 'step' when nothing is left."""
    text = _WORD.sub("_", name.strip().lower()).strip("_")
    if not text or not text[0].isalpha():
        text = f"step_{text}".rstrip("_")
    return "step" if text == wf.END else text


@dataclass
class Block:
    key: str  # the handle other blocks point at while editing (the step id it was read from)
    kind: str
    name: str  # in words; the step id is made from it
    note: str = ""
    at: str = ""  # the timing as written ("" = right after the previous block); a wait's time
    template: str = ""  # sms/email: the template's name; call: the call script's label
    texts: dict[str, str] = field(default_factory=dict)  # language -> message (sms, email)
    subjects: dict[str, str] = field(default_factory=dict)  # language -> subject (email)
    on: dict[str, str] = field(default_factory=dict)  # outcome -> key (or "end")
    next: str = ""
    retry_attempts: int | None = None
    retry_every: str = ""
    branches: list[tuple[str, str]] = field(default_factory=list)  # (condition, key)
    otherwise: str = ""
    reason: str = ""  # handoff: reason or label; end: why it finished
    set: list[tuple[str, str]] = field(default_factory=list)  # (name, value as written)
    notice: str = ""  # notify: what the office's other systems are told (core.workflow.NOTICES)

    @property
    def step_id(self) -> str:
        return slug(self.name)


@dataclass
class Draft:
    name: str
    description: str = ""
    trigger_kind: str = "due_date"
    trigger_name: str = ""
    on_reply: dict[str, str] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    spare_templates: dict[str, dict[str, str]] = field(default_factory=dict)  # used by no block


# ----------------------------------------------------------------------------- YAML -> blocks


def value_text(value: object) -> str:
    """An update's value as staff type it: true, 3, 1.5, null, or text (quoted when it would read as more)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return str(value)
    return value if read_value(value) == value else json.dumps(value, ensure_ascii=False)


def read_value(text: str) -> object:
    """An update's value typed in the editor, read as the workflow reader reads it."""
    try:
        node = yaml.compose(f"v: {text}" if text.strip() else "v:", Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return text
    value_node = node.value[0][1] if node is not None and node.value else None
    if not isinstance(value_node, yaml.ScalarNode):
        return text
    return wf._scalar_value(value_node)


def from_workflow(definition: wf.Workflow) -> Draft:
    used: set[str] = set()
    blocks = []
    for step in definition.steps:
        block = Block(key=step.id, kind=step.kind, name=words(step.id), note=step.note or "",
                      at=step.at.source if step.at else "", on=dict(step.on), next=step.next or "",
                      otherwise=step.otherwise or "", reason=step.reason or "",
                      branches=[(b.condition, b.goto) for b in step.branches],
                      set=[(k, value_text(v)) for k, v in step.set.items()], notice=step.notice or "")
        if step.kind in ("sms", "email", "call"):
            block.template = step.template or ""
        if step.kind in ("sms", "email") and step.template in definition.templates:
            used.add(step.template)
            entry = definition.templates[step.template]
            block.texts = {k: v for k, v in entry.items() if not k.startswith("subject.")}
            block.subjects = {k.removeprefix("subject."): v for k, v in entry.items() if k.startswith("subject.")}
        if step.retry:
            block.retry_attempts = step.retry.attempts
            block.retry_every = wf._say(step.retry.every)
        blocks.append(block)
    return Draft(name=definition.name, description=definition.description, trigger_kind=definition.trigger.kind,
                 trigger_name=definition.trigger.name, on_reply=dict(definition.on_reply), blocks=blocks,
                 spare_templates={k: dict(v) for k, v in definition.templates.items() if k not in used})


def from_yaml(text: str) -> Draft:
    """WorkflowError when the text is not a workflow the checker accepts."""
    return from_workflow(wf.parse(text))


# ----------------------------------------------------------------------------- blocks -> YAML


def scalar(text: str) -> str:
    """Text as a YAML scalar: plain when YAML reads it back as the same text, else double-quoted."""
    if text and text == text.strip() and "\n" not in text:
        try:
            if yaml.safe_load(f"k: {text}") == {"k": text}:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def unique(base: str, taken, joiner: str = "_") -> str:
    """`base`, or `base_2`, `base_3`... (with `joiner` between), the first not in `taken`."""
    found, n = base, 2
    while found in taken:
        found, n = f"{base}{joiner}{n}", n + 1
    return found


def _ids(draft: Draft) -> dict[str, str]:
    """key -> step id, each id unique ('late_call', 'late_call_2')."""
    taken: set[str] = set()
    out = {}
    for block in draft.blocks:
        out[block.key] = unique(block.step_id, taken)
        taken.add(out[block.key])
    return out


def _target(ids: dict[str, str], key: str) -> str:
    return wf.END if key == wf.END else ids.get(key, key)


def _template_names(draft: Draft, ids: dict[str, str]) -> dict[str, str]:
    """key -> template name for each text or email block. Blocks that share a template keep sharing it
    while their messages agree; one edited apart gets a template of its own, named after its step."""
    names: dict[str, str] = {}
    written: dict[str, tuple] = {}
    taken = set(draft.spare_templates)
    for block in draft.blocks:
        if block.kind not in ("sms", "email"):
            continue
        content = (tuple(sorted(block.texts.items())), tuple(sorted(block.subjects.items())))
        name = block.template or ids[block.key]
        if name in written and written[name] != content:
            name = unique(ids[block.key], set(written) | taken)
        written[name] = content
        names[block.key] = name
    return names


def to_yaml(draft: Draft) -> str:
    ids = _ids(draft)
    templates = _template_names(draft, ids)
    out = [f"name: {scalar(draft.name)}"]
    if draft.description:
        out.append(f"description: {scalar(draft.description)}")
    if draft.trigger_kind in ("event", "field"):
        out += ["trigger:", f"  {draft.trigger_kind}: {scalar(draft.trigger_name)}"]
    if draft.on_reply:
        out += ["", "on_reply:"] + [f"  {o}: {_target(ids, k)}" for o, k in draft.on_reply.items()]
    out += ["", "steps:"]
    for block in draft.blocks:
        out += _step_lines(block, ids, templates)
    entries: dict[str, dict[str, str]] = {}
    for block in draft.blocks:
        if block.key in templates and templates[block.key] not in entries:
            entry = {lang: text for lang, text in block.texts.items() if text.strip()}
            entry.update({f"subject.{lang}": text for lang, text in block.subjects.items() if text.strip()})
            entries[templates[block.key]] = entry
    entries.update(draft.spare_templates)
    if entries:
        out += ["", "templates:"]
        for name, entry in entries.items():
            out.append(f"  {name}:")
            subjects = {k.removeprefix("subject."): v for k, v in entry.items() if k.startswith("subject.")}
            if subjects:
                out.append("    subject:")
                out += [f"      {lang}: {json.dumps(text, ensure_ascii=False)}" for lang, text in subjects.items()]
            out += [f"    {lang}: {json.dumps(text, ensure_ascii=False)}" for lang, text in entry.items()
                    if not lang.startswith("subject.")]
    return "\n".join(out) + "\n"


def to_yaml_over(draft: Draft, base: str) -> str:
    """The draft as YAML written over `base`, the text its blocks were read from: the comments, blank lines,
    order and spelling of what the blocks left as it was are kept, and a draft that means what `base` means
    is `base` itself (web/layout.py). The blocks' own text (`to_yaml`) when `base` cannot be kept."""
    fresh = to_yaml(draft)
    if not base or base == fresh:
        return fresh
    try:
        want, was = wf.parse(fresh), wf.parse(base)
    except wf.WorkflowError:
        return fresh
    if meaning(want) == meaning(was):
        return base
    from duedesk.web import layout  # ruamel.yaml: only when a draft is published or shown as text

    ids = _ids(draft)
    old = {s.id: s for s in was.steps}
    origins = [b.key if b.key in old else None for b in draft.blocks]
    same = {b.key for b in draft.blocks
            if b.key in old and step_meaning(old[b.key]) == step_meaning(want.step(ids[b.key]))}
    text = layout.over(base, fresh, origins, same)
    try:
        return text if text is not None and meaning(wf.parse(text)) == meaning(want) else fresh
    except wf.WorkflowError:
        return fresh


def _step_lines(block: Block, ids: dict[str, str], templates: dict[str, str]) -> list[str]:
    lines = [f"  - id: {ids[block.key]}"]
    kind = block.kind
    if kind in ("sms", "email"):
        lines.append(f"    {kind}: {templates[block.key]}")
    elif kind == "call":
        lines.append(f"    call: {scalar(block.template)}")
    elif kind == "wait":
        timing = wf.parse_timing(block.at) if _readable(block.at) else None
        written = block.at if timing is None or timing.kind == "after" else f"until {block.at}"
        lines.append(f"    wait: {scalar(written)}")
    elif kind == "branch":
        lines.append("    branch:")
        for condition, key in block.branches:
            lines += [f"      - if: {scalar(condition)}", f"        goto: {_target(ids, key)}"]
        if not block.branches:
            lines[-1] = "    branch: []"
    elif kind == "handoff":
        lines.append(f"    handoff: {scalar(block.reason)}" if block.reason else "    handoff: ''")
    elif kind == "update":
        lines.append("    update:")
        for name, typed in block.set:
            value = read_value(typed)
            lines.append(f"      {scalar(name)}: {scalar(value) if isinstance(value, str) else value_text(value)}")
    elif kind == "notify":
        lines.append(f"    notify: {scalar(block.notice)}" if block.notice else "    notify: ''")
    elif kind == "end":
        lines.append(f"    end: {scalar(block.reason)}" if block.reason else "    end:")
    if block.at and kind != "wait":
        lines.append(f"    at: {scalar(block.at)}")
    if block.retry_attempts is not None and kind == "call":
        lines.append(f"    retry: {{attempts: {block.retry_attempts}, every: {scalar(block.retry_every)}}}")
    if block.on:
        lines.append("    on:")
        lines += [f"      {outcome}: {_target(ids, key)}" for outcome, key in block.on.items()]
    if block.next:
        lines.append(f"    next: {_target(ids, block.next)}")
    if block.otherwise:
        lines.append(f"    otherwise: {_target(ids, block.otherwise)}")
    if block.note:
        lines.append(f"    note: {scalar(block.note)}")
    lines.append("")
    return lines


def _readable(at: str) -> bool:
    try:
        wf.parse_timing(at)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- editing


def new_key(draft: Draft, base: str) -> str:
    return unique(base, {b.key for b in draft.blocks} | {b.step_id for b in draft.blocks})


NEW_NAMES = {"sms": "New text", "email": "New email", "call": "New call", "wait": "New wait",
             "branch": "New decision", "handoff": "New handoff", "update": "New update", "notify": "New notice", "end": "Finish here"}


def new_block(draft: Draft, kind: str) -> Block:
    name = unique(NEW_NAMES[kind], {b.name for b in draft.blocks}, " ")
    block = Block(key=new_key(draft, slug(name)), kind=kind, name=name)
    if kind in ("sms", "email"):
        block.texts = {"en": ""}
    if kind == "email":
        block.subjects = {"en": ""}
    if kind == "call":
        block.template = "late_call"
        block.retry_attempts, block.retry_every = 3, "1d"
    if kind == "wait":
        block.at = "1d"
    if kind == "handoff":
        block.reason = "request_human"
    if kind == "notify":
        block.notice = wf.NOTICES[0]
    return block


def duplicate(draft: Draft, index: int) -> Block:
    source = draft.blocks[index]
    name = unique(f"{source.name} copy", {b.name for b in draft.blocks}, " ")
    return replace(source, key=new_key(draft, slug(name)), name=name, texts=dict(source.texts),
                   subjects=dict(source.subjects), on=dict(source.on), branches=list(source.branches),
                   set=list(source.set), template="" if source.kind in ("sms", "email") else source.template)


def step_meaning(s: wf.Step) -> tuple:
    """What a step does, without its id, where it was written or how a time was spelled."""
    def timing(t: wf.Timing | None):
        return None if t is None else (t.kind, t.field, t.days, t.day, t.duration)

    return (s.kind, timing(s.at), s.template, tuple(sorted(s.on.items())), s.next,
            (s.retry.attempts, s.retry.every) if s.retry else None,
            tuple((b.condition, b.goto) for b in s.branches), s.otherwise, tuple(sorted(s.set.items())),
            s.reason, s.note, s.notice)


def meaning(definition: wf.Workflow) -> tuple:
    """What a workflow does, without where it was written (lines) or how a time was spelled."""
    steps = tuple((s.id, *step_meaning(s)) for s in definition.steps)
    used = {s.template for s in definition.steps if s.kind in ("sms", "email")}
    templates = tuple(sorted((k, tuple(sorted(v.items()))) for k, v in definition.templates.items()))
    return (definition.name, definition.description, definition.trigger, steps,
            tuple(sorted(definition.on_reply.items())), templates, frozenset(used))


def forget(draft: Draft, key: str) -> None:
    """A removed block: whatever led to it now goes on to the block below (a branch row that led there goes)."""
    draft.on_reply = {o: k for o, k in draft.on_reply.items() if k != key}
    for block in draft.blocks:
        block.on = {o: k for o, k in block.on.items() if k != key}
        block.branches = [(c, k) for c, k in block.branches if k != key]
        block.next = "" if block.next == key else block.next
        block.otherwise = "" if block.otherwise == key else block.otherwise
