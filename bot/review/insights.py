"""Insights over a period: volume, topic mix, outcomes, handoffs and callbacks, feedback, the
questions we could not answer (grouped by similarity), and operators' "Not right" marks.

Computed from the summary index (``review_turns``, plus the callback flag of
``review_conversations``), so the figures agree with the inbox. Rates of outcomes are shares
of question turns (turns the assistant answered, clarified, fell back on or declined); handoff
and callback rates are shares of conversations. Days are UTC. The same KPIs are defined for
``rasa evaluate markers`` in ``markers.yml`` at the repository root.
"""
from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..kb import TOPICS
from . import db as rdb

QUESTION_KINDS = ("answer", "clarify", "fallback", "declined")
CONVERSATION_KPIS = ("answered", "clarified", "fallback", "declined", "handoff", "callback", "helpful",
                     "thumbs_down", "restarted")
# Two unanswered questions this alike (rapidfuzz token_sort_ratio on normalised text) are
# counted as one question asked twice.
GROUP_SIMILARITY = 75
TOP_UNANSWERED = 20


@dataclass
class Group:
    text: str  # the most frequent wording
    count: int  # turns in the group
    examples: list[str]
    conversations: list[str]


@dataclass
class Insights:
    since: str | None
    until: str | None
    conversations: int
    user_turns: int
    question_turns: int
    per_day: list[dict[str, Any]]
    topics: dict[str, int]
    outcomes: dict[str, int]
    rates: dict[str, float]
    conversations_with: dict[str, int]
    handoff_rate: float
    callback_rate: float
    feedback: dict[str, int]
    helpful_share: float | None
    unanswered: list[Group]
    operator: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def kpis(self) -> dict[str, Any]:
        """The flat figures (the CSV's rows)."""
        out: dict[str, Any] = {"conversations": self.conversations, "user_turns": self.user_turns,
                               "question_turns": self.question_turns}
        out.update({f"{k}_turns": v for k, v in self.outcomes.items()})
        out.update({f"{k}_rate": round(v, 4) for k, v in self.rates.items()})
        out.update({f"conversations_{k}": v for k, v in self.conversations_with.items()})
        out.update({"handoff_rate": round(self.handoff_rate, 4), "callback_rate": round(self.callback_rate, 4),
                    "feedback_helpful": self.feedback["helpful"], "feedback_not_helpful": self.feedback["not_helpful"],
                    "helpful_share": None if self.helpful_share is None else round(self.helpful_share, 4)})
        if self.operator is not None:
            out.update({"operator_not_right": self.operator["not_right"], "operator_used": self.operator["used"]})
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bounds(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    def start(day: str) -> float:
        return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.timezone.utc).timestamp()

    return (start(since) if since else None, start(until) + 86400 if until else None)


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).date().isoformat()


def compute(db: rdb.ReviewDB, since: str | None = None, until: str | None = None, *,
            operator_db: Path | None = None, include_declined: bool = False) -> Insights:
    """Figures for the user turns between ``since`` and ``until`` (UTC days, inclusive)."""
    lo, hi = _bounds(since, until)
    t, c = rdb.turns, rdb.conversations
    where = []
    if lo is not None:
        where.append(t.c.ts >= lo)
    if hi is not None:
        where.append(t.c.ts < hi)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.sender_id, t.c.turn, t.c.ts, t.c.text, t.c.intent, t.c.kind, t.c.topic,
                                      t.c.feedback).where(*where).order_by(t.c.sender_id, t.c.turn)).all()
        callers = {r[0] for r in conn.execute(sa.select(c.c.sender_id).where(c.c.callback.is_(True)))}
    convs: dict[str, dict[str, bool]] = defaultdict(lambda: dict.fromkeys(CONVERSATION_KPIS, False))
    first_day: dict[str, str] = {}
    turns_per_day: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    feedback: Counter[str] = Counter()
    unanswered: list[tuple[str, str]] = []
    for sender, _turn, ts, text, intent, kind, topic, fb in rows:
        flags = convs[sender]
        day = _day(ts)
        first_day.setdefault(sender, day)
        turns_per_day[day] += 1
        if kind in QUESTION_KINDS:
            outcomes[kind] += 1
            if topic:
                topics[topic] += 1
        flags["answered"] |= kind == "answer"
        flags["clarified"] |= kind == "clarify"
        flags["fallback"] |= kind == "fallback"
        flags["declined"] |= kind == "declined"
        flags["handoff"] |= kind == "handoff" or intent == "human_handoff"
        flags["helpful"] |= fb == "helpful"
        flags["thumbs_down"] |= fb == "not_helpful" or intent == "feedback_not_helpful"
        flags["restarted"] |= kind == "restarted" or intent == "start_again"
        if fb in ("helpful", "not_helpful"):
            feedback[fb] += 1
        if (kind == "fallback" or (include_declined and kind == "declined")) and text and not text.startswith("/"):
            unanswered.append((text, sender))
    for sender, flags in convs.items():
        flags["callback"] = sender in callers
    n_conv = len(convs)
    n_questions = sum(outcomes.values())
    per_day_conv = Counter(first_day.values())
    days = _every_day(set(per_day_conv) | set(turns_per_day))
    with_counts = {k: sum(f[k] for f in convs.values()) for k in CONVERSATION_KPIS}
    rated = feedback["helpful"] + feedback["not_helpful"]
    ins = Insights(
        since=since, until=until, conversations=n_conv, user_turns=len(rows), question_turns=n_questions,
        per_day=[{"day": d, "conversations": per_day_conv[d], "user_turns": turns_per_day[d]} for d in days],
        topics={tp: topics[tp] for tp in sorted(topics, key=lambda x: (-topics[x], TOPICS.index(x) if x in TOPICS else 99))},
        outcomes={k: outcomes[k] for k in QUESTION_KINDS},
        rates={k: (outcomes[k] / n_questions if n_questions else 0.0) for k in QUESTION_KINDS},
        conversations_with=with_counts,
        handoff_rate=with_counts["handoff"] / n_conv if n_conv else 0.0,
        callback_rate=with_counts["callback"] / n_conv if n_conv else 0.0,
        feedback={"helpful": feedback["helpful"], "not_helpful": feedback["not_helpful"]},
        helpful_share=feedback["helpful"] / rated if rated else None,
        unanswered=group_similar(unanswered),
    )
    ins.operator, note = operator_marks(operator_db, lo, hi)
    if note:
        ins.notes.append(note)
    return ins


