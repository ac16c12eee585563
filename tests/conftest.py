import os
import shutil
import tempfile

import pytest

# Settings read the environment at import: keep tests away from the developer's ./var.
os.environ.setdefault("DUEDESK_DATA_DIR", tempfile.mkdtemp(prefix="duedesk-test-"))
os.environ.setdefault("DUEDESK_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DUEDESK_PUBLIC_URL", "http://testserver")
# Each run (and each xdist worker) gets its own PostgreSQL test databases, so runs never collide.
os.environ.setdefault("DUEDESK_TEST_DB_SUFFIX", f"{os.getpid()}")
os.environ.setdefault("DUEDESK_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

pytest_plugins = ["tests.factories"]


def pytest_configure(config):
    """Hash the tests' passwords quickly (Django's advice for test settings): a real hash costs ~0.4 s of CPU
    and hundreds of tests make users. Deployments keep the settings' hashers. SQLite tests run on a file."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # SQLite tests run on a file of their own (one per test process), not Django's default in-memory database:
    # with the live server, the voice relay or a fake provider calling back, two threads use the database at once,
    # and connections to a shared in-memory database fail at once with "database table is locked" when they meet
    # (no busy timeout), while the live server shares the test's own connection. On a file, WAL and the busy
    # timeout work as in a deployment.
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        folder = tempfile.mkdtemp(prefix="duedesk-test-db-")
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        database.setdefault("TEST", {})["NAME"] = os.path.join(folder, "test")
    if not hasattr(config, "workerinput"):  # the run's first process, before it starts the test processes
        from tests.browser.chromium import install_in_background

        install_in_background()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The SQLite test database readable by this user only, as a deployment's is (settings.py makes it 0600
    before SQLite opens it; Django makes the test database anew, under the umask)."""
    from django.db import connection

    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        os.chmod(connection.settings_dict["NAME"], 0o600)


# `make test` runs the suite on SQLite, then again on PostgreSQL. The second pass is for what the database
# decides; these run once, on SQLite: tests that touch no database, and those that make a database of their own
# (the commands run in a subprocess) or drive a browser through pages the web tests already cover on both.
ONCE = (
    "tests/browser/",
    "tests/test_cli.py::",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        uses_db = item.get_closest_marker("django_db") or {"db", "transactional_db"} & set(item.fixturenames)
        if not uses_db or item.nodeid.startswith(ONCE):
            item.add_marker(pytest.mark.sqlite_only)
    # The browser tests last: Chromium may still be installing (tests/browser/chromium.py).
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
