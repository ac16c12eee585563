import os
import tempfile

# Settings read the environment at import: keep tests away from the developer's ./var.
os.environ.setdefault("DUEDESK_DATA_DIR", tempfile.mkdtemp(prefix="duedesk-test-"))
os.environ.setdefault("DUEDESK_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DUEDESK_PUBLIC_URL", "http://testserver")
# Each run (and each xdist worker) gets its own PostgreSQL test databases, so runs never collide.
os.environ.setdefault("DUEDESK_TEST_DB_SUFFIX", f"{os.getpid()}")
os.environ.setdefault("DUEDESK_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

pytest_plugins = ["tests.factories"]
