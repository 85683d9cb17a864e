"""Labelled examples (faq/examples.yml): in step with the evaluation set's tuning split, and
no held-out question, or a near copy of one, in anything the assistant learns from."""
from __future__ import annotations

from pathlib import Path

from rapidfuzz import fuzz, process

from bot import examples, kb
from bot.evaluation import OUT_OF_SCOPE, SMALL_TALK, Question, load_questions
from bot.examples import MIN_WORDS, NEAR_COPY
from bot.nlu_export import read_examples

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "eval" / "questions.yml"


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def test_examples_file_is_the_tuning_split():
    base = kb.load(ROOT / "faq")
    expected = examples.export(QUESTIONS, base.entries)
    assert (ROOT / "faq" / "examples.yml").read_text(encoding="utf-8") == expected, (
        "faq/examples.yml is out of date: run `.venv/bin/python -m bot examples`")


def test_no_held_out_question_is_learned_from():
    base = kb.load(ROOT / "faq")
    learned = [_norm(t) for e in base.entries.values() for t in e.match_texts]
    learned += [_norm(t) for t in base.off_topic]
    learned += [_norm(t) for _, t in read_examples(ROOT / "data" / "nlu.yml")]
    held_out = [q for q in load_questions(QUESTIONS)
                if q.split == "heldout" and q.expect not in SMALL_TALK and len(q.text.split()) >= MIN_WORDS]
    assert len(held_out) > 150
    copies = []
    for q in held_out:
        hit = process.extractOne(_norm(q.text), learned, scorer=fuzz.ratio, score_cutoff=NEAR_COPY)
        if hit:
            copies.append((q.text, hit[0], round(hit[1])))
    assert copies == []


def test_collect_keeps_tuning_questions_once_and_leaves_out_small_talk():
    qs = [
        Question("can I keep my NHS pension", "pensions-a", "tune"),
        Question("Can I keep my  NHS pension", "pensions-a", "tune"),
        Question("will my pension be safe", "pensions-a", "heldout"),
        Question("weather in leeds", OUT_OF_SCOPE, "tune"),
        Question("hello", "greet", "tune"),
        Question("a question for an entry that is gone", "pensions-old", "tune"),
        Question("what is 17% of 2,340 please", OUT_OF_SCOPE, "tune"),
        Question("what is 15% of 2340 please", OUT_OF_SCOPE, "heldout"),
    ]
    data = examples.collect(qs, ["pensions-a"])
    assert data == {"entries": {"pensions-a": ["can I keep my NHS pension"]}, "off_topic": ["weather in leeds"]}
    assert "heldout" not in examples.render(data)
