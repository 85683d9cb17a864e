"""The summary index: one row per conversation and per user turn, beside Rasa's events.

The inbox must not parse every event's JSON on each request, so conversations are summarised
once into ``review_conversations`` / ``review_turns`` and re-summarised only when they get new
events. A refresh reads the ids above the last indexed one (less a small overlap, because on
PostgreSQL a transaction that took a lower id can commit after one with a higher id),
re-summarises those whole conversations (cheap: a conversation is tens of events), drops
summaries whose events are gone, and updates the callback flags from the callback queue.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa

from ..settings import ROOT
from . import db as rdb
from .marks import derive_state
from .transcript import Turn, build_turns

OVERLAP = 200  # re-read this many ids below the last indexed one (late commits)
CHUNK = 400  # conversations summarised per query / transaction


@dataclass
class IndexReport:
    conversations: int  # conversations (re)summarised
    removed: int  # summaries dropped because their events are gone
    last_event_id: int
    seconds: float


def default_callbacks_db() -> Path | None:
    """The web chat's callback queue (CALLBACK_DB or var/callbacks.db), if there is one."""
    path = Path(os.environ.get("CALLBACK_DB") or ROOT / "var" / "callbacks.db")
    return path if path.exists() else None


def callback_senders(path: Path | None) -> set[str] | None:
    """Conversations with a callback request; None when there is no queue to read."""
    if path is None or not Path(path).exists():
        return None
    # Read-only: the queue belongs to the web server (bot.callbacks), which creates its table.
    db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=10)
    try:
        return {str(r[0]) for r in db.execute("SELECT DISTINCT conversation FROM callbacks WHERE conversation IS NOT NULL")}
    except sqlite3.OperationalError:  # no callbacks table yet
        return set()
    finally:
        db.close()


