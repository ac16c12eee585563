"""A small synchronous client for the parts of Twilio's REST API we use.

It never retries a create: the engine's worker owns retries and backoff, and must know when a send
may have gone through (TransportError.accepted_unknown) so a patient is never texted twice. Reads
(the lookups that reconcile an unsure send) are tried up to READ_TRIES times on a 429, a 5xx or a
dropped connection: asking twice changes nothing, and a lookup that gives up sends the step to a person.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from duedesk.channels.errors import TransportError, backoff_delay, retry_delay
from duedesk.integrations.twilio import errors as codes

__all__ = ["TwilioRest", "TransportError", "backoff_delay", "retry_delay"]

API_VERSION = "2010-04-01"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
_MAX_LIST_PAGES = 20  # reconciliation looks at recent sends only; bound the walk
READ_TRIES = 3
READ_PAUSES = (0.2, 0.5)  # seconds before the 2nd and 3rd try (a Retry-After up to 2 s is honoured)


class TwilioRest:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        base_url: str = "https://api.twilio.com",
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        sleep=time.sleep,
        lookups_url: str = "https://lookups.twilio.com",
    ) -> None:
        self.account_sid = account_sid
        self.base_url = base_url.rstrip("/")
        self.lookups_url = lookups_url.rstrip("/")
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, headers={"User-Agent": "duedesk"})
        self._timeout = timeout
        self._sleep = sleep

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> TwilioRest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- messages ------------------------------------------------------------------
    def send_message(
        self,
        *,
        to: str,
        body: str,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        data = _drop_none(
            {
                "To": to,
                "From": from_,
                "MessagingServiceSid": messaging_service_sid,
                "Body": body,
                "StatusCallback": status_callback,
            }
        )
        return self._request("POST", "/Messages.json", data=data, idempotency_key=idempotency_key)

    def fetch_message(self, sid: str) -> dict:
        return self._request("GET", f"/Messages/{sid}.json")

    def find_messages(self, *, to: str, date_sent_after: datetime | None = None) -> list[dict]:
        """Messages sent to `to` (newest first, as Twilio lists them), to reconcile an unknown send."""
        params: dict[str, str] = {"To": to, "PageSize": "100"}
        if date_sent_after is not None:
            # Twilio's "DateSent>=" filter is the query parameter named "DateSent>".
            params["DateSent>"] = _iso_utc(date_sent_after)
        return self._list("/Messages.json", "messages", params)

    def _list(self, path: str, key: str, params: dict[str, str]) -> list[dict]:
        """Every row of a list resource, following next_page_uri (bounded: recent sends only)."""
        page = self._request("GET", path, params=params)
        found = list(page.get(key) or [])
        for _ in range(_MAX_LIST_PAGES - 1):
            next_uri = page.get("next_page_uri")
            if not next_uri:
                break
            page = self._request("GET", next_uri, absolute_path=True)
            found.extend(page.get(key) or [])
        return found

    # -- calls ---------------------------------------------------------------------
    def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str | None = None,
        status_callback: str | None = None,
        machine_detection: str | None = "DetectMessageEnd",
        async_amd: bool = True,
        async_amd_status_callback: str | None = None,
        status_callback_events: tuple[str, ...] | list[str] = (
            "initiated",
            "ringing",
            "answered",
            "completed",
        ),
        record: bool = False,
        timeout: int | None = None,
        idempotency_key: str | None = None,
        twiml: str | None = None,
    ) -> dict:
        """A call that asks `url` what to say when answered, or says `twiml` (a document given inline)."""
        data: dict[str, Any] = {"To": to, "From": from_, "Record": "true" if record else "false"}
        if twiml:
            data["Twiml"] = twiml
        else:
            data.update({"Url": url, "Method": "POST"})
        if status_callback:
            data.update({"StatusCallback": status_callback, "StatusCallbackMethod": "POST",
                         "StatusCallbackEvent": list(status_callback_events)})
        if machine_detection:
            data["MachineDetection"] = machine_detection
            if async_amd:
                data["AsyncAmd"] = "true"
                if async_amd_status_callback:
                    data["AsyncAmdStatusCallback"] = async_amd_status_callback
                    data["AsyncAmdStatusCallbackMethod"] = "POST"
        if timeout is not None:
            data["Timeout"] = str(timeout)
        return self._request("POST", "/Calls.json", data=data, idempotency_key=idempotency_key)

    def update_call(
        self, call_sid: str, *, twiml: str | None = None, url: str | None = None, status: str | None = None
    ) -> dict:
        data = _drop_none({"Twiml": twiml, "Url": url, "Status": status})
        if url:
            data["Method"] = "POST"
        return self._request("POST", f"/Calls/{call_sid}.json", data=data)

    def fetch_call(self, sid: str) -> dict:
        return self._request("GET", f"/Calls/{sid}.json")

    def find_calls(
        self, *, to: str, started_after: datetime | None = None, status: str | None = None
    ) -> list[dict]:
        """Calls to `to` (newest first), to reconcile a call request we never heard back about.

        Twilio's "StartTime>=" filter is the query parameter named "StartTime>". A call that is
        still queued has no start time yet and doesn't match it: ask for status="queued" as well.
        """
        params: dict[str, str] = {"To": to, "PageSize": "100"}
        if started_after is not None:
            params["StartTime>"] = _iso_utc(started_after)
        if status:
            params["Status"] = status
        return self._list("/Calls.json", "calls", params)

    # -- lookups -------------------------------------------------------------------
    def line_type(self, number: str) -> dict:
        """Lookup v2's line type intelligence for an E.164 number: {"type": "landline" | "mobile" |
        "fixedVoip" | ..., "carrier_name": ..., "error_code": ...}; {} when Twilio has none for it.
        A read: retried like the others on a 429, a 5xx or a dropped connection."""
        body = self._request("GET", f"/v2/PhoneNumbers/{quote(number, safe='')}",
                             params={"Fields": "line_type_intelligence"}, base=self.lookups_url)
        return body.get("line_type_intelligence") or {}

    # -- transport -----------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        data: dict | None = None,
        params: dict | None = None,
        idempotency_key: str | None = None,
        absolute_path: bool = False,
        base: str | None = None,
    ) -> dict:
        if base is not None:  # another Twilio host (Lookups): the path is its own
            url = base + path
        elif absolute_path:
            url = self.base_url + path
        else:
            url = f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}{path}"
        headers = {"Accept": "application/json"}
        if idempotency_key:
            # Our fake dedupes on this; against Twilio, reconciliation (find_messages) is the net.
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        creates = method == "POST"
        if creates:
            return self._once(method, url, data, params, headers, creates)
        for attempt in range(READ_TRIES):
            try:
                return self._once(method, url, data, params, headers, creates)
            except TransportError as error:
                transient = error.http_status is None or error.http_status == 429 or error.http_status >= 500
                if attempt == READ_TRIES - 1 or error.permanent or not transient:
                    raise
                self._sleep(min(2.0, error.retry_after) if error.retry_after is not None else READ_PAUSES[attempt])
        raise AssertionError("unreachable")

    def _once(self, method: str, url: str, data, params, headers: dict, creates: bool) -> dict:
        try:
            response = self._client.request(
                method, url, data=data, params=params, headers=headers, auth=self._auth, timeout=self._timeout
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransportError(f"Could not reach Twilio ({type(exc).__name__}).") from exc
        except httpx.TransportError as exc:
            # The request left us; Twilio may have acted on it without our hearing back.
            raise TransportError(
                f"No answer from Twilio after sending the request ({type(exc).__name__}).",
                accepted_unknown=creates,
            ) from exc
        return _parse(response, accepted=creates)


def _parse(response: httpx.Response, *, accepted: bool) -> dict:
    status = response.status_code
    if 200 <= status < 300:
        try:
            return response.json()
        except ValueError as exc:
            raise TransportError(
                f"Twilio answered {status} with an unreadable body.",
                http_status=status,
                accepted_unknown=accepted,
            ) from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("code")
    code = str(code) if code is not None else None
    message = body.get("message") or (codes.describe(code) if code else None)
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if status == 429 or status >= 500:
        permanent = False
    else:
        permanent = codes.is_permanent(code, status)
    text = f"Twilio refused the request ({status}"
    text += f", error {code}): " if code else "): "
    text += message or response.reason_phrase or "no details"
    raise TransportError(text, permanent=permanent, code=code, http_status=status, retry_after=retry_after,
                         scope=codes.scope(code, status), effect=codes.channel_effect(code))


def _retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After is either seconds or an HTTP date (the seconds from `now()` until then)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def _iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop_none(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}
