"""Answer quality, end to end: every evaluation question goes through the trained NLU model,
the dialogue policy and the real action server; the figures are printed and gated."""
from __future__ import annotations

from pathlib import Path

from bot import kb
from bot.evaluation import OUT_OF_SCOPE, SMALL_TALK, Report, load_questions, outcome_of

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = Path(__file__).parent / "eval" / "questions.yml"
# The gates issue 3 sets: in-scope top-1 entry accuracy and out-of-scope declined, both at
# least 90% over the whole set. Since the ninth session the tuning questions are also the
# matcher's examples (faq/examples.yml), so the whole set mostly measures what was learned; the
# held-out split, never learned from (tests/test_examples.py), is the measure of new questions.
# Issue 4's held-out gates (95% top-1 and declined, 99% top-3) are not met yet, so the held-out
# floors below only stop a regression, two questions below what was measured from the tenth to
# the twelfth session: 94.5% top-1 and 98.8% top-3 (164 questions), 94.1% declined (34).
# Training is seeded (config.yml random_seed), so a retrain on the same inputs gives the same figures.
TOP1_FLOOR = 0.90
OOS_FLOOR = 0.90
HELDOUT_TOP1_FLOOR = 0.93
HELDOUT_TOP3_FLOOR = 0.97
HELDOUT_OOS_FLOOR = 0.88


def test_evaluation_set_is_well_formed():
    base = kb.load(ROOT / "faq")
    questions = load_questions(QUESTIONS)
    assert len(questions) >= 150
    unknown = [q.expect for q in questions if q.expect not in base.entries and q.expect != OUT_OF_SCOPE
               and q.expect not in SMALL_TALK]
    assert not unknown, f"labels that are no entry id: {sorted(set(unknown))}"
    assert len({q.text.lower() for q in questions}) == len(questions), "duplicate question texts"


def test_answer_quality(assistant, capsys):
    base = kb.load(ROOT / "faq")
    report = Report(topic_of={e.id: e.topic for e in base.entries.values()})
    for i, q in enumerate(load_questions(QUESTIONS)):
        sender = f"eval-{i}"
        messages = assistant.say(q.text, sender)
        report.rows.append((q, outcome_of(messages, assistant.last_intent(sender))))
    with capsys.disabled():
        print("\n" + report.format())
        failures = report.failures()
        print(f"Misses ({len(failures)}):")
        for line in failures[:60]:
            print("  " + line)
    figures = report.figures()
    assert figures["top1"] >= TOP1_FLOOR, f"in-scope top-1 {figures['top1']:.1%} < {TOP1_FLOOR:.0%}"
    assert figures["oos_declined"] >= OOS_FLOOR, f"out-of-scope declined {figures['oos_declined']:.1%} < {OOS_FLOOR:.0%}"
    held = report.figures("heldout")
    assert held["top1"] >= HELDOUT_TOP1_FLOOR, f"held-out top-1 {held['top1']:.1%} < {HELDOUT_TOP1_FLOOR:.0%}"
    assert held["top3"] >= HELDOUT_TOP3_FLOOR, f"held-out top-3 {held['top3']:.1%} < {HELDOUT_TOP3_FLOOR:.0%}"
    assert held["oos_declined"] >= HELDOUT_OOS_FLOOR, (
        f"held-out out-of-scope declined {held['oos_declined']:.1%} < {HELDOUT_OOS_FLOOR:.0%}")
