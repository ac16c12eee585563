"""Errors every transport (SMS, voice, email) raises, and the retry delay the worker uses."""

from __future__ import annotations

import random

CHANNEL_PAUSED = "channel_paused"  # the code of a send refused because the organization's channel is paused


class TransportError(Exception):
    """A provider refused or did not answer a send.

    permanent: resending the same request will fail the same way (bad number, opted out).
    accepted_unknown: the provider may have accepted the request but we never heard back
        (e.g. a timeout after the body was sent). The caller must reconcile with the
        provider before any resend, or a patient may get the same reminder twice.
    scope: whom a permanent error is about, when the provider says: "number" (the contact's number or
        address: marked unreachable, as `effect`), "organization" (our account, sender or request: the
        organization's channel is paused and the step held; the patient is left alone), "message" (this
        send only). None: the transport can't tell, and a permanent error is taken as about the number.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        code: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        accepted_unknown: bool = False,
        scope: str | None = None,
        effect: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after
        self.accepted_unknown = accepted_unknown
        self.scope = scope
        self.effect = effect

    @property
    def about_organization(self) -> bool:
        return self.permanent and self.scope == "organization"

    @property
    def about_number(self) -> bool:
        return self.permanent and self.scope in (None, "number")

    def __repr__(self) -> str:
        return (
            f"TransportError({self.message!r}, permanent={self.permanent}, code={self.code!r}, "
            f"http_status={self.http_status}, retry_after={self.retry_after}, "
            f"accepted_unknown={self.accepted_unknown})"
        )


def backoff_delay(
    attempt: int, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number `attempt` (0-based): exponential with full jitter.

    Full jitter spreads retries from many workers so a provider outage doesn't end in a
    synchronized burst when it recovers.
    """
    rng = rng or random
    ceiling = min(cap, base * (2 ** max(0, min(attempt, 64))))
    return rng.uniform(0, ceiling)


def retry_delay(error: TransportError, attempt: int, **kwargs) -> float:
    """The backoff delay, but never shorter than what the provider asked for (Retry-After)."""
    delay = backoff_delay(attempt, **kwargs)
    if error.retry_after is not None:
        delay = max(delay, error.retry_after)
    return delay
