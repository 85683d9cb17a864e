"""The web chat server against a stand-in Rasa: server-issued ids, input rules, button
payloads, Rasa down or slow, and callback requests (validation and durable storage)."""
from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import callbacks
from bot.web import guard
from bot.web.server import COOKIE, make_app


@pytest.fixture(autouse=True)
def fixture_faq(monkeypatch):
    from pathlib import Path

    from bot import kb, settings
    monkeypatch.setattr(settings, "FAQ_DIR", Path(__file__).parent / "fixtures" / "kb_valid")
    kb._CACHE.clear()
    yield
    kb._CACHE.clear()


class FakeRasa:
    """Records what reached Rasa; answers with one button so payload rules can be tested."""

    def __init__(self, delay: float = 0.0):
        self.received: list[dict] = []
        self.delay = delay

    def app(self) -> web.Application:
        async def webhook(request: web.Request) -> web.Response:
            body = await request.json()
            self.received.append(body)
            await asyncio.sleep(self.delay)
            return web.json_response([{"recipient_id": body["sender"], "text": "ok",
                                       "buttons": [{"title": "Yes", "payload": "/feedback_helpful"}]}])
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", webhook)
        return app


def run_with(fake: FakeRasa | None, scenario, tmp_path, timeout: float = 5.0):
    async def main():
        rasa_server = TestServer(fake.app()) if fake else None
        if rasa_server:
            await rasa_server.start_server()
        url = str(rasa_server.make_url("")) if rasa_server else "http://127.0.0.1:9"
        client = TestClient(TestServer(make_app(url, timeout, tmp_path / "cb.db")))
        await client.start_server()
        try:
            await scenario(client)
        finally:
            await client.close()
            if rasa_server:
                await rasa_server.close()
    asyncio.run(main())


def test_sender_id_is_issued_by_the_server_and_kept(tmp_path):
    fake = FakeRasa()

    async def scenario(client):
        r1 = await client.post("/api/chat", json={"message": "hello"})
        sid = r1.cookies[COOKIE].value
        assert guard.valid_sender_id(sid)
        await client.post("/api/chat", json={"message": "again"})
        assert [m["sender"] for m in fake.received] == [sid, sid]
        await client.post("/api/restart")
        await client.post("/api/chat", json={"message": "new"})
        assert fake.received[-1]["sender"] != sid

    run_with(fake, scenario, tmp_path)


def test_empty_long_and_typed_intents(tmp_path):
    fake = FakeRasa()

    async def scenario(client):
        empty = await (await client.post("/api/chat", json={"message": "   "})).json()
        assert "Please type a question" in empty["messages"][0]["text"]
        long = await (await client.post("/api/chat", json={"message": "x" * 5000})).json()
        assert "5000 characters" in long["messages"][0]["text"]
        assert fake.received == []
        await client.post("/api/chat", json={"message": '/choose_entry{"entry_id": "x"}'})
        assert fake.received[-1]["message"] == 'choose_entry{"entry_id": "x"}'
        bad = await client.post("/api/chat", data="not json")
        assert bad.status == 200

    run_with(fake, scenario, tmp_path)


def test_only_offered_payloads_pass_as_payloads(tmp_path):
    fake = FakeRasa()

    async def scenario(client):
        await client.post("/api/chat", json={"payload": "/restart"})
        assert fake.received == []  # nothing was offered yet: treated as (empty) text
        await client.post("/api/chat", json={"message": "hi"})
        await client.post("/api/chat", json={"payload": "/feedback_helpful"})
        assert fake.received[-1]["message"] == "/feedback_helpful"

    run_with(fake, scenario, tmp_path)


def test_rasa_down_or_slow_gives_the_phone_number(tmp_path):
    async def scenario(client):
        data = await (await client.post("/api/chat", json={"message": "hello"})).json()
        assert data["messages"][0]["custom"]["kind"] == "unavailable"
        assert data["messages"][0]["custom"]["phone"] in data["messages"][0]["text"]

    run_with(None, scenario, tmp_path)
    run_with(FakeRasa(delay=3), scenario, tmp_path, timeout=0.5)


def test_callback_request_validated_and_stored(tmp_path):
    async def scenario(client):
        bad = await client.post("/api/callback", json={"name": "", "contact": "nope", "consent": False})
        assert bad.status == 422
        errors = (await bad.json())["errors"]
        assert set(errors) == {"name", "contact", "preferred_time", "about", "consent"}
        good = await client.post("/api/callback", json={
            "name": "Sam", "contact": "01632 960 001", "preferred_time": "morning",
            "about": "LGPS admission for our new CIC", "consent": True})
        assert good.status == 200 and "reference" in (await good.json())["message"]

    run_with(FakeRasa(), scenario, tmp_path)
    stored = callbacks.CallbackStore(tmp_path / "cb.db").list()
    assert [(r["name"], r["preferred_time"], r["done"]) for r in stored] == [("Sam", "morning", 0)]
    store = callbacks.CallbackStore(tmp_path / "cb.db")
    assert store.mark_done(stored[0]["id"]) and store.list() == []


def test_callback_validation_rules():
    ok, errors = callbacks.validate({"name": "A", "contact": "a@b.org", "preferred_time": "any",
                                     "about": "x", "consent": "yes"})
    assert ok and not errors
    _, errors = callbacks.validate({"name": "A", "contact": "12", "preferred_time": "never",
                                    "about": "x" * 501, "consent": "yes"})
    assert set(errors) == {"contact", "preferred_time", "about"}
    assert json.dumps(errors)
