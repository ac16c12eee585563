"""Files and secrets: a fresh data directory under the usual umask (022) keeps patient data, the secret key
and mail (password-reset links) to this user: directory 0700, SQLite and its journal 0600, secret key 0600
from its first byte, mail directory 0700 and mail files 0600."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import duedesk.settings

DUEDESK = Path(sys.executable).with_name("duedesk")


def mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


@pytest.mark.sqlite_only
def test_a_fresh_data_directory_is_private_under_umask_022(tmp_path):
    data = tmp_path / "var"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DUEDESK_DATA_DIR": str(data)}
    # One small app's tables are enough to create the database file (and its journal) as a migration does.
    script = f"umask 022 && {DUEDESK} migrate contenttypes -v0 && {DUEDESK} sendtestemail billing@example.com"
    result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert mode(data) == "0700"
    assert mode(data / "duedesk.sqlite3") == "0600"
    assert (data / "duedesk.sqlite3").stat().st_size > 0  # migrated: SQLite wrote into the file we made
    for journal in data.glob("duedesk.sqlite3-*"):
        assert mode(journal) == "0600", journal.name
    assert mode(data / "secret_key") == "0600"
    assert mode(data / "mail") == "0700"
    mails = list((data / "mail").iterdir())
    assert mails and all(mode(m) == "0600" for m in mails)
    assert "billing@example.com" in mails[0].read_text()


def test_the_secret_key_is_never_readable_by_others_not_even_briefly(tmp_path, monkeypatch):
    """Created with its mode (os.open), not written then chmod-ed: the file is 0600 before a byte is in it."""
    seen = []
    real_fdopen = os.fdopen

    def watching_fdopen(fd, *args, **kwargs):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", watching_fdopen)
    old = os.umask(0o022)
    try:
        assert duedesk.settings.write_private(tmp_path / "secret_key", "s" * 50) is True
        assert duedesk.settings.write_private(tmp_path / "secret_key", "other") is False  # kept, not replaced
    finally:
        os.umask(old)
    assert seen == [0o600]
    assert (tmp_path / "secret_key").read_text() == "s" * 50
