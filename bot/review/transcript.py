"""One conversation, turn by turn, as a reviewer needs it.

Each user message is a turn: its text, the NLU intent and confidence, the entities, what the
assistant ran and said, and from the bot messages' ``match`` metadata the entry that answered,
its score, the runner-up, the band and the knowledge-base version. The same parser feeds the
summary index (``bot.review.index``), so the inbox and the transcript never disagree.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Iterator

import sqlalchemy as sa

from ..kb import TOPICS
from . import db as rdb

# Actions that are machinery, not the assistant's answer to the message.
SILENT_ACTIONS = {"action_listen", "action_session_start", "action_restart", "action_unlikely_intent"}
NO_REPLY_KINDS = {"feedback_prompt"}  # sent alongside an answer: not the turn's outcome


@dataclass
class Turn:
    """One user message and everything the assistant did about it."""

    index: int
    event_id: int
    timestamp: float
    text: str
    shown_text: str  # what the user saw: a button's title for a button payload
    intent: str | None = None
    confidence: float | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    ranking: list[dict[str, Any]] = field(default_factory=list)  # top 3 intents
    redacted: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    kind: str | None = None
    band: str | None = None
    entry_id: str | None = None
    top_id: str | None = None
    score: float | None = None
    runner_up: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    kb_version: str | None = None
    reason: str | None = None
    feedback: str | None = None
    follow_up_text: str | None = None
    state: str = "new"
    notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_payload(self) -> bool:
        return self.text.startswith("/")

    @property
    def topic(self) -> str | None:
        """The answered entry's topic, else the best candidate's (clarify), else the NLU topic."""
        for eid in ((self.entry_id if self.kind == "answer" else None), (self.top_id if self.kind == "clarify" else None)):
            if eid and eid.split("-", 1)[0] in TOPICS:
                return eid.split("-", 1)[0]
        if self.intent and self.intent.startswith("ask_") and self.intent[4:] in TOPICS:
            return self.intent[4:]
        return None


@dataclass
class Transcript:
    sender_id: str
    turns: list[Turn]
    state: str
    notes: list[dict[str, Any]]  # notes about the whole conversation
    first_ts: float | None
    last_ts: float | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for t, raw in zip(self.turns, out["turns"]):
            raw["topic"] = t.topic
        return out


def _loads(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def build_turns(rows: Iterable[tuple[int, str, str | None, str | None]]) -> list[Turn]:
    """Turns from event rows ``(id, type_name, action_name, data)`` in id order.

    Only user and bot events are parsed (actions come from their own column), which keeps a
    full re-index of many conversations fast.
    """
    turns: list[Turn] = []
    titles: dict[str, str] = {}  # button payload -> title, from the latest bot messages
    current: Turn | None = None
    for event_id, type_name, action_name, data in rows:
        if type_name == "user":
            e = _loads(data)
            parse = e.get("parse_data") or {}
            intent = parse.get("intent") or {}
            text = str(e.get("text") or "")
            current = Turn(
                index=len(turns), event_id=int(event_id), timestamp=float(e.get("timestamp") or 0.0), text=text,
                shown_text=titles.get(text, text), intent=intent.get("name"),
                confidence=round(float(intent["confidence"]), 4) if intent.get("confidence") is not None else None,
                entities=[{"entity": x.get("entity"), "value": x.get("value")} for x in parse.get("entities") or []],
                ranking=[{"name": r.get("name"), "confidence": round(float(r.get("confidence") or 0), 4)}
                         for r in (parse.get("intent_ranking") or [])[:3]],
                redacted=list(((e.get("metadata") or {}).get("redacted")) or []),
            )
            turns.append(current)
            titles = {}
        elif type_name == "action" and current is not None and action_name and action_name not in SILENT_ACTIONS:
            current.actions.append(action_name)
        elif type_name == "bot":
            e = _loads(data)
            payload = e.get("data") or {}
            custom = payload.get("custom") if isinstance(payload.get("custom"), dict) else {}
            buttons = [b for b in payload.get("buttons") or [] if isinstance(b, dict)]
            for b in buttons:
                if isinstance(b.get("payload"), str):
                    titles[b["payload"]] = str(b.get("title") or b["payload"])
            if current is None:
                continue
            kind = custom.get("kind")
            current.messages.append({"text": e.get("text") or "", "kind": kind,
                                     "buttons": [str(b.get("title") or "") for b in buttons]})
            match = (e.get("metadata") or {}).get("match") or custom.get("meta") or {}
            if kind and kind not in NO_REPLY_KINDS and current.kind is None:
                current.kind = kind
                _apply_match(current, match if isinstance(match, dict) else {})
    for t in turns:
        if t.kind is None and any(a.startswith("utter_") for a in t.actions):
            t.kind = "smalltalk"
    return turns


def _apply_match(turn: Turn, match: dict[str, Any]) -> None:
    turn.band = match.get("band")
    turn.entry_id = match.get("entry_id")
    turn.top_id = match.get("top_id")
    turn.score = match.get("score")
    runner = match.get("runner_up")
    turn.runner_up = runner if isinstance(runner, dict) else None
    turn.candidates = [c for c in match.get("candidates") or [] if isinstance(c, dict)]
    turn.kb_version = match.get("kb_version")
    turn.reason = match.get("reason")
    turn.feedback = match.get("feedback")
    turn.follow_up_text = match.get("follow_up_text")


def event_rows(rdb_: rdb.ReviewDB, sender_id: str) -> list[tuple[int, str, str | None, str | None]]:
    ev = rdb_.events
    with rdb_.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(ev.c.id, ev.c.type_name, ev.c.action_name, ev.c.data)
            .where(ev.c.sender_id == sender_id).order_by(ev.c.id))]


def load(rdb_: rdb.ReviewDB, sender_id: str) -> Transcript:
    """The conversation as turns, with the reviewers' states and notes attached."""
    from . import marks

    rows = event_rows(rdb_, sender_id)
    if not rows:
        raise LookupError(f"no conversation {sender_id!r}")
    turns = build_turns(rows)
    turn_states, conv_state = marks.states_for(rdb_, sender_id), marks.conversation_state(rdb_, sender_id)
    all_notes = marks.notes_for(rdb_, sender_id)
    for t in turns:
        t.state = turn_states.get(t.index, "new")
        t.notes = [n for n in all_notes if n["turn"] == t.index]
    stamps = [t.timestamp for t in turns]
    return Transcript(sender_id, turns, conv_state, [n for n in all_notes if n["turn"] == rdb.CONVERSATION],
                      min(stamps) if stamps else None, max(stamps) if stamps else None)


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts or 0, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_text(tr: Transcript) -> str:
    """A plain-text transcript for the terminal."""
    lines = [f"conversation {tr.sender_id}: {len(tr.turns)} turn(s), {_when(tr.first_ts)} to {_when(tr.last_ts)}, "
             f"state {rdb.STATE_LABELS.get(tr.state, tr.state)}"]
    lines += [f"  note ({n['reviewer']}): {n['text']}" for n in tr.notes]
    for t in tr.turns:
        lines.append("")
        lines.extend(_turn_lines(t))
    return "\n".join(lines)


