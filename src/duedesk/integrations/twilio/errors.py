"""Twilio error codes we meet when texting and calling patients, and what each means for us.

Permanent codes won't succeed on a resend. Each code also says whom it is about (`scope`), because that
decides what duedesk does (Twilio's error dictionary, www.twilio.com/docs/api/errors, groups them the same way):

  number        the patient's number itself (invalid, unsubscribed, not mobile, unreachable, landline...):
                the contact's channel is marked with `channel_effect`, so the office sees "invalid number"
                instead of silent retries, and the workflow takes its fallback.
  organization  our account, our sender, or our request (bad credentials, a suspended account, a From number
                that isn't ours or can't text, a malformed request, a 4xx Twilio gave no code for): nothing
                about the patient. The organization's channel is paused, its owners are told once, and the
                step is held until a person resumes the channel in Settings.
  message       this one text only (too long, filtered by the carrier, a country not enabled for the number):
                the send fails and is logged; neither the patient's number nor the channel is marked.
  transient     try again later (rate limits, Twilio or carrier trouble).
"""

from __future__ import annotations

from dataclasses import dataclass

NUMBER, ORGANIZATION, MESSAGE, TRANSIENT = "number", "organization", "message", "transient"


@dataclass(frozen=True)
class TwilioCode:
    code: str
    description: str  # in the billing office's words
    permanent: bool
    channel_effect: str | None = None  # how to mark the contact's phone channel
    delivery_time: bool = False  # reported by a status callback, not by the REST call
    scope: str = ""  # NUMBER, ORGANIZATION, MESSAGE or TRANSIENT; "" = from the other fields

    @property
    def about(self) -> str:
        if self.scope:
            return self.scope
        if not self.permanent:
            return TRANSIENT
        return NUMBER if self.channel_effect else ORGANIZATION


