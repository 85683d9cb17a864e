"""Spot questions set in another country, which our UK-only answers would get wrong.

"Pension rights for Australian public servants when a state service is privatised" shares
nearly every word with a knowledge-base entry, so the matcher answers it with UK rules. A
named foreign jurisdiction is a plain signal the answer would be wrong, so the assistant says
it only covers the UK instead. The check stays quiet when the message also names a UK nation
("is it the same as in England?" compares, it does not move the question abroad) and when the
place is only where someone lives ("one of our trustees lives in Ireland" is a UK question).
"""
from __future__ import annotations

import re

# Countries and adjectives staff are likely to compare with, and US states (public-sector
# privatisation questions from the US name their state). "Ireland" and "Irish" count only
# without "Northern" (or a typo of it, or "N") before them; "US" only in forms that cannot be
# the pronoun "us".
_PLACES = r"""
republic of ireland|ireland|irish|eire|
united states|the us|the u\.s\.?|u\.s\.a?\.?|usa|america|american|
canada|canadian|australia|australian|new zealand|india|indian government|south africa|
germany|german|france|french|spain|spanish|italy|italian|netherlands|dutch|belgium|belgian|
sweden|swedish|norway|norwegian|denmark|danish|finland|finnish|portugal|portuguese|
switzerland|swiss|austria|austrian|poland|polish|singapore|hong kong|
ohio|texas|california|florida|new york state|illinois|michigan|pennsylvania|massachusetts|
ontario|quebec|queensland|new south wales|victoria state|
eu member states?
"""
_UK = r"\b(uk|u\.k\.|united kingdom|britain|british|england|english|wales|welsh|scotland|scottish|northern ireland|n ireland|northern irish)\b"
_RESIDENCE = r"\b(lives?|living|resident|based|moved|moving|relocat\w+|holiday\w*)\s+(in|to)\s+(the\s+)?$"

_PLACE_RE = re.compile(r"\b(" + _PLACES.replace("\n", "") + r")\b", re.IGNORECASE)
_UK_RE = re.compile(_UK, re.IGNORECASE)


def _nation_lookup() -> re.Pattern[str] | None:
    """The NLU's nation lookup (data/nlu.yml): towns, councils and health boards in Wales,
    Scotland and Northern Ireland ("an HSC trust in Newry") place a question in the UK as the
    nations' own names do. One list, kept with the NLU data; None if the file cannot be read."""
    import yaml

    from . import settings
    from .nlu_export import read_examples

    try:
        names = [text for _, text in read_examples(settings.NLU_FILE, lookup="nation")]
    except (OSError, yaml.YAMLError):
        return None
    names.sort(key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b", re.IGNORECASE) if names else None


_UK_PLACE_RE = _nation_lookup()
_RESIDENCE_RE = re.compile(_RESIDENCE, re.IGNORECASE)
_NORTHERN_RE = re.compile(r"\b(n|n\.|nth|no?rt?h\w*|nothern)\s*$", re.IGNORECASE)


def foreign_place(text: str) -> str | None:
    """The foreign jurisdiction a question is set in, or None for a UK (or unplaced) question."""
    text = " ".join((text or "").split())
    if _UK_RE.search(text) or (_UK_PLACE_RE is not None and _UK_PLACE_RE.search(text)):
        return None
    for found in _PLACE_RE.finditer(text):
        before = text[max(0, found.start() - 30): found.start()]
        if _RESIDENCE_RE.search(before):
            continue
        if found.group(0).lower() in ("ireland", "irish") and _NORTHERN_RE.search(before):
            continue
        return found.group(0)
    return None
