"""The call script, turn by turn. Understandings are built by hand so these tests do not
depend on how well the NLU reads a sentence."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from duedesk.core import timing
from duedesk.core.dialog import CallContext, Effect, collected, respond, start, transcript


@dataclass(frozen=True)
class U:  # the fields of duedesk.core.nlu.Understanding the call reads
    intent: str
    date: date | None = None
    amount: Decimal | None = None
    lang: str = "en"
    vague_date: bool = False
    question_topic: str | None = None


NOW = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
DOB = date(1980, 3, 3)
FRIDAY = date(2025, 12, 5)

CTX = CallContext(
    org_name="Sunrise Family Clinic",
    first_name="Dana",
    last_name="Reyes",
    lang="en",
    amount=Decimal("120.50"),
    currency="USD",
    due_date=date(2025, 11, 24),
    date_of_birth=DOB,
    zip_code="90210",
    callback_number="+12125552368",
    voicemail_name="Maria",
    now=NOW,
    tz="America/New_York",
)

YES = (U("affirm"), "yes")
NO = (U("deny"), "no")
DOB_OK = (U("unclear"), "march third nineteen eighty")
DOB_WRONG = (U("unclear"), "april ninth nineteen seventy")
SILENCE = (None, None)
DETAILS = ("$120", "120.50", "November", "Monday", "balance", "billing", "bill", "pay")


def talk(ctx, *answers):
    """The call from the opener through each answer; state goes through JSON like the shell's."""
    turns = [start(ctx)]
    for heard, text in answers:
        assert not turns[-1].done, "the call ended before this answer"
        state = json.loads(json.dumps(turns[-1].state))
        turns.append(respond(ctx, state, heard, text))
    return turns


def verified(ctx=CTX, *answers):
    return talk(ctx, YES, DOB_OK, *answers)


def kinds(turn):
    return [e.kind for e in turn.effects]


def effect(turn, kind) -> Effect:
    return next(e for e in turn.effects if e.kind == kind)


def assert_no_details(turns):
    for t in turns:
        for word in DETAILS:
            assert word.lower() not in t.say.lower(), (word, t.say)


# ---- opener and identity ------------------------------------------------------------------


def test_opener_names_the_organization_and_asks_for_the_patient():
    t = start(CTX)
    assert t.say.startswith(
        "Hello, this is an automated assistant calling on behalf of Sunrise Family Clinic."
    )
    assert t.say.endswith("Am I speaking with Dana Reyes?")
    assert "recorded" not in t.say
    assert t.listen and not t.done and t.lang == "en-US" and t.effects == ()


def test_recording_notice_only_when_recording():
    t = start(replace(CTX, recording=True))
    assert "This call is being recorded." in t.say
    assert t.say.index("recorded") < t.say.index("Am I speaking")


def test_date_of_birth_verifies_then_balance_is_disclosed():
    turns = verified()
    assert turns[1].say == "Thank you. To protect your privacy, could you please tell me your date of birth?"
    assert_no_details(turns[:2])
    last = turns[-1]
    assert kinds(last) == ["identity_verified"]
    assert effect(last, "identity_verified").data == {"method": "dob"}
    assert "your balance of $120.50, which was due on Monday, November 24." in last.say
    assert "How would you like to take care of it?" in last.say
    assert last.listen and collected(last.state)["identity_verified"] is True


def test_two_wrong_dates_of_birth_end_with_the_limited_content_message():
    turns = talk(CTX, YES, DOB_WRONG, DOB_WRONG)
    last = turns[-1]
    assert "couldn't confirm" in turns[2].say
    assert last.done and not last.listen and last.outcome == "identity_failed"
    assert kinds(last) == ["identity_failed"]
    assert effect(last, "identity_failed").data == {"reason": "mismatch"}
    assert last.say == (
        "I'm sorry, I wasn't able to confirm who I'm speaking with, so I can't go any further on this call. "
        "Please call Sunrise Family Clinic back at 2 1 2, 5 5 5, 2 3 6 8 and ask for Maria. Goodbye."
    )
    assert_no_details(turns)
    assert collected(last.state) == {
        "identity_verified": False,
        "promised_date": None,
        "stated_reason": None,
        "amount_offered": None,
        "outcome": "identity_failed",
    }