_CODES = [
    # REST-time, about the patient's number.
    TwilioCode("21211", "The phone number is not valid.", True, "invalid_number"),
    TwilioCode("21217", "The phone number does not appear to be valid.", True, "invalid_number"),
    TwilioCode("21401", "The phone number is not valid.", True, "invalid_number"),
    TwilioCode("21214", "The number to call can't be reached.", True, "unreachable"),
    TwilioCode("13223", "The number to call is not in a valid format.", True, "invalid_number"),
    TwilioCode("13224", "The number to call is not valid.", True, "invalid_number"),
    TwilioCode("21610", "The patient replied STOP; texts to this number are blocked.", True, "opted_out"),
    TwilioCode("21614", "The number is not a mobile number and can't receive texts.", True, "not_mobile"),
    TwilioCode("21612", "The number can't be reached by text from our sender.", True, "unreachable"),
    # REST-time, about this one text or call (nothing to mark, nothing to pause).
    TwilioCode("21408", "Texting this number's country is not enabled on the account.", True, scope=MESSAGE),
    TwilioCode("21215", "Calling this number's country is not enabled on the account.", True, scope=MESSAGE),
    TwilioCode("21216", "The account may not call this number (a premium or blocked destination).", True,
               scope=MESSAGE),
    TwilioCode("21617", "The message is longer than 1600 characters.", True, scope=MESSAGE),
    # REST-time, about our account, our sender or our request: the organization's channel is paused.
    TwilioCode("21606", "Our sender number can't send texts to this destination.", True),
    TwilioCode("21659", "Our sender is not a Twilio number of this account.", True),
    TwilioCode("21660", "Our sender number belongs to another Twilio account.", True),
    TwilioCode("21661", "Our sender number can't send texts.", True),
    TwilioCode("21601", "Our sender number can't send texts.", True),
    TwilioCode("21212", "Our caller ID number is not valid.", True),
    TwilioCode("21210", "Our caller ID number is not verified on the account.", True),
    TwilioCode("21608", "Trial accounts can only reach verified numbers.", True),
    TwilioCode("21219", "Trial accounts can only reach verified numbers.", True),
    TwilioCode("21602", "The message has no text.", True),
    TwilioCode("21603", "No sender number or messaging service was given.", True),
    TwilioCode("21604", "No recipient number was given.", True),
    TwilioCode("21201", "No number to call was given.", True),
    TwilioCode("21213", "No caller ID number was given.", True),
    TwilioCode("21205", "The call has no instructions URL.", True),
    TwilioCode("20001", "Twilio did not accept our request.", True),
    TwilioCode("20003", "Twilio rejected our account credentials.", True),
    TwilioCode("20005", "The Twilio account is not active.", True),
    TwilioCode("20008", "Test credentials can't send real texts or calls.", True),
    TwilioCode("20404", "Twilio has no such message or call.", True),
    TwilioCode("30002", "The Twilio account is suspended.", True, None, True),
    TwilioCode("30032", "Our toll-free sender number is not verified.", True, None, True),
    TwilioCode("30034", "Our sender number is not registered for texting (10DLC).", True, None, True),
    # Delivery-time: accepted, then the carrier reports a failure about the number.
    TwilioCode(
        "30003", "The patient's phone is unreachable (off or out of service).", True, "unreachable", True
    ),
    TwilioCode("30004", "The text was blocked by the recipient or carrier.", True, "blocked", True),
    TwilioCode(
        "30005", "The number is unknown to the carrier; it may no longer exist.", True, "invalid_number", True
    ),
    TwilioCode(
        "30006", "The number is a landline or its carrier can't take texts.", True, "not_mobile", True
    ),
    # Filtering is about the message's content, not the patient's number.
    TwilioCode("30007", "The carrier filtered the text as unwanted.", True, None, True, scope=MESSAGE),
    # Transient: try again later.
    TwilioCode("20429", "Twilio is rate limiting us.", False),
    TwilioCode("20500", "Twilio had an internal error.", False),
    TwilioCode("20503", "Twilio is temporarily unavailable.", False),
    TwilioCode("30001", "Twilio's sending queue overflowed.", False, None, True),
    TwilioCode("30008", "The carrier reported an unknown error.", False, None, True),
    TwilioCode("30022", "Our sender exceeded its carrier rate limit.", False, None, True),
]

CODES: dict[str, TwilioCode] = {c.code: c for c in _CODES}
PERMANENT_CODES = frozenset(c.code for c in _CODES if c.permanent)
DELIVERY_CODES = frozenset(c.code for c in _CODES if c.delivery_time)


def _key(code: str | int | None) -> str | None:
    return None if code is None else str(code)


def lookup(code: str | int | None) -> TwilioCode | None:
    return CODES.get(_key(code))  # type: ignore[arg-type]


def describe(code: str | int | None) -> str:
    info = lookup(code)
    if info:
        return info.description
    return f"Twilio error {code}." if code is not None else "Unknown Twilio error."


def is_permanent(code: str | int | None, http_status: int | None = None) -> bool:
    """A known code decides; otherwise 4xx (except 429) is permanent and everything else transient."""
    info = lookup(code)
    if info:
        return info.permanent
    if http_status is None:
        return False
    return 400 <= http_status < 500 and http_status != 429


def channel_effect(code: str | int | None) -> str | None:
    """How to mark the contact's channel: "invalid_number", "opted_out", "not_mobile",
    "unreachable", "blocked", or None when the number itself is fine."""
    info = lookup(code)
    return info.channel_effect if info else None


def scope(code: str | int | None, http_status: int | None = None) -> str:
    """Whom an error is about (NUMBER, ORGANIZATION, MESSAGE or TRANSIENT; see the module's docstring).
    A code we don't know: 429 and 5xx are transient; any other 4xx (a 400 or 422 without a code included) is
    about our request or account, never the patient's number; a delivery report without one is transient."""
    info = lookup(code)
    if info:
        return info.about
    if http_status is None or http_status == 429 or http_status >= 500:
        return TRANSIENT
    return ORGANIZATION if http_status >= 400 else TRANSIENT
