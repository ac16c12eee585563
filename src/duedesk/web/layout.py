"""A workflow written from the blocks over the text it was read from, keeping that text's layout.

The blocks write a whole new YAML text (`blocks.to_yaml`). Published as it is, the comments, the blank
lines, the order of the settings and the quoting the office wrote ("Edit as text") would be gone. `over`
instead edits the text it was read from in place, with ruamel.yaml's round-trip reader: a setting the
blocks left as it was keeps its line, comment and spelling; a changed one is written where it was; a
block moved, added or removed moves its lines (with the comments above it) or takes them away. Changing a
wait from 5 to 7 days changes only that line. The caller checks that the text read back means what the
blocks wrote (`blocks.to_yaml_over`), and publishes the blocks' own text when it does not.
"""

from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken

# Settings the blocks leave out when they say nothing, which an office may still have written.
QUIET = {"description": ("str", ""), "trigger": ("str", "due_date"), "on_reply": {}, "on": {}, "note": ("str", ""),
         "templates": {}}


def _reader() -> YAML:
    reader = YAML()
    reader.preserve_quotes = True
    reader.width = 4096  # a long message stays on its line
    reader.indent(mapping=2, sequence=4, offset=2)
    return reader


def over(base: str, fresh: str, origins: list[str | None], same_steps: set[str]) -> str | None:
    """`fresh` (the blocks' text) written over `base`: `origins[i]` is the id the i-th step of `fresh` had in
    `base` (None for a new block); steps whose ids are in `same_steps` mean the same in both and keep their
    lines as they are. None when either text cannot be read this way."""
    reader = _reader()
    try:
        tree, new = reader.load(base), reader.load(fresh)
    except YAMLError:
        return None
    if not (isinstance(tree, CommentedMap) and isinstance(new, CommentedMap)):
        return None
    if not (isinstance(tree.get("steps"), CommentedSeq) and isinstance(new.get("steps"), CommentedSeq)):
        return None
    _merge_map(tree, new, skip=("steps",))
    _merge_steps(tree, new["steps"], origins, same_steps)
    out = io.StringIO()
    reader.dump(tree, out)
    return out.getvalue()


# ----------------------------------------------------------------------------- values


