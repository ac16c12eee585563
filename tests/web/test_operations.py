"""What an operator watches: tracebacks in the log (plain or JSON), /healthz, /metrics, and login lockout
behind a proxy."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import runpy
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.urls import include, path

import duedesk.settings
from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.records.models import Call, Handoff, Message
from duedesk.web import operations


def boom(request):
    raise ZeroDivisionError("the overview divided by zero invoices")


urlpatterns = [path("boom", boom), path("", include("duedesk.urls"))]


@contextmanager
def console_log(formatter: str = "plain"):
    """What the configured console handler (settings.LOGGING, on the root logger) writes, in a buffer."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    buffer, old_formatter, old_stream = io.StringIO(), handler.formatter, handler.stream
    with handler.lock:
        handler.stream = buffer
    handler.setFormatter(logging.config.DictConfigurator({}).configure_formatter(
        dict(duedesk.settings.LOG_FORMATTERS[formatter])))
    try:
        yield buffer
    finally:
        with handler.lock:
            handler.stream = old_stream
        handler.setFormatter(old_formatter)


def fresh_settings(monkeypatch, tmp_path, **env) -> dict:
    """settings.py as a new process would read it with these environment variables."""
    monkeypatch.setenv("DUEDESK_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(duedesk.settings.__file__)))


# ----------------------------------------------------------------------------- logs


@pytest.mark.urls(__name__)
def test_a_500_leaves_its_traceback_in_the_log(client, db):
    client.raise_request_exception = False
    with console_log() as log:
        response = client.get("/boom")
    assert response.status_code == 500
    text = log.getvalue()
    assert "ERROR django.request Internal Server Error: /boom" in text
    assert "Traceback (most recent call last)" in text
    assert "ZeroDivisionError: the overview divided by zero invoices" in text


@pytest.mark.urls(__name__)
def test_json_logs_are_one_object_per_line_with_the_traceback_inside(client, db):
    client.raise_request_exception = False
    with console_log("json") as log:
        assert client.get("/boom").status_code == 500
        assert client.get("/no-such-page").status_code == 404  # a 404 is not an error: no line
        logging.getLogger("duedesk.worker").info("claimed %d steps\nfrom two lines", 3)
    lines = log.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line parses on its own
    assert [(r["level"], r["logger"]) for r in records] == [("ERROR", "django.request"), ("INFO", "duedesk.worker")]
    assert records[0]["message"] == "Internal Server Error: /boom"
    assert "ZeroDivisionError: the overview divided by zero invoices" in records[0]["exc_info"]
    assert records[1]["message"] == "claimed 3 steps\nfrom two lines"
    assert records[0]["time"]


def test_the_log_format_comes_from_the_environment(monkeypatch, tmp_path):
    assert fresh_settings(monkeypatch, tmp_path)["LOGGING"]["handlers"]["console"]["formatter"] == "plain"
    json_settings = fresh_settings(monkeypatch, tmp_path, DUEDESK_LOG_FORMAT="json")
    assert json_settings["LOGGING"]["handlers"]["console"]["formatter"] == "json"
    with pytest.raises(ValueError, match="DUEDESK_LOG_FORMAT must be plain or json, not 'xml'"):
        fresh_settings(monkeypatch, tmp_path, DUEDESK_LOG_FORMAT="xml")


# ----------------------------------------------------------------------------- /healthz


def test_healthz_says_ok_when_the_database_answers_and_is_migrated(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "ok"}


def test_healthz_is_503_with_a_migration_missing(client, db):
    last = MigrationRecorder.Migration.objects.filter(app="records").order_by("-name").first()
    last.delete()  # as if this release's migration had not been run (the test's transaction restores it)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["database"] == "ok"
    assert f"records.{last.name}" in body["pending"]
    assert body["migrations"].endswith("not applied: run duedesk migrate")


# ----------------------------------------------------------------------------- /metrics


def test_metrics_are_off_without_a_token(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_bearer_token(client, db, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "s3cret-metrics-token"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"}).status_code == 200


def test_metrics_show_steps_sends_handoffs_and_webhook_latency(client, settings, org, make_invoice, clock,
                                                               monkeypatch):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    monkeypatch.setattr(operations, "clock", clock)
    invoice = make_invoice()
    actions.enroll_invoice(invoice, clock())
    Step.objects.filter(enrollment__invoice=invoice).update(run_at=clock() - timedelta(minutes=7))
    Message.objects.create(organization=org, contact=invoice.contact, channel="sms", to=invoice.contact.phone,
                           body="Hi", status="delivered", created_at=clock())
    Message.objects.create(organization=org, contact=invoice.contact, channel="sms", to=invoice.contact.phone,
                           body="Hi", status="undelivered", created_at=clock())
    Call.objects.create(organization=org, contact=invoice.contact, to=invoice.contact.phone, status="completed",
                        outcome="promised", created_at=clock())
    Handoff.objects.create(organization=org, contact=invoice.contact, invoice=invoice, reason="dispute",
                           created_at=clock())
    client.post("/hooks/twilio/sms", {"Body": "hi"})  # unsigned: refused, and still timed

    body = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"}).content.decode()
    series = dict(line.rsplit(" ", 1) for line in body.splitlines() if line and not line.startswith("#"))
    pending = Step.objects.filter(status="pending").count()
    assert pending >= 1
    assert float(series[f'duedesk_steps{{kind="{Step.objects.first().kind}",status="pending"}}']) >= 1
    assert float(series["duedesk_steps_due_unclaimed"]) == pending
    assert float(series["duedesk_steps_due_unclaimed_oldest_seconds"]) == 7 * 60
    assert float(series['duedesk_sends{channel="sms",outcome="delivered"}']) == 1
    assert float(series['duedesk_sends{channel="sms",outcome="undelivered"}']) == 1
    assert float(series['duedesk_sends{channel="call",outcome="promised"}']) == 1
    assert float(series['duedesk_handoffs_open{reason="dispute"}']) == 1
    assert float(series['duedesk_webhook_seconds_count{hook="twilio-sms"}']) >= 1
    assert 'duedesk_webhook_seconds_bucket{hook="twilio-sms",le="0.1"}' in series


# ----------------------------------------------------------------------------- login lockout behind a proxy


def _login(client, user, password, peer, forwarded=None):
    client.logout()
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/login/", {"username": user.username, "password": password}, REMOTE_ADDR=peer,
                       headers=headers)


def _proxied(settings, monkeypatch, tmp_path, proxies):
    fresh = fresh_settings(monkeypatch, tmp_path, DUEDESK_TRUSTED_PROXIES=proxies)
    settings.TRUSTED_PROXIES = fresh["TRUSTED_PROXIES"]
    settings.AXES_LOCKOUT_PARAMETERS = fresh["AXES_LOCKOUT_PARAMETERS"]


def test_behind_a_trusted_proxy_a_stranger_cannot_lock_a_staff_member_out(client, staff, settings, monkeypatch,
                                                                         tmp_path):
    _proxied(settings, monkeypatch, tmp_path, "10.0.0.0/8, 192.168.1.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, staff, "wrong-guess", "10.0.0.1", "81.2.69.160")
    assert _login(client, staff, "a-long-password-1", "10.0.0.1", "81.2.69.160").status_code == 429  # locked
    # The staff member, from their own address through the same proxy, still gets in.
    response = _login(client, staff, "a-long-password-1", "10.0.0.1", "93.184.216.34")
    assert response.status_code == 302 and response.url == "/"
    # Through two trusted proxies the client is still the first address that is not a proxy.
    assert _login(client, staff, "a-long-password-1", "192.168.1.7", "81.2.69.160, 10.0.0.3").status_code == 429


def test_a_forwarded_for_header_from_anyone_else_is_not_believed(client, staff, settings, monkeypatch, tmp_path):
    _proxied(settings, monkeypatch, tmp_path, "10.0.0.0/8")
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, staff, "wrong-guess", "81.2.69.160", f"93.184.216.{n}")  # a new "address" each time
    assert _login(client, staff, "a-long-password-1", "81.2.69.160", "93.184.216.99").status_code == 429


def test_without_trusted_proxies_lockout_keys_on_the_username_alone(monkeypatch, tmp_path):
    fresh = fresh_settings(monkeypatch, tmp_path)
    assert fresh["TRUSTED_PROXIES"] == [] and fresh["AXES_LOCKOUT_PARAMETERS"] == ["username"]
    with pytest.raises(ValueError):
        fresh_settings(monkeypatch, tmp_path, DUEDESK_TRUSTED_PROXIES="10.0.0.300")
