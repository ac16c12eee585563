"""Workflows: versions with their enrollments, the YAML editor (errors at their line) and a preview."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from duedesk.core import workflow as wf
from duedesk.engine import actions, definitions
from duedesk.engine.models import Enrollment, Workflow
from duedesk.intake import checks
from duedesk.web import block_forms, blocks, preview
from duedesk.web.access import member, now

COMMON_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"]


@member
def workflow_list(request):
    definitions.ensure_default(request.org)
    rows = list(Workflow.objects.filter(organization=request.org).order_by("slug", "-version"))
    # Each version's running and total enrollments, counted per version from indexes alone (the live ones'
    # partial index, the workflow key's), not by joining every enrollment to its version.
    ids = [row.pk for row in rows]
    enrollments = Enrollment.objects.filter(workflow__in=ids).values_list("workflow").annotate(n=Count("*"))
    live = dict(enrollments.filter(status__in=Enrollment.LIVE).order_by())
    total = dict(enrollments.order_by())
    for row in rows:
        row.live, row.total = live.get(row.pk, 0), total.get(row.pk, 0)
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row.slug, []).append(row)
    return render(request, "web/workflows/list.html", {"section": "workflows", "workflows": grouped.items(),
                                                       "ready": definitions.ready_workflows(request.org),
                                                       "new_form": NewWorkflowForm()})


@member
@require_POST
def workflow_add(request):
    names = {w["name"] for w in definitions.ready_workflows(request.org)}
    name = request.POST.get("name", "")
    if name not in names:
        return HttpResponseBadRequest(_("name: no ready workflow called %(name)r") % {"name": name})
    workflow = definitions.add_ready(request.org, name, request.user)
    messages.success(request, _("%(workflow)s added.") % {"workflow": workflow.name})
    return redirect("workflow_edit", slug=workflow.slug)


class NewWorkflowForm(forms.Form):
    name = forms.CharField(label=_("New workflow's name"), max_length=100)


@member
@require_POST
def workflow_new(request):
    """A new workflow of one text block, opened in the block editor to be built from there."""
    form = NewWorkflowForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("name: give the new workflow a name"), content_type="text/plain")
    name = form.cleaned_data["name"].strip()
    taken = set(Workflow.objects.filter(organization=request.org).values_list("slug", flat=True))
    slug = blocks.unique(slugify(name)[:40] or "workflow", taken, "-")
    draft = blocks.Draft(name=name)
    first = blocks.new_block(draft, "sms")
    first.name, first.key, first.at = str(_("Reminder")), "reminder", "due_date - 3d"
    first.texts = {"en": "Hi, this is {{ org.name }}. A friendly reminder that your balance of {{ invoice.amount }} "
                         "is due {{ invoice.due_date }}. You can pay here: {{ invoice.pay_link }}"}
    draft.blocks.append(first)
    definitions.save_version(request.org, slug, blocks.to_yaml(draft), user=request.user, now=now())
    messages.success(request, _("%(name)s created: add its blocks, then publish.") % {"name": name})
    return redirect("workflow_edit", slug=slug)


@member(roles=("owner",))
@require_POST
def workflow_use(request, slug):
    if definitions.current(request.org, slug) is None:
        raise Http404("no such workflow")
    try:
        definitions.use_for_new_invoices(request.org, slug)
    except ValueError as error:
        return HttpResponseBadRequest(str(error))
    messages.success(request, _("New invoices now start this workflow."))
    return redirect("workflows")


LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
RUNNING = [("stay", _("Stay on the version they started with")),
           ("move", _("Move to this version at their next step"))]


class PreviewForm(forms.Form):
    """The sample patient the preview is for."""

    due = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}),
                          validators=[checks.validator(checks.check_date)])
    tz = forms.ChoiceField(label=_("Patient's time zone"), choices=[(z, z) for z in COMMON_ZONES],
                           widget=block_forms.Select)
    language = forms.ChoiceField(label=_("Patient's language"), choices=LANGUAGES, widget=block_forms.Select)
    start = forms.DateField(label=_("Enrolled on"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text=_("Blank: 14 days before the due date"),
                            validators=[checks.validator(checks.check_date)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tz"].choices = _zones()


@lru_cache(maxsize=1)
def _zones() -> block_forms.Choices:
    """Every zone, the common ones first: six hundred <option>s written once, not on every page."""
    return block_forms.Choices([(z, z) for z in COMMON_ZONES + sorted(available_timezones() - set(COMMON_ZONES))])


class PublishForm(forms.Form):
    running = forms.ChoiceField(label=_("Invoices already running this workflow"), choices=RUNNING,
                                initial="stay", widget=forms.RadioSelect, required=False)


def _numbered(source: str, problems: list[wf.Problem]) -> list[dict]:
    by_line: dict[int, list[str]] = {}
    for p in problems:
        by_line.setdefault(p.line, []).append(p.message)
    count = max(source.count("\n") + 1, max(by_line, default=0))
    return [{"n": n, "errors": by_line.get(n, [])} for n in range(1, count + 1)]


def _versions(request, slug):
    """The workflow's versions, newest first, read once (the page lists them and shows one)."""
    versions = list(Workflow.objects.filter(organization=request.org, slug=slug).order_by("-version"))
    if not versions:
        raise Http404("no such workflow")
    return versions, versions[0]


