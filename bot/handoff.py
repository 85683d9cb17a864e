"""Spot a plain request for a person, whatever intent the NLU gave it.

Why: "i want to talk to a human" must never get "sorry, I don't know" or a knowledge-base
answer. The NLU usually routes it to human_handoff, but after a retrain it sometimes falls
below the confidence threshold (nlu_fallback) or picks a topic; a retrain with another seed
lost two such requests in the dialogue tests. These patterns catch the request itself; only
short messages count, so "who should we talk to about the LGPS admission agreement?" stays a
question for the knowledge base (support entries answer who to contact).
"""
from __future__ import annotations

import re

MAX_WORDS = 14  # the longest human_handoff example in data/nlu.yml has 10 words
_PERSON = r"(a |an |some )?(real |actual |live )?(person|human|adviser|advisor|someone|somebody|member of staff)"
_PATTERNS = [
    rf"\b(talk|speak|chat)\s+(to|with)\s+{_PERSON}\b",
    r"\b(put|transfer) me through to\b",
    r"\b(someone|somebody|anyone|a number|a helpline|a phone number)\s+(i|we)\s+(can|could)\s+(ring|call|phone|speak to|talk to)\b",
    r"\b(can|could)\s+(i|we)\s+(ring|call|phone)\s+(you|someone|somebody|an adviser|an advisor)\b",
    r"\b(call|ring|phone)\s+me\s+back\b|\brequest a call ?back\b",
    r"^\s*(a )?(human|real person|person|adviser|advisor)( please)?\s*[.!?]*\s*$",
    r"\bi want a (human|person|real person)\b",
    r"\b(someone|somebody|an adviser|an advisor) to (email|call|ring|phone|contact) me\b",
]
_REGEX = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def wants_a_person(text: str) -> bool:
    """True for a short message that asks to reach a person."""
    text = text or ""
    return len(text.split()) <= MAX_WORDS and bool(_REGEX.search(text))
