"""What the web server knows of a conversation: the buttons it may accept next, and the
transcript a reload shows.

The transcript is read from Rasa's own tracker store (through ``bot.logstore``, so SQLite or
PostgreSQL alike), not kept in a second copy: the conversation log stays the single record,
already redacted by the REST channel, and retention and erasure (``python -m bot logs``)
cover what a reload can show. Rasa's HTTP API stays off; this server reads the store itself.
The buttons of the latest reply are also kept in memory, so the common case needs no read.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .. import logstore

log = logging.getLogger(__name__)
MAX_REMEMBERED = 10_000  # conversations whose latest buttons are held in memory
MAX_TURNS = 200  # a reload shows at most the latest this many turns


@dataclass(frozen=True)
class Latest:
    """The latest reply's buttons (payload -> title) and the answer it was about, if any."""

    offered: dict[str, str] = field(default_factory=dict)
    entry_id: str | None = None


def latest_of(messages: list[dict[str, Any]]) -> Latest:
    offered: dict[str, str] = {}
    entry_id = None
    for m in messages:
        for b in m.get("buttons") or []:
            if isinstance(b, dict) and isinstance(b.get("payload"), str):
                offered[b["payload"]] = str(b.get("title") or b["payload"])
        custom = m.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("entry_id"), str):
            entry_id = custom["entry_id"]
    return Latest(offered, entry_id)


def turns_from_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tracker events as chat turns: ``{"role": "user", "text", "timestamp"}`` or
    ``{"role": "bot", "messages": [...]}``. A button press shows as the button's title."""
    turns: list[dict[str, Any]] = []
    titles: dict[str, str] = {}
    for e in events:
        kind = e.get("event")
        if kind == "user":
            text = str(e.get("text") or "")
            turns.append({"role": "user", "text": titles.get(text, text), "payload": text if text in titles else None,
                          "timestamp": e.get("timestamp")})
            titles = {}
        elif kind == "bot":
            data = e.get("data") or {}
            msg: dict[str, Any] = {"text": e.get("text") or ""}
            if data.get("buttons"):
                msg["buttons"] = data["buttons"]
            if isinstance(data.get("custom"), dict):
                msg["custom"] = data["custom"]
            if turns and turns[-1]["role"] == "bot":
                turns[-1]["messages"].append(msg)
            else:
                turns.append({"role": "bot", "messages": [msg]})
            titles.update(latest_of([msg]).offered)
    return turns[-MAX_TURNS:]


class Transcripts:
    """Reads conversations from the tracker store; remembers each one's latest buttons."""

    def __init__(self, tracker_url: str | None = None):
        self.url = tracker_url or logstore.tracker_url()
        self._store: logstore.LogStore | None = None
        self._latest: OrderedDict[str, Latest] = OrderedDict()

    def events(self, conversation: str) -> list[dict[str, Any]]:
        """The conversation's stored events; none if it has none or the store is unreadable."""
        try:
            if self._store is None:
                self._store = logstore.LogStore(self.url)
            return self._store.export(conversation)["events"]
        except LookupError:
            return []
        except Exception as exc:  # noqa: BLE001 - a reload without history beats an error page
            log.warning("conversation log unreadable at %s: %r", self.url, exc)
            return []

    def history(self, conversation: str) -> list[dict[str, Any]]:
        return turns_from_events(self.events(conversation))

    def remember(self, conversation: str, reply: list[dict[str, Any]]) -> None:
        self._latest[conversation] = latest_of(reply)
        self._latest.move_to_end(conversation)
        while len(self._latest) > MAX_REMEMBERED:
            self._latest.popitem(last=False)

    def latest(self, conversation: str) -> Latest:
        """From memory, or after a restart of this server from the stored conversation."""
        if conversation in self._latest:
            return self._latest[conversation]
        turns = self.history(conversation)
        found = latest_of(turns[-1]["messages"]) if turns and turns[-1]["role"] == "bot" else Latest()
        self.remember(conversation, [])
        self._latest[conversation] = found
        return found

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
