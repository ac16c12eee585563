"""The overview: is money coming in, and what needs a person. Charts are SVG drawn on the server."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db.models import Max
from django.shortcuts import render

from duedesk.records import metrics
from duedesk.records.models import Event
from duedesk.web import access
from duedesk.web.access import member

BAR_AREA = 160  # px height of the aging chart's bars
STALE_OK = 30  # seconds: while events keep landing, figures this young are shown rather than recomputed


def figures(org, now) -> dict:
    """The overview's figures, computed when something changed. Every state change writes an Event in the
    same transaction, so the organization's newest event id stamps one set of figures exactly. A quiet
    organization always sees exact figures; one whose worker is sending sees figures at most STALE_OK
    seconds old, so the figures' queries run at most twice a minute, not on every page view. The invoices'
    figures are read from their tallies (records.metrics.invoice_figures), not from every invoice."""
    newest = Event.objects.filter(organization=org).aggregate(n=Max("id"))["n"]
    stamp = (newest, metrics.today(org, now).isoformat())
    key = f"overview:{org.pk}"
    found = cache.get(key)
    if found and (found["stamp"] == stamp or time.monotonic() - found["computed"] < STALE_OK):
        return found
    found = {
        "invoices": metrics.invoice_figures(org, now), "promises": metrics.promises(org, now), "handoffs": metrics.handoffs(org, now),
        "stamp": stamp, "computed": time.monotonic(),
    }
    cache.set(key, found, 3600)
    return found


def _duration(td) -> str:
    if td is None:
        return "—"
    hours = td.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def aging_chart(buckets: list[dict]) -> list[dict]:
    top = max((b["balance"] for b in buckets), default=0) or 1
    bars = []
    for i, b in enumerate(buckets):
        h = int(BAR_AREA * b["balance"] / top) if b["balance"] else 0
        bars.append({**b, "x": 20 + i * 96, "y": 20 + BAR_AREA - h, "h": h, "label_y": 20 + BAR_AREA - h - 6})
    return bars


def funnel_chart(stages: list[tuple[str, int]]) -> list[dict]:
    top = max((n for _, n in stages), default=0) or 1
    return [{"label": label, "n": n, "w": max(2, int(300 * n / top)) if n else 0, "y": i * 34}
            for i, (label, n) in enumerate(stages)]


@member
def overview(request):
    org, now = request.org, access.now()
    data = figures(org, now)
    promises, handoffs, invoices = data["promises"], data["handoffs"], data["invoices"]
    funnel = invoices["funnel"]  # read from the invoices in the same pass as the aging (metrics.invoice_figures)
    made = promises["made"] or 1
    segments, x = [], 0
    for key in ("kept", "pending", "broken"):
        w = int(400 * promises[key] / made)
        segments.append({"key": key, "x": x, "w": w, "n": promises[key]})
        x += w
    return render(request, "web/overview/overview.html", {
        "section": "overview",
        "outstanding": invoices["outstanding"],
        "collected": invoices["collected"],
        "self_resolved": invoices["self_resolved"],
        "promises": promises, "promise_segments": segments,
        "handoffs": handoffs, "median": _duration(handoffs.median_to_resolve),
        "aging": aging_chart(invoices["aging"]),
        "funnel_text": funnel_chart(funnel["text"]), "funnel_call": funnel_chart(funnel["call"]),
    })
