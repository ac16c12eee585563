"""The workflow reader's YAML, read by libyaml, is the tree the Python reader gives: same values, styles
(plain is None), tags and lines; a mistake is told in the Python reader's words."""

import pytest
import yaml

from duedesk.core import workflow as wf
from duedesk.core import yamltree

ODD = """name: Odd
steps:
  - id: a
    update: {done: true, flag: "true", count: 3, ratio: 1.5, empty: , note: yes}
    then: &same [x, 'y', "z"]
  - again: *same
templates:
  t:
    en: |
      Hi {{ org.name }}
    es: >
      Hola
"""


def tree(node):
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.style, node.value, node.start_mark.line)
    if isinstance(node, yaml.SequenceNode):
        return ("list", node.tag, node.start_mark.line, [tree(n) for n in node.value])
    return ("map", node.tag, node.start_mark.line, [(tree(k), tree(v)) for k, v in node.value])


@pytest.mark.parametrize("text", [ODD, wf.load_default()[0]], ids=["odd", "default"])
def test_the_same_tree_as_the_python_reader(text):
    assert tree(yamltree.compose(text)) == tree(yaml.compose(text, Loader=yaml.SafeLoader))


def test_a_mistake_is_told_as_the_python_reader_tells_it():
    text = "name: x\nsteps:\n  - id: a\n   sms: b\n"
    with pytest.raises(yaml.MarkedYAMLError) as python:
        yaml.compose(text, Loader=yaml.SafeLoader)
    with pytest.raises(yaml.MarkedYAMLError) as ours:
        yamltree.compose(text)
    assert (str(ours.value), ours.value.problem_mark.line) == (str(python.value), python.value.problem_mark.line)


def test_a_version_is_read_once_for_the_page_s_several_uses():
    text = wf.load_default()[0]
    assert wf.parse(text) is wf.parse(text)
    assert wf.check(text) == wf.check(text)
