"""Organization settings, channel status and teammates: owners only."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from zoneinfo import available_timezones

from babel.core import get_global
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from duedesk.core import content
from duedesk.core.phones import normalize_phone
from duedesk.core.timing import SendWindow, parse_dates, parse_days
from duedesk.engine.actions.channels import resume_channel as _resume
from duedesk.records.models import Membership, Organization
from duedesk.web import access, accounts
from duedesk.web.access import member, scoped
from duedesk.web.block_forms import Fast

owner_only = member(roles=("owner",))


# The zones a US clinic picks from, first; then every other zone once (aliases such as US/Eastern or EST5EDT
# are left out, as CLDR lists them).
COMMON_ZONES = [
    ("America/New_York", gettext_lazy("Eastern time (New York)")), ("America/Chicago", gettext_lazy("Central time (Chicago)")),
    ("America/Denver", gettext_lazy("Mountain time (Denver)")),
    ("America/Phoenix", gettext_lazy("Arizona, no daylight saving (Phoenix)")),
    ("America/Los_Angeles", gettext_lazy("Pacific time (Los Angeles)")), ("America/Anchorage", gettext_lazy("Alaska (Anchorage)")),
    ("Pacific/Honolulu", gettext_lazy("Hawaii (Honolulu)")), ("America/Puerto_Rico", gettext_lazy("Puerto Rico")),
]
WEEKDAYS = [("mon", gettext_lazy("Monday")), ("tue", gettext_lazy("Tuesday")), ("wed", gettext_lazy("Wednesday")),
            ("thu", gettext_lazy("Thursday")), ("fri", gettext_lazy("Friday")), ("sat", gettext_lazy("Saturday")), ("sun", gettext_lazy("Sunday"))]
ROLES = [("owner", gettext_lazy("Owner")), ("staff", gettext_lazy("Staff")), ("viewer", gettext_lazy("Viewer"))]  # Membership.ROLES
VOICEMAIL_CALLBACK = [  # Organization.VOICEMAIL_CALLBACK
    ("assistant", gettext_lazy("Our Twilio number: the assistant answers (invoice question hotline)")),
    ("office", gettext_lazy("The office line (callback number)"))]


@cache
def _other_zones() -> tuple[str, ...]:
    """Every zone but the common ones and the aliases: read from the zone database once per process."""
    aliases = get_global("zone_aliases")
    common = {zone for zone, _ in COMMON_ZONES}
    return tuple(sorted(z for z in available_timezones() if "/" in z and z not in aliases and z not in common
                        and not z.startswith(("Etc/", "SystemV/", "US/"))))


def zone_choices(current: str = "") -> list:
    others = _other_zones()
    choices = [(_("Common in the US"), COMMON_ZONES),
               (_("Every zone"), [(z, z.replace("_", " ")) for z in others] + [("UTC", "UTC")])]
    if current and current not in dict(COMMON_ZONES) and current not in others and current != "UTC":
        choices.insert(0, (current, current.replace("_", " ")))  # a zone saved before, kept as it is
    return choices


LOOKUP_CHOICES = [
    ("on", gettext_lazy("Look up each number once, shortly before its first text or call (Twilio Lookup, billed per "
                 "number)")),
    ("off", gettext_lazy("Off: no lookups; texts to landlines fail at the carrier and calls to them are not limited")),
]


class OrganizationForm(Fast, forms.ModelForm):
    timezone = forms.ChoiceField(label=gettext_lazy("Time zone"), choices=zone_choices)
    window_days = forms.MultipleChoiceField(label=gettext_lazy("Send days"), choices=WEEKDAYS,
                                            widget=forms.CheckboxSelectMultiple,
                                            error_messages={"required": gettext_lazy("Pick at least one send day.")})
    holiday_calendar = forms.ChoiceField(label=gettext_lazy("Public holidays (no reminders)"), required=False,
                                         choices=[("US", gettext_lazy("US federal holidays")), ("", gettext_lazy("None"))])
    closed_dates = forms.CharField(label=gettext_lazy("Other closed days"), required=False,
                                   help_text=gettext_lazy("Dates like 2026-12-24, separated by commas"))
    open_dates = forms.CharField(label=gettext_lazy("Holidays you work"), required=False,
                                 help_text=gettext_lazy("Holidays on which reminders still go out, like 2026-11-11"))
    # Not sent: left as it is (a form saved before the choice existed keeps the default).
    voicemail_callback = forms.ChoiceField(
        label=gettext_lazy("Voicemails ask patients to call"), required=False, choices=VOICEMAIL_CALLBACK,
        help_text=gettext_lazy("Our Twilio number, where the assistant answers their questions, or the office line"))
    line_type_lookups = forms.ChoiceField(
        label=gettext_lazy("Landline check"), required=False, choices=LOOKUP_CHOICES,
        help_text=gettext_lazy("A landline gets no texts and at most 3 automated calls in 30 days without the owner's "
                        "consent"))

    class Meta:
        model = Organization
        fields = ["name", "timezone", "window_start", "window_end", "window_days", "callback_number",
                  "voicemail_name", "voicemail_business_name", "voicemail_callback", "billing_email",
                  "holiday_calendar", "line_type_lookups"]
        widgets = {"window_start": forms.TimeInput(attrs={"type": "time"}),
                   "window_end": forms.TimeInput(attrs={"type": "time"})}
        labels = {"name": gettext_lazy("Name"), "window_start": gettext_lazy("Send window opens"),
                  "window_end": gettext_lazy("Send window closes"), "callback_number": gettext_lazy("Callback number"),
                  "voicemail_name": gettext_lazy("Name said in voicemails"),
                  "voicemail_business_name": gettext_lazy("Business name said in voicemails"),
                  "billing_email": gettext_lazy("Billing email")}
        help_texts = {"voicemail_name": gettext_lazy("A person's name said in voicemails"),
                      "voicemail_business_name": gettext_lazy(
                          "The business name said in voicemails (blank: the organization's name); it must reveal no "
                          "debt and no specialty")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("closed_dates", "open_dates"):
            self.initial[name] = ", ".join(getattr(self.instance, name) or ())
        self.fields["timezone"].choices = zone_choices(self.instance.timezone)
        try:
            saved = parse_days(self.instance.window_days or "mon-sat")
        except ValueError:
            saved = frozenset(range(6))
        self.initial["window_days"] = [WEEKDAYS[d][0] for d in sorted(saved)]
        self.initial["line_type_lookups"] = "on" if self.instance.line_type_lookups else "off"

    def clean_window_days(self):
        # Kept as the text the workflow files and the API use: "mon,tue,wed".
        return ",".join(key for key, _ in WEEKDAYS if key in self.cleaned_data["window_days"])

    def _dates(self, name: str) -> list[str]:
        parts = [p for p in re.split(r"[,\s]+", self.cleaned_data.get(name) or "") if p]
        try:
            return sorted(d.isoformat() for d in parse_dates(parts, name))
        except ValueError:
            bad = next(p for p in parts if not _is_date(p))
            raise forms.ValidationError(_("%(field)s: '%(bad)s' is not a date like 2026-12-24.")
                                        % {"field": self.fields[name].label, "bad": bad}) from None

    def clean_voicemail_callback(self):
        return self.cleaned_data.get("voicemail_callback") or self.instance.voicemail_callback or "assistant"

    def clean_line_type_lookups(self):
        # Not sent (a form saved before the choice existed): left as it is.
        chosen = self.cleaned_data.get("line_type_lookups")
        return chosen == "on" if chosen else self.instance.line_type_lookups

    def clean_closed_dates(self):
        return self._dates("closed_dates")

    def clean_open_dates(self):
        return self._dates("open_dates")

    def save(self, commit=True):
        self.instance.closed_dates = self.cleaned_data["closed_dates"]
        self.instance.open_dates = self.cleaned_data["open_dates"]
        return super().save(commit)

    def clean_callback_number(self):
        raw = self.cleaned_data.get("callback_number", "")
        if not raw:
            return ""
        try:
            return normalize_phone(raw)
        except ValueError:
            raise forms.ValidationError(_("Callback number: '%(phone)s' is not a valid phone number.")
                                        % {"phone": raw}) from None

    def clean(self):
        data = super().clean()
        try:
            if data.get("window_start") and data.get("window_end"):
                SendWindow.from_config(data["window_start"].strftime("%H:%M"), data["window_end"].strftime("%H:%M"),
                                       data.get("window_days", ""))
        except ValueError as error:
            self.add_error("window_days", _("Send window: %(problem)s") % {"problem": error})
        # A voicemail gives a person's name and a business name revealing no debt and no specialty.
        business = (data.get("voicemail_business_name") or "").strip() or data.get("name") or ""
        for problem in content.voicemail_problems(business, data.get("voicemail_name") or ""):
            field = "voicemail_name" if "person's name" in problem else "voicemail_business_name"
            self.add_error(field, _("%(problem)s (rule %(rule)s)") % {"problem": problem, "rule": content.RULE_VOICEMAIL})
        return data


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class InviteForm(Fast, forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLES, initial="staff")


def channel_status(org: Organization) -> list[dict]:
    # Only variables whose names could hold a Twilio token are in TWILIO_AUTH_TOKENS (settings.py).
    twilio = bool(org.twilio_account_sid and settings.TWILIO_AUTH_TOKENS.get(org.twilio_auth_token_env.strip()))
    return [
        {"name": _("Texts and calls (Twilio)"), "state": _("Configured") if twilio else _("Simulated"),
         "ok": twilio, "detail": (_("Account %(sid)s…, token from $%(variable)s") % {
             "sid": org.twilio_account_sid[:6], "variable": org.twilio_auth_token_env}
             if twilio else _("Set the account SID and the token's environment variable"))},
        {"name": _("Email"), "state": _("Configured") if org.email_from else _("Default sender"),
         "ok": bool(org.email_from), "detail": org.email_from or _("Sent from the server's default address")},
    ]


CHANNEL_NAMES = {"sms": gettext_lazy("Texts"), "call": gettext_lazy("Calls"), "email": gettext_lazy("Email")}


def paused_channels(org: Organization) -> list[dict]:
    """Channels stopped because the provider refused our account or sender, with what it said."""
    return [{"channel": channel, "name": CHANNEL_NAMES.get(channel, channel), "at": why.get("at", "")[:16].replace("T", " "),
             "code": why.get("code", ""), "error": why.get("error", "")}
            for channel, why in sorted(org.paused_channels.items())]


def _page(request, form=None, invite_form=None, status=200):
    members = Membership.objects.filter(organization=request.org).select_related("user").order_by("user__username")
    return render(request, "web/settings/settings.html", {
        "section": "settings", "form": form or OrganizationForm(instance=request.org),
        "invite_form": invite_form or InviteForm(), "members": members, "roles": ROLES,
        "channels": channel_status(request.org), "paused": paused_channels(request.org),
    }, status=status)


@owner_only
def settings_page(request):
    if request.method == "POST":
        form = OrganizationForm(request.POST, instance=request.org)
        if not form.is_valid():
            return _page(request, form=form, status=400)
        form.save()
        messages.success(request, _("Settings saved."))
        return redirect("settings")
    return _page(request)


@require_POST
@owner_only
def invite(request):
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _page(request, invite_form=form, status=400)
    membership = accounts.invite(request, request.org, form.cleaned_data["email"], form.cleaned_data["role"])
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": membership.user.email})
    return redirect("settings")


@require_POST
@owner_only
def change_role(request, pk):
    membership = scoped(request, Membership, pk=pk)
    role = request.POST.get("role")
    if role not in dict(Membership.ROLES):
        messages.error(request, _("Pick a role."))
    elif membership.user_id == request.user.pk and role != "owner":
        messages.error(request, _("You cannot remove your own owner role; ask another owner."))
    else:
        membership.role = role
        membership.save(update_fields=["role"])
        messages.success(request, _("%(person)s is now %(role)s.") % {
            "person": membership.user.get_username(), "role": dict(ROLES)[role]})
    return redirect("settings")


@require_POST
@member(roles=("owner", "staff"))
def resume_channel(request, channel):
    """The cause is fixed (credentials, sender number): the channel sends again and its held reminders are due."""
    if channel not in CHANNEL_NAMES:
        raise Http404(_("No such channel."))
    if _resume(request.org, channel, access.now(), actor=request.user.get_username()):
        messages.success(request, _("%(channel)s resumed: held reminders are due again.") % {
            "channel": CHANNEL_NAMES[channel]})
    return redirect("settings" if request.membership.role == "owner" else "overview")
