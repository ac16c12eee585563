"""The feed itself (its address is the secret, so no login) and the page where a staff member makes,
copies or revokes theirs."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from duedesk.integrations.calendars import feed
from duedesk.integrations.calendars.models import CalendarFeed, digest
from duedesk.web.access import member, now


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
    return render(request, "calendars/mine.html", {"section": "calendar", "feed": current,
                                                    "new_url": request.session.pop("calendar_url", None)})


@member
@require_POST
def calendar_new(request):
    _, token = CalendarFeed.create(request.org, request.user, now())
    # Shown once, on the next page: only its SHA-256 is kept.
    request.session["calendar_url"] = request.build_absolute_uri(f"/calendar/{token}.ics")
    messages.success(request, "Your calendar address is ready. Any earlier one no longer works.")
    return redirect("calendar_mine")


@member
@require_POST
def calendar_revoke(request):
    CalendarFeed.objects.filter(organization=request.org, user=request.user, revoked_at=None).update(revoked_at=now())
    messages.success(request, "Your calendar address no longer works.")
    return redirect("calendar_mine")
