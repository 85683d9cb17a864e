"""The inbox: conversations newest first, filtered, a page at a time; and saved filters.

Reads only the summary table (``review_conversations``), whose filtered columns are indexed,
so a page costs one small query and one count however many conversations there are. Dates
are UTC calendar days; ``until`` is inclusive.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa

from ..kb import TOPICS
from ..settings import ANSWER_SCORE
from . import db as rdb
from .marks import reviewer_name

PER_PAGE = 50
OUTCOMES = ("answered", "clarified", "fallback", "declined")
# An answer scoring below this is worth a look: it was nearly a "did you mean". Since the
# tuning questions became the matcher's examples, real answers mostly score 100-200 (an entry's
# own phrasing scores about 100 on words alone), so the bar moved from 15 to 40 points above
# the answer threshold ("can we keep our office", answered at 92, is the kind it should show).
LOW_SCORE = ANSWER_SCORE + 40


@dataclass
class Filters:
    """What the reviewer asked for; every field optional, all given ones must hold."""

    since: str | None = None  # YYYY-MM-DD: conversations active on or after this day
    until: str | None = None  # YYYY-MM-DD: conversations that started on or before this day
    topic: str | None = None
    outcome: str | None = None  # answered / clarified / fallback / declined
    low_score: float | None = None  # an answer scored below this
    thumbs_down: bool = False
    handoff: bool = False  # asked for a person or requested a callback
    state: str | None = None  # new / needs_expert / done / ignored
    text: str | None = None  # words found in what the user wrote (or an entry id)

    def check(self) -> "Filters":
        for name in ("since", "until"):
            value = getattr(self, name)
            if value:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None
        if self.topic and self.topic not in TOPICS:
            raise ValueError(f"unknown topic {self.topic!r} (topics: {', '.join(TOPICS)})")
        if self.outcome and self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r} (use {', '.join(OUTCOMES)})")
        if self.state and self.state not in rdb.STATES:
            raise ValueError(f"unknown state {self.state!r} (use {', '.join(rdb.STATES)})")
        return self

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v not in (None, False, "")}, sort_keys=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Filters":
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown filter(s): {', '.join(sorted(unknown))}")
        return cls(**raw).check()

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in json.loads(self.to_json()).items()]
        return ", ".join(parts) or "all conversations"


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    filters: Filters = field(default_factory=Filters)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _day_start(day: str) -> float:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.timezone.utc).timestamp()


def _conditions(f: Filters) -> list[Any]:
    c = rdb.conversations
    where: list[Any] = [c.c.user_turns > 0]
    if f.since:
        where.append(c.c.last_ts >= _day_start(f.since))
    if f.until:
        where.append(c.c.first_ts < _day_start(f.until) + 86400)
    if f.topic:
        where.append(c.c.topics.like(f"%,{f.topic},%"))
    if f.outcome:
        where.append(getattr(c.c, f.outcome).is_(True))
    if f.low_score is not None:
        where.append(c.c.min_score < float(f.low_score))
    if f.thumbs_down:
        where.append(c.c.thumbs_down.is_(True))
    if f.handoff:
        where.append(sa.or_(c.c.handoff.is_(True), c.c.callback.is_(True)))
    if f.state:
        where.append(c.c.state == f.state)
    for word in (f.text or "").lower().split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(c.c.search_text.like(f"%{escaped}%", escape="\\"))
    return where


COLUMNS = ("sender_id", "first_ts", "last_ts", "user_turns", "topics", "answered", "clarified", "fallback",
           "declined", "handoff", "callback", "helpful", "thumbs_down", "restarted", "min_score", "first_text",
           "kb_version", "state")


def query(db: rdb.ReviewDB, filters: Filters | None = None, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of conversations matching ``filters``, most recent activity first."""
    f = (filters or Filters()).check()
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    c = rdb.conversations
    where = _conditions(f)
    cols = [getattr(c.c, name) for name in COLUMNS]
    with db.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(c).where(*where)).scalar() or 0
        rows = conn.execute(sa.select(*cols).where(*where).order_by(c.c.last_ts.desc(), c.c.sender_id)
                            .limit(per_page).offset((page - 1) * per_page)).all()
    out = []
    for r in rows:
        row = dict(r._mapping)
        row["topics"] = [t for t in row["topics"].split(",") if t]
        out.append(row)
    return Page(out, int(total), page, per_page, f)


def all_rows(db: rdb.ReviewDB, filters: Filters | None = None) -> Iterable[dict[str, Any]]:
    """Every matching conversation (for CSV export), a page at a time."""
    page = 1
    while True:
        p = query(db, filters, page, 500)
        yield from p.rows
        if page >= p.pages:
            return
        page += 1


def write_csv(db: rdb.ReviewDB, filters: Filters | None, out: Path) -> int:
    n = 0
    with Path(out).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for row in all_rows(db, filters):
            w.writerow([";".join(row[k]) if k == "topics" else row[k] for k in COLUMNS])
            n += 1
    return n


def save_filter(db: rdb.ReviewDB, name: str, filters: Filters, reviewer: str | None = None) -> None:
    """Store (or replace) a named filter."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("a saved filter needs a name")
    t = rdb.saved_filters
    with db.engine.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.name == name))
        conn.execute(sa.insert(t).values(name=name, query=filters.check().to_json(),
                                         reviewer=reviewer_name(reviewer), created=time.time()))


def load_filter(db: rdb.ReviewDB, name: str) -> Filters:
    t = rdb.saved_filters
    with db.engine.connect() as conn:
        raw = conn.execute(sa.select(t.c.query).where(t.c.name == name)).scalar()
    if raw is None:
        raise LookupError(f"no saved filter {name!r}")
    return Filters.from_dict(json.loads(raw))


def list_filters(db: rdb.ReviewDB) -> list[dict[str, Any]]:
    t = rdb.saved_filters
    with db.engine.connect() as conn:
        return [{**dict(r._mapping), "filters": Filters.from_dict(json.loads(r.query))}
                for r in conn.execute(sa.select(t).order_by(t.c.name))]


def delete_filter(db: rdb.ReviewDB, name: str) -> bool:
    t = rdb.saved_filters
    with db.engine.begin() as conn:
        return bool(conn.execute(sa.delete(t).where(t.c.name == name)).rowcount)
