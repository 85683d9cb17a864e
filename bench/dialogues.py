"""Multi-turn dialogues replayed without a server, to choose follow-up and correction rules.

Each user turn is parsed by the trained NLU model (cached as in bench/retrieval.py), routed as
data/rules.yml routes it (topic question, follow_up, nlu_fallback, out_of_scope; any other
intent is its own outcome), and answered by bot.turn with the slots a conversation would hold:
Rasa's entity filling (the last value named), then the action's own slot events. It reproduced
tests/test_dialogues.py exactly on both sets when it was written (54/59 and 32/40), in seconds
instead of a minute with servers. Choose on the tuning dialogues; the held-out ones are only
reported, so their misses are not listed unless asked for (--show-heldout).

    .venv/bin/python bench/dialogues.py                       # both sets, misses listed
    .venv/bin/python bench/dialogues.py tests/eval/dialogues.yml --all   # every turn shown
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import retrieval  # noqa: E402
from bot import kb, turn  # noqa: E402
from bot.evaluation import Dialogue, load_dialogues, outcome_of, turn_ok  # noqa: E402
from bot.match import Matcher  # noqa: E402

SETS = [ROOT / "tests" / "eval" / "dialogues.yml", ROOT / "tests" / "eval" / "dialogues_heldout.yml"]


def play(base: kb.KnowledgeBase, matcher: Matcher, dialogue: Dialogue, nlu: dict) -> list[tuple[str, str, str, bool]]:
    """(user text, expected, what came, right) per turn of one conversation."""
    slots: dict[str, Any] = {}
    out = []
    for text, expect in dialogue.turns:
        parsed = nlu[text]
        intent = parsed["intent"]["name"]
        for ent in parsed["entities"]:
            if ent["entity"] in turn.CONTEXT_SLOTS:
                slots[ent["entity"]] = ent["value"]
        result = retrieval.route(base, matcher, text, parsed, slots)
        if result is None:
            outcome = outcome_of([{"custom": {"kind": intent}}], intent)
        else:
            slots.update(result.slots)
            outcome = outcome_of([{"custom": m.custom} for m in result.reply.messages], intent)
        got = f"{outcome.kind} {outcome.entry_id or ''}".strip()
        out.append((text, expect, got, turn_ok(expect, outcome)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path, default=SETS)
    parser.add_argument("--all", action="store_true", help="show every turn, not only the misses")
    parser.add_argument("--show-heldout", action="store_true", help="list the held-out dialogues' turns too")
    args = parser.parse_args()
    sets = {path: load_dialogues(path) for path in args.paths}
    nlu = retrieval.parses([text for ds in sets.values() for d in ds for text, _ in d.turns])
    base = kb.load(ROOT / "faq")
    matcher = Matcher(base)
    for path, dialogues in sets.items():
        right, lines = 0, []
        for d in dialogues:
            turns = play(base, matcher, d, nlu)
            ok = all(t[3] for t in turns)
            right += ok
            if (args.all or not ok) and ("heldout" not in path.name or args.show_heldout):
                lines.append(d.name)
                lines += [f"  {'ok  ' if good else 'MISS'} {text[:70]!r}: want {expect}, got {got}"
                          for text, expect, got, good in turns]
        print(f"{path.name}: {right}/{len(dialogues)} fully right ({right / len(dialogues):.1%})")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