def _turn_lines(t: Turn) -> Iterator[str]:
    shown = t.shown_text if t.shown_text == t.text else f"{t.shown_text} [{t.text}]"
    yield f"[{t.index}] {_when(t.timestamp)}  user: {shown}"
    conf = f" {t.confidence:.2f}" if t.confidence is not None else ""
    ents = ", ".join(f"{e['entity']}={e['value']}" for e in t.entities) or "none"
    yield f"    intent {t.intent}{conf}; entities {ents}" + (f"; redacted {', '.join(t.redacted)}" if t.redacted else "")
    yield f"    actions {', '.join(t.actions) or '-'}; outcome {t.kind or '-'}" + (f" ({t.reason})" if t.reason else "")
    if t.band or t.entry_id or t.top_id:
        runner = f"{t.runner_up['id']} {t.runner_up.get('score')}" if t.runner_up else "-"
        yield (f"    band {t.band}; entry {t.entry_id or '-'}; score {t.score}; top {t.top_id or '-'}; "
               f"runner-up {runner}; kb {t.kb_version or '-'}")
    if t.feedback:
        yield f"    feedback {t.feedback}"
    for m in t.messages:
        text = " ".join(str(m["text"]).split())
        yield f"    bot: {text[:160]}{'...' if len(text) > 160 else ''}"
    yield f"    review state {rdb.STATE_LABELS.get(t.state, t.state)}"
    for n in t.notes:
        yield f"    note ({n['reviewer']}): {n['text']}"
