"""Contacts: search, the contact page (invoices, consent, timeline) and what staff change there."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Lower
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from duedesk.core import vocabulary
from duedesk.core.phones import normalize_phone
from duedesk.engine import actions as engine
from duedesk.engine.models import Step
from duedesk.inbox import actions
from duedesk.inbox.views import transports_for
from duedesk.intake import checks
from duedesk.records import lines
from duedesk.records.models import Contact, Event, Invoice, LineChange
from duedesk.records.search import person_matches
from duedesk.web import access, timeline
from duedesk.web.access import actor, member, scoped
from duedesk.web.block_forms import Fast
from duedesk.web.labels import state
from duedesk.web.templatetags.dates import day
from duedesk.web.templatetags.money import money

CHANNEL_LABELS = vocabulary.CHANNELS


@member
def contact_list(request):
    q = request.GET.get("q", "").strip()
    try:
        qs = search(request.org, q, owed=False)
    except ValueError as error:
        return HttpResponseBadRequest(_("The search %(problem)s.") % {"problem": error}, content_type="text/plain")
    page = Paginator(qs.order_by(*ORDER[bool(q)]), 25).get_page(request.GET.get("page"))
    owed = dict(Invoice.objects.filter(contact__in=[c.pk for c in page.object_list], status__in=OWING)
                .values_list("contact").annotate(owed=Sum("balance")))
    for c in page.object_list:  # what the page's 25 owe, in one query (not summed for every match)
        c.owed = owed.get(c.pk)
    template = "web/contacts/_results.html" if request.htmx else "web/contacts/list.html"
    return render(request, template, {"section": "contacts", "page": page, "q": q})


OWING = ("open", "in_plan", "hardship", "disputed")
# By name. A search orders its matches by the names in lower case: the same order for names as written, but no
# index gives it, so PostgreSQL gathers the matches first (the search column's trigram index) and sorts them,
# instead of walking the name index and testing every contact until 25 match (Reyes comes late).
ORDER = {False: ("last_name", "first_name", "pk"), True: (Lower("last_name"), Lower("first_name"), "pk")}


def search(org, q: str, *, owed: bool = True):
    """The organization's contacts matching a search (records/search.py: name, email, phone, invoice
    reference), each with what they owe (`owed`, summed per contact as it is read, so a streamed export
    starts at once); ValueError names what is wrong with the search."""
    q = q.strip()
    checks.check_text(q, 200)
    qs = Contact.objects.filter(organization=org)
    if q:
        holders = list(Invoice.objects.filter(organization=org, external_ref__iexact=q).values_list("contact_id",
                                                                                                    flat=True))
        qs = qs.filter(person_matches(q) | Q(pk__in=holders))
    if not owed:
        return qs
    return qs.annotate(owed=Subquery(Invoice.objects.filter(contact=OuterRef("pk"), status__in=OWING)
                                     .values("contact").annotate(total=Sum("balance")).values("total")))


LANGUAGE_CHOICES = [("en", "English"), ("es", "Español")]


def in_the_years(field: forms.Field) -> forms.Field:
    """A date field that refuses years outside the accepted range (year 1 would overflow the planner)."""
    field.validators.append(checks.validator(checks.check_date))
    return field


class LanguageField(forms.ChoiceField):
    """A language choice that also takes a locale of it (a pasted "es-MX" is Spanish), as the import does."""

    def to_python(self, value):
        value = super().to_python(value)
        try:
            return checks.check_language(value) if value else value
        except ValueError:
            return value  # refused by the choice check, with its usual words


class ContactForm(Fast, forms.ModelForm):
    """The same rules as the import and the API (intake.checks): a real time zone, a language outreach
    speaks, names without control characters, a birth date within the accepted years."""

    language = LanguageField(label=gettext_lazy("Language"), choices=[(c, dict(LANGUAGE_CHOICES).get(c, c))
                                                         for c in checks.LANGUAGES])

    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "phone", "email", "zip_code", "timezone", "language", "date_of_birth"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}
        labels = {"first_name": gettext_lazy("First name"), "last_name": gettext_lazy("Last name"), "phone": gettext_lazy("Phone"),
                  "email": gettext_lazy("Email"), "zip_code": gettext_lazy("ZIP code"),
                  "timezone": gettext_lazy("Time zone (blank: from ZIP or phone)")}
        help_texts = {"phone": gettext_lazy("E.164, like +12125550100"),
                      "timezone": gettext_lazy("Blank: from ZIP, else phone, else organization")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "phone", "email", "zip_code", "timezone"):
            self.fields[name].validators.append(checks.validator(checks.check_text))
        self.fields["timezone"].validators.append(checks.validator(checks.check_timezone))
        in_the_years(self.fields["date_of_birth"])
        self.fields["date_of_birth"].label = gettext_lazy("Date of birth")  # the encrypted field names its own

    def clean_phone(self):
        raw = self.cleaned_data.get("phone", "")
        if not raw:
            return ""
        try:
            return normalize_phone(raw)
        except ValueError:
            raise forms.ValidationError(_("Phone: '%(phone)s' is not a valid phone number.") % {"phone": raw}) from None


class InvoiceForm(Fast, forms.Form):
    """Due date and amount; the engine re-plans outreach from them. Errors name the field."""

    due_date = in_the_years(forms.DateField(
        label=gettext_lazy("Due date"), widget=forms.DateInput(attrs={"type": "date"}), error_messages={
            "required": gettext_lazy("Due date: this field is required."),
            "invalid": gettext_lazy("Due date: enter a date like 2027-01-15.")}))
    amount_due = forms.DecimalField(label=gettext_lazy("Amount"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2,
                                    error_messages={
                                        "required": gettext_lazy("Amount: this field is required."),
                                        "invalid": gettext_lazy("Amount: enter a number like 120.00."),
                                        "min_value": gettext_lazy("Amount: must be more than zero."),
                                        "max_digits": gettext_lazy("Amount: at most 10 digits before the decimal point."),
                                        "max_whole_digits": gettext_lazy(
                                            "Amount: at most 10 digits before the decimal point."),
                                        "max_decimal_places": gettext_lazy("Amount: at most 2 decimal places (cents).")})


EDITABLE = ("open", "in_plan", "hardship", "disputed")


class ConsentForm(Fast, forms.Form):
    """Consent for billing recorded or withdrawn by staff, for one of the contact's lines: the number (texts
    and calls) or the email address. Recording it needs the day it was given and what shows it."""

    action = forms.ChoiceField(choices=[("give", gettext_lazy("Record consent")), ("withdraw", gettext_lazy("Withdraw consent"))],
                               widget=forms.RadioSelect, initial="give")
    line = forms.ChoiceField(label=gettext_lazy("For"))
    given_on = in_the_years(forms.DateField(label=gettext_lazy("Date given"), required=False,
                                            widget=forms.DateInput(attrs={"type": "date"}),
                                            error_messages={"invalid": gettext_lazy("Date given: enter a date like 2026-11-02.")}))
    evidence = forms.CharField(label=gettext_lazy("Evidence"), required=False, max_length=200,
                               help_text=gettext_lazy("What shows it: a signed intake form, the call where they said so"),
                               widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Signed intake form, scanned Nov 2")}))

    def __init__(self, *args, contact: Contact, today: date, **kwargs):
        super().__init__(*args, prefix="consent", **kwargs)
        self.today = today
        self.fields["line"].choices = [
            (kind, (_("%(address)s (texts and calls)") if kind == "phone" else _("%(address)s (email)"))
             % {"address": address}) for kind, address in lines.addresses(contact)]
        self.fields["evidence"].validators.append(checks.validator(checks.check_text))

    def clean(self):
        data = super().clean()
        if data.get("action") == "give":
            if not data.get("given_on") and "given_on" not in self.errors:
                self.add_error("given_on", _("Date given: say when the patient gave consent."))
            elif data.get("given_on") and data["given_on"] > self.today:
                self.add_error("given_on", _("Date given: cannot be in the future."))
            if not (data.get("evidence") or "").strip() and "evidence" not in self.errors:
                self.add_error("evidence", _("Evidence: say what shows the consent (a form, a call)."))
        return data


def _today(contact: Contact, now) -> date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(contact.organization.timezone)).date()


class PaymentForm(Fast, forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("Amount paid"), min_value=0.01, max_digits=12, decimal_places=2)
    paid_on = in_the_years(forms.DateField(label=gettext_lazy("Paid on"), widget=forms.DateInput(attrs={"type": "date"})))
    method = forms.ChoiceField(label=gettext_lazy("How"), choices=list(actions.PAYMENT_METHODS.items()), initial="card",
                               required=False)
    reference = forms.CharField(label=gettext_lazy("Receipt or check number"), required=False, max_length=100,
                                validators=[checks.validator(checks.check_text)])


def _invoices(contact, bound: InvoiceForm | None = None, bound_pk: int | None = None):
    invoices = list(contact.invoices.order_by("-due_date", "-pk"))
    today = access.now().astimezone(ZoneInfo(contact.organization.timezone)).date()  # "Paid on": the office's today
    steps = (Step.objects.filter(enrollment__invoice__in=invoices).only("step_id", "kind", "run_at", "status")
             .annotate(of_invoice=F("enrollment__invoice_id")).order_by("run_at"))
    by_invoice: dict[int, list] = {}
    for s in steps:
        by_invoice.setdefault(s.of_invoice, []).append(s)
    payments: dict[int, list] = {}
    undone: set[int] = set()
    for ev in Event.objects.filter(invoice__in=invoices, kind__in=("payment.recorded", "payment.undone")).order_by(
            "at", "pk"):
        if ev.kind == "payment.undone":
            undone.add(ev.detail.get("payment"))
        else:
            payments.setdefault(ev.invoice_id, []).append(ev)
    for inv in invoices:
        inv.payments = payments.get(inv.pk, [])
        for p in inv.payments:
            p.amount, p.undone, p.undoable = p.detail.get("amount"), p.pk in undone, p.actor != "stripe"
            p.how = actions.PAYMENT_METHODS.get(p.detail.get("method", ""), "") or p.detail.get("source", "")
        inv.steps = timeline.in_words(by_invoice.get(inv.pk, [])[-8:])
        inv.payment_form = PaymentForm(prefix=f"pay{inv.pk}", initial={"amount": inv.balance, "paid_on": today})
        inv.editable = inv.status in EDITABLE
        inv.edit_form = bound if bound is not None and bound_pk == inv.pk else InvoiceForm(
            prefix=f"inv{inv.pk}", initial={"due_date": inv.due_date, "amount_due": inv.amount_due})
    return invoices


@member
def contact_detail(request, pk, form=None, status=200, invoice_form=None, invoice_pk=None, consent_form=None):
    contact = scoped(request, Contact, pk=pk)
    contact.organization = request.org  # the one it was looked up in
    channels = []
    lines.prefetch([contact])  # its number and address: one query
    for ch in Contact.CHANNELS:  # the state of the number (or address) each channel goes to
        line = lines.line_for(contact, ch)
        opted = line.opted_out if line else {}
        channels.append({
            "name": state(CHANNEL_LABELS[ch]),
            "consent": ch == "email" or lines.state(contact, ch, contact.organization.accept_provided_number).consent,
            "opted_out": ch in opted or "all" in opted,
            "since": opted.get(ch) or opted.get("all"),
            "unreachable": line.unreachable.get(ch) if line else None,
        })
    return render(request, "web/contacts/detail.html", {
        "section": "contacts", "contact": contact, "invoices": _invoices(contact, invoice_form, invoice_pk), "channels": channels,
        "events": timeline.for_contact(contact), "form": form or ContactForm(instance=contact),
        "can_change": request.membership.role in ("owner", "staff"),
        "handoffs": contact.handoffs.filter(status="open").only("pk", "reason", "contact"),
        "consent_form": consent_form or ConsentForm(contact=contact, today=_today(contact, access.now())),
    }, status=status)


@require_POST
@member
def contact_consent(request, pk):
    """Staff record consent for billing (basis express, source staff) on one line, or withdraw it."""
    contact = scoped(request, Contact.objects.select_related("organization"), pk=pk)
    now = access.now()
    form = ConsentForm(request.POST, contact=contact, today=_today(contact, now))
    if not form.is_valid():
        return contact_detail(request, pk, status=400, consent_form=form)
    kind, evidence = form.cleaned_data["line"], form.cleaned_data["evidence"].strip()
    address = dict(lines.addresses(contact))[kind]
    if form.cleaned_data["action"] == "give":
        changed = engine.give_consent(contact, now, basis="express", source="staff", evidence=evidence,
                                      actor=actor(request), kinds=(kind,), given_on=form.cleaned_data["given_on"])
        said = (_("Consent recorded for %(address)s.") if changed
                else _("%(address)s already had this consent on record.")) % {"address": address}
    else:
        changed = engine.revoke_consent(contact, now, source="staff", evidence=evidence, actor=actor(request),
                                        kinds=(kind,))
        said = (_("Consent withdrawn for %(address)s: no automated texts or calls go to it.") if changed
                else _("Consent for %(address)s was already withdrawn.")) % {"address": address}
    (messages.success if changed else messages.info)(request, said)
    return redirect("contact_detail", pk=pk)


@member
def contact_consent_history(request, pk):
    """Each of the contact's lines with every consent, opt-out and unreachable change it had, whoever it was
    for (a family on one phone; contacts since deleted): the record an auditor asks for."""
    contact = scoped(request, Contact.objects.select_related("organization"), pk=pk)
    found = lines.lines_of(contact)
    history = []
    for kind, address in lines.addresses(contact):
        line = found.get((kind, address))
        changes = list(LineChange.objects.filter(organization=request.org, line=line)
                       .select_related("contact").order_by("at", "pk")) if line else []
        for change in changes:
            change.actor_words = timeline.actor_words(change.actor)
            change.label = state(vocabulary.LINE_CHANGES[change.what]) if change.what in vocabulary.LINE_CHANGES else change.what
        consent = (line.consent.get(lines.PURPOSE) or {}) if line else {}
        channel = "sms" if kind == "phone" else "email"
        history.append({
            "kind": _("Phone number") if kind == "phone" else _("Email address"), "address": address, "line": line,
            "basis": lines.state(contact, channel, request.org.accept_provided_number).consent,
            "consent": consent, "changes": changes,
        })
    return render(request, "web/contacts/consent_history.html", {
        "section": "contacts", "contact": contact, "history": history,
    })


@require_POST
@member
def contact_edit(request, pk):
    contact = scoped(request, Contact, pk=pk)
    before = {f: getattr(contact, f) for f in ContactForm.Meta.fields}
    form = ContactForm(request.POST, instance=contact)
    if not form.is_valid():
        return contact_detail(request, pk, form=form, status=400)
    with transaction.atomic():  # the change and its timeline entry land together
        form.save()
        changed = [f for f in ContactForm.Meta.fields if getattr(contact, f) != before[f]]
        if changed:
            actions.add_note(contact, "Changed " + ", ".join(changed), access.now(), actor=actor(request),
                             kind="contact.updated")
    messages.success(request, _("Contact saved."))
    return redirect("contact_detail", pk=pk)


@require_POST
@member
def contact_outreach(request, pk):
    contact = scoped(request, Contact, pk=pk)
    on = request.POST.get("on") == "1"
    engine.set_outreach(contact, on, access.now(), actor=actor(request))
    messages.success(request, _("Outreach resumed.") if on else _("Outreach paused: nothing automated goes out."))
    return redirect("contact_detail", pk=pk)


@require_POST
@member
def invoice_paid(request, pk):
    invoice = scoped(request, Invoice.objects.select_related("contact"), pk=pk)
    form = PaymentForm(request.POST, prefix=f"pay{invoice.pk}")
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items())
        messages.error(request, _("Payment not recorded. %(problems)s") % {"problems": errors})
        return redirect("contact_detail", pk=invoice.contact_id)
    paid_on: date = form.cleaned_data["paid_on"]
    try:
        invoice = actions.record_staff_payment(invoice, form.cleaned_data["amount"], access.now(),
                                               actor=actor(request), paid_on=paid_on,
                                               method=form.cleaned_data["method"],
                                               reference=form.cleaned_data["reference"])
    except engine.InvoiceClosed as error:
        messages.error(request, _("Payment not recorded: %(problem)s.") % {"problem": error})
        return redirect("contact_detail", pk=invoice.contact_id)
    said = _("Payment recorded on %(invoice)s; balance %(balance)s.") % {
        "invoice": invoice.external_ref, "balance": money(invoice.balance, invoice.currency)}
    if invoice.credit:
        said += " " + _("Credit %(credit)s (paid beyond what was owed) is in the inbox to refund or apply.") % {
            "credit": money(invoice.credit, invoice.currency)}
    messages.success(request, said)
    return redirect("contact_detail", pk=invoice.contact_id)


@require_POST
@member
def payment_undo(request, pk):
    """Take a payment recorded by mistake off its invoice, with the reason; reminders start again."""
    payment = scoped(request, Event.objects.filter(kind="payment.recorded", invoice__isnull=False), pk=pk)
    try:
        invoice = engine.undo_payment(payment, access.now(), actor=actor(request),
                                      reason=request.POST.get("reason", "")[:300])
    except engine.PaymentNotUndone as error:
        messages.error(request, _("Payment not undone: %(problem)s.") % {"problem": error})
        return redirect("contact_detail", pk=payment.contact_id)
    messages.success(request, _("Payment undone on %(invoice)s; balance %(balance)s. Reminders are planned again.")
                     % {"invoice": invoice.external_ref, "balance": money(invoice.balance, invoice.currency)})
    return redirect("contact_detail", pk=invoice.contact_id)


@require_POST
@member
def invoice_remind(request, pk):
    invoice = scoped(request, Invoice.objects.select_related("contact__organization"), pk=pk)
    result = actions.remind_now(invoice, request.user, access.now(), transports_for(request.org))
    (messages.success if result.sent else messages.warning)(request, timeline.send_words(result))
    return redirect("contact_detail", pk=invoice.contact_id)


@require_POST
@member
def invoice_edit(request, pk):
    """Change an invoice's due date or amount; engine.update_invoice re-plans (or stops) its outreach."""
    invoice = scoped(request, Invoice, pk=pk)
    if invoice.status not in EDITABLE:
        messages.error(request, _("%(invoice)s is %(status)s: its due date and amount can no longer be changed.")
                       % {"invoice": invoice.external_ref, "status": state(invoice.get_status_display()).lower()})
        return redirect("contact_detail", pk=invoice.contact_id)
    form = InvoiceForm(request.POST, prefix=f"inv{invoice.pk}")
    if not form.is_valid():
        return contact_detail(request, invoice.contact_id, status=400, invoice_form=form, invoice_pk=invoice.pk)
    before = (invoice.due_date, invoice.amount_due)
    invoice = engine.update_invoice(invoice, access.now(), due_date=form.cleaned_data["due_date"],
                                    amount_due=form.cleaned_data["amount_due"], actor=actor(request))
    if (invoice.due_date, invoice.amount_due) == before:
        messages.info(request, _("Nothing changed on %(invoice)s.") % {"invoice": invoice.external_ref})
    elif invoice.status == "paid":
        messages.success(request, _("%(invoice)s saved: nothing is left to pay, so it is paid and its reminders "
                                    "stopped.") % {"invoice": invoice.external_ref})
    else:
        messages.success(request, _("%(invoice)s saved: due %(day)s, balance %(balance)s. Reminders re-planned.") % {
            "invoice": invoice.external_ref, "day": day(invoice.due_date),
            "balance": money(invoice.balance, invoice.currency)})
    return redirect("contact_detail", pk=invoice.contact_id)
