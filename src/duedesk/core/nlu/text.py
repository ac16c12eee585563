"""Normalise a text or a speech turn so one set of rules sees one spelling.

Texts arrive with caps, emojis, typos and apostrophes; speech turns arrive
lowercase without punctuation and with fillers. Both end up as lowercase ASCII
words separated by single spaces, contractions expanded so negation is always
the token ``not`` (English) or ``no`` (Spanish).
"""

from __future__ import annotations

import re
import unicodedata

from . import lexicon_en, lexicon_es

# Emojis that carry an answer; everything else non-textual is dropped.
_EMOJI = {
    "👍": " yes ", "👌": " ok ", "✅": " yes ", "🙏": " please ", "👎": " no ", "❌": " no ",
    "🛑": " stop ", "✋": " stop ",
}

_CONTRACTIONS = [
    (r"\bcan'?t\b|\bcannot\b|\bcan not\b", "can not"),
    (r"\bwon'?t\b", "will not"),
    (r"\bain'?t\b", "is not"),
    (r"\b(do|does|did|is|are|was|were|have|has|had|could|would|should|must|need)n'?t\b", r"\1 not"),
    (r"\bi'?m\b", "i am"),
    (r"\b(i|you|we|they|he|she|it|that|who|someone|somebody)'ll\b", r"\1 will"),
    (r"\b(you|we|they)'re\b", r"\1 are"),
    (r"\b(i|you|we|they)'ve\b", r"\1 have"),
    (r"\b(i|you|we|they|he|she)'d\b", r"\1 would"),
    (r"'s\b", "s"),
    # Apostrophe-less text shorthand; "ill" only where a verb follows, since "I'm ill" is real.
    (r"\bill (pay|send|call|do|make|have|get|try|be|take|mail|give|put|bring|drop|stop|come)\b",
     r"i will \1"),
    (r"\b(?:am |are |is )?not (?:going to|gonna|gunna) be able to\b", "can not"),
    (r"\b(unable|not able) to\b", "can not"),
    (r"\bnot be able to\b", "not"),
    (r"\b(gonna|gunna|going to|goin to)\b", "will"),
    (r"\b(wanna)\b", "want to"),
]
_CONTRACTIONS_RE = [(re.compile(p), r) for p, r in _CONTRACTIONS]

# Fillers from speech transcripts. "uh huh" and "mhm" are answers, so they are kept.
_FILLERS_RE = re.compile(
    r"\b(?:u+h+(?! huh)|u+m+|e+r+m*|(?<!mm )h+m+|a+h+|o+h+|e+h+|e+m+|m{3,})\b"
)

