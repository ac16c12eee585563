"""The handoff inbox: open handoffs newest first, filters with counts, and the detail page's actions."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from duedesk.channels.providers import transports_for_process
from duedesk.core import vocabulary
from duedesk.engine.actions import pending_steps
from duedesk.inbox import actions
from duedesk.intake import checks
from duedesk.records.models import Event, Handoff, Membership
from duedesk.web import access, timeline
from duedesk.web.access import member, scoped

FILTER_REASONS = ["dispute", "hardship", "payment_plan", "request_human", "verify_payment",
                  "reply_needs_reading", "unknown_send"]
REASON_LABELS = vocabulary.HANDOFF_REASONS
MAX_INSTALMENT = Decimal("9999999999.99")  # Instalment.amount: 12 digits, 2 after the point


def transports_for(org):
    """Staff texts go through the organization's own transport (Twilio when configured)."""
    return transports_for_process()(org)


def filtered_handoffs(request):
    """The open handoffs the page's filter picks (?filter=mine, a reason…), newest first, and that filter."""
    qs = Handoff.objects.filter(organization=request.org, status="open")
    current = request.GET.get("filter", "all")
    if current == "mine":
        qs = qs.filter(assignee=request.user)
    elif current == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif current in FILTER_REASONS:
        qs = qs.filter(reason=current)
    else:
        current = "all"
    return qs.order_by("-created_at", "-pk"), current


@member
def inbox_list(request):
    base = Handoff.objects.filter(organization=request.org, status="open")
    aggregates = {"all": Count("pk"), "mine": Count("pk", filter=Q(assignee=request.user)),
                  "unassigned": Count("pk", filter=Q(assignee__isnull=True))}
    aggregates.update({r: Count("pk", filter=Q(reason=r)) for r in FILTER_REASONS})
    counts = base.aggregate(**aggregates)  # one query for every filter's count
    qs, current = filtered_handoffs(request)
    handoffs = qs.select_related("contact", "invoice", "assignee")[:200]
    filters = [("all", "All open"), ("mine", "Mine"), ("unassigned", "Unassigned")] + [
        (r, REASON_LABELS[r]) for r in FILTER_REASONS]
    return render(request, "inbox/list.html", {
        "section": "inbox", "handoffs": handoffs, "current": current,
        "filters": [(key, label, counts[key]) for key, label in filters],
    })


_LINES = checks.validator(checks.check_text, multiline=True)  # line breaks yes, other control characters no
_YEARS = checks.validator(checks.check_date)


