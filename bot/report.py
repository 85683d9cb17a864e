"""Knowledge-base health report: coverage per topic, review dates, and matching conflicts.

The conflict checks use the real matcher: an alternate that ranks another entry above its
own will send users to the wrong answer, and two entries whose questions look alike split
users between them at random.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rapidfuzz import fuzz

from .kb import TOPICS, KnowledgeBase
from .match import Matcher
from .text import basic

SIMILAR_QUESTION_RATIO = 80  # worth a reviewer's look, below the check's hard limit


@dataclass(frozen=True)
class Misroute:
    entry_id: str
    alternate: str
    winner: str
    own_score: float
    winner_score: float


@dataclass
class HealthReport:
    per_topic: dict[str, int]
    overdue: list[tuple[str, dt.date]]
    due_soon: list[tuple[str, dt.date]]
    without_sources: list[str]
    similar_questions: list[tuple[str, str, float]]
    misroutes: list[Misroute]


def build(kb: KnowledgeBase, today: dt.date | None = None, matcher: Matcher | None = None) -> HealthReport:
    today = today or dt.date.today()
    matcher = matcher or Matcher(kb)
    entries = list(kb.entries.values())
    soon = today + dt.timedelta(days=60)
    similar = []
    for i, a in enumerate(entries):
        for b in entries[i + 1:]:
            ratio = fuzz.token_sort_ratio(basic(a.question), basic(b.question))
            if ratio >= SIMILAR_QUESTION_RATIO:
                similar.append((a.id, b.id, ratio))
    misroutes = []
    for e in entries:
        for alt in e.alternates:
            result = matcher.match(alt, limit=len(entries), leave_out=(e.id, alt))
            own = next((c for c in result.candidates if c.id == e.id), None)
            top = result.top
            if top and top.id != e.id:
                misroutes.append(Misroute(e.id, alt, top.id, own.score if own else 0.0, top.score))
    return HealthReport(
        per_topic={t: len(kb.by_topic(t)) for t in TOPICS},
        overdue=sorted((e.id, e.review_due) for e in entries if e.review_due < today),
        due_soon=sorted((e.id, e.review_due) for e in entries if today <= e.review_due <= soon),
        without_sources=[e.id for e in entries if not e.sources],
        similar_questions=sorted(similar, key=lambda x: -x[2]),
        misroutes=misroutes,
    )


def format_report(r: HealthReport) -> str:
    lines = ["Entries per topic: " + ", ".join(f"{t} {n}" for t, n in r.per_topic.items())
             + f" (total {sum(r.per_topic.values())})"]
    lines.append(f"Overdue for review: {len(r.overdue)}")
    lines += [f"  {eid} (due {d.isoformat()})" for eid, d in r.overdue]
    lines.append(f"Due within 60 days: {len(r.due_soon)}")
    lines += [f"  {eid} (due {d.isoformat()})" for eid, d in r.due_soon]
    lines.append(f"Without sources: {len(r.without_sources)}")
    lines += [f"  {eid}" for eid in r.without_sources]
    lines.append(f"Similar questions across entries (>= {SIMILAR_QUESTION_RATIO}% alike): {len(r.similar_questions)}")
    lines += [f"  {a} ~ {b} ({ratio:.0f}%)" for a, b, ratio in r.similar_questions]
    lines.append(f"Alternates that, left out, match another entry better than their own: {len(r.misroutes)}")
    lines += [f"  {m.entry_id}: {m.alternate!r} -> {m.winner} ({m.winner_score:.0f} vs {m.own_score:.0f})"
              for m in r.misroutes]
    return "\n".join(lines)
