"""X-Twilio-Signature, computed exactly as Twilio does (via the official RequestValidator)."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator

Params = Mapping[str, "str | list[str]"]


class _MultiParams(dict):
    """RequestValidator reads repeated fields through getlist(), as with Django's QueryDict."""

    def getlist(self, name: str) -> list[str]:
        value = self[name]
        return list(value) if isinstance(value, list | tuple) else [value]


def _wrap(params: Params | None):
    if params is None:
        return {}
    if hasattr(params, "getlist"):
        return params
    return _MultiParams(params)


def sign(auth_token: str, url: str, params: Params | None) -> str:
    return RequestValidator(auth_token).compute_signature(url, _wrap(params))


def validate(auth_token: str, url: str, params: Params | None, signature: str | None) -> bool:
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, _wrap(params), signature)
