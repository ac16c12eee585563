"""Organization API keys: made, listed and revoked from the command line; checked on every API request.

A key reads `dd_<prefix>_<secret>`: `prefix` is 8 hex characters, stored as is, to find the key's row and to
tell keys apart in lists; `secret` is 32 random bytes (URL-safe base64), of which only a SHA-256 is stored.

Why SHA-256 and not Django's password hashers: a slow, salted hash (PBKDF2, Argon2) exists to make guessing
a *person's* low-entropy password expensive. A 256-bit random secret cannot be guessed whatever the hash, so
slowness buys nothing and would cost ~100 ms of CPU on every API call. A plain SHA-256 of a high-entropy token
is the usual choice (GitHub's and Stripe's keys work this way); it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from duedesk.api.models import ApiKey
from duedesk.records.models import Organization

KEY_START = "dd_"
_KEY = re.compile(r"dd_([0-9a-f]{8})_([A-Za-z0-9_-]{20,100})")
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key

# The API's clock; tests replace it with their virtual one.
clock = timezone.now


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    token: str  # the whole key: shown once, never stored


def create_key(org: Organization, name: str, now: datetime) -> NewKey:
    name = name.strip()
    if not name:
        raise ValueError("the key needs a name (what will use it, e.g. 'billing system')")
    if len(name) > 100:
        raise ValueError("the name is longer than 100 characters")
    for _ in range(5):
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(organization=org, name=name, prefix=prefix,
                                            hashed_secret=hash_secret(secret), created_at=now)
        except IntegrityError:
            continue  # the prefix is taken (one chance in four billion per key): draw again
        return NewKey(key, f"{KEY_START}{prefix}_{secret}")
    raise RuntimeError("could not find a free key prefix")


def revoke_key(prefix: str, now: datetime) -> ApiKey:
    """Revoke by prefix (`dd_` and the secret may be pasted along; they are ignored). Revoking twice is fine."""
    prefix = prefix.strip()
    if prefix.startswith(KEY_START):
        prefix = prefix[len(KEY_START):]
    prefix = prefix.split("_", 1)[0]
    key = ApiKey.objects.filter(prefix=prefix).select_related("organization").first()
    if key is None:
        raise LookupError(f"no API key with prefix {prefix!r}")
    if key.revoked_at is None:
        key.revoked_at = now
        key.save(update_fields=["revoked_at"])
    return key


def check_key(token: str, now: datetime) -> ApiKey:
    """The active key `token` names, or AuthenticationError saying what is wrong with it."""
    match = _KEY.fullmatch(token.strip())
    if not match:
        raise AuthenticationError(message="the API key is not in the form dd_<prefix>_<secret>")
    prefix, secret = match.groups()
    key = ApiKey.objects.filter(prefix=prefix).select_related("organization").first()
    if key is None or not hmac.compare_digest(key.hashed_secret, hash_secret(secret)):
        raise AuthenticationError(message="the API key is not valid")
    if key.revoked_at is not None:
        raise AuthenticationError(message="the API key was revoked")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer dd_<prefix>_<secret>`; request.auth is the ApiKey (its organization scopes all)."""

    def __call__(self, request):
        if not request.headers.get("Authorization"):
            raise AuthenticationError(message="send the API key as 'Authorization: Bearer dd_<prefix>_<secret>'")
        key = super().__call__(request)
        if key is None:
            raise AuthenticationError(message="the Authorization header must be 'Bearer <API key>'")
        return key

    def authenticate(self, request, token: str) -> ApiKey:
        return check_key(token, clock())
