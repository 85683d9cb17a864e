"""Multi-turn evaluation: follow-ups that rely on context, corrections and changes of topic,
run end to end through the trained model and the action server, one conversation each."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot import kb
from bot.evaluation import DIALOGUE_OUTCOMES, load_dialogues, outcome_of, turn_ok

ROOT = Path(__file__).resolve().parent.parent
DIALOGUES = Path(__file__).parent / "eval" / "dialogues.yml"
HELDOUT = Path(__file__).parent / "eval" / "dialogues_heldout.yml"
# Issue 4 gate: at least 90% of dialogues fully right (measured 2026-11-25: 393/419, 93.8%, with the tenth and eleventh authors' 80).
FULLY_RIGHT_FLOOR = 0.90
# The held-out set is only reported; its floor catches regressions (33/40, then 35/40, 36/40, and 38/40,
# 95.0%, on 2026-11-25), one dialogue below the last figure.
HELDOUT_FLOOR = 0.925


@pytest.mark.parametrize("path", [DIALOGUES, HELDOUT], ids=["tune", "heldout"])
def test_dialogues_are_well_formed(path):
    base = kb.load(ROOT / "faq")
    dialogues = load_dialogues(path)
    assert len(dialogues) >= 40
    bad = [e for d in dialogues for _, e in d.turns if e not in base.entries and e not in DIALOGUE_OUTCOMES]
    assert not bad, bad


def test_thanks_is_closed_by_the_thanks_or_the_praise_reply():
    """A thank-you that also praises ("thanks, that's really helpful") may get the feedback
    acknowledgement; a complaint, or an answer, never counts as closing a thank-you."""
    from bot.evaluation import Outcome

    assert turn_ok("thanks", Outcome("none", None, [], "thanks"))
    assert turn_ok("thanks", Outcome("none", None, [], "feedback_helpful"))
    assert not turn_ok("thanks", Outcome("none", None, [], "feedback_not_helpful"))
    assert not turn_ok("thanks", Outcome("answer", "pensions-a", ["pensions-a"], "ask_pensions"))
    assert not turn_ok("greet", Outcome("none", None, [], "feedback_helpful"))


@pytest.mark.parametrize("path, floor", [(DIALOGUES, FULLY_RIGHT_FLOOR), (HELDOUT, HELDOUT_FLOOR)],
                         ids=["tune", "heldout"])
def test_dialogues_end_to_end(assistant, capsys, path, floor):
    dialogues = load_dialogues(path)
    right = 0
    turns_right = turns = 0
    misses = []
    for n, d in enumerate(dialogues):
        sender = f"dialogue-{path.stem}-{n}"
        ok_all = True
        for i, (text, expect) in enumerate(d.turns):
            outcome = outcome_of(assistant.say(text, sender), assistant.last_intent(sender))
            ok = turn_ok(expect, outcome)
            turns += 1
            turns_right += ok
            if not ok:
                ok_all = False
                misses.append(f"{d.name} / turn {i + 1} {text[:60]!r}: want {expect}, got {outcome.kind} {outcome.entry_id or ''}")
        right += ok_all
    share = right / len(dialogues)
    with capsys.disabled():
        print(f"\nDialogues ({path.name}) fully right: {right}/{len(dialogues)} ({share:.1%}); turns right "
              f"{turns_right}/{turns} ({turns_right / turns:.1%})")
        for m in misses[:40]:
            print("  " + m)
    assert share >= floor
