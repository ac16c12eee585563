"""Workflows shipped with duedesk: `default` (clinic payment reminders) and `rent`."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    return sorted(p.stem for p in _HERE.glob("*.yaml"))


def path(name: str) -> Path:
    """The file of a shipped workflow; `name` may end in .yaml. FileNotFoundError if there is none."""
    stem = name.removesuffix(".yaml")
    if "/" in stem or "\\" in stem or stem.startswith("."):
        raise FileNotFoundError(f"no shipped workflow named {name!r}")
    found = _HERE / f"{stem}.yaml"
    if not found.is_file():
        raise FileNotFoundError(f"no shipped workflow named {name!r}")
    return found


def read(name: str) -> str:
    return path(name).read_text(encoding="utf-8")
