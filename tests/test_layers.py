"""The layer contract in pyproject.toml (`lint-imports`, run by `make lint`) holds on the real tree and fails
on an import that runs up: checked on a copy of the package with one bad import added, so a contract that
had stopped checking anything (a renamed layer, a package it no longer finds) fails here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The package and its contract, copied; each test adds one file and takes it away again."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "src" / "duedesk", root / "src" / "duedesk",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static", "templates", "data"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_real_tree_keeps_the_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract", "names"), [
    ("records/upward.py", "from duedesk.engine import models\n", "Imports run down the layers",
     "duedesk.records.upward -> duedesk.engine.models"),
    ("engine/upward.py", "import duedesk.integrations.twilio.transport\n", "Imports run down the layers",
     "duedesk.engine.upward -> duedesk.integrations.twilio.transport"),
    ("core/upward.py", "from django.utils import timezone\n", "The core is pure Python: no Django",
     "duedesk.core.upward -> django (l.3)"),
])
def test_an_upward_import_breaks_the_contract(copy, module, line, contract, names):
    bad = copy / "src" / "duedesk" / module
    bad.write_text(f'"""An import that runs up."""\n\n{line}')
    try:
        result = lint_imports(copy)
    finally:
        bad.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract} BROKEN" in result.stdout
    assert names in result.stdout
