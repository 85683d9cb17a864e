"""Input rules for the public channel, kept free of any web framework so they test alone.

Rasa's REST channel takes an empty message as a real one, lets a client choose any sender id,
and parses text starting with "/" as an intent. The chat server applies these rules first, and
accepts only conversation ids it issued itself (signed cookies).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import uuid
from pathlib import Path

from ..settings import ROOT

MAX_CHARS = 1000
_SID_RE = re.compile(r"^[0-9a-f]{32}$")


def new_sender_id() -> str:
    """A server-issued conversation id: random, so nobody can guess another's."""
    return uuid.uuid4().hex


def valid_sender_id(value: str | None) -> bool:
    return bool(value and _SID_RE.match(value))


def conversation_key() -> bytes:
    """The secret that signs conversation cookies: CONVERSATION_KEY, else a random key kept in
    the git-ignored var/conversation.key (created once, shared by every web server on the host,
    so a restart or a second replica still recognises its own cookies)."""
    configured = os.environ.get("CONVERSATION_KEY")
    if configured:
        return configured.encode()
    path = Path(os.environ.get("CONVERSATION_KEY_FILE", ROOT / "var" / "conversation.key"))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key; delete it to make a new one")
    return key.encode()


def sign_sender_id(sid: str, key: bytes) -> str:
    """The cookie value: the id and its HMAC, so only ids this server issued are accepted."""
    return f"{sid}.{hmac.new(key, sid.encode(), hashlib.sha256).hexdigest()[:32]}"


def sender_from_cookie(value: str | None, key: bytes) -> str | None:
    """The conversation id in a cookie this server signed; None for anything else."""
    sid, _, mac = (value or "").partition(".")
    if not valid_sender_id(sid) or not hmac.compare_digest(sign_sender_id(sid, key), value or ""):
        return None
    return sid


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
