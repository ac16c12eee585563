"""TwilioRest against the local fake Twilio over real loopback HTTP."""

import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from duedesk.channels.errors import TransportError, backoff_delay, retry_delay
from duedesk.integrations.twilio import TwilioRest, channel_effect, describe, is_permanent, sign, validate
from duedesk.integrations.twilio.fake import FakeTwilio
from duedesk.integrations.twilio.rest import _retry_after
from tests.loopback import PATIENCE, refused_port, wait_until

CLINIC = "+15005550006"
PATIENT = "+14155550123"


@pytest.fixture
def fake():
    with FakeTwilio(callbacks=False) as f:
        yield f


@pytest.fixture
def rest(fake):
    with TwilioRest(fake.account_sid, fake.auth_token, base_url=fake.base_url, timeout=PATIENCE) as client:
        yield client


def send(rest, **kw):
    args = {"to": PATIENT, "body": "Hi Ana, invoice 1042 for $80.00 is due Friday.", "from_": CLINIC} | kw
    return rest.send_message(**args)


def test_send_message_returns_twilio_shaped_message(rest, fake):
    msg = send(rest, status_callback="http://127.0.0.1:9/hooks/sms/status", idempotency_key="step-1")
    assert re.fullmatch(r"SM[0-9a-f]{32}", msg["sid"])
    assert msg["status"] == "queued"
    assert (msg["to"], msg["from"]) == (PATIENT, CLINIC)
    assert msg["body"].startswith("Hi Ana")
    assert msg["num_segments"] == "1" and msg["price"] is None
    assert msg["api_version"] == "2010-04-01" and msg["account_sid"] == fake.account_sid
    assert msg["direction"] == "outbound-api"
    assert msg["uri"] == f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{msg['sid']}.json"
    assert parsedate_to_datetime(msg["date_created"]).tzinfo is not None
    recorded = fake.messages[0]
    assert recorded["sid"] == msg["sid"]
    assert recorded["To"] == PATIENT and recorded["From"] == CLINIC
    assert recorded["StatusCallback"] == "http://127.0.0.1:9/hooks/sms/status"
    assert recorded["idempotency_token"] == "step-1"
    assert rest.fetch_message(msg["sid"])["sid"] == msg["sid"]


def test_messaging_service_instead_of_from(rest, fake):
    msg = send(rest, from_=None, messaging_service_sid="MG" + "1" * 32)
    assert msg["messaging_service_sid"] == "MG" + "1" * 32 and msg["from"] is None


@pytest.mark.parametrize(
    "kw, code",
    [
        ({"body": ""}, "21602"),
        ({"to": "555-0123"}, "21211"),
        ({"to": ""}, "21604"),
        ({"from_": None}, "21603"),
        ({"body": "x" * 1601}, "21617"),
    ],
)
def test_refused_fields_are_permanent_with_the_twilio_code(rest, fake, kw, code):
    with pytest.raises(TransportError) as caught:
        send(rest, **kw)
    err = caught.value
    assert (err.permanent, err.code, err.http_status, err.accepted_unknown) == (True, code, 400, False)
    assert code in str(err)
    assert fake.messages == []


def test_number_rule_gives_channel_effect(rest, fake):
    fake.error_for(PATIENT, code=21610)
    with pytest.raises(TransportError) as caught:
        send(rest)
    assert caught.value.permanent and caught.value.code == "21610"
    assert channel_effect(caught.value.code) == "opted_out"


def test_wrong_credentials_are_permanent(fake):
    with TwilioRest(fake.account_sid, "wrong", base_url=fake.base_url) as rest:
        with pytest.raises(TransportError) as caught:
            send(rest)
    assert (caught.value.http_status, caught.value.code, caught.value.permanent) == (401, "20003", True)


def test_429_is_transient_with_retry_after(rest, fake):
    fake.fail_next(1, status=429, retry_after=7)
    with pytest.raises(TransportError) as caught:
        send(rest)
    err = caught.value
    assert (err.permanent, err.http_status, err.retry_after, err.code) == (False, 429, 7.0, "20429")
    assert not err.accepted_unknown
    assert send(rest)["status"] == "queued"  # the fault is spent
    assert len(fake.messages) == 1


def test_500_is_transient(rest, fake):
    fake.fail_next(1, status=500)
    with pytest.raises(TransportError) as caught:
        send(rest)
    assert (caught.value.permanent, caught.value.http_status, caught.value.accepted_unknown) == (
        False,
        500,
        False,
    )
    assert fake.messages == []


