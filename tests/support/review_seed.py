"""Scripted conversations for the review tests, driven through the real assistant.

Every conversation is typed into the trained assistant (real NLU, policies and action server)
with a SQL tracker store; nothing is written into the tracker tables by hand. What was sent
and what came back to the client (the reply's ``custom`` data, the intent from Rasa's
tracker) is recorded, and the expected review figures are computed from that record, not
from the review index under test.
"""
from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from bot.kb import TOPICS

DAY = 86400.0


@dataclass(frozen=True)
class Scripted:
    sender: str
    purpose: str
    messages: tuple[str, ...]
    days_ago: int = 0  # sent with the clock this many days back (for date filters and retention)


SCRIPT: tuple[Scripted, ...] = (
    Scripted("rv-helpful", "a good answer and 'yes that helped'",
             ("hello", "can i keep my nhs pension if we spin out", "yes that helped")),
    Scripted("rv-clarify", "a clarify (did you mean)", ("staff pensions",)),
    Scripted("rv-fallback", "a question we cannot answer", ("what colour should our mutual logo be",)),
    Scripted("rv-fallback-old", "the same question in other words, two days ago",
             ("what colour should the mutual logo be?",), days_ago=2),
    Scripted("rv-font", "another unanswerable question", ("which font should we use for letters",)),
    Scripted("rv-decline", "out of scope", ("what is the weather in leeds tomorrow",)),
    Scripted("rv-handoff", "asks for a person", ("can i talk to a person",)),
    Scripted("rv-thumbsdown", "an answer that did not help",
             ("what legal form should our mutual be", "no that didn't help")),
    Scripted("rv-restart", "start again", ("what is tupe", "start again", "how do we get funding")),
    Scripted("rv-followup", "a follow-up for council staff, two days ago",
             ("will I keep my pension if we become a mutual", "what about council staff?"), days_ago=2),
    Scripted("rv-lowscore", "an answer with a low score", ("could the mutual run a cafe as well as the service",)),
)
# Unanswered questions the script means as one question asked twice (for grouping).
SAME_QUESTION = {"what colour should our mutual logo be": "logo", "what colour should the mutual logo be?": "logo",
                 "which font should we use for letters": "font"}
CALLBACK_FROM = "rv-fallback"  # this conversation also requests a callback through the web form


@dataclass
class Said:
    """One message as the client saw it."""

    text: str
    sent_at: float
    intent: str | None
    replies: list[dict[str, Any]]

    def customs(self) -> list[dict[str, Any]]:
        return [r["custom"] for r in self.replies if isinstance(r.get("custom"), dict)]

    @property
    def outcome(self) -> dict[str, Any]:
        """The first reply that is the outcome (not the feedback question sent with an answer)."""
        return next((c for c in self.customs() if c.get("kind") and c["kind"] != "feedback_prompt"), {})

    @property
    def kind(self) -> str | None:
        kind = self.outcome.get("kind")
        if kind is None and any(r.get("text") for r in self.replies):
            return "smalltalk"
        return kind

    @property
    def meta(self) -> dict[str, Any]:
        return self.outcome.get("meta") or {}

    @property
    def topic(self) -> str | None:
        eid = self.meta.get("entry_id") if self.kind == "answer" else self.meta.get("top_id") if self.kind == "clarify" else None
        if eid and eid.split("-", 1)[0] in TOPICS:
            return eid.split("-", 1)[0]
        if self.intent and self.intent.startswith("ask_") and self.intent[4:] in TOPICS:
            return self.intent[4:]
        return None


@dataclass
class Seeded:
    url: str
    conversations: dict[str, list[Said]] = field(default_factory=dict)
    script: tuple[Scripted, ...] = SCRIPT

    # ---- expected figures, from what the client saw

    def flags(self, sender: str) -> dict[str, Any]:
        said = self.conversations[sender]
        kinds = {s.kind for s in said}
        scores = [s.meta["score"] for s in said if s.kind == "answer"]
        topics = sorted({s.topic for s in said if s.topic})
        return {
            "user_turns": len(said),
            "answered": "answer" in kinds, "clarified": "clarify" in kinds, "fallback": "fallback" in kinds,
            "declined": "declined" in kinds,
            "handoff": "handoff" in kinds or any(s.intent == "human_handoff" for s in said),
            "callback": sender == CALLBACK_FROM,
            "helpful": any(s.meta.get("feedback") == "helpful" for s in said),
            "thumbs_down": any(s.meta.get("feedback") == "not_helpful" or s.intent == "feedback_not_helpful" for s in said),
            "restarted": "restarted" in kinds,
            "min_score": min(scores) if scores else None,
            "topics": topics,
            "first_text": said[0].text,
        }

    def senders(self, **want: Any) -> set[str]:
        return {s for s in self.conversations if all(self.flags(s)[k] == v for k, v in want.items())}

    def all_said(self) -> list[tuple[str, Said]]:
        return [(sender, s) for sender, said in self.conversations.items() for s in said]

    def day_of(self, sender: str) -> str:
        return dt.datetime.fromtimestamp(self.conversations[sender][0].sent_at, dt.timezone.utc).date().isoformat()

    def coverage(self) -> Counter:
        """How many turns of each outcome the seed produced (the tests need each at least once)."""
        return Counter(s.kind for _, s in self.all_said())


def seed(bot, url: str, script: tuple[Scripted, ...] = SCRIPT) -> Seeded:
    """Drive ``bot`` (tests.support.assistant.Assistant with ``tracker_url=url``) through the script."""
    out = Seeded(url, script=script)
    real = time.time
    for conv in script:
        offset = conv.days_ago * DAY
        said: list[Said] = []
        # Rasa stamps events with time.time(): shifting it dates the whole exchange, which is
        # still a real exchange with the assistant.
        with mock.patch("time.time", new=lambda: real() - offset) if offset else _nothing():
            for text in conv.messages:
                sent = time.time()
                replies = bot.say(text, conv.sender)
                said.append(Said(text, sent, bot.last_intent(conv.sender), replies))
        out.conversations[conv.sender] = said
    return out


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
