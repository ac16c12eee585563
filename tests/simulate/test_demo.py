import subprocess
import sys
from datetime import UTC, datetime

import pytest

from duedesk.channels import providers
from duedesk.records.models import Event, Handoff, Membership
from duedesk.simulate.demo import seed_demo

pytestmark = pytest.mark.django_db


def test_demo_seeds_an_organization_with_history_and_an_owner():
    username, password = seed_demo(now=datetime(2026, 11, 28, 17, 0, tzinfo=UTC))
    providers.use(None)
    membership = Membership.objects.get(user__username=username)
    assert membership.role == "owner"
    assert membership.user.check_password(password)
    org = membership.organization
    assert Event.objects.filter(organization=org, kind="sms.sent").count() >= 5
    assert Event.objects.filter(organization=org, kind="call.completed").exists()
    assert Handoff.objects.filter(organization=org, status="open").exists()
    # Nothing is seeded twice.
    assert seed_demo(now=datetime(2026, 11, 28, 17, 0, tzinfo=UTC)) == (None, None)


def test_demo_command_prints_the_login(tmp_path):
    env = {"DUEDESK_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "duedesk", "migrate", "-v0"], env=env, check=True, timeout=300)
    out = subprocess.run([sys.executable, "-m", "duedesk", "demo"], env=env, capture_output=True, text=True,
                         check=True, timeout=300).stdout.strip().splitlines()
    assert out[-2].startswith("Username: ") and out[-1].startswith("Password: ")
    assert len(out[-1].removeprefix("Password: ")) >= 12
    # The saved login is readable by its owner only.
    assert ((tmp_path / "demo-login.txt").stat().st_mode & 0o777) == 0o600

    # `make run` runs `duedesk demo` every time: on a seeded database it shows the same login again.
    again = subprocess.run([sys.executable, "-m", "duedesk", "demo"], env=env, capture_output=True, text=True,
                           check=True, timeout=300).stdout.strip().splitlines()
    assert again[-2:] == out[-2:]

    # A new password on request, which is then the one shown.
    reset = subprocess.run([sys.executable, "-m", "duedesk", "demo", "--reset-password"], env=env,
                           capture_output=True, text=True, check=True, timeout=300).stdout.strip().splitlines()
    assert reset[-2] == out[-2] and reset[-1].startswith("Password: ") and reset[-1] != out[-1]
    shown = subprocess.run([sys.executable, "-m", "duedesk", "demo"], env=env, capture_output=True, text=True,
                           check=True, timeout=300).stdout.strip().splitlines()
    assert shown[-2:] == reset[-2:]


def test_a_changed_demo_password_is_never_printed(settings, tmp_path):
    from duedesk.simulate import demo

    settings.DATA_DIR = tmp_path
    username, password = seed_demo(now=datetime(2026, 11, 28, 17, 0, tzinfo=UTC))
    providers.use(None)
    assert demo.saved_login() == (username, password)
    user = Membership.objects.get(user__username=username).user
    user.set_password("the owner's own choice")
    user.save()
    assert demo.saved_login() is None
