"""On PostgreSQL, four worker processes share 2,000 due steps; each is executed exactly once.

The 10,000-text run, with workers killed and connections cut, is `bench/chaos.py` (minutes, not for CI)."""

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from django.db import connection

from duedesk.channels.models import SimulatedSend
from duedesk.engine.models import Step
from duedesk.records.models import Event
from duedesk.simulate.load import seed_due_texts

N = 2_000
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_four_workers_run_each_of_2000_steps_exactly_once():
    if connection.vendor != "postgresql":
        pytest.skip("many workers need PostgreSQL (SQLite runs one worker)")
    seed_due_texts(N, NOW)
    url = os.environ["DUEDESK_DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DUEDESK_DATABASE_URL": url}
    procs = [subprocess.Popen([sys.executable, "-m", "duedesk", "worker", "--until-idle", "--batch", "50",
                               "--at", NOW.isoformat()], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    counts = [int(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(counts) >= N
    assert all(c > 0 for c in counts), f"every worker should have taken a share: {counts}"

    sends = SimulatedSend.objects.filter(channel="sms")
    assert sends.count() == N
    assert sends.values("idempotency_key").distinct().count() == N
    assert Step.objects.filter(step_id="heads_up", status="done").count() == N
    assert Event.objects.filter(kind="sms.sent").count() == N