def summarize(sender_id: str, rows: list[tuple[int, str, str | None, str | None, float | None]],
              callback: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The summary row and turn rows of one conversation from its event rows
    ``(id, type_name, action_name, data, timestamp)``."""
    turns = build_turns((r[0], r[1], r[2], r[3]) for r in rows)
    stamps = [float(r[4]) for r in rows if r[4] is not None] or [0.0]
    kinds = {t.kind for t in turns}
    answer_scores = [float(t.score) for t in turns if t.kind == "answer" and t.score is not None]
    topics = sorted({t.topic for t in turns if t.topic})
    said = [t.text for t in turns if not t.is_payload]
    entries = [t.entry_id for t in turns if t.entry_id]
    versions = [t.kb_version for t in turns if t.kb_version]
    conv = {
        "sender_id": sender_id,
        "first_ts": min(stamps),
        "last_ts": max(stamps),
        "user_turns": len(turns),
        "topics": "," + ",".join(topics) + "," if topics else "",
        "answered": "answer" in kinds,
        "clarified": "clarify" in kinds,
        "fallback": "fallback" in kinds,
        "declined": "declined" in kinds,
        "handoff": any(_is_handoff(t) for t in turns),
        "callback": callback,
        "helpful": any(t.feedback == "helpful" for t in turns),
        "thumbs_down": any(_is_thumbs_down(t) for t in turns),
        "restarted": any(t.kind == "restarted" or t.intent == "start_again" for t in turns),
        "min_score": min(answer_scores) if answer_scores else None,
        "first_text": (said[0] if said else (turns[0].shown_text if turns else ""))[:300],
        "search_text": "\n".join([sender_id, *said, *entries]).lower(),
        "kb_version": versions[-1] if versions else None,
        "last_event_id": max(int(r[0]) for r in rows),
        "state": "new",
    }
    turn_rows = [{
        "sender_id": sender_id, "turn": t.index, "event_id": t.event_id, "ts": t.timestamp, "text": t.text,
        "intent": t.intent, "confidence": t.confidence, "kind": t.kind, "band": t.band, "entry_id": t.entry_id,
        "top_id": t.top_id, "score": t.score, "runner_up": (t.runner_up or {}).get("id"),
        "runner_up_score": (t.runner_up or {}).get("score"), "topic": t.topic, "feedback": t.feedback,
        "kb_version": t.kb_version, "actions": ",".join(t.actions)[:500],
    } for t in turns]
    return conv, turn_rows


def _is_handoff(t: Turn) -> bool:
    return t.kind == "handoff" or t.intent == "human_handoff"


def _is_thumbs_down(t: Turn) -> bool:
    return t.feedback == "not_helpful" or t.intent == "feedback_not_helpful"


def _chunks(items: list[str], size: int = CHUNK) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _get_meta(conn: sa.engine.Connection, key: str) -> str | None:
    return conn.execute(sa.select(rdb.meta.c.value).where(rdb.meta.c.key == key)).scalar()


def _set_meta(conn: sa.engine.Connection, key: str, value: str) -> None:
    conn.execute(sa.delete(rdb.meta).where(rdb.meta.c.key == key))
    conn.execute(sa.insert(rdb.meta).values(key=key, value=value))


def refresh(db: rdb.ReviewDB, callbacks_db: Path | None = None, rebuild: bool = False,
            overlap: int = OVERLAP) -> IndexReport:
    """Bring the index up to date with the events (everything again with ``rebuild``)."""
    start = time.perf_counter()
    if not db.has_events:
        return IndexReport(0, 0, 0, time.perf_counter() - start)
    ev = db.events
    callers = callback_senders(callbacks_db)
    with db.engine.begin() as conn:
        last = 0 if rebuild else int(_get_meta(conn, "last_event_id") or 0)
        top = int(conn.execute(sa.select(sa.func.max(ev.c.id))).scalar() or 0)
        since = max(last - overlap, 0) if last else 0
        query = sa.select(ev.c.sender_id).distinct()
        if since:
            query = query.where(ev.c.id > since)
        senders = sorted(r[0] for r in conn.execute(query))
        if rebuild:
            conn.execute(sa.delete(rdb.turns))
            conn.execute(sa.delete(rdb.conversations))
    for chunk in _chunks(senders):
        _index_chunk(db, chunk, callers)
    with db.engine.begin() as conn:
        removed = _prune(conn, ev)
        if callers is not None:
            _apply_callbacks(conn, callers)
        _set_meta(conn, "last_event_id", str(top))
    return IndexReport(len(senders), removed, top, time.perf_counter() - start)


def _index_chunk(db: rdb.ReviewDB, senders: list[str], callers: set[str] | None) -> None:
    ev = db.events
    grouped: dict[str, list[tuple]] = defaultdict(list)
    with db.engine.connect() as conn:
        for r in conn.execute(sa.select(ev.c.sender_id, ev.c.id, ev.c.type_name, ev.c.action_name,
                                        sa.case((ev.c.type_name.in_(("user", "bot")), ev.c.data), else_=None),
                                        ev.c.timestamp)
                              .where(ev.c.sender_id.in_(senders)).order_by(ev.c.sender_id, ev.c.id)):
            grouped[r[0]].append(tuple(r[1:]))
    c, s = rdb.conversations, rdb.states
    with db.engine.begin() as conn:
        old_callback = {k for (k,) in conn.execute(sa.select(c.c.sender_id).where(c.c.sender_id.in_(senders),
                                                                                   c.c.callback.is_(True)))}
        marks: dict[str, dict[int, str]] = defaultdict(dict)
        for sid, turn, state in conn.execute(sa.select(s.c.sender_id, s.c.turn, s.c.state).where(s.c.sender_id.in_(senders))):
            marks[sid][turn] = state
        conn.execute(sa.delete(rdb.turns).where(rdb.turns.c.sender_id.in_(senders)))
        conn.execute(sa.delete(c).where(c.c.sender_id.in_(senders)))
        conv_rows, turn_rows = [], []
        for sid in senders:
            if not grouped.get(sid):
                continue
            callback = (sid in callers) if callers is not None else (sid in old_callback)
            conv, trows = summarize(sid, grouped[sid], callback)
            m = marks.get(sid, {})
            conv["state"] = derive_state(m.get(rdb.CONVERSATION), {t: v for t, v in m.items() if t != rdb.CONVERSATION},
                                         conv["user_turns"])
            conv_rows.append(conv)
            turn_rows.extend(trows)
        if conv_rows:
            conn.execute(sa.insert(c), conv_rows)
        if turn_rows:
            conn.execute(sa.insert(rdb.turns), turn_rows)


def _prune(conn: sa.engine.Connection, ev: sa.Table) -> int:
    """Forget conversations whose events were deleted outside ``python -m bot logs``."""
    c = rdb.conversations
    gone = [r[0] for r in conn.execute(sa.select(c.c.sender_id).where(
        ~sa.exists(sa.select(ev.c.id).where(ev.c.sender_id == c.c.sender_id))))]
    for chunk in _chunks(gone):
        rdb.forget(conn, chunk)
    return len(gone)


def _apply_callbacks(conn: sa.engine.Connection, callers: set[str]) -> None:
    c = rdb.conversations
    flagged = {r[0] for r in conn.execute(sa.select(c.c.sender_id).where(c.c.callback.is_(True)))}
    for chunk in _chunks(sorted(flagged - callers)):
        conn.execute(sa.update(c).where(c.c.sender_id.in_(chunk)).values(callback=False))
    for chunk in _chunks(sorted(callers - flagged)):
        conn.execute(sa.update(c).where(c.c.sender_id.in_(chunk)).values(callback=True))