# Token-level spelling fixes seen in texts; both languages, applied after accent stripping.
_TYPOS = {
    "tmrw": "tomorrow", "tmr": "tomorrow", "tmrrw": "tomorrow", "tomorow": "tomorrow", "tommorow": "tomorrow",
    "tommorrow": "tomorrow", "tomorro": "tomorrow", "tomoro": "tomorrow", "2morrow": "tomorrow", "2moro": "tomorrow",
    "2day": "today", "tday": "today", "tonite": "tonight", "2nite": "tonight", "tdy": "today",
    "pls": "please", "plz": "please", "plse": "please", "pleas": "please", "u": "you", "ur": "your", "yu": "you",
    "r": "are", "thx": "thanks", "ty": "thanks", "wk": "week", "wks": "weeks", "nxt": "next",
    "payed": "paid", "pd": "paid", "piad": "paid", "apid": "paid", "allready": "already", "alredy": "already",
    "alread": "already", "aready": "already", "alrdy": "already", "pya": "pay", "py": "pay",
    "ammount": "amount", "amout": "amount", "bil": "bill", "recieved": "received", "recieve": "receive",
    "whats": "what is", "whos": "who is", "thats": "that is", "hes": "he is", "shes": "she is", "its": "it is",
    "theres": "there is", "wheres": "where is", "hows": "how is", "whens": "when is", "heres": "here is",
    "cuz": "because", "bc": "because", "b4": "before", "ok": "ok", "okay": "ok", "k": "ok", "kk": "ok",
    "okey": "ok", "oki": "ok", "yea": "yeah", "yeh": "yeah", "ye": "yeah", "ys": "yes", "yess": "yes",
    "yesss": "yes", "yas": "yes", "nah": "no", "naw": "no", "nope": "no", "noo": "no", "nooo": "no",
    "stp": "stop", "stopp": "stop", "stahp": "stop", "unsubscibe": "unsubscribe", "unsuscribe": "unsubscribe",
    "unsubcribe": "unsubscribe", "numbr": "number", "num": "number", "#": "number", "insurence": "insurance",
    "insurace": "insurance", "insurnce": "insurance", "instalments": "installments", "instalment": "installment",
    "installements": "installments", "afford": "afford", "aford": "afford", "affort": "afford",
    "thru": "through", "tho": "though", "wat": "what", "wut": "what", "wht": "what", "hw": "how",
    "mon": "monday", "tues": "tuesday", "tue": "tuesday", "weds": "wednesday", "wed": "wednesday",
    "thurs": "thursday", "thur": "thursday", "thu": "thursday", "fri": "friday", "sat": "saturday",
    "sun": "sunday", "firday": "friday", "fridy": "friday", "frday": "friday", "mondy": "monday",
    "wensday": "wednesday", "wednsday": "wednesday", "wedensday": "wednesday", "thrusday": "thursday",
    "tuseday": "tuesday", "saterday": "saturday", "satruday": "saturday",
    "someon": "someone", "somone": "someone", "sombody": "somebody", "persn": "person",
    "humn": "human", "representitive": "representative", "represenative": "representative",
    "wrng": "wrong", "wron": "wrong", "nmber": "number", "numer": "number", "clinc": "clinic",
    "talkin": "talking", "callin": "calling", "textin": "texting", "textng": "texting",
    # Spanish
    "q": "que", "xq": "porque", "pq": "porque", "porq": "porque", "xfa": "por favor",
    "xfavor": "por favor", "porfa": "por favor", "porfavor": "por favor", "x": "por", "tb": "tambien",
    "tmb": "tambien", "mnn": "manana", "mana": "manana", "mañna": "manana", "hablr": "hablar",
    "vierenes": "viernes", "vienes": "viernes",
    "viernez": "viernes",     "dolares": "dolares", "dls": "dolares", "dlls": "dolares", "usd": "dolares", "bucks": "dollars",
    "dollar": "dollars", "dolar": "dolares", "nesecito": "necesito", "nesesito": "necesito",
    "ayudar": "ayudar", "numeró": "numero", "llamen": "llamen", "yamen": "llamen", "yame": "llame",
    "yamar": "llamar", "yamada": "llamada", "yamadas": "llamadas", "mesajes": "mensajes",
    "menasjes": "mensajes", "msj": "mensaje", "msjs": "mensajes", "sta": "esta", "ta": "esta",
    "toy": "estoy", "stoy": "estoy", "aver": "a ver", "ola": "hola", "sii": "si", "sip": "si",
    "nel": "no", "nop": "no", "nomas": "no mas",
    "pa": "para", "orita": "ahorita", "horita": "ahorita", "ps": "pues", "pos": "pues", "dsp": "despues", "dps": "despues",
    "kiero": "quiero", "kien": "quien", "aki": "aqui", "grax": "gracias", "grs": "gracias", "tbn": "tambien",
    # English text shorthand
    "rn": "right now", "atm": "at the moment", "lemme": "let me", "gimme": "give me", "imma": "i will",
    "ima": "i will", "prolly": "probably", "sry": "sorry", "msg": "message", "msgs": "messages", "txt": "text",
    "txts": "texts", "txting": "texting", "ppl": "people", "thnx": "thanks", "thanx": "thanks", "tks": "thanks",
    "fone": "phone", "pymt": "payment", "pmt": "payment", "pmnt": "payment", "acct": "account", "amt": "amount",
    "appt": "appointment", "tmw": "tomorrow", "2mrw": "tomorrow", "2mro": "tomorrow", "wknd": "weekend",
    "tomorrw": "tomorrow", "unsub": "unsubscribe", "yessir": "yes sir", "yesir": "yes sir", "tmrow": "tomorrow",
}

