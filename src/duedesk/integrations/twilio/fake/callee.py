"""Who picks up when the fake places a call, and what the fake records about each call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Callee.{self.name}"


@dataclass(frozen=True)
class Press:
    """A keypad answer to a <Gather input="dtmf">."""

    digits: str


@dataclass(frozen=True)
class BargeIn:
    """Speech said over the assistant after it has spoken `after_words` words of its turn (streaming voice sends
    an `interrupt`, then the words); under <Gather> it is plain speech."""

    text: str
    after_words: int = 3


@dataclass(frozen=True)
class Callee:
    """A scripted person, answering machine, or a phone that never connects.

    A person's `lines` answer each <Gather> in turn: a string is speech, Press("1") is keys,
    Callee.SILENCE lets the gather time out, Callee.HANGUP hangs up. When the lines run out
    the person stays silent.
    """

    kind: str  # "person", "machine", "no-answer", "busy", "failed"
    lines: tuple = ()
    answered_by: str | None = None
    greeting: str = ""
    confidence: float = 0.92

    SILENCE: ClassVar[_Marker] = _Marker("SILENCE")
    HANGUP: ClassVar[_Marker] = _Marker("HANGUP")

    @classmethod
    def person(cls, lines=(), answered_by: str = "human", confidence: float = 0.92) -> Callee:
        return cls("person", tuple(lines), answered_by, "", confidence)

    @classmethod
    def voicemail(
        cls, greeting: str = "Please leave a message after the tone.", answered_by: str = "machine_end_beep"
    ) -> Callee:
        return cls("machine", (), answered_by, greeting)

    @classmethod
    def no_answer(cls) -> Callee:
        return cls("no-answer")

    @classmethod
    def busy(cls) -> Callee:
        return cls("busy")

    @classmethod
    def failed(cls) -> Callee:
        return cls("failed")

    @staticmethod
    def press(digits: str) -> Press:
        return Press(digits)

    @staticmethod
    def barge_in(text: str, after_words: int = 3) -> BargeIn:
        return BargeIn(text, after_words)


SILENCE = Callee.SILENCE
HANGUP = Callee.HANGUP


@dataclass
class FakeCall:
    """One call placed through the fake, or made to one of its numbers (incoming_call). Indexing reads the
    request's Twilio fields (call["To"])."""

    sid: str
    params: dict[str, Any]
    callee: Callee
    created: datetime
    updated: datetime
    status: str = "queued"
    answered_by: str | None = None
    heard: list[dict] = field(default_factory=list)  # what the callee heard: Say/Play entries
    said: list[str] = field(default_factory=list)  # what the callee answered
    voicemail: str | None = None  # text left on the answering machine
    transferred_to: str | None = None
    duration: int = 0
    callbacks: list[str] = field(default_factory=list)  # CallStatus of each status callback sent
    errors: list[str] = field(default_factory=list)  # app errors Twilio would have logged
    updates: list[dict] = field(default_factory=list)  # update_call requests, in order
    # Set by update_call: ("twiml", xml) | ("url", url) | ("end", status); guarded by the fake's lock.
    pending_update: tuple[str, str] | None = None
    parked: bool = False  # waiting for update_call (machine answered under async AMD)
    seconds: float = 0.0  # simulated talk time
    direction: str = "outbound-api"  # "inbound": a person called one of the account's numbers

    ENDED: ClassVar[frozenset] = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @property
    def ended(self) -> bool:
        return self.status in self.ENDED

    @property
    def heard_text(self) -> list[str]:
        return [h["text"] for h in self.heard if h.get("text")]
