"""A web process is ready before its first request: nothing a webhook needs is left to load while a patient
waits. gunicorn loads duedesk.wsgi before a worker accepts a connection, and duedesk.wsgi warms the process
(duedesk/warm.py). This test process has loaded everything long before these tests run, so they check the parts
in place instead of starting a process: wsgi calls the warm-up, the warm-up fills what the core fills lazily,
and it imports every module the request path imports inside a function."""

from __future__ import annotations

import ast
import gc
import importlib
import importlib.util
from functools import cache
from pathlib import Path

import duedesk
from duedesk import warm

SRC = Path(duedesk.__file__).parent
# Where an inbound text, a call turn or a delivery status runs: the webhooks and everything below them.
REQUEST_PATH = ["integrations/twilio/webhooks.py", "conversations", "engine/actions", "engine/runner.py",
                "engine/advance.py", "engine/definitions.py", "channels", "records", "core"]
# Imported inside a function, and loaded on a webhook's way anyway or never on it: the PostgreSQL driver (with
# the database backend; records/rows.py's import workers name it), an LLM client only when one is configured,
# and the database backend's own modules (loaded with the backend; records/timestamps.py names one).
NOT_ON_THE_WAY = {"psycopg", "openai"}
BACKENDS = "django.db.backends."


@cache
def _imported_in_functions() -> frozenset[str]:
    """Every module the request path's source imports inside a function."""
    found = set()
    for place in REQUEST_PATH:
        files = [SRC / place] if place.endswith(".py") else sorted((SRC / place).rglob("*.py"))
        for file in files:
            if "migrations" in file.parts or "management" in file.parts or file.name == "apps.py":  # apps: at setup
                continue
            package = ".".join(("duedesk", *file.relative_to(SRC).with_suffix("").parts[:-1]))
            for function in ast.walk(ast.parse(file.read_text())):
                if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    found.update(_imports(function, package))
    return frozenset(name for name in found if name.split(".")[0] not in NOT_ON_THE_WAY and not name.startswith(BACKENDS))


def _imports(function: ast.AST, package: str):
    for node in ast.walk(function):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:  # `from duedesk.conversations import calls`: the submodule
                yield f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def test_the_web_application_is_warmed_as_it_loads(monkeypatch):
    import sys

    warmed = []
    monkeypatch.setattr(warm, "web_process", lambda: warmed.append(True))
    if "duedesk.wsgi" in sys.modules:
        importlib.reload(sys.modules["duedesk.wsgi"])
    else:
        importlib.import_module("duedesk.wsgi")
    assert warmed == [True]


def test_the_warm_up_imports_every_module_a_webhook_would_import_on_its_way():
    wanted = {name for name in _imported_in_functions() if name.startswith("duedesk.")}
    assert wanted, "the scan found nothing: REQUEST_PATH names no source"
    assert sorted(wanted - set(warm.FIRST_USE)) == []
    assert sorted(set(warm.FIRST_USE) - wanted) == []  # none imported for nothing


def test_the_warm_up_loads_what_the_core_would_load_on_a_patients_first_message(monkeypatch):
    from duedesk.core import states, timing
    from duedesk.core.nlu import dates, model

    others = {name for name in _imported_in_functions() if not name.startswith("duedesk.")}
    assert others == {"dateparser.search", "phonenumbers.geocoder", "holidays", "random", "datetime", "django.apps",
                      "django.db", "django.db.models"}  # a new one: make the warm-up load it
    asked = {"geocoded": [], "dateparser": []}
    monkeypatch.setattr(states, "state_for_phone", lambda e164: asked["geocoded"].append(e164))
    monkeypatch.setattr(dates, "_dateparser", lambda *args: asked["dateparser"].append(args[2]))
    monkeypatch.setattr(model, "_model", None)
    timing._public_holidays.cache_clear()

    try:
        warm.web_process()
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()

    assert frozen > 0  # what was loaded is out of the collector's way
    assert asked["geocoded"] and sorted(set(asked["dateparser"])) == ["en", "es"]
    assert model._model is not None
    assert timing._public_holidays.cache_info().currsize >= 2