# Insurers by name read as "insurance": "aetna should cover this" is "insurance should cover this".
_INSURERS_RE = re.compile(
    r"\b(?:aetna|cigna|humana|united ?healthcare|uhc|bcbs|blue ?cross(?: blue ?shield)?|blue ?shield|kaiser|tricare"
    r"|anthem|molina|ambetter|medi ?cal|caresource|wellcare|oscar health)\b"
)
_SPACE_RE = re.compile(r"\s+")
# Keep letters, digits and the few symbols dates and money need: / . , $ :
_PUNCT_RE = re.compile(r"[^a-z0-9/$.,:\s]")
_NUM_PUNCT_RE = re.compile(r"(?<!\d)[.,:/]|[.,:/](?!\d)")
_REPEAT_RE = re.compile(r"([a-z])\1{2,}")


# Speech recognition splits long number words into syllables ("vein ti cin co", "die ci seis", "fif
# teenth"): pieces (two letters or more) that spell one such word together are joined again.
_JOINABLE = frozenset(
    w for w in (*lexicon_es.NUMBERS, *lexicon_es.ORDINALS, *lexicon_en.NUMBERS, *lexicon_en.ORDINALS,
                "nochebuena", "nochevieja", "halloween", "juneteenth")
    if " " not in w and len(w) >= 4
)
# "veinte y cinco", "diez y seis": the older spelling of one number
_TENS_Y_RE = re.compile(r"\b(veinte|diez) y (uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve)\b")
_THANKS_GIVING_RE = re.compile(r"\bthanks giving\b(?! (?:me|us|you|him|her|them|it|this|that|the|a|an|my|our)\b)")


def _join_syllables(words: list[str]) -> list[str]:
    out: list[str] = []
    i, n = 0, len(words)
    while i < n:
        for k in (4, 3, 2):
            piece = words[i:i + k]
            if len(piece) == k and all(len(p) >= 2 for p in piece) and "".join(piece) in _JOINABLE:
                out.append("".join(piece))
                i += k
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _tens_y(m: re.Match) -> str:
    return ("veinti" if m.group(1) == "veinte" else "dieci") + m.group(2)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(text: str) -> str:
    """Lowercase ASCII words; contractions expanded; fillers and noise removed."""
    t = text.lower()
    for emoji, word in _EMOJI.items():
        t = t.replace(emoji, word)
    t = t.replace("’", "'").replace("‘", "'").replace("`", "'").replace("´", "'")
    t = t.replace("¿", " ").replace("¡", " ")
    t = re.sub(r"#(?!\s*\d)", " number ", t)
    t = strip_accents(t)
    t = _INSURERS_RE.sub(" insurance ", t)
    for rx, rep in _CONTRACTIONS_RE:
        t = rx.sub(rep, t)
    t = t.replace("'", "")
    t = _PUNCT_RE.sub(" ", t)
    t = _NUM_PUNCT_RE.sub(" ", t)
    # "sooo" -> "so", "yesss" -> "yes"; real words never repeat a letter three times.
    t = _REPEAT_RE.sub(r"\1\1", t)
    t = _TENS_Y_RE.sub(_tens_y, _THANKS_GIVING_RE.sub("thanksgiving", t))
    words = []
    for w in _join_syllables(t.split()):
        w = _TYPOS.get(w, w)
        words.append(w)
    t = " ".join(words)
    for rx, rep in _CONTRACTIONS_RE:  # typo fixes can reveal new contractions ("cant")
        t = rx.sub(rep, t)
    t = _FILLERS_RE.sub(" ", t)
    return _SPACE_RE.sub(" ", t).strip()


def has_question_mark(text: str) -> bool:
    return "?" in text or "¿" in text
