"""Outlook calendars through Microsoft Graph: MSAL for the person's consent and for refreshing the token,
httpx for the few Graph calls we make (create, update and delete an event, getSchedule).

Why not msgraph-sdk: it is asynchronous throughout (kiota, azure-identity) while the worker and the views are
synchronous, it pulls in a large generated client for four endpoints, and its credential classes hide the
refresh token we must keep (encrypted) for writes made while nobody is signed in. MSAL is Microsoft's own
library for the sign-in and token refresh; the Graph calls themselves are plain JSON over HTTPS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import msal
import requests
from django.conf import settings

from duedesk.integrations.calendars.base import Busy, CalendarError, Entry, Gone, retry_after

# Read and write the person's calendars (events and free/busy); User.Read names the connected account.
SCOPES = ["User.Read", "Calendars.ReadWrite"]


def _verify():
    return settings.MICROSOFT_CA_BUNDLE or True


def _app() -> msal.ConfidentialClientApplication:
    session = requests.Session()
    session.verify = _verify()
    # requests lets REQUESTS_CA_BUNDLE from the environment win over the session's own bundle; ours must win.
    session.trust_env = not settings.MICROSOFT_CA_BUNDLE
    return msal.ConfidentialClientApplication(
        settings.MICROSOFT_CLIENT_ID, client_credential=settings.MICROSOFT_CLIENT_SECRET,
        authority=settings.MICROSOFT_AUTHORITY, http_client=session, instance_discovery=False)


def _msal_error(result: dict) -> CalendarError:
    words = result.get("error_description") or result.get("error") or "no answer"
    return CalendarError(f"Microsoft did not accept the sign-in: {words.splitlines()[0]}", auth=True)


def authorization(redirect_uri: str) -> tuple[str, dict]:
    """Where to send the person to consent, and the flow (state, PKCE) the callback needs back."""
    flow = _app().initiate_auth_code_flow(SCOPES, redirect_uri=redirect_uri, prompt="select_account")
    return flow["auth_uri"], flow


def exchange(redirect_uri: str, saved: dict, answer: dict) -> dict:
    result = _app().acquire_token_by_auth_code_flow(saved, answer, scopes=SCOPES)
    if "access_token" not in result:
        raise _msal_error(result)
    return {"access_token": result["access_token"], "refresh_token": result.get("refresh_token", "")}


class GraphCalendar:
    def __init__(self, tokens: dict, calendar_id: str = ""):
        self.access, self.refresh = tokens.get("access_token", ""), tokens.get("refresh_token", "")
        self.refreshed = False
        self.http = httpx.Client(base_url=settings.GRAPH_BASE_URL, timeout=settings.CALENDAR_TIMEOUT,
                                 verify=_verify())

    def tokens(self) -> dict | None:
        return {"access_token": self.access, "refresh_token": self.refresh} if self.refreshed else None

    def close(self) -> None:
        self.http.close()

    def _refresh(self) -> None:
        result = _app().acquire_token_by_refresh_token(self.refresh, scopes=SCOPES)
        if "access_token" not in result:
            raise _msal_error(result)
        self.access = result["access_token"]
        self.refresh = result.get("refresh_token") or self.refresh
        self.refreshed = True

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        for attempt in (1, 2):
            try:
                response = self.http.request(method, path, json=body,
                                             headers={"Authorization": f"Bearer {self.access}"})
            except httpx.HTTPError as exc:
                raise CalendarError(f"Microsoft Graph did not answer: {exc}", retry_after=30.0) from exc
            if response.status_code == 401 and attempt == 1:
                self._refresh()  # an expired access token: MSAL gets a new one with the refresh token
                continue
            break
        status = response.status_code
        if status < 300:
            return response.json() if response.content else {}
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        words = f"Microsoft Graph answered {status}: {error.get('code', '')} {error.get('message', '')}".strip()
        if status == 404:
            raise Gone(words, status=status)
        if status == 401 or status == 403 and error.get("code") in ("ErrorAccessDenied", "Authorization_RequestDenied"):
            raise CalendarError(words, status=status, auth=True)
        if status in (429, 500, 502, 503, 504):
            raise CalendarError(words, status=status, retry_after=retry_after(response.headers.get("Retry-After"))
                                or 30.0)
        raise CalendarError(words, status=status, permanent=True)

    def account(self) -> str:
        me = self._call("GET", "/me")
        return me.get("mail") or me.get("userPrincipalName") or ""

    @staticmethod
    def _body(entry: Entry) -> dict:
        body = {"subject": entry.title, "body": {"contentType": "text", "content": entry.description},
                "showAs": "busy" if entry.busy else "free", "isReminderOn": entry.busy}
        if entry.day is not None:
            body["isAllDay"] = True
            body["start"] = {"dateTime": f"{entry.day.isoformat()}T00:00:00", "timeZone": entry.timezone}
            end = entry.day + timedelta(days=1)
            body["end"] = {"dateTime": f"{end.isoformat()}T00:00:00", "timeZone": entry.timezone}
        else:
            body["isAllDay"] = False
            body["start"] = {"dateTime": _utc(entry.start), "timeZone": "UTC"}
            body["end"] = {"dateTime": _utc(entry.end), "timeZone": "UTC"}
        return body

    def create(self, entry: Entry) -> str:
        # transactionId: Graph gives back the event it already made for a repeated create.
        return self._call("POST", "/me/events", {**self._body(entry), "transactionId": entry.key})["id"]

    def update(self, event_id: str, entry: Entry) -> str:
        return self._call("PATCH", f"/me/events/{event_id}", self._body(entry))["id"]

    def delete(self, event_id: str) -> None:
        try:
            self._call("DELETE", f"/me/events/{event_id}")
        except Gone:
            pass

    def busy(self, start: datetime, end: datetime) -> list[Busy]:
        mailbox = self.account()
        answer = self._call("POST", "/me/calendar/getSchedule", {
            "schedules": [mailbox], "startTime": {"dateTime": _utc(start), "timeZone": "UTC"},
            "endTime": {"dateTime": _utc(end), "timeZone": "UTC"}, "availabilityViewInterval": 15})
        spans = []
        for schedule in answer.get("value", []):
            for item in schedule.get("scheduleItems", []):
                if item.get("status") in ("free", "workingElsewhere"):
                    continue
                spans.append(Busy(_from_graph(item["start"]), _from_graph(item["end"])))
        return spans


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _from_graph(value: dict) -> datetime:
    """Graph's {"dateTime": "2026-12-10T17:00:00.0000000", "timeZone": "UTC"} (we ask in UTC)."""
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(value["dateTime"].split(".")[0])
    zone = value.get("timeZone") or "UTC"
    return moment.replace(tzinfo=UTC if zone == "UTC" else ZoneInfo(zone))
