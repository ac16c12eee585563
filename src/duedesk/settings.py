"""Django settings, all from the environment.

DUEDESK_DATABASE_URL   database (default: SQLite file in the data dir)
DUEDESK_DATA_DIR       where SQLite and the generated secret key live (default ./var)
DUEDESK_SECRET_KEY     session signing key (generated into the data dir on first run if unset)
DUEDESK_FIELD_KEYS     Fernet keys for the fields that hold health information, comma-separated: the first
                       encrypts, all decrypt (rotation: put the new key first, run `duedesk rotate-keys`,
                       then drop the old one). Unset: a key generated into the data dir (dev only)
DUEDESK_PUBLIC_URL     the base URL Twilio calls back (webhook signatures are checked against it)
DUEDESK_DEBUG          "1" for development pages
... and the others documented beside where they are read below (docs/deploy.md lists them all).

Every environment variable duedesk reads is read here, once, at start-up; the rest of the code asks
django.conf.settings.
"""

import base64
import ipaddress
import os
import re
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("DUEDESK_DATA_DIR", "var")).resolve()


def make_data_dir(path: Path = DATA_DIR) -> Path:
    """The data directory (patient data, the secret key, mail), readable by this user only when we make it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def write_private(path: Path, text: str = "") -> bool:
    """Create `path` as 0600 from its first byte (no window where another user can read it, whatever the
    umask); False when it already exists (another process made it first: use that one)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return True


def _secret_key() -> str:
    key = os.environ.get("DUEDESK_SECRET_KEY")
    if key:
        return key
    # Generated once and kept beside the database so sessions survive a restart.
    path = make_data_dir() / "secret_key"
    write_private(path, secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _field_keys() -> list[str]:
    keys = [k.strip() for k in os.environ.get("DUEDESK_FIELD_KEYS", "").split(",") if k.strip()]
    if keys:
        return keys
    # A dev machine: one key generated beside the database (0600), like the secret key. Production sets
    # DUEDESK_FIELD_KEYS so the key does not live next to the data it protects (docs/deploy.md).
    path = make_data_dir() / "field_key"
    write_private(path, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return [path.read_text().strip()]


FIELD_KEYS = _field_keys()
DEBUG = os.environ.get("DUEDESK_DEBUG", "") == "1"
PUBLIC_URL = os.environ.get("DUEDESK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = [h for h in os.environ.get("DUEDESK_ALLOWED_HOSTS", "").split(",") if h] or [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "testserver",
]
_public_host = PUBLIC_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
if _public_host and _public_host not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public_host)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "duedesk.records",
    "duedesk.channels",
    "duedesk.integrations.stripe",
    "duedesk.integrations.webhooks",
    "duedesk.integrations.calendars",
    "duedesk.engine",
    "duedesk.intake",
    "duedesk.inbox",
    "duedesk.web",
    "duedesk.api",
    "duedesk.integrations.crm",
]

