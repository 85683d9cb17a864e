"""The conversation log: where Rasa's tracker store lives, and retention, export and erasure.

One URL says where conversations are stored, for Rasa and for our own commands alike:
``TRACKER_DB_URL`` (``sqlite:///path`` by default, or ``postgresql://user:pass@host:port/db``).
Rasa's SQL tracker store keeps one row per event in a table named ``events``; the commands
here work on that table with SQLAlchemy (which Rasa already installs), so they behave the same
on SQLite and PostgreSQL.

Retention default: 90 days. Reviewers work through the logs weekly and report quarterly, so a
quarter is enough to find and fix what went wrong; after that the knowledge base has moved on
and old transcripts add risk (they are personal data even when redacted) without adding use.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa

from .settings import ROOT

DEFAULT_RETENTION_DAYS = 90
_DAY = 86400.0


def tracker_url() -> str:
    """The configured store: TRACKER_DB_URL, else the SQLite file TRACKER_DB, else var/tracker.db."""
    url = os.environ.get("TRACKER_DB_URL")
    if url:
        return url
    return f"sqlite:///{os.environ.get('TRACKER_DB') or ROOT / 'var' / 'tracker.db'}"


def retention_days() -> float:
    raw = os.environ.get("LOG_RETENTION_DAYS")
    if not raw:
        return DEFAULT_RETENTION_DAYS
    days = float(raw)
    if days <= 0:
        raise ValueError("LOG_RETENTION_DAYS must be a positive number of days")
    return days


def tracker_store_config(url: str) -> dict[str, Any]:
    """Rasa's ``tracker_store`` endpoint block for a store URL (Rasa wants the parts apart)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///"):]
        if not path:
            raise ValueError("a SQLite store needs a file path: sqlite:///path/to/tracker.db")
        return {"type": "SQL", "dialect": "sqlite", "db": path}
    if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
        config: dict[str, Any] = {
            "type": "SQL", "dialect": "postgresql", "url": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432, "db": parts.path.lstrip("/") or "rasa",
        }
        if parts.username:
            config["username"] = unquote(parts.username)
        if parts.password:
            config["password"] = unquote(parts.password)
        return config
    raise ValueError(f"unsupported tracker store URL {url!r}: use sqlite:///path or postgresql://host/db")


def lock_store_config(url: str) -> dict[str, Any]:
    """Rasa's ``lock_store`` block for ``redis://[:password@]host[:port][/db]``: with more than
    one Rasa replica, the lock must be shared so two replicas never handle one conversation's
    messages at once."""
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise ValueError(f"unsupported lock store URL {url!r}: use redis://host:port/db")
    config: dict[str, Any] = {"type": "redis", "url": parts.hostname or "127.0.0.1", "port": parts.port or 6379,
                              "db": int(parts.path.lstrip("/") or 1), "key_prefix": "mutuals"}
    if parts.password:
        config["password"] = unquote(parts.password)
    return config


def endpoints(url: str, action_url: str, lock_url: str | None = None) -> dict[str, Any]:
    """The whole endpoints file Rasa is started with (concrete values: Rasa does not expand
    environment variables inside URLs). No lock store URL: Rasa's in-memory lock (one replica)."""
    config: dict[str, Any] = {"action_endpoint": {"url": action_url}, "tracker_store": tracker_store_config(url)}
    if lock_url:
        config["lock_store"] = lock_store_config(lock_url)
    return config


def _engine_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1] if url.startswith("postgres://") else url


class LogStore:
    """Retention, export and erasure over Rasa's ``events`` table."""

    def __init__(self, url: str | None = None):
        self.url = url or tracker_url()
        self.engine = sa.create_engine(_engine_url(self.url), future=True)
        self.events = sa.Table("events", sa.MetaData(), autoload_with=self.engine) if self._has_events() else None

    def _has_events(self) -> bool:
        return sa.inspect(self.engine).has_table("events")

    def _table(self) -> sa.Table:
        if self.events is None:
            if not self._has_events():
                raise LookupError(f"no conversations stored yet at {self.url}")
            self.events = sa.Table("events", sa.MetaData(), autoload_with=self.engine)
        return self.events

    def conversations(self) -> dict[str, float]:
        """Each conversation id with the time of its latest event."""
        if self.events is None and not self._has_events():
            return {}
        t = self._table()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.sender_id, sa.func.max(t.c.timestamp)).group_by(t.c.sender_id))
            return {sender: float(last) for sender, last in rows}

    def purge(self, days: float, now: float | None = None) -> list[str]:
        """Delete every conversation whose latest event is more than ``days`` old."""
        if days <= 0:
            raise ValueError("days must be positive")
        cutoff = (now if now is not None else time.time()) - days * _DAY
        old = [s for s, last in self.conversations().items() if last < cutoff]
        for chunk in range(0, len(old), 500):
            self._delete(old[chunk:chunk + 500])
        return old

    def export(self, sender_id: str) -> dict[str, Any]:
        """Everything stored about one conversation, for a subject access request."""
        t = self._table()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.data).where(t.c.sender_id == sender_id).order_by(t.c.id)).all()
        if not rows:
            raise LookupError(f"no conversation {sender_id!r}")
        return {"sender_id": sender_id, "exported_at": time.time(), "events": [json.loads(r.data) for r in rows]}

    def delete(self, sender_id: str) -> int:
        """Erase one conversation; the number of events removed (0 if there was none)."""
        if self.events is None and not self._has_events():
            return 0
        return self._delete([sender_id])

    def _delete(self, senders: list[str]) -> int:
        """Delete the events and, in the same transaction, what reviewers derived from them
        (summaries, states, notes: ``bot.review``), so erasure leaves no copy behind."""
        from .review.db import forget

        t = self._table()
        with self.engine.begin() as conn:
            n = conn.execute(sa.delete(t).where(t.c.sender_id.in_(senders))).rowcount or 0
            forget(conn, senders)
            return n

    def close(self) -> None:
        self.engine.dispose()


def write_export(store: LogStore, sender_id: str, out: Path | None) -> str:
    text = json.dumps(store.export(sender_id), indent=2, ensure_ascii=False)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    return text
