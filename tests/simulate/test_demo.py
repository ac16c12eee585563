"""`duedesk demo` (what `make run` runs): a demo organization with history, and its login printed each time."""

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from duedesk.channels import providers
from duedesk.cli import app
from duedesk.records.models import Event, Handoff, Membership
from duedesk.simulate import demo

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)


@pytest.fixture
def duedesk_demo(settings, tmp_path, monkeypatch):
    """The command, in this process, on the test database, with the data directory in tmp_path."""
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(demo.timezone, "now", lambda: NOW)

    def run(*args):
        result = CliRunner().invoke(app, ["demo", *args])
        providers.use(None)
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()

    return run


def test_the_demo_has_history_and_an_owner_and_its_login_is_shown_while_it_works(duedesk_demo, tmp_path):
    out = duedesk_demo()
    assert out[-2].startswith("Username: ") and out[-1].startswith("Password: ")
    username, password = out[-2].removeprefix("Username: "), out[-1].removeprefix("Password: ")
    assert len(password) >= 12
    membership = Membership.objects.get(user__username=username)
    assert membership.role == "owner" and membership.user.check_password(password)
    org = membership.organization
    assert Event.objects.filter(organization=org, kind="sms.sent").count() >= 5
    assert Event.objects.filter(organization=org, kind="call.completed").exists()
    assert Handoff.objects.filter(organization=org, status="open").exists()
    # The saved login is readable by its owner only.
    assert ((tmp_path / "demo-login.txt").stat().st_mode & 0o777) == 0o600

    # `make run` runs `duedesk demo` every time: on a seeded database nothing is seeded twice and the same
    # login is shown again.
    assert duedesk_demo()[-2:] == out[-2:]
    assert Membership.objects.count() == 1

    # A new password on request, which is then the one shown.
    reset = duedesk_demo("--reset-password")
    assert reset[-2] == out[-2] and reset[-1].startswith("Password: ") and reset[-1] != out[-1]
    assert duedesk_demo()[-2:] == reset[-2:]

    # A password the owner chose is never printed.
    membership.user.set_password("the owner's own choice")
    membership.user.save()
    assert demo.saved_login() is None
    shown = duedesk_demo()
    assert not any(line.startswith("Password") for line in shown)
    assert "--reset-password" in shown[-1]
