"""HubSpot's REST API through the official `hubspot-api-client`, in the terms the shared sync uses.

The library's base URL is settings.CRM_BASE_URLS["hubspot"] (DUEDESK_HUBSPOT_BASE_URL), so tests and the
benchmark run it over HTTP against the local fake. The library never retries on its own here
(urllib3 retries are off): a timeout after HubSpot accepted a write must be looked up, not repeated.
Every request first takes a slot of the connection's per-10-second budget (ratelimit.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import urllib3
from hubspot import HubSpot
from hubspot.crm.objects import (
    AssociationSpec,
    Filter,
    FilterGroup,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate

from duedesk.integrations.crm.base import CrmError, Page, Record, Touch
from duedesk.integrations.crm.ratelimit import RateLimit
from duedesk.integrations.hubspot import mapping

PAGE = 100
SEARCH_WINDOW = 10_000  # HubSpot's search returns at most this many results for one query


class HubSpotClient:
    provider = "hubspot"

    def __init__(self, token: str, base_url: str, timeout: float = 15.0, limit: RateLimit | None = None):
        if not token:
            raise CrmError("no HubSpot token: the environment variable the connection names is not set", auth=True)
        self.timeout = timeout
        self.limit = limit
        api = HubSpot(access_token=token, host=base_url.rstrip("/"), retry=urllib3.Retry(total=0, read=False,
                                                                                         redirect=0))
        # Each property of the library's discovery builds a new API client (and connection pool): keep one.
        self.objects = api.crm.objects.basic_api
        self.search = api.crm.objects.search_api
        self.properties = api.crm.properties.core_api
        self.groups = api.crm.properties.groups_api

    # ------------------------------------------------------------------ one request, errors in words

    def _call(self, fn, *args, **kwargs):
        if self.limit is not None:
            self.limit.acquire()
        try:
            return fn(*args, _request_timeout=self.timeout, **kwargs)
        except urllib3.exceptions.HTTPError as error:
            raise CrmError(f"HubSpot did not answer in time or the connection dropped ({type(error).__name__}); "
                           "the write is looked up before it is tried again", answer_lost=True) from None
        except Exception as error:  # the library's ApiException, one class per API package
            status = getattr(error, "status", None)
            if status is None:
                raise
            raise translate(status, getattr(error, "body", None), getattr(error, "headers", None)) from None

    def _raw(self, fn, *args, **kwargs) -> dict:
        """The answer's JSON, unparsed by the library (pages of contacts)."""
        response = self._call(fn, *args, _preload_content=False, **kwargs)
        try:
            return json.loads(response.data or b"{}")
        except urllib3.exceptions.HTTPError as error:
            raise CrmError(f"HubSpot's answer was cut off ({type(error).__name__})", answer_lost=True) from None
        except ValueError:
            raise CrmError("HubSpot answered with something that is not JSON", status=response.status) from None
        finally:
            response.release_conn()

    # ------------------------------------------------------------------ connect

    def check(self) -> None:
        self._call(self.properties.get_all, "contacts")

    def prepare(self) -> list[str]:
        """Create the duedesk property group and properties (contacts, and our event id on activities)."""
        made = []
        targets = [("contacts", mapping.CONTACT_PROPERTIES)] + [
            (obj, [{"name": mapping.EVENT_ID, "label": "duedesk event id", "type": "string", "fieldType": "text"}])
            for obj in mapping.TO_CONTACT]
        for object_type, props in targets:
            self._exists_ok(self.groups.create, object_type,
                            PropertyGroupCreate(name=mapping.GROUP, label="duedesk", display_order=-1))
            for p in props:
                options = [OptionInput(**o) for o in p.get("options", [])] or None
                body = PropertyCreate(name=p["name"], label=p["label"], type=p["type"], field_type=p["fieldType"],
                                      group_name=mapping.GROUP, options=options)
                if self._exists_ok(self.properties.create, object_type, body):
                    made.append(f"{object_type}.{p['name']}")
        return made

    def _exists_ok(self, fn, *args) -> bool:
        try:
            self._call(fn, *args)
            return True
        except CrmError as error:
            if error.status == 409:  # made on an earlier connect
                return False
            raise

    # ------------------------------------------------------------------ pull

    def full_page(self, after: str | None, properties: list[str]) -> Page:
        kwargs = {"limit": PAGE, "properties": properties, "archived": False}
        if after:
            kwargs["after"] = after
        # The page's JSON as it came: the library's models parse two timestamps per contact with dateutil,
        # which cost more than writing the contact (bench/crm_sync.py). Errors still raise as usual.
        answer = self._raw(self.objects.get_page, "contacts", **kwargs)
        nxt = ((answer.get("paging") or {}).get("next") or {}).get("after")
        return Page([_raw_record(r) for r in answer.get("results") or []], nxt)

    def latest_modified(self) -> str | None:
        request = PublicObjectSearchRequest(
            sorts=[{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}], limit=1,
            properties=["lastmodifieddate"])
        answer = self._call(self.search.do_search, "contacts", request)
        return _record(answer.results[0]).modified if answer.results else None

    def changed_since(self, cursor: str, properties: list[str]) -> Iterator[Page]:
        """Contacts modified at or after `cursor`, oldest first (CRM search on lastmodifieddate)."""
        after = None
        while True:
            filters = [Filter(property_name="lastmodifieddate", operator="GTE", value=cursor)] if cursor else []
            request = PublicObjectSearchRequest(
                filter_groups=[FilterGroup(filters=filters)] if filters else None,
                sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                properties=properties, limit=PAGE, after=after)
            answer = self._raw(self.search.do_search, "contacts", request)
            page = Page([_raw_record(r) for r in answer.get("results") or []],
                        ((answer.get("paging") or {}).get("next") or {}).get("after"))
            yield page
            if page.after is None:
                return
            if int(page.after) >= SEARCH_WINDOW:
                # Search stops at 10,000 results: start a new query from the newest change seen.
                newest = max((r.modified for r in page.records), default=cursor)
                if newest == cursor:
                    raise CrmError("more than 10,000 HubSpot contacts share one modification time; "
                                   "run a full sync", permanent=True)
                cursor, after = newest, None
            else:
                after = page.after

    # ------------------------------------------------------------------ push

    def find_activity(self, touch: Touch, crm_id: str = "") -> str | None:
        object_type = mapping.ACTIVITY_OBJECTS[touch.kind]
        request = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name=mapping.EVENT_ID, operator="EQ",
                                                       value=touch.key)])],
            properties=[mapping.EVENT_ID], limit=1)
        answer = self._call(self.search.do_search, object_type, request)
        return answer.results[0].id if answer.results else None

    def create_activity(self, touch: Touch, crm_id: str) -> str:
        object_type = mapping.ACTIVITY_OBJECTS[touch.kind]
        body = SimplePublicObjectInputForCreate(
            properties=activity_properties(touch),
            associations=[PublicAssociationsForObject(
                to=PublicObjectId(id=crm_id),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED",
                                       association_type_id=mapping.TO_CONTACT[object_type])])])
        return self._call(self.objects.create, object_type, body).id

    def update_contact(self, crm_id: str, properties: dict) -> None:
        self._call(self.objects.update, "contacts", crm_id,
                   SimplePublicObjectInput(properties={k: str(v) for k, v in properties.items()}))


