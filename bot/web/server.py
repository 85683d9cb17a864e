"""The web server: the staff chat (``/``), the operator console (``/operator``) and the
reviewers' console (``/review``, ``review.py``).

The chat relays messages to Rasa's REST channel with server-issued conversation ids. Only
button payloads the assistant itself offered in the latest reply are passed to Rasa as
payloads; anything typed goes as text. When Rasa is slow or down the user gets a fixed reply
with the phone number, never an endless wait. A reload shows the conversation as the tracker
store holds it (``transcript.py``); a comment given with a "No" is stored, redacted, for
reviewers with the conversation id and the entry (``bot/operator_log.py``). Pages follow the
GOV.UK Design System, with GOV.UK Frontend served from node_modules (``assets.py``).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import ClientSession, ClientTimeout, web

from .. import callbacks
from .. import kb as kb_module
from .. import logstore, respond
from ..operator_log import OperatorLog
from ..redact import redact
from ..settings import ROOT
from . import assets, auth, guard, operator, pages, review
from .transcript import Transcripts

STATIC = Path(__file__).parent / "static"
COOKIE = "mutuals_sid"
MAX_COMMENT = 500
FEEDBACK_NO = "/feedback_not_helpful"
log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


class Relay:
    """Holds the Rasa address and sends one message, with a timeout."""

    def __init__(self, rasa_url: str, timeout: float):
        self.rasa_url = rasa_url.rstrip("/") + "/webhooks/rest/webhook"
        self.timeout = ClientTimeout(total=timeout)
        self.session: ClientSession | None = None

    async def send(self, sender: str, message: str) -> list[dict[str, Any]]:
        assert self.session is not None
        body: dict[str, Any] = {"sender": sender, "message": message}
        async with self.session.post(self.rasa_url, json=body, timeout=self.timeout) as resp:
            resp.raise_for_status()
            data = await resp.json()
        return regroup([m for m in data if isinstance(m, dict)]) if isinstance(data, list) else []


def regroup(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put each reply back together as the action sent it: text, buttons and ``custom`` in one.

    Rasa's REST channel splits one message into a message per paragraph (the last carrying
    the buttons) and a separate one for the ``custom`` data. An answer's paragraphs start with
    ``custom.answer``; every other reply in bot/respond.py is one paragraph. Text with no
    custom data after it (a plain response such as the greeting) stays as it came.
    """
    out: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # text messages not yet matched to custom data
    for m in messages:
        custom = m.get("custom")
        if isinstance(custom, dict) and not m.get("text") and not m.get("buttons"):
            start = len(pending) - 1 if pending else 0
            if custom.get("kind") == "answer" and isinstance(custom.get("answer"), str):
                start = next((i for i in range(len(pending) - 1, -1, -1)
                              if pending[i].get("text") == custom["answer"]), start)
            out.extend(pending[:start])
            parts = pending[start:]
            merged: dict[str, Any] = {"text": "\n\n".join(p.get("text") or "" for p in parts)}
            buttons = [b for p in parts for b in (p.get("buttons") or [])]
            if buttons:
                merged["buttons"] = buttons
            merged["custom"] = custom
            out.append(merged)
            pending = []
        else:
            pending.append({k: v for k, v in m.items() if k in ("text", "buttons", "custom", "image")})
    out.extend(pending)
    return out


RELAY = web.AppKey("relay", Relay)
CALLBACKS = web.AppKey("callbacks", callbacks.CallbackStore)
TRANSCRIPTS = web.AppKey("transcripts", Transcripts)
FEEDBACK = web.AppKey("feedback", OperatorLog)
CLIENT_TIMEOUT_MS = web.AppKey("client_timeout_ms", int)


def unavailable_reply() -> list[dict[str, Any]]:
    base = kb_module.get()
    phone, hours = respond.line_contact(base)
    return [{"text": f"Sorry, the assistant isn't responding right now. Please try again shortly, "
                     f"or call the {base.service.name} on {phone} ({hours}).",
             "custom": {"kind": "unavailable", "phone": phone, "hours": hours}}]


KEY = web.AppKey("conversation_key", bytes)


def sender_of(request: web.Request) -> tuple[str, bool]:
    """The conversation of a cookie this server signed, or a new one (a forged or foreign
    cookie gets a fresh conversation, never someone else's)."""
    sid = guard.sender_from_cookie(request.cookies.get(COOKIE), request.app[KEY])
    if sid:
        return sid, False
    return guard.new_sender_id(), True


def _set_sender(resp: web.StreamResponse, sid: str, key: bytes) -> None:
    # A session cookie (no expiry): the conversation lasts as long as the browser session.
    resp.set_cookie(COOKIE, guard.sign_sender_id(sid, key), httponly=True, samesite="Strict", path="/")


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except Exception:  # noqa: BLE001 - any unreadable body gets the same clear answer
        return {}
    return body if isinstance(body, dict) else {}


