"""Spanish cues, written against normalised text: accents stripped, so
"mañana" is "manana" and "pagué" is "pague"; accents are optional for patients.
Negation is the token "no" before the verb ("no puedo pagar").
"""

WEEKDAYS = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6,
}
MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12, "ene": 1,
    "abr": 4, "dic": 12,
}
_CARD = [
    "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce", "trece",
    "catorce", "quince", "dieciseis", "diecisiete", "dieciocho", "diecinueve", "veinte", "veintiuno", "veintidos",
    "veintitres", "veinticuatro", "veinticinco", "veintiseis", "veintisiete", "veintiocho", "veintinueve", "treinta",
]
# Spanish names days with cardinals ("el quince"), except the first ("el primero").
ORDINALS = {w: i + 1 for i, w in enumerate(_CARD) if w != "uno"}
ORDINALS.update({"primero": 1, "treinta y uno": 31, "veinte y cinco": 25})

NUMBERS = {w: i + 1 for i, w in enumerate(_CARD)}
NUMBERS.update({"un": 1, "una": 1, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80,
                "noventa": 90, "cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300,
                "quinientos": 500, "mil": 1000})

VAGUE_DATE = [
    r"\b(?:la )?(?:proxima|siguiente|otra) semana\b", r"\bla semana que (?:viene|entra)\b", r"\besta semana\b",
    r"\b(?:el )?(?:proximo|siguiente|otro) mes\b", r"\bel mes que (?:viene|entra)\b", r"\beste mes\b",
    r"\bpronto\b", r"\ben (?:unos|algunos|pocos|unos cuantos|un par de) (?:dias|semanas)\b",
    r"\bcuando (?:me paguen|cobre|me llegue|tenga|pueda|reciba)\b", r"\blo (?:antes|mas pronto) posible\b",
    r"\b(?:a )?(?:principios|mediados|inicios) de(?:l)? (?:mes|proximo mes)\b", r"\bmas adelante\b",
    r"\bluego\b", r"\bdespues\b", r"\bmas tarde\b", r"\bun dia de estos\b",
]

