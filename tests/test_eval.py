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
# Issue 4's gates apply to the whole held-out split: 95% top-1 and declined, 99% top-3. It has
# three parts by three authors (`part` in questions.yml): the first author's 30% share, held out
# on the first day, and two sets written on 2026-11-25 and declared held-out before they were
# measured. The first part alone is below the gates (94.5% top-1, 98.8% top-3, 94.1% declined of
# 34), so it keeps its own floors, two questions below those figures, against a regression.
# Training is seeded (config.yml random_seed), so a retrain on the same inputs gives the same figures.
TOP1_FLOOR = 0.90
OOS_FLOOR = 0.90
HELDOUT_TOP1_GATE = 0.95
HELDOUT_TOP3_GATE = 0.99
HELDOUT_OOS_GATE = 0.95
FIRST_PART_FLOORS = {"top1": 0.93, "top3": 0.97, "oos_declined": 0.88}


def test_evaluation_set_is_well_formed():
    base = kb.load(ROOT / "faq")
    questions = load_questions(QUESTIONS)
    assert len(questions) >= 150
    unknown = [q.expect for q in questions if q.expect not in base.entries and q.expect != OUT_OF_SCOPE
               and q.expect not in SMALL_TALK]
    assert not unknown, f"labels that are no entry id: {sorted(set(unknown))}"
    assert len({q.text.lower() for q in questions}) == len(questions), "duplicate question texts"


def test_held_out_parts_are_reported_apart():
    from bot.evaluation import Outcome, Question

    right = Outcome("answer", "pensions-a", ["pensions-a"], "ask_pensions")
    wrong = Outcome("answer", "pensions-b", ["pensions-b", "pensions-a"], "ask_pensions")
    report = Report(topic_of={"pensions-a": "pensions", "pensions-b": "pensions"}, rows=[
        (Question("q1", "pensions-a", "heldout"), wrong),
        (Question("q2", "pensions-a", "heldout", "second"), right),
        (Question("q3", "pensions-a", "heldout", "second"), right),
        (Question("q4", "pensions-a", "tune"), right),
    ])
    assert report.parts() == ["", "second"]
    assert report.figures("heldout")["top1"] == 2 / 3
    assert report.figures("heldout", part="")["top1"] == 0.0
    assert report.figures("heldout", part="second")["top1"] == 1.0
    lines = report.format().splitlines()
    assert [line.split()[0] for line in lines[2:7]] == ["tune", "heldout", "first", "second", "all"]


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
    assert held["top1"] >= HELDOUT_TOP1_GATE, f"held-out top-1 {held['top1']:.1%} < {HELDOUT_TOP1_GATE:.0%}"
    assert held["top3"] >= HELDOUT_TOP3_GATE, f"held-out top-3 {held['top3']:.1%} < {HELDOUT_TOP3_GATE:.0%}"
    assert held["oos_declined"] >= HELDOUT_OOS_GATE, (
        f"held-out out-of-scope declined {held['oos_declined']:.1%} < {HELDOUT_OOS_GATE:.0%}")
    first = report.figures("heldout", part="")
    for name, floor in FIRST_PART_FLOORS.items():
        assert first[name] >= floor, f"first held-out part: {name} {first[name]:.1%} < {floor:.0%}"