def test_limited_content_message_without_a_person_or_a_number():
    wrong = (DOB_WRONG, DOB_WRONG)
    nobody = talk(replace(CTX, voicemail_name=""), YES, *wrong)[-1]
    assert "Please call Sunrise Family Clinic back at 2 1 2, 5 5 5, 2 3 6 8. Goodbye." in nobody.say
    revealing = talk(replace(CTX, voicemail_name="Debt Collections"), YES, *wrong)[-1]
    assert "Debt" not in revealing.say
    no_number = talk(replace(CTX, callback_number=""), YES, *wrong)[-1]
    assert no_number.say.endswith("on this call. Goodbye.") and no_number.outcome == "identity_failed"


def test_one_wrong_date_of_birth_then_the_right_one():
    turns = talk(CTX, YES, DOB_WRONG, (U("unclear"), "3/3/1980"))
    assert kinds(turns[-1]) == ["identity_verified"]


def test_zip_code_check_by_speech_or_keypad():
    ctx = replace(CTX, identity_check="zip")
    turns = talk(ctx, YES, (U("unclear"), "nine oh two one oh"))
    assert "ZIP code" in turns[1].say
    assert effect(turns[-1], "identity_verified").data == {"method": "zip"}
    assert kinds(talk(ctx, YES, (U("unclear"), "90210"))[-1]) == ["identity_verified"]
    failed = talk(ctx, YES, (U("unclear"), "10001"), (U("unclear"), "10002"))
    assert failed[-1].outcome == "identity_failed"
    assert_no_details(failed)


def test_name_only_check_says_nothing_about_the_bill():
    turns = talk(replace(CTX, identity_check="name_only"), YES)
    assert effect(turns[-1], "identity_failed").data == {"reason": "name_only"}
    assert turns[-1].done and turns[-1].outcome == "limited_content"
    assert "Please call Sunrise Family Clinic back at" in turns[-1].say
    assert_no_details(turns)


def test_missing_date_of_birth_falls_back_to_zip_and_nothing_on_file_fails():
    turns = talk(replace(CTX, date_of_birth=None), YES)
    assert "ZIP code" in turns[-1].say
    bare = replace(CTX, date_of_birth=None, zip_code=None)
    turns = talk(bare, YES)
    assert turns[-1].outcome == "identity_failed"
    assert effect(turns[-1], "identity_failed").data == {"reason": "no_identity_data"}
    assert_no_details(turns)


def test_no_at_the_name_question_leaves_only_the_limited_content_message():
    turns = talk(CTX, NO)
    last = turns[-1]
    assert last.outcome == "identity_failed" and last.done
    assert effect(last, "identity_failed").data == {"reason": "not_the_patient"}
    assert "Please call Sunrise Family Clinic back" in last.say
    assert_no_details(turns)


def test_wrong_person_at_the_name_question():
    turns = talk(CTX, (U("wrong_person"), "you have the wrong number"))
    last = turns[-1]
    assert last.outcome == "wrong_person" and last.done
    assert kinds(last) == ["mark_wrong_number"]
    assert "sorry" in last.say.lower()
    assert_no_details(turns)


@pytest.mark.parametrize("step", [(), (YES,)])
def test_opt_out_before_identity_is_honoured_without_details(step):
    turns = talk(CTX, *step, (U("opt_out"), "stop calling me"))
    last = turns[-1]
    assert last.outcome == "opted_out" and last.done
    assert effect(last, "opt_out").data == {"channel": "call"}
    assert_no_details(turns)


def test_opt_out_that_mentions_texts_covers_every_channel():
    turns = verified(CTX, (U("opt_out"), "don't call or text me ever again"))
    assert effect(turns[-1], "opt_out").data == {"channel": "all"}
    assert "call or text" in turns[-1].say


def test_request_human_before_identity_hands_off_without_details():
    turns = talk(CTX, (U("request_human"), "let me talk to a real person"))
    last = turns[-1]
    assert last.outcome == "request_human" and last.done and last.transfer_to is None
    assert kinds(last) == ["open_handoff"]
    assert effect(last, "open_handoff").data["reason"] == "request_human"
    assert "identity not verified" in effect(last, "open_handoff").data["summary"]
    assert_no_details(turns)


