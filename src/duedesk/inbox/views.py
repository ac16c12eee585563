"""The handoff inbox: open handoffs newest first, filters with counts, and the detail page's actions."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_POST

from duedesk.channels.providers import transports_for_process
from duedesk.core import vocabulary
from duedesk.engine.actions import pending_steps
from duedesk.inbox import actions, plans
from duedesk.intake import checks
from duedesk.records import search
from duedesk.records.models import Event, Handoff, Membership
from duedesk.web import access, timeline
from duedesk.web.access import member, scoped
from duedesk.web.block_forms import Fast
from duedesk.web.templatetags.dates import when_short
from duedesk.web.templatetags.money import money

FILTER_REASONS = ["dispute", "hardship", "payment_plan", "request_human", "verify_payment",
                  "reply_needs_reading", "unknown_send"]
REASON_LABELS = vocabulary.HANDOFF_REASONS
MAX_INSTALMENT = Decimal("9999999999.99")  # Instalment.amount: 12 digits, 2 after the point


def transports_for(org):
    """Staff texts go through the organization's own transport (Twilio when configured)."""
    return transports_for_process()(org)


STATUS_VIEWS = {"open": "Open", "resolved": "Resolved", "all": "All"}
PAGE_SIZE = 50


def _picked(request):
    """What the page's controls ask for: status (open by default), a filter (mine, unassigned or a reason)
    and a search. ValueError names a bad search."""
    status = request.GET.get("status", "open")
    status = status if status in STATUS_VIEWS else "open"
    current = request.GET.get("filter", "all")
    current = current if current in ("all", "mine", "unassigned", *REASON_LABELS) else "all"
    q = request.GET.get("q", "").strip()
    checks.check_text(q, 200)
    return status, current, q


def _searched(request, status: str, q: str):
    qs = Handoff.objects.filter(organization=request.org)
    if status != "all":
        qs = qs.filter(status=status)
    if q:  # the handoffs found, once: the page counts them per filter, pages them and lists a page of them
        found = list(qs.filter(search.about(request.org, q)).values_list("pk", flat=True))
        qs = qs.filter(pk__in=found)
    return qs


def _narrowed(qs, current: str, user):
    if current == "mine":
        return qs.filter(assignee=user)
    if current == "unassigned":
        return qs.filter(assignee__isnull=True)
    if current in REASON_LABELS:
        return qs.filter(reason=current)
    return qs


def filtered_handoffs(request):
    """The handoffs the inbox's controls pick, newest first, and the filter's name. ValueError: a bad search."""
    status, current, q = _picked(request)
    return _narrowed(_searched(request, status, q), current, request.user).order_by("-created_at", "-pk"), current


@member
def inbox_list(request):
    try:
        status, current, q = _picked(request)
    except ValueError as error:
        return HttpResponseBadRequest(_("The search %(problem)s.") % {"problem": error}, content_type="text/plain")
    base = _searched(request, status, q)
    aggregates = {"all": Count("pk"), "mine": Count("pk", filter=Q(assignee=request.user)),
                  "unassigned": Count("pk", filter=Q(assignee__isnull=True))}
    aggregates.update({r: Count("pk", filter=Q(reason=r)) for r in REASON_LABELS})
    counts = base.aggregate(**aggregates)  # one query for every filter's count
    qs = _narrowed(base, current, request.user).order_by("-created_at", "-pk")
    # The list reads only what its rows show: the transcript and the answers (encrypted) are not decrypted, nor
    # a contact's or invoice's other columns (their JSON parsed) for every row.
    shown = qs.select_related("contact", "invoice", "assignee").only(
        "reason", "status", "summary", "created_at", "contact__first_name", "contact__last_name", "contact__phone",
        "contact__email", "invoice__external_ref", "invoice__balance", "invoice__currency", "assignee__username")
    paginator = Paginator(shown, PAGE_SIZE)
    paginator.count = counts[current]  # the filter's count, already read: no count query of its own
    page = paginator.get_page(request.GET.get("page"))
    # Every reason that has a handoff in this view is a filter; the usual ones are always offered.
    reasons = [r for r in REASON_LABELS if r in FILTER_REASONS or counts[r] or r == current]
    filters = [("all", STATUS_VIEWS[status] if status != "open" else "All open"), ("mine", "Mine"),
               ("unassigned", "Unassigned")] + [(r, REASON_LABELS[r]) for r in reasons]
    keep = {"status": "" if status == "open" else status, "q": q}  # the default view keeps short links
    return render(request, "inbox/list.html", {
        "section": "inbox", "handoffs": page.object_list, "rows": _rows(page.object_list), "page": page,
        "current": current, "status": status,
        "q": q, "statuses": list(STATUS_VIEWS.items()), "outcomes": BULK_OUTCOMES,
        "query": urlencode({k: v for k, v in {**keep, "filter": current}.items() if v}),
        "filters": [(key, label, counts[key], urlencode({k: v for k, v in {**keep, "filter": key}.items() if v}))
                    for key, label in filters],
        "can_change": request.membership.role in ("owner", "staff"),
    })