def test_timeout_after_acceptance_is_accepted_unknown(fake, rest):
    fake.slow_next(1, seconds=PATIENCE)  # its answer comes only when the fake stops, long after our timeout
    with TwilioRest(fake.account_sid, fake.auth_token, base_url=fake.base_url, timeout=0.3) as impatient:
        with pytest.raises(TransportError) as caught:
            send(impatient)
    err = caught.value
    assert err.accepted_unknown and not err.permanent
    wait_until(lambda: fake.messages, "the fake to take the text")  # Twilio got it; only the answer was lost
    assert len(fake.messages) == 1
    # Reconciliation finds the send instead of texting the patient twice.
    found = rest.find_messages(to=PATIENT, date_sent_after=datetime.now(UTC) - timedelta(minutes=5))
    assert [m["sid"] for m in found] == [fake.messages[0]["sid"]]


def test_connection_refused_is_transient_and_not_accepted():
    with refused_port() as port, TwilioRest("AC" + "0" * 32, "t", base_url=f"http://127.0.0.1:{port}",
                                            timeout=PATIENCE) as rest:
        with pytest.raises(TransportError) as caught:
            send(rest)
    assert not caught.value.permanent and not caught.value.accepted_unknown


def test_idempotency_token_dedupes(rest, fake):
    first = send(rest, idempotency_key="enr-7:reminder-3d:0")
    again = send(rest, idempotency_key="enr-7:reminder-3d:0")
    other = send(rest, idempotency_key="enr-7:reminder-1d:0")
    assert first["sid"] == again["sid"] != other["sid"]
    assert len(fake.messages) == 2
    assert fake.counters["idempotent_replays"] == 1


def test_without_its_dedupe_guard_the_fake_is_twilio_a_repeated_request_is_a_second_text():
    with FakeTwilio(callbacks=False, dedupe=False) as fake, TwilioRest(
            fake.account_sid, fake.auth_token, base_url=fake.base_url) as rest:
        first = send(rest, idempotency_key="enr-7:reminder-3d:0")
        again = send(rest, idempotency_key="enr-7:reminder-3d:0")
    assert first["sid"] != again["sid"]
    assert [m["idempotency_token"] for m in fake.messages] == ["enr-7:reminder-3d:0"] * 2


def test_lookups_are_asked_again_after_a_429_or_500_but_sends_never_are(fake):
    pauses = []
    with TwilioRest(fake.account_sid, fake.auth_token, base_url=fake.base_url, sleep=pauses.append) as rest:
        sent = send(rest)
        fake.fail_next(1, status=429, retry_after=1)
        fake.fail_next(1, status=500)
        assert [m["sid"] for m in rest.find_messages(to=PATIENT)] == [sent["sid"]]
        assert pauses == [1.0, 0.5]
        fake.fail_next(3, status=503)
        with pytest.raises(TransportError):  # three tries, then the caller decides (a person, for a send)
            rest.find_messages(to=PATIENT)
        fake.fail_next(1, status=500)
        with pytest.raises(TransportError):
            send(rest)
    assert len(fake.messages) == 1


def test_find_messages_filters_and_pages(rest, fake):
    for i in range(105):
        send(rest, body=f"reminder {i}")
    send(rest, to="+14155550199")
    found = rest.find_messages(to=PATIENT)
    assert len(found) == 105
    assert found[0]["body"] == "reminder 104"  # newest first, as Twilio lists
    assert rest.find_messages(to=PATIENT, date_sent_after=datetime.now(UTC) + timedelta(hours=1)) == []
    assert rest.find_messages(to="+14155550100") == []


def test_unknown_sid_is_permanent_not_found(rest):
    with pytest.raises(TransportError) as caught:
        rest.fetch_message("SM" + "0" * 32)
    assert (caught.value.http_status, caught.value.code, caught.value.permanent) == (404, "20404", True)


def test_create_call_sends_twilio_fields(fake):
    with TwilioRest(fake.account_sid, fake.auth_token, base_url=fake.base_url) as rest:
        call = rest.create_call(
            to=PATIENT,
            from_=CLINIC,
            url="http://127.0.0.1:9/voice/answer",
            status_callback="http://127.0.0.1:9/voice/status",
            async_amd_status_callback="http://127.0.0.1:9/voice/amd",
            timeout=25,
            idempotency_key="call-1",
        )
        assert re.fullmatch(r"CA[0-9a-f]{32}", call["sid"]) and call["status"] == "queued"
        assert rest.fetch_call(call["sid"])["to"] == PATIENT
    recorded = fake.calls[0]
    assert recorded["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert (recorded["MachineDetection"], recorded["AsyncAmd"]) == ("DetectMessageEnd", "true")
    assert recorded["AsyncAmdStatusCallback"] == "http://127.0.0.1:9/voice/amd"
    assert (recorded["Method"], recorded["Record"], recorded["Timeout"]) == ("POST", "false", "25")


def test_classification():
    assert is_permanent("21211") and is_permanent(30003)
    assert not is_permanent("20429") and not is_permanent("30008")
    assert is_permanent("99999", 400) and not is_permanent("99999", 429) and not is_permanent(None, 503)
    assert channel_effect("21211") == "invalid_number"
    assert channel_effect("21614") == "not_mobile"
    assert channel_effect("30003") == "unreachable"
    assert channel_effect("30007") is None and channel_effect(None) is None
    assert "landline" in describe("30006")


def test_backoff_delay_is_bounded_and_grows():
    rng = random.Random(42)
    ceilings = [max(backoff_delay(a, base=1.0, cap=300.0, rng=rng) for _ in range(200)) for a in range(12)]
    assert all(0 <= c <= 300.0 for c in ceilings)
    assert ceilings[0] <= 1.0 and ceilings[3] <= 8.0
    assert ceilings[1] < ceilings[4] < ceilings[7]
    assert ceilings[11] > 200  # reaches the cap region but never passes it
    err = TransportError("busy", retry_after=120.0)
    assert retry_delay(err, 0, rng=rng) == 120.0


def test_retry_after_accepts_seconds_and_http_dates():
    assert _retry_after("3") == 3.0
    assert _retry_after(None) is None and _retry_after("soon") is None
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=60), usegmt=True)
    assert _retry_after(later, now=now.timestamp) == 60.0
    assert _retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now.timestamp) == 0.0