def test_request_human_before_identity_transfers_when_staff_are_in():
    ctx = replace(CTX, business_hours_open=True, transfer_number="+12125550100")
    last = talk(ctx, (U("request_human"), "operator"))[-1]
    assert last.transfer_to == "+12125550100"
    assert kinds(last) == ["open_handoff", "transfer"]
    assert "billing" not in last.say


@pytest.mark.parametrize("intent", ["dispute", "hardship", "payment_plan", "pay_now", "already_paid"])
def test_other_intents_before_identity_ask_again_then_end(intent):
    said = (U(intent), "I don't owe you anything")
    turns = talk(CTX, said)
    assert "Before I can go on, I need to confirm who I'm speaking with." in turns[-1].say
    assert turns[-1].say.endswith("Am I speaking with Dana Reyes?")
    turns = talk(CTX, said, said)
    assert turns[-1].outcome == "identity_failed"
    assert effect(turns[-1], "identity_failed").data == {"reason": "not_answered"}
    assert_no_details(turns)
    # At the date-of-birth question too.
    turns = talk(CTX, YES, said, said)
    assert "date of birth" in turns[2].say and turns[-1].outcome == "identity_failed"
    assert_no_details(turns)


def test_questions_before_identity():
    turns = talk(CTX, (U("question", question_topic="who"), "who is this?"))
    assert "automated assistant calling on behalf of Sunrise Family Clinic" in turns[-1].say
    turns = talk(CTX, YES, (U("question", question_topic="amount"), "how much is it?"))
    assert "as soon as I've confirmed who I'm speaking with" in turns[-1].say
    assert "date of birth" in turns[-1].say
    assert_no_details(turns)


def test_callback_later_before_identity_says_nothing_of_the_invoice():
    turns = talk(CTX, (U("callback_later"), "I'm driving, call me later"))
    assert turns[-1].outcome == "callback_later"
    assert_no_details(turns)


def test_silence_twice_before_identity_ends_with_a_handoff_and_no_details():
    turns = talk(CTX, SILENCE, SILENCE)
    assert turns[1].say.startswith("Are you still there?")
    last = turns[-1]
    assert last.outcome == "unclear"
    assert effect(last, "open_handoff").data["reason"] == "unclear"
    assert "Please call Sunrise Family Clinic back" in last.say
    assert_no_details(turns)


# ---- resolving ------------------------------------------------------------------------------


def test_pay_now_texts_the_link_and_confirms():
    turns = verified(CTX, (U("pay_now"), "I'll pay now"))
    assert kinds(turns[-1]) == ["send_pay_link"]
    assert "Did it come through?" in turns[-1].say and turns[-1].listen
    last = respond(CTX, turns[-1].state, *YES)
    assert last.outcome == "paid" and last.done and last.effects == ()
    late = respond(CTX, turns[-1].state, *NO)
    assert late.outcome == "paid" and "2 1 2, 5 5 5, 2 3 6 8" in late.say
    quiet = respond(CTX, turns[-1].state, *SILENCE)
    assert quiet.outcome == "paid" and quiet.effects == ()


def test_pay_now_again_does_not_text_the_link_twice():
    turns = verified(CTX, (U("pay_now"), "I'll pay now"), (U("pay_now"), "yes I'm paying it now"))
    assert turns[-1].effects == () and turns[-1].outcome == "paid"


def test_promise_is_read_back_and_recorded_on_yes():
    turns = verified(CTX, (U("promise_to_pay", date=FRIDAY), "I can pay Friday"), YES)
    assert turns[-2].say == "Friday, December 5. Is that right?"
    assert turns[-2].effects == ()
    last = turns[-1]
    assert last.outcome == "promised" and last.done
    assert effect(last, "record_promise").data == {"date": FRIDAY, "amount": None}
    assert "Friday, December 5" in last.say
    assert collected(last.state)["promised_date"] == "2025-12-05"


