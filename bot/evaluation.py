"""Score the assistant's replies against the labelled evaluation set in tests/eval/.

Pure functions over the messages the assistant sent, so the same scoring serves the
end-to-end test (real model and action server), threshold tuning and reports.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

OUT_OF_SCOPE = "out_of_scope"
SMALL_TALK = ("greet", "goodbye", "thanks", "bot_challenge", "human_handoff", "start_again")
NOT_ANSWERED = ("declined", "fallback")


@dataclass(frozen=True)
class Question:
    text: str
    expect: str  # an entry id, "out_of_scope", or a small-talk intent
    split: str  # "tune" (thresholds and alternates may be fitted to it) or "heldout"
    part: str = ""  # which held-out set it came from ("" for the first), reported apart


@dataclass
class Outcome:
    """What the assistant did with one question."""

    kind: str  # answer, clarify, fallback, declined, handoff, none
    entry_id: str | None
    ranked: list[str]  # candidate entry ids, best first
    intent: str | None


def load_questions(path: Path) -> list[Question]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    out = []
    for i, raw in enumerate(data["questions"]):
        if not isinstance(raw, dict) or not raw.get("text") or not raw.get("expect"):
            raise ValueError(f"{path}: questions[{i}] needs text and expect")
        split = raw.get("split", "tune")
        if split not in ("tune", "heldout"):
            raise ValueError(f"{path}: questions[{i}]: split must be tune or heldout")
        out.append(Question(str(raw["text"]), str(raw["expect"]), split, str(raw.get("part") or "")))
    return out


def outcome_of(messages: Iterable[dict[str, Any]], intent: str | None = None) -> Outcome:
    """Read the structured part of the replies the assistant sent for one message."""
    for m in messages:
        custom = m.get("custom") or {}
        kind = custom.get("kind")
        if not kind:
            continue
        meta = custom.get("meta") or {}
        ranked = [c["id"] for c in meta.get("candidates") or []]
        if kind == "answer":
            entry = custom.get("entry_id")
            return Outcome("answer", entry, [entry] + [r for r in ranked if r != entry], intent)
        if kind == "clarify":
            options = [o["id"] for o in custom.get("options") or []]
            return Outcome("clarify", None, options + [r for r in ranked if r not in options], intent)
        return Outcome(kind, None, ranked, intent)
    return Outcome("none", None, [], intent)


@dataclass
class Report:
    rows: list[tuple[Question, Outcome]] = field(default_factory=list)
    topic_of: dict[str, str] = field(default_factory=dict)

    def _rows(self, split: str | None, part: str | None = None) -> list[tuple[Question, Outcome]]:
        return [(q, o) for q, o in self.rows
                if (split is None or q.split == split) and (part is None or q.part == part)]

    def _in_scope(self, split: str | None, part: str | None = None) -> list[tuple[Question, Outcome]]:
        return [(q, o) for q, o in self._rows(split, part) if q.expect in self.topic_of]

    def _oos(self, split: str | None, part: str | None = None) -> list[tuple[Question, Outcome]]:
        return [(q, o) for q, o in self._rows(split, part) if q.expect == OUT_OF_SCOPE]

    def parts(self, split: str = "heldout") -> list[str]:
        """The sets a split was written in, in file order ("" is the first)."""
        return list(dict.fromkeys(q.part for q, _ in self._rows(split)))

    def figures(self, split: str | None = None, part: str | None = None) -> dict[str, float]:
        ins = self._in_scope(split, part)
        oos = self._oos(split, part)
        talk = [(q, o) for q, o in self._rows(split, part) if q.expect in SMALL_TALK]
        n = max(len(ins), 1)
        return {
            "in_scope": len(ins),
            "top1": sum(o.kind == "answer" and o.entry_id == q.expect for q, o in ins) / n,
            "top3": sum(q.expect in o.ranked[:3] for q, o in ins) / n,
            "answered_wrong": sum(o.kind == "answer" and o.entry_id != q.expect for q, o in ins) / n,
            "clarified": sum(o.kind == "clarify" for q, o in ins) / n,
            "unanswered": sum(o.kind in NOT_ANSWERED for q, o in ins) / n,
            "topic": sum(o.intent == f"ask_{self.topic_of[q.expect]}" for q, o in ins) / n,
            "out_of_scope": len(oos),
            "oos_declined": sum(o.kind in NOT_ANSWERED for q, o in oos) / max(len(oos), 1),
            "small_talk": len(talk),
            "small_talk_intent": sum(o.intent == q.expect for q, o in talk) / max(len(talk), 1),
        }

    def worst(self, limit: int = 10) -> list[tuple[str, int, int, str]]:
        """Entries most often missed: (entry id, misses, questions, what they got instead)."""
        misses: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        instead: dict[str, Counter[str]] = defaultdict(Counter)
        for q, o in self._in_scope(None):
            totals[q.expect] += 1
            if not (o.kind == "answer" and o.entry_id == q.expect):
                misses[q.expect] += 1
                instead[q.expect][o.entry_id or o.kind] += 1
        return [(e, m, totals[e], ", ".join(f"{k} x{v}" for k, v in instead[e].most_common(3)))
                for e, m in misses.most_common(limit)]

    def failures(self, split: str | None = None) -> list[str]:
        lines = []
        for q, o in self._in_scope(split):
            if not (o.kind == "answer" and o.entry_id == q.expect):
                lines.append(f"[{q.split}] {q.text[:90]!r}: want {q.expect}, got {o.kind} {o.entry_id or o.ranked[:2]}")
        for q, o in self._oos(split):
            if o.kind not in NOT_ANSWERED:
                lines.append(f"[{q.split}] {q.text[:90]!r}: want decline, got {o.kind} {o.entry_id or o.ranked[:2]}")
        return lines

    def format(self) -> str:
        out = ["Answer-quality evaluation (end to end: trained NLU model + actions)"]
        out.append(f"{'split':<14}{'n':>5}{'top-1':>8}{'top-3':>8}{'wrong':>8}{'clarify':>9}{'unans.':>8}"
                   f"{'topic':>8}{'oos n':>7}{'oos declined':>14}")
        rows = [("tune", "tune", None), ("heldout", "heldout", None)]
        parts = self.parts()
        if len(parts) > 1:
            rows += [(f"  {part or 'first'}", "heldout", part) for part in parts]
        for label, split, part in rows + [("all", None, None)]:
            f = self.figures(split, part)
            out.append(f"{label:<14}{f['in_scope']:>5}{f['top1']:>8.1%}{f['top3']:>8.1%}"
                       f"{f['answered_wrong']:>8.1%}{f['clarified']:>9.1%}{f['unanswered']:>8.1%}"
                       f"{f['topic']:>8.1%}{f['out_of_scope']:>7}{f['oos_declined']:>14.1%}")
        f = self.figures()
        out.append(f"small talk: {f['small_talk']} questions, intent right {f['small_talk_intent']:.1%}")
        out.append("Worst entries (misses/questions: what came instead):")
        for e, m, t, instead in self.worst():
            out.append(f"  {e}: {m}/{t}: {instead}")
        return "\n".join(out)


def assign_splits(questions: list[dict[str, Any]], heldout_share: float = 0.3, seed: int = 7) -> None:
    """Mark a fixed random share of each expected label's questions as held out."""
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in questions:
        by_label[q["expect"]].append(q)
    rng = random.Random(seed)
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        k = round(len(group) * heldout_share)
        for i, q in enumerate(group):
            q["split"] = "heldout" if i < k else "tune"


