"""Google Calendar through Google's own libraries: google-auth-oauthlib for the person's consent,
google-api-python-client (with google-auth refreshing the access token when Google answers 401) for the
Calendar API. Addresses come from settings, so the local fake can stand in for Google."""

from __future__ import annotations

from datetime import datetime, timedelta

import google_auth_httplib2
import httplib2
from django.conf import settings
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from duedesk.integrations.calendars.base import Busy, CalendarError, Entry, Gone, retry_after

# Events on the calendars the person chooses, and their free/busy times: nothing else of their account.
SCOPES = ["https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.freebusy"]


def _client_config(redirect_uri: str) -> dict:
    return {"web": {"client_id": settings.GOOGLE_CLIENT_ID, "client_secret": settings.GOOGLE_CLIENT_SECRET,
                    "auth_uri": settings.GOOGLE_OAUTH_AUTH_URL, "token_uri": settings.GOOGLE_OAUTH_TOKEN_URL,
                    "redirect_uris": [redirect_uri]}}


def authorization(redirect_uri: str) -> tuple[str, dict]:
    """Where to send the person to consent, and what the callback needs back (state, PKCE verifier)."""
    flow = Flow.from_client_config(_client_config(redirect_uri), scopes=SCOPES, redirect_uri=redirect_uri)
    # offline + consent: Google gives a refresh token, so the worker can write while nobody is signed in.
    url, state = flow.authorization_url(access_type="offline", prompt="consent", include_granted_scopes="true")
    return url, {"state": state, "verifier": flow.code_verifier}


def exchange(redirect_uri: str, saved: dict, code: str) -> dict:
    flow = Flow.from_client_config(_client_config(redirect_uri), scopes=SCOPES, redirect_uri=redirect_uri,
                                   state=saved["state"], code_verifier=saved["verifier"])
    try:
        flow.fetch_token(code=code)
    except Exception as exc:  # oauthlib's errors carry Google's words
        raise CalendarError(f"Google did not accept the sign-in: {exc}", auth=True) from exc
    creds = flow.credentials
    return {"access_token": creds.token, "refresh_token": creds.refresh_token}


class GoogleCalendar:
    def __init__(self, tokens: dict, calendar_id: str = "primary"):
        # No expiry given: google-auth refreshes when Google says the token expired (401), not by our clock.
        self.creds = Credentials(token=tokens.get("access_token"), refresh_token=tokens.get("refresh_token"),
                                 token_uri=settings.GOOGLE_OAUTH_TOKEN_URL, client_id=settings.GOOGLE_CLIENT_ID,
                                 client_secret=settings.GOOGLE_CLIENT_SECRET, scopes=SCOPES)
        self.start_token = tokens.get("access_token")
        http = google_auth_httplib2.AuthorizedHttp(self.creds, http=httplib2.Http(timeout=settings.CALENDAR_TIMEOUT))
        self.api = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False,
                         client_options={"api_endpoint": settings.GOOGLE_CALENDAR_BASE_URL})
        self.calendar_id = calendar_id

    def _events(self):
        """The Calendar API's events resource (on Google's side; nothing of ours is written here)."""
        return self.api.events()

    def tokens(self) -> dict | None:
        """The refreshed tokens, when google-auth refreshed them (to keep); None when unchanged."""
        if self.creds.token == self.start_token:
            return None
        return {"access_token": self.creds.token, "refresh_token": self.creds.refresh_token}

    def _run(self, request):
        try:
            return request.execute(num_retries=0)
        except HttpError as exc:
            status = exc.resp.status
            words = f"Google Calendar answered {status}: {exc.reason}"
            if status in (404, 410):
                raise Gone(words, status=status) from exc
            if status == 401:
                raise CalendarError(words, status=status, auth=True) from exc
            if status in (429, 500, 502, 503, 504) or (status == 403 and "rateLimit" in str(exc.content)):
                raise CalendarError(words, status=status,
                                    retry_after=retry_after(exc.resp.get("retry-after")) or 30.0) from exc
            raise CalendarError(words, status=status, permanent=status != 409) from exc
        except RefreshError as exc:
            raise CalendarError(f"Google refused the saved sign-in ({exc}); connect the calendar again",
                                auth=True) from exc
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise CalendarError(f"Google Calendar did not answer: {exc}", retry_after=30.0) from exc

    @staticmethod
    def _body(entry: Entry) -> dict:
        body = {"summary": entry.title, "description": entry.description,
                "transparency": "opaque" if entry.busy else "transparent",
                "extendedProperties": {"private": {"duedesk": entry.key}}}
        if entry.day is not None:
            body["start"] = {"date": entry.day.isoformat()}
            body["end"] = {"date": (entry.day + timedelta(days=1)).isoformat()}
        else:
            body["start"] = {"dateTime": entry.start.isoformat(), "timeZone": entry.timezone}
            body["end"] = {"dateTime": entry.end.isoformat(), "timeZone": entry.timezone}
        return body

    def create(self, entry: Entry) -> str:
        """Our key is the event's id, so a repeat of a create whose answer was lost finds the first (409)."""
        body = {"id": entry.key, **self._body(entry)}
        try:
            return self._run(self._events().insert(calendarId=self.calendar_id, body=body))["id"]
        except CalendarError as error:
            if error.status != 409:
                raise
        return self.update(entry.key, entry)

    def update(self, event_id: str, entry: Entry) -> str:
        return self._run(self._events().patch(calendarId=self.calendar_id, eventId=event_id,
                                                 body=self._body(entry)))["id"]

    def delete(self, event_id: str) -> None:
        try:
            self._run(self._events().delete(calendarId=self.calendar_id, eventId=event_id))
        except Gone:
            pass  # already gone: what we wanted

    def busy(self, start: datetime, end: datetime) -> list[Busy]:
        answer = self._run(self.api.freebusy().query(body={
            "timeMin": start.isoformat(), "timeMax": end.isoformat(), "items": [{"id": self.calendar_id}]}))
        calendar = answer.get("calendars", {}).get(self.calendar_id, {})
        if calendar.get("errors"):
            raise CalendarError(f"Google Calendar could not read free/busy: {calendar['errors']}", retry_after=300)
        return [Busy(_when(b["start"]), _when(b["end"])) for b in calendar.get("busy", [])]


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