def test_promise_with_an_amount_reads_both_back():
    heard = U("promise_to_pay", date=FRIDAY, amount=Decimal("50"))
    turns = verified(CTX, (heard, "I can pay fifty dollars Friday"), YES)
    assert turns[-2].say == "$50.00 on Friday, December 5. Is that right?"
    assert effect(turns[-1], "record_promise").data == {"date": FRIDAY, "amount": Decimal("50")}
    assert collected(turns[-1].state)["amount_offered"] == "50"


def test_vague_date_then_a_specific_one():
    turns = verified(
        CTX,
        (U("promise_to_pay", vague_date=True), "sometime next week"),
        (U("unclear", date=date(2025, 12, 9)), "Tuesday the ninth"),
        YES,
    )
    assert "specific day" in turns[3].say and not turns[3].effects
    assert turns[4].say == "Tuesday, December 9. Is that right?"
    assert effect(turns[-1], "record_promise").data["date"] == date(2025, 12, 9)


def test_promise_without_any_date_asks_for_one():
    turns = verified(CTX, (U("promise_to_pay"), "I'll pay soon"))
    assert "specific day" in turns[-1].say


def test_two_vague_dates_hand_off():
    vague = (U("promise_to_pay", vague_date=True), "sometime soon")
    last = verified(CTX, vague, vague)[-1]
    assert last.outcome == "unclear" and effect(last, "open_handoff").data["reason"] == "unclear"
    assert "specific day" in effect(last, "open_handoff").data["summary"]


def test_no_to_the_read_back_asks_again():
    turns = verified(
        CTX,
        (U("promise_to_pay", date=FRIDAY), "Friday"),
        NO,
        (U("promise_to_pay", date=date(2025, 12, 12)), "the twelfth"),
        YES,
    )
    assert turns[4].say == "No problem. Which day would work for you?"
    assert effect(turns[-1], "record_promise").data["date"] == date(2025, 12, 12)


def test_a_corrected_date_at_the_read_back_is_read_back_again():
    turns = verified(
        CTX,
        (U("promise_to_pay", date=FRIDAY), "Friday"),
        (U("deny", date=date(2025, 12, 8)), "no, Monday"),
    )
    assert turns[-1].say == "Monday, December 8. Is that right?"


def test_a_date_that_has_passed_is_not_accepted():
    turns = verified(CTX, (U("promise_to_pay", date=date(2025, 11, 28)), "last Friday"))
    assert "already passed" in turns[-1].say and turns[-1].listen


def test_a_date_beyond_the_promise_window_offers_a_plan_and_hands_off():
    far = date(2026, 1, 15)
    last = verified(CTX, (U("promise_to_pay", date=far), "January fifteenth"))[-1]
    assert last.outcome == "payment_plan" and last.done
    assert "payment plan" in last.say
    handoff = effect(last, "open_handoff").data
    assert handoff["reason"] == "payment_plan"
    assert "Asked to pay on Jan 15, 2026," in handoff["summary"]  # a date staff read, not 2026-01-15
    assert "record_promise" not in kinds(last)
    assert collected(last.state)["promised_date"] is None


def test_the_last_day_of_the_promise_window_is_accepted():
    edge = date(2025, 12, 31)  # 30 days after December 1
    turns = verified(CTX, (U("promise_to_pay", date=edge), "December 31"))
    assert turns[-1].say == "Wednesday, December 31. Is that right?"
    short = replace(CTX, promise_window_days=7)
    assert verified(short, (U("promise_to_pay", date=edge), "December 31"))[-1].outcome == "payment_plan"


@pytest.mark.parametrize(
    "intent, lead",
    [
        ("payment_plan", "we can work out a payment plan"),
        ("dispute", "sorry for any confusion"),
        ("hardship", "sorry to hear things are difficult"),
        ("request_human", "Of course."),
    ],
)
def test_handoff_intents_get_one_kind_sentence_and_a_handoff(intent, lead):
    text = "I lost my job and can't pay this"
    last = verified(CTX, (U(intent), text))[-1]
    assert lead in last.say and "call you back" in last.say
    assert last.outcome == intent and last.done and last.transfer_to is None
    assert kinds(last) == ["open_handoff"]
    data = effect(last, "open_handoff").data
    assert data["reason"] == intent
    assert "Dana Reyes" in data["summary"] and "identity verified" in data["summary"]
    assert " due Nov 24, 2025; " in data["summary"]  # in words, as the inbox shows it
    assert text in data["summary"]
    reason = collected(last.state)["stated_reason"]
    assert reason == (text if intent in ("dispute", "hardship") else None)


