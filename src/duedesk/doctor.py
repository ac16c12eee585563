"""`duedesk doctor`: checks a deployment and says what is wrong in words.

Settings, the files in the data directory, the database and its migrations, each organization's Twilio
account (the token's variable, the credentials, that its numbers are in the account and send incoming texts
to our webhook) and the SMTP server. Each finding is ok, a note (worth knowing, not wrong) or a problem; the
command exits 1 when there is any problem, so a deploy script can stop on it.
"""

from __future__ import annotations

import smtplib
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import translation

from duedesk.integrations.twilio import setup
from duedesk.records.models import Organization
from duedesk.web.operations import pending_migrations

OK, NOTE, PROBLEM = "ok", "note", "PROBLEM"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "testserver")


@dataclass(frozen=True)
class Finding:
    level: str
    subject: str
    words: str

    def line(self) -> str:
        return f"{self.level:<8} {self.subject}: {self.words}"


def check_settings() -> list[Finding]:
    out = []
    if settings.DEBUG:
        out.append(Finding(PROBLEM, "settings", "DUEDESK_DEBUG is on: error pages show code and settings to anyone"))
    url = urlsplit(settings.PUBLIC_URL)
    if url.hostname in LOOPBACK or not url.hostname:
        out.append(Finding(PROBLEM, "public URL", f"{settings.PUBLIC_URL} is this machine's own address: Twilio "
                           "cannot call it. Set DUEDESK_PUBLIC_URL to the https address Twilio reaches"))
    elif url.scheme != "https":
        out.append(Finding(PROBLEM, "public URL", f"{settings.PUBLIC_URL} is not https: webhooks and logins would "
                           "cross the internet unencrypted and cookies are not marked Secure"))
    else:
        out.append(Finding(OK, "public URL", settings.PUBLIC_URL))
    if not settings.METRICS_TOKEN:
        out.append(Finding(NOTE, "metrics", "GET /metrics is off: set DUEDESK_METRICS_TOKEN to turn it on"))
    if not settings.TRUSTED_PROXIES:
        out.append(Finding(NOTE, "login lockout", "keyed on the username alone (no DUEDESK_TRUSTED_PROXIES)"))
    return out


def _private(path: Path, what: str, wanted: int) -> Finding | None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if mode & 0o077:
        return Finding(PROBLEM, "files", f"{what} {path} is {mode:04o}: other users of this machine can read it; "
                       f"chmod {wanted:o} it")
    return Finding(OK, "files", f"{what} {path} is {mode:04o}")


def check_files() -> list[Finding]:
    data = Path(settings.DATA_DIR)
    found = [_private(data, "the data directory", 0o700), _private(data / "secret_key", "the secret key", 0o600),
             _private(Path(settings.EMAIL_FILE_PATH), "the mail directory", 0o700)]
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        found.append(_private(Path(db["NAME"]), "the SQLite database", 0o600))
    return [f for f in found if f]


def check_database() -> list[Finding]:
    vendor = connection.vendor
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = pending_migrations()
    except DatabaseError as error:
        return [Finding(PROBLEM, "database", f"{vendor} does not answer: {error}".strip())]
    found = [Finding(OK, "database", f"{vendor} answers")]
    if pending:
        found.append(Finding(PROBLEM, "migrations", f"{len(pending)} not applied ({', '.join(pending[:5])}"
                             f"{', …' if len(pending) > 5 else ''}): run duedesk migrate"))
    else:
        found.append(Finding(OK, "migrations", "all applied"))
    return found


