"""The one command-line entry point. Our own commands are below; anything else is handed to Django
(`duedesk migrate`, `duedesk createsuperuser`, `duedesk shell` …)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

app = typer.Typer(help="duedesk: payment-reminder outreach for clinics.", no_args_is_help=True,
                  add_completion=False)
workflow_app = typer.Typer(help="Workflow definitions.", no_args_is_help=True)
import_app = typer.Typer(help="Import records.", no_args_is_help=True)
nlu_app = typer.Typer(help="Understanding patients' words.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for a clinic's billing system or CRM.", no_args_is_help=True)
crm_app = typer.Typer(help="CRM sync: HubSpot, Salesforce and Pipedrive.", no_args_is_help=True)
app.add_typer(workflow_app, name="workflow")
app.add_typer(import_app, name="import")
app.add_typer(nlu_app, name="nlu")
app.add_typer(apikey_app, name="apikey")
app.add_typer(crm_app, name="crm")
audit_app = typer.Typer(help="Records for an auditor: attempts as CSV, and the retention purge.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

OUR_COMMANDS = {"serve", "run", "worker", "demo", "doctor", "simulate", "import", "workflow", "nlu", "apikey", "fake-twilio", "fake-stripe",
                "crm", "fake-crm", "fake-calendar",
                "rotate-keys", "--help", "-h"}


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")
    import django
    from django.apps import apps

    if not apps.ready:  # once per process: a second setup would configure logging again
        django.setup()


@workflow_app.command("check")
def workflow_check(file: Path):
    """Validate a workflow file: every error with its line and the reason."""
    from duedesk.core import workflow as wf

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"{file}: cannot read: {error}", err=True)
        raise typer.Exit(2) from error
    problems = wf.check(text)
    if problems:
        typer.echo(wf.format_problems(problems, str(file)), err=True)
        raise typer.Exit(1)
    typer.echo(f"{file}: ok")


@nlu_app.command("classify")
def nlu_classify():
    """Read JSON lines on standard input; write one understanding per line."""
    from duedesk.core.nlu.evaluate import classify_lines

    for line in classify_lines(sys.stdin):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


@nlu_app.command("eval")
def nlu_eval(file: Path):
    """Accuracy per intent and for dates on a labelled JSON-lines file."""
    from duedesk.core.nlu.evaluate import evaluate

    report, _ = evaluate(str(file))
    typer.echo(report)


@app.command()
def worker(batch: int = typer.Option(1000, help="Steps claimed per batch (fewer when a sender's rate is low)"),  # engine.worker.BATCH
           until_idle: bool = typer.Option(False, "--until-idle", help="Stop when nothing is due"),
           at: str = typer.Option(None, "--at", help="Run as if it were this ISO 8601 moment (tests, benchmarks)")):
    """Run the outreach worker until SIGTERM (or, with --until-idle, until nothing is due)."""
    _django()
    from datetime import datetime

    from django.utils import timezone

    from duedesk.channels.providers import transports_for_process
    from duedesk.channels.registry import simulated
    from duedesk.engine.worker import for_process
    from duedesk.integrations.jobs import Between

    clock = timezone.now
    transports = transports_for_process()
    if at:
        moment = datetime.fromisoformat(at)
        clock = lambda: moment  # noqa: E731
        transports.fallback = simulated(clock)
    w = for_process(transports, clock, batch, after_batch=Between(clock))
    total = w.run(until_idle=until_idle)
    if until_idle:
        typer.echo(total)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, dev: bool = typer.Option(False, "--dev"),
          workers: int = typer.Option(2, help="gunicorn worker processes")):
    """Serve the web app and webhooks (gunicorn; Django's server with --dev)."""
    _django()
    if dev:
        from django.core.management import call_command

        call_command("runserver", f"{host}:{port}", use_reloader=False)
        return
    _gunicorn(host, port, workers)


def _gunicorn(host: str, port: int, workers: int):
    from django.conf import settings
    from gunicorn.app.wsgiapp import WSGIApplication

    class App(WSGIApplication):
        def load_config(self):
            super().load_config()
            if settings.LOG_FORMAT == "json":
                # gunicorn's own lines (boot, worker timeouts and crashes, access) as JSON like the app's.
                # Not propagated: the root logger has Django's handler too, and each line should appear once.
                self.cfg.set("logconfig_dict", {
                    "formatters": {"generic": settings.LOG_FORMATTERS["json"]},
                    "loggers": {
                        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
                        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
                    },
                })

    # Errors (and a worker's traceback) to stderr, requests to stdout; a 500's traceback is logged by Django.
    sys.argv = ["gunicorn", "duedesk.wsgi:application", "--bind", f"{host}:{port}", "--workers", str(workers),
                "--access-logfile", "-", "--error-logfile", "-"]
    App().run()


@app.command()
def run(host: str = "127.0.0.1", port: int = 8000):
    """Web and worker together on one machine (SQLite)."""
    import subprocess

    _django()
    child = subprocess.Popen([sys.executable, "-m", "duedesk", "worker"])
    try:
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
        _gunicorn(host, port, 2)
    finally:
        child.terminate()
        child.wait(timeout=30)


@app.command()
def demo(force: bool = typer.Option(False, help="Seed even if the database has organizations"),
         reset_password: bool = typer.Option(False, "--reset-password",
                                             help="Give the demo owner a new password and print it")):
    """Seed a demo organization and print its login (again, when the demo exists and its login still works)."""
    _django()
    from duedesk.simulate import demo as seeding

    if reset_password:
        login = seeding.reset_password()
        if login is None:
            typer.echo("There is no demo organization; run `duedesk demo` to seed one.", err=True)
            raise typer.Exit(1)
    else:
        login = seeding.seed_demo(force=force)
        if login == (None, None):
            login = seeding.saved_login()
            if login is None:
                typer.echo("The database already has an organization; nothing seeded. "
                           "`duedesk demo --reset-password` gives the demo owner a new password.")
                return
    typer.echo(f"Username: {login[0]}")
    typer.echo(f"Password: {login[1]}")


@app.command()
def doctor():
    """Check this deployment: settings, files, database, Twilio per organization, SMTP. Exit 1 on a problem."""
    _django()
    from duedesk import doctor as checks

    findings = checks.run()
    for finding in findings:
        typer.echo(finding.line())
    problems = sum(f.level == checks.PROBLEM for f in findings)
    typer.echo(f"{problems} problem{'s' if problems != 1 else ''} found" if problems else "no problems found")
    raise typer.Exit(1 if problems else 0)


@app.command()
def simulate(scenario: str, json_output: bool = typer.Option(False, "--json", help="One JSON array of events")):
    """Run a scenario through the real engine on a virtual clock (throwaway SQLite database)."""
    from duedesk.simulate.runner import run_scenario

    output = run_scenario(scenario, as_json=json_output)
    sys.stdout.write(output + ("\n" if not output.endswith("\n") else ""))


@import_app.command("invoices")
def import_invoices(file: Path, org: str = typer.Option(None, "--org", help="Organization slug")):
    """Upsert invoices (and their contacts) from a CSV file."""
    _django()
    from duedesk.intake.importer import import_invoices_cli

    raise typer.Exit(import_invoices_cli(file, org))


@apikey_app.command("create")
def apikey_create(org: str = typer.Option(None, "--org", help="Organization slug"),
                  name: str = typer.Option(..., "--name", help="What will use it, e.g. 'billing system'")):
    """Make an API key for an organization and print it (once: only its hash is kept)."""
    _django()
    from django.utils import timezone

    from duedesk.api.auth import create_key
    from duedesk.intake.importer import ImportFileError, resolve_organization

    try:
        organization = resolve_organization(org)
        new = create_key(organization, name, timezone.now())
    except (ImportFileError, ValueError) as error:
        typer.echo(f"apikey create: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(new.token)
    typer.echo(f"API key {new.key.prefix} ({new.key.name}) for {organization.slug}. Store it now: it is not "
               "shown again.", err=True)


@apikey_app.command("list")
def apikey_list(org: str = typer.Option(None, "--org", help="Organization slug")):
    """An organization's API keys: prefix, name, when made, last used, revoked."""
    _django()
    from duedesk.api.models import ApiKey
    from duedesk.intake.importer import ImportFileError, resolve_organization

    try:
        organization = resolve_organization(org)
    except ImportFileError as error:
        typer.echo(f"apikey list: {error}", err=True)
        raise typer.Exit(2) from error

    def when(moment):
        return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"

    keys = ApiKey.objects.filter(organization=organization).order_by("created_at", "pk")
    if not keys:
        typer.echo(f"{organization.slug} has no API keys (duedesk apikey create --org {organization.slug} "
                   "--name NAME)")
        return
    typer.echo(f"{'PREFIX':<10}{'NAME':<30}{'CREATED':<18}{'LAST USED':<18}REVOKED")
    for key in keys:
        typer.echo(f"{key.prefix:<10}{key.name[:29]:<30}{when(key.created_at):<18}{when(key.last_used_at):<18}"
                   f"{when(key.revoked_at)}")


@apikey_app.command("revoke")
def apikey_revoke(prefix: str):
    """Revoke an API key at once (by its 8-character prefix, as `apikey list` shows it)."""
    _django()
    from django.utils import timezone

    from duedesk.api.auth import revoke_key

    try:
        key = revoke_key(prefix, timezone.now())
    except LookupError as error:
        typer.echo(f"apikey revoke: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"API key {key.prefix} ({key.name}) of {key.organization.slug} is revoked.")


@app.command("rotate-keys")
def rotate_keys():
    """Re-encrypt every health-information field (dates of birth, handoff summaries and transcripts, call
    transcripts) under the first key of DUEDESK_FIELD_KEYS; then the old keys can be dropped."""
    _django()
    from django.db import transaction

    from duedesk.records.fields import encrypted_columns, seal_columns

    with transaction.atomic():
        changed = seal_columns(transaction.get_connection(), encrypted_columns(), rotate_tokens=True)
    typer.echo(f"re-encrypted {changed} values under the first key")


@app.command()
def relay(host: str = "127.0.0.1", port: int = 8765):
    """Serve streaming voice (Twilio ConversationRelay) at DUEDESK_VOICE_RELAY_URL, behind the TLS proxy."""
    _django()
    from duedesk import warm
    from duedesk.integrations.twilio.relay import server

    warm.web_process()  # the first caller's first turn is not the one that loads the understanding
    with server(host, port) as running:
        typer.echo(f"Streaming voice on ws://{host}:{port} (Twilio reaches it as DUEDESK_VOICE_RELAY_URL)")
        running.serve_forever()


@app.command("fake-twilio")
def fake_twilio(port: int = 8900, auth_token: str = typer.Option("test-token", envvar="DUEDESK_TWILIO_AUTH_TOKEN"),
                account_sid: str = typer.Option("AC" + "0" * 32, envvar="DUEDESK_TWILIO_ACCOUNT_SID"),
                dedupe: bool = typer.Option(True, "--dedupe/--no-dedupe",
                                            help="Answer a repeated idempotency token with the first text "
                                            "(--no-dedupe: as real Twilio, every request is a new text)")):
    """A local stand-in for Twilio's API, for trying things out and benchmarks."""
    from duedesk.integrations.twilio.fake import serve as serve_fake

    serve_fake(port=port, auth_token=auth_token, account_sid=account_sid, dedupe=dedupe)


@app.command("fake-stripe")
def fake_stripe(port: int = 8901, webhook_url: str = typer.Option("http://127.0.0.1:8000/hooks/stripe"),
                secret_key: str = typer.Option("sk_test_fake", envvar="DUEDESK_STRIPE_SECRET_KEY"),
                webhook_secret: str = typer.Option("whsec_fake", envvar="DUEDESK_STRIPE_WEBHOOK_SECRET")):
    """A local stand-in for Stripe's API that signs the webhooks it sends, for trying things out and tests."""
    from duedesk.integrations.stripe.fake import serve as serve_fake

    serve_fake(port=port, webhook_url=webhook_url, secret_key=secret_key, webhook_secret=webhook_secret)
@crm_app.command("connect")
def crm_connect(org: str = typer.Option(None, "--org", help="Organization slug"),
                provider: str = typer.Option(..., "--provider", help="hubspot, salesforce or pipedrive"),
                token_env: str = typer.Option("", "--token-env", help="NAME of the environment variable "
                                              "holding the token, e.g. DUEDESK_HUBSPOT_TOKEN"),
                token_stdin: bool = typer.Option(False, "--token-stdin", help="read the token from standard "
                                                 "input; it is kept encrypted with DUEDESK_FIELD_KEYS"),
                webhook_secret_env: str = typer.Option("", "--webhook-secret-env",
                                                       help="NAME of the variable holding the app secret"),
                owner: str = typer.Option("", "--owner", help="CRM owner id who gets handoff tasks"),
                rate_limit: int = typer.Option(0, "--rate-limit", help="requests per 10 s (HubSpot, Salesforce) or "
                                               "per 2 s (Pipedrive)"),
                client_id: str = typer.Option("", "--client-id", help="Salesforce: the connected app's consumer key"),
                client_secret_env: str = typer.Option("", "--client-secret-env", help="Salesforce: NAME of the "
                                                      "variable holding the consumer secret"),
                refresh_token_env: str = typer.Option("", "--refresh-token-env", help="Salesforce: NAME of the "
                                                      "variable holding the refresh token"),
                private_key_env: str = typer.Option("", "--private-key-env", help="Salesforce JWT bearer: NAME of "
                                                    "the variable holding the private key (PEM)"),
                jwt_username: str = typer.Option("", "--jwt-username", help="Salesforce JWT bearer: the user "
                                                 "duedesk acts as")):
    """Connect an organization to its CRM: checks the token, creates the custom properties, maps the fields."""
    _django()
    from django.utils import timezone

    from duedesk.intake.importer import ImportFileError, resolve_organization
    from duedesk.integrations.crm.connections import ConnectError, connect

    try:
        organization = resolve_organization(org)
        token = sys.stdin.readline().strip() if token_stdin else ""
        if token_stdin and not token:
            raise ConnectError("--token-stdin: standard input held no token")
        oauth = {"client_id": client_id, "client_secret_env": client_secret_env,
                 "refresh_token_env": refresh_token_env, "private_key_env": private_key_env,
                 "jwt_username": jwt_username}
        conn, made = connect(organization, provider, token_env, timezone.now(), webhook_secret_env=webhook_secret_env,
                             owner_id=owner, rate_limit=rate_limit or None, token=token,
                             oauth=oauth if any(oauth.values()) else None)
    except (ImportFileError, ConnectError) as error:
        typer.echo(f"crm connect: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"{organization.slug} is connected to {conn.get_provider_display()}; "
               f"{len(made)} custom properties created. The first full sync runs with the worker, or now with "
               f"`duedesk crm sync --org {organization.slug}`.")
    if conn.provider == "salesforce":
        return  # no webhooks: the worker pulls by SystemModstamp
    from django.conf import settings

    where = {"hubspot": "HubSpot app → Webhooks → Target URL",
             "pipedrive": "Pipedrive → Tools and apps → Webhooks → Endpoint URL, HTTP Auth user duedesk"}
    typer.echo(f"Webhook URL ({where.get(conn.provider, conn.provider)}): "
               f"{settings.PUBLIC_URL}/hooks/{conn.provider}/{conn.webhook_key}/")


@crm_app.command("sync")
def crm_sync(org: str = typer.Option(None, "--org", help="Organization slug"),
             provider: str = typer.Option(None, "--provider", help="Only this CRM")):
    """One pull and the outbox drained, for each of the organization's connections."""
    _django()
    import time as _t

    from django.utils import timezone

    from duedesk.intake.importer import ImportFileError, resolve_organization
    from duedesk.integrations.crm.models import Connection
    from duedesk.integrations.crm.sync import sync_connection

    try:
        organization = resolve_organization(org)
    except ImportFileError as error:
        typer.echo(f"crm sync: {error}", err=True)
        raise typer.Exit(2) from error
    conns = Connection.objects.filter(organization=organization).exclude(status="disconnected")
    if provider:
        conns = conns.filter(provider=provider)
    if not conns:
        typer.echo(f"crm sync: {organization.slug} has no CRM connection (duedesk crm connect)", err=True)
        raise typer.Exit(1)
    failed = False
    for conn in conns.select_related("organization"):
        result = sync_connection(conn, timezone.now(), "cli", progress=_progress(conn.get_provider_display()))
        # A 429 during the writes: wait as asked and go on, so one run drains what it can.
        while result.pushed and result.pushed.waiting_for is not None:
            _t.sleep(result.pushed.waiting_for)
            result = sync_connection(conn, timezone.now(), "cli", do_pull=False)
        typer.echo("", err=True)
        typer.echo(f"{conn.get_provider_display()}: {result.summary()}")
        failed = failed or bool(result.errors)
    raise typer.Exit(1 if failed else 0)


def _progress(name: str):
    read = [0]

    def show(n: int) -> None:
        read[0] += n
        typer.echo(f"\r{name}: {read[0]} contacts read", nl=False, err=True)

    return show


@app.command("fake-crm")
def fake_crm(provider: str = typer.Argument(..., help="hubspot, salesforce or pipedrive"), port: int = 8910,
             token: str = typer.Option("", "--token", help="the token the fake accepts (default: "
                                       "hubspot-test-token / salesforce-test-token / pipedrive-test-token)"),
             per_10s: int = typer.Option(100, "--per-10s", help="HubSpot's rate limit: requests per 10 seconds"),
             per_2s: int = typer.Option(80, "--per-2s", help="Pipedrive's token budget: requests per 2 seconds"),
             app_secret: str = typer.Option("hubspot-app-secret", "--app-secret", help="signs HubSpot's webhooks"),
             webhook_password: str = typer.Option("", "--webhook-password",
                                                  help="Pipedrive webhooks' basic-auth password (user duedesk)"),
             webhook_url: str = typer.Option("", "--webhook-url", help="where contact changes are sent"),
             daily_limit: int = typer.Option(100_000, "--daily-limit", help="Salesforce's daily request allowance"),
             client_id: str = typer.Option("", "--client-id", help="Salesforce: the consumer key the token "
                                           "endpoint accepts"),
             client_secret: str = typer.Option("", "--client-secret", help="Salesforce: the consumer secret"),
             refresh_token: str = typer.Option("", "--refresh-token", help="Salesforce: the refresh token the "
                                               "token endpoint accepts")):
    """A local stand-in for a CRM's API (tests, benchmarks, trying things out)."""
    if provider == "hubspot":
        from duedesk.integrations.hubspot.fake import serve as serve_fake

        serve_fake(port, token or "hubspot-test-token", per_10s, app_secret, webhook_url)
    elif provider == "pipedrive":
        from duedesk.integrations.pipedrive.fake import serve as serve_pipedrive

        serve_pipedrive(port, token or "pipedrive-test-token", per_2s, webhook_url, webhook_password)
    elif provider == "salesforce":
        from duedesk.integrations.salesforce.fake import serve as serve_salesforce

        serve_salesforce(port, token or "salesforce-test-token", daily_limit, client_id, client_secret, refresh_token)
    else:
        typer.echo(f"fake-crm: {provider!r} has no fake (hubspot, salesforce, pipedrive)", err=True)
        raise typer.Exit(2)


@app.command("fake-calendar")
def fake_calendar(provider: str = typer.Argument(..., help="google or graph"), port: int = 8920,
                  account: str = typer.Option("billing@clinic.example", help="the connected account's address")):
    """A local stand-in for Google Calendar or Microsoft Graph (OAuth, events, free/busy; GET /__fake__/ledger).
    Point DUEDESK_GOOGLE_CALENDAR_BASE_URL / _OAUTH_TOKEN_URL / _OAUTH_AUTH_URL, or DUEDESK_GRAPH_BASE_URL,
    DUEDESK_MICROSOFT_AUTHORITY and DUEDESK_MICROSOFT_CA_BUNDLE at it."""
    if provider not in ("google", "graph"):
        typer.echo(f"fake-calendar: {provider!r} is not google or graph", err=True)
        raise typer.Exit(2)
    from duedesk.integrations.calendars.fake import serve as serve_fake

    serve_fake(provider, port, account)


def main():
    argv = sys.argv[1:]
    if argv and argv[0] not in OUR_COMMANDS and not argv[0].startswith("-"):
        _django()
        from django.core.management import execute_from_command_line

        execute_from_command_line(["duedesk", *argv])
        return
    app()


if __name__ == "__main__":
    main()


@audit_app.command("export")
def audit_export(contact: int = typer.Option(None, "--contact", help="Contact id"),
                 start: str = typer.Option(None, "--from", help="From this date (YYYY-MM-DD, UTC), inclusive"),
                 end: str = typer.Option(None, "--to", help="To this date (YYYY-MM-DD, UTC), inclusive"),
                 out: Path = typer.Option(None, "--out", help="CSV file to write (default: standard output)")):  # noqa: B008
    """Every attempt (text, email, call): channel, time, outcome, consent basis, SHA-256 of the content."""
    _django()
    from datetime import UTC, date, datetime, time, timedelta

    from duedesk.records import audit

    if contact is None and start is None and end is None:
        typer.echo("audit export: give --contact ID or --from DATE --to DATE", err=True)
        raise typer.Exit(2)
    try:
        begin = datetime.combine(date.fromisoformat(start), time(0), UTC) if start else None
        finish = datetime.combine(date.fromisoformat(end) + timedelta(days=1), time(0), UTC) if end else None
    except ValueError as error:
        typer.echo(f"audit export: {error} (dates are YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from error
    rows = audit.attempts(contact_id=contact, start=begin, end=finish)
    if out is None:
        audit.write_csv(sys.stdout, rows)
        return
    with out.open("w", newline="", encoding="utf-8") as handle:
        count = audit.write_csv(handle, rows)
    typer.echo(f"{count} attempts written to {out}", err=True)


@audit_app.command("purge")
def audit_purge():
    """Delete attempts and timeline events older than the retention (default 7 years); keeps the suppression
    list (lines and their history)."""
    _django()
    from django.utils import timezone

    from duedesk.records import audit

    deleted = audit.purge(timezone.now())
    typer.echo(", ".join(f"{n} {what}" for what, n in deleted.items()) + " deleted")