def activity_properties(touch: Touch) -> dict:
    when = touch.at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{touch.at.microsecond // 1000:03d}Z"
    props = {mapping.EVENT_ID: touch.key, "hs_timestamp": when}
    if touch.kind == "text":
        props.update(hs_communication_channel_type="SMS", hs_communication_logged_from="CRM",
                     hs_communication_body=touch.body)
    elif touch.kind == "call":
        props.update(hs_call_title=touch.subject, hs_call_body=touch.body, hs_call_direction="OUTBOUND",
                     hs_call_status="COMPLETED")
    elif touch.kind == "note":
        props.update(hs_note_body=f"{touch.subject}\n\n{touch.body}")
    elif touch.kind == "task":
        props.update(hs_task_subject=touch.subject, hs_task_body=touch.body, hs_task_status="NOT_STARTED",
                     hs_task_priority="HIGH", hs_task_type="TODO")
        if touch.owner_id:
            props["hubspot_owner_id"] = touch.owner_id
    return props


def _record(obj) -> Record:
    props = dict(obj.properties or {})
    return Record(crm_id=str(obj.id), modified=str(props.get("lastmodifieddate") or ""), properties=props)


def _raw_record(obj: dict) -> Record:
    props = dict(obj.get("properties") or {})
    return Record(crm_id=str(obj.get("id")), modified=str(props.get("lastmodifieddate") or ""), properties=props)


def translate(status: int, body, headers) -> CrmError:
    """HubSpot's error answer in words, with what it means for us."""
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    message = str(data.get("message") or "").strip() or f"HTTP {status}"
    category = str(data.get("category") or data.get("errorType") or "")
    headers = {str(k).lower(): v for k, v in dict(headers or {}).items()}
    if status == 401:
        if category == "EXPIRED_AUTHENTICATION" or "expired" in message.lower():
            return CrmError(f"HubSpot says the token has expired: {message}", status=401, auth=True)
        return CrmError(f"HubSpot refused the token: {message}", status=401, auth=True)
    if status == 403:
        return CrmError(f"HubSpot says the app is missing a permission (scope): {message}", status=403, auth=True)
    if status == 429:
        wait = _seconds(headers.get("retry-after"))
        if wait is None:
            interval = _seconds(headers.get("x-hubspot-ratelimit-interval-milliseconds"))
            wait = interval / 1000 if interval else 10.0
        return CrmError(f"HubSpot's rate limit was reached ({message}); waiting {wait:g} s", status=429,
                        retry_after=wait)
    if status >= 500:
        return CrmError(f"HubSpot had a server error ({status}): {message}", status=status)
    return CrmError(f"HubSpot refused the request ({status}): {message}", status=status, permanent=True)


def _seconds(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
