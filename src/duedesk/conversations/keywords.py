"""Carrier-style keywords (any case, surrounding spaces and punctuation ignored)."""

import re
import unicodedata

STOP = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out",
        "alto", "parar", "cancelar", "no mas"}
START = {"start", "unstop", "yes"}
HELP = {"help", "ayuda"}


def normalize(body: str) -> str:
    folded = unicodedata.normalize("NFKD", body or "").encode("ascii", "ignore").decode().lower()
    folded = re.sub(r"[^a-z0-9 ]+", " ", folded)
    return re.sub(r"\s+", " ", folded).strip()


def keyword(body: str) -> str | None:
    """"stop", "start", "help" when the whole message is one of those keywords, else None."""
    word = normalize(body)
    if word in STOP:
        return "stop"
    if word in START:
        return "start"
    if word in HELP:
        return "help"
    return None


def callback_number(org) -> str:
    """The number HELP names: the callback number, else the number we call or text from (always a working one:
    the gate defers automated texts of an organization that has none, rule no_callback_number)."""
    return org.callback_number or org.voice_caller_id or org.sms_from