def plain(value) -> object:
    """A value without its layout, each scalar with its type (1, 1.0, true and "1" are not the same)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return (kind.__name__, kind(value))
    return ("null", None) if value is None else ("other", repr(value))


def _flow(value) -> bool:
    return isinstance(value, CommentedMap | CommentedSeq) and bool(value.fa.flow_style())


def _merge_entry(parent, key, value) -> None:
    """parent[key] becomes `value`, keeping what is the same of what was written there."""
    old = parent[key]
    if plain(old) == plain(value):
        return
    tail = take_tail(parent, key)
    if isinstance(old, CommentedMap) and isinstance(value, CommentedMap):  # written {in: flow} it stays so
        _merge_map(old, value)
    elif isinstance(old, CommentedSeq) and isinstance(value, CommentedSeq):
        _merge_seq(old, value)
    else:
        take_tail(value, None)
        parent[key] = _styled(old, value)
    add_tail(parent, key, split(tail) if tail else None)


def _styled(old, value):
    """A changed text written as the old one was: folded (`>-`, lines of about the old width) or literal."""
    if not isinstance(value, str) or value != value.strip(" ") or not value:
        return value
    if isinstance(old, LiteralScalarString):
        return LiteralScalarString(value)
    if isinstance(old, FoldedScalarString) and "\n" not in value and "  " not in value:
        width = max((len(line) for line in str(old).split("\n")), default=0)
        width = max(min(max(width, 60), 100), 40)
        folded, line = FoldedScalarString(value), 0
        folded.fold_pos = []
        for at, char in enumerate(value):
            if char == " " and at - line >= width - 10 and value.find(" ", at + 1) not in (-1, at + 1):
                folded.fold_pos.append(at)
                line = at + 1
        return folded
    return value


def _merge_map(old: CommentedMap, new: CommentedMap, skip=()) -> None:
    for key in list(old):
        if key not in new and key not in skip and plain(old[key]) != QUIET.get(key, ()):
            _drop_key(old, key)
    previous = None
    for key, value in new.items():
        if key in skip:
            pass
        elif key in old:
            _merge_entry(old, key, value)
        else:
            _insert_key(old, previous, key, value)
        previous = key if key in old else previous


def _merge_seq(old: CommentedSeq, new: CommentedSeq) -> None:
    for i, value in enumerate(new):
        if i < len(old):
            _merge_entry(old, i, value)
        else:
            take_tail(value, None)
            old.append(value)
    if len(old) > len(new):
        del old[len(new):]
        for i in [i for i in old.ca.items if isinstance(i, int) and i >= len(new)]:
            del old.ca.items[i]


def _drop_key(mapping: CommentedMap, key) -> None:
    """A setting taken away: the comments below it (in it, and about what follows) go below the setting
    above, so that none is lost."""
    keys, column = list(mapping), _column(mapping)
    eol, below = split(take_tail(mapping, key))
    if eol.strip():
        below = [eol.lstrip(" ").rjust(len(eol.lstrip(" ")) + column + 2), *below]
    del mapping[key]
    mapping.ca.items.pop(key, None)
    at = keys.index(key)
    if at:
        above = keys[at - 1]
        eol, rest = split(take_tail(mapping, above))
        own, between = _own_lines(rest, column)
        put_tail(mapping, above, (eol, own + [line for line in between if line.strip()] + below))


def _insert_key(mapping: CommentedMap, previous, key, value) -> None:
    """A new setting below `previous` (first when None): the comments that were below `previous` stay
    above what followed it."""
    take_tail(value, None)
    mapping.insert(list(mapping).index(previous) + 1 if previous is not None else 0, key, value)
    if previous is not None:
        eol, rest = split(take_tail(mapping, previous))
        own, below = _own_lines(rest, _column(mapping))
        block = isinstance(mapping[previous], CommentedMap | CommentedSeq) and not _flow(mapping[previous])
        gap = [line for line in below[:1] if not line.strip()] if block else []  # sections apart stay apart
        put_tail(mapping, previous, (eol, own + gap))
        put_tail(mapping, key, ("\n", below))


# ----------------------------------------------------------------------------- the steps


def _merge_steps(tree: CommentedMap, new: CommentedSeq, origins: list[str | None], same: set[str]) -> None:
    """The steps in the blocks' order: each step read from `tree` keeps its lines and the comments above it
    (a step that means the same is kept whole, but for its id); a new one is written as the blocks wrote it."""
    old: CommentedSeq = tree["steps"]
    if _flow(old) or not len(old):
        tree["steps"] = new
        return
    column = _column(old[0]) if isinstance(old[0], CommentedMap) else 0
    trailer_eol, trailer = split(take_tail(tree, "steps"))
    last_own, trailer = _own_lines(trailer, column)
    headers: list[list[str]] = [_lines((old.ca.comment or [None, None])[1]) + _before(old, 0)]
    owns: list[tuple[str, list[str]]] = []
    for i in range(len(old) - 1):
        eol, rest = split(take_tail(old, i))
        own, header = _own_lines(rest, column)
        owns.append((eol, own))
        headers.append(header + _before(old, i + 1))
    owns.append((trailer_eol, last_own))
    gap = next((h[:1] for h in headers[1:] if h and not h[0].strip()), [])
    index = {item.get("id"): i for i, item in enumerate(old) if isinstance(item, CommentedMap)}
    items, heads, tails = [], [], []
    for step, origin in zip(new, origins, strict=True):
        at = index.pop(origin, None) if origin is not None else None
        if at is None:
            take_tail(step, None)
            items.append(step)
            heads.append(gap)
            tails.append(("\n", []))
            continue
        item = old[at]
        if origin in same:
            if item.get("id") != step.get("id"):
                _merge_entry(item, "id", step["id"])
        else:
            _merge_map(item, step)
        items.append(item)
        heads.append(headers[at] if at else gap + [line for line in headers[0] if line.strip()])
        tails.append(owns[at])
    old.clear()
    old.ca.items.clear()
    old.extend(items)
    first = [line for line in heads[0] if line.strip()] if heads else []
    tokens = [CommentToken(line.lstrip(" "), CommentMark(len(line) - len(line.lstrip(" "))), None) for line in first]
    old.ca.comment = [None, tokens] if tokens else None
    if "steps" in tree.ca.items:
        tree.ca.items["steps"][3] = tokens or None
    for i in range(len(items)):
        eol, own = tails[i]
        below = heads[i + 1] if i + 1 < len(items) else trailer
        add_tail(old, i, (eol, own + below))


def _before(seq: CommentedSeq, i: int) -> list[str]:
    """The comment lines ruamel keeps above seq[i] (after a value written {in: flow}, say)."""
    entry = seq.ca.items.get(i)
    return _lines(entry[1]) if entry and len(entry) > 1 else []


def _lines(tokens) -> list[str]:
    return [" " * t.column + t.value if t.value.startswith("#") else t.value for t in tokens or ()]


# ----------------------------------------------------------------------------- comments below a value


def _slot(container, key):
    """Where ruamel keeps the comments below container[key]: the last setting of the block it holds."""
    value = container[key]
    if isinstance(value, CommentedMap) and len(value) and not _flow(value):
        return _slot(value, list(value)[-1])
    if isinstance(value, CommentedSeq) and len(value) and not _flow(value):
        return _slot(value, len(value) - 1)
    return container, key


def take_tail(container, key) -> str | None:
    """The comment text below container[key] (its end-of-line comment first), taken away. With key None,
    `container` is a value: what is below its last line."""
    if key is None:
        if isinstance(container, CommentedMap) and len(container) and not _flow(container):
            return take_tail(container, list(container)[-1])
        if isinstance(container, CommentedSeq) and len(container) and not _flow(container):
            return take_tail(container, len(container) - 1)
        return None
    owner, k = _slot(container, key)
    entry = owner.ca.items.get(k)
    where = 0 if isinstance(owner, CommentedSeq) else 2
    if not entry or entry[where] is None:
        return None
    token = entry[where]
    entry[where] = None
    text = " " * token.column + token.value if token.value.startswith("#") else token.value
    return "\n" + text if _block_scalar(owner[k]) else text  # a `>` text's lines end before its tail


def _block_scalar(value) -> bool:
    return isinstance(value, FoldedScalarString | LiteralScalarString)


def put_tail(container, key, tail) -> None:
    """Put comment text (as `take_tail` gave it, or (eol, lines)) below container[key]."""
    if isinstance(tail, tuple):
        eol, lines = tail
        tail = eol + "".join(lines) if (lines or eol.strip()) else None
    owner, k = _slot(container, key)
    where = 0 if isinstance(owner, CommentedSeq) else 2
    entry = owner.ca.items.setdefault(k, [None, None, None, None])
    if tail is not None and _block_scalar(owner[k]):
        tail = tail[1:] if tail.startswith("\n") else "\n" + tail.lstrip(" ")
    if not tail:
        entry[where] = None
        return
    stripped = tail.lstrip(" ")
    column = len(tail) - len(stripped) if stripped.startswith("#") else 0
    entry[where] = CommentToken(stripped if stripped.startswith("#") else tail, CommentMark(column), None)


def add_tail(container, key, tail: tuple[str, list[str]] | None) -> None:
    """Put comment lines below container[key], after any already there (a setting taken away from the end
    of a block leaves the comments it had below the one above)."""
    if tail is None:
        return
    eol, lines = split(take_tail(container, key))
    new_eol, new_lines = tail
    if eol.strip() and new_eol.strip():
        lines.append(new_eol.lstrip(" ").rjust(len(new_eol.lstrip(" ")) + _column(container)))
    put_tail(container, key, (eol if eol.strip() else new_eol, lines + new_lines))


def split(tail: str | None) -> tuple[str, list[str]]:
    """Comment text below a value as its end-of-line part and the lines below."""
    if not tail:
        return "\n", []
    first, _sep, rest = tail.partition("\n")
    return first + "\n", rest.splitlines(keepends=True)


def _own_lines(lines: list[str], column: int) -> tuple[list[str], list[str]]:
    """The comment lines right below a value, indented under it, and what is below them (blank lines and
    the comments above the next thing)."""
    n = 0
    while n < len(lines) and lines[n].strip().startswith("#") and len(lines[n]) - len(lines[n].lstrip(" ")) >= column:
        n += 1
    return lines[:n], lines[n:]


def _column(mapping) -> int:
    try:
        return mapping.lc.col if isinstance(mapping, CommentedMap) else 0
    except AttributeError:
        return 0
