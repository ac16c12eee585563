"""Plays a call through to the end: status callbacks, answer webhook, AMD, and TwiML.

The TwiML interpreter covers the verbs our call flow uses (Say, Play, Pause, Gather,
Redirect, Dial, Hangup); anything else is skipped, as a caller would hear nothing of it.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from urllib.parse import urljoin

from duedesk.integrations.twilio.fake.callee import HANGUP, SILENCE, BargeIn, FakeCall, Press
from duedesk.integrations.twilio.fake.resources import API_VERSION

_MAX_DOCUMENTS = 200  # guard against Redirect loops in the app under test
_WORDS_PER_SECOND = 2.5


class _End(Exception):
    """The call is over (hangup, dial-out, or an application error)."""


class HangUp(Exception):
    """The caller hung up during a streaming session (their lines ran out, or HANGUP)."""


class _Parked(Exception):
    """The call waits, still in progress, for update_call()."""


class CallRunner:
    def __init__(self, fake, call: FakeCall) -> None:
        self.fake = fake
        self.call = call
        events = call.get("StatusCallbackEvent") or []
        self.events = set(events if isinstance(events, list) else [events])
        self.sequence = 0
        self.cursor = 0  # next scripted line

    # -- entry points (each runs as one dispatcher job) ------------------------------
    def run(self) -> None:
        call, kind = self.call, self.call.callee.kind
        self._status("initiated", "initiated", resource_status="queued")
        if kind == "failed":
            return self._status("failed", "completed")
        self._status("ringing", "ringing")
        if kind in ("busy", "no-answer"):
            return self._status(kind, "completed")
        call.answered_by = call.callee.answered_by
        call.seconds += len(call.callee.greeting.split()) / _WORDS_PER_SECOND  # the machine's greeting
        self._status("in-progress", "answered")
        self._finish_after(self._answered)

    def _answered(self) -> None:
        call, machine = self.call, self.call.callee.kind == "machine"
        amd = bool(call.get("MachineDetection"))
        async_amd = amd and str(call.get("AsyncAmd", "")).lower() == "true"
        extra = {"AnsweredBy": call.answered_by} if amd and not async_amd else {}
        doc, url = self._answer_document(extra)
        if async_amd:
            self._amd_callback()
            update = self._take_update(park=machine)
            if update is not None:
                return self._apply_update(update, voicemail=machine)
            if machine:
                raise _Parked  # update_call continues it (resume())
        self._interpret(doc, url, voicemail=machine)

    def run_incoming(self) -> None:
        """A person calls one of the account's numbers: Twilio asks the number's voice URL what to do (the call
        is "ringing" in that request), follows the TwiML, and reports the end to the number's status callback."""
        self.call.answered_by = None
        with self.fake._lock:
            self.call.status = "ringing"
        self._finish_after(lambda: self._interpret(*self._answer_document({}), voicemail=False))

    def resume(self, update: tuple[str, str]) -> None:
        """Continue a parked machine call with the TwiML given to update_call."""
        self._finish_after(lambda: self._apply_update(update, voicemail=True))

    # -- pieces ------------------------------------------------------------------------
    def _finish_after(self, step) -> None:
        final = "completed"
        try:
            step()
        except _Parked:
            return
        except _End as end:
            final = end.args[0] if end.args else "completed"
        self.call.duration = max(1, math.ceil(self.call.seconds))
        self._status(final, "completed", extra={"CallDuration": str(self.call.duration)})

    def _apply_update(self, update: tuple[str, str], *, voicemail: bool) -> None:
        kind, value = update
        if kind == "end":
            raise _End(value)
        if kind == "twiml":
            return self._interpret(value, self.call.get("Url") or "", voicemail=voicemail)
        doc, url = self._fetch(value, "POST", {})
        self._interpret(doc, url, voicemail=voicemail)

    def _answer_document(self, extra: dict) -> tuple[str | None, str]:
        inline = self.call.get("Twiml")
        if inline:
            return inline, ""
        url = self.call["Url"]
        return self._fetch(url, self.call.get("Method") or "POST", extra)

    def _amd_callback(self) -> None:
        url = self.call.get("AsyncAmdStatusCallback")
        if url:
            self.fake._dispatcher.post(
                url,
                {
                    "AccountSid": self.fake.account_sid,
                    "CallSid": self.call.sid,
                    "AnsweredBy": self.call.answered_by or "unknown",
                    "MachineDetectionDuration": "3500",
                },
            )

    def _take_update(self, *, park: bool) -> tuple[str, str] | None:
        with self.fake._lock:
            update, self.call.pending_update = self.call.pending_update, None
            if update is None and park:
                self.call.parked = True
            return update

    def _base_params(self) -> dict[str, str]:
        c = self.call
        return {
            "AccountSid": self.fake.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": c.sid,
            "CallStatus": c.status,
            "Called": c["To"],
            "Caller": c["From"],
            "Direction": c.direction,
            "From": c["From"],
            "To": c["To"],
        }

    def _status(
        self, call_status: str, event: str, *, resource_status: str | None = None, extra=None
    ) -> None:
        with self.fake._lock:
            self.call.status = resource_status or call_status
            self.call.updated = self.fake._now()
        url = self.call.get("StatusCallback")
        # Twilio always reports the final status; the others only when asked for.
        if not url or (event != "completed" and event not in self.events):
            return
        self.sequence += 1
        params = self._base_params()
        params.update(
            CallStatus=call_status,
            CallbackSource="call-progress-events",
            SequenceNumber=str(self.sequence - 1),
            Timestamp=self.fake._now().strftime("%a, %d %b %Y %H:%M:%S +0000"),
        )
        if self.call.answered_by and event in ("answered", "completed"):
            params["AnsweredBy"] = self.call.answered_by
        params.update(extra or {})
        self.call.callbacks.append(call_status)
        self.fake._dispatcher.post(url, params)

    def _fetch(self, url: str, method: str, extra: dict) -> tuple[str, str]:
        # Our app asks for POST everywhere; GET webhooks (signed over the query string) aren't simulated.
        params = {**self._base_params(), **extra}
        response = self.fake._dispatcher.post(url, params)
        if response is None or response.status_code >= 400:
            status = "unreachable" if response is None else response.status_code
            self.call.errors.append(f"11200 HTTP retrieval failure: {url} ({status})")
            raise _End("completed")
        return response.text, url

    # -- TwiML ---------------------------------------------------------------------------
    def _interpret(self, doc: str | None, url: str, *, voicemail: bool) -> None:
        spoken: list[str] = []
        try:
            for _ in range(_MAX_DOCUMENTS):
                update = self._take_update(park=False)
                if update is not None:
                    kind, value = update
                    if kind == "end":
                        raise _End(value)
                    if kind == "twiml":
                        doc = value
                    else:
                        doc, url = self._fetch(value, "POST", {})
                nxt = self._run_document(doc, url, voicemail, spoken)
                if nxt is None:
                    return
                doc, url = nxt
            self.call.errors.append("Too many TwiML documents; ending the call")
        finally:
            if voicemail and spoken:
                self.call.voicemail = " ".join(spoken)

    def _run_document(self, doc, url, voicemail, spoken) -> tuple[str, str] | None:
        try:
            root = ET.fromstring(doc or "")
        except ET.ParseError:
            self.call.errors.append(f"12100 Document parse failure: {url}")
            raise _End("completed") from None
        if root.tag != "Response":
            self.call.errors.append(f"12102 Invalid root element {root.tag!r}: {url}")
            raise _End("completed")
        for verb in root:
            if self.call.pending_update is not None:
                return doc, url  # update_call redirects at the next verb
            tag = verb.tag
            if tag in ("Say", "Play"):
                self._hear(verb, voicemail, spoken)
            elif tag == "Pause":
                self.call.seconds += float(verb.get("length", "1"))
            elif tag == "Gather":
                nxt = self._gather(verb, url, voicemail, spoken)
                if nxt is not None:
                    return nxt
            elif tag == "Redirect":
                target = urljoin(url, (verb.text or "").strip())
                return self._fetch(target, verb.get("method", "POST"), {})
            elif tag == "Dial":
                number = verb.findtext("Number") or (verb.text or "").strip()
                self.call.transferred_to = number.strip()
                raise _End("completed")
            elif tag == "Connect" and verb.find("ConversationRelay") is not None:
                from duedesk.integrations.twilio.fake.relay import converse

                try:
                    params = converse(self, verb)
                except HangUp:
                    raise _End("completed") from None
                target = verb.get("action")
                if not target:
                    return None
                return self._fetch(urljoin(url, target), verb.get("method", "POST"), params)
            elif tag in ("Hangup", "Reject"):
                raise _End("completed")
        return None  # end of document: Twilio hangs up

    def _hear(self, verb, voicemail, spoken) -> None:
        if verb.tag == "Say":
            text = " ".join((verb.text or "").split())
            entry = {
                "verb": "Say",
                "text": text,
                "language": verb.get("language"),
                "voice": verb.get("voice"),
            }
            if voicemail:
                spoken.append(text)
            self.call.seconds += len(text.split()) / _WORDS_PER_SECOND
        else:
            entry = {"verb": "Play", "url": (verb.text or "").strip(), "text": None, "language": None}
            self.call.seconds += 3
        self.call.heard.append(entry)

    def _gather(self, verb, url, voicemail, spoken) -> tuple[str, str] | None:
        for child in verb:
            if child.tag in ("Say", "Play"):
                self._hear(child, voicemail, spoken)
        inputs = set((verb.get("input") or "dtmf").split())
        answer = SILENCE if voicemail else self._next_line()
        if answer is HANGUP:
            raise _End("completed")
        if isinstance(answer, BargeIn):
            answer = answer.text
        params: dict[str, str] = {}
        if isinstance(answer, Press) and "dtmf" in inputs:
            params["Digits"] = answer.digits
            self.call.said.append(answer.digits)
            self.call.seconds += 2
        elif isinstance(answer, str) and "speech" in inputs:
            params["SpeechResult"] = answer
            params["Confidence"] = f"{self.call.callee.confidence:.2f}"
            self.call.said.append(answer)
            self.call.seconds += 1 + len(answer.split()) / _WORDS_PER_SECOND
        else:
            # No usable input: the gather times out. Twilio goes on to the next verb,
            # unless actionOnEmptyResult asks it to call the action anyway.
            self.call.seconds += float(verb.get("timeout", "5"))
            if verb.get("actionOnEmptyResult", "false").lower() != "true":
                return None
        target = urljoin(url, verb.get("action") or url)
        return self._fetch(target, verb.get("method", "POST"), params)

    def _next_line(self):
        lines = self.call.callee.lines
        if self.cursor >= len(lines):
            return SILENCE
        self.cursor += 1
        return lines[self.cursor - 1]
