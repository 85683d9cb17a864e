"""Input rules for the public channel, kept free of any web framework so they test alone.

Rasa's REST channel takes an empty message as a real one, lets a client choose any sender id,
and parses text starting with "/" as an intent. The chat server applies these rules first.
"""
from __future__ import annotations

import re
import uuid

MAX_CHARS = 1000
_SID_RE = re.compile(r"^[0-9a-f]{32}$")


def new_sender_id() -> str:
    """A server-issued conversation id: random, so nobody can guess another's."""
    return uuid.uuid4().hex


def valid_sender_id(value: str | None) -> bool:
    return bool(value and _SID_RE.match(value))


def clean_text(text: object) -> tuple[str | None, str | None]:
    """(text to send, or None) and (a reply to give instead, or None)."""
    if not isinstance(text, str):
        return None, "Please type a question."
    text = text.replace("\x00", "").strip()
    if not text:
        return None, "Please type a question, for example: can I keep my NHS pension if we spin out?"
    if len(text) > MAX_CHARS:
        return None, (f"That message is {len(text)} characters long; please keep it under {MAX_CHARS} "
                      "and ask one question at a time.")
    # A typed "/intent{...}" is text, not a command: Rasa must not parse it as an intent.
    return text.lstrip("/").strip() or text, None
