"""What every CRM client speaks: records pulled, touches pushed, and errors in words.

A provider (hubspot/client.py, …) turns these into its own API calls; the shared sync (pull.py,
outbox.py) never sees a vendor's JSON."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class CrmError(Exception):
    """A CRM request that did not succeed, in words a person can act on.

    retry_after: the CRM asked us to wait this many seconds (429, Retry-After) — not a failure.
    permanent: retrying the same request will fail again (a bad property, a deleted record).
    auth: the token was refused or expired; nothing is tried again until the connection is fixed.
    answer_lost: the request may have reached the CRM (a timeout, a dropped connection): look the
                 write up by our event id before trying it again.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 permanent: bool = False, auth: bool = False, answer_lost: bool = False):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent
        self.auth = auth
        self.answer_lost = answer_lost


@dataclass
class Record:
    """One CRM contact as pulled: its id, when it last changed there, and its properties (raw text)."""

    crm_id: str
    modified: str
    properties: dict


@dataclass
class Page:
    records: list[Record]
    after: str | None  # the next page's token; None at the end


@dataclass
class Touch:
    """One timeline event as the CRM should see it."""

    event_id: int
    key: str  # our id for this write, stored on the CRM's activity so a lost answer can be looked up
    kind: str | None  # "text", "call", "note", "task" or None (properties only)
    at: datetime
    subject: str = ""
    body: str = ""
    direction: str = "out"
    status: str = ""
    owner_id: str = ""
    zone: str = "UTC"  # the clinic's time zone: the day a touch happened, for CRMs that keep a date
    event_kind: str = ""  # the timeline event's kind ("email.sent", …), for CRMs that tell activities apart by it
    # Our field names (last_outcome, promise_date, balance, outreach) -> value written to the contact.
    properties: dict = field(default_factory=dict)


class Client(Protocol):
    """What the shared sync asks of a CRM client."""

    def check(self) -> None: ...  # raises CrmError saying what is wrong
    def prepare(self) -> list[str]: ...  # create the custom properties; returns the ones made
    def full_page(self, after: str | None, properties: list[str]) -> Page: ...
    def changed_since(self, cursor: str, properties: list[str]) -> Iterator[Page]: ...
    def find_activity(self, touch: Touch, crm_id: str) -> str | None: ...  # crm_id: the contact's record
    def create_activity(self, touch: Touch, crm_id: str) -> str: ...
    def update_contact(self, crm_id: str, properties: dict) -> None: ...
