"""Workflows: versions with their enrollments, the YAML editor (errors at their line) and a preview."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from duedesk.core import workflow as wf
from duedesk.engine import definitions
from duedesk.engine.models import Enrollment, Workflow
from duedesk.intake import checks
from duedesk.web import preview
from duedesk.web.access import member

COMMON_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"]


@member
def workflow_list(request):
    definitions.ensure_default(request.org)
    rows = (Workflow.objects.filter(organization=request.org)
            .annotate(live=Count("enrollments", filter=Q(enrollments__status__in=Enrollment.LIVE)),
                      total=Count("enrollments"))
            .order_by("slug", "-version"))
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row.slug, []).append(row)
    return render(request, "web/workflows/list.html", {"section": "workflows", "workflows": grouped.items(),
                                                       "ready": definitions.ready_workflows(request.org)})


@member
@require_POST
def workflow_add(request):
    names = {w["name"] for w in definitions.ready_workflows(request.org)}
    name = request.POST.get("name", "")
    if name not in names:
        return HttpResponseBadRequest(f"name: no ready workflow called {name!r}")
    workflow = definitions.add_ready(request.org, name, request.user)
    messages.success(request, f"{workflow.name} added.")
    return redirect("workflow_edit", slug=workflow.slug)


@member(roles=("owner",))
@require_POST
def workflow_use(request, slug):
    if definitions.current(request.org, slug) is None:
        raise Http404("no such workflow")
    try:
        definitions.use_for_new_invoices(request.org, slug)
    except ValueError as error:
        return HttpResponseBadRequest(str(error))
    messages.success(request, "New invoices now start this workflow.")
    return redirect("workflows")


class PreviewForm(forms.Form):
    due = forms.DateField(label="Due date", widget=forms.DateInput(attrs={"type": "date"}),
                          validators=[checks.validator(checks.check_date)])
    tz = forms.ChoiceField(label="Contact time zone", choices=[(z, z) for z in COMMON_ZONES])
    start = forms.DateField(label="Enrolled on", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="Blank: 14 days before the due date",
                            validators=[checks.validator(checks.check_date)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        extra = sorted(available_timezones() - set(COMMON_ZONES))
        self.fields["tz"].choices = [(z, z) for z in COMMON_ZONES + extra]


def _numbered(source: str, problems: list[wf.Problem]) -> list[dict]:
    by_line: dict[int, list[str]] = {}
    for p in problems:
        by_line.setdefault(p.line, []).append(p.message)
    count = max(source.count("\n") + 1, max(by_line, default=0))
    return [{"n": n, "errors": by_line.get(n, [])} for n in range(1, count + 1)]


@member
def workflow_edit(request, slug):
    versions = Workflow.objects.filter(organization=request.org, slug=slug).order_by("-version")
    latest = versions.first()
    if latest is None:
        raise Http404("no such workflow")
    shown = latest
    if request.GET.get("version"):
        version = request.GET["version"]
        if not (version.isascii() and version.isdigit() and len(version) < 10):
            return HttpResponseBadRequest(f"Version: {version[:40]!r} is not a version number.",
                                          content_type="text/plain")
        shown = versions.filter(version=int(version)).first() or latest
    source = shown.source
    problems: list[wf.Problem] = []
    status = 200
    if request.method == "POST":
        source = request.POST.get("source", "").replace("\r\n", "\n")
        problems = wf.check(source)
        if problems:
            status = 400
        else:
            saved = definitions.save_version(request.org, slug, source, user=request.user)
            messages.success(request, f"Saved as version {saved.version}. New enrollments use it; running ones keep theirs.")
            return redirect("workflow_edit", slug=slug)
    preview_rows = promise_rows = None
    form = PreviewForm(request.GET or None, initial={"tz": request.org.timezone})
    if request.GET.get("due") and not form.is_valid():
        status = 400  # the preview's errors are shown beside its fields
    elif request.GET.get("due"):
        definition = definitions.parsed(shown)
        due = form.cleaned_data["due"]
        tz = form.cleaned_data["tz"]
        start_day = form.cleaned_data.get("start") or (due - timedelta(days=14))
        start = datetime.combine(start_day, time(9, 0), tzinfo=ZoneInfo(tz))
        rows = preview.walk(definition, due, tz, request.org.send_window(), start)
        preview_rows = [{"row": r, "local": r.when.astimezone(ZoneInfo(tz)) if r.when else None} for r in rows]
        promise_rows = preview.promise_path(definition)
    context = {
        "section": "workflows", "slug": slug, "versions": versions, "shown": shown, "latest": latest,
        "source": source, "problems": problems, "lines": _numbered(source, problems), "preview_form": form,
        "preview_rows": preview_rows, "promise_rows": promise_rows,
        "can_change": request.membership.role in ("owner", "staff"),
    }
    if request.htmx and request.GET.get("due"):
        return render(request, "web/workflows/_preview.html", context)
    return render(request, "web/workflows/edit.html", context, status=status)