class ReplyForm(forms.Form):
    body = forms.CharField(label="Text message", widget=forms.Textarea(attrs={"rows": 3}), max_length=600,
                           validators=[_LINES])


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 2}), max_length=4000,
                           validators=[_LINES])


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label="Outcome", choices=list(actions.OUTCOMES.items()))
    note = forms.CharField(label="Note for the timeline", required=False, max_length=2000, validators=[_LINES])
    until = forms.DateField(label="Pause until", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            validators=[_YEARS])
    plan = forms.CharField(
        label="Instalments (one per line: date amount)", required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2027-01-15 50.00\n2027-02-15 50.00"}))

    def clean(self):
        data = super().clean()
        outcome = data.get("outcome")
        if outcome == "pause" and not data.get("until"):
            self.add_error("until", "Pick the date to pause until.")
        if outcome == "payment_plan":
            try:
                data["instalments"] = parse_plan(data.get("plan", ""))
            except ValueError as error:
                self.add_error("plan", str(error))
        return data


def parse_plan(text: str) -> list[tuple]:
    rows = []
    for number, line in enumerate(text.strip().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.replace(",", " ").split()
        if len(parts) != 2:
            raise ValueError(f"Line {number}: write a date and an amount, like 2027-01-15 50.00.")
        try:
            day = datetime.strptime(parts[0], "%Y-%m-%d").date()
            amount = Decimal(parts[1].lstrip("$"))
        except (ValueError, InvalidOperation):
            raise ValueError(f"Line {number}: '{line.strip()}' is not a date (YYYY-MM-DD) and an amount.") from None
        try:
            checks.check_date(day)
        except ValueError as error:
            raise ValueError(f"Line {number}: {error}.") from None
        if not amount.is_finite() or amount <= 0:
            raise ValueError(f"Line {number}: the amount must be more than zero.")
        if amount > MAX_INSTALMENT or amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"Line {number}: {parts[1]} is not an amount in dollars and cents.")
        rows.append((day, amount))
    if not rows:
        raise ValueError("Add at least one instalment.")
    return rows


def _handoff(request, pk):
    return scoped(request, Handoff.objects.select_related("contact", "invoice", "assignee"), pk=pk)


@member
def inbox_detail(request, pk, forms_=None):
    handoff = _handoff(request, pk)
    contact = handoff.contact
    invoices = list(contact.invoices.order_by("-due_date"))
    team = get_user_model().objects.filter(memberships__organization=request.org).exclude(
        memberships__role="viewer").order_by("username")
    forms_ = forms_ or {}
    context = {
        "section": "inbox", "handoff": handoff, "contact": contact, "invoices": invoices,
        "collected": [(label, handoff.collected.get(key)) for key, label in (
            ("identity_verified", "Identity verified"), ("promised_date", "Promised date"),
            ("stated_reason", "Stated reason"), ("amount_offered", "Amount offered")) if key in handoff.collected],
        "extra_collected": {k: v for k, v in handoff.collected.items() if k not in (
            "identity_verified", "promised_date", "stated_reason", "amount_offered")},
        "events": timeline.for_contact(contact),
        "team": team,
        "reply_form": forms_.get("reply") or ReplyForm(),
        "note_form": forms_.get("note") or NoteForm(),
        "call_form": forms_.get("call") or NoteForm(prefix="call"),
        "resolve_form": forms_.get("resolve") or ResolveForm(),
        "instalments": handoff.invoice.instalments.all() if handoff.invoice else [],
        "pending": pending_steps(handoff.invoice).order_by("run_at") if handoff.invoice else [],
        "can_change": request.membership.role in ("owner", "staff"),
    }
    return render(request, "inbox/detail.html", context, status=400 if forms_ else 200)


@require_POST
@member
def assign(request, pk):
    handoff = _handoff(request, pk)
    who = request.POST.get("assignee", "")
    if who == "me":
        user = request.user
    elif who == "":
        user = None
    elif who.isascii() and who.isdigit() and len(who) < 19:
        membership = scoped(request, Membership.objects.exclude(role="viewer").select_related("user"), user_id=who)
        user = membership.user
    else:
        return HttpResponseBadRequest(f"Assignee: {who[:40]!r} is not a teammate (send 'me', '' or a user id).",
                                      content_type="text/plain")
    actions.assign(handoff, user, access.now(), actor=actions.actor_of(request.user))
    messages.success(request, f"Assigned to {user.get_username()}." if user else "Unassigned.")
    return redirect("inbox_detail", pk=pk)


@require_POST
@member
def reply(request, pk):
    handoff = _handoff(request, pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return inbox_detail(request, pk, forms_={"reply": form})
    result = actions.reply_by_text(handoff, form.cleaned_data["body"], request.user, access.now(),
                                   transports_for(request.org))
    (messages.success if result.sent else messages.warning)(request, result.explain())
    return redirect("inbox_detail", pk=pk)


@require_POST
@member
def note(request, pk):
    handoff = _handoff(request, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return inbox_detail(request, pk, forms_={"note": form})
    actions.add_note(handoff.contact, form.cleaned_data["text"], access.now(),
                     actor=actions.actor_of(request.user), handoff=handoff)
    messages.success(request, "Note added.")
    return redirect("inbox_detail", pk=pk)


@require_POST
@member
def call_back(request, pk):
    handoff = _handoff(request, pk)
    form = NoteForm(request.POST, prefix="call")
    if not form.is_valid():
        return inbox_detail(request, pk, forms_={"call": form})
    actions.log_call_back(handoff, form.cleaned_data["text"], access.now(), actor=actions.actor_of(request.user))
    messages.success(request, "Call logged.")
    return redirect("inbox_detail", pk=pk)


@require_POST
@member
def resolve(request, pk):
    handoff = _handoff(request, pk)
    form = ResolveForm(request.POST)
    if handoff.status != "open":
        messages.info(request, "This handoff is already resolved.")
        return redirect("inbox_detail", pk=pk)
    if not form.is_valid():
        return inbox_detail(request, pk, forms_={"resolve": form})
    data = form.cleaned_data
    until = None
    if data.get("until"):
        until = datetime.combine(data["until"], time(0), tzinfo=ZoneInfo(handoff.contact.tz()))
    try:
        actions.resolve(handoff, data["outcome"], access.now(), actor=actions.actor_of(request.user),
                        note=data.get("note", ""), until=until, instalments=data.get("instalments"))
    except ValueError as error:
        form.add_error(None, str(error))
        return inbox_detail(request, pk, forms_={"resolve": form})
    messages.success(request, f"Resolved: {actions.OUTCOMES[data['outcome']]}.")
    return redirect("inbox_detail", pk=pk)


__all__ = ["inbox_list", "inbox_detail", "assign", "reply", "note", "call_back", "resolve", "Event"]