def _comment(value: object) -> str | None:
    """The optional "what was wrong" text that goes with a "No": one line, capped."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace("\x00", "").split())[:MAX_COMMENT]
    return text or None


async def chat(request: web.Request) -> web.Response:
    relay = request.app[RELAY]
    store = request.app[TRANSCRIPTS]
    sid, fresh = sender_of(request)
    body = await _json_body(request)
    payload = body.get("payload")
    latest = store.latest(sid) if not fresh else None
    shown: str | None = None
    if latest and isinstance(payload, str) and payload in latest.offered:
        message, reply = payload, None
        comment = _comment(body.get("comment")) if payload == FEEDBACK_NO else None
        if comment:
            request.app[FEEDBACK].add_comment(sid, latest.entry_id, redact(comment).text)
    else:
        message, reply = guard.clean_text(body.get("message"))
        # What the conversation log keeps: the REST channel redacts personal data the same way.
        shown = redact(message).text if message else None
    if reply:
        messages: list[dict[str, Any]] = [{"text": reply, "custom": {"kind": "input_error"}}]
    else:
        assert message is not None
        try:
            messages = await relay.send(sid, message)
        except (asyncio.TimeoutError, OSError, Exception) as exc:  # noqa: BLE001
            log.warning("rasa unavailable: %r", exc)
            messages = unavailable_reply()
        if not messages:
            messages = unavailable_reply()
        store.remember(sid, messages)
    out: dict[str, Any] = {"messages": messages}
    if shown is not None:
        out["stored_as"] = shown
    resp = web.json_response(out)
    if fresh:
        _set_sender(resp, sid, request.app[KEY])
    return resp


def _attach_comments(turns: list[dict[str, Any]], comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Show each stored comment with the "No" it was sent with (the comment is saved just before)."""
    pending = sorted(comments, key=lambda c: c["created_ts"])
    for turn in turns:
        if turn["role"] != "user" or turn.get("payload") != FEEDBACK_NO or not pending:
            continue
        ts = turn.get("timestamp") or 0
        if pending[0]["created_ts"] <= ts + 1 and ts - pending[0]["created_ts"] < 60:
            turn["comment"] = pending.pop(0)["comment"]
    return turns


async def history(request: web.Request) -> web.Response:
    """The conversation so far for this browser session (empty for a new one)."""
    sid = guard.sender_from_cookie(request.cookies.get(COOKIE), request.app[KEY])
    if not sid:
        return web.json_response({"turns": []})
    turns = await asyncio.get_running_loop().run_in_executor(None, request.app[TRANSCRIPTS].history, sid)
    turns = _attach_comments(turns, request.app[FEEDBACK].comments(sid, limit=500))
    return web.json_response({"turns": [{k: v for k, v in t.items() if k not in ("payload", "timestamp")}
                                        for t in turns]})


async def callback(request: web.Request) -> web.Response:
    """Store a callback request; 422 with every field's error when the form is incomplete."""
    form = await _json_body(request)
    req, errors = callbacks.validate(form)
    if errors or req is None:
        return web.json_response({"errors": errors}, status=422)
    sid, _ = sender_of(request)
    ref = request.app[CALLBACKS].add(req, sid)
    phone, hours = respond.line_contact(kb_module.get())
    return web.json_response({"id": ref, "message": (
        f"Thank you. Your callback request (reference {ref}) has been sent. An adviser will call "
        f"{callbacks.TIMES[req.preferred_time].lower()} on a working day. If it is urgent, call {phone} ({hours}).")})


async def restart(request: web.Request) -> web.Response:
    """Start a new conversation: a fresh id, so the old one is left as it was."""
    resp = web.json_response({"ok": True})
    _set_sender(resp, guard.new_sender_id(), request.app[KEY])
    return resp


def _line() -> dict[str, str]:
    base = kb_module.get()
    phone, hours = respond.line_contact(base)
    return {"service": base.service.name, "phone": phone, "tel": "".join(c for c in phone if c.isdigit() or c == "+"),
            "hours": hours}


async def index(request: web.Request) -> web.Response:
    line = _line()
    content = pages.fill("chat.html", timeout_ms=str(request.app[CLIENT_TIMEOUT_MS]),
                         morning=callbacks.TIMES["morning"], afternoon=callbacks.TIMES["afternoon"],
                         any_time=callbacks.TIMES["any"], max_about=str(callbacks.MAX_ABOUT), **line)
    return pages.page("Ask the mutuals information line", content, scripts=["/static/chat.js"])


async def privacy(request: web.Request) -> web.Response:
    try:
        days = logstore.retention_days()
    except ValueError:
        days = logstore.DEFAULT_RETENTION_DAYS
    content = pages.fill("privacy.html", retention=f"{days:g}", **_line())
    return pages.page("Privacy notice - Mutuals information line", content)


async def favicon(request: web.Request) -> web.Response:
    return web.Response(status=204)