def _sample(request, data) -> tuple[PreviewForm, preview.Sample | None]:
    """The preview's sample patient from the request (a week from today's due date by default)."""
    today = now().astimezone(ZoneInfo(request.org.timezone)).date()
    initial = {"tz": request.org.timezone, "due": today + timedelta(days=7), "language": "en"}
    values = {k: data.get(k) or (initial[k].isoformat() if k == "due" else initial.get(k, ""))
              for k in ("due", "tz", "language", "start")}
    form = PreviewForm(values)
    if not form.is_valid():
        return form, None
    due, tz = form.cleaned_data["due"], form.cleaned_data["tz"]
    start_day = form.cleaned_data.get("start") or (due - timedelta(days=14))
    org = request.org
    holidays, closed = org.days_closed(due.year)
    return form, preview.Sample(
        org_name=org.name, tz=tz, due=due, language=form.cleaned_data["language"],
        start=datetime.combine(start_day, time(9, 0), tzinfo=ZoneInfo(tz)), window=org.send_window(),
        holidays=holidays, closed=closed, callback_number=org.callback_number or "",
        currency=org.default_currency or "USD")


def _preview(request, data, source: str, draft: blocks.Draft | None = None) -> dict:
    """The preview's context for a workflow written as `source` (a draft or a saved version), with each
    message of the draft's blocks rendered for the sample patient."""
    form, sample = _sample(request, data)
    context = {"preview_form": form, "preview_rows": None, "promise_rows": None, "preview_problems": [],
               "samples": {}}
    if sample is None or not source:
        return context
    names = _names(draft) if draft else None
    if draft:
        context["samples"] = {  # a message emptied in the draft reads "—" again
            f"{b.key}-{lang}": preview.sample_message(b.kind, b.texts[lang], b.subjects.get(lang, ""), lang, sample)
            if b.texts.get(lang) else "—"
            for b in draft.blocks if b.kind in ("sms", "email") for lang in dict.fromkeys(["en", *b.texts, "es"])}
    problems = wf.check(source)
    if problems:
        context["preview_problems"] = problems
        return context
    definition = definitions.parsed_source(source)
    context["preview_rows"] = preview.walk(definition, sample, names=names)
    context["promise_rows"] = preview.promise_path(definition, sample, names=names)
    context["preview_tz"] = sample.tz
    return context


def _names(draft: blocks.Draft) -> dict[str, str]:
    ids = blocks._ids(draft)
    return {ids[b.key]: b.name for b in draft.blocks}


def _named(problems: list[wf.Problem], draft: blocks.Draft) -> list[wf.Problem]:
    """The checker's problems with each step called by its block's name ("step 'late_call'" -> "step “Late
    call”"), as the block editor shows them."""
    names = _names(draft)
    pattern = re.compile("'(" + "|".join(re.escape(i) for i in sorted(names, key=len, reverse=True)) + ")'")
    return [wf.Problem(p.line, pattern.sub(lambda m: f"“{names[m.group(1)]}”", p.message)) if names else p
            for p in problems]


def _running(request, slug) -> int:
    return Enrollment.objects.filter(organization=request.org, workflow__slug=slug,
                                     status__in=Enrollment.LIVE).count()


