"""A YAML document as PyYAML's node tree (each node with its line), read by libyaml when PyYAML has it.

The pure-Python reader took about a tenth of a second for the default workflow, and the workflow page
reads its version a few times. A document libyaml refuses is read again by the Python reader, so the
sentence about the mistake (and its line) is the one staff have always seen.
"""

from __future__ import annotations

import yaml

_FAST = getattr(yaml, "CSafeLoader", None)


def compose(text: str) -> yaml.Node | None:
    if _FAST is not None:
        try:
            root = yaml.compose(text, Loader=_FAST)
        except yaml.YAMLError:
            pass
        else:
            _plain(root)
            return root
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _plain(root: yaml.Node | None) -> None:
    """libyaml marks a plain scalar's style '' where the Python reader says None (readers ask `is None`)."""
    todo = [root] if root is not None else []
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if id(node) in seen:  # an alias is the same node again
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.style == "":
                node.style = None
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                todo += (key, value)
