"""Retention, export and erasure on the conversation log, on SQLite and on the real PostgreSQL.

Conversations are made by driving the trained assistant (real NLU, policies and action server)
with a SQL tracker store, never by writing tracker rows by hand.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import logstore
from tests.support import pgdb
from tests.support.assistant import ROOT, Assistant

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request, model, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('logs') / 'tracker.db'}"
    else:
        url = pgdb.create("mutuals_logs")
        yield url
        pgdb.drop(url)


@pytest.fixture(scope="module")
def seeded(store_url, model):
    """Two old conversations and one recent one, each a real exchange with the assistant."""
    bot = Assistant(model, tracker_url=store_url)
    try:
        for sender in ("old-1", "old-2"):
            bot.say("hello", sender)
            bot.say("can i keep my nhs pension if we spin out", sender)
        time.sleep(2.5)
        bot.say("what is tupe", "recent-1")
    finally:
        bot.close()
    return store_url


SIDE = Path(__import__("tempfile").mkdtemp(prefix="logs-side-"))
SIDE_ENV = {"CALLBACK_DB": str(SIDE / "callbacks.db"), "OPERATOR_DB": str(SIDE / "operator.db")}


def _python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **SIDE_ENV})


def test_export_holds_the_whole_conversation(seeded, tmp_path):
    out = tmp_path / "old-1.json"
    done = _python("logs", "--db", seeded, "export", "old-1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["sender_id"] == "old-1"
    texts = [e.get("text") for e in data["events"] if e["event"] == "user"]
    assert texts == ["hello", "can i keep my nhs pension if we spin out"]
    assert any(e["event"] == "bot" for e in data["events"])


def test_export_of_unknown_conversation_is_a_clear_error(seeded):
    done = _python("logs", "--db", seeded, "export", "no-such-id")
    assert done.returncode == 1 and "no conversation 'no-such-id'" in done.stderr


def test_purge_deletes_only_conversations_older_than_the_limit(seeded):
    store = logstore.LogStore(seeded)
    try:
        before = store.conversations()
        assert {"old-1", "old-2", "recent-1"} <= set(before)
        # The old ones ended at least 2.5 s before the recent one: a 2-second limit splits them.
        gone = store.purge(days=2.0 / 86400, now=before["recent-1"] + 0.5)
        assert sorted(gone) == ["old-1", "old-2"]
        assert set(store.conversations()) == {"recent-1"}
    finally:
        store.close()


def test_delete_erases_one_conversation(seeded):
    assert _python("logs", "--db", seeded, "delete", "recent-1").returncode == 0
    store = logstore.LogStore(seeded)
    try:
        assert "recent-1" not in store.conversations()
    finally:
        store.close()
    again = _python("logs", "--db", seeded, "delete", "recent-1")
    assert again.returncode == 1 and "nothing deleted" in again.stdout


def test_purge_command_uses_the_documented_default(tmp_path):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    done = _python("logs", "--db", db, "purge")
    assert done.returncode == 0
    assert f"last {logstore.DEFAULT_RETENTION_DAYS} days" in done.stdout


def test_endpoints_file_for_each_store():
    assert logstore.tracker_store_config("sqlite:////x/t.db") == {"type": "SQL", "dialect": "sqlite", "db": "/x/t.db"}
    pg = logstore.tracker_store_config("postgresql://bot:s%40cret@db.internal:6432/rasa")
    assert pg == {"type": "SQL", "dialect": "postgresql", "url": "db.internal", "port": 6432, "db": "rasa",
                  "username": "bot", "password": "s@cret"}
    with pytest.raises(ValueError, match="unsupported"):
        logstore.tracker_store_config("mysql://x/y")
    with pytest.raises(ValueError, match="file path"):
        logstore.tracker_store_config("sqlite:///")


def test_erasure_and_retention_cover_comments_and_callbacks(tmp_path):
    from bot.callbacks import CallbackRequest, CallbackStore
    from bot.operator_log import OperatorLog

    db = f"sqlite:///{tmp_path / 'empty.db'}"
    requests_, comments = CallbackStore(Path(SIDE_ENV["CALLBACK_DB"])), OperatorLog(Path(SIDE_ENV["OPERATOR_DB"]))
    mine = requests_.add(CallbackRequest("Sam", "07700 900123", "any", "pensions"), "erase-me")
    other = requests_.add(CallbackRequest("Kim", "07700 900456", "any", "tupe"), "keep-me")
    comments.add_comment("erase-me", None, "wrong answer")
    done = _python("logs", "--db", db, "delete", "erase-me")
    assert "deleted 2 staff comment(s) and callback request(s)" in done.stdout
    assert requests_.get(mine) is None and requests_.get(other) is not None
    assert comments.comments("erase-me") == []
    # Retention: completed requests go after the limit; open ones stay until someone calls back.
    requests_.mark_done(other, "op")
    time.sleep(1.2)
    purged = _python("logs", "--db", db, "purge", "--days", str(1 / 86400))
    assert "1 completed callback request(s)" in purged.stdout
    assert requests_.get(other) is None
