"""X-Twilio-Signature, computed exactly as Twilio does (via the official RequestValidator)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import urlparse

from twilio.request_validator import RequestValidator, add_port, remove_port

Params = Mapping[str, "str | list[str]"]


class _MultiParams(dict):
    """Repeated fields for RequestValidator, which asks getall() first (Flask's name), then getlist() (Django's),
    then indexes: answering the first spares it an exception per field, on every webhook."""

    def getall(self, name: str) -> list[str]:
        value = self[name]
        return list(value) if isinstance(value, list | tuple) else [value]

    getlist = getall


def _wrap(params: Params | None):
    if params is None:
        return {}
    if hasattr(params, "getlist"):  # a QueryDict
        return _MultiParams((name, params.getlist(name)) for name in params)
    return _MultiParams(params)


def sign(auth_token: str, url: str, params: Params | None) -> str:
    return RequestValidator(auth_token).compute_signature(url, _wrap(params))


def validate(auth_token: str, url: str, params: Params | None, signature: str | None) -> bool:
    """What RequestValidator.validate says. It signs the URL both without and with its port (Twilio signs
    either), every time; this first signs the URL in the form it was given (the one we gave Twilio) and the
    validator is asked only when that does not match: the same answer, one HMAC instead of two."""
    if not signature:
        return False
    validator, params = RequestValidator(auth_token), _wrap(params)
    if "bodySHA256" not in url:  # a JSON body's hash: left to the validator
        parsed = urlparse(url)
        given = add_port(parsed) if parsed.port else remove_port(parsed)  # one of the validator's two forms
        if hmac.compare_digest(validator.compute_signature(given, params).encode(), signature.encode()):
            return True
    return validator.validate(url, params, signature)
