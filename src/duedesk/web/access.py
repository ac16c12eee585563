"""Who may see and change what: every page is scoped to the user's organization, and roles decide
what they may change. Another organization's row is a 404 (we do not confirm it exists)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache, wraps
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation

from duedesk.records.models import Membership

CHANGE_ROLES = ("owner", "staff")


def current_membership(request) -> Membership | None:
    """The user's organization is their first membership."""
    if not request.user.is_authenticated:
        return None
    cached = getattr(request, "_membership", None)
    if cached is None:
        cached = (
            Membership.objects.select_related("organization").filter(user=request.user).order_by("pk").first()
        )
        request._membership = cached
    return cached


class RequestLanguage:
    """Middleware: the language a request was served in (the browser's, then the staff member's) is the
    request's alone. The thread gets back the language it had before, so whatever runs next in it (the next
    request, a command, a test, a webhook) does not speak Spanish because a Spanish page came before it; a
    streamed response (a CSV export, written row by row after this returns) is still written in the request's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        before = translation.get_language()
        try:
            response = self.get_response(request)
            language = translation.get_language()
        finally:
            translation.activate(before)
        if response.streaming and language != before and not response.is_async:
            response.streaming_content = _speaking(language, response.streaming_content)
        return response


def _speaking(language: str, chunks: Iterable) -> Iterator:
    """The chunks, each one made with `language` active, and the thread's own language between them."""
    chunks = iter(chunks)
    while True:
        with translation.override(language):
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk


class StaffLanguage:
    """Signed-in staff see the pages in the language they chose (Membership.language, on their account page);
    without a choice, the browser's (LocaleMiddleware, before this). The membership read here is the one the
    views use (current_membership keeps it on the request): no extra query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = current_membership(request) if request.user.is_authenticated else None
        if membership is not None and membership.language:
            translation.activate(membership.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def actor(request) -> str:
    return f"staff:{request.user.get_username()}"


def member(view=None, *, roles: tuple[str, ...] | None = None, own: bool = False):
    """Login required, a membership required; viewers never POST (except to a view that changes only their
    `own` preferences, like the language of their pages); `roles` limits the whole view."""

    def decorate(fn):
        @wraps(fn)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = current_membership(request)
            if membership is None:
                raise PermissionDenied("You are not a member of any organization.")
            if roles and membership.role not in roles:
                raise PermissionDenied("Your role does not allow this page.")
            if request.method not in ("GET", "HEAD", "OPTIONS") and membership.role not in CHANGE_ROLES and not own:
                raise PermissionDenied("Viewers can look but not change anything.")
            request.membership = membership
            request.org = membership.organization
            # Every time on the staff pages is the office's own: templates show aware times in the active zone.
            with timezone.override(_zone(request.org.timezone)):
                return fn(request, *args, **kwargs)

        return wrapped

    return decorate(view) if view is not None else decorate


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def scoped(request, model_or_qs, **lookup):
    """One row of the user's organization, else 404."""
    qs = model_or_qs if hasattr(model_or_qs, "filter") and not isinstance(model_or_qs, type) else None
    if qs is None:
        qs = model_or_qs.objects.all()
    return get_object_or_404(qs, organization=request.org, **lookup)


def now():
    """The request's moment. One place, so tests can pin it to their virtual clock."""
    return timezone.now()
