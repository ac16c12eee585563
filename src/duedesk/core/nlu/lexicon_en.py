"""English cues, written against normalised text (see ``text.normalize``).

Negation is always the token "not" ("can't" -> "can not"), and "will" stands
for "'ll", "gonna" and "going to". Patterns name phrases, not corpus lines:
stems (``charg\\w*``), synonyms and optional words keep them general.
"""

WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "mondays": 0, "tuesdays": 1, "wednesdays": 2, "thursdays": 3, "fridays": 4,
}
MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3,
    "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_ORD = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth",
]
ORDINALS = {w: i + 1 for i, w in enumerate(_ORD)}
ORDINALS.update({f"twenty {w}": 20 + i + 1 for i, w in enumerate(_ORD[:9])})
ORDINALS.update({"thirtieth": 30, "thirty first": 31})

_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
NUMBERS = {w: i + 1 for i, w in enumerate(_UNITS)}
NUMBERS.update({"a": 1, "an": 1, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
                "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "a hundred": 100})

VAGUE_DATE = [
    r"\bnext (?:week|month|paycheck|pay period)\b", r"\b(?:this|later this|end of next|early next|later next) (?:week|month)\b",
    r"\bsoon\b", r"\bsometime\b", r"\beventually\b", r"\basap\b", r"\bas soon as (?:i|we) (?:can|get)\b",
    r"\bin a (?:few|couple(?: of)?) (?:days|weeks|months)\b", r"\bin (?:a )?(?:few|couple(?: of)?|several) (?:days|weeks)\b",
    r"\bwhen (?:i|we|my (?:husband|wife)|he|she) (?:get|gets|receive|have|has) (?:paid|my|the|money|it|a)\b",
    r"\bafter (?:i|we) get paid\b", r"\bnext payday\b", r"\b(?:beginning|start|middle|mid) of (?:the |next )?month\b",
    r"\bmid month\b", r"\blater\b", r"\bwhen i can\b", r"\bin the (?:next|coming) (?:few )?(?:days|weeks)\b",
]

WH = r"\b(?:what|who|when|where|why|how|which)\b"

# Each intent's cues; classify.py decides between them.
INTENTS = {
    # Legal stops (Regulation F 1006.6): they win over every other cue in the same reply.
    "attorney": [
        r"\b(?:attorney|attorneys|lawyer|lawyers|legal counsel|legal representation|legal aid)\b",
        r"\brepresented by (?:counsel|an? \w+)\b",
    ],
    "bankruptcy": [
        r"\bbankrupt\w*", r"\bchapter (?:7|13|seven|thirteen)\b", r"\bautomatic stay\b", r"\b(?:filed|filing|file) (?:for )?bk\b",
    ],
    "cease_contact": [
        r"\bcease and desist\b", r"\bcease (?:all |any )?(?:contact|communicat\w*|calls|calling|collection)",
        r"\b(?:stop|quit|end) (?:all |any )?(?:contacting|communicating|communications?|contact with) (?:me|us)?",
        r"\b(?:no|any) (?:further|more) (?:contact|communications?)\b",
        # "I want all contact to stop", "don't contact me by any means": every channel
        r"\ball (?:contact|communications?) (?:to |must |should |needs to )?(?:stop|end|cease)\b",
        r"\b(?:contact|reach)\w* (?:me |us )?(?:again |anymore |any more |ever again )?(?:by|through|in) any (?:means|way|channel|form)\b",
    ],
    "opt_out": [
        r"^(?:please )?(?:stop|stop all|stopall|unsubscribe|cancel|end|quit|optout|opt out|remove me|remove)"
        r"(?: (?:please|now|it|thanks|thank you|texting|calling))*$",
        r"^stop\b(?! by)", r"\bstop$",
        r"\b(?:stop|quit|cease|end) (?:all )?(?:the )?(?:texting|texts|calling|calls|messaging|messages|contacting|sending"
        r"|blowing up|hitting me up|bothering|harass\w*|bugging|spamming|reminders|it with|with the)",
        r"\bunsubscribe\b", r"\bopt(?:ing)? ?out\b", r"\bleave (?:me|us) alone\b", r"\bharass\w*\b",
        r"\b(?:remove|take|delete|drop|erase) (?:me|my (?:number|name|info|phone(?: number)?)|this number)"
        r"(?: off| from)?",
        r"\b(?:lose|forget) (?:my|this) number\b", r"\bdo not call list\b",
        r"(?<!\bi )(?<!\bwe )\bdo not (?:ever )?(?:call|text|message|contact|email|phone|bother)\w* (?:me|us|this number|here|again)"
        r"(?! (?:until|before|after|at|till|during|between|on))",
        r"^do not (?:call|text|contact)\w*$",
        r"\b(?:never|no more|no longer) (?:call|text|message|contact|email|bother)\w*(?! (?:until|before|after))",
        r"\bno more (?:texts|calls|messages|reminders|robocalls)\b",
        r"\bdo not want (?:any |these |your |more |to (?:get|receive) )*(?:more |any |these )?"
        r"(?:texts|calls|messages|reminders|robocalls|text messages)\b",
        r"\bdo not want (?:you|anyone|you guys|yall|your (?:office|clinic)) (?:to )?(?:call|text|contact)",
        r"\b(?:cancel|turn off|disable|end) (?:these|the|all|all the|my|your|this|those)? ?(?:reminders?|texts|messages|calls|notifications|alerts)\b",
        r"\bblock(?:ing)? (?:this|your) number\b", r"\bsick (?:and tired )?of (?:these|your|the|you|getting|all)", r"\bstop (?:it|this)\b(?! by)",
    ],
    "dispute": [
        r"\b(?:bill|charge|invoice|amount|balance|statement|total|price|fee|cost)s? (?:is|was|are|seems?|looks?|sounds?)"
        r" (?:all |way |totally |completely )?(?:wrong|incorrect|not (?:right|correct|accurate|mine)|a mistake|an error"
        r"|off|too high|inaccurate|bogus|inflated)",
        r"\b(?:wrong|incorrect|bogus) (?:bill|charge|amount|balance|invoice|total|account|statement)",
        r"\bnot (?:my|our) (?:bill|charge|debt|invoice|balance|visit|appointment)",
        r"\b(?:this|that|it) is not (?:mine|ours)\b", r"\bnot mine\b",
        r"\b(?:do not|did not|should not|never) owe\b", r"\bnot (?:think|believe|feel) (?:that )?(?:i|we) (?:should |really )?owe\b",
        r"\b(?:i|we) (?:have|had|have got) (?:medicaid|medicare|insurance|coverage)\b(?! but)",
        r"\b(?:copay|co pay|copayment|deductible)s? (?:is|was|should be|should have been|is only|was only)\b",
        r"\bonly (?:supposed to|had to|have to|owed?) (?:pay )?\$? ?\d", r"\bowe (?:you )?nothing\b", r"\bnothing (?:is )?owed\b",
        r"\b(?:insurance|medicare|medicaid|my plan|aseguranza|aseguradora) (?:should|is supposed|was supposed|supposedly|covers|covered|already"
        r"|paid|pays|(?:was |is |were )?(?:will|would|going to) (?:pay|cover|take care)|is (?:paying|covering|responsible)"
        r"|took care|takes care|has to|needs to|said|was (?:supposed|meant)|covers)",
        r"\b(?:covered|paid|payed) (?:for )?by (?:my |the |our )?(?:insurance|medicare|medicaid)\b",
        r"\bshould (?:be|have been) (?:covered|paid by)\b",
        r"\b(?:bill|send it to|billed to|submit (?:it )?to|go through|run it through|file (?:it )?with) (?:my |the )?"
        r"(?:insurance|medicare|medicaid)\b",
        r"\b(?:charg|bill)\w* (?:me |us )?(?:twice|two times|double|2 times|for the same)\b",
        r"\bdouble (?:charg|bill)\w*", r"\bduplicate (?:charge|bill|payment|invoice)\b", r"\bovercharg\w*",
        r"\bdisput\w*", r"\b(?:can not|could not|does not|do not) (?:be|seem|look|sound) (?:right|correct|accurate)\b",
        r"\b(?:does not|do not|did not) (?:match|add up)\b",
        r"\b(?:balance|bill|total|amount|it) (?:was|is|should be|would be) (?:zero|0|nothing|\$ ?0|free)\b",
        r"\bnever (?:authori[sz]ed|agreed to|ordered|asked for|signed|requested|approved)\b",
        r"\b(?:already )?(?:billed|sent|submitted) to (?:my |the )?insurance\b", r"\b(?:this|that|it|there) (?:is|was|must be|has to be|seems|looks like) (?:a |an |some )?(?:mistake|error)\b",
        r"\bnever (?:received|got|get|saw|seen|was sent) (?:a |the |any )?(?:bill|statement|invoice|notice)\b", r"\bcontest(?:ing)? (?:this|the|that)\b",
        r"\b(?:mistake|error|wrong) (?:on|in|with) (?:my|the|this|your|that) (?:bill|statement|invoice|account|charge)",
        r"\b(?:billing|bill) (?:mistake|error)\b", r"\b(?:billed|charged|charging|billing) (?:me |us )?for (?:the |a )?wrong\b",
        r"\bwrong (?:visit|service|procedure|patient|date of service)\b",
        r"\bnever (?:had|received|got|did|get) (?:that|this|any|the|a|an)? ?(?:service|procedure|treatment|test|"
        r"appointment|visit|surgery|x ?ray|labs?|exam|checkup|cleaning)",
        r"\bnever (?:went|been|was seen|visited|came in|showed up|go) (?:to|there|in|at)?\b",
        r"\b(?:was|were|have|has|had) never (?:been )?(?:seen|treated|examined|there|a patient)\b",
        r"\bnever (?:saw|seen|met) (?:that|this|the|a|any|your) (?:doctor|dr|provider|dentist|nurse|physician)\b",
        r"\bdid not (?:have|get|receive|go to|attend) (?:that|this|any|the|an?) (?:service|procedure|treatment|test|"
        r"appointment|visit|surgery|exam|checkup)",
        r"\bcancell?ed (?:that|the|my|this) (?:appointment|visit)\b",
        r"\bfraud\w*\b", r"(?<!\btax )(?<!\bincome tax )(?<!\bmy )(?<!\bour )\brefund\b", r"\bsupposed to be (?:free|covered|no charge|included)\b",
        r"\bshould (?:be|have been) (?:free|covered|no charge|included|zero|\$ ?0)\b",
        r"\b(?:husband|wife|ex|employer|insurance|father|mother|dad|mom|parents?|he|she|they)\w* (?:is|are|was|should be)"
        r" (?:the one )?responsible for (?:this|the|that|my)\b",
        r"\b(?:will not|am not|not going to|refuse to|should not have to|should not) (?:be )?pay\w*(?: for)? (?:this|that|it)\b",
        r"\bnot (?:paying|pay) for (?:something|a service|services)\b",
    ],
    "hardship": [
        r"\b(?:can not|could not|do not|does not|not|never) (?:really |even |possibly )?afford\b", r"\bunaffordable\b",
        r"\b(?:lost|lose|losing) (?:my|our|his|her) (?:job|work|income|house|home|husband|wife|mom|mother|dad|father"
        r"|son|daughter|child|baby|brother|sister|partner|spouse|grandma|grandmother|grandpa|grandfather)\b",
        r"\blaid off\b", r"\b(?:got|been|was|were|just got) (?:fired|let go|furloughed)\b", r"\bfurlough\w*",
        r"\bunemploy\w*", r"\bout of (?:work|a job)\b", r"\b(?:no|have no|without a|not have a|not have any) (?:job|income|work)\b",
        r"\bnot have (?:the |any |enough )?(?:money|funds|cash)\b", r"\bno (?:money|funds|cash)\b", r"\bnot enough money\b",
        r"\bbroke\b", r"\bstruggl\w*", r"\btimes are (?:tough|hard|rough)\b",
        r"\bdo not have (?:it|that (?:kind of )?money|that much|that kind of money)\b", r"\b(?:hard|tough|difficult|rough) (?:times?|situation|spot)\b",
        r"\bhard time (?:paying|financially)\b", r"\b(?:tight|short) on (?:money|cash|funds)\b", r"\b(?:money|things|finances) (?:is|are) (?:really |very |so |pretty |super |a little |a bit )?(?:tight|short|bad)\b",
        r"\bfinancial(?:ly)? (?:hardship|difficult\w*|trouble|problems?|help|assistance|aid|struggl\w*|strapped|situation)",
        r"\bcharity care\b", r"\bsliding scale\b",
        r"\b(?:assistance|help) (?:program|paying|with (?:the |my |this )?(?:bill|payment|cost|balance))",
        r"\b(?:any|some|get|need|for) (?:financial )?(?:help|assistance|aid|programs?)\b",
        r"\b(?:apply|qualify) for (?:help|assistance|aid|charity|a discount)\b",
        r"\b(?:reduce|lower)\w* (?:the |my )?(?:bill|balance|amount)\b",
        r"\b(?:i am|been|was|is|got|very|really|so|am|still) (?:sick|ill)\b(?! (?:and tired )?of)", r"\billness\b", r"\bcancer\b", r"\bchemo\w*",
        r"\bin (?:the )?hospital\b", r"\bhospitali[sz]ed\b", r"\b(?:had|having|need) (?:a |an )?(?:surgery|operation)\b",
        r"\bdisabilit\w*", r"\bdisabled\b", r"\bmedical leave\b", r"\bdialysis\b",
        r"\bpassed away\b", r"\b(?:mom|mother|dad|father|husband|wife|son|daughter|brother|sister|grandma|grandpa|partner)"
        r" (?:just )?(?:passed|died)\b", r"\bdied\b", r"\bdeath in\b", r"\bfuneral\b", r"\bbereave\w*",
        r"\bfixed income\b", r"\bsocial security\b", r"\bssi\b", r"\bfood stamps\b", r"\bhomeless\b", r"\bevict\w*",
        r"\bpaycheck to paycheck\b", r"\bbarely (?:making it|getting by|surviving|scraping)\b",
        r"\bbehind on (?:my |all my )?(?:bills|rent|everything)\b", r"\bno way (?:i|we) can (?:pay|afford)\b",
        r"\bcan not (?:work|pay (?:anything|any of it|at all|a thing))\b",
        r"\bbarely (?:pay|afford|make|cover|keep up|put food)\b", r"\baccident\b", r"\b(?:hours|pay|income) (?:got |were |was )?cut\b",
        r"\b(?:things|life|money|it) (?:has|have) been (?:really |very |so |pretty |super )?(?:hard|tough|rough|difficult|tight|bad)\b", r"\bsingle (?:mom|mother|dad|father|parent)\b",
    ],
    "request_human": [
        r"\b(?:talk|speak|chat|discuss (?:this|it|that|my bill|the bill)) (?:to|with|con) (?:a |an |the |some |your |someone |somebody )?"
        r"(?:real |live |actual |human )?(?:person|human|whoever|agent|representative|rep|operator|someone|somebody|anyone|anybody|manager|supervisor|billing"
        r"|office|staff|receptionist|lady|guy|people|front desk|accounts?|alguien|una persona)\b",
        r"\b(?:someone|somebody|anyone|a person|alguien) (?:who|that|que) (?:speaks|habla) (?:spanish|espanol|english|ingles)\b",
        r"\b(?:real|live|actual) (?:person|human|people|agent)\b", r"\bhuman being\b",
        r"\brepresentative\b", r"\bwho (?:can|do|should|could) (?:i|we) (?:talk|speak) (?:to|with)\b", r"\boperator\b", r"\b(?:transfer|connect|put) me\b",
        r"\b(?:have|get|can|could) (?:someone|somebody|a person|a human|the office|billing|your office|a representative"
        r"|a manager|the manager) (?:from (?:the |your )?\w+ )?(?:to )?(?:call|text|contact|reach|help)\b",
        r"\bnot (?:want to )?(?:talk|speak)\w* (?:to|with) (?:a |an |this )?(?:robot|machine|computer|bot|recording)\b",
        r"\bno (?:robots?|machines?|bots?)\b",
        r"\b(?:want|need|get me|give me|would like) (?:a |an |to (?:talk|speak) (?:to|with) )?(?:real )?(?:person|human|manager"
        r"|supervisor|agent|representative)\b",
        r"^(?:an? )?(?:agent|human|representative|person|operator|manager)(?: please| now)*$",
        r"\bcall (?:the|your) (?:office|clinic|billing)\b",
    ],
    "wrong_person": [
        r"\bwrong (?:number|person|phone|guy|girl|lady|house|contact|name|people|family)\b",
        r"\b(?:have|got|calling|texting|reached|dialed) the wrong\b",
        r"\bno (?:one|body)(?: here)? (?:by|with|named|called) (?:that|this)? ?name\b", r"\bnobody (?:by|with|named)\b",
        r"\bno (?:one|body) (?:here )?(?:named|called|by the name)\b",
        r"\bthere is no (?!money|way|one\b|body\b|need|problem|reason|time|bill|charge)[a-z]+ (?:here|at this number|living here|in this house)\b",
        r"\b(?:does|do) not (?:have|use) (?:this|that) (?:number|phone)\b",
        r"\bnot sure who (?:that|this|he|she|they|you) (?:is|are|want|mean)\b",
        r"^who is (?!this\b|that\b|it\b|calling|texting|sending|there\b|the\b|my\b|your\b|he\b|she\b|speaking|in charge"
        r"|responsible)[a-z]+\b(?! (?:calling|texting|is))",
        r"\b(?:does|do) not live here\b", r"\bno longer lives? here\b", r"\b(?:does|do) not (?:live|stay) (?:at|in) this\b",
        r"\b(?:is|this is|i am|it is) not (?:me|him|her|them|that person|the person)\b",
        r"\bnot (?:the person|who you)\b", r"\bnot who you\b",
        r"\bdo not know (?:who (?:that|this|you) (?:is|are)|(?:him|her|them|that person|anyone|anybody|this person|a|an))\b",
        r"\bnever heard of\b", r"\bno such person\b", r"\bnew number\b", r"\bjust got this (?:number|phone)\b",
        r"\bnot (?:my|our|his|her|their) (?:number|phone|name)\b", r"\b(?:number|phone) any ?more\b", r"\bdifferent person\b", r"\bnot me\b",
        r"\b(?:this is|i am|it is) not (?!sure|able|available|home|interested|paying|going|ready|happy|working|there|here"
        r"|free|certain|aware|calling|right|correct|true|fair|ok|done|mine|a|an|the|my|your|that|this|it|what|in|at|on"
        r"|for|with|about|good|bad|fine|yet)[a-z]+$",
    ],
    "already_paid": [
        r"\b(?:already|just|recently|finally|all|previously) (?:been )?paid\b",
        r"\b(?:i|we|she|he|they|husband|wife|mom|mother|dad|father|son|daughter|someone|somebody|brother|sister|partner"
        r"|boyfriend|girlfriend|roommate|family|employer|parents?|grandma|grandpa|aunt|uncle) (?:already |just |have |has "
        r"|had |did |actually |totally |already have |already did |went ahead and |went and |literally )*(?:paid|pay it off)\b",
        r"(?<!\bnot )(?<!\bget )(?<!\bgot )(?<!\bgets )(?<!\bgetting )(?<!\bbe )(?<!\bnever )(?<!\bwill )(?<!\bam )"
        r"(?<!\bget this )(?<!\bget it )(?<!\bget that )(?<!\buntil it is )(?<!\btil it is )(?<!\bwill have it )"
        r"(?<!\bwill have this )(?<!\bwill have that )(?<!\bgets )(?<!\bgetting )"
        r"\bpaid (?:it|that|this|the bill|the balance|in full|online|off|already|yesterday|last|on|by|with|over|via|through"
        r"|at|earlier|everything|you|them|for it|the whole|all)\b",
        r"(?<!\buntil )(?<!\btil )(?<!\btill )(?<!\buntil it )(?<!\btil it )(?<!\buntil that )"
        r"\b(?:it is|its|that is|thats|this is|it was|it has been|has been|was|been|is) (?:already |been |all |fully )*"
        r"(?:paid|taken care of|settled|cleared|resolved|handled)\b",
        r"(?<!\bnot )\b(?:made|sent|submitted|mailed|dropped off|did|processed) (?:a |the |my |that |our |in )?"
        r"(?:payment|check|money|transfer|online payment)\b",
        r"(?<!\bnot )\b(?:sent|mailed) (?:it|that|you|the money)(?: in| already| yesterday| last| on| over| online| out| off)",
        r"\bcheck (?:is|was) in the mail\b",
        r"\balready (?:covered|handled|settled|cleared|sent|mailed|took care of|taken care of) (?:it|that|this|the)\b",
        r"\b(?:covered|handled|settled|cleared) (?:it|that|this|the bill|the balance) already\b",
        r"\balready (?:sent|mailed|made|submitted|dropped off|gave) (?:\w+ ){0,3}?(?:a |the |my )?(?:check|payment|money)\b", r"(?<!\bnot )\b(?:took|taken) care of (?:it|that|this|the bill)\b",
        r"(?<!\bnot )(?<!\bget )(?<!\bbe )(?<!\bgot )(?<!\bgets )(?<!\bgetting )\bpaid$", r"\breceipt\b", r"\bconfirmation (?:number|code|email)\b",
        r"\bpayment (?:went through|was made|has been made|posted|cleared|already)\b",
    ],
    "payment_plan": [
        r"\bpayment plans?\b", r"\b(?:a|on a|set up a|do a|get a|any) plan\b", r"\binstall?ments?\b",
        r"\bsplit (?:it|this|that|up|in|into|the (?:bill|balance|payment|amount|cost))\b",
        r"\b(?:in|into) (?:two|three|four|2|3|4|several|multiple|smaller|a few|few) (?:payments|parts|pieces|chunks)\b",
        r"\b(?:monthly|weekly|biweekly|smaller|small|partial|little|multiple) payments\b", r"\b(?:make|do) payments\b",
        # one payment split over two days: "half on the 5th and the rest on the 20th", "25 friday and 25 on the 1st"
        r"\b(?:half|part|some) (?:of it )?(?:on|by|this|next|friday|monday|tuesday|wednesday|thursday|saturday|sunday"
        r"|tomorrow|the \d)\b.*\b(?:and|then|plus) (?:the )?(?:rest|other half|remainder|balance)\b",
        r"(?:\$ ?\d+|\b\d+ (?:dollars|bucks)?) ?(?:(?:on|by|this|next) )?(?:the )?\w+(?: \w+)? (?:and|then|plus) (?:\$ ?\d+|\d+)"
        r" (?:dollars |bucks )?(?:on|by|this|next|the \d)",
        r"\b(?:pay|paying|pay it|pay this|pay that) (?:off )?(?:a little|a bit|some|little by little|bit by bit|slowly"
        r"|over time|in parts|in pieces|monthly|weekly|each month|every month|per month|a month|each week|every week"
        r"|every paycheck|each paycheck)",
        r"\bover (?:the next )?(?:two|three|four|five|six|a few|several|few|\d+) (?:months|paychecks|weeks)\b",
        r"\bbreak (?:it |this |that |the bill )?(?:up|down)\b", r"\bspread (?:it |this |the payments? )?out\b",
        r"\barrangements?\b", r"\bset up (?:a |some )?(?:plan|payments|arrangement)\b",
        r"\b(?:can not|could not) (?:pay|do|afford) (?:it |the |that |this )?(?:all|whole|full|entire|everything)\b",
        r"\b(?:all|everything|whole thing|whole amount|full amount) at once\b", r"\bat one time\b",
        r"\b(?:half|part|some) (?:of it )?(?:now|today)\b", r"\bthe rest (?:later|next|on|by|in)\b", r"\bpartial\b",
        r"\bhalf and half\b", r"\b50 ?50\b", r"\bmitad y mitad\b",
        r"\bfinanc(?:e|ing)\b", r"\b(?:smaller|small|lower|little|partial|monthly|weekly) (?:amounts|payments|chunks|pieces|installments)\b",
        r"\bevery (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|paycheck|payday|other week|two weeks)\b",
        r"\buntil (?:it is|the bill is|the balance is|its|i have it) paid (?:off|in full)\b", r"\b(?:do|pay|paying|pay it|do it) (?:monthly|weekly|biweekly|every other week)\b",
        r"(?:\$ ?\d+|\b\d+ (?:dollars|bucks)|\bsome|\bpart|\bhalf|\ba little) (?:of it )?(?:now|today|this week)"
        r" (?:and|then|plus) ", r"\bpay (?:it )?in (?:parts|pieces|chunks)\b",
        r"(?:\$ ?\d+(?:\.\d\d)?|\b\d+(?:\.\d\d)?|\b(?:ten|twenty|twenty five|thirty|forty|fifty|sixty|seventy|eighty|ninety"
        r"|a hundred|one hundred|hundred)) (?:dollars |bucks )?(?:a|per|each|every|a each) "
        r"(?:month|week|paycheck|pay period|two weeks|payday)\b",
    ],
    # A commitment to pay, with or without a day; the date decides promise vs pay now.
    "pay_cue": [
        r"\b(?:will|can|could|should|shall|plan to|planning to|promise to|promise|want to|would like to|be able to|am able to"
        r"|hope to|try to|intend to|let me|i would|i might|might|may|gotta|have to|need to) (?:(?!not\b)\w+ ){0,2}?"
        r"(?:pay|send|give|put down|make (?:a |the )?payment|take care|get (?:it|this|that|you|the money)|drop|mail|settle|cover|handle"
        r"|have (?:it|the money|the payment|that))\b",
        r"(?<!\bnot )(?<!\bto )\bpay (?:it |you |this |that |the bill |the balance |everything |in full |off |the rest )?"
        r"(?:on|by|next|this|after|before|when|until|til|till|in|tomorrow|today|tonight|now|right|friday|monday|tuesday"
        r"|wednesday|thursday|saturday|sunday|the \d|at the end|end)\b",
        r"\bpaying (?:it |you |this |that )?(?:on|by|next|this|after|before|when|tomorrow|today|now|right)\b",
        r"\bwhen (?:my|the|our|his|her) (?:\w+ ){0,2}(?:check|social security|ssi|ssdi|disability|pension|benefits|deposit"
        r"|unemployment|retirement|refund)(?: check| payment)? (?:comes|come|arrives|hits|lands|gets here|is deposited|drops)\b",
        r"\b(?:my|our|the) (?:\w+ )?(?:check|checks|social security|ssi|ssdi|disability|pension|benefits|deposit"
        r"|unemployment|retirement|refund|paycheck)(?: check| payment)? (?:comes|come|arrives|hits|lands|gets here|is deposited"
        r"|drops|comes in|goes in)\b",
        r"\b(?:payday|paycheck|pay day|get paid|gets paid|getting paid|got paid|check comes|direct deposit"
        r"|get (?:my|the|our) (?:check|money|tax refund|refund|benefits|deposit))\b",
        r"^(?:i will|will|i can|can) (?:do|pay)\b",
        r"\b(?:i|we) (?:get|receive|collect) (?:my|our|the) (?:\w+ ){0,2}?(?:check|checks|unemployment|disability|social security"
        r"|ssi|ssdi|pension|benefits|deposit|paycheck|retirement|stimulus|child support)\b",
        r"\b(?:can|could|will|would) (?:probably |maybe |only |just )?do (?:\$ ?\d|\d|half|(?:ten|twenty|thirty|forty|fifty|sixty"
        r"|seventy|eighty|ninety|a hundred|one hundred)\b)",
        r"\b(?:i|we) (?:will|can)(?: do it| do that| have it)? (?:tomorrow|tonight|today|next|on|by|this|monday|tuesday"
        r"|wednesday|thursday|friday|saturday|sunday|the \d|end)\b",
    ],
    "pay_now": [
        r"\bhow (?:do|can|could|would|should|to|does one|will) (?:i |we |you |one )?(?:go about )?(?:pay|make (?:a |the )?payment"
        r"|send (?:the )?(?:payment|money))",
        r"\b(?:where|what website|what site|which website|what number) (?:do|can|could|should|to) (?:i |we )?(?:pay|go|call)",
        r"\b(?:send|text|email|give|forward|resend|share|need|want|get) (?:me |us )?(?:the |a |that |your |a new |another )?"
        r"(?:payment |pay )?(?:link|url|website|web site|portal)\b",
        r"\blink\b", r"\b(?:best|easiest|fastest|quickest|a|another|other|what) ways? (?:to|i can|can i) pay\b", r"\bpay (?:online|over the phone|by (?:card|credit|debit|phone|check)|with (?:a |my )?(?:card|credit|debit))",
        r"\b(?:take|use|accept|give you) (?:my |a |the )?(?:(?:credit|debit) )?(?:cards?|card number|card info)\b",
        r"\b(?:want to|would like to|let me|ready to|can i|could i|may i|trying to|try to) (?:just )?(?:go ahead and )?"
        r"(?:pay|make (?:a |the )?payment|settle)\b",
        r"\b(?:paying|pay|doing it|do it|doing that|sending it|send it|sending|take care of it|taking care of it|pay it off"
        r"|handle it|handling it|get (?:it|this|that) paid(?: off)?) (?:it |you |this "
        r"|that |the payment |payment |the money )?(?:right )?(?:now|right away|immediately|as we speak|today|tonight|this (?:morning|afternoon|evening)"
        r"|in a (?:minute|few minutes|few mins?|sec|second|bit|little bit|few hours|hour|couple hours)|straight away|asap)\b",
        r"\b(?:now|today|tonight) (?:i |we )?(?:will|can) (?:pay|send|do it)\b",
        r"\b(?:take|process|run|charge|use) (?:the |my |a |this )?(?:payment|card)\b", r"\blater today\b",
        r"\b(?:charge|put|run|bill|use) (?:it |that |this |the (?:balance|bill|payment|rest) )?(?:to |on |with )?(?:the |my |a )?"
        r"(?:card|visa|mastercard|master card|amex|discover|debit card|credit card|debit|credit)\b",
    ],
    "now_word": [
        r"\b(?:right now|now|right away|immediately|today|tonight|this (?:morning|afternoon|evening)|later today"
        r"|as we speak|in a (?:minute|few minutes|sec|second|bit|little bit|few hours|hour|couple hours)|asap)\b",
    ],
    "hardship_weak": [
        r"\b(?:can not|could not|will not|not able to) (?:really |be able to )?(?:pay|make|cover|do)\b",
        # "sorry I can't" as the whole answer to "can you pay?"
        r"^(?:(?:no|nah|sorry|i am sorry|unfortunately) )*(?:i|we) (?:really )?can not(?: (?:right now|now|yet|at the moment))?"
        r"(?: (?:sorry|im sorry|i am sorry))?$",
        r"\bno way (?=\w)", r"\bnot (?:right now|at the moment|at this time)\b.{0,20}\bpay",
    ],
    "callback_later": [
        r"\b(?:bad|not a good|not the best|inconvenient|busy|awkward|terrible) (?:time|moment)\b", r"\bnot (?:a )?good time\b",
        r"\bbusy\b", r"\bdriving\b", r"\bat work\b", r"\bin (?:a |the )?(?:meeting|class|church|car|store|middle of)\b",
        r"\bwith (?:a )?(?:patient|customer|client|the kids|my kids)\b",
        r"\b(?:call|ring|phone|try) (?:me |us |him |her |you |u )?(?:back|later|again|another time|tomorrow|tonight|in an hour|after"
        r"|this (?:evening|afternoon)|around|at|on|next)\b",
        r"\bcall ?back\b", r"\banother (?:day|time)\b",
        r"^(?:please )?(?:call|ring|phone) me (?:on )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
        r"^(?:please |can you |could you )?(?:call|ring|phone) me (?:on |back on )?(?:the \d|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct"
        r"|nov|dec)[a-z]* \d)", r"\b(?:hit me up|hmu|ttyl|talk to you later)\b",
        r"\b(?:can not|could not) (?:answer|pick up|take (?:this|the|your) call)\b", r"\bdo not (?:call|text|ring) (?:me |us )?(?:until|till|til|before)\b", r"\b(?:can not|could not) (?:really )?(?:talk|speak)\b", r"\b(?:talk|speak) (?:later|another time)\b",
        r"\b(?:he|she|they)(?: is| are|s)? not (?:home|here|available|in|around)\b",
        r"\b(?:he|she) is (?:at work|out|sleeping|busy|away|not home)\b", r"^(?:no )?not now\b", r"^later$",
        r"\b(?:text|reach|contact|call) (?:me|us) (?:later|back)\b", r"\bget back to (?:me|you)\b",
        r"\b(?:do|talk about) this later\b", r"\bsleeping\b", r"\bnot a good moment\b", r"\bin a bit\b$",
    ],
    "question_what_for": [
        r"\bwhat (?:is|was|are|s) (?:this|it|that|these|the (?:bill|charge|balance|invoice|payment)) (?:for|about|regarding|from)\b",
        r"\bwhat (?:is|was) (?:this|that) (?:bill|charge|about|call)\b", r"\bwhat for\b",
        r"\bwhat (?:bill|charge|invoice|service|visit|appointment|balance is this)\b",
        r"\bwhich (?:bill|visit|appointment|service|invoice|charge|account)\b",
        r"\bwhy (?:am i|was i|are you|do i|is there|would i) (?:being )?(?:charged|billed|owe|owing|calling|texting|getting)\b",
        r"\bwhat (?:are you|is this|r you) (?:calling|texting|contacting) (?:about|for)\b", r"^what is this$",
        r"\b(?:explain|itemi[sz]ed|breakdown|details)\b", r"\bwhat do you want\b", r"\bwhat is (?:this|it) regarding\b",
        r"\bwhat (?:was|is) (?:the )?(?:service|visit|appointment)\b", r"\bdate of service\b",
    ],
    "question_amount": [
        r"\bhow much\b", r"\bwhat do (?:i|we) owe\b", r"\bwhat (?:is|s) (?:my|the|our) (?:balance|amount|total|bill)\b",
        r"\bwhat (?:amount|balance|total)\b", r"\bamount (?:due|owed|i owe)\b", r"\bhow (?:big|large) is\b",
        r"\b(?:what|how much) do i owe\b", r"\bwhat i owe\b",
    ],
    "question_due_date": [
        r"\bwhen (?:is|was|s|were) (?:it|this|that|the (?:bill|payment|balance|invoice)|my (?:bill|payment)) due\b",
        r"\bdue date\b", r"\bwhen (?:did|do|does|should|must|will) (?:i|we) (?:have|need) to pay\b", r"\bpay (?:this|it) by$", r"\bwhen (?:do|should|must|will) (?:i|we) (?:need to |have to )?pay\b", r"\bdeadline\b",
        r"\bwhen (?:is|was) (?:it|this|that|the payment|the bill) (?:due|supposed)\b",
        r"\bwhen (?:is|was) the (?:last day|deadline)\b", r"\bhow (?:long|much time) do (?:i|we) have\b",
        r"\bwhen (?:did|was) (?:it|this|that) (?:become )?(?:due|overdue|late)\b", r"\bhow (?:late|overdue) (?:am i|is it)\b",
    ],
    "question_who": [
        r"\bwho (?:is|s|was) (?:this|calling|texting|that|it)\b", r"\bwho (?:are|r) (?:you|u)\b",
        r"\bwho am i (?:talking|speaking)\b", r"\bwho (?:sent|is sending)\b",
        r"\b(?:what|which) (?:company|clinic|office|doctor|practice|hospital|business|place|dentist)\b",
        r"\bwhere (?:are you|is this|you) (?:calling|texting|from)\b", r"\bwhere (?:is|are) (?:this|you) from\b",
        r"\b(?:are you|is this|am i talking to) (?:a |an )?(?:robot|machine|computer|bot|real person|real|human|recording"
        r"|scam|legit|spam|automated)\b",
        r"\bis this (?:a )?(?:scam|spam|legit)\b", r"\bhow did you get (?:my|this) number\b", r"^who$",
    ],
    "affirm": [
        r"\b(?:yes|yeah|yep|yup|yah|sure|correct|affirmative|absolutely|definitely|certainly|exactly|indeed|uh huh|mhm"
        r"|mm hmm|ok|alright|all right|of course|for sure|speaking|you bet|that works|sounds good|will do|got it|perfect"
        r"|understood|right(?! now| away| there| here)|true|yes sir|yes maam|okie dokie|okey dokey)\b",
        r"\b(?:this is|that is|thats|it is|its) (?:he|she|him|her|me|them|correct|right|true)\b", r"\bthat would be me\b",
        r"^(?:i am|it is|this is he|this is she|i do|i did|i have|that is it)$",
        r"\b(?:that would be|that is|that sounds|sounds) (?:great|good|fine|perfect|nice|awesome)\b", r"^(?:great|cool|fine|good|nice)\b",
        r"^y$",  # a one-letter answer, as to "reply Y or N"
    ],
    "deny": [
        r"\b(?:no|negative|incorrect|not really|not at all|not correct|not right|not true|absolutely not|of course not"
        r"|definitely not|i do not think so|wrong|not quite|not exactly|not interested|nuh uh|uh uh|i would rather not)\b",
        r"^(?:i am not|it is not|that is not|i do not|i did not|not)$", r"^n$",
    ],
}