def _page(request, slug, versions, latest, shown, *, view, status=200, **extra):
    if extra.get("editor") is not None:
        _sampled(extra["editor"], extra.get("samples", {}))
    context = {"section": "workflows", "slug": slug, "versions": versions, "shown": shown, "latest": latest,
               "can_change": request.membership.role in ("owner", "staff"), "view": view,
               "running": _running(request, slug), "publish_form": extra.pop("publish_form", None) or PublishForm(),
               "kinds": list(block_forms.KIND_NAMES.items()), "variables": block_forms.VARIABLES,
               "condition_values": block_forms.value_lists(get_language()), **extra}
    context.setdefault("problems", [])
    if not context["can_change"] and context.get("preview_form") is not None:
        for field in context["preview_form"].fields.values():  # a viewer previews the saved version by GET
            field.widget.attrs["form"] = "preview-get"
    if view == "text":
        context["lines"] = _numbered(context["source"], context["problems"])
    if extra.get("stored"):
        context["blocks_html"] = _stored_blocks(context)
    return render(request, "web/workflows/edit.html", context, status=status)


def _sampled(editor, samples: dict):
    for form in editor.forms:
        form.samples = samples
    return editor


_BLOCKS: OrderedDict = OrderedDict()
_BLOCKS_LOCK = threading.Lock()


def _stored_blocks(context) -> str:
    """The blocks of a stored version as the editor shows them, kept for the last few versions: they
    depend only on the version's text, the language, whether the user may change them and the sample
    patient's messages, and writing out their hundred and fifty fields was most of the page's time. The
    editor's forms (`stored`: what builds them) are built only when the blocks are written out."""
    key = (hashlib.sha256(context["base"].encode()).hexdigest(), get_language(), context["can_change"],
           tuple(sorted(context.get("samples", {}).items())))
    with _BLOCKS_LOCK:
        html = _BLOCKS.get(key)
        if html is not None:
            _BLOCKS.move_to_end(key)
            return html
    if context.get("editor") is None:
        context["editor"] = _sampled(context["stored"](), context.get("samples", {}))
    html = render_to_string("web/workflows/_blocks.html", context)
    with _BLOCKS_LOCK:
        _BLOCKS[key] = html
        while len(_BLOCKS) > 16:
            _BLOCKS.popitem(last=False)
    return html


def _edit(draft: blocks.Draft, op: str) -> tuple[blocks.Draft, str]:
    """An edit asked by a button (add, up, down, dup, remove) done on the draft; the block to show."""
    verb, _sep, where = op.partition(":")
    items = draft.blocks
    if verb == "add":
        kind = where if where in block_forms.KIND_NAMES else "sms"
        block = blocks.new_block(draft, kind)
        items.append(block)
        return draft, block.key
    keys = [b.key for b in items]
    if where not in keys:
        return draft, ""
    i = keys.index(where)
    key = where
    if verb == "up" and i > 0:
        items[i - 1], items[i] = items[i], items[i - 1]
    elif verb == "down" and i < len(items) - 1:
        items[i + 1], items[i] = items[i], items[i + 1]
    elif verb == "dup":
        copy = blocks.duplicate(draft, i)
        items.insert(i + 1, copy)
        key = copy.key
    elif verb == "remove" and len(items) > 1:
        gone = items.pop(i)
        blocks.forget(draft, gone.key)
        key = items[min(i, len(items) - 1)].key
    return draft, key