def test_warm_transfer_only_in_business_hours_with_a_number():
    said = (U("dispute"), "I never had that appointment")
    open_ = replace(CTX, business_hours_open=True, transfer_number="+12125550100")
    last = verified(open_, said)[-1]
    assert last.transfer_to == "+12125550100" and not last.listen and last.done
    assert kinds(last) == ["open_handoff", "transfer"]
    assert effect(last, "transfer").data == {"number": "+12125550100"}
    assert "connecting you" in last.say
    closed = replace(open_, business_hours_open=False)
    assert verified(closed, said)[-1].transfer_to is None
    no_number = replace(CTX, business_hours_open=True)
    assert verified(no_number, said)[-1].transfer_to is None


@pytest.mark.parametrize(
    "now, until",
    [
        (NOW, date(2025, 12, 4)),  # Monday -> Thursday
        (datetime(2025, 12, 5, 15, tzinfo=UTC), date(2025, 12, 10)),  # Friday -> Wednesday
    ],
)
def test_already_paid_pauses_three_business_days_and_asks_staff_to_verify(now, until):
    ctx = replace(CTX, now=now)
    last = verified(ctx, (U("already_paid"), "I paid it last week"))[-1]
    assert last.outcome == "already_paid" and last.done
    assert kinds(last) == ["pause_invoice", "open_handoff"]
    assert effect(last, "pause_invoice").data == {"until": until}
    assert effect(last, "open_handoff").data["reason"] == "verify_payment"
    assert "Thank you for letting us know" in last.say


def test_wrong_person_after_identity_marks_the_number():
    last = verified(CTX, (U("wrong_person"), "that's not me"))[-1]
    assert last.outcome == "wrong_person" and kinds(last) == ["mark_wrong_number"]


def test_callback_later_without_a_day_lands_inside_the_send_window():
    last = verified(CTX, (U("callback_later"), "call me back later"))[-1]
    assert last.outcome == "callback_later" and last.done
    data = effect(last, "schedule_callback").data
    assert data["date"] is None
    assert data["at"] == datetime(2025, 12, 1, 17, 0, tzinfo=UTC)  # 12:00 local, two hours on
    late = replace(CTX, now=datetime(2025, 12, 1, 23, 30, tzinfo=UTC))  # 18:30 local
    data = effect(verified(late, (U("callback_later"), "later"))[-1], "schedule_callback").data
    assert data["at"] == datetime(2025, 12, 2, 14, 0, tzinfo=UTC)  # next morning 09:00
    assert timing.is_open(data["at"], CTX.tz, CTX.send_window)


def test_callback_later_on_a_named_day():
    last = verified(CTX, (U("callback_later", date=date(2025, 12, 3)), "call me Wednesday"))[-1]
    data = effect(last, "schedule_callback").data
    assert data == {"at": datetime(2025, 12, 3, 14, 0, tzinfo=UTC), "date": date(2025, 12, 3), "part": None,
                    "asked": True}
    assert "Wednesday, December 3" in last.say


def test_callback_on_a_named_afternoon_is_not_tried_before_noon():
    last = verified(CTX, (U("callback_later", date=date(2025, 12, 4)), "call me back Thursday afternoon"))[-1]
    data = effect(last, "schedule_callback").data
    assert data == {"at": datetime(2025, 12, 4, 17, 0, tzinfo=UTC), "date": date(2025, 12, 4), "part": "afternoon",
                    "asked": True}


@pytest.mark.parametrize("said, part", [
    ("call me back Thursday afternoon", "afternoon"), ("tomorrow morning is better", "morning"),
    ("llámeme el jueves por la tarde", "afternoon"), ("llámeme mañana", None), ("por la mañana", "morning"),
    ("this evening", "evening"), ("call me back friday", None), ("", None)])
