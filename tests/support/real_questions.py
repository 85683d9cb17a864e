"""Texts that are real questions: every knowledge-base phrasing and every in-scope evaluation
question. Checks that decline on sight (guard, jurisdiction) must never fire on any of them."""
from __future__ import annotations

from pathlib import Path

from bot import kb
from bot.evaluation import OUT_OF_SCOPE, load_questions

ROOT = Path(__file__).resolve().parent.parent.parent


def real_questions() -> list[str]:
    base = kb.load(ROOT / "faq")
    texts = [p for e in base.entries.values() for p in e.phrasings]
    texts += [q.text for q in load_questions(ROOT / "tests" / "eval" / "questions.yml") if q.expect != OUT_OF_SCOPE]
    return texts