@member
def workflow_edit(request, slug):
    versions, latest = _versions(request, slug)
    shown = latest
    if request.GET.get("version"):
        version = request.GET["version"]
        if not (version.isascii() and version.isdigit() and len(version) < 10):
            return HttpResponseBadRequest(_("Version: %(version)r is not a version number.") % {"version": version[:40]},
                                          content_type="text/plain")
        shown = next((v for v in versions if v.version == int(version)), latest)
    if request.method != "POST":
        try:
            draft = blocks.from_yaml(shown.source)
        except wf.WorkflowError:  # stored before a rule it breaks was added: shown as text, with its problems
            return _page(request, slug, versions, latest, shown, view="text", source=shown.source,
                         problems=wf.check(shown.source), **_preview(request, {}, ""))
        asked = _preview(request, request.GET, shown.source, draft)
        status = 400 if request.GET.get("due") and asked["preview_form"].errors else 200
        if request.GET.get("view") == "text":
            return _page(request, slug, versions, latest, shown, view="text", source=shown.source, status=status,
                         **asked)
        return _page(request, slug, versions, latest, shown, view="blocks", status=status, base=shown.source,
                     stored=lambda: block_forms.read(block_forms.data_for(draft)), **asked)
    op = request.POST.get("op", "publish")
    publish_form = PublishForm(request.POST)
    if "b-count" not in request.POST:
        return _edit_text(request, slug, versions, latest, shown, op, publish_form)
    editor = block_forms.read(request.POST)
    # The text the blocks were read from: what they write keeps its comments and layout.
    base = request.POST.get("base", "").replace("\r\n", "\n") or shown.source
    if not editor.is_valid():
        return _page(request, slug, versions, latest, shown, view="blocks", editor=editor, status=400, base=base,
                     publish_form=publish_form, form_errors=True, **_preview(request, request.POST, "", None))
    draft = editor.draft()
    if op == "text":
        source = blocks.to_yaml_over(draft, base)
        return _page(request, slug, versions, latest, shown, view="text", source=source, publish_form=publish_form,
                     **_preview(request, request.POST, source))
    if op == "publish":
        source = blocks.to_yaml_over(draft, base)
        saved = _publish(request, slug, source, publish_form)
        if saved is not None:
            return saved
        return _page(request, slug, versions, latest, shown, view="blocks", status=400, publish_form=publish_form,
                     editor=block_forms.read(block_forms.data_for(draft)), problems=_named(wf.check(source), draft),
                     base=base, **_preview(request, request.POST, source, draft))
    source = blocks.to_yaml(draft)
    focus = ""
    if op == "add":
        op = f"add:{request.POST.get('add_kind', 'sms')}"
    if op != "preview":
        draft, focus = _edit(draft, op)
        source = blocks.to_yaml(draft)
    return _page(request, slug, versions, latest, shown, view="blocks", focus=focus, publish_form=publish_form,
                 editor=block_forms.read(block_forms.data_for(draft)), base=base,
                 **_preview(request, request.POST, source, draft))


def _edit_text(request, slug, versions, latest, shown, op, publish_form):
    source = request.POST.get("source", "").replace("\r\n", "\n")
    problems = wf.check(source)
    if op == "blocks" and not problems:
        draft = blocks.from_yaml(source)
        return _page(request, slug, versions, latest, shown, view="blocks", publish_form=publish_form, base=source,
                     editor=block_forms.read(block_forms.data_for(draft)),
                     **_preview(request, request.POST, source, draft))
    if op == "publish" and not problems:
        saved = _publish(request, slug, source, publish_form)
        if saved is not None:
            return saved
        problems = wf.check(source)
    status = 400 if problems and op != "preview" else 200
    return _page(request, slug, versions, latest, shown, view="text", source=source, problems=problems,
                 status=status, publish_form=publish_form, **_preview(request, request.POST, source))


def _publish(request, slug, source, publish_form):
    """Save the source as a new version; running enrollments stay or move as the form says. None: refused."""
    try:
        saved = definitions.save_version(request.org, slug, source, user=request.user, now=now())
    except wf.WorkflowError:
        return None
    running = publish_form.cleaned_data.get("running") if publish_form.is_valid() else "stay"
    if running == "move":
        moving = actions.move_to_version(saved, now(), actor=f"staff:{request.user.get_username()}")
        messages.success(request, _("Published as version %(v)s. %(n)s running invoice(s) move to it at their "
                                    "next step; new invoices start on it.") % {"v": saved.version, "n": moving})
    else:
        messages.success(request, _("Published as version %(v)s. New invoices start on it; running ones stay on "
                                    "their version.") % {"v": saved.version})
    return redirect("workflow_edit", slug=slug)


@member
@require_POST
def workflow_preview(request, slug):
    """The preview of the editor's unsaved draft (blocks or text), for htmx: the preview and each message's
    sample beside its block."""
    if not Workflow.objects.filter(organization=request.org, slug=slug).exists():
        raise Http404("no such workflow")
    draft = None
    if "b-count" in request.POST:
        editor = block_forms.read(request.POST)
        if not editor.is_valid():
            return render(request, "web/workflows/_preview.html", {"preview_invalid": True})
        draft = editor.draft()
        source = blocks.to_yaml(draft)
    else:
        source = request.POST.get("source", "").replace("\r\n", "\n")
    context = _preview(request, request.POST, source, draft)
    context["oob"] = True
    return render(request, "web/workflows/_preview.html", context)
