"""Settings → Twilio: the account, the token's environment variable (never the token), senders, caller ID and
callback number; the webhook addresses to paste into Twilio's console; a test text and a test call; what is missing,
in words.
Owners only."""

from __future__ import annotations

import functools

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from duedesk.channels.errors import TransportError
from duedesk.core.phones import normalize_phone
from duedesk.integrations.twilio import setup
from duedesk.records.models import Organization
from duedesk.web.access import member

OWNERS = ("owner",)


class TwilioForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["twilio_account_sid", "twilio_auth_token_env", "sms_from", "messaging_service_sid",
                  "voice_caller_id", "callback_number", "voicemail_name", "twilio_baa_signed"]
        labels = {"twilio_account_sid": gettext_lazy("Account SID"),
                  "twilio_auth_token_env": gettext_lazy("Auth token's environment variable"),
                  "sms_from": gettext_lazy("Sender number"),
                  "messaging_service_sid": gettext_lazy("Messaging Service SID (instead of a number)"),
                  "voice_caller_id": gettext_lazy("Caller ID for calls"),
                  "callback_number": gettext_lazy("Callback number (the office line)"),
                  "voicemail_name": gettext_lazy("Name said in voicemails"),
                  "twilio_baa_signed": gettext_lazy("A business associate agreement with Twilio is signed")}
        help_texts = {
            "twilio_account_sid": gettext_lazy("Starts with AC; in Twilio's console under Account info."),
            "twilio_auth_token_env": gettext_lazy("The name of the server's environment variable that holds the auth token "
                                           "(its name contains TWILIO). The token itself is never stored here."),
            "voice_caller_id": gettext_lazy("A Twilio number or a verified caller ID; blank: the sender number."),
            "twilio_baa_signed": gettext_lazy("Without it, calls say only the limited-content message (no balance)."),
            "voicemail_name": gettext_lazy("A person's name said in voicemails"),
        }

    def clean_twilio_account_sid(self):
        sid = self.cleaned_data["twilio_account_sid"].strip()
        if sid and not (sid.startswith("AC") and len(sid) == 34 and sid[2:].isalnum()):
            raise forms.ValidationError(_("An account SID is AC followed by 32 letters and digits."))
        return sid

    def clean_messaging_service_sid(self):
        sid = self.cleaned_data["messaging_service_sid"].strip()
        if sid and not (sid.startswith("MG") and len(sid) == 34 and sid[2:].isalnum()):
            raise forms.ValidationError(_("A Messaging Service SID is MG followed by 32 letters and digits."))
        return sid

    def clean_twilio_auth_token_env(self):
        from django.conf import settings

        name = self.cleaned_data["twilio_auth_token_env"].strip()
        if name and not settings.TWILIO_TOKEN_ENV_NAME.match(name):
            raise forms.ValidationError(_("Name an environment variable in capitals whose name contains TWILIO, "
                                          "like DUEDESK_TWILIO_AUTH_TOKEN."))
        return name

    def _phone(self, name):
        value = self.cleaned_data[name].strip()
        if not value:
            return ""
        try:
            return normalize_phone(value)
        except ValueError:
            raise forms.ValidationError(_("%(value)s is not a phone number.") % {"value": value}) from None

    def clean_sms_from(self):
        return self._phone("sms_from")

    def clean_voice_caller_id(self):
        return self._phone("voice_caller_id")

    def clean_callback_number(self):
        return self._phone("callback_number")


class TestTextForm(forms.Form):
    to = forms.CharField(label=gettext_lazy("Your mobile number"), max_length=40)

    def clean_to(self):
        try:
            return normalize_phone(self.cleaned_data["to"])
        except ValueError:
            raise forms.ValidationError(_("That is not a phone number.")) from None


def _page(request, form, test_form, status=200):
    return render(request, "web/settings/twilio.html", {
        "section": "settings", "form": form, "test_form": test_form, "webhooks": setup.webhook_urls(),
        "missing": setup.missing(request.org)}, status=status)


@member(roles=OWNERS)
def twilio_setup(request):
    org = Organization.objects.get(pk=request.org.pk)
    if request.method == "POST":
        form = TwilioForm(request.POST, instance=org)
        if form.is_valid():
            form.save()
            messages.success(request, _("Twilio settings saved."))
            return redirect("settings_twilio")
        return _page(request, form, TestTextForm(), status=400)
    return _page(request, TwilioForm(instance=org), TestTextForm())


def _to_own_phone(test):
    """A test to the number typed on the page (the owner's own phone): the page again, saying why, when it is not
    a phone number; else back to the page, where the test has said its result in words."""
    @require_POST
    @member(roles=OWNERS)
    @functools.wraps(test)
    def view(request):
        form = TestTextForm(request.POST)
        if not form.is_valid():
            return _page(request, TwilioForm(instance=request.org), form, status=400)
        test(request, form.cleaned_data["to"])
        return redirect("settings_twilio")
    return view


@_to_own_phone
def twilio_test_text(request, to):
    try:
        sid = setup.send_test_text(request.org, to)
    except (ValueError, TransportError) as error:
        messages.error(request, _("The test text was not sent: %(problem)s") % {"problem": error})
    else:
        messages.success(request, _("Test text sent to %(to)s (Twilio %(sid)s).") % {"to": to, "sid": sid})


@_to_own_phone
def twilio_test_call(request, to):
    """A short call that names the organization and says it is a test; simulated while Twilio is not set up."""
    try:
        sid, simulated = setup.place_test_call(request.org, to)
    except TransportError as error:
        messages.error(request, _("The test call was not placed: %(problem)s") % {"problem": error})
        return
    if simulated:
        with translation.override("en"):  # which is which, told by its English
            english = setup.missing(request.org)
        missing = "; ".join(p for p, said in zip(setup.missing(request.org), english, strict=True)
                            if not said.startswith(("no sender", "no callback")))
        messages.warning(request, _("Test call to %(to)s placed on the simulated line: no phone rings until Twilio is "
                                    "set up for calls (%(missing)s).") % {
            "to": to, "missing": missing or _("see what is missing above")})
    else:
        messages.success(request, _("Test call placed to %(to)s (Twilio %(sid)s): your phone should ring now.")
                         % {"to": to, "sid": sid})