MIDDLEWARE = [
    "duedesk.web.operations.WebhookTiming",
    "duedesk.web.operations.ProviderWebhooks",  # /hooks/ skips what follows: it is for people in browsers
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "duedesk.web.access.RequestLanguage",  # the language below is the request's: the thread's comes back after
    "django.middleware.locale.LocaleMiddleware",  # signed out: the browser's language (English or Spanish)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "duedesk.web.access.StaffLanguage",  # signed in: the language each person chose on their account page
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "duedesk.urls"
WSGI_APPLICATION = "duedesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DUEDESK_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'duedesk.sqlite3'}",
        conn_max_age=int(os.environ.get("DUEDESK_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Short OLTP queries: JIT compilation costs more than it saves (5-75 ms on the overview's queries).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if os.environ.get("DUEDESK_TEST_DB_SUFFIX") and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Two copies of the test suite on one PostgreSQL server each get their own test databases.
    DATABASES["default"]["TEST"] = {"NAME": f"test_duedesk_{os.environ['DUEDESK_TEST_DB_SUFFIX']}"}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    make_data_dir()
    # SQLite would create the file 0644 under the usual umask: make it 0600 first (its -wal and -shm files
    # take the database file's mode).
    if DATABASES["default"]["NAME"] not in ("", ":memory:") and "mode=memory" not in DATABASES["default"]["NAME"]:
        write_private(Path(DATABASES["default"]["NAME"]))
    # WAL lets the web process read while the worker writes; a busy timeout instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Dates accepted from the import, the API and staff forms (due dates, payments, birth dates): a year outside
# these is a typo, and the engine's date arithmetic on year 1 or 9999 would overflow.
MIN_YEAR = int(os.environ.get("DUEDESK_MIN_YEAR", "1900"))
MAX_YEAR = int(os.environ.get("DUEDESK_MAX_YEAR", "2200"))

# Where the engine finds an organization's real transports (Twilio, SMTP); see channels/providers.py.
TRANSPORTS_FOR_ORG = "duedesk.integrations.twilio.transport.transports_for_org"
# Where the engine gets a pay link for an invoice's balance (Stripe Checkout); see channels/paylinks.py.
PAY_LINK_FOR_INVOICE = "duedesk.integrations.stripe.paylinks.pay_link_for"
STRIPE_BASE_URL = os.environ.get("DUEDESK_STRIPE_BASE_URL", "").rstrip("/") or "https://api.stripe.com"
STRIPE_TIMEOUT = float(os.environ.get("DUEDESK_STRIPE_TIMEOUT", "10"))
# An organization's Stripe account names the variables holding its secret key and webhook secret (as with
# Twilio below); only variables whose name contains STRIPE can be named, so none can point at another secret.
STRIPE_SECRETS = {name: value for name, value in os.environ.items() if "STRIPE" in name}
# CRMs (integrations/crm): API addresses (the local fakes in tests and benchmarks), and every token or app
# secret a connection may name. A connection stores only the NAME of its variable, and only names under
# the provider's prefix are read, so an organization's settings can never point at another secret.
CRM_BASE_URLS = {
    "hubspot": os.environ.get("DUEDESK_HUBSPOT_BASE_URL", "") or "https://api.hubapi.com",
    "salesforce": os.environ.get("DUEDESK_SALESFORCE_BASE_URL", ""),  # the instance URL, e.g. https://x.my.salesforce.com
    "pipedrive": os.environ.get("DUEDESK_PIPEDRIVE_BASE_URL", "") or "https://api.pipedrive.com",
}
CRM_SECRET_NAME = re.compile(r"^DUEDESK_(HUBSPOT|SALESFORCE|PIPEDRIVE)_[A-Z0-9_]+$")
CRM_SECRETS = {name: value for name, value in os.environ.items()
               if CRM_SECRET_NAME.match(name) and not name.endswith("_URL")}
# Salesforce's JWT bearer grant names the login server as the assertion's audience (test.salesforce.com for
# a sandbox); the token itself is asked of the instance URL.
SALESFORCE_JWT_AUDIENCE = os.environ.get("DUEDESK_SALESFORCE_LOGIN_URL", "") or "https://login.salesforce.com"
CRM_TIMEOUT = float(os.environ.get("DUEDESK_CRM_TIMEOUT", "") or 15)
# Calendars (integrations/calendars): the OAuth apps' client ids and secrets (one Google OAuth client and one
# Azure app registration for the deployment; each staff member connects their own account), and the vendors'
# addresses, which the local fakes replace in tests and local runs.
GOOGLE_CLIENT_ID = os.environ.get("DUEDESK_GOOGLE_CLIENT_ID", "")
GOOGLE_CLIENT_SECRET = os.environ.get("DUEDESK_GOOGLE_CLIENT_SECRET", "")
GOOGLE_OAUTH_AUTH_URL = os.environ.get("DUEDESK_GOOGLE_OAUTH_AUTH_URL", "") or "https://accounts.google.com/o/oauth2/auth"
GOOGLE_OAUTH_TOKEN_URL = os.environ.get("DUEDESK_GOOGLE_OAUTH_TOKEN_URL", "") or "https://oauth2.googleapis.com/token"
# The Calendar API's root with its service path (google-api-python-client's api_endpoint).
GOOGLE_CALENDAR_BASE_URL = (os.environ.get("DUEDESK_GOOGLE_CALENDAR_BASE_URL", "")
                            or "https://www.googleapis.com/calendar/v3/").rstrip("/") + "/"
MICROSOFT_CLIENT_ID = os.environ.get("DUEDESK_MICROSOFT_CLIENT_ID", "")
MICROSOFT_CLIENT_SECRET = os.environ.get("DUEDESK_MICROSOFT_CLIENT_SECRET", "")
MICROSOFT_AUTHORITY = (os.environ.get("DUEDESK_MICROSOFT_AUTHORITY", "")
                       or "https://login.microsoftonline.com/common").rstrip("/")
GRAPH_BASE_URL = (os.environ.get("DUEDESK_GRAPH_BASE_URL", "") or "https://graph.microsoft.com/v1.0").rstrip("/")
# A CA bundle to trust for the Microsoft endpoints (the local fake's own certificate); unset: the system's.
MICROSOFT_CA_BUNDLE = os.environ.get("DUEDESK_MICROSOFT_CA_BUNDLE", "")
CALENDAR_TIMEOUT = float(os.environ.get("DUEDESK_CALENDAR_TIMEOUT", "") or 15)
if GOOGLE_OAUTH_TOKEN_URL.startswith("http://127.0.0.1"):
    # oauthlib refuses plain-HTTP token endpoints; the local fake is the only one allowed.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("es", "Español")]
# The staff pages' translations (locale/es/LC_MESSAGES/django.po); the compiled .mo beside it is kept in the
# repository, so a fresh clone needs no gettext tools (tests/web/test_translations.py checks it is current).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
make_data_dir()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it even before collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# Security by default; cookies are "secure" whenever the public URL is https.
_https = PUBLIC_URL.startswith("https://")
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if _https:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_RESET_ON_SUCCESS = True
# Behind a reverse proxy every login comes from the proxy's address, so "username + IP" would let anyone lock
# a staff member out from anywhere. Lockout keys on the username alone, unless DUEDESK_TRUSTED_PROXIES names
# the proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed: then it keys on the
# username and the client's own address (web/proxies.client_ip), so a stranger locks out only themselves.
TRUSTED_PROXIES = [p.strip() for p in os.environ.get("DUEDESK_TRUSTED_PROXIES", "").split(",") if p.strip()]
for _proxy in TRUSTED_PROXIES:
    ipaddress.ip_network(_proxy, strict=False)  # a typo fails at start-up, naming itself, not at the first login
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]] if TRUSTED_PROXIES else ["username"]
AXES_CLIENT_IP_CALLABLE = "duedesk.web.proxies.client_ip"
# axes warns about a lockout without the address; keying on the username alone is the choice made above.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Without an SMTP server configured, mail (handoff notices, password resets) is written to files in
# the data dir, so a fresh install works and nothing is silently lost.
SMTP_CONFIGURED = bool(os.environ.get("DUEDESK_SMTP_HOST"))
EMAIL_BACKEND = os.environ.get("DUEDESK_EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if SMTP_CONFIGURED else "duedesk.integrations.smtp.files.PrivateFileBackend"
)
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_HOST = os.environ.get("DUEDESK_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("DUEDESK_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DUEDESK_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DUEDESK_SMTP_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("DUEDESK_SMTP_TLS", "") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("DUEDESK_EMAIL_FROM", "billing@localhost")

# Twilio. The account SID may also be set per organization. An organization names the environment variable
# that holds its auth token (Organization.twilio_auth_token_env), so several clinics on one instance keep
# separate tokens without any token in the database: every variable whose name could be such a token (it
# contains TWILIO, so an organization's settings can never point at another secret of the process, such as
# DUEDESK_SECRET_KEY) is read here, and integrations/twilio picks the one its organization names.
TWILIO_ACCOUNT_SID = os.environ.get("DUEDESK_TWILIO_ACCOUNT_SID", "")
TWILIO_BASE_URL = (os.environ.get("DUEDESK_TWILIO_BASE_URL", "") or "https://api.twilio.com").rstrip("/")
# Lookup v2 (line types) is on its own host. Unset: https://lookups.twilio.com, or the base URL above when that
# points away from Twilio (a local fake answers both), see integrations/twilio/transport.twilio_config.
TWILIO_LOOKUPS_URL = os.environ.get("DUEDESK_TWILIO_LOOKUPS_URL", "").rstrip("/")
TWILIO_TIMEOUT = float(os.environ.get("DUEDESK_TWILIO_TIMEOUT", "") or 10.0)  # seconds per API request
TWILIO_TOKEN_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*TWILIO[A-Z0-9_]*$|^TWILIO[A-Z0-9_]*$")
TWILIO_AUTH_TOKENS = {name: value for name, value in os.environ.items() if TWILIO_TOKEN_ENV_NAME.match(name)}
# Streaming voice (Twilio ConversationRelay) instead of <Gather> turns: the wss:// address Twilio reaches
# `duedesk relay` at (behind the same TLS proxy as the web process). Unset: calls use <Gather>.
VOICE_RELAY_URL = os.environ.get("DUEDESK_VOICE_RELAY_URL", "").strip().rstrip("/")

# Understanding replies: the small statistical model (on unless DUEDESK_NLU_MODEL=off) and an optional
# language model's second opinion (off unless a base URL and a model are set). core/nlu is handed these
# when the apps load (records/apps.py): the core reads no environment.
NLU_MODEL = os.environ.get("DUEDESK_NLU_MODEL", "on").strip().lower() not in ("off", "0", "false", "no")
LLM = {
    "base_url": os.environ.get("DUEDESK_LLM_BASE_URL", ""),
    "model": os.environ.get("DUEDESK_LLM_MODEL", ""),
    "api_key": os.environ.get("DUEDESK_LLM_API_KEY", ""),
    "timeout": float(os.environ.get("DUEDESK_LLM_TIMEOUT", "") or 1.5),
}

# Logs go to stderr, for the service manager or container runtime to keep. Every 500 reaches them with its
# traceback: django.request logs the exception (exc_info) and propagates to the root handler; 4xx warnings
# ("Not Found: ...") stay out. DUEDESK_LOG_FORMAT=json writes one JSON object per line (python-json-logger),
# the traceback inside it as "exc_info"; `duedesk serve` gives gunicorn's own lines the same format.
LOG_FORMAT = os.environ.get("DUEDESK_LOG_FORMAT", "plain").strip().lower() or "plain"
if LOG_FORMAT not in ("plain", "json"):
    raise ValueError(f"DUEDESK_LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOG_LEVEL = os.environ.get("DUEDESK_LOG_LEVEL", "INFO").upper()
LOG_FORMATTERS = {
    "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    "json": {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    },
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": LOG_FORMATTERS,
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "duedesk": {"level": LOG_LEVEL},
        "django.request": {"level": "ERROR"},
    },
}

# GET /metrics (Prometheus) answers only a request with "Authorization: Bearer <this token>"; unset, it is 404.
METRICS_TOKEN = os.environ.get("DUEDESK_METRICS_TOKEN", "")

# How long attempts (texts, emails, calls) and the timeline are kept before `duedesk audit purge` deletes
# them; an organization's own `retention_days` wins. The suppression list (lines and their history) is kept.
RETENTION_DAYS = int(os.environ.get("DUEDESK_RETENTION_DAYS", "") or 7 * 365 + 2)
