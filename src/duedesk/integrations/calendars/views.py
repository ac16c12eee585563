"""The feed itself (its address is the secret, so no login) and the page where a staff member makes,
copies or revokes theirs."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from duedesk.integrations.calendars import feed, outbox
from duedesk.integrations.calendars.base import CalendarError
from duedesk.integrations.calendars.models import CalendarFeed, Connection, digest
from duedesk.web.access import CHANGE_ROLES, member, now


def ics(request, token: str):
    row = (CalendarFeed.objects.select_related("organization")
           .filter(hashed_token=digest(token), revoked_at=None).first())
    if row is None:
        raise Http404("no such calendar")
    CalendarFeed.objects.filter(pk=row.pk).update(last_read_at=now())
    response = HttpResponse(feed.calendar_for(row.organization, now()), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


@member
def my_calendar(request):
    current = CalendarFeed.objects.filter(organization=request.org, user=request.user, revoked_at=None).first()
    connections = {c.provider: c for c in Connection.objects.filter(organization=request.org, user=request.user)
                   .exclude(status="disconnected")}
    return render(request, "calendars/mine.html", {
        "section": "calendar", "feed": current, "new_url": request.session.pop("calendar_url", None),
        "providers": [(key, name, connections.get(key)) for key, name in PROVIDERS.items()]})


@member
@require_POST
def calendar_new(request):
    _feed, token = CalendarFeed.create(request.org, request.user, now())
    # Shown once, on the next page: only its SHA-256 is kept.
    request.session["calendar_url"] = request.build_absolute_uri(f"/calendar/{token}.ics")
    messages.success(request, _("Your calendar address is ready. Any earlier one no longer works."))
    return redirect("calendar_mine")


@member
@require_POST
def calendar_revoke(request):
    CalendarFeed.objects.filter(organization=request.org, user=request.user, revoked_at=None).update(revoked_at=now())
    messages.success(request, _("Your calendar address no longer works."))
    return redirect("calendar_mine")


# ---------------------------------------------------------------- Google Calendar and Outlook by OAuth

PROVIDERS = {"google": "Google Calendar", "microsoft": "Outlook"}


def _provider_module(provider: str):
    if provider == "google":
        from duedesk.integrations.calendars import google as module
    elif provider == "microsoft":
        from duedesk.integrations.calendars import graph as module
    else:
        raise Http404("no such calendar provider")
    return module


def _redirect_uri(provider: str) -> str:
    # Registered with Google / Azure as is: the public address, not whatever host the request came by.
    return f"{settings.PUBLIC_URL}/calendar/connected/{provider}/"


@member(roles=CHANGE_ROLES)  # a viewer writes nothing, on our calendars or theirs
def calendar_connect(request, provider: str):
    module = _provider_module(provider)
    url, saved = module.authorization(_redirect_uri(provider))
    request.session[f"calendar_oauth_{provider}"] = saved
    return redirect(url)


@member(roles=CHANGE_ROLES)
def calendar_connected(request, provider: str):
    """The provider sends the person back here with a code (or an error) after they consented."""
    module = _provider_module(provider)
    saved = request.session.pop(f"calendar_oauth_{provider}", None)
    if saved is None or request.GET.get("state") != saved.get("state") or "code" not in request.GET:
        why = request.GET.get("error_description") or request.GET.get("error") or _("start again")
        messages.error(request, _("%(calendar)s was not connected: %(problem)s.") % {
            "calendar": PROVIDERS[provider], "problem": why})
        return redirect("calendar_mine")
    try:
        if provider == "google":
            tokens = module.exchange(_redirect_uri(provider), saved, request.GET["code"])
        else:
            tokens = module.exchange(_redirect_uri(provider), saved, request.GET.dict())
    except CalendarError as error:
        messages.error(request, str(error))
        return redirect("calendar_mine")
    account = ""
    if provider == "microsoft":
        client = module.GraphCalendar(tokens)
        try:
            account = client.account()
        except CalendarError:
            account = ""
        finally:
            client.close()
    conn, created = Connection.objects.update_or_create(
        organization=request.org, user=request.user, provider=provider,
        defaults={"tokens": tokens, "status": "active", "last_error": "", "account": account,
                  "calendar_id": "primary" if provider == "google" else ""},
        create_defaults={"tokens": tokens, "status": "active", "account": account, "created_at": now(),
                         "calendar_id": "primary" if provider == "google" else ""})
    if conn.promises:
        outbox.queue_all_promises(conn, now())
    messages.success(request, _("%(calendar)s is connected. Promises to pay appear there as all-day events within a "
                                "minute.") % {"calendar": PROVIDERS[provider]})
    return redirect("calendar_mine")


class RolesForm(forms.Form):
    promises = forms.BooleanField(required=False, label=gettext_lazy("Write promises to pay here (the billing calendar)"))
    callbacks = forms.BooleanField(required=False, label=gettext_lazy("Book patients' callback requests here"))


@member
@require_POST
def calendar_roles(request, provider: str):
    conn = get_object_or_404(Connection, organization=request.org, user=request.user, provider=provider)
    form = RolesForm(request.POST)
    form.is_valid()
    Connection.objects.filter(pk=conn.pk).update(**form.cleaned_data)
    if form.cleaned_data["promises"] and not conn.promises:
        outbox.queue_all_promises(conn, now())
    messages.success(request, _("Saved."))
    return redirect("calendar_mine")


@member
@require_POST
def calendar_disconnect(request, provider: str):
    conn = get_object_or_404(Connection, organization=request.org, user=request.user, provider=provider)
    # The tokens are forgotten; events already written stay on the person's calendar.
    Connection.objects.filter(pk=conn.pk).update(status="disconnected", tokens={}, promises=False, callbacks=False)
    messages.success(request, _("%(calendar)s is disconnected.") % {"calendar": PROVIDERS[provider]})
    return redirect("calendar_mine")
