"""Labelled user questions for the matcher: the tuning split of the evaluation set.

Why: the knowledge base's alternates are written by the people who wrote the answers, so they
name the concept ("employee liability information"). The tuning questions were written by
other people, as staff and operators type (long stories with the question in the middle,
everyday words for the concept, typos), each labelled with the entry that answers it or as
one to decline. Matching against them as well brings new questions closer to a labelled
neighbour. Measured with ``bench/examples_cv.py`` (each author's questions left out of the
examples they are scored against): see ``bench/results/examples_cv.txt``.

The held-out split is never exported: it stays a measurement of questions the assistant has
not seen (``tests/test_examples.py`` checks that no held-out question, or a near copy of
one, is among the phrasings, examples or off-topic examples).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import yaml

from .evaluation import OUT_OF_SCOPE, SMALL_TALK, Question, load_questions

# A tuning question this alike (rapidfuzz ratio, lower case) a held-out one is left out: a later
# author sometimes rephrased an earlier question only slightly ("what is 17% of 2,340"), and
# learning it would be learning the held-out question. Texts under MIN_WORDS are not compared.
NEAR_COPY = 85
MIN_WORDS = 4

HEADER = """\
# Labelled user questions the matcher compares a message with, besides each entry's question
# and alternates: the `tune` split of tests/eval/questions.yml, written by other people than
# the answers. `entries` maps an entry id to questions it answers; `off_topic` are questions the
# line declines (they train bot.oos with faq/out_of_scope.yml). Generated: do not edit by hand.
# Add questions to tests/eval/questions.yml and run `.venv/bin/python -m bot examples`.
# Held-out questions are never exported (bot/examples.py says why).
"""


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def near_held_out(text: str, held_out: list[str]) -> bool:
    """Whether ``text`` is a near copy of one of the (normalised) held-out questions."""
    from rapidfuzz import fuzz, process

    if len(text.split()) < MIN_WORDS or not held_out:
        return False
    return process.extractOne(_key(text), held_out, scorer=fuzz.ratio, score_cutoff=NEAR_COPY) is not None


def collect(questions: Iterable[Question], entry_ids: Iterable[str]) -> dict[str, object]:
    """The tuning questions, grouped by entry (ids in order, texts in file order, no repeats);
    small talk is left out (the NLU's own examples cover it), and so are near copies of a
    held-out question."""
    questions = list(questions)
    known = set(entry_ids)
    held_out = [_key(q.text) for q in questions
                if q.split == "heldout" and q.expect not in SMALL_TALK and len(q.text.split()) >= MIN_WORDS]
    entries: dict[str, list[str]] = {}
    off_topic: list[str] = []
    seen: set[str] = set()
    for q in questions:
        if q.split != "tune" or _key(q.text) in seen or near_held_out(q.text, held_out):
            continue
        text = " ".join(q.text.split())
        if q.expect == OUT_OF_SCOPE:
            off_topic.append(text)
        elif q.expect in known:
            entries.setdefault(q.expect, []).append(text)
        else:
            continue
        seen.add(_key(q.text))
    return {"entries": {k: entries[k] for k in sorted(entries)}, "off_topic": off_topic}


def render(data: dict[str, object]) -> str:
    """The examples file's text: the header, then plain YAML (one question per line)."""
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=False)
    return HEADER + body


def export(questions_path: Path, entry_ids: Iterable[str]) -> str:
    """The examples file that the evaluation set's tuning split gives."""
    return render(collect(load_questions(questions_path), entry_ids))
