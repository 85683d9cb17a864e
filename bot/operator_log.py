"""Feedback for reviewers: operators' verdicts on script cards, and staff comments on answers.

A "Not right" from an operator is a query whose best card was wrong or missing; a comment
with a "No" in the staff chat says what an answer missed (it is redacted like the chat, and
linked to the conversation id, which is the tracker's sender id, and to the entry). Reviewers
read both to see where the knowledge base fails. SQLite, like the callback queue, so nothing
is lost on a restart. ``python -m bot.operator_log`` prints a summary.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from .settings import ROOT

VERDICTS = {"used": "Used this", "not_right": "Not right"}
MAX_QUERY = 500


def default_path() -> Path:
    return Path(os.environ.get("OPERATOR_DB", ROOT / "var" / "operator.db"))


class OperatorLog:
    """Append-only log of operator verdicts on script cards."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS verdicts (id INTEGER PRIMARY KEY, created TEXT NOT NULL, "
                "operator TEXT NOT NULL, query TEXT NOT NULL, entry_id TEXT NOT NULL, verdict TEXT NOT NULL, "
                "rank INTEGER, score REAL, band TEXT, filters TEXT NOT NULL DEFAULT '{}', kb_version TEXT)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS answer_comments (id INTEGER PRIMARY KEY, created TEXT NOT NULL, "
                "created_ts REAL NOT NULL, conversation TEXT NOT NULL, entry_id TEXT, comment TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def add(self, *, operator: str, query: str, entry_id: str, verdict: str, rank: int | None = None,
            score: float | None = None, band: str | None = None, filters: dict[str, str] | None = None,
            kb_version: str | None = None) -> int:
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._connect() as db:
            cur = db.execute(
                "INSERT INTO verdicts (created, operator, query, entry_id, verdict, rank, score, band, filters, kb_version) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (now, operator, query[:MAX_QUERY], entry_id, verdict, rank, score, band,
                 json.dumps(filters or {}, sort_keys=True), kb_version),
            )
            return int(cur.lastrowid)

    def add_comment(self, conversation: str, entry_id: str | None, comment: str) -> int:
        """A staff member's "what was wrong" after saying an answer did not help."""
        now = time.time()
        created = dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._connect() as db:
            cur = db.execute("INSERT INTO answer_comments (created, created_ts, conversation, entry_id, comment) "
                             "VALUES (?,?,?,?,?)", (created, now, conversation, entry_id, comment[:MAX_QUERY]))
            return int(cur.lastrowid)

    def comments(self, conversation: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first; one conversation's only when ``conversation`` is given."""
        sql = "SELECT * FROM answer_comments" + (" WHERE conversation = ?" if conversation else "") + \
            " ORDER BY id DESC LIMIT ?"
        args: tuple[Any, ...] = (conversation, limit) if conversation else (limit,)
        with self._connect() as db:
            return [dict(r) for r in db.execute(sql, args)]

    def forget_conversation(self, conversation: str) -> int:
        """Erase one conversation's comments (with the tracker's own erasure)."""
        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM answer_comments WHERE conversation = ?", (conversation,)).rowcount

    def purge_comments(self, days: float) -> int:
        """Delete staff comments older than ``days`` (the same retention as conversations)."""
        import time

        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM answer_comments WHERE created_ts < ?",
                              (time.time() - days * 86400,)).rowcount

    def recent(self, limit: int = 50, verdict: str | None = None) -> list[dict[str, Any]]:
        """Newest first; only one verdict kind when ``verdict`` is given."""
        sql = "SELECT * FROM verdicts" + (" WHERE verdict = ?" if verdict else "") + " ORDER BY id DESC LIMIT ?"
        args: tuple[Any, ...] = (verdict, limit) if verdict else (limit,)
        with self._connect() as db:
            rows = [dict(r) for r in db.execute(sql, args)]
        for row in rows:
            row["filters"] = json.loads(row["filters"] or "{}")
        return rows

    def by_entry(self) -> list[dict[str, Any]]:
        """Per entry: how often it was used and how often it was not right, worst first."""
        with self._connect() as db:
            return [dict(r) for r in db.execute(
                "SELECT entry_id, SUM(verdict = 'used') AS used, SUM(verdict = 'not_right') AS not_right "
                "FROM verdicts GROUP BY entry_id ORDER BY not_right DESC, used ASC, entry_id")]


def main() -> int:
    parser = argparse.ArgumentParser(description="Summarise operators' verdicts on script cards.")
    parser.add_argument("--db", type=Path, default=default_path())
    parser.add_argument("-n", type=int, default=20, help="how many recent 'Not right' verdicts to list")
    args = parser.parse_args()
    if not args.db.exists():
        print(f"no operator log at {args.db}")
        return 0
    log = OperatorLog(args.db)
    print("entry                                          used  not right")
    for row in log.by_entry():
        print(f"{row['entry_id']:<46} {row['used']:>4}  {row['not_right']:>9}")
    print(f"\nlatest {args.n} 'Not right' (query -> card shown):")
    for row in log.recent(args.n, "not_right"):
        filters = ", ".join(f"{k}={v}" for k, v in row["filters"].items())
        print(f"{row['created']}  {row['operator']}: {row['query']!r} -> {row['entry_id']}"
              + (f"  [{filters}]" if filters else ""))
    print(f"\nlatest {args.n} staff comments on answers (entry: comment):")
    for row in log.comments(limit=args.n):
        print(f"{row['created']}  {row['entry_id'] or '-'}: {row['comment']!r}  (conversation {row['conversation']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
