"""Text normalisation shared by the matcher and the knowledge-base checks.

Users type "can i keep my NHS pension??" and "nhs pensoin spin-out"; entries say
"Can I stay in the NHS Pension Scheme if my team spins out?". Normalising both the same
way (lowercase, punctuation out, one spelling per term from faq/lexicon.yml, stop words
out, light suffix stripping) lets a fuzzy ratio compare meaning-bearing words only.
"""
from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    """a an the and or but if then so of to in on at by for with from into about as is are
    was were be been being am do does did doing have has had having i me my mine we us our
    ours you your yours he she it its they them their this that these those there here what
    which who whom whose when where why how can could would should will shall may might must
    not no yes any all some just also very really please thanks thank hi hello hey ok okay
    get got go going want wanted need needs like know tell let im ive id dont doesnt cant
    wont would've u ur pls plz anyone someone something anything more most
    still ever would still our team staff service we're i'm it's what's broadly""".split()
)
# "broadly" says how exact the question is, not what it asks: "and broadly what do the unions
# make of mutuals?" went to the "broadly comparable" pension entry on it (the eleventh dialogue
# author); "broadly comparable" still matches on "comparable". Other hedges ("basically") are
# kept: no entry's term holds them, and dropping them moved a near tie in a tuning dialogue.
# "many" and "much" are kept: "how many public service mutuals are there" asks for a count, and
# without them it was the bare "psm" of "what is a psm" (two tuning dialogues); author-block
# cross-validation of the single questions was the same with and without them (98.0 / 99.6 / 1.4
# / 97.7).
_PUNCT = re.compile(r"[^\w£%]+")
_SPACES = re.compile(r"\s+")


def basic(text: str) -> str:
    """Lowercase, apostrophes dropped, punctuation to spaces, white space collapsed."""
    text = text.lower().replace("'", "").replace("\u2019", "")
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


_SENTENCE_END = re.compile(r"(?<=[.?!;])\s+|\n+")


def message_parts(text: str, min_words: int = 4, window: int = 20) -> list[str]:
    """A long message's sentences (fragments under ``min_words`` joined to the next), and any
    sentence over ``2 * window`` words cut into overlapping ``window``-word pieces: staff who
    write without full stops still ask their question somewhere in the run."""
    sentences, carry = [], ""
    for chunk in _SENTENCE_END.split(text):
        carry = f"{carry} {chunk}".strip()
        if len(carry.split()) >= min_words:
            sentences.append(carry)
            carry = ""
    if carry:
        if sentences:
            sentences[-1] = f"{sentences[-1]} {carry}"
        else:
            sentences.append(carry)
    parts = []
    for sentence in sentences:
        words = sentence.split()
        if len(words) <= 2 * window:
            parts.append(sentence)
            continue
        step = window // 2
        parts += [" ".join(words[i:i + window]) for i in range(0, len(words) - step, step)]
    return parts


# An operator's note of a call ("caller asks are there consultancies who can guide them",
# "caller's colleague now on the line, she's nhs. asks how it works for the nhs") wraps the
# question in reporting words that sit nearer the off-topic examples than the question does:
# "caller asks" alone took a plain support question from 0.03 to 0.87 out of scope.
_CALLER = re.compile(r"\b(?:the\s+)?callers?(?:'s|\u2019s)?\b", re.IGNORECASE)
_REPORTING = re.compile(
    r"\b(?:asks|asking|asked|says|saying|wants to know|wondering|would like to know|enquiring|"
    r"queries|querying|clarifies|confirms|adds|mentions)\b(?:\s+(?:if|whether|about|re|that)\b)?",
    re.IGNORECASE)
_LEADING = re.compile(r"^[\s,.;:-]+")
_BEFORE_PUNCT = re.compile(r"\s+([,.;:?!])")


def without_call_note(text: str) -> str:
    """The question inside an operator's call note, for judging whether it is on topic: the
    caller and the reporting verbs out. A message that does not mention a caller is returned
    as it is, so "what if the council asks us to bid" keeps its "asks"."""
    if not _CALLER.search(text):
        return text
    question = _REPORTING.sub(" ", _CALLER.sub(" ", text))
    question = _LEADING.sub("", _BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", question))).strip()
    return question or text


class Normaliser:
    """Rewrites lexicon variants to one form, then drops stop words and stems lightly."""

    def __init__(self, lexicon: tuple[tuple[str, ...], ...] = ()):
        pairs: list[tuple[str, str]] = []
        for row in lexicon:
            canonical = basic(row[0])
            for variant in row[1:]:
                v = basic(variant)
                if v and v != canonical:
                    pairs.append((v, canonical))
        # Longest variants first, so "nhs pension scheme" wins over "nhs pension".
        pairs.sort(key=lambda p: -len(p[0]))
        self._pairs = pairs
        self._pattern = (
            re.compile(r"\b(" + "|".join(re.escape(v) for v, _ in pairs) + r")\b") if pairs else None
        )
        self._map = dict(pairs)

    def canonical(self, text: str) -> str:
        """Basic form with every lexicon variant replaced by its row's first term."""
        text = basic(text)
        if self._pattern is None:
            return text
        # Twice, so a corrected typo can complete a longer term ("nhs pensoin" -> "nhs pension" -> "nhsps").
        for _ in range(2):
            text = self._pattern.sub(lambda m: self._map[m.group(1)], text)
        return text

    def tokens(self, text: str) -> list[str]:
        """Meaning-bearing tokens: canonical terms, no stop words, light stemming."""
        return [stem(t) for t in self.canonical(text).split() if t not in STOPWORDS]

    def key(self, text: str) -> str:
        """The string the fuzzy ratio compares."""
        return " ".join(self.tokens(text))


@lru_cache(maxsize=20000)
def stem(token: str) -> str:
    """Strip common English suffixes so "transfers", "transferred", "transferring" agree."""
    if len(token) <= 4 or not token.isalpha():
        return token
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith("ss"):
                return token
            return token[: -len(suffix)] + keep
    return token
