"""Every event kind the code writes has a label on the timeline.

The kinds are read from the source, not listed by hand: every call that writes a timeline Event (`log`,
`event`, `Event(...)`, `Event.objects.create` and helpers that pass a `kind` on to them) is found with `ast`,
and its kind argument is worked out: a string, either side of `a if c else b`, a variable assigned in the same
function or given as a parameter default, `(kind, detail)` pairs collected in the module, or an f-string whose
placeholders are narrowed by the `if` around it (`if status in SMS_EVENTS:`, an early `if channel == "call":
return`) or, failing that, take the values listed in PLACEHOLDERS below. A kind the test cannot work out fails
the test, so a new way of writing events has to be made readable here rather than slip by.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from duedesk.core import vocabulary

SRC = Path(__file__).resolve().parents[2] / "src" / "duedesk"
KIND = re.compile(r"[a-z]+\.[a-z_]+")
CHANNELS = tuple(vocabulary.CHANNELS)

# Placeholder expressions in f-string kinds that no `if` narrows, and the values they take.
PLACEHOLDERS = {
    "step.kind": ("sms", "email"),  # only the batch names a kind by its step: it sends texts and emails
    "channel": CHANNELS,
    "_kind(channel)": CHANNELS,
    "message.channel": ("sms", "email"),  # a Message is a text or an email; calls are Call rows
}

WRITERS = {"log", "event", "Event", "Event.objects.create"}


class Unreadable(Exception):
    pass


def _parents(tree):
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def _function(node, parents):
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


def _constants(node, module) -> set[str] | None:
    """The strings a tuple, a constant or a module-level name (SMS_EVENTS) stands for."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        values = set()
        for elt in node.elts:
            got = _constants(elt, module)
            if got is None:
                return None
            values |= got
        return values
    if isinstance(node, ast.Name):
        for stmt in module.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.id for t in stmt.targets):
                return _constants(stmt.value, module)
    return None


def _narrowing(expr: str, at, parents, module) -> set[str] | None:
    """Values an enclosing `if <expr> in (...)` / `== ...` allows, minus those an earlier `if ... return` drops."""
    allowed: set[str] | None = None
    dropped: set[str] = set()

    def test_values(test):
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and ast.unparse(test.left) == expr:
            if isinstance(test.ops[0], ast.In | ast.Eq):
                return _constants(test.comparators[0], module)
        return None

    node = at
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.If) and node in parent.body:
            values = test_values(parent.test)
            if values is not None:
                allowed = values if allowed is None else allowed & values
        for field in ("body", "orelse"):
            block = getattr(parent, field, None)
            if isinstance(block, list) and node in block:
                for earlier in block[: block.index(node)]:
                    if isinstance(earlier, ast.If) and earlier.body and isinstance(earlier.body[-1], ast.Return):
                        dropped |= test_values(earlier.test) or set()
        node = parent
    if allowed is None and not dropped:
        return None
    base = allowed if allowed is not None else set(PLACEHOLDERS.get(expr, ()))
    if not base:
        return None
    return base - dropped


