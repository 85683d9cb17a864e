"""The review core (``python -m bot review``) on SQLite and on the real PostgreSQL.

Conversations are made by driving the trained assistant through the scripted conversations
of tests/support/review_seed.py with a SQL tracker store; expected figures are computed from
what was sent and what the client got back, never from the review index under test.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from bot import callbacks, evaluation, kb, logstore, settings, turn
from bot.match import Matcher
from bot.review import db as rdb
from bot.review import index, inbox, insights, marks, proposals, transcript
from bot.review.inbox import Filters
from tests.support import pgdb
from tests.support.assistant import ROOT, Assistant
from tests.support.review_seed import CALLBACK_FROM, SAME_QUESTION, Said, Seeded, seed


@dataclass
class World:
    seeded: Seeded
    db: rdb.ReviewDB
    bot: Assistant
    callbacks: Path
    tmp: Path

    @property
    def url(self) -> str:
        return self.seeded.url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request, model, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('review') / 'tracker.db'}"
    else:
        url = pgdb.create("mutuals_review")
        yield url
        pgdb.drop(url)


@pytest.fixture(scope="module")
def world(store_url, model, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review-world")
    bot = Assistant(model, tracker_url=store_url)
    try:
        seeded = seed(bot, store_url)
        # A callback request made through the web form's own store, about one conversation.
        cb = tmp / "callbacks.db"
        req, errors = callbacks.validate({"name": "Sam", "contact": "01632 960 001", "preferred_time": "any",
                                          "about": "our logo", "consent": "yes"})
        assert not errors
        callbacks.CallbackStore(cb).add(req, CALLBACK_FROM)
        db = rdb.ReviewDB(store_url)
        index.refresh(db, cb)
        yield World(seeded, db, bot, cb, tmp)
        db.close()
    finally:
        bot.close()


def review_cli(w: World, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "review", "--db", w.url, "--callbacks", str(w.callbacks),
                           "--reviewer", "tester", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def senders_of(page: inbox.Page) -> set[str]:
    return {r["sender_id"] for r in page.rows}


def every(w: World, f: Filters) -> set[str]:
    return {r["sender_id"] for r in inbox.all_rows(w.db, f)}


def test_seed_covers_every_case(world):
    """The script must still produce each outcome with the current model, or the tests below
    would pass vacuously."""
    kinds = world.seeded.coverage()
    for kind in ("answer", "clarify", "fallback", "declined", "handoff", "feedback_ack", "restarted"):
        assert kinds[kind] >= 1, f"the seed produced no {kind!r} turn: {dict(kinds)}; pick another scripted phrase"
    fb = [s.meta.get("feedback") for _, s in world.seeded.all_said() if s.kind == "feedback_ack"]
    assert "helpful" in fb and "not_helpful" in fb
    follow = world.seeded.conversations["rv-followup"][1]
    assert follow.intent == "follow_up" and follow.kind == "answer"
    assert len([s for s in world.seeded.all_said() if s[1].kind == "fallback"]) >= 3


def test_index_holds_the_scripted_figures(world):
    c = rdb.conversations
    with world.db.engine.connect() as conn:
        rows = {r.sender_id: r._mapping for r in conn.execute(sa.select(c))}
    assert set(rows) == set(world.seeded.conversations)
    for sender in world.seeded.conversations:
        want, got = world.seeded.flags(sender), rows[sender]
        for key in ("user_turns", "answered", "clarified", "fallback", "declined", "handoff", "callback", "helpful",
                    "thumbs_down", "restarted", "first_text"):
            assert got[key] == want[key], (sender, key)
        assert [t for t in got["topics"].split(",") if t] == want["topics"], sender
        if want["min_score"] is None:
            assert got["min_score"] is None
        else:
            assert got["min_score"] == pytest.approx(want["min_score"])
        assert got["state"] == "new"


def test_inbox_filters(world):
    s = world.seeded
    today = dt.datetime.now(dt.timezone.utc).date()
    old_day = (today - dt.timedelta(days=2)).isoformat()
    everyone = set(s.conversations)
    low = inbox.LOW_SCORE  # just above the answer threshold, where it follows the score scale
    cases = {
        "all": (Filters(), everyone),
        "answered": (Filters(outcome="answered"), s.senders(answered=True)),
        "clarified": (Filters(outcome="clarified"), s.senders(clarified=True)),
        "fallback": (Filters(outcome="fallback"), s.senders(fallback=True)),
        "declined": (Filters(outcome="declined"), s.senders(declined=True)),
        "topic": (Filters(topic="pensions"), {x for x in everyone if "pensions" in s.flags(x)["topics"]}),
        "low score": (Filters(low_score=low),
                      {x for x in everyone if s.flags(x)["min_score"] is not None and s.flags(x)["min_score"] < low}),
        "thumbs down": (Filters(thumbs_down=True), s.senders(thumbs_down=True)),
        "handoff or callback": (Filters(handoff=True), s.senders(handoff=True) | s.senders(callback=True)),
        "text": (Filters(text="LOGO"), {x for x in everyone if any("logo" in m.text.lower() for m in s.conversations[x])}),
        "two words": (Filters(text="council staff"),
                      {x for x in everyone if any("council staff" in m.text for m in s.conversations[x])}),
        "since today": (Filters(since=today.isoformat()), {x for x in everyone if s.day_of(x) == today.isoformat()}),
        "until two days ago": (Filters(until=old_day), {x for x in everyone if s.day_of(x) <= old_day}),
        "fallback since today": (Filters(outcome="fallback", since=today.isoformat()),
                                 {x for x in s.senders(fallback=True) if s.day_of(x) == today.isoformat()}),
    }
    for name, (f, want) in cases.items():
        page = inbox.query(world.db, f, per_page=100)
        assert senders_of(page) == want, name
        assert page.total == len(want), name
    # None of the interesting filters is vacuous on this seed.
    for name in ("clarified", "fallback", "declined", "low score", "thumbs down", "handoff or callback", "text",
                 "since today", "until two days ago"):
        assert cases[name][1], f"filter {name!r} selects nothing in the seed"
    assert CALLBACK_FROM in cases["handoff or callback"][1] - s.senders(handoff=True)
    with pytest.raises(ValueError, match="unknown topic"):
        inbox.query(world.db, Filters(topic="biscuits"))
    with pytest.raises(ValueError, match="not a date"):
        inbox.query(world.db, Filters(since="last tuesday"))


def test_inbox_pages_are_newest_first_without_overlap(world):
    full = inbox.query(world.db, Filters(), per_page=100)
    order = [r["sender_id"] for r in full.rows]
    last_ts = [r["last_ts"] for r in full.rows]
    assert last_ts == sorted(last_ts, reverse=True)
    n = len(order)
    pages = [inbox.query(world.db, Filters(), page=p, per_page=4) for p in range(1, math.ceil(n / 4) + 1)]
    assert pages[0].pages == math.ceil(n / 4)
    assert [r["sender_id"] for p in pages for r in p.rows] == order
    assert inbox.query(world.db, Filters(), page=pages[0].pages + 1, per_page=4).rows == []
    assert inbox.PER_PAGE == 50 and inbox.query(world.db).per_page == 50


def test_cli_inbox_saved_filters_and_csv(world, tmp_path):
    want = world.seeded.senders(fallback=True)
    out = review_cli(world, "inbox", "--outcome", "fallback", "--save", "unanswered")
    assert out.returncode == 0, out.stderr
    assert f"inbox: {len(want)} conversation(s)" in out.stdout
    assert all(s in out.stdout for s in want)
    listed = review_cli(world, "filters")
    assert "unanswered\toutcome=fallback" in listed.stdout
    assert inbox.load_filter(world.db, "unanswered") == Filters(outcome="fallback")
    # A saved filter narrowed further on the command line.
    out = review_cli(world, "inbox", "--filter", "unanswered", "--since", dt.date.today().isoformat(), "--json")
    data = json.loads(out.stdout)
    assert {r["sender_id"] for r in data["rows"]} == {x for x in want if world.seeded.day_of(x) == dt.date.today().isoformat()}
    assert data["filters"] == {"outcome": "fallback", "since": dt.date.today().isoformat()}
    path = tmp_path / "inbox.csv"
    out = review_cli(world, "inbox", "--filter", "unanswered", "--csv", str(path))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(path.open()))
    assert {r["sender_id"] for r in rows} == want
    assert review_cli(world, "filters", "--delete", "unanswered").returncode == 0
    assert "unanswered" not in review_cli(world, "filters").stdout
    gone = review_cli(world, "inbox", "--filter", "unanswered")
    assert gone.returncode == 1 and "no saved filter 'unanswered'" in gone.stderr


def test_transcript_shows_each_turns_metadata(world):
    for sender, said in world.seeded.conversations.items():
        tr = transcript.load(world.db, sender)
        assert [t.text for t in tr.turns] == [s.text for s in said]
        for t, s in zip(tr.turns, said):
            assert t.intent == s.intent, (sender, t.index)
            assert isinstance(t.confidence, float) and 0 <= t.confidence <= 1
            assert t.ranking and t.ranking[0]["name"] == s.intent
            assert t.kind == s.kind, (sender, t.index)
            meta = s.meta
            if t.kind in ("answer", "clarify", "fallback"):
                assert t.band == meta["band"]
                assert t.entry_id == meta.get("entry_id")
                assert t.top_id == meta["top_id"]
                assert t.score == meta["score"]
                assert t.runner_up == meta["runner_up"]
                assert t.candidates == meta["candidates"]
                assert t.kb_version == meta["kb_version"] and t.kb_version
            if t.kind == "answer":
                assert t.entry_id and t.band == "answer" and t.runner_up is not None
    follow = transcript.load(world.db, "rv-followup").turns[1]
    nlu = world.bot.parse("what about council staff?")
    assert {(e["entity"], e["value"]) for e in follow.entities} == {(e["entity"], e["value"]) for e in nlu["entities"]}
    assert ("sector", "local_government") in {(e["entity"], e["value"]) for e in follow.entities}
    assert follow.follow_up_text == "what about council staff?"
    shown = review_cli(world, "show", "rv-followup")
    assert shown.returncode == 0, shown.stderr
    said = world.seeded.conversations["rv-followup"][1].meta
    assert f"entry {said['entry_id']}; score {said['score']}" in shown.stdout
    assert f"runner-up {said['runner_up']['id']} {said['runner_up']['score']}" in shown.stdout
    assert f"kb {said['kb_version']}" in shown.stdout and "sector=local_government" in shown.stdout
    data = json.loads(review_cli(world, "show", "rv-followup", "--json").stdout)
    assert data["turns"][1]["entry_id"] == said["entry_id"] and data["turns"][1]["topic"] == "pensions"
    missing = review_cli(world, "show", "no-such-conversation")
    assert missing.returncode == 1 and "no conversation 'no-such-conversation'" in missing.stderr


def test_review_states_and_notes(world):
    assert review_cli(world, "state", "rv-thumbsdown", "needs_expert", "--turn", "1").returncode == 0
    assert every(world, Filters(state="needs_expert")) == {"rv-thumbsdown"}
    assert review_cli(world, "note", "rv-thumbsdown", "legal form answer too general", "--turn", "1").returncode == 0
    assert review_cli(world, "note", "rv-thumbsdown", "ask the governance lead").returncode == 0
    tr = transcript.load(world.db, "rv-thumbsdown")
    assert tr.state == "needs_expert" and tr.turns[1].state == "needs_expert" and tr.turns[0].state == "new"
    assert [(n["text"], n["reviewer"]) for n in tr.turns[1].notes] == [("legal form answer too general", "tester")]
    assert [n["text"] for n in tr.notes] == ["ask the governance lead"]
    # The conversation's own state wins over its turns'.
    out = review_cli(world, "state", "rv-thumbsdown", "done")
    assert out.returncode == 0 and "conversation is Done" in out.stdout
    assert every(world, Filters(state="done")) == {"rv-thumbsdown"}
    assert "rv-thumbsdown" not in every(world, Filters(state="new"))
    # Every turn Done makes the conversation Done; one Ignored among them still Done.
    for i in range(len(world.seeded.conversations["rv-restart"])):
        marks.set_state(world.db, "rv-restart", "ignored" if i == 0 else "done", turn=i, reviewer="tester")
    assert marks.conversation_state(world.db, "rv-restart") == "done"
    marks.set_state(world.db, "rv-decline", "ignored", turn=0, reviewer="tester")
    assert every(world, Filters(state="ignored")) == {"rv-decline"}
    # States survive a full re-index.
    assert review_cli(world, "index", "--rebuild").returncode == 0
    assert every(world, Filters(state="done")) == {"rv-thumbsdown", "rv-restart"}
    assert every(world, Filters(state="ignored")) == {"rv-decline"}
    bad = review_cli(world, "state", "rv-thumbsdown", "done", "--turn", "7")
    assert bad.returncode == 1 and "has no turn 7" in bad.stderr
    with pytest.raises(ValueError, match="unknown state"):
        marks.set_state(world.db, "rv-thumbsdown", "sorted")


def test_incremental_refresh_picks_up_new_messages(world):
    """New events re-summarise only their conversations; the truth record is updated too."""
    s = world.seeded
    for sender, text in (("rv-lowscore", "yes that helped"), ("rv-late", "what is tupe")):
        sent = time.time()
        replies = world.bot.say(text, sender)
        s.conversations.setdefault(sender, []).append(Said(text, sent, world.bot.last_intent(sender), replies))
    # Without the safety overlap, exactly the two conversations with new events are re-read.
    report = index.refresh(world.db, world.callbacks, overlap=0)
    assert report.conversations == 2
    assert {"rv-lowscore", "rv-late"} <= set(every(world, Filters()))
    row = inbox.query(world.db, Filters(text="rv-lowscore")).rows[0]
    assert row["user_turns"] == 2 and row["helpful"] == s.flags("rv-lowscore")["helpful"]
    assert row["answered"] and not inbox.query(world.db, Filters(text="rv-late", outcome="fallback")).rows
    assert index.refresh(world.db, world.callbacks, overlap=0).conversations == 0


def _topic_probs(t: transcript.Turn) -> dict[str, float]:
    return turn.topic_probs(t.ranking)


def test_amend_with_an_alternate_then_apply(world, tmp_path):
    faq = tmp_path / "faq"
    shutil.copytree(settings.FAQ_DIR, faq)
    out_dir = tmp_path / "proposals"
    said = world.seeded.conversations["rv-clarify"][0]
    assert said.kind == "clarify"
    target = said.outcome["options"][0]["id"]
    t = transcript.load(world.db, "rv-clarify").turns[0]
    before = Matcher(kb.load(faq)).match(t.text, _topic_probs(t))
    assert (before.band, before.top.id if before.band == "answer" else None) != ("answer", target)
    snapshot = {p.name: p.read_bytes() for p in faq.glob("*.yml")}
    out = review_cli(world, "amend", "rv-clarify", "--turn", "0", "--entry", target, "--note", "staff say contract",
                     "--faq", str(faq), "--out", str(out_dir))
    assert out.returncode == 0, out.stderr
    [path] = proposals.pending(out_dir)
    data = yaml.safe_load(path.read_text())
    assert data["kind"] == "add_alternate" and data["entry_id"] == target and data["text"] == said.text
    assert data["source"]["conversation"] == "rv-clarify" and data["source"]["turn"] == 0
    assert data["reviewer"] == "tester" and data["note"] == "staff say contract"
    assert {p.name: p.read_bytes() for p in faq.glob("*.yml")} == snapshot, "a proposal must not touch faq/"
    topic_file = faq / f"{target.split('-', 1)[0]}.yml"
    old_lines = topic_file.read_text().splitlines()
    dry = review_cli(world, "apply", str(path), "--faq", str(faq), "--dry-run")
    assert dry.returncode == 0 and f"+      - {said.text}" in dry.stdout
    assert topic_file.read_text().splitlines() == old_lines
    applied = review_cli(world, "apply", str(path), "--faq", str(faq))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"+      - {said.text}" in applied.stdout and "knowledge base valid" in applied.stdout
    new_lines = topic_file.read_text().splitlines()
    assert len(new_lines) == len(old_lines) + 1 and [x for x in new_lines if x not in old_lines] == [f"      - {said.text}"]
    assert not proposals.pending(out_dir) and (out_dir / "applied" / path.name).exists()
    check = subprocess.run([sys.executable, "-m", "bot", "check", "--faq", str(faq)], cwd=ROOT, capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert check.returncode == 0 and check.stdout.startswith("OK:"), check.stdout
    base = kb.load(faq)
    assert said.text in base.entries[target].alternates
    after = Matcher(base).match(t.text, _topic_probs(t))
    assert after.band == "answer" and after.top.id == target
    # The same alternate again is refused before anything is written.
    with pytest.raises(proposals.ProposalError, match="already has"):
        proposals.propose_alternate(world.db, "rv-clarify", 0, target, faq_dir=faq, out_dir=out_dir)
    with pytest.raises(proposals.ProposalError, match="button press|no entry"):
        proposals.propose_alternate(world.db, "rv-clarify", 0, "no-such-entry", faq_dir=faq, out_dir=out_dir)


def test_draft_new_entry_is_validated_and_restored_on_failure(world, tmp_path):
    faq = tmp_path / "faq"
    shutil.copytree(settings.FAQ_DIR, faq)
    out_dir = tmp_path / "proposals"
    sender = "rv-fallback"
    said = world.seeded.conversations[sender][0]
    out = review_cli(world, "amend", sender, "--turn", "0", "--new-entry", "process", "--faq", str(faq),
                     "--out", str(out_dir))
    assert out.returncode == 0, out.stderr
    [path] = proposals.pending(out_dir)
    draft = yaml.safe_load(path.read_text())
    entry = draft["entry"]
    assert draft["kind"] == "new_entry" and entry["id"] == "process-what-colour-should-our-mutual-logo"
    assert entry["alternates"][0] == said.text and set(entry) <= kb.ENTRY_FIELDS
    topic_file = faq / "process.yml"
    original = topic_file.read_bytes()
    # An incomplete draft is refused before the file is touched.
    refused = review_cli(world, "apply", str(path), "--faq", str(faq))
    assert refused.returncode == 1 and "TODO" in refused.stderr and topic_file.read_bytes() == original
    # Completed, but referring to an organisation that does not exist: validation fails, file restored.
    org = next(iter(kb.load(faq).organisations))
    entry.update({
        "alternates": [said.text, "which colours go on our letterhead", "branding colours for the new mutual",
                       "logo colour advice"],
        "answer": "We don't advise on branding. Choose colours your staff and commissioners recognise, and check "
                  "any council or NHS branding rules before you reuse their identity.",
        "script": {"say": "We don't advise on branding, but do check any council or NHS branding rules before "
                          "reusing their identity.", "ask": ["Are you reusing the council's or trust's branding?"]},
        "refer": ["no-such-organisation"],
        "sources": [{"title": "NHS identity guidelines", "url": "https://www.england.nhs.uk/nhsidentity/",
                     "date": "n.d."}],
    })
    path.write_text(yaml.safe_dump(draft, sort_keys=False))
    failed = review_cli(world, "apply", str(path), "--faq", str(faq))
    assert failed.returncode == 1, failed.stdout
    assert "NOT applied" in failed.stderr and "no-such-organisation" in failed.stderr
    assert "+  - id: process-what-colour-should-our-mutual-logo" in failed.stdout  # the diff was shown
    assert topic_file.read_bytes() == original and proposals.pending(out_dir) == [path]
    # Fixed: applied, valid, and the question now finds the new entry.
    entry["refer"] = [org]
    path.write_text(yaml.safe_dump(draft, sort_keys=False))
    ok = review_cli(world, "apply", str(path), "--faq", str(faq))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert topic_file.read_text().startswith(original.decode()), "existing text must be kept as written"
    base = kb.load(faq)
    new = base.entries["process-what-colour-should-our-mutual-logo"]
    assert new.refer == (org,) and new.question == "What colour should our mutual logo be?"
    t = transcript.load(world.db, sender).turns[0]
    assert Matcher(base).match(t.text, _topic_probs(t)).top.id == new.id


def test_make_a_test_appends_question_and_story(world, tmp_path):
    questions = tmp_path / "questions.yml"
    shutil.copy(ROOT / "tests" / "eval" / "questions.yml", questions)
    stories = tmp_path / "stories.yml"
    before = evaluation.load_questions(questions)
    said = world.seeded.conversations["rv-fallback"][0]
    out = review_cli(world, "make-test", "rv-fallback", "--turn", "0", "--expect", "out_of_scope",
                     "--questions", str(questions), "--stories", str(stories))
    assert out.returncode == 0, out.stderr
    after = evaluation.load_questions(questions)
    assert after[:-1] == before
    assert after[-1] == evaluation.Question(said.text, "out_of_scope", "tune")
    assert questions.read_text().startswith((ROOT / "tests" / "eval" / "questions.yml").read_text())
    story = yaml.safe_load(stories.read_text())["stories"]
    assert story[0]["story"] == "review rv-fallback"
    # The story replays what the assistant did: its actions for that turn, as the tracker holds them
    # (which action depends on the trained NLU: action_fallback after nlu_fallback, else action_answer).
    turn = transcript.load(world.db, "rv-fallback").turns[0]
    assert turn.actions and turn.actions[0] in ("action_fallback", "action_answer") and turn.kind == "fallback"
    assert story[0]["steps"] == [{"user": said.text + "\n", "intent": said.intent}] + [{"action": a} for a in turn.actions]
    # Duplicates are refused and change nothing.
    snapshot = (questions.read_bytes(), stories.read_bytes())
    dup = review_cli(world, "make-test", "rv-fallback", "--turn", "0", "--expect", "out_of_scope",
                     "--questions", str(questions), "--stories", str(stories))
    assert dup.returncode == 1 and "already in" in dup.stderr
    assert (questions.read_bytes(), stories.read_bytes()) == snapshot
    # An answered turn defaults to the entry it got; a bad expectation is refused.
    low = world.seeded.conversations["rv-lowscore"][0]
    out = review_cli(world, "make-test", "rv-lowscore", "--turn", "0", "--questions", str(questions),
                     "--stories", str(stories))
    assert out.returncode == 0, out.stderr
    assert evaluation.load_questions(questions)[-1].expect == low.meta["entry_id"]
    bad = review_cli(world, "make-test", "rv-decline", "--turn", "0", "--expect", "pensions-made-up",
                     "--questions", str(questions), "--stories", str(stories))
    assert bad.returncode == 1 and "expect must be" in bad.stderr


def _expected_insights(s: Seeded) -> dict:
    said = s.all_said()
    kinds = [x.kind for _, x in said]
    questions = [k for k in kinds if k in insights.QUESTION_KINDS]
    convs = list(s.conversations)
    days: dict[str, dict[str, int]] = {}
    for sender in convs:
        days.setdefault(s.day_of(sender), {"conversations": 0, "user_turns": 0})["conversations"] += 1
    for _, x in said:
        day = dt.datetime.fromtimestamp(x.sent_at, dt.timezone.utc).date().isoformat()
        days.setdefault(day, {"conversations": 0, "user_turns": 0})["user_turns"] += 1
    topics: dict[str, int] = {}
    for _, x in said:
        if x.kind in insights.QUESTION_KINDS and x.topic:
            topics[x.topic] = topics.get(x.topic, 0) + 1
    flags = {k: len(s.senders(**{k: True})) for k in insights.CONVERSATION_KPIS}
    unanswered: dict[str, int] = {}
    for _, x in said:
        if x.kind == "fallback":
            key = SAME_QUESTION.get(x.text, x.text)
            unanswered[key] = unanswered.get(key, 0) + 1
    fb = [x.meta.get("feedback") for _, x in said if x.kind == "feedback_ack"]
    return {"conversations": len(convs), "user_turns": len(said), "question_turns": len(questions),
            "outcomes": {k: questions.count(k) for k in insights.QUESTION_KINDS}, "per_day": days, "topics": topics,
            "flags": flags, "unanswered": sorted(unanswered.values(), reverse=True),
            "helpful": fb.count("helpful"), "not_helpful": fb.count("not_helpful")}


def test_insights_match_the_script(world, tmp_path):
    from bot.operator_log import OperatorLog

    oplog = OperatorLog(tmp_path / "operator.db")
    oplog.add(operator="op1", query="logo colours", entry_id="process-timeline", verdict="not_right")
    oplog.add(operator="op1", query="contract length", entry_id="finance-contract-length-lenders", verdict="not_right")
    oplog.add(operator="op2", query="what is tupe", entry_id="tupe-what-is-tupe", verdict="used")
    want = _expected_insights(world.seeded)
    ins = insights.compute(world.db, operator_db=tmp_path / "operator.db")
    assert ins.conversations == want["conversations"]
    assert ins.user_turns == want["user_turns"]
    assert ins.question_turns == want["question_turns"]
    assert ins.outcomes == want["outcomes"]
    for k in insights.QUESTION_KINDS:
        assert ins.rates[k] == pytest.approx(want["outcomes"][k] / want["question_turns"])
    assert ins.conversations_with == want["flags"]
    assert ins.handoff_rate == pytest.approx(want["flags"]["handoff"] / want["conversations"])
    assert ins.callback_rate == pytest.approx(1 / want["conversations"])
    assert ins.feedback == {"helpful": want["helpful"], "not_helpful": want["not_helpful"]}
    assert ins.topics == want["topics"]
    assert {d["day"]: {"conversations": d["conversations"], "user_turns": d["user_turns"]}
            for d in ins.per_day if d["user_turns"]} == want["per_day"]
    assert len(ins.per_day) == 3 and ins.per_day[1]["user_turns"] == 0  # the quiet day in between is shown
    assert [g.count for g in ins.unanswered] == want["unanswered"]
    logo = next(g for g in ins.unanswered if "logo" in g.text)
    assert logo.count == 2 and set(logo.conversations) == {"rv-fallback", "rv-fallback-old"}
    assert ins.operator["not_right"] == 2 and ins.operator["used"] == 1
    assert {r["entry_id"] for r in ins.operator["by_entry"]} == {"process-timeline", "finance-contract-length-lenders"}
    # A period: only the two-days-ago conversations.
    old_day = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=2)).isoformat()
    old = insights.compute(world.db, since=old_day, until=old_day, operator_db=tmp_path / "operator.db")
    assert old.conversations == len({x for x in world.seeded.conversations if world.seeded.day_of(x) == old_day})
    assert old.operator["not_right"] == 0
    # CLI: charts and CSV.
    out_dir = tmp_path / "insights"
    out = review_cli(world, "insights", "--out", str(out_dir), "--operator-db", str(tmp_path / "operator.db"))
    assert out.returncode == 0, out.stderr
    assert f"conversations {want['conversations']}," in out.stdout
    for name in ("volume.png", "outcomes.png", "topics.png", "feedback.png"):
        data = (out_dir / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
    kpis = {r["metric"]: r["value"] for r in csv.DictReader((out_dir / "kpis.csv").open())}
    assert int(kpis["conversations"]) == want["conversations"]
    assert int(kpis["fallback_turns"]) == want["outcomes"]["fallback"]
    assert int(kpis["conversations_handoff"]) == want["flags"]["handoff"]
    assert int(kpis["operator_not_right"]) == 2
    assert float(kpis["answer_rate"]) == pytest.approx(want["outcomes"]["answer"] / want["question_turns"], abs=1e-4)
    per_day = list(csv.DictReader((out_dir / "per_day.csv").open()))
    assert sum(int(r["user_turns"]) for r in per_day) == want["user_turns"]
    unanswered = list(csv.DictReader((out_dir / "unanswered.csv").open()))
    assert [int(r["count"]) for r in unanswered] == want["unanswered"]


def test_retention_and_erasure_remove_review_data(world):
    """Erasure (``logs delete``) and retention (``purge``) take the summaries, states and notes
    with the events; a conversation deleted behind our back is dropped at the next refresh."""
    marks.add_note(world.db, "rv-decline", "the user gave a place name", reviewer="tester")

    def review_rows(sender: str) -> int:
        with world.db.engine.connect() as conn:
            return sum(conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.sender_id == sender)).scalar()
                       for t in rdb.PER_CONVERSATION)

    assert review_rows("rv-decline") >= 4  # summary, turn, state, note
    out = subprocess.run([sys.executable, "-m", "bot", "logs", "--db", world.url, "delete", "rv-decline"], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert review_rows("rv-decline") == 0
    assert "rv-decline" not in every(world, Filters())
    # Retention: the conversations from two days ago go with a one-day limit.
    old = {x for x in world.seeded.conversations if world.seeded.day_of(x) != dt.date.today().isoformat()}
    assert old
    store = logstore.LogStore(world.url)
    try:
        gone = store.purge(days=1)
    finally:
        store.close()
    assert set(gone) == old
    assert all(review_rows(x) == 0 for x in old)
    index.refresh(world.db, world.callbacks)
    remaining = every(world, Filters())
    assert not (remaining & (old | {"rv-decline"}))
    assert remaining == set(world.seeded.conversations) - old - {"rv-decline"}
    # Deleted outside our commands: the next refresh drops the summary.
    with world.db.engine.begin() as conn:
        conn.execute(sa.delete(world.db.events).where(world.db.events.c.sender_id == "rv-font"))
    assert "rv-font" in every(world, Filters())
    report = index.refresh(world.db, world.callbacks)
    assert report.removed == 1 and "rv-font" not in every(world, Filters())
    assert review_rows("rv-font") == 0