def test_the_part_of_the_day_a_patient_names(said, part):
    assert timing.part_of_day(said) == part


@pytest.mark.parametrize(
    "topic, answer",
    [
        ("amount", "Your balance is $120.50."),
        ("due_date", "It was due on Monday, November 24."),
        ("who", "I'm an automated assistant calling on behalf of Sunrise Family Clinic."),
        ("what_for", "It's the balance on your account with Sunrise Family Clinic."),
        (None, "I don't have that information"),
    ],
)
def test_questions_are_answered_from_the_records_then_the_question_is_asked_again(topic, answer):
    last = verified(CTX, (U("question", question_topic=topic), "sorry?"))[-1]
    assert answer in last.say and last.listen and not last.effects
    assert last.say.endswith("is there a day you plan to pay?")


def test_a_question_during_the_read_back_returns_to_it():
    last = verified(
        CTX,
        (U("promise_to_pay", date=FRIDAY), "Friday"),
        (U("question", question_topic="amount"), "how much?"),
    )[-1]
    assert last.say == "Your balance is $120.50. Friday, December 5. Is that right?"


def test_unclear_twice_hands_off():
    turns = verified(CTX, (U("unclear"), "hmm"), (U("unclear"), "what"))
    assert turns[-2].say.startswith("Sorry, I didn't catch that.") and turns[-2].listen
    last = turns[-1]
    assert last.outcome == "unclear" and last.done
    data = effect(last, "open_handoff").data
    assert data["reason"] == "unclear" and "could not be understood" in data["summary"]
    assert "call you back" in last.say


def test_silence_twice_hands_off():
    turns = verified(CTX, SILENCE, SILENCE)
    assert turns[-2].say.startswith("Are you still there?")
    data = effect(turns[-1], "open_handoff").data
    assert data["reason"] == "unclear" and "no answer was heard" in data["summary"]
    assert turns[-1].outcome == "unclear"


def test_an_understood_answer_resets_the_miss_count():
    turns = verified(CTX, SILENCE, (U("question", question_topic="amount"), "how much?"), SILENCE)
    assert turns[-1].listen and not turns[-1].done


def test_a_call_that_goes_round_in_circles_ends():
    ask = (U("question", question_topic="amount"), "how much?")
    turns = verified(CTX, *[ask] * 19)  # 2 identity answers + 19 questions > 20 turns
    assert turns[-2].listen
    assert turns[-1].outcome == "unclear" and turns[-1].done


def test_respond_after_the_end_does_nothing():
    last = verified(CTX, (U("wrong_person"), "not me"))[-1]
    again = respond(CTX, last.state, *YES)
    assert again.done and again.say == "" and again.effects == () and again.outcome == "wrong_person"


def test_transcript_and_collected_answers():
    turns = verified(CTX, (U("dispute"), "I was never seen on that day"))
    st = turns[-1].state
    lines = transcript(st)
    assert [t["speaker"] for t in lines] == ["assistant", "patient"] * 3 + ["assistant"]
    # identity answers carry no intent: they say who the patient is, nothing about the bill
    assert lines[1] == {"speaker": "patient", "text": "yes", "intent": None}
    assert lines[3] == {"speaker": "patient", "text": "march third nineteen eighty", "intent": None}
    assert lines[5] == {"speaker": "patient", "text": "I was never seen on that day", "intent": "dispute"}
    assert [t["text"] for t in lines if t["speaker"] == "assistant"] == [t.say for t in turns]
    assert all(t["intent"] is None for t in lines if t["speaker"] == "assistant")
    assert collected(st) == {
        "identity_verified": True,
        "promised_date": None,
        "stated_reason": "I was never seen on that day",
        "amount_offered": None,
        "outcome": "dispute",
    }
    silent = transcript(talk(CTX, SILENCE)[-1].state)
    assert silent[1] == {"speaker": "patient", "text": "", "intent": None}


def test_the_state_is_not_changed_in_place():
    first = start(CTX)
    before = json.dumps(first.state)
    respond(CTX, first.state, *YES)
    assert json.dumps(first.state) == before


# ---- Spanish ----------------------------------------------------------------------------------


