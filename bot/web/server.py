"""The staff web chat: serves the page and relays messages to Rasa with server-issued ids.

Only button payloads the assistant itself offered in this conversation are passed to Rasa
as payloads; anything typed goes as text. When Rasa is slow or down the user gets a fixed
reply with the phone number, never an endless wait.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from .. import callbacks
from .. import kb as kb_module
from .. import respond
from ..settings import ROOT
from . import guard

STATIC = Path(__file__).parent / "static"
COOKIE = "mutuals_sid"
log = logging.getLogger(__name__)


class Relay:
    """Holds the Rasa address and, per conversation, the payloads last offered as buttons."""

    def __init__(self, rasa_url: str, timeout: float):
        self.rasa_url = rasa_url.rstrip("/") + "/webhooks/rest/webhook"
        self.timeout = ClientTimeout(total=timeout)
        self.offered: dict[str, set[str]] = {}
        self.session: ClientSession | None = None

    async def send(self, sender: str, message: str) -> list[dict[str, Any]]:
        assert self.session is not None
        async with self.session.post(self.rasa_url, json={"sender": sender, "message": message},
                                     timeout=self.timeout) as resp:
            resp.raise_for_status()
            data = await resp.json()
        self.offered[sender] = {b.get("payload") for m in data for b in (m.get("buttons") or []) if b.get("payload")}
        return data


RELAY = web.AppKey("relay", Relay)
CALLBACKS = web.AppKey("callbacks", callbacks.CallbackStore)


def unavailable_reply() -> list[dict[str, Any]]:
    base = kb_module.get()
    phone, hours = respond.line_contact(base)
    return [{"text": f"Sorry, the assistant isn't responding right now. Please try again shortly, "
                     f"or call the {base.service.name} on {phone} ({hours}).",
             "custom": {"kind": "unavailable", "phone": phone}}]


def sender_of(request: web.Request) -> tuple[str, bool]:
    sid = request.cookies.get(COOKIE)
    if guard.valid_sender_id(sid):
        return sid, False
    return guard.new_sender_id(), True


async def chat(request: web.Request) -> web.Response:
    relay: Relay = request.app[RELAY]
    sid, fresh = sender_of(request)
    try:
        body = await request.json()
    except Exception:  # noqa: BLE001 - any unreadable body gets the same clear answer
        body = {}
    payload = body.get("payload") if isinstance(body, dict) else None
    if isinstance(payload, str) and payload in relay.offered.get(sid, set()):
        message, reply = payload, None
    else:
        message, reply = guard.clean_text(body.get("message") if isinstance(body, dict) else None)
    if reply:
        messages: list[dict[str, Any]] = [{"text": reply, "custom": {"kind": "input_error"}}]
    else:
        try:
            messages = await relay.send(sid, message)
        except (asyncio.TimeoutError, OSError, Exception) as exc:  # noqa: BLE001
            log.warning("rasa unavailable: %s", exc)
            messages = unavailable_reply()
        if not messages:
            messages = unavailable_reply()
    resp = web.json_response({"messages": messages})
    if fresh:
        resp.set_cookie(COOKIE, sid, httponly=True, samesite="Strict")
    return resp


async def callback(request: web.Request) -> web.Response:
    """Store a callback request; 422 with every field's error when the form is incomplete."""
    try:
        form = await request.json()
    except Exception:  # noqa: BLE001
        form = {}
    req, errors = callbacks.validate(form if isinstance(form, dict) else {})
    if errors:
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
    resp.set_cookie(COOKIE, guard.new_sender_id(), httponly=True, samesite="Strict")
    return resp


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _start(app: web.Application) -> None:
    app[RELAY].session = ClientSession()


async def _stop(app: web.Application) -> None:
    if app[RELAY].session:
        await app[RELAY].session.close()


def make_app(rasa_url: str, timeout: float = 10.0, callback_db: Path | None = None) -> web.Application:
    kb_module.get()  # fail at start, not on the first message, if faq/ is broken
    app = web.Application(client_max_size=16 * 1024)
    app[RELAY] = Relay(rasa_url, timeout)
    app[CALLBACKS] = callbacks.CallbackStore(callback_db or Path(os.environ.get("CALLBACK_DB", ROOT / "var" / "callbacks.db")))
    app.router.add_get("/", index)
    app.router.add_post("/api/chat", chat)
    app.router.add_post("/api/restart", restart)
    app.router.add_post("/api/callback", callback)
    app.router.add_static("/static/", STATIC)
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the staff web chat.")
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", 8000)))
    parser.add_argument("--rasa", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("RASA_TIMEOUT", 10)))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="web: %(message)s")
    web.run_app(make_app(args.rasa, args.timeout), host=args.host, port=args.port, print=None,
                access_log=None)


if __name__ == "__main__":
    main()