def check_twilio(org: Organization, client: httpx.Client) -> list[Finding]:
    subject = f"{org.name} (Twilio)"
    senders = [n for n in (org.sms_from, org.voice_caller_id) if n]
    if not (senders or org.messaging_service_sid or org.twilio_account_sid):
        return [Finding(NOTE, subject, "no sender number: texts and calls are simulated")]
    sid = org.twilio_account_sid or settings.TWILIO_ACCOUNT_SID
    name = (org.twilio_auth_token_env or "").strip()
    # The same words as Settings → Twilio; a missing sender or callback number is a note there, not a failure.
    problems = [p for p in setup.missing(org) if p.startswith(("no account SID", "no environment", "the auth token"))]
    if problems:
        return [Finding(PROBLEM, subject, p) for p in problems]

    base = f"{settings.TWILIO_BASE_URL}/2010-04-01/Accounts/{sid}"
    auth = (sid, settings.TWILIO_AUTH_TOKENS[name])
    found = []
    for number in dict.fromkeys(senders):
        try:
            response = client.get(f"{base}/IncomingPhoneNumbers.json", params={"PhoneNumber": number}, auth=auth)
        except httpx.HTTPError as error:
            return [Finding(PROBLEM, subject, f"Twilio's API at {settings.TWILIO_BASE_URL} does not answer: "
                            f"{error or type(error).__name__}")]
        if response.status_code in (401, 403):
            return [Finding(PROBLEM, subject, f"Twilio refused account {sid[:8]}… with the token in {name} "
                            f"(HTTP {response.status_code}): check the account SID and the token")]
        if response.status_code != 200:
            return [Finding(PROBLEM, subject, f"Twilio answered HTTP {response.status_code} about {number}")]
        rows = response.json().get("incoming_phone_numbers") or []
        if not rows:
            found.append(Finding(PROBLEM, subject, f"{number} is not a number of Twilio account {sid[:8]}…"))
            continue
        expected = f"{settings.PUBLIC_URL}/hooks/twilio/sms"
        hotline = f"{settings.PUBLIC_URL}/hooks/twilio/voice/incoming"
        if number == org.sms_from and rows[0].get("sms_url") != expected:
            found.append(Finding(PROBLEM, subject, f"texts to {number} go to {rows[0].get('sms_url') or 'nowhere'}, "
                                 f"not {expected}: set the number's \"A message comes in\" webhook to it"))
        elif number == org.voicemail_callback_number() and rows[0].get("voice_url") != hotline:
            # Voicemails ask patients to call this number back: the assistant must answer it.
            found.append(Finding(PROBLEM, subject, f"calls to {number} go to {rows[0].get('voice_url') or 'nowhere'}, "
                                 f"not {hotline}: voicemails ask patients to call it back; set the number's \"A call "
                                 "comes in\" webhook to it (or have voicemails give the office line, in Settings)"))
        else:
            found.append(Finding(OK, subject, f"{number} is in the account; credentials accepted"))
    if org.messaging_service_sid and not org.sms_from:
        found.append(Finding(NOTE, subject, f"texts go through Messaging Service {org.messaging_service_sid}: its "
                             f"incoming messages should go to {settings.PUBLIC_URL}/hooks/twilio/sms (not checked)"))
    return found


def check_smtp() -> list[Finding]:
    if not settings.SMTP_CONFIGURED:
        return [Finding(NOTE, "mail", f"no SMTP server (DUEDESK_SMTP_HOST): mail is written to files in "
                        f"{settings.EMAIL_FILE_PATH}")]
    where = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    try:
        with smtplib.SMTP(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=10) as server:
            server.ehlo()
            if settings.EMAIL_USE_TLS:
                server.starttls()
                server.ehlo()
            if settings.EMAIL_HOST_USER:
                server.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
    except smtplib.SMTPAuthenticationError:
        return [Finding(PROBLEM, "mail", f"the SMTP server {where} refused user {settings.EMAIL_HOST_USER}")]
    except (OSError, smtplib.SMTPException) as error:
        return [Finding(PROBLEM, "mail", f"the SMTP server {where} does not answer: {error or type(error).__name__}")]
    return [Finding(OK, "mail", f"the SMTP server {where} answers")]


def run() -> list[Finding]:
    # In English whatever the thread last served (check_twilio reads Settings → Twilio's words, which follow the
    # active language).
    with translation.override("en"):
        return _run()


def _run() -> list[Finding]:
    findings = check_settings() + check_files() + check_database()
    if not any(f.level == PROBLEM for f in findings if f.subject == "database"):
        with httpx.Client(timeout=settings.TWILIO_TIMEOUT) as client:
            for org in Organization.objects.order_by("name"):
                findings += check_twilio(org, client)
    return findings + check_smtp()
