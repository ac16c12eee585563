"""Rules that choose one intent for a normalised utterance.

Both lexicons are applied to every utterance: a Spanish-speaking contact who
answers "yes" or an English one who writes "gracias" is still understood, and
the cues of the two languages hardly ever collide. When an utterance says two
things, the legal stops (``attorney``, ``bankruptcy``, ``cease_contact``) win over everything, then a
stated ``contact_preference`` ("stop calling me, text is fine", "not before 10"), then
``opt_out`` > ``dispute`` > ``hardship`` > ``request_human``, then
the more specific statement beats the more general one (a payment made beats a
promise, a promise beats a yes).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from . import lexicon_en, lexicon_es
from .dates import REFUSED_TODAY, DateResult, ends_with_day, strip_greetings
from .preferences import preference


def _compile(key: str) -> re.Pattern:
    parts = lexicon_en.INTENTS.get(key, []) + lexicon_es.INTENTS.get(key, [])
    return re.compile("|".join(f"(?:{p})" for p in parts))


LEGAL_STOPS = ("attorney", "bankruptcy", "cease_contact")
_KEYS = (
    *LEGAL_STOPS, "opt_out", "dispute", "hardship", "request_human", "wrong_person", "already_paid", "payment_plan", "pay_cue",
    "pay_now", "now_word", "hardship_weak", "callback_later", "question_amount", "question_due_date",
    "question_who", "question_what_for", "affirm", "deny",
)
RX = {k: _compile(k) for k in _KEYS}
_TOPICS = (("question_amount", "amount"), ("question_due_date", "due_date"), ("question_who", "who"),
           ("question_what_for", "what_for"))
_WH = re.compile(lexicon_en.WH + r"|\b(?:que|quien|cuando|donde|como|cual|cuanto|por que)\b")
# "are you a real person?" asks who is calling; "I want a real person" asks for one.
_ASKS_FOR_PERSON = re.compile(
    r"\b(?:want|need|talk|speak|transfer|connect|put me|get me|give me|let me|hablar|quiero|necesito|comuni|pase|transfi)"
)
# "I'm not Daniel", "no soy Luis", "wrong number": the reply denies who they are, whatever else it says
_NOT_THE_PATIENT = re.compile(
    r"\b(?:i am|this is|it is) not (?!the\b|a\b|an\b|my\b|me\b|mine\b|ours\b|it\b|that\b|this\b|sure\b|responsible\b"
    r"|paying\b|going\b|right\b|correct\b|fair\b|true\b|ok\b|covered\b|liable\b)[a-z]+$"
    r"|\bno soy (?!yo\b|responsable\b|el\b|la\b)[a-z]+$|\bwrong (?:number|person)\b|\bnumero equivocado\b"
)
_SHORT = 9  # words: longer replies that merely mention a day are not an answer to "when?"
_NOT_A_DATE_ANSWER = re.compile(r"\b(?:was|were|did|fue|era|ago|hace|weather|clima)\b")
# "hello?" / "¿bueno?" on a call is a greeting, not an answer.
_GREETING = re.compile(r"^(?:hello|hi|hey|hola|bueno|alo|diga|digame|yes|si|yeah)(?: (?:hello|hi|hey|hola|bueno|alo|diga|digame))*$")
# Not understanding is not a "no".
_CONFUSED = re.compile(
    r"\b(?:no (?:le |te |lo )?(?:entiend\w*|entendi\w*|comprend\w*)|que dijo|do not understand|what do you mean"
    r"|^(?:i )?(?:honestly |really |just )?do not know$|did not (?:catch|get|hear) (?:that|you)|can not hear|no (?:le |te |lo )?(?:escuche|oi|oigo|escucho)|say (?:that )?again|repeat (?:that|it)|no se|not sure|como dice|perdon)\b"
    # a bare "what?" / "¿cómo?" / "¿mande?" asks to hear it again
    r"|^(?:a ver |ok |sorry |perdon )?(?:what|como|que|mande|pardon|huh|como dijo|que dijo|excuse me)$"
)
# Negation right before a cue: "can not pay now", "no puedo pagar", "no le pago" (but not "no, I can pay").
_NEGATOR = re.compile(r"(?:\bnot(?: \w+)?|\bno(?: (?:me|le|lo|la|te|les|se))?|\bnever|\bnunca|\btampoco) $")


_NOT_OWED = re.compile(r"\b(?:do not|did not|should not|never) owe\b|\bowe (?:you )?nothing\b|\bno (?:le |les )?debo (?:nada|eso)\b")
# the one who owes paid it themselves (an insurer that paid is a dispute: the bill is wrong)
_I_PAID = re.compile(r"\b(?:i|we|yo|ya) (?:already |have |had |did |ya )*(?:paid|pague|pagamos|lo pague)\b")
# "I thought I already paid this", "pensé que ya lo había pagado": what they believed, not a payment made
_MISTAKEN_PAID = re.compile(
    r"\b(?:thought|figured|assumed|was sure|pense|crei|pensaba|creia)(?: that| que)?(?: (?:i|we|it|this|that|everything|ya|yo))?"
    r"(?: (?:had|have|was|were|is|ya|lo|la|habia|habiamos|estaba|estaban|esta|había sido|habia sido))*(?: already| all| been)*"
    r" (?:paid|pague|pagado|pagada|pagamos|taken care of|settled|handled|cubierto|cubierta)\b(?: (?:it|this|that|for))?"
)
# "I can't pay anything until the 1st", "no puedo hasta el 15": the day it ends is the day they can
_UNTIL_DAY = re.compile(r"\b(?:until|til|till|hasta (?:el|que|la|el dia)|not before)\b")
# "no puedo …, pero el 28": a refusal, then the day they can
_BUT = re.compile(r"\b(?:not|no|can not)\b.*\b(?:but|pero|though|sino|mas bien)\b")
_AMT = (r"(?:\$ ?\d+|\b\d+|\b(?:half|la mitad|part|una parte|ten|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
        r"|a hundred|one hundred|hundred|veinte|treinta|cuarenta|cincuenta|cien|doscientos|trescientos|quinientos)\b)")
_CONTRAST = re.compile(r"\b(?:but|pero|though|sino|mas bien)\b")


def _day_after_but(t: str) -> bool:
    """"ando sin dinero, pero el viernes sí": a hardship, then the day they can (a day told as what
    happened, "I lost my job on friday", has no "but" before it)."""
    m = _CONTRAST.search(t)
    return m is not None and ends_with_day(t[m.end():])


# an amount on one day and the rest (or another amount) on another: one payment split in two
_SPLIT = re.compile(
    rf"{_AMT} (?:dollars |bucks |dolares |pesos )?(?:(?:on|by|this|next|el|la|este|para el) )?(?:the )?\w+(?: \w+)?"
    rf" (?:and|then|plus|y|luego) (?:the rest|the other half|lo demas|el resto|lo que falta|lo restante|la otra mitad"
    rf"|(?:otros? |another )?{_AMT})\b"
)


def _first(t: str, *keys: str) -> str | None:
    """The key whose cue starts earliest in ``t`` ("no, yes" is a no)."""
    best: tuple[int, int, str] | None = None
    for k in keys:
        m = RX[k].search(t)
        # earliest cue; at the same place the longer one ("absolutely not" over "absolutely")
        if m and (best is None or (m.start(), -len(m.group(0))) < best[:2]):
            best = (m.start(), -len(m.group(0)), k)
    return best[2] if best else None


# "do you take apple pay?", "¿aceptan cheques?": a yes/no question nothing else claimed.
_YES_NO_Q = re.compile(
    r"^(?:do|does|did|can|could|is|are|will|would|should|may|puedo|puede|pueden|se puede|aceptan|acepta|tienen"
    r"|tiene|hay|es|son|esta)\b"
)
_STARTS_WH = re.compile(r"^(?:when|what|who|how much|which|cuando|cuanto|quien|de que|para cuando|cual)\b")


_NEGATED_BEFORE = re.compile(r"\b(?:no|not|never|without|sin|nunca|ningun)\b(?: \w+){0,3} $")


def legal_stop(t: str) -> str | None:
    """The legal stop a normalised note states ("pt says she has an attorney"), unless it is negated
    just before ("no attorney involved", "does not have a lawyer")."""
    for key in LEGAL_STOPS:
        for m in RX[key].finditer(t):
            if not _NEGATED_BEFORE.search(t, 0, m.start()):
                return key
    return None


def explicit_now_q(t: str) -> bool:
    return _positive("pay_now", t)


def _positive(key: str, t: str) -> bool:
    """A cue of ``key`` not negated just before it: "can pay now", not "can not pay now"."""
    for m in RX[key].finditer(t):
        if not _NEGATOR.search(t, 0, m.start()) or m.group(0).startswith(("no ", "not ")):
            return True
    return False


def question_topic(t: str) -> str | None:
    for key, topic in _TOPICS:
        if RX[key].search(t):
            return topic
    return None


# A thank-you on its own is not an answer.
_THANKS_ONLY = re.compile(r"^(?:thanks|thank you|gracias|muchas gracias)$")
# A greeting on its own ("wassup", "hey what's good", "¿qué onda?") says nothing yet.
_SLANG_GREETING = re.compile(
    r"^(?:(?:hey|hi|hello|yo|ey|oye|hola|buenas) )*(?:what is (?:good|up|poppin|popping|happening|new|good with you|up with you)"
    r"|whats up|wassup|wasup|wazzup|whaddup|waddup|sup|wsg|wyd|que onda|q onda|quiubo|quihubo|que hubo|que tal|que pedo"
    r"|que paso|hey|hi|yo|ey|hola|buenas|buenas tardes|buenos dias|buenas noches|good morning|good afternoon)$"
)


def explicitly_unclear(t: str, question_mark: bool) -> bool:
    """The reply itself says it is not an answer ("not sure", "¿mande?", "hello?", "thanks"): a
    cue for ``unclear``, so no fallback should guess an intent for it."""
    return not t or bool(_CONFUSED.search(t) or (question_mark and _GREETING.match(t)) or _THANKS_ONLY.match(t)
                         or _SLANG_GREETING.match(t))


def classify(
    t: str, question_mark: bool, when: DateResult, today: date, amount: Decimal | None = None
) -> tuple[str, str | None]:
    """(intent, question topic) for normalised text ``t``; ``when`` is its forward-looking date,
    ``amount`` the money it offers."""
    if not t or _SLANG_GREETING.match(t) or not strip_greetings(t):
        return "unclear", None  # "wassup", "happy new year!", "feliz año nuevo"

    def hit(key: str) -> bool:
        return RX[key].search(t) is not None

    for key in LEGAL_STOPS:
        if hit(key):
            return key, None
    if preference(t) is not None:
        return "contact_preference", None
    future = when.date is not None and when.date > today
    if hit("opt_out"):
        return "opt_out", None
    if hit("dispute"):
        # "this is not my bill, I'm not Daniel": the bill is not theirs because they are not the patient
        if _NOT_THE_PATIENT.search(t):
            return "wrong_person", None
        # "I don't owe this, I paid it in full": not owing because they paid is a payment made
        if _NOT_OWED.search(t) and not RX["dispute"].search(_NOT_OWED.sub(" ", t)) and _I_PAID.search(t):
            return "already_paid", None
        return "dispute", None
    # A hardship told on the way to a day ("my mom was in the hospital, but I can pay Thursday",
    # "when my social security comes on the 3rd") is a promise; on its own it is a hardship.
    if hit("hardship") and not (future and (_positive("pay_cue", t) or _positive("pay_now", t) or _BUT.search(t)
                                            or _day_after_but(t) or _UNTIL_DAY.search(t))):
        return "hardship", None
    if hit("request_human") and not (hit("question_who") and not _ASKS_FOR_PERSON.search(t)):
        return "request_human", None
    if hit("request_human"):
        return "question", "who"
    for key in ("wrong_person", "already_paid", "payment_plan"):
        if key == "already_paid" and _MISTAKEN_PAID.search(t):
            if RX[key].search(_MISTAKEN_PAID.sub(" ", t)):
                return key, None
        elif hit(key):
            return key, None

    # "when do I need to pay?" asks; it does not promise.
    if _STARTS_WH.match(t) and not explicit_now_q(t):
        topic = question_topic(t)
        if topic:
            return "question", topic
    is_today = when.date == today
    if is_today and REFUSED_TODAY.search(t) and not hit("callback_later"):
        return "hardship", None  # "not today", "hoy no", "can't tonight": today is the day refused, no day offered
    if (future or is_today or hit("now_word")) and _SPLIT.search(t):
        return "payment_plan", None  # "500 hoy y 500 el 15", "fifty now and fifty on the 29th"
    explicit_now = _positive("pay_now", t)
    pay = explicit_now or _positive("pay_cue", t)
    if explicit_now and not future and not when.vague:
        return "pay_now", None
    if pay and (future or when.vague):
        return "promise_to_pay", None
    if hit("hardship_weak"):
        # "I can't pay until Friday" is a promise; "I can't pay" on its own is not.
        return ("promise_to_pay", None) if future else ("hardship", None)
    if pay:
        if hit("now_word") or is_today:
            return "pay_now", None
        if amount is not None:
            return "payment_plan", None  # "I can give you 40": part of the bill, no day named
        return "promise_to_pay", None
    if future and not _NOT_A_DATE_ANSWER.search(t) and (REFUSED_TODAY.search(t) or _BUT.search(t)):
        # "not tonight… first thing tomorrow", "ahora mismo no puedo, pero el 28": a day instead of now
        return "promise_to_pay", None
    if hit("callback_later"):
        return "callback_later", None
    if future and ends_with_day(t) and not question_mark and not _NOT_A_DATE_ANSWER.search(t):
        # a reply that ends on a day answers "when?": "spring break killed my wallet, the 26th",
        # "el día de las madres no…, mejor el 12"
        return "promise_to_pay", None
    topic = question_topic(t)
    if topic:
        return "question", topic
    if _CONFUSED.search(t) or (question_mark and _GREETING.match(t)):
        return "unclear", None
    if (future or when.vague or is_today) and len(t.split()) <= _SHORT and not _NOT_A_DATE_ANSWER.search(t):
        # a day given in answer to "when can you pay?"
        return ("pay_now" if is_today else "promise_to_pay"), None
    answer = _first(t, "affirm", "deny")
    if answer == "affirm" and future and not _NOT_A_DATE_ANSWER.search(t):
        return "promise_to_pay", None  # "yes this is me, I can do the 20th": who they are, then a day
    if answer:
        return answer, None
    if question_mark and (_WH.search(t) or _YES_NO_Q.match(t)):
        return "question", None
    return "unclear", None
