"""English or Spanish, from a short text, with a word list and no model.

Replies are a few words long, so statistical detectors guess badly on them;
counting words that belong to only one of the two languages does better.
Words both languages share ("no", "me", "a", "ok") count for neither.
"""

from __future__ import annotations

import re

from .text import normalize

_ES = frozenset("""
que el la los las de del lo le les un una unos unas por para con sin pero porque como cuando cuanto
cuanta donde quien cual es esta estoy estamos son soy fue era ser estar hay tengo tiene tienen tenemos
puedo puede pueden podemos quiero quiere necesito hablar llamar llamen llame llamada llamadas llamando
mensaje mensajes pago pagar pague pagare pagaria pagado pagada pagamos pagaron pagos cuenta factura deuda
dinero plata trabajo seguro manana hoy ayer semana mes dia dias proximo proxima viernes lunes martes
miercoles jueves sabado domingo enero febrero marzo abril mayo junio julio agosto septiembre setiembre
octubre noviembre diciembre si claro gracias favor bueno ya mas tarde despues luego ahora ahorita
numero equivocado equivocada persona alguien nadie nada vive aqui ahi eso esto ese esa este mi mis tu su
sus usted ustedes yo nosotros ella ellos dejen deje dejar molestar basta quiten borren nunca tambien
tampoco plazos cuotas abonos partes dolares fin principio todo toda dos tres cuatro cinco diez veinte
cincuenta cien correcto exacto vale dale oiga mire senor senora hola buenas dias noches disculpe perdon
ocupado ocupada manejando trabajando cobro cobraron doble mal enfermo enferma murio fallecio alcanza
pueda podria voy vamos hacer hice mande envie enlace vinculo link sobre ayuda quisiera
""".split())

_EN = frozenset("""
the i you he she it we they is am are was were be been will would can could should shall do does did
have has had this that these those what who when where why how which my your his her our their
pay paid paying payment bill charge owe money job call calling text texting texts stop please thanks
thank yes yeah yep sure right wrong number person someone somebody human talk speak later tomorrow today
yesterday week month friday monday tuesday wednesday thursday saturday sunday january february march
april june july august september october november december next end first of and or but not
just already now time busy send link insurance twice afford lost sick help plan split installments
dollars bucks hi hello sorry about for from with on at by in into out up get got go going want need
know here there work working driving again back ok okay correct speaking him them me there still
""".split())

# Words at home in both languages count for neither.
_SHARED = frozenset("me no a ok link son he era sin con fin mi plan".split())

_ES_MARKS = re.compile(r"[ñáéíóú¿¡]", re.IGNORECASE)


def language_scores(text: str) -> tuple[float, float]:
    words = normalize(text).split()
    es = sum(1.0 for w in words if w in _ES and w not in _SHARED)
    en = sum(1.0 for w in words if w in _EN and w not in _SHARED)
    if _ES_MARKS.search(text):
        es += 1.5
    return en, es


def detect_language(text: str, default: str = "en") -> str:
    """Return "es" or "en"; ties go to ``default``."""
    en, es = language_scores(text)
    if es > en:
        return "es"
    if en > es:
        return "en"
    return default