INTENTS = {
    "attorney": [
        r"\babogad[oa]s?\b", r"\b(?:representante|asesor[ai]?) legal\b", r"\bme representa legalmente\b",
    ],
    "bankruptcy": [
        r"\bbancarrota\b", r"\b(?:declar|acog|present|puse|pusimos)\w* (?:en |a )?(?:la )?(?:quiebra|bancarrota)\b",
        r"\bcapitulo (?:7|13|siete|trece)\b",
    ],
    "cease_contact": [
        r"\bcese y desista\b", r"\bces(?:e|en|ar) (?:de )?(?:toda |cualquier )?(?:comunicacion|contacto)\b",
        r"\b(?:dejen|deje|paren|pare) de (?:contactarme|contactarnos|comunicarse)\b",
        r"\bno (?:quiero|queremos) (?:ningun |mas |ningun otro )?contacto\b",
        # "que no me contacten por ninguna vía": every channel
        r"\bcontact\w* .*\bpor (?:ningun|ninguna|ningun otro|ninguna otra) (?:via|medio|forma|lado)\b",
        r"\bpor (?:ningun|ninguna) (?:via|medio)\b",
        r"\bcontact\w* (?:mas |nunca mas |otra vez )?(?:de|en|por) (?:ninguna|ningun) (?:forma|manera|modo)\b",
        r"\bni (?:me )?(?:llam\w*|escrib\w*|mensajes|textos|llamadas) ni (?:me )?(?:llam\w*|escrib\w*|mensajes|textos|llamadas)\b",
    ],
    "opt_out": [
        r"^(?:por favor )?(?:basta|alto|para|pare|parar|cancelar|baja|darme de baja)(?: por favor| ya| gracias)*$",
        r"\bbasta\b", r"\b(?:dejen|deje|deja|dejan|paren|pare|para|parar|dejar) de (?:llamar|mandar|enviar|escribir|molestar"
        r"|marcar|textear|insistir)\w*",
        r"\bno (?:me )?(?:vuelv\w+ a )?(?:llam|escrib|mand|envi|molest|marqu|contact|texte)\w*"
        r"(?: (?:mas|nunca|otra vez|de nuevo|a este numero))+",
        r"\bno (?:me |nos )?(?:llamen|llames|escriban|escribas|molesten|molestes|marquen|contacten|manden mensajes|envien mensajes)\b"
        r"(?! (?:hasta|antes|despues|en la|a esta hora))",
        r"\bno (?:me |nos )?vuelv\w+ a (?:llamar|escribir|mandar|molestar|marcar|contactar)",
        r"\bya no (?:me |nos )?(?:llam|escrib|mand|envi|molest|marqu|contact)\w*",
        r"\bnunca (?:mas )?(?:me )?(?:llam|escrib|mand|envi|vuelv)(?:en|es|an|as|e)\b",
        r"\b(?:borr|quit|elimin|sac|saqu)\w* (?:mi numero|me|mi nombre|este numero)\b",
        r"\b(?:no quiero|no queremos) (?:recibir )?(?:mas |sus |estos |esos )?(?:mensajes|llamadas|textos|recordatorios)\b",
        r"\bno (?:quiero|queremos) que (?:me )?(?:llamen|escriban|molesten|contacten|manden)\b",
        r"^(?:ya )?no (?:mas|quiero mas) (?:mensajes|textos|llamadas|recordatorios)\b",
        r"\bdarme de baja\b", r"\bdejenme en paz\b", r"\bdejeme en paz\b", r"\bacoso\b", r"\bhostig\w*",
        r"\b(?:de|en) la lista\b.*\b(?:sac|quit|borr)\w*|\b(?:sac|saqu|quit|borr)\w*.*\bde (?:la|su|esta) lista\b",
    ],
    "dispute": [
        r"\b(?:cuenta|factura|cobro|cargo|cantidad|monto|saldo|total|precio|recibo)s? (?:esta|es|estan|son|parece|viene)"
        r" (?:mal|equivocad[oa]s?|incorrect[oa]s?|errone[oa]s?|muy alt[oa]|demasiado alt[oa])",
        r"\b(?:esta|es) (?:mal|incorrect[oa]|equivocad[oa]) (?:la|el|esa|ese|esta|este) (?:cuenta|factura|cobro|cargo|cantidad|monto)",
        r"\bno (?:es|son) (?:mi|mis|nuestra|nuestro) (?:cuenta|deuda|factura|cobro|cargo)s?\b",
        r"\bno (?:es|son) (?:mia|mio|mias|mios|nuestro|nuestra)\b",
        r"\b(?:yo )?no (?:debo|le debo|les debo|te debo|debemos) (?:nada|eso|esto|ese|esa|ninguna|ningun)?\b",
        r"\b(?:el |mi |la |the |my )?(?:seguro|aseguranza|aseguradora|medicaid|medicare|medical|insurance)"
        r" (?:lo |la |ya |se |me )*(?:cubr\w*|pag\w*"
        r"|deb\w*|tiene que|tenia que|iba a|va a|se encarg\w*|dijo|dice|dicen)",
        r"\b(?:lo|la) (?:cubre|cubrio|pago|paga|debe pagar) (?:el |mi )?(?:seguro|aseguranza|aseguradora|medicaid)\b",
        r"\bcubiert[oa] por (?:el |mi )?(?:seguro|aseguranza|aseguradora|medicaid)\b",
        r"\b(?:cobraron|cobro|cobran|cobrado|cargaron|facturaron)\w* (?:dos veces|doble|de mas|demasiado)\b",
        r"\b(?:cobro|cargo|cobros|cargos) (?:doble|duplicad[oa]s?|repetid[oa]s?)\b", r"\bpague dos veces\b",
        r"\b(?:error|equivocacion|errores)\b(?! de numero)", r"\bdisput\w*", r"\breclam\w*", r"\bno estoy de acuerdo\b",
        r"\bnunca (?:fui|tuve|recibi|me hicieron|asisti|fuimos|vine|estuve|he ido|me atendieron)\b",
        r"\bno (?:fui|asisti|tuve|recibi) (?:a )?(?:esa|ese|la|el|ninguna|ningun)? ?(?:cita|consulta|servicio|visita|tratamiento|estudio)",
        r"\bno reconozco\b", r"\bnunca (?:autorice|pedi|solicite|firme|acepte|use)\b",
        r"\bno me (?:hicieron|atendieron|vieron)\b", r"\bno (?:tengo|tenemos) (?:ninguna )?deuda\b", r"\bno me (?:corresponde|toca) pagar\b",
        r"\b(?:pagar|cubrir)\w* (?:el |mi |la )?(?:seguro|aseguranza|aseguradora|medicaid|medicare)\b", r"\bfraude\b", r"\breembolso\b",
        r"\bno (?:voy a|pienso|tengo por que|tengo porque|deberia) pagar (?:eso|esto|nada|algo|por algo|lo que)\b", r"\bcancele (?:la|esa) cita\b",
    ],
    "hardship": [
        r"\bno (?:me )?alcanza\b", r"\b(?:estoy|ando|quede|estamos|andamos) (?:bien |muy )?(?:pelad[oa]s?|quebrad[oa]s?|limpi[oa]s?)\b",
        r"\b(?:corto|cort[oa]s?|escas[oa]s?) de (?:plata|dinero|lana|feria|varo|billete|chavos|cuartos)\b", r"\bno (?:tengo|tenemos|hay) (?:el |la |los |las |nada de |mucho )?(?:dinero|plata|trabajo|empleo|con que|como|para|lana|feria"
        r"|ingresos|recursos|fondos|money|cash|job|chavos|cuartos|varo|billete|pisto|reales|cobres)\b",
        r"\b(?:me|nos|le) (?:cortaron|bajaron|redujeron|quitaron) (?:las |mis |unas |el |mi )?(?:horas|turnos|sueldo|salario|trabajo)\b",
        r"\b(?:perdi|perdio|perdimos|quede sin|me quede sin|estoy sin|sin) (?:el |mi |su )?(?:trabajo|empleo|chamba|casa"
        r"|dinero|ingresos)\b",
        r"\bme (?:despidieron|corrieron|echaron)\b", r"\bdesemplead[oa]\b", r"\bsin trabajo\b",
        r"\b(?:estoy|esta|estamos|he estado|ando|anda) (?:muy |bien |algo |un poco )?(?:enferm[oa]s?|hospitalizad[oa]|internad[oa]|incapacitad[oa]"
        r"|mal de dinero|apretad[oa]s?|corto de dinero|sin dinero|quebrad[oa]|en quiebra)\b",
        r"\benfermedad\b", r"\bcancer\b", r"\bquimio\w*", r"\bhospital\b", r"\boperacion\b", r"\bcirugia\b",
        r"\bdiscapacidad\b", r"\bincapacidad\b",
        r"\b(?:fallecio|murio|se murio|fallecimiento|funeral|entierro|luto|velorio|perdi a mi|difunt[oa])\b",
        r"\bayuda (?:financiera|economica|con (?:la|el|esta|este) (?:cuenta|pago|factura|deuda))\b",
        r"\b(?:asistencia|apoyo) (?:financiera|economic[oa])\b", r"\b(?:algun|hay) (?:programa|ayuda|asistencia)\b",
        r"\bnecesito ayuda\b", r"\bsituacion (?:muy )?(?:dificil|complicada)\b", r"\b(?:dificil|mala) situacion\b",
        r"\b(?:momento|tiempos?) (?:dificil|dificiles|duros?)\b", r"\bcrisis\b",
        r"\bno (?:puedo|podemos) (?:costear|pagar(?:lo|la)? (?:nada|ahora mismo nada))\b",
        r"\bno tengo (?:ni )?(?:un )?(?:centavo|peso|cinco)\b", r"\bestoy en la quiebra\b",
        r"\bcon (?:muchas )?dificultades?\b", r"\bno (?:me |nos )?(?:sobra|queda) (?:nada|dinero|ni)\b",
        r"\bapretad[oa]s? de (?:dinero|lana|plata)\b",
        r"\b(?:situacion|cosa|cosas|economia) (?:esta |estan |es |anda |andan )?(?:muy |bien |algo )?(?:dificil|complicad[oa]s?|dur[oa]s?"
        r"|mal|mala|fe[oa]s?)\b",
    ],
    "request_human": [
        r"\bhablar con (?:una |un |alguien|la |el |algun |alguna )?(?:persona|humano|agente|representante|operador[a]?|gerente"
        r"|supervisor[a]?|encargad[oa]|oficina|recepcion|alguien|empleado|ser humano|real)",
        r"\bpersona (?:real|de verdad)\b",
        r"\b(?:alguien|una persona|un agente) con (?:quien|el que|la que) (?:pueda|puedo|podria) (?:hablar|platicar)\b",
        r"\b(?:comunic|pas|transfer|transfier|conect|pong|ponga)\w* (?:con|a) (?:alguien|una persona|un agente|un representante"
        r"|la oficina|el gerente|recepcion|un humano|la recepcionista|(?:el|la) encargad[oa]|(?:el|la|un|una) supervisor[a]?)\b", r"\bser humano\b", r"\b(?:comuniqueme|comunicame|paseme|pasame|transfierame|transfiereme"
        r"|conecteme|conectame)\b",
        r"\bque (?:me )?(?:llame|hable|contacte|atienda) (?:alguien|una persona|la oficina|un agente|el gerente)\b",
        r"\b(?:quiero|necesito|quisiera) (?:a |con )?(?:una persona|un humano|un agente|alguien|un representante|el gerente)\b",
        r"\bno (?:quiero )?(?:hablar|platicar) con (?:una |un |esta )?(?:maquina|robot|grabacion|computadora|contestadora)\b",
        r"^(?:un |una |el |la )?(?:agente|operador[a]?|persona|representante|recepcionista|humano)(?: por favor)?$",
        r"\b(?:operador[a]?|representante|recepcionista)\b",
    ],
    "wrong_person": [
        r"\bnumero equivocado\b", r"\bequivocad[oa]s? de (?:numero|persona)\b", r"\bse equivoc\w*",
        r"^(?:usted |ud )?(?:esta|estan|estas) equivocad[oa]s?\b", r"\b(?:numero|telefono|celular) (?:ya )?no es (?:de|del)\b",
        r"\bno (?:se|sabemos|sabria) quien (?:es|sea|son)\b", r"\bpersona equivocada\b",
        r"\bno (?:soy|es) (?:yo|el|ella|esa persona|la persona|quien)\b",
        r"\b(?:aqui|ahi|aca) no (?:vive|hay|existe|trabaja|es)\b", r"\bno vive (?:aqui|ahi|aca)\b", r"\bya no vive\b",
        r"\bno (?:conozco|conocemos|se quien es) (?:a )?(?:nadie|esa persona|ninguna|ningun|el|ella|a esa)?\b",
        r"\bno hay nadie (?:con ese nombre|que se llame|aqui que|con este nombre|asi)\b", r"\bno se quien es\b",
        r"\b(?:este|ese) (?:numero )?no es (?:de|del)\b", r"\bnumero nuevo\b", r"\bno me llamo\b",
        r"\b(?:ese|este) no es mi (?:nombre|numero)\b",
        r"\b(?:ya no|no) (?:tiene|usa|ocupa|es) (?:este|ese|el|su) (?:numero|telefono|celular)\b",
    ],
    "already_paid": [
        r"\bya (?:lo |la |se |le |les |te |los )?(?:pague|pagamos|pagaron|pagado|pagada|cancele|liquide|cubri|abone"
        r"|deposite|salde|page)\b",
        # "ya pago" (accents dropped) is "ya pagó" unless the patient was just paid: "me pagaron, ya pago"
        r"^(?!.*\b(?:me pagaron|me depositaron|me pagan|cobre)\b).*\bya (?:lo |la |se )?pago\b", r"\b(?:lo|la|se lo|se la|le|les) pague\b", r"\bse pago\b",
        r"\b(?:esta|quedo|fue|ha sido|estaba|esta ya|quedo ya) (?:ya )?(?:pagad[oa]|liquidad[oa]|saldad[oa])\b",
        r"\bpague (?:ayer|el|la|en|antier|hace|esta|con|por|todo|desde|online|la semana|el mes)\b", r"\bpague$",
        r"\byo (?:ya )?(?:lo |la |le |les )?pague\b", r"\bpague (?:eso|esto|esa|ese|la cuenta|la factura|el bill)\b",
        r"\b(?:hice|realice|mande|envie|deposite|hicimos|mandamos) (?:el|un|mi|la|ese|los) (?:pago|cheque|deposito"
        r"|transferencia|dinero)\b",
        r"\bya (?:hice|realice|mande|envie|hicimos|mandamos|deposite) (?:el|un|mi|la)? ?(?:pago|cheque|deposito|transferencia"
        r"|dinero)?\b",
        r"\b(?:esposo|esposa|hijo|hija|mama|papa|madre|padre|hermano|hermana|marido|mujer|familia|novio|novia|suegra"
        r"|suegro) (?:ya )?(?:lo |la |le |les |se lo )?(?:pago|pagaron|pago la cuenta)\b",
        r"\b(?:lo|la|eso|esto|ya) (?:lo |la )?(?:pago|pagaron|pagamos) (?:ya )?(?:mi|su|el|la|los|mis) (?:\w+ )?(?:esposo|esposa|hijo|hija|mama"
        r"|papa|madre|padre|hermano|hermana|marido|mujer|familia|novio|novia|suegra|suegro|seguro|jefe|trabajo|abuela|abuelo"
        r"|tio|tia|hijos|papas)\b",
        r"\btengo (?:el|mi) (?:recibo|comprobante)\b", r"\bcomprobante\b", r"\bya (?:esta|quedo)\b(?! (?:bien|listo))",
        r"\bhe pagado\b(?<!no he pagado)",
    ],
    "payment_plan": [
        r"\bplan(?:es)? de pagos?\b", r"\b(?:a|en) plazos\b", r"\bplazos\b", r"\bcuotas\b",
        r"\b(?:en|por|hacer|con|de) (?:varios |unos |pocos |dos |tres |cuatro |cinco |seis |\d+ )?(?:pagos|partes|abonos)\b",
        r"\bde a poquit[oa]s?\b|\bpoquito a poquito\b|\bde poco en poco\b",
        r"\bcada (?:lunes|martes|miercoles|jueves|viernes|sabado|domingo|quincena|semana|mes)\b", r"\babon(?:os|ar|o|ando|arle|ara)\b",
        r"\bmensualidades\b", r"\bpagos (?:mensuales|semanales|chicos|chiquitos|pequenos|parciales|quincenales)\b",
        r"\b(?:dividir|(?<!\ba )partir|repartir|dividirlo|partirlo)\w*\b", r"\bpoco a poco\b", r"\bde a poco(?:s|quito)?\b",
        r"\bde poquito\b", r"\bpor partes\b",
        r"(?:\$ ?\d+|\b\d+|\b(?:diez|veinte|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|cien))"
        r" (?:dolares |pesos )?(?:al|por|cada) (?:mes|semana|quincena|quince dias)\b",
        r"\bmensual(?:es|mente)?\b",
        r"\b(?:no puedo|no podemos|no me alcanza para|no alcanzo a) (?:pagar|pagarlo|pagarla|cubrir)(?:lo|la)? "
        r"(?:todo|completo|toda|el total|la cantidad completa)\b",
        r"\btodo (?:junto|de (?:una )?vez|de golpe)\b", r"\barreglos?(?: de pagos?)?\b", r"\bfinanciamiento\b",
        r"\b(?:la mitad|una parte|algo) (?:ahora|hoy|ahorita)\b", r"\bel resto (?:despues|luego|el|en|la)\b",
        # one payment split over two days: "la mitad el viernes y lo demás el 30"
        r"\b(?:la mitad|una parte|parte) .*\by (?:la otra (?:mitad|parte)|lo demas|el resto|lo que falta|lo restante)\b",
    ],
    "pay_cue": [
        r"(?<!\bno )\b(?:puedo|podria|podre|voy a|vamos a|le voy a|te voy a|les voy a|pienso|quiero|trato de|tratare de|intentare"
        r"|prometo|espero|debo|tengo que|creo que) (?:(?!no\b)\w+ ){0,2}?(?:pagar|pagarle|pagarte|pagarles|pagarlo|pagarla"
        r"|mandar|enviar|abonar|depositar|cubrir|liquidar|hacer el pago|cancelar la cuenta|saldar|dar|darle|darte|darles|mandarle"
        r"|mandarles|enviarle)",
        r"(?<!\bno )\b(?:pagare|pagaremos|pagaria|mandare|enviare|depositare|liquidare)\b",
        r"(?<!\bno )(?<!\bel )(?<!\bun )(?<!\bmi )(?<!\bsu )(?<!\bdel )(?<!\bal )(?<!\bde )(?<!\bya )(?<!\ble )(?<!\bte )"
        r"(?<!\blo )(?<!\bla )(?<!\bles )"
        r"\b(?:le |te |les |se lo |se la |lo |la )?(?:pago|pagamos|mando|envio|deposito|abono)\b",
        r"\b(?:me pagan|cobro (?:el|este|la)|me depositan|dia de pago|cuando me paguen|cuando cobre|quincena)\b",
        r"(?<!\bno )\b(?:le |te |les )?(?:tengo|tendre|tendria) (?:el dinero|el pago|la plata|el cheque|su dinero|su pago)\b",
    ],
    "pay_now": [
        r"\bcomo (?:puedo |podria |le |lo |se |hago para |hago |le hago para )?(?:pago|pagar|pagarle|pagarlo|hacer el pago"
        r"|hago el pago|realizar el pago)\b",
        r"\bdonde (?:puedo |lo |le |se )?(?:pago|pagar|pagarlo|hago el pago)\b",
        r"\b(?:mande|mandeme|mandame|envie|envieme|enviame|me manda|me envia|me puede mandar|me puede enviar|pasame|paseme"
        r"|me pasa|necesito|quiero|deme|dame)(?: el| un| la)? (?:link|enlace|vinculo|liga|pagina)\b",
        r"\b(?:link|enlace|vinculo|liga)\b",
        r"\b(?:pagar|pago|pagarlo|pagarle) (?:en linea|por internet|con tarjeta|por telefono|online)\b",
        r"\b(?:aceptan|acepta|toman|puedo usar) (?:tarjeta|credito|debito)\b",
        r"\b(?:quiero|quisiera|puedo|podria|deseo|me gustaria) (?:ya )?(?:pagar|pagarlo|pagarle|hacer el pago|liquidar)\b"
        r"(?! (?:el|la|en|manana|para|hasta|despues|a fin|cuando|la proxima))",
        r"\b(?:ahorita|ahora|ahora mismo|ya mismo|hoy|hoy mismo|en este momento|de inmediato|en un rato|al rato"
        r"|en un momento|en un momentito|ahorita mismo) (?:(?:le|te|lo|la|se|me) ){0,2}"
        r"(?:pago|pagamos|mando|deposito|hago el pago|lo hago)\b",
        r"\b(?:pago|pagar|pagarlo|pagarle|pagare|mando|lo hago) (?:ahorita|ahora|ya mismo|hoy|en este momento|de inmediato"
        r"|ahora mismo|hoy mismo|en un rato|enseguida)\b",
        r"\bya (?:le |te |se lo )pago\b",
    ],
    "now_word": [
        r"\b(?:ahorita|ahora|ahora mismo|ya mismo|hoy|hoy mismo|en este momento|de inmediato|enseguida|en un rato)\b",
    ],
    "hardship_weak": [
        r"\bno (?:puedo|podemos|podre|podria|voy a poder|vamos a poder) (?:pagar|pagarlo|pagarla|pagarle|cubrir|hacer el pago)\b",
        # "no puedo" as the whole answer to "¿puede pagar?"
        r"^(?:(?:no|nah|pues|lo siento|perdon|ay|sorry) )*no (?:puedo|podemos)(?: (?:ahorita|ahora|hoy|todavia|aun|por ahora))?"
        r"(?: (?:sorry|lo siento|perdon|disculpe|disculpa))?$",
    ],
    "callback_later": [
        r"\b(?:le|te|les) (?:devuelvo|regreso|devolvemos|regresamos) la llamada\b",
        r"\bno (?:puedo|podemos) hablar\b",
        r"\b(?:estoy|ando|voy|estamos) (?:ocupad[oa]s?|manejando|trabajando|en el trabajo|en (?:una )?junta|en (?:una )?reunion"
        r"|en clase|en misa|con (?:un )?(?:cliente|paciente)|en la calle|fuera)\b",
        r"\bocupad[oa]\b", r"\bmanejando\b",
        r"\b(?:llam|marc|marqu|habl)(?:e|a|en|ar|eme|ame|enme|ame|eme|arme|ame)\w* (?:mas tarde|despues|luego|otro dia|manana|en (?:un rato"
        r"|una hora)|de nuevo|otra vez|en la tarde|en la noche|el|mas al rato|al rato|la proxima)",
        r"\bmas tarde\b", r"\b(?:luego|despues|al rato|mas tarde) (?:le |te |les )?(?:hablo|llamo|marco|hablamos|me llama|me habla)\b",
        r"\botro dia\b", r"\b(?:estoy|ando) en (?:una )?(?:cita|consulta|el doctor)\b", r"\bal rato\b", r"\ben otro momento\b",
        r"^(?:ahorita|ahora) no\b", r"\bno es (?:un )?buen momento\b", r"\bmal momento\b",
        r"\b(?:el|ella) no (?:esta|se encuentra)\b", r"\bno se encuentra\b", r"\bno esta (?:en casa|aqui|disponible)\b", r"\bdespues hablamos\b", r"\ben un rato\b",
    ],
    "question_what_for": [
        r"\b(?:de|para|por) que es\b", r"\bpor que (?:es|me cobran|me estan cobrando|debo|me llaman|me escriben|tengo que)\b",
        r"\bde que se trata\b", r"\bque es esto\b", r"\ba que se debe\b", r"\bde que (?:es|era) (?:la|el|esa|ese|esta|este)\b",
        r"\b(?:por|de) (?:que|cual) (?:servicio|consulta|cita|visita|cobro|cargo)\b", r"\bque (?:cobro|cargo|factura|cuenta)\b",
        r"\b(?:que|cual) (?:cuenta|factura)\b", r"\bpor que me (?:cobran|llaman)\b", r"\bde que (?:cuenta|factura)\b",
    ],
    "question_amount": [
        r"\bcuanto (?:es|debo|le debo|te debo|les debo|seria|sale|tengo que pagar|hay que pagar|cuesta|era|dinero|falta"
        r"|queda)?\b",
        r"\bcual es (?:el|mi) (?:saldo|monto|total|balance)\b", r"\b(?:que|cual) (?:cantidad|monto|saldo)\b",
    ],
    "question_due_date": [
        r"\bcuando (?:vence|vencia|se vence|era|es (?:la fecha|el pago)|tengo que pagar|hay que pagar|debo pagar|se vencio)\b",
        r"\bfecha (?:de vencimiento|limite|de pago)\b", r"\bpara cuando\b", r"\bhasta cuando\b",
    ],
    "question_who": [
        r"\bquien (?:habla|es|llama|me llama|eres|me escribe|me habla|manda)\b", r"\bde (?:parte de )?(?:quien|donde)\b",
        r"\bde donde (?:me )?(?:llaman|habla|hablan|llama|son|es)\b",
        r"\bque (?:clinica|doctor|consultorio|oficina|compania|empresa|hospital|dentista)\b",
        r"\b(?:es|eres) (?:un |una )?(?:robot|maquina|grabacion|persona real|contestadora)\b", r"\bcon quien hablo\b",
        r"\bes (?:una )?estafa\b", r"^quien$",
    ],
    "affirm": [
        r"\b(?:si|claro|correcto|de acuerdo|esta bien|vale|dale|exacto|por supuesto|efectivamente|eso es|orale|andale"
        r"|perfecto|aja|sale|asi es|cierto|okey|okay|listo|entendido|como no)\b",
        r"\bsoy yo\b", r"^simon$", r"^tato\b", r"\b(?:el|ella|yo) (?:habla|mismo|misma)\b", r"\bcon (?:el|ella) habla\b", r"^(?:bueno|seguro|va)\b",
    ],
    "deny": [
        r"\b(?:no|negativo|para nada|tampoco|incorrecto|no es correcto|no gracias|nop|nel|de ninguna manera|claro que no)\b",
        r"^(?:que va|ni modo que si|ni loco|ni loca)$",
    ],
}