@dataclass(frozen=True)
class Dialogue:
    name: str
    turns: tuple[tuple[str, str], ...]  # (user text, expected outcome)


DIALOGUE_OUTCOMES = ("declined", "handoff", "greet", "thanks", "goodbye", "any")
THANKED = frozenset({"thanks", "feedback_helpful"})  # the intents whose replies close a thank-you


def load_dialogues(path: Path) -> list[Dialogue]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    out = []
    for i, raw in enumerate(data["dialogues"]):
        turns = tuple((str(t["user"]), str(t["expect"])) for t in raw["turns"])
        if not turns:
            raise ValueError(f"{path}: dialogues[{i}] has no turns")
        out.append(Dialogue(str(raw.get("name", f"dialogue {i}")), turns))
    return out


def turn_ok(expect: str, outcome: Outcome) -> bool:
    """Whether one dialogue turn got what it should."""
    if expect == "any":
        return True
    if expect == "declined":
        return outcome.kind in NOT_ANSWERED
    if expect == "handoff":
        return outcome.kind == "handoff" or outcome.intent == "human_handoff"
    if expect == "thanks":
        # "thanks, that's really helpful" is thanks and praise at once: the feedback reply
        # ("Thanks for letting us know. What else would you like to ask?") closes it as well
        # as the thanks reply does, and logs the praise for reviewers.
        return outcome.intent in THANKED
    if expect in ("greet", "goodbye"):
        return outcome.intent == expect
    return outcome.kind == "answer" and outcome.entry_id == expect