def test_a_full_conversation_in_spanish():
    ctx = replace(CTX, lang="es", recording=True)
    turns = talk(
        ctx,
        (U("affirm", lang="es"), "sí, soy yo"),
        (U("unclear", lang="es"), "el tres de marzo de mil novecientos ochenta"),
        (U("promise_to_pay", lang="es", vague_date=True), "la próxima semana"),
        (U("promise_to_pay", lang="es", date=FRIDAY), "el viernes"),
        (U("affirm", lang="es"), "sí"),
    )
    assert all(t.lang == "es-US" for t in turns)
    opener = turns[0].say
    assert opener.startswith("Hola, le habla un asistente automático en nombre de Sunrise Family Clinic.")
    assert "Esta llamada está siendo grabada." in opener and opener.endswith("¿Hablo con Dana Reyes?")
    assert "fecha de nacimiento" in turns[1].say
    assert "$120.50" in turns[2].say and "venció el lunes, 24 de noviembre" in turns[2].say
    assert "¿Cómo le gustaría resolverlo?" in turns[2].say
    assert "día exacto" in turns[3].say
    assert turns[4].say == "El viernes, 5 de diciembre. ¿Es correcto?"
    assert "He anotado que piensa pagar el viernes, 5 de diciembre." in turns[5].say
    assert turns[5].outcome == "promised"
    assert effect(turns[5], "record_promise").data["date"] == FRIDAY
    english = ("the ", "your ", "thank", "please")
    for t in turns:
        assert not any(w in t.say.lower() for w in english), t.say


def test_spanish_identity_failure_and_handoff():
    ctx = replace(CTX, lang="es")
    failed = talk(
        ctx, (U("affirm"), "sí"), (U("unclear"), "1 de enero de 1990"), (U("unclear"), "2 de enero de 1990")
    )
    assert failed[-1].outcome == "identity_failed"
    assert (
        "Por favor, llame a Sunrise Family Clinic al 2 1 2, 5 5 5, 2 3 6 8 y pregunte por Maria."
        in failed[-1].say
    )
    assert_no_details(failed)
    last = talk(ctx, (U("affirm"), "sí"), (U("unclear"), "3/3/1980"), (U("hardship"), "perdí mi trabajo"))[-1]
    assert "Lamento mucho" in last.say and "devuelva la llamada" in last.say
    assert collected(last.state)["stated_reason"] == "perdí mi trabajo"


@pytest.mark.parametrize(
    "answer",
    [
        (U("pay_now"), "pago ahora"),
        (U("already_paid"), "ya pagué"),
        (U("wrong_person"), "número equivocado"),
        (U("opt_out"), "no me llamen más"),
        (U("callback_later"), "llámeme más tarde"),
        (U("question", question_topic="due_date"), "¿cuándo vencía?"),
        (U("unclear"), "eh"),
        SILENCE,
        (U("promise_to_pay", date=date(2025, 11, 1)), "el primero de noviembre"),
        (U("promise_to_pay", date=date(2026, 3, 1)), "en marzo"),
    ],
)
def test_spanish_phrases_for_every_branch(answer):
    ctx = replace(CTX, lang="es", business_hours_open=True, transfer_number="+12125550100")
    t = verified(ctx, answer)[-1]
    assert t.say and t.lang == "es-US"
    assert not any(w in t.say.lower() for w in ("the ", "your ", "thank", "please ")), t.say


def test_a_turn_leaves_the_state_it_was_given_as_it_was():
    """The shell keeps the state a turn started from (a replayed webhook says the last turn again): a turn works
    on its own copy of the transcript and the answers, however deep."""
    from duedesk.core.dialog.machine import copy_state

    state = json.loads(json.dumps(talk(CTX, YES, DOB_OK)[-1].state))
    before = json.dumps(state, sort_keys=True)
    after = respond(CTX, state, U("promise", date=FRIDAY), "friday")
    assert json.dumps(state, sort_keys=True) == before
    assert len(after.state["transcript"]) > len(state["transcript"])
    copied = copy_state(state)
    assert copied == state and copied["transcript"] is not state["transcript"]
    assert copied["transcript"][0] is not state["transcript"][0] and copied["collected"] is not state["collected"]
