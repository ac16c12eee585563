"""HubSpot's v3 request signature (X-HubSpot-Signature-v3): base64 of HMAC-SHA256, keyed with the app's
client secret, over method + full URI + body + the X-HubSpot-Request-Timestamp header (milliseconds).
Requests older than five minutes are refused, so a captured delivery cannot be replayed later."""

from __future__ import annotations

import base64
import hashlib
import hmac

MAX_AGE_MS = 5 * 60 * 1000


def sign(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int | str) -> str:
    message = method.upper().encode() + uri.encode() + body + str(timestamp_ms).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def verify(secret: str, method: str, uri: str, body: bytes, timestamp: str, signature: str, now_ms: int) -> str:
    """'' when the request is HubSpot's, else why not (for the log; the caller answers 401)."""
    if not secret:
        return "no app secret configured for this connection"
    if not signature or not timestamp:
        return "signature or timestamp header missing"
    try:
        age = now_ms - int(timestamp)
    except ValueError:
        return "timestamp is not a number"
    if age > MAX_AGE_MS or age < -MAX_AGE_MS:
        return "timestamp is more than five minutes away"
    if not hmac.compare_digest(sign(secret, method, uri, body, timestamp), signature):
        return "signature does not match"
    return ""