def test_signing_round_trip_with_repeated_fields():
    url = "https://clinic.example/hooks/twilio/sms/status"
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "Event": ["b", "a"]}
    signature = sign("secret", url, params)
    assert validate("secret", url, params, signature)
    assert not validate("secret", url, {**params, "MessageStatus": "failed"}, signature)
    assert not validate("other", url, params, signature)
    assert not validate("secret", url, params, None)


@pytest.mark.parametrize("url", ["https://clinic.example/hooks/twilio/voice/turn?call=7&n=2",
                                 "https://clinic.example:443/hooks/twilio/voice/turn?call=7&n=2",
                                 "http://127.0.0.1:8000/hooks/twilio/sms"])
def test_a_signature_is_checked_as_twilio_signs_with_or_without_the_port(url):
    """Twilio signs the URL with its port or without it: either is accepted, whichever form we were given, and
    nothing else is (as the official validator decides, which signs both forms every time)."""
    from urllib.parse import urlparse

    from twilio.request_validator import RequestValidator, add_port, remove_port

    params = {"CallSid": "CA1", "SpeechResult": "sorry who is calling"}
    for form in (remove_port(urlparse(url)), add_port(urlparse(url))):
        assert validate("secret", url, params, sign("secret", form, params))
    for wrong in (sign("secret", url.replace("/hooks/", "/hooks/x"), params), sign("other", url, params),
                  sign("secret", url, {**params, "SpeechResult": "I'll pay"}), "not a signature"):
        assert not validate("secret", url, params, wrong)
        assert not RequestValidator("secret").validate(url, params, wrong)


def test_line_type_from_lookup_v2_on_the_lookups_host(fake):
    fake.line_types["+12125550142"] = "landline"
    with TwilioRest(fake.account_sid, fake.auth_token, base_url="http://127.0.0.1:9", lookups_url=fake.base_url,
                    timeout=PATIENCE) as client:  # the REST host is elsewhere: the lookup goes to its own host
        assert client.line_type("+12125550142")["type"] == "landline"
        assert client.line_type(PATIENT)["type"] == "mobile"
        assert client.line_type("+1") == {}  # not a number Twilio knows: no line type
    assert fake.lookups == ["+12125550142", PATIENT, "+1"]


def test_a_lookup_with_wrong_credentials_is_refused(fake):
    with TwilioRest(fake.account_sid, "wrong", base_url=fake.base_url, lookups_url=fake.base_url,
                    timeout=PATIENCE) as client:
        with pytest.raises(TransportError) as refused:
            client.line_type(PATIENT)
    assert refused.value.http_status == 401 and refused.value.permanent


@pytest.mark.parametrize("code, status, about", [
    ("21211", 400, "number"), ("21610", 400, "number"), ("21614", 400, "number"), ("30003", None, "number"),
    ("30005", None, "number"), ("30006", None, "number"),
    ("20003", 401, "organization"), ("21212", 400, "organization"), ("21606", 400, "organization"),
    ("21659", 400, "organization"), ("30034", None, "organization"), (None, 400, "organization"),
    (None, 422, "organization"), (None, 403, "organization"), ("99999", 400, "organization"),
    ("21617", 400, "message"), ("30007", None, "message"), ("21408", 400, "message"),
    ("20429", 429, "transient"), (None, 429, "transient"), (None, 503, "transient"), ("30008", None, "transient"),
])
def test_each_error_says_whom_it_is_about(code, status, about):
    """Only number-level errors may mark a patient's channel; account, sender and request errors are ours."""
    from duedesk.integrations.twilio import errors

    assert errors.scope(code, status) == about
    assert (errors.channel_effect(code) is not None) == (about == "number")
