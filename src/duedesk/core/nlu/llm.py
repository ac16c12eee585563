"""Optional second opinion from a language model, for utterances the rules call unclear.

Off unless a base URL and a model are configured (``configure``; the Django settings pass
``DUEDESK_LLM_BASE_URL``, ``DUEDESK_LLM_MODEL``, ``DUEDESK_LLM_API_KEY`` and ``DUEDESK_LLM_TIMEOUT`` in when
the apps load: the core reads no environment). It may
only name an intent from the fixed list: dates, amounts and what happens next
stay with the rules and the workflow. Any slowness, error or reply outside the
schema returns None, and the caller keeps the rules' answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_TIMEOUT = 1.5

_SYSTEM = (
    "You label one reply from a patient to a clinic's payment reminder (a text message, or one "
    "speech-to-text turn of a phone call). Choose exactly one intent:\n"
    "pay_now: will pay now or later today, or asks how to pay / for the link. "
    "already_paid: says it was paid. promise_to_pay: commits to pay on a future day. "
    "payment_plan: asks to split the bill or pay in instalments. dispute: the bill is wrong, not theirs, "
    "covered by insurance or charged twice. hardship: cannot afford it, lost a job, illness, bereavement, "
    "asks for financial help. wrong_person: wrong number or not the person named. opt_out: asks to stop "
    "texts or calls. request_human: wants a person. callback_later: bad time, call again later. "
    "question: asks what it is for, how much, who is calling or when it was due. affirm: yes. deny: no. "
    "unclear: anything else. If two apply, prefer opt_out, then dispute, then hardship, then request_human."
)


@dataclass(frozen=True)
class LlmSettings:
    base_url: str = ""
    model: str = ""
    api_key: str = ""
    timeout: float = DEFAULT_TIMEOUT


SETTINGS = LlmSettings()


def configure(**values) -> None:
    """Set the model's address, name, key and timeout for this process (see duedesk.settings.LLM)."""
    global SETTINGS
    SETTINGS = LlmSettings(**values)


def configured() -> bool:
    return bool(SETTINGS.base_url and SETTINGS.model)


@lru_cache(maxsize=4)
def _client(base_url: str, api_key: str, timeout: float):
    from openai import OpenAI  # only loaded when a model is configured

    # No retries: a second try cannot fit in the time a caller on the phone will wait.
    return OpenAI(base_url=base_url, api_key=api_key or "unused", timeout=timeout, max_retries=0)


def _schema(intents: tuple[str, ...]) -> dict:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "utterance_intent",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"intent": {"type": "string", "enum": list(intents)}},
                "required": ["intent"],
                "additionalProperties": False,
            },
        },
    }


def classify_with_llm(text: str, lang: str, intents: tuple[str, ...], timeout: float | None = None) -> str | None:
    """An intent from ``intents``, or None on timeout, error or an invalid reply."""
    if not configured():
        return None
    config = SETTINGS
    client = _client(config.base_url, config.api_key, timeout if timeout is not None else config.timeout)
    try:
        reply = client.chat.completions.create(
            model=config.model,
            messages=[
                {"role": "system", "content": _SYSTEM},
                {"role": "user", "content": f"Language: {lang}\nReply: {text}"},
            ],
            response_format=_schema(intents),
            temperature=0,
        )
        content = reply.choices[0].message.content or ""
        intent = json.loads(content).get("intent")
    except Exception:  # timeout, connection, HTTP or JSON error: the rules' answer stands
        return None
    return intent if isinstance(intent, str) and intent in intents else None
