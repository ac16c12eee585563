import json
import subprocess
import sys

import pytest
from django.db import connection


def without_row_ids(events: list[dict]) -> list[dict]:
    """The events without the planned step's row id: it counts what this database held before the run."""
    return [{**e, "detail": {k: v for k, v in e["detail"].items() if k != "planned_step"}}
            if isinstance(e["detail"], dict) else e for e in events]


@pytest.fixture
def the_command_prints():
    """`duedesk simulate <name> --json`, run once as a user runs it (its own process and throwaway SQLite
    database), prints exactly the events this test's run of the scenario told: the output is deterministic
    and the command is wired. Once, on the SQLite pass: the command makes its own database either way."""

    def check(name: str, events: list[dict]) -> None:
        if connection.vendor != "sqlite":
            return
        out = subprocess.run([sys.executable, "-m", "duedesk", "simulate", name, "--json"], capture_output=True,
                             text=True, timeout=600, check=True).stdout
        printed = json.loads(out)
        assert {"at", "contact", "invoice", "kind", "channel", "detail"} == set(printed[0])
        assert without_row_ids(printed) == without_row_ids(json.loads(json.dumps(events, ensure_ascii=False)))

    return check