def _literals(node) -> set[str]:
    """The strings a constant or `a if c else b` of constants can be; nothing for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body) | _literals(node.orelse)
    return set()


def _kinds(node, call, parents, module, where) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _kinds(node.body, call, parents, module, where) | _kinds(node.orelse, call, parents, module, where)
    if isinstance(node, ast.JoinedStr):
        kinds = {""}
        for part in node.values:
            if isinstance(part, ast.Constant):
                kinds = {k + part.value for k in kinds}
                continue
            expr = ast.unparse(part.value)
            values = _narrowing(expr, call, parents, module)
            if values is None:
                values = PLACEHOLDERS.get(expr)
            if values is None:
                raise Unreadable(f"{where}: the values of {{{expr}}} are unknown; list them in PLACEHOLDERS")
            kinds = {k + v for k in kinds for v in values}
        return kinds
    if isinstance(node, ast.Name):
        func = _function(call, parents)
        found: set[str] = set()
        if func is not None:
            for stmt in ast.walk(func):
                if isinstance(stmt, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == node.id for t in stmt.targets):
                    found |= _kinds(stmt.value, stmt, parents, module, where)
                if isinstance(stmt, ast.For | ast.comprehension) and node.id in {n.id for n in ast.walk(stmt.target)
                                                             if isinstance(n, ast.Name)}:
                    # `for kind, detail in events:`: the (kind, detail) pairs this module builds.
                    for pair in ast.walk(module):
                        if isinstance(pair, ast.Tuple) and len(pair.elts) == 2:
                            found |= {k for k in _literals(pair.elts[0]) if KIND.fullmatch(k)}
            args = func.args
            positional = args.posonlyargs + args.args
            defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults,
                                strict=True))
            defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d})
            if node.id in defaults:
                found |= _kinds(defaults[node.id], call, parents, module, where)
        if found:
            return found
    raise Unreadable(f"{where}: cannot tell which kind `{ast.unparse(node)}` is")


def _kind_argument(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == "kind":
            return kw.value
    if name in ("log", "event") and len(call.args) >= 2:
        return call.args[1]
    return None


def written_kinds(sources: dict[str, str]) -> dict[str, set[str]]:
    """kind -> the places ("file:line") that write it, for the given {file name: source}."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    # Helpers that take a `kind` and hand it to a writer (inbox's add_note) write events too.
    writers = set(WRITERS)
    for tree in trees.values():
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef) and "kind" in {a.arg for a in func.args.args + func.args.kwonlyargs}:
                for call in ast.walk(func):
                    if isinstance(call, ast.Call) and ast.unparse(call.func) in WRITERS:
                        arg = _kind_argument(call, ast.unparse(call.func))
                        if isinstance(arg, ast.Name) and arg.id == "kind":
                            writers.add(func.name)
    found: dict[str, set[str]] = {}
    for name, tree in trees.items():
        if name.endswith("records/timeline.py"):
            continue  # log() and event() themselves
        parents = _parents(tree)
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            func = ast.unparse(call.func)
            short = func.rsplit(".", 1)[-1] if func not in WRITERS else func
            if func not in writers and short not in writers - WRITERS:
                continue
            arg = _kind_argument(call, short)
            if arg is None:
                continue
            where = f"{name}:{call.lineno}"
            for kind in _kinds(arg, call, parents, tree, where):
                found.setdefault(kind, set()).add(where)
    return found


def _source() -> dict[str, str]:
    return {str(p.relative_to(SRC)): p.read_text() for p in sorted(SRC.rglob("*.py")) if "migrations" not in p.parts}


def test_every_event_kind_written_has_a_label():
    kinds = written_kinds(_source())
    assert len(kinds) > 40, "the source scan found too few event kinds: is it still reading the writers?"
    missing = {k: sorted(w) for k, w in kinds.items() if k not in vocabulary.EVENT_KINDS}
    assert not missing, f"event kinds written without a timeline label in core/vocabulary.py: {missing}"


def test_the_scan_reads_every_way_a_kind_is_written():
    code = '''
from duedesk.records.timeline import log
SMS_EVENTS = ("delivered", "undelivered")
def a(org, now, paid):
    log(org, "invoice.marked", now)
    log(org, "x.yes" if paid else "x.no", now)
def b(org, now, status, channel):
    if status in SMS_EVENTS:
        log(org, f"sms.{status}", now)
    if channel == "call":
        return
    log(org, f"{channel}.went", now)
def c(org, now, pairs):
    pairs.append(("pair.made", {}))
    for kind, detail in pairs:
        Event(organization_id=org, kind=kind, at=now)
def note(contact, now, kind="staff.scribble"):
    log(contact.organization_id, kind, now)
def d(contact, now):
    note(contact, now, kind="staff.doodle")
'''
    assert set(written_kinds({"sample.py": code})) == {
        "invoice.marked", "x.yes", "x.no", "sms.delivered", "sms.undelivered", "sms.went", "email.went",
        "pair.made", "staff.scribble", "staff.doodle"}


def test_a_kind_the_scan_cannot_read_fails_it():
    with pytest.raises(Unreadable, match=r"sample.py:3: the values of \{thing\} are unknown"):
        written_kinds({"sample.py": "def a(org, now, thing):\n    x = 1\n    log(org, f'sms.{thing}', now)\n"})


@pytest.mark.parametrize("table", [
    vocabulary.INVOICE_STATUSES, vocabulary.HANDOFF_REASONS, vocabulary.STEP_STATUSES, vocabulary.EVENT_KINDS,
    vocabulary.CHANNELS, vocabulary.CALL_OUTCOMES, vocabulary.GATE_RULES, vocabulary.ENROLLMENT_STATUSES])
def test_every_name_has_words(table):
    assert all(isinstance(label, str) and label.strip() for label in table.values())
    # A state rule ends in the state's USPS code, as statutes and auditors write it: state_hours_FL.
    assert all(re.fullmatch(r"[a-z_.]+(_[A-Z]{2})?", name) for name in table)


def test_a_name_no_longer_listed_still_reads_as_words():
    assert vocabulary.label(vocabulary.EVENT_KINDS, "sms.sent") == "Text sent"
    assert vocabulary.label(vocabulary.EVENT_KINDS, "fax.sent_late") == "Fax sent late"
