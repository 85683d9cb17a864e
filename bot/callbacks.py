"""Callback requests from the web chat: validated, then stored durably for operators.

SQLite by default (a file under var/), so a request survives a restart. Validation returns
every field's error at once, worded for a GOV.UK-style error summary.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .settings import ROOT

TIMES = {"morning": "Morning (9am to 12pm)", "afternoon": "Afternoon (12pm to 5pm)", "any": "Any time"}
_PHONE = re.compile(r"^(?:\+44\s?|0)(?:\d\s?){9,10}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
MAX_ABOUT = 500


@dataclass(frozen=True)
class CallbackRequest:
    name: str
    contact: str
    preferred_time: str
    about: str


def validate(form: Mapping[str, Any]) -> tuple[CallbackRequest | None, dict[str, str]]:
    """The request, or the errors keyed by field name (the summary links to each field)."""
    def field(key: str) -> str:
        value = form.get(key)
        return " ".join(value.split()) if isinstance(value, str) else ""

    errors: dict[str, str] = {}
    name, contact, when, about = field("name"), field("contact"), field("preferred_time"), field("about")
    if not name:
        errors["name"] = "Enter your name"
    elif len(name) > 100:
        errors["name"] = "Name must be 100 characters or fewer"
    if not contact:
        errors["contact"] = "Enter a phone number or email address"
    elif not (_PHONE.match(contact) or _EMAIL.match(contact)):
        errors["contact"] = "Enter a UK phone number, like 01632 960 001, or an email address, like name@example.com"
    if when not in TIMES:
        errors["preferred_time"] = "Select when you would like us to call"
    if not about:
        errors["about"] = "Enter what you would like to talk about"
    elif len(about) > MAX_ABOUT:
        errors["about"] = f"What you would like to talk about must be {MAX_ABOUT} characters or fewer"
    if form.get("consent") not in (True, "yes", "on", "true"):
        errors["consent"] = "Confirm that we may contact you about your question"
    if errors:
        return None, errors
    return CallbackRequest(name, contact, when, about), {}


class CallbackStore:
    """Durable queue of callback requests; operators mark them done (who and when is kept)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS callbacks (id INTEGER PRIMARY KEY, created TEXT NOT NULL, "
                "name TEXT NOT NULL, contact TEXT NOT NULL, preferred_time TEXT NOT NULL, about TEXT NOT NULL, "
                "conversation TEXT, done INTEGER NOT NULL DEFAULT 0)"
            )
            # Added for the operator console; older files get the columns on first open.
            have = {r["name"] for r in db.execute("PRAGMA table_info(callbacks)")}
            for column in ("done_at", "done_by"):
                if column not in have:
                    db.execute(f"ALTER TABLE callbacks ADD COLUMN {column} TEXT")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def add(self, req: CallbackRequest, conversation: str | None = None) -> int:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._connect() as db:
            cur = db.execute(
                "INSERT INTO callbacks (created, name, contact, preferred_time, about, conversation) VALUES (?,?,?,?,?,?)",
                (now, req.name, req.contact, req.preferred_time, req.about, conversation),
            )
            return int(cur.lastrowid)

    def get(self, callback_id: int) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM callbacks WHERE id = ?", (callback_id,)).fetchone()
        return dict(row) if row else None

    def list(self, include_done: bool = False) -> list[dict[str, Any]]:
        """Oldest first: the queue is worked in the order people asked."""
        sql = "SELECT * FROM callbacks" + ("" if include_done else " WHERE done = 0") + " ORDER BY id"
        with self._connect() as db:
            return [dict(r) for r in db.execute(sql)]

    def list_done(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recently completed requests, newest first."""
        with self._connect() as db:
            return [dict(r) for r in db.execute(
                "SELECT * FROM callbacks WHERE done = 1 ORDER BY done_at DESC, id DESC LIMIT ?", (limit,))]

    def mark_done(self, callback_id: int, by: str | None = None) -> bool:
        """True when an open request was closed; False if unknown or already done."""
        # Microseconds: with whole seconds a request closed at 12:00:00.9 and a one-second limit
        # checked at 12:00:01.5 compare as equal, and the purge keeps it.
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")
        with self._lock, self._connect() as db:
            return db.execute("UPDATE callbacks SET done = 1, done_at = ?, done_by = ? WHERE id = ? AND done = 0",
                              (now, by, callback_id)).rowcount == 1

    def forget_conversation(self, conversation: str) -> int:
        """Erase the requests made from one conversation (an erasure request)."""
        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM callbacks WHERE conversation = ?", (conversation,)).rowcount

    def purge_done(self, days: float) -> int:
        """Delete requests done more than ``days`` ago; open ones stay until someone calls back."""
        cutoff = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).isoformat(timespec="microseconds")
        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM callbacks WHERE done = 1 AND done_at < ?", (cutoff,)).rowcount


def default_path() -> Path:
    return Path(os.environ.get("CALLBACK_DB", ROOT / "var" / "callbacks.db"))
