"""What an operator watches: GET /healthz for the load balancer, GET /metrics for Prometheus, and the timing
of every provider webhook.

/healthz needs no login (a load balancer has none) and says only whether the database answers and every
migration is applied. /metrics is off (404) until DUEDESK_METRICS_TOKEN is set, then wants that token as a
bearer token: it counts steps, sends and handoffs across every organization, which is no one's business but
the operator's. The counts are read from the database when Prometheus asks, so every web process answers
the same; the webhook histogram is per process (see docs/deploy.md).
"""

from __future__ import annotations

import hmac
import logging
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import Resolver404, get_resolver, get_urlconf
from django.utils import timezone, translation
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from duedesk.engine.models import Step
from duedesk.records.models import Call, Handoff, Message

log = logging.getLogger(__name__)
clock = timezone.now  # tests replace it with their virtual clock

REGISTRY = CollectorRegistry()
WEBHOOK_SECONDS = Histogram(
    "duedesk_webhook_seconds", "Time to answer a provider's webhook, by webhook", ["hook"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


# ----------------------------------------------------------------------------- /healthz


def pending_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = pending_migrations()
    except DatabaseError as error:
        # The reason goes to the log, not to whoever asks (it can name the database host).
        log.warning("health check: the database does not answer: %s", error)
        return JsonResponse({"status": "down", "database": "unreachable"}, status=503)
    if pending:
        return JsonResponse({"status": "down", "database": "ok",
                             "migrations": f"{len(pending)} not applied: run duedesk migrate",
                             "pending": pending}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "migrations": "ok"})


# ----------------------------------------------------------------------------- /metrics


class RecordsCollector:
    """Counts read from the database at each scrape."""

    def collect(self):
        now = clock()
        steps = GaugeMetricFamily("duedesk_steps", "Steps by status and kind", labels=["status", "kind"])
        for row in Step.objects.values("status", "kind").annotate(n=Count("pk")).order_by():
            steps.add_metric([row["status"], row["kind"]], row["n"])
        yield steps

        due = Step.objects.filter(status="pending", run_at__lte=now).aggregate(n=Count("pk"), oldest=Min("run_at"))
        yield GaugeMetricFamily("duedesk_steps_due_unclaimed", "Pending steps whose time has come", value=due["n"])
        waited = max((now - due["oldest"]).total_seconds(), 0.0) if due["oldest"] else 0.0
        yield GaugeMetricFamily("duedesk_steps_due_unclaimed_oldest_seconds",
                                "How long the oldest due step has waited for a worker", value=waited)

        sends = GaugeMetricFamily("duedesk_sends", "Texts and emails by status, calls by outcome",
                                  labels=["channel", "outcome"])
        for row in (Message.objects.filter(direction="out").values("channel", "status")
                    .annotate(n=Count("pk")).order_by()):
            sends.add_metric([row["channel"], row["status"]], row["n"])
        calls: dict[str, int] = {}
        for row in Call.objects.values("status", "outcome").annotate(n=Count("pk")).order_by():
            key = row["outcome"] or row["status"]
            calls[key] = calls.get(key, 0) + row["n"]
        for outcome, n in sorted(calls.items()):
            sends.add_metric(["call", outcome], n)
        yield sends

        handoffs = GaugeMetricFamily("duedesk_handoffs_open", "Open handoffs by reason", labels=["reason"])
        for row in Handoff.objects.filter(status="open").values("reason").annotate(n=Count("pk")).order_by():
            handoffs.add_metric([row["reason"]], row["n"])
        yield handoffs


REGISTRY.register(RecordsCollector())


@require_GET
def metrics(request):
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("metrics are off: set DUEDESK_METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("a bearer token is needed\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


class WebhookTiming:
    """Middleware: how long each provider webhook (/hooks/...) took to answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/hooks/"):
            return self.get_response(request)
        started = time.perf_counter()
        try:
            return self.get_response(request)
        finally:
            match = getattr(request, "resolver_match", None)
            WEBHOOK_SECONDS.labels(hook=match.url_name if match and match.url_name else "unknown").observe(
                time.perf_counter() - started)


class ProviderWebhooks:
    """Middleware: a provider's webhook (/hooks/...) goes straight to its view, past the middleware below this
    one, which is for people in browsers: sessions, the browser's language, CSRF, sign-in, the staff member's
    language, flash messages, frame and content-security headers, htmx, login lockout. Twilio, Stripe and the
    CRMs send none of what those read, every webhook view is CSRF-exempt and checks its own signature, and a
    call turn's answer has no room for the ~1 ms they cost together.

    What is kept: the host is checked against ALLOWED_HOSTS (as CommonMiddleware would), the view runs in the
    site's default language (the thread may have served a staff page in Spanish before), and an exception in
    the view becomes the usual 500 with its traceback in the log (Django wraps this middleware as it wraps
    every other). A /hooks/ path that names no view goes down the whole chain, as any other request does."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/hooks/"):
            return self.get_response(request)
        try:
            match = get_resolver(get_urlconf()).resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        request.get_host()  # DisallowedHost (a 400) for a host this deployment does not serve
        request.resolver_match = match
        with translation.override(settings.LANGUAGE_CODE):
            response = match.func(request, *match.args, **match.kwargs)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
