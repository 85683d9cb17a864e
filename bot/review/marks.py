"""Review states and notes on a turn or on a whole conversation.

A state is the reviewer's verdict on where the work stands (New, Needs expert, Done,
Ignored), kept once per turn with who set it and when; notes are appended, never edited.
The conversation's state shown in the inbox is derived so a reviewer need not mark both:
a state set on the conversation itself wins; otherwise any turn needing an expert makes the
conversation need one, every user turn marked Done or Ignored makes it Done (Ignored when
none is Done), and anything else is still New.
"""
from __future__ import annotations

import getpass
import os
import time
from typing import Any

import sqlalchemy as sa

from . import db as rdb


def reviewer_name(given: str | None = None) -> str:
    """Who is reviewing: ``--reviewer``, else REVIEWER, else the login name."""
    if given:
        return given
    try:
        return os.environ.get("REVIEWER") or getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "reviewer"


def _check_turn(conn: sa.engine.Connection, sender_id: str, turn: int | None) -> int:
    if turn is None or turn == rdb.CONVERSATION:
        exists = conn.execute(sa.select(rdb.conversations.c.sender_id)
                              .where(rdb.conversations.c.sender_id == sender_id)).first()
        if not exists:
            raise LookupError(f"no conversation {sender_id!r} in the review index (run `review index`)")
        return rdb.CONVERSATION
    exists = conn.execute(sa.select(rdb.turns.c.turn).where(rdb.turns.c.sender_id == sender_id,
                                                            rdb.turns.c.turn == turn)).first()
    if not exists:
        raise LookupError(f"conversation {sender_id!r} has no turn {turn}")
    return turn


def set_state(db: rdb.ReviewDB, sender_id: str, state: str, turn: int | None = None,
              reviewer: str | None = None) -> str:
    """Set the state of a turn (or the conversation); returns the conversation's new state."""
    if state not in rdb.STATES:
        raise ValueError(f"unknown state {state!r} (use {', '.join(rdb.STATES)})")
    with db.engine.begin() as conn:
        turn = _check_turn(conn, sender_id, turn)
        t = rdb.states
        conn.execute(sa.delete(t).where(t.c.sender_id == sender_id, t.c.turn == turn))
        conn.execute(sa.insert(t).values(sender_id=sender_id, turn=turn, state=state,
                                         reviewer=reviewer_name(reviewer), updated=time.time()))
        return update_conversation_state(conn, sender_id)


def add_note(db: rdb.ReviewDB, sender_id: str, text: str, turn: int | None = None,
             reviewer: str | None = None) -> int:
    text = " ".join(text.split())
    if not text:
        raise ValueError("a note needs some text")
    with db.engine.begin() as conn:
        turn = _check_turn(conn, sender_id, turn)
        res = conn.execute(sa.insert(rdb.notes).values(sender_id=sender_id, turn=turn, text=text[:4000],
                                                       reviewer=reviewer_name(reviewer), created=time.time()))
        return int(res.inserted_primary_key[0])


def derive_state(conversation_state: str | None, turn_states: dict[int, str], user_turns: int) -> str:
    """The inbox state from the conversation's own state and its turns' states (see module doc)."""
    if conversation_state:
        return conversation_state
    values = list(turn_states.values())
    if "needs_expert" in values:
        return "needs_expert"
    marked = [s for t, s in turn_states.items() if t >= 0 and s in ("done", "ignored")]
    if user_turns and len(marked) >= user_turns:
        return "done" if "done" in marked else "ignored"
    return "new"


def update_conversation_state(conn: sa.engine.Connection, sender_id: str) -> str:
    """Recompute and store the derived state on the conversation's summary row."""
    rows = conn.execute(sa.select(rdb.states.c.turn, rdb.states.c.state)
                        .where(rdb.states.c.sender_id == sender_id)).all()
    conv = next((s for t, s in rows if t == rdb.CONVERSATION), None)
    per_turn = {t: s for t, s in rows if t != rdb.CONVERSATION}
    n = conn.execute(sa.select(rdb.conversations.c.user_turns)
                     .where(rdb.conversations.c.sender_id == sender_id)).scalar() or 0
    state = derive_state(conv, per_turn, n)
    conn.execute(sa.update(rdb.conversations).where(rdb.conversations.c.sender_id == sender_id).values(state=state))
    return state


def states_for(db: rdb.ReviewDB, sender_id: str) -> dict[int, str]:
    """Turn index -> state, for the turns that have one."""
    with db.engine.connect() as conn:
        return {t: s for t, s in conn.execute(sa.select(rdb.states.c.turn, rdb.states.c.state).where(
            rdb.states.c.sender_id == sender_id, rdb.states.c.turn != rdb.CONVERSATION))}


def conversation_state(db: rdb.ReviewDB, sender_id: str) -> str:
    with db.engine.connect() as conn:
        state = conn.execute(sa.select(rdb.conversations.c.state)
                             .where(rdb.conversations.c.sender_id == sender_id)).scalar()
    return state or "new"


def notes_for(db: rdb.ReviewDB, sender_id: str) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(rdb.notes).where(rdb.notes.c.sender_id == sender_id).order_by(rdb.notes.c.id))
        return [dict(r._mapping) for r in rows]
