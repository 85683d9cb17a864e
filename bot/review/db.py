"""The review tables, kept in the tracker store's own database.

Same database as Rasa's ``events`` so one URL (``TRACKER_DB_URL``) serves both, erasure can
remove a conversation and everything reviewers derived from it in one transaction, and the
tables work on SQLite and PostgreSQL alike (plain SQLAlchemy Core types only).
"""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from .. import logstore

STATES = ("new", "needs_expert", "done", "ignored")
STATE_LABELS = {"new": "New", "needs_expert": "Needs expert", "done": "Done", "ignored": "Ignored"}
CONVERSATION = -1  # the ``turn`` value of a state or note about the whole conversation

metadata = sa.MetaData()

# One row per conversation (Rasa sender id): what the inbox lists and filters on.
conversations = sa.Table(
    "review_conversations", metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("first_ts", sa.Float, nullable=False),
    sa.Column("last_ts", sa.Float, nullable=False),
    sa.Column("user_turns", sa.Integer, nullable=False),
    sa.Column("topics", sa.String(255), nullable=False, default=""),  # ",pensions,tupe," for LIKE
    sa.Column("answered", sa.Boolean, nullable=False),
    sa.Column("clarified", sa.Boolean, nullable=False),
    sa.Column("fallback", sa.Boolean, nullable=False),
    sa.Column("declined", sa.Boolean, nullable=False),
    sa.Column("handoff", sa.Boolean, nullable=False),
    sa.Column("callback", sa.Boolean, nullable=False, default=False),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("thumbs_down", sa.Boolean, nullable=False),
    sa.Column("restarted", sa.Boolean, nullable=False),
    sa.Column("min_score", sa.Float),  # lowest score of an entry given as an answer
    sa.Column("first_text", sa.Text, nullable=False, default=""),
    sa.Column("search_text", sa.Text, nullable=False, default=""),  # lowercase user texts + entry ids
    sa.Column("kb_version", sa.String(40)),
    sa.Column("last_event_id", sa.Integer, nullable=False),
    sa.Column("state", sa.String(20), nullable=False, default="new"),
    sa.Index("ix_review_conv_last_ts", "last_ts"),
    sa.Index("ix_review_conv_first_ts", "first_ts"),
    sa.Index("ix_review_conv_state", "state", "last_ts"),
    sa.Index("ix_review_conv_min_score", "min_score"),
    sa.Index("ix_review_conv_fallback", "fallback", "last_ts"),
    sa.Index("ix_review_conv_thumbs", "thumbs_down", "last_ts"),
    sa.Index("ix_review_conv_handoff", "handoff", "callback"),
)

# One row per user message: what insights count and what a review state or note points at.
turns = sa.Table(
    "review_turns", metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("turn", sa.Integer, primary_key=True),  # 0-based index of the user message
    sa.Column("event_id", sa.Integer, nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("intent", sa.String(100)),
    sa.Column("confidence", sa.Float),
    sa.Column("kind", sa.String(30)),  # answer, clarify, fallback, declined, handoff, feedback_ack, ...
    sa.Column("band", sa.String(20)),
    sa.Column("entry_id", sa.String(120)),
    sa.Column("top_id", sa.String(120)),
    sa.Column("score", sa.Float),
    sa.Column("runner_up", sa.String(120)),
    sa.Column("runner_up_score", sa.Float),
    sa.Column("topic", sa.String(30)),
    sa.Column("feedback", sa.String(20)),  # helpful / not_helpful
    sa.Column("kb_version", sa.String(40)),
    sa.Column("actions", sa.String(500), nullable=False, default=""),
    sa.Index("ix_review_turns_ts", "ts"),
    sa.Index("ix_review_turns_kind", "kind"),
)

# The current review state of a turn (or, with turn = -1, of the whole conversation).
states = sa.Table(
    "review_states", metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("turn", sa.Integer, primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)

notes = sa.Table(
    "review_notes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("turn", sa.Integer, nullable=False),
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)

saved_filters = sa.Table(
    "review_filters", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("query", sa.Text, nullable=False),  # JSON of inbox.Filters
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)

meta = sa.Table(
    "review_meta", metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

# Everything keyed by conversation: removed with the conversation's events.
PER_CONVERSATION = (conversations, turns, states, notes)


class ReviewDB:
    """The tracker store's engine and tables, with the review tables created on first use."""

    def __init__(self, url: str | None = None):
        self.url = url or logstore.tracker_url()
        self.engine = sa.create_engine(logstore._engine_url(self.url), future=True)
        metadata.create_all(self.engine)
        self._events: sa.Table | None = None

    @property
    def has_events(self) -> bool:
        return self._events is not None or sa.inspect(self.engine).has_table("events")

    @property
    def events(self) -> sa.Table:
        """Rasa's ``events`` table (reflected: Rasa owns its schema)."""
        if self._events is None:
            if not sa.inspect(self.engine).has_table("events"):
                raise LookupError(f"no conversations stored yet at {self.url}")
            self._events = sa.Table("events", sa.MetaData(), autoload_with=self.engine)
        return self._events

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "ReviewDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def forget(conn: sa.engine.Connection, senders: Iterable[str]) -> int:
    """Delete every review row about these conversations (erasure and retention call this
    in the same transaction as the events). Tables not created yet are skipped."""
    senders = list(senders)
    if not senders:
        return 0
    present = set(sa.inspect(conn).get_table_names())
    removed = 0
    for table in PER_CONVERSATION:
        if table.name in present:
            removed += conn.execute(sa.delete(table).where(table.c.sender_id.in_(senders))).rowcount or 0
    return removed