def _harden(headers: Any, path: str) -> None:
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if path.startswith(("/api/", "/operator", "/review")):
        headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def security_headers(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """No inline script or style, no framing, no sniffing, on every response (errors too)."""
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        _harden(exc.headers, request.path)
        raise
    _harden(resp.headers, request.path)
    return resp


MAX_BODY = 16 * 1024


@web.middleware
async def refuse_large_bodies(request: web.Request,
                              handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Answer 413 and close the connection before reading a body over the limit (whatever the
    method or path), so an oversized upload costs the server nothing and never hangs."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        resp = web.json_response({"error": "request too large"}, status=413)
        resp.force_close()
        return resp
    return await handler(request)


# Longest any request may take, body upload included: above the relay's timeout to Rasa (so a
# slow answer still arrives) but bounded, so a client trickling a body holds nothing for long.
REQUEST_TIME_LIMIT = float(os.environ.get("WEB_REQUEST_TIME_LIMIT", 25))


@web.middleware
async def time_limit(request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """408 with a plain message when a request takes longer than REQUEST_TIME_LIMIT."""
    try:
        return await asyncio.wait_for(handler(request), REQUEST_TIME_LIMIT)
    except asyncio.TimeoutError:
        resp = web.json_response({"error": "request took too long"}, status=408)
        resp.force_close()
        return resp


async def _start(app: web.Application) -> None:
    app[RELAY].session = ClientSession()


async def _stop(app: web.Application) -> None:
    if app[RELAY].session:
        await app[RELAY].session.close()
    app[TRANSCRIPTS].close()


def _var(name: str, default: str, given: Path | None) -> Path:
    return Path(given or os.environ.get(name) or ROOT / "var" / default)


def make_app(rasa_url: str, timeout: float = 10.0, callback_db: Path | None = None, *,
             tracker_url: str | None = None, operator_db: Path | None = None,
             credentials: auth.Credentials | None | str = "env", client_timeout_ms: int | None = None,
             reviewer_credentials: auth.Credentials | None | str = "env",
             review_config: review.Config | None = None) -> web.Application:
    """The whole site. ``credentials="env"`` reads the operator login from the environment or
    var/secrets.env; ``None`` turns the console off (it answers 401). ``reviewer_credentials``
    does the same for the reviewers' console (``REVIEWER_USERNAME``...); ``review_config`` says
    where it writes proposals and tests (default: the CLI's places, or ``REVIEW_*`` variables)."""
    kb_module.get()  # fail at start, not on the first message, if faq/ is broken
    app = web.Application(client_max_size=MAX_BODY, middlewares=[refuse_large_bodies, time_limit, security_headers])
    app[RELAY] = Relay(rasa_url, timeout)
    app[KEY] = guard.conversation_key()
    cb_path = _var("CALLBACK_DB", "callbacks.db", callback_db)
    app[CALLBACKS] = callbacks.CallbackStore(cb_path)
    app[TRANSCRIPTS] = Transcripts(tracker_url)
    op_path = _var("OPERATOR_DB", "operator.db", operator_db or (cb_path.parent / "operator.db" if callback_db else None))
    app[FEEDBACK] = OperatorLog(op_path)
    # The browser gives up a little after the server would have (server timeout + 5 s).
    app[CLIENT_TIMEOUT_MS] = (client_timeout_ms or int(os.environ.get("WEB_CLIENT_TIMEOUT_MS", 0))
                              or int(timeout * 1000) + 5000)
    app.router.add_get("/", index)
    app.router.add_get("/privacy", privacy)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/history", history)
    app.router.add_post("/api/restart", restart)
    app.router.add_post("/api/callback", callback)
    app.router.add_static("/static/", STATIC)
    assets.add_routes(app)
    creds = auth.Credentials.from_environment() if credentials == "env" else credentials
    assert creds is None or isinstance(creds, auth.Credentials)
    operator.setup(app, creds, app[CALLBACKS], app[FEEDBACK])
    reviewers = (auth.Credentials.from_environment(prefix="REVIEWER") if reviewer_credentials == "env"
                 else reviewer_credentials)
    assert reviewers is None or isinstance(reviewers, auth.Credentials)
    review.setup(app, reviewers, review_config or review.Config.from_environment(
        app[TRANSCRIPTS].url, cb_path, op_path,
        cache_dir=cb_path.parent / "review-cache" if callback_db else None))
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the staff web chat and the operator console.")
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", 8000)))
    parser.add_argument("--rasa", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("RASA_TIMEOUT", 10)))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="web: %(message)s")
    try:
        app = make_app(args.rasa, args.timeout)
    except (assets.MissingAssets, auth.ConfigError) as exc:
        raise SystemExit(f"web: {exc}") from exc
    log.info("operator console %s", "on at /operator" if operator.enabled(app) else
             "off: set OPERATOR_USERNAME and OPERATOR_PASSWORD (or OPERATOR_PASSWORD_HASH) or var/secrets.env")
    log.info("review console %s", "on at /review" if review.enabled(app) else
             "off: set REVIEWER_USERNAME and REVIEWER_PASSWORD (or REVIEWER_PASSWORD_HASH) or var/secrets.env")
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
