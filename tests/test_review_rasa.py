"""Review outputs that Rasa itself checks: exported test stories pass ``rasa test core``, and
``rasa evaluate markers`` with markers.yml counts what the review insights count.

Seeded like tests/test_review.py (the real assistant, scripted conversations, a SQLite tracker
store), once for this module.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from bot import evaluation, logstore
from bot.review import db as rdb
from bot.review import export_tests, index, insights, transcript
from tests.support.assistant import ROOT, Assistant
from tests.support.review_seed import seed

RASA = str(Path(sys.executable).parent / "rasa")
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore",
       "ACTION_PORT": "5055", "TRACKER_DB": str(ROOT / "var" / "test-tracker.db"), "PYTHONPATH": str(ROOT)}
# markers.yml name -> the insights figure it must equal (conversations with at least one).
MARKER_KPIS = {"answer_given": "answered", "clarify_offered": "clarified", "fallback": "fallback",
               "declined": "declined", "handoff": "handoff", "feedback_helpful": "helpful",
               "feedback_not_helpful": "thumbs_down", "start_again": "restarted"}


@pytest.fixture(scope="module")
def seeded(model, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('review-rasa') / 'tracker.db'}"
    bot = Assistant(model, tracker_url=url)
    try:
        out = seed(bot, url)
    finally:
        bot.close()
    db = rdb.ReviewDB(url)
    index.refresh(db, None)
    db.close()
    return out


def _expect(said) -> str:
    """What a reviewer would say the turn should get: the entry it got (or the first choice),
    out_of_scope for what we cannot answer, the intent for small talk."""
    if said.kind == "answer":
        return said.meta["entry_id"]
    if said.kind == "clarify":
        return said.outcome["options"][0]["id"]
    if said.intent in evaluation.SMALL_TALK:
        return said.intent
    return evaluation.OUT_OF_SCOPE


def test_exported_stories_pass_rasa_test(seeded, model, tmp_path):
    questions = tmp_path / "questions.yml"
    shutil.copy(ROOT / "tests" / "eval" / "questions.yml", questions)
    stories = tmp_path / "review_stories.yml"
    made = 0
    for sender, said in seeded.conversations.items():
        # The first turn that is a question (or the only one): one test per conversation.
        i = next((k for k, s in enumerate(said) if s.kind not in ("greeting", "smalltalk")), 0)
        if any(q.text.lower() == said[i].text.lower() for q in evaluation.load_questions(questions)):
            # Already in the evaluation set (make-test would refuse it): the story alone.
            db = rdb.ReviewDB(seeded.url)
            try:
                assert export_tests.add_story(stories, sender, transcript.load(db, sender).turns)
            finally:
                db.close()
            made += 1
            continue
        out = subprocess.run([sys.executable, "-m", "bot", "review", "--db", seeded.url, "make-test", sender,
                              "--turn", str(i), "--expect", _expect(said[i]), "--questions", str(questions),
                              "--stories", str(stories)], cwd=ROOT, capture_output=True, text=True, env=ENV)
        assert out.returncode == 0, out.stderr
        made += 1
    data = yaml.safe_load(stories.read_text())
    assert len(data["stories"]) == made == len(seeded.conversations)
    # Every story replays the whole conversation: one user step per message sent.
    for story in data["stories"]:
        sender = story["story"].removeprefix("review ")
        users = [s["user"].strip() for s in story["steps"] if "user" in s]
        assert users == [s.text for s in seeded.conversations[sender]]
    restart = next(s for s in data["stories"] if s["story"] == "review rv-restart")
    assert {"action": "action_start_again"} in restart["steps"]
    out_dir = tmp_path / "results"
    run = subprocess.run([RASA, "test", "core", "--model", str(model), "--stories", str(stories), "--out", str(out_dir),
                          "--fail-on-prediction-errors"], cwd=ROOT, capture_output=True, text=True, env=ENV)
    (ROOT / "var" / "test-review-stories.log").write_text(run.stdout + run.stderr)
    failed = out_dir / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert run.returncode == 0, (detail or (run.stdout + run.stderr))[-6000:]
    assert "None of the test stories failed" in detail or not detail.strip()
    # Not vacuous: every exported conversation was evaluated and came out right.
    counts = re.search(r"CONVERSATION level:\s+.*?Correct:\s+(\d+) / (\d+)", run.stdout + run.stderr, re.S)
    assert counts and counts.groups() == (str(made), str(made)), (run.stdout + run.stderr)[-3000:]


def test_markers_count_what_insights_count(seeded, tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump({"tracker_store": logstore.tracker_store_config(seeded.url)}))
    out = tmp_path / "markers.csv"
    run = subprocess.run([RASA, "evaluate", "markers", "all", "--config", "markers.yml", "--endpoints", str(endpoints),
                          "--domain", "domain.yml", "--no-stats", str(out)], cwd=ROOT, capture_output=True, text=True,
                         env=ENV)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    per_marker: dict[str, set[str]] = defaultdict(set)
    for row in csv.DictReader(out.open()):
        per_marker[row["marker"]].add(row["sender_id"])
    names = set(yaml.safe_load((ROOT / "markers.yml").read_text()))
    assert names == set(MARKER_KPIS)
    db = rdb.ReviewDB(seeded.url)
    try:
        ins = insights.compute(db, operator_db=tmp_path / "none.db")
    finally:
        db.close()
    for marker, kpi in MARKER_KPIS.items():
        assert len(per_marker[marker]) == ins.conversations_with[kpi], marker
        # ...and the same conversations as the client saw.
        assert per_marker[marker] == seeded.senders(**{kpi: True}), marker
    assert all(ins.conversations_with[k] for k in MARKER_KPIS.values()), "every KPI must be non-zero in the seed"


def test_reviewers_stories_still_pass(model, tmp_path):
    """Stories reviewers exported with `review make-test` (tests/review_stories.yml) keep passing."""
    stories = ROOT / "tests" / "review_stories.yml"
    if not stories.exists():
        pytest.skip("no reviewer stories yet (python -m bot review make-test writes tests/review_stories.yml)")
    run = subprocess.run([RASA, "test", "core", "--model", str(model), "--stories", str(stories), "--out",
                          str(tmp_path), "--fail-on-prediction-errors"], cwd=ROOT, capture_output=True, text=True,
                         env=ENV)
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert run.returncode == 0, (detail or (run.stdout + run.stderr))[-6000:]
