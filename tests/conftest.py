import os
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
    and hundreds of tests make users. Deployments keep the settings' hashers."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if not hasattr(config, "workerinput"):  # the run's first process, before it starts the test processes
        from tests.browser.chromium import install_in_background

        install_in_background()


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