def _every_day(days: set[str]) -> list[str]:
    """The days from the first to the last, quiet days included (a chart must show the gaps)."""
    if not days:
        return []
    first, last = dt.date.fromisoformat(min(days)), dt.date.fromisoformat(max(days))
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def group_similar(items: list[tuple[str, str]], threshold: float = GROUP_SIMILARITY,
                  limit: int = TOP_UNANSWERED) -> list[Group]:
    """Group (text, conversation) pairs whose texts are alike; biggest groups first."""
    from rapidfuzz import fuzz, utils

    by_text: dict[str, list[str]] = defaultdict(list)
    wording: dict[str, Counter[str]] = defaultdict(Counter)
    for text, sender in items:
        key = utils.default_process(text)
        if key:
            by_text[key].append(sender)
            wording[key][" ".join(text.split())] += 1
    groups: list[tuple[str, list[str]]] = []  # (representative key, member keys)
    for key in sorted(by_text, key=lambda k: (-len(by_text[k]), k)):
        for rep, members in groups:
            if fuzz.token_sort_ratio(key, rep) >= threshold:
                members.append(key)
                break
        else:
            groups.append((key, [key]))
    out = []
    for rep, members in groups:
        senders = [s for m in members for s in by_text[m]]
        examples = [wording[m].most_common(1)[0][0] for m in members]
        out.append(Group(examples[0], len(senders), examples[:5], sorted(set(senders))[:10]))
    out.sort(key=lambda g: (-g.count, g.text))
    return out[:limit]


