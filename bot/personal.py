"""Spot questions about a person's own pension or own job, which no entry answers.

"How do I buy added pension for myself?" or "can I get ill health retirement from the LGPS?"
share the knowledge base's words (scheme names, "pension", "retire"), so the NLU and the
matcher take them for spin-out questions and answer them with an entry about Fair Deal. They
are personal admin: the scheme's administrator, HR or a union answers them, and saying so is
more use than a generic decline.

A message counts only when it is in the first person singular ("I", "my"; for pay and leave,
naming Agenda for Change will do), names a personal pension or employment matter, and says nothing about a spin-out, a transfer or a new employer:
"will I keep my ill health retirement rights when we become a CIC?" is a Fair Deal question
and goes to the matcher.
"""
from __future__ import annotations

import re

PENSION = "pension"
EMPLOYMENT = "employment"

# An individual's own pension benefits and their administration.
_PENSION_MATTERS = r"""
added\s+pension|additional\s+pension|extra\s+pension|buy(ing)?\s+(back\s+)?(extra\s+|more\s+)?(years|service)|
\bavcs?\b|additional\s+voluntary|
ill[\s-]*health\s+(retirement|pension|retire)|
(tax[\s-]*free\s+)?lump\s*sum|tax[\s-]*free\s+cash|commutation|
(pension|benefit|total\s+reward)\s+statements?|\bcetv\b|cash\s+equivalent|
state\s+pension|pension\s+age|normal\s+retirement\s+age|
(retire|retiring|retirement)\s+(early|at\s+\d\d)|early\s+retirement\s+(reduction|factor)|
expression\s+of\s+wish|nominat\w+\s+(my|a)\s+\w+|death\s+grant|survivors?'?\s+pension|widow|
pension\s+sharing|divorce|
mccloud|remedy\s+(choice|statement)|remediable|
annual\s+allowance|lifetime\s+allowance|scheme\s+pays|emergency\s+tax|tax\s+code|
refund\s+of\s+(my\s+)?(pension\s+)?contributions|opt(ing)?[\s-]*(out|back\s+in)\s+of|rejoin|
retire\s+and\s+return|flexible\s+retirement|partial\s+retirement|step[\s-]*down|wind(ing)?\s+down|
deferred\s+(pension|member|benefits)|my\s+old\s+(workplace\s+)?pension|sipp|
pension\s+(increase|uplift)|contribution\s+(rate|tier|band)\s+(go|goes|went|going)|
my\s+(own\s+)?(pension\s+)?contributions?|(do|will|should|would)\s+i\s+(have\s+to\s+)?pay\s+(in)?to\s+(the|my)
"""

# An individual's own pay, leave and working conditions.
_EMPLOYMENT_MATTERS = r"""
annual\s+leave|holiday\s+(entitlement|pay|days)|sick\s+(pay|leave|note)|sickness\s+(absence|pay|policy)|
maternity|paternity|parental\s+leave|adoption\s+leave|carers?\s+leave|compassionate\s+leave|
flexible\s+working\s+request|(unsocial|antisocial|on[\s-]*call)\s+hours?|shift\s+(allowance|pay|pattern)|
overtime|mileage|pay\s+(rise|award|slip|band|point|progression)|payslip|increment|
band\s+\d+\s+(to|->)\s+band|re[\s-]*band\w*|regrad\w*|job\s+evaluation|
grievance|disciplinary|bullying|harass\w*|occupational\s+health|phased\s+return|
bank\s+shifts?|agency\s+shifts?|student\s+loan|p60|p45|
references?\s+for\s+(a|my)\s+new\s+job|notice\s+period
"""

# Anything tying the message to the move itself: then it is a question we answer.
SPIN_OUT_CONTEXT = r"""
spin[\s-]*(out|off)|spun[\s-]*out|spinning[\s-]*out|mutual\w*|co[\s-]*op\w*|social\s+enterprise|
\bcic\b|community\s+interest|community\s+benefit|\bcbs\b|employee[\s-]*(owned|led|ownership)|
staff[\s-]*(owned|led|run)|\btupe\b|\bcosop\b|fair\s+deal|outsourc\w*|privatis\w*|privatiz\w*|
transferr(ed|ing)\s+(out|over|across|to|with)|(being|been|are|were|get|gets|getting)\s+transferred|
staff\s+transfer|bulk\s+transfer|transfer\s+date|(after|before|on|at)\s+(the\s+)?(transfer|move)|
\b(we|us|service|team|staff)\s+(\w+\s+)?(transfer|move|go|leave)(s|es)?\b|the\s+move\b|
transfer\w*\s+(of\s+)?(the\s+)?(service|staff|undertaking|team)|
new\s+(employer|organisation|organization|org|company|provider|body|social|co|enterprise|business)|
mov(e|es|ed|ing)\s+(across|over|out)|go(es|ing)?\s+out\s+of\s+(the\s+)?(trust|council|nhs|department)|
leav(e|es|ing)\s+(the\s+)?(public\s+sector|trust|council|department)|
admitted\s+body|admission\s+agreement|independent\s+provider|direction\s+(body|status)|
broadly\s+comparable|contract\s+(ends|is\s+relet)|tender\w*|
our\s+(service|team|staff|organisation|company)\s+(is|are|will|would|could)|
carr(y|ies|ied)\s+(over|across)|continu\w+\s+(of\s+)?(service|employment)
"""

_FIRST_PERSON = r"\b(i|i'm|im|i've|ive|i'd|id|me|my|myself|mine)\b"
# National pay terms make a leave or pay question personal even without "I" ("annual leave
# after 10 years on agenda for change?"): an employer asking about them names the move.
_PAY_TERMS = r"\b(agenda\s+for\s+change|afc)\b"

_PENSION_RE = re.compile(_PENSION_MATTERS.replace("\n", ""), re.IGNORECASE)
_EMPLOYMENT_RE = re.compile(_EMPLOYMENT_MATTERS.replace("\n", ""), re.IGNORECASE)
_CONTEXT_RE = re.compile(SPIN_OUT_CONTEXT.replace("\n", ""), re.IGNORECASE)
_FIRST_PERSON_RE = re.compile(_FIRST_PERSON, re.IGNORECASE)
_PAY_TERMS_RE = re.compile(_PAY_TERMS, re.IGNORECASE)


def personal_matter(text: str) -> str | None:
    """``PENSION`` or ``EMPLOYMENT`` for a question about one's own pension or job with no
    spin-out in it, else None."""
    text = " ".join((text or "").split())
    if _CONTEXT_RE.search(text):
        return None
    first_person = bool(_FIRST_PERSON_RE.search(text))
    if first_person and _PENSION_RE.search(text):
        return PENSION
    if (first_person or _PAY_TERMS_RE.search(text)) and _EMPLOYMENT_RE.search(text):
        return EMPLOYMENT
    return None
