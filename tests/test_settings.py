"""Settings: every environment variable is read in settings.py and nowhere else."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "duedesk"


def environment_reads(source: str) -> list[int]:
    """Lines that read the environment: os.environ[...], .get/.items/..., os.getenv. Writes are allowed (the
    entry points name the settings module; the simulator points a fresh process at a scratch database)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) in ("os.environ", "environ"):
            if isinstance(node.ctx, ast.Load):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            if func in ("os.getenv", "getenv") or (
                    func.startswith(("os.environ.", "environ.")) and func.rsplit(".", 1)[-1] not in ("setdefault",
                                                                                                    "update")):
                lines.append(node.lineno)
    return lines


def test_only_settings_reads_the_environment():
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "settings.py" and path.parent == SRC:
            continue
        lines = environment_reads(path.read_text())
        if lines:
            found[str(path.relative_to(SRC))] = lines
    assert not found, f"environment read outside settings.py (ask django.conf.settings instead): {found}"


def test_the_scan_sees_each_way_of_reading():
    code = ("import os\nfrom os import environ, getenv\na = os.environ['A']\nb = os.environ.get('B')\n"
            "c = os.getenv('C')\nd = dict(os.environ.items())\nos.environ['E'] = '1'\n"
            "os.environ.setdefault('F', '1')\n")
    assert environment_reads(code) == [3, 4, 5, 6]
