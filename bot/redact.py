"""Remove personal data from a message before anything stores it.

Conversation logs are read by reviewers and kept for months, and nobody needs a caller's
phone number or NHS number to improve an answer. So the public channel replaces these with
a placeholder before the message reaches Rasa, and the tracker store never sees them.

Each pattern is written to leave the domain's own numbers alone ("section 33", "£663,540",
"reg 77", "LGPS 2014", dates): phone numbers need a leading 0 or +44 and 10-11 digits, NHS
numbers must pass their modulus-11 check unless the user calls them an NHS number, and
postcodes must have the inward part (digit and two letters).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = "[email]"
PHONE = "[phone number]"
NI = "[NI number]"
NHS = "[NHS number]"
POSTCODE = "[postcode]"
NAME = "[name]"

_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+'-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# +44 or 0 (not 00, an international prefix), then 9-10 more digits with optional spaces, dashes, dots or brackets between.
_PHONE = re.compile(r"(?<![\w£$.,])(?:\+\s?44\s?(?:\(0\)\s?)?\d|\(?0[1-9])(?:[\s\-.)(]{0,2}\d){8,9}(?!\d|[.,]\d)")
# National Insurance number: two prefix letters (not D F I Q U V; second not O), six digits, suffix A-D.
_NI = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
                 r"(?:[\s-]?\d{2}){3}[\s-]?[A-D]\b", re.IGNORECASE)
# NHS number: 10 digits, often written 3-3-4.
_NHS = re.compile(r"(?<![\w£$.,])\d{3}[\s-]?\d{3}[\s-]?\d{4}(?!\w|[.,]\d)")
_NHS_CUE = re.compile(r"nhs\s*(?:no\.?|number|num|#)\s*(?:is\s*)?[:\-]?\s*$", re.IGNORECASE)
# UK postcode: outward code (A9, A99, A9A, AA9, AA99, AA9A) and inward code (9AA).
_POSTCODE = re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}|GIR\s?0AA)\b", re.IGNORECASE)
_NAME_CUE = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|my\s+names|name\s*:|i\s*'?\s*a?m\s+called|call\s+me|"
    r"this\s+is)\s+", re.IGNORECASE)
_NAME_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’\-])*")  # any script: Zoë, Wiśniewski, O'Neill
# Words that follow the cues without being a name ("call me back", "this is urgent").
_NOT_NAME = frozenset("""
a an the and or but not no so to from at in on of for with by about as is was be been am are
back please asap soon later tomorrow today tonight now when if after before regarding re urgent
important about just only really very quite still also i im me my we our you your it its it's
this that there here what which who how why where mr mrs ms miss dr prof sir madam
called named known speaking here urgent important confidential private sensitive complicated
going trying looking wondering calling writing asking new mutual council nhs lgps tupe cic
old old-fashioned crazy cynical sceptical skeptical naive stupid paranoid pedantic biased picky
""".split())
_AFTER_INTRO = re.compile(r"\s*(?:[,.!]|$|from\b|speaking\b|here\b|at\b|of\b|in\b)", re.IGNORECASE)
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof"})


@dataclass(frozen=True)
class Redaction:
    text: str
    kinds: tuple[str, ...]  # what was removed, in order found (for logs and measurement)


def nhs_number_valid(digits: str) -> bool:
    """The NHS number's modulus-11 check digit (weights 10..2 on the first nine digits)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _names(text: str) -> list[tuple[int, int]]:
    """Spans of names given after "my name is", "call me" and the like."""
    spans = []
    for cue in _NAME_CUE.finditer(text):
        pos, words, start, end = cue.end(), 0, None, None
        while words < 3:
            m = _NAME_WORD.match(text, pos)
            if not m:
                break
            word = m.group(0).lower().strip("'-")
            if word in _TITLES and words == 0:
                pos = m.end()
                pos += len(text[pos:]) - len(text[pos:].lstrip(". "))
                continue
            if word in _NOT_NAME or (len(word) == 1 and m.group(0).islower()):
                break
            start = m.start() if start is None else start
            end = m.end()
            words += 1
            gap = re.match(r"[ \t]+", text[m.end():])
            if not gap:
                break
            pos = m.end() + gap.end()
        # "this is" introduces a name only when a caller says who they are ("this is Sam from
        # the trust", "this is Sam speaking"), not "this is Schedule 1 of the articles".
        weak = cue.group(0).lower().startswith("this")
        if start is not None and (not weak or _AFTER_INTRO.match(text, end)):
            spans.append((start, end))
    return spans


def redact(text: str) -> Redaction:
    """The message with personal data replaced by placeholders such as "[phone number]"."""
    found: list[tuple[int, int, str]] = []

    def claim(start: int, end: int, label: str) -> None:
        if not any(s < end and start < e for s, e, _ in found):
            found.append((start, end, label))

    for m in _EMAIL.finditer(text):
        claim(m.start(), m.end(), EMAIL)
    for m in _NI.finditer(text):
        claim(m.start(), m.end(), NI)
    for m in _NHS.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if nhs_number_valid(digits) or _NHS_CUE.search(text[:m.start()]):
            claim(m.start(), m.end(), NHS)
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 10 <= len(digits.removeprefix("44")) + (1 if digits.startswith("44") else 0) <= 12:
            claim(m.start(), m.end(), PHONE)
    for m in _POSTCODE.finditer(text):
        claim(m.start(), m.end(), POSTCODE)
    for start, end in _names(text):
        claim(start, end, NAME)
    if not found:
        return Redaction(text, ())
    found.sort()
    out, last = [], 0
    for start, end, label in found:
        out.append(text[last:start])
        out.append(label)
        last = end
    out.append(text[last:])
    return Redaction("".join(out), tuple(label for _, _, label in found))