def operator_marks(path: Path | None, lo: float | None = None, hi: float | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """Operators' verdicts on script cards in the period, from ``bot.operator_log`` (var/operator.db).

    Returns (figures, note); figures are None when there is no operator log to read."""
    try:
        from ..operator_log import OperatorLog, default_path
    except ImportError:
        return None, "operator marks not included: bot.operator_log is not installed"
    path = Path(path) if path else default_path()
    if not path.exists():
        return None, f"operator marks not included: no operator log at {path}"
    rows = OperatorLog(path).recent(limit=1_000_000)
    kept = []
    for r in rows:
        try:
            ts = dt.datetime.fromisoformat(str(r["created"])).timestamp()
        except ValueError:
            continue
        if (lo is None or ts >= lo) and (hi is None or ts < hi):
            kept.append(r)
    by_entry: dict[str, Counter[str]] = defaultdict(Counter)
    for r in kept:
        by_entry[r["entry_id"]][r["verdict"]] += 1
    worst = sorted(by_entry.items(), key=lambda kv: (-kv[1]["not_right"], kv[0]))
    return {
        "source": str(path),
        "not_right": sum(r["verdict"] == "not_right" for r in kept),
        "used": sum(r["verdict"] == "used" for r in kept),
        "by_entry": [{"entry_id": e, "not_right": v["not_right"], "used": v["used"]} for e, v in worst if v["not_right"]],
        "recent_not_right": [{"created": r["created"], "query": r["query"], "entry_id": r["entry_id"]}
                             for r in kept if r["verdict"] == "not_right"][:20],
    }, None


def write_csv(ins: Insights, out_dir: Path) -> list[Path]:
    """kpis.csv, per_day.csv, topics.csv, unanswered.csv (and operator_marks.csv)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[list[str], list[list[Any]]]] = {
        "kpis.csv": (["metric", "value"], [[k, "" if v is None else v] for k, v in ins.kpis().items()]),
        "per_day.csv": (["day", "conversations", "user_turns"],
                        [[d["day"], d["conversations"], d["user_turns"]] for d in ins.per_day]),
        "topics.csv": (["topic", "question_turns"], [[k, v] for k, v in ins.topics.items()]),
        "unanswered.csv": (["text", "count", "examples", "conversations"],
                           [[g.text, g.count, " | ".join(g.examples), " ".join(g.conversations)] for g in ins.unanswered]),
    }
    if ins.operator is not None:
        files["operator_marks.csv"] = (["entry_id", "not_right", "used"],
                                       [[r["entry_id"], r["not_right"], r["used"]] for r in ins.operator["by_entry"]])
    paths = []
    for name, (header, rows) in files.items():
        path = out_dir / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
        paths.append(path)
    return paths


def write_charts(ins: Insights, out_dir: Path) -> list[Path]:
    """PNG charts: volume per day, outcome rates, topic mix, feedback and handoffs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    period = f"{ins.since or 'start'} to {ins.until or 'now'}"
    paths = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out_dir / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)

    fig, ax = plt.subplots(figsize=(8, 3.5))
    days = [d["day"] for d in ins.per_day]
    x = list(range(len(days)))
    ax.bar(x, [d["conversations"] for d in ins.per_day], color="#1d70b8", label="conversations")
    ax.plot(x, [d["user_turns"] for d in ins.per_day], color="#d4351c", marker="o", markersize=3, label="user messages")
    step = max(1, len(days) // 12)  # at most about a dozen date labels
    ax.set_xticks(x[::step], days[::step], rotation=45, ha="right")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Volume per day ({period}, UTC)")
    ax.legend()
    save(fig, "volume.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    labels = ["answered", "clarified", "fallback", "declined"]
    values = [100 * ins.rates[k] for k in QUESTION_KINDS]
    ax.bar(labels, values, color=["#00703c", "#1d70b8", "#d4351c", "#505a5f"])
    for i, v in enumerate(values):
        ax.text(i, v + 1, f"{v:.0f}%", ha="center")
    ax.set_ylim(0, 110)
    ax.set_ylabel("% of question turns")
    ax.set_title(f"Outcomes ({ins.question_turns} questions)")
    save(fig, "outcomes.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = list(ins.topics)[::-1]
    ax.barh(names or ["(none)"], [ins.topics[n] for n in names] or [0], color="#1d70b8")
    ax.set_xlabel("question turns")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Topic mix")
    save(fig, "topics.png")

    fig, ax = plt.subplots(figsize=(7, 3.5))
    bars = {"helpful": ins.feedback["helpful"], "not helpful": ins.feedback["not_helpful"],
            "handoff": ins.conversations_with["handoff"], "callback": ins.conversations_with["callback"]}
    if ins.operator is not None:
        bars["operator: not right"] = ins.operator["not_right"]
    ax.bar(list(bars), list(bars.values()), color="#505a5f")
    ax.set_ylim(0, max(1, *bars.values()) * 1.1)  # counts: never a negative axis, even when all are 0
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Feedback, handoffs and operator marks")
    ax.tick_params(axis="x", labelrotation=20)
    save(fig, "feedback.png")
    return paths


def format_text(ins: Insights) -> str:
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    lines = [f"insights {ins.since or 'start'} to {ins.until or 'now'} (UTC days)",
             f"conversations {ins.conversations}, user messages {ins.user_turns}, questions {ins.question_turns}",
             "outcomes: " + ", ".join(f"{k} {ins.outcomes[k]} ({pct(ins.rates[k])})" for k in QUESTION_KINDS),
             f"handoff {ins.conversations_with['handoff']} conversations ({pct(ins.handoff_rate)}), "
             f"callback {ins.conversations_with['callback']} ({pct(ins.callback_rate)})",
             f"feedback: helpful {ins.feedback['helpful']}, not helpful {ins.feedback['not_helpful']}"
             + (f" ({pct(ins.helpful_share)} helpful)" if ins.helpful_share is not None else ""),
             "topics: " + (", ".join(f"{k} {v}" for k, v in ins.topics.items()) or "none"),
             "per day: " + (", ".join(f"{d['day']} {d['conversations']}/{d['user_turns']}" for d in ins.per_day) or "none")]
    lines.append("top unanswered (grouped):")
    lines += [f"  {g.count:>3}  {g.text}" + (f"  (+{len(g.examples) - 1} similar)" if len(g.examples) > 1 else "")
              for g in ins.unanswered] or ["  none"]
    if ins.operator is not None:
        lines.append(f"operator marks: not right {ins.operator['not_right']}, used {ins.operator['used']}")
        lines += [f"  {r['entry_id']}: not right {r['not_right']}, used {r['used']}" for r in ins.operator["by_entry"][:10]]
    lines += ins.notes
    return "\n".join(lines)
