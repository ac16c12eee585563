"""Twilio-shaped resources and errors for the fake: SIDs, dates, JSON bodies, field checks."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")

# GSM 03.38 basic set; the extension set costs two septets each.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXT = set("^{}\\[~]|€\f")


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def rfc2822(when: datetime | None) -> str | None:
    return format_datetime(when.astimezone(UTC)) if when else None


def now_utc() -> datetime:
    return datetime.now(UTC)


def num_segments(body: str) -> int:
    """SMS segments as carriers bill them: GSM-7 160/153 per part, else UCS-2 70/67."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXT for ch in body):
        units, single, multi = sum(2 if ch in _GSM_EXT else 1 for ch in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    if units <= single:
        return 1
    return -(-units // multi)


def error_body(code: int, message: str, status: int = 400) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def first(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def check_message(params: dict[str, list[str]]) -> tuple[int, str] | None:
    """Twilio's checks on a new message, in its order. Returns (code, message) or None."""
    to = first(params, "To")
    if not to:
        return 21604, "A 'To' phone number is required."
    if not (first(params, "Body") or first(params, "MediaUrl") or first(params, "ContentSid")):
        return 21602, "Message body is required."
    if not (first(params, "From") or first(params, "MessagingServiceSid")):
        return 21603, "A 'From' phone number is required."
    if not E164.match(to):
        return 21211, f"The 'To' number {to} is not a valid phone number."
    if len(first(params, "Body") or "") > 1600:
        return 21617, "The concatenated message body exceeds the 1600 character limit."
    return None


def check_call(params: dict[str, list[str]]) -> tuple[int, str] | None:
    """Twilio's checks on a new call. 21201/21213/21205 are the codes Twilio documents for a
    missing To, From and Url; the exact message wording is our best recollection."""
    to = first(params, "To")
    if not to:
        return 21201, "No 'To' number is specified"
    if not first(params, "From"):
        return 21213, "No 'From' number is specified"
    if not (first(params, "Url") or first(params, "Twiml") or first(params, "ApplicationSid")):
        return 21205, "Url parameter is required."
    if not (E164.match(to) or to.startswith(("client:", "sip:"))):
        return 21211, f"The 'To' number {to} is not a valid phone number."
    return None


def message_json(account_sid: str, msg: dict) -> dict:
    sid = msg["sid"]
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": msg.get("Body") or "",
        "date_created": rfc2822(msg["created"]),
        "date_sent": rfc2822(msg["created"]),
        "date_updated": rfc2822(msg["updated"]),
        "direction": "outbound-api",
        "error_code": int(msg["error_code"]) if msg.get("error_code") else None,
        "error_message": msg.get("error_message"),
        "from": msg.get("From"),
        "messaging_service_sid": msg.get("MessagingServiceSid"),
        "num_media": str(len(msg.get("MediaUrl") or [])),
        "num_segments": str(num_segments(msg.get("Body") or "")),
        "price": None,
        "price_unit": None,
        "sid": sid,
        "status": msg["status"],
        "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json"},
        "to": msg.get("To"),
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
    }


def call_json(account_sid: str, call) -> dict:
    sid = call.sid
    base = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}"
    return {
        "account_sid": account_sid,
        "answered_by": call.answered_by,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": rfc2822(call.created),
        "date_updated": rfc2822(call.updated),
        "direction": "outbound-api",
        "duration": str(call.duration) if call.ended else None,
        "end_time": rfc2822(call.updated) if call.ended else None,
        "forwarded_from": None,
        "from": call["From"],
        "from_formatted": call["From"],
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "start_time": rfc2822(call_started(call)),
        "status": call.status,
        "subresource_uris": {
            "notifications": f"{base}/Notifications.json",
            "recordings": f"{base}/Recordings.json",
            "events": f"{base}/Events.json",
        },
        "to": call["To"],
        "to_formatted": call["To"],
        "trunk_sid": None,
        "uri": f"{base}.json",
        "queue_time": "0",
    }


def call_started(call) -> datetime | None:
    """Twilio leaves start_time empty until the call is dialed (queued, or canceled while queued)."""
    if call.status == "queued" or (call.status == "canceled" and not call.callbacks):
        return None
    return call.created


def parse_when(value: str) -> datetime | None:
    """DateSent filters arrive as YYYY-MM-DD or ISO 8601 datetimes."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
