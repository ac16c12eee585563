"""Settings → Webhooks (owners only): endpoints, the types each receives, its secret, its delivery log,
a test event, replay, switch on and off."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST

from duedesk.integrations.webhooks import catalogue, outbox
from duedesk.integrations.webhooks.models import Delivery, Endpoint
from duedesk.web.access import member, now, scoped

owner_only = member(roles=("owner",))


class EndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Event types"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(name, format_lazy("{} — {}", name, gettext_lazy(words))) for name, (_kind, words) in catalogue.TYPES.items()],
        help_text=gettext_lazy("None ticked: every type."))

    class Meta:
        model = Endpoint
        fields = ["url", "description", "kind", "event_types", "include_transcripts"]
        labels = {"url": gettext_lazy("Endpoint URL"), "description": gettext_lazy("Description"),
                  "kind": gettext_lazy("Kind"),
                  "include_transcripts": gettext_lazy("Include call transcripts and handoff summaries")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, pgettext("state", label)) for kind, label in Endpoint.KINDS]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1") \
                and not url.startswith("http://localhost"):
            raise forms.ValidationError(_("Endpoint URL: use https:// (plain http only for a receiver on this "
                                          "machine)."))
        return url


@owner_only
def endpoints(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = form.save(commit=False)
        endpoint.organization, endpoint.created_at = request.org, now()
        outbox.start_cursor(endpoint)
        endpoint.save()
        messages.success(request, _("Endpoint added. Give its signing secret to the receiver."))
        return redirect("webhook_detail", pk=endpoint.pk)
    rows = Endpoint.objects.filter(organization=request.org).order_by("pk")
    return render(request, "webhooks/endpoints.html", {"section": "settings", "endpoints": rows, "form": form},
                  status=400 if request.method == "POST" else 200)


@owner_only
def endpoint_detail(request, pk):
    endpoint = scoped(request, Endpoint, pk=pk)
    deliveries = endpoint.deliveries.order_by("-pk").prefetch_related("log")[:50]
    return render(request, "webhooks/detail.html", {"section": "settings", "endpoint": endpoint,
                                                     "deliveries": deliveries})


@owner_only
@require_POST
def endpoint_toggle(request, pk):
    endpoint = scoped(request, Endpoint, pk=pk)
    endpoint.enabled = not endpoint.enabled
    endpoint.disabled_reason = "" if endpoint.enabled else "switched off by a person"
    endpoint.save(update_fields=["enabled", "disabled_reason"])
    return redirect("webhook_detail", pk=pk)


@owner_only
@require_POST
def endpoint_test(request, pk):
    endpoint = scoped(request, Endpoint, pk=pk)
    outbox.test_event(endpoint, now())
    messages.success(request, _("A test event is queued; the worker sends it within seconds."))
    return redirect("webhook_detail", pk=pk)


@owner_only
@require_POST
def delivery_replay(request, pk):
    delivery = get_object_or_404(Delivery, pk=pk, endpoint__organization=request.org)
    outbox.replay(delivery, now())
    messages.success(request, _("%(message)s will be delivered once more, with the same id.")
                     % {"message": delivery.message_id})
    return redirect("webhook_detail", pk=delivery.endpoint_id)
