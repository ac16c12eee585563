"""The overview: is money coming in, and what needs a person. Charts are SVG drawn on the server."""

from __future__ import annotations

from django.shortcuts import render

from duedesk.records import metrics
from duedesk.web import access
from duedesk.web.access import member

BAR_AREA = 160  # px height of the aging chart's bars


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
    promises = metrics.promises(org, now)
    made = promises["made"] or 1
    handoffs = metrics.handoffs(org, now)
    buckets = metrics.aging(org, now)
    funnel = metrics.funnel(org, now)
    segments, x = [], 0
    for key in ("kept", "pending", "broken"):
        w = int(400 * promises[key] / made)
        segments.append({"key": key, "x": x, "w": w, "n": promises[key]})
        x += w
    return render(request, "web/overview/overview.html", {
        "section": "overview",
        "outstanding": metrics.outstanding_balance(org, now),
        "collected": metrics.collected(org, now),
        "self_resolved": metrics.resolved_without_staff(org, now),
        "promises": promises, "promise_segments": segments,
        "handoffs": handoffs, "median": _duration(handoffs.median_to_resolve),
        "aging": aging_chart(buckets),
        "funnel_text": funnel_chart(funnel["text"]), "funnel_call": funnel_chart(funnel["call"]),
    })