def _rows(handoffs) -> list[dict]:
    """The page's rows with what each shows already in words (a link, the reason's label, the amount, the time):
    worked out here once per row instead of looked up through the template language field by field, and
    each reason's label translated once per page."""
    link = reverse("inbox_detail", args=[0]).removesuffix("0/")
    reasons, unassigned = {}, _("Unassigned")
    out = []
    for h in handoffs:
        who, invoice, created = str(h.contact), h.invoice, timezone.localtime(h.created_at)
        if h.reason not in reasons:
            reasons[h.reason] = pgettext("state", h.reason_label())
        out.append({
            "pk": h.pk, "link": f"{link}{h.pk}/", "who": who, "pick": _("Pick %(who)s") % {"who": who},
            "resolved": h.status == "resolved", "summary": Truncator(timeline.said(h.summary)).chars(80) if h.summary else "",
            "reason": h.reason, "reason_words": reasons[h.reason],
            "invoice": invoice.external_ref if invoice else None,
            "balance": money(invoice.balance, invoice.currency) if invoice else "",
            "assignee": h.assignee.get_username() if h.assignee else unassigned,
            "iso": created.isoformat(), "when": when_short(created),
        })
    return out


# Outcomes a person can apply to many handoffs at once: those that need no date or plan.
BULK_OUTCOMES = {k: v for k, v in actions.OUTCOMES.items() if k not in ("pause", "payment_plan")}


@require_POST
@member
def bulk(request):
    """Assign or resolve the ticked handoffs. Each is checked to be ours; one that can't be resolved (no
    invoice, already resolved) is named and the others go ahead."""
    ids = [i for i in request.POST.getlist("ids") if i.isascii() and i.isdigit() and len(i) < 19]
    if not ids:
        messages.info(request, _("Tick the handoffs to change first."))
        return redirect(_back(request))
    chosen = list(Handoff.objects.filter(organization=request.org, pk__in=ids)
                  .select_related("contact", "invoice").order_by("pk"))
    what, now, who = request.POST.get("action", ""), access.now(), actions.actor_of(request.user)
    if what in ("assign_me", "unassign"):
        for handoff in chosen:
            actions.assign(handoff, request.user if what == "assign_me" else None, now, actor=who)
        said = (ngettext("%(n)s handoff assigned to you.", "%(n)s handoffs assigned to you.", len(chosen))
                if what == "assign_me" else
                ngettext("%(n)s handoff unassigned.", "%(n)s handoffs unassigned.", len(chosen)))
        messages.success(request, said % {"n": len(chosen)})
    elif what.startswith("resolve:") and what.removeprefix("resolve:") in BULK_OUTCOMES:
        outcome, done, problems = what.removeprefix("resolve:"), 0, []
        for handoff in chosen:
            if handoff.status != "open":
                problems.append(_("%(contact)s: already resolved") % {"contact": handoff.contact})
                continue
            try:
                actions.resolve(handoff, outcome, now, actor=who)
                done += 1
            except ValueError as error:
                problems.append(f"{handoff.contact}: {error}")
        messages.success(request, ngettext("%(n)s resolved: %(outcome)s.", "%(n)s resolved: %(outcome)s.", done)
                         % {"n": done, "outcome": BULK_OUTCOMES[outcome]})
        for problem in problems:
            messages.warning(request, _("Not resolved — %(problem)s.") % {"problem": problem})
    else:
        return HttpResponseBadRequest(_("Action: pick assign to me, unassign or an outcome."),
                                      content_type="text/plain")
    return redirect(_back(request))


def _back(request) -> str:
    """Back to the view the person was on: only the inbox's own controls are carried over."""
    asked = QueryDict(request.POST.get("query", ""))
    query = urlencode({k: asked[k] for k in ("status", "filter", "q") if asked.get(k)})
    return "/inbox/" + ("?" + query if query else "")


_LINES = checks.validator(checks.check_text, multiline=True)  # line breaks yes, other control characters no
_YEARS = checks.validator(checks.check_date)


class ReplyForm(Fast, forms.Form):
    body = forms.CharField(label=gettext_lazy("Text message"), widget=forms.Textarea(attrs={"rows": 3}), max_length=600,
                           validators=[_LINES])


class NoteForm(Fast, forms.Form):
    text = forms.CharField(label=gettext_lazy("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000,
                           validators=[_LINES])


class ResolveForm(Fast, forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=list(actions.OUTCOMES.items()))
    note = forms.CharField(label=gettext_lazy("Note for the timeline"), required=False, max_length=2000, validators=[_LINES])
    until = forms.DateField(label=gettext_lazy("Pause until"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            validators=[_YEARS])
    plan_count = forms.IntegerField(label=gettext_lazy("Number of instalments"), required=False, min_value=1,
                                    max_value=plans.MAX_INSTALMENTS)
    plan_first = forms.DateField(label=gettext_lazy("First payment on"), required=False, validators=[_YEARS],
                                 widget=forms.DateInput(attrs={"type": "date"}))
    plan_every = forms.ChoiceField(label=gettext_lazy("How often"), choices=list(plans.EVERY.items()), initial="monthly",
                                   required=False)
    # The rows (plan-date-N, plan-amount-N) come from the builder; `plan` is the same as lines of text.
    plan = forms.CharField(
        label=gettext_lazy("Instalments (one per line: date amount)"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2027-01-15 50.00\n2027-02-15 50.00"}))

    def __init__(self, *args, invoice=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice

    def posted_rows(self) -> list[tuple[int, str, str]]:
        """The builder's rows as typed: (number, date, amount); rows left wholly empty are dropped."""
        rows = []
        for i in range(plans.MAX_INSTALMENTS):
            day, amount = (self.data.get(f"plan-date-{i}", "").strip(), self.data.get(f"plan-amount-{i}", "").strip())
            if day or amount:
                rows.append((i + 1, day, amount))
        return rows

    def build(self) -> list[tuple[date, Decimal]]:
        """The schedule the builder proposes from the number, first date and frequency (errors on the fields)."""
        self.is_valid()
        self.errors.pop(NON_FIELD_ERRORS, None)  # about resolving (no rows yet), not about building them
        data = getattr(self, "cleaned_data", {})
        if not data.get("plan_count"):
            self.add_error("plan_count", _("How many instalments?"))
        if not data.get("plan_first"):
            self.add_error("plan_first", _("Pick the day of the first payment."))
        if self.invoice is None or not data.get("plan_count") or not data.get("plan_first"):
            return []
        return plans.build_schedule(self.invoice.balance, data["plan_count"], data["plan_first"],
                                    data.get("plan_every") or "monthly")

    def clean(self):
        data = super().clean()
        outcome = data.get("outcome")
        if outcome == "pause" and not data.get("until"):
            self.add_error("until", _("Pick the date to pause until."))
        if outcome == "payment_plan":
            try:
                rows = self.posted_rows()
                data["instalments"] = (parse_rows(rows) if rows else parse_plan(data.get("plan", "")))
            except ValueError as error:
                self.add_error(None, str(error))
                return data
            if self.invoice is not None:
                off = plans.difference(data["instalments"], self.invoice.balance, self.invoice.currency)
                if off:
                    self.add_error(None, off)
        return data


def parse_plan(text: str) -> list[tuple]:
    rows = []
    for number, line in enumerate(text.strip().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.replace(",", " ").split()
        if len(parts) != 2:
            raise ValueError(_("Line %(n)s: write a date and an amount, like 2027-01-15 50.00.") % {"n": number})
        rows.append((number, parts[0], parts[1]))
    if not rows:
        raise ValueError(_("Build the instalments first: how many, the first payment's day and how often."))
    return parse_rows(rows, _("Line"))


def parse_rows(rows: list[tuple[int, str, str]], name: str = "") -> list[tuple]:
    name = name or _("Instalment")
    out = []
    for number, day_text, amount_text in rows:
        try:
            day = datetime.strptime(day_text, "%Y-%m-%d").date()
            amount = Decimal(amount_text.lstrip("$").replace(",", ""))
        except (ValueError, InvalidOperation):
            typed = f"{day_text} {amount_text}".strip()
            raise ValueError(_("%(row)s %(n)s: '%(typed)s' is not a date (YYYY-MM-DD) and an amount.")
                             % {"row": name, "n": number, "typed": typed}) from None
        try:
            checks.check_date(day)
        except ValueError as error:
            raise ValueError(f"{name} {number}: {error}.") from None  # the check's own words
        if not amount.is_finite() or amount <= 0:
            raise ValueError(_("%(row)s %(n)s: the amount must be more than zero.") % {"row": name, "n": number})
        if amount > MAX_INSTALMENT or amount != amount.quantize(Decimal("0.01")):
            raise ValueError(_("%(row)s %(n)s: %(typed)s is not an amount in dollars and cents.")
                             % {"row": name, "n": number, "typed": amount_text})
        out.append((day, amount))
    if not out:
        raise ValueError(_("Add at least one instalment."))
    return out


def _handoff(request, pk):
    return scoped(request, Handoff.objects.select_related("contact", "invoice", "assignee"), pk=pk)


@member
def inbox_detail(request, pk, forms_=None, status=None, plan_rows=None):
    handoff = _handoff(request, pk)
    contact = handoff.contact
    invoices = list(contact.invoices.order_by("-due_date"))
    team = get_user_model().objects.filter(memberships__organization=request.org).exclude(
        memberships__role="viewer").order_by("username")
    forms_ = forms_ or {}
    context = {
        "section": "inbox", "handoff": handoff, "contact": contact, "invoices": invoices,
        "collected": [(label, handoff.collected.get(key)) for key, label in (
            ("identity_verified", _("Identity verified")), ("promised_date", _("Promised date")),
            ("stated_reason", _("Stated reason")), ("amount_offered", _("Amount offered"))) if key in handoff.collected],
        "extra_collected": [(timeline.collected_words(k), _collected_words(k, v)) for k, v in handoff.collected.items()
                            if k not in ("identity_verified", "promised_date", "stated_reason", "amount_offered")],
        "events": timeline.for_contact(contact),
        "team": team,
        "reply_form": forms_.get("reply") or ReplyForm(),
        "note_form": forms_.get("note") or NoteForm(),
        "call_form": forms_.get("call") or NoteForm(prefix="call"),
        "resolve_form": forms_.get("resolve") or ResolveForm(invoice=handoff.invoice),
        "plan_rows": _plan_rows(forms_.get("resolve"), plan_rows),
        "instalments": handoff.invoice.instalments.all() if handoff.invoice else [],
        "pending": timeline.in_words(pending_steps(handoff.invoice).order_by("run_at")) if handoff.invoice else [],
        "transcript": timeline.turns(handoff.transcript),
        "can_change": request.membership.role in ("owner", "staff"),
        "resolution_label": actions.OUTCOMES.get(handoff.resolution, handoff.resolution),
    }
    return render(request, "inbox/detail.html", context, status=status or (400 if forms_ else 200))


def _collected_words(key: str, value):
    """A collected answer's value for staff: an outcome in words ("Answer not understood", not "unclear")."""
    if key == "outcome" and isinstance(value, str):
        return pgettext("state", vocabulary.label(vocabulary.WORKFLOW_OUTCOMES, value))
    if key == "source" and value in vocabulary.LINE_SOURCES:
        return pgettext("state", vocabulary.LINE_SOURCES[value])
    return value


def _plan_rows(form, built) -> list[dict]:
    """The builder's rows to show: just built, else as the person last typed them, else none."""
    if built is not None:
        return [{"date": d.isoformat(), "amount": f"{a:.2f}"} for d, a in built]
    if form is None:
        return []
    return [{"date": d, "amount": a} for _, d, a in form.posted_rows()]


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
        return HttpResponseBadRequest(_("Assignee: %(who)r is not a teammate (send 'me', '' or a user id).")
                                      % {"who": who[:40]}, content_type="text/plain")
    actions.assign(handoff, user, access.now(), actor=actions.actor_of(request.user))
    messages.success(request, _("Assigned to %(person)s.") % {"person": user.get_username()} if user
                     else _("Unassigned."))
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
    (messages.success if result.sent else messages.warning)(request, timeline.send_words(result))
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
    messages.success(request, _("Note added."))
    return redirect("inbox_detail", pk=pk)


@require_POST
@member
def call_back(request, pk):
    handoff = _handoff(request, pk)
    form = NoteForm(request.POST, prefix="call")
    if not form.is_valid():
        return inbox_detail(request, pk, forms_={"call": form})
    actions.log_call_back(handoff, form.cleaned_data["text"], access.now(), actor=actions.actor_of(request.user))
    messages.success(request, _("Call logged."))
    return redirect("inbox_detail", pk=pk)


@require_POST
@member
def resolve(request, pk):
    handoff = _handoff(request, pk)
    form = ResolveForm(request.POST, invoice=handoff.invoice)
    if handoff.status != "open":
        messages.info(request, _("This handoff is already resolved."))
        return redirect("inbox_detail", pk=pk)
    if request.POST.get("build"):  # the plan builder: propose rows, resolve nothing yet
        rows = form.build()
        return inbox_detail(request, pk, forms_={"resolve": form}, plan_rows=rows, status=200 if rows else 400)
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
    said = _("Resolved: %(outcome)s.") % {"outcome": actions.OUTCOMES[data["outcome"]]}
    if data["outcome"] == "payment_plan":
        sent = actions.confirm_plan(handoff, data["instalments"], request.user, access.now(),
                                    transports_for(request.org))
        said += " " + (_("The patient was texted the plan.") if sent.sent
                       else _("Confirmation text to the patient: %(result)s") % {"result": timeline.send_words(sent)})
    messages.success(request, said)
    return redirect("inbox_detail", pk=pk)


@require_POST
@member
def reopen(request, pk):
    handoff = _handoff(request, pk)
    if handoff.status == "open":
        messages.info(request, _("This handoff is already open."))
    else:
        actions.reopen(handoff, access.now(), actor=actions.actor_of(request.user))
        messages.success(request, _("Reopened. What was done when it was resolved stays as it is."))
    return redirect("inbox_detail", pk=pk)


__all__ = ["inbox_list", "bulk", "reopen", "inbox_detail", "assign", "reply", "note", "call_back", "resolve", "Event"]
