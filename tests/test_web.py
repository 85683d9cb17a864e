"""The web server against a stand-in Rasa: server-issued ids, input rules, button payloads,
Rasa down or slow, callback requests (validation and durable storage), transcripts and
feedback comments, security headers, and the operator console's login, search, verdicts and
callback queue. The real assistant in a real browser is tests/browser/."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import callbacks, kb
from bot.web import guard
from bot.web.server import COOKIE, make_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fixture_faq(monkeypatch):
    from pathlib import Path

    from bot import kb, settings
    monkeypatch.setattr(settings, "FAQ_DIR", Path(__file__).parent / "fixtures" / "kb_valid")
    kb._CACHE.clear()
    yield
    kb._CACHE.clear()


class FakeRasa:
    """Records what reached Rasa and, like Rasa, stores the conversation in an ``events`` table;
    answers with feedback buttons so payload rules can be tested."""

    def __init__(self, delay: float = 0.0, reply: list[dict] | None = None):
        self.received: list[dict] = []
        self.delay = delay
        self.reply = reply
        self.tracker: Path | None = None

    def _store(self, sender: str, events: list[dict]) -> None:
        if self.tracker is None:
            return
        with sqlite3.connect(self.tracker) as db:
            db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, "
                       "timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)")
            for e in events:
                db.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?,?,?,?)",
                           (sender, e["event"], e["timestamp"], json.dumps(e)))

    def app(self) -> web.Application:
        async def webhook(request: web.Request) -> web.Response:
            body = await request.json()
            self.received.append(body)
            await asyncio.sleep(self.delay)
            reply = self.reply if self.reply is not None else [
                {"recipient_id": body["sender"], "text": "ok",
                 "buttons": [{"title": "Yes", "payload": "/feedback_helpful"},
                             {"title": "No", "payload": "/feedback_not_helpful"}]},
                {"recipient_id": body["sender"], "custom": {"kind": "feedback_prompt", "entry_id": "pensions-sample"}}]
            now = time.time()
            events = [{"event": "user", "timestamp": now, "text": body["message"]}]
            events += [{"event": "bot", "timestamp": now, "text": m.get("text"),
                        "data": {"buttons": m.get("buttons"), "custom": m.get("custom")}} for m in reply]
            self._store(body["sender"], events)
            return web.json_response(reply)
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", webhook)
        return app


def run_with(fake: FakeRasa | None, scenario, tmp_path, timeout: float = 5.0, credentials=None):
    async def main():
        rasa_server = TestServer(fake.app()) if fake else None
        if rasa_server:
            fake.tracker = tmp_path / "tracker.db"
            await rasa_server.start_server()
        url = str(rasa_server.make_url("")) if rasa_server else "http://127.0.0.1:9"
        app = make_app(url, timeout, tmp_path / "cb.db", credentials=credentials,
                       tracker_url=f"sqlite:///{tmp_path / 'tracker.db'}")
        client = TestClient(TestServer(app))
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
        sid = guard.sender_from_cookie(r1.cookies[COOKIE].value, guard.conversation_key())
        assert sid and guard.valid_sender_id(sid)
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


# ---- reply grouping, transcripts, feedback comments ---------------------------------------

def test_rest_channel_splits_are_put_back_together():
    from bot.web.server import regroup

    split = [
        {"recipient_id": "x", "text": "Hello."},  # a plain response stays on its own
        {"recipient_id": "x", "text": "The answer."},
        {"recipient_id": "x", "text": "A caveat."},
        {"recipient_id": "x", "text": "Who can help: someone"},
        {"recipient_id": "x", "custom": {"kind": "answer", "answer": "The answer."}},
        {"recipient_id": "x", "text": "Did that answer your question?",
         "buttons": [{"title": "Yes, thanks", "payload": "/feedback_helpful"}]},
        {"recipient_id": "x", "custom": {"kind": "feedback_prompt"}},
    ]
    out = regroup(split)
    assert [m.get("custom", {}).get("kind") for m in out] == [None, "answer", "feedback_prompt"]
    assert out[0] == {"text": "Hello."}
    assert out[1]["text"] == "The answer.\n\nA caveat.\n\nWho can help: someone"
    assert out[2]["buttons"][0]["payload"] == "/feedback_helpful"
    assert regroup([{"custom": {"kind": "restarted"}}]) == [{"text": "", "custom": {"kind": "restarted"}}]


def test_history_from_the_tracker_and_comment_stored_for_reviewers(tmp_path):
    fake = FakeRasa()

    async def scenario(client):
        assert (await (await client.get("/api/history")).json()) == {"turns": []}
        first = await (await client.post("/api/chat", json={"message": "call me on 07700 900123 about pensions"})).json()
        assert first["stored_as"] == "call me on [phone number] about pensions"
        # "No" with a comment: the "No" goes to Rasa; the comment (redacted) to the reviewers' log.
        no = await (await client.post("/api/chat", json={"payload": "/feedback_not_helpful",
                                                          "comment": "  wanted  LGPS, mail me@example.org\x00 "})).json()
        assert "stored_as" not in no
        assert fake.received[-1] == {"sender": fake.received[0]["sender"], "message": "/feedback_not_helpful"}
        turns = (await (await client.get("/api/history")).json())["turns"]
        assert [t["role"] for t in turns] == ["user", "bot", "user", "bot"]
        assert turns[0] == {"role": "user", "text": "call me on 07700 900123 about pensions"}  # FakeRasa does not redact
        assert turns[1]["messages"][0]["buttons"][1]["payload"] == "/feedback_not_helpful"
        assert turns[1]["messages"][1]["custom"]["kind"] == "feedback_prompt"
        assert turns[2] == {"role": "user", "text": "No", "comment": "wanted LGPS, mail [email]"}
        # A comment with any other payload is not kept.
        await client.post("/api/chat", json={"payload": "/feedback_helpful", "comment": "ignored"})

    run_with(fake, scenario, tmp_path)
    from bot.operator_log import OperatorLog
    stored = OperatorLog(tmp_path / "operator.db").comments()
    assert [(c["entry_id"], c["comment"]) for c in stored] == [("pensions-sample", "wanted LGPS, mail [email]")]
    assert guard.valid_sender_id(stored[0]["conversation"])


def test_offered_buttons_survive_a_restart_of_the_web_server(tmp_path):
    fake = FakeRasa()
    seen: dict[str, str] = {}

    async def first(client):
        resp = await client.post("/api/chat", json={"message": "hello"})
        seen["sid"] = resp.cookies[COOKIE].value

    run_with(fake, first, tmp_path)

    async def second(client):
        client.session.cookie_jar.update_cookies({COOKIE: seen["sid"]})
        await client.post("/api/chat", json={"payload": "/feedback_helpful"})
        assert fake.received[-1]["message"] == "/feedback_helpful"

    run_with(fake, second, tmp_path)


def test_stale_buttons_are_refused(tmp_path):
    fake = FakeRasa()

    async def scenario(client):
        await client.post("/api/chat", json={"message": "first"})
        await client.post("/api/chat", json={"message": "second"})
        fake.reply = [{"text": "no buttons now"}]
        await client.post("/api/chat", json={"message": "third"})
        stale = await (await client.post("/api/chat", json={"payload": "/feedback_helpful"})).json()
        assert stale["messages"][0]["custom"]["kind"] == "input_error"
        assert [m["message"] for m in fake.received] == ["first", "second", "third"]

    run_with(fake, scenario, tmp_path)


def test_pages_assets_and_security_headers(tmp_path, monkeypatch):
    monkeypatch.delenv("LOG_RETENTION_DAYS", raising=False)
    async def scenario(client):
        page = await client.get("/")
        html = await page.text()
        assert page.status == 200 and 'role="log"' in html and "0306 999 0123" in html
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        css = await client.get("/assets/govuk-frontend.min.css")
        text = await css.text()
        assert css.status == 200 and ".govuk-button" in text and "@font-face" not in text
        js = await client.get("/assets/govuk-frontend.min.js")
        assert js.status == 200 and "initAll" in await js.text()
        assert (await client.get("/assets/images/favicon.svg")).status == 200
        assert (await client.get("/static/chat.js")).status == 200
        privacy = await client.get("/privacy")
        assert privacy.status == 200 and "deleted 90 days after" in await privacy.text()
        missing = await client.get("/nope")
        assert missing.status == 404 and "Content-Security-Policy" in missing.headers

    run_with(FakeRasa(), scenario, tmp_path)


def test_page_escapes_configured_contact_details(tmp_path, monkeypatch):
    from bot import settings
    monkeypatch.setattr(settings, "LINE_PHONE", '0306 999 0123"><script>x</script>')

    async def scenario(client):
        html = await (await client.get("/")).text()
        assert "<script>x</script>" not in html and "&lt;script&gt;" in html

    run_with(FakeRasa(), scenario, tmp_path)


# ---- operator console ---------------------------------------------------------------------

def creds():
    from bot.web import auth
    return auth.Credentials.from_password("op", "correct horse battery")


async def sign_in(client, password="correct horse battery"):
    return await client.post("/operator/login", data={"username": "op", "password": password, "next": "/operator"},
                             allow_redirects=False)


def csrf_of(html: str) -> str:
    import re
    return re.search(r'data-csrf="([^"]+)"', html).group(1)


def test_operator_console_off_without_credentials(tmp_path):
    async def scenario(client):
        for path in ("/operator", "/operator/login", "/operator/queue", "/operator/api/search?q=pension"):
            resp = await client.get(path, allow_redirects=False)
            assert resp.status == 401, path
        page = await (await client.get("/operator")).text()
        assert "OPERATOR_USERNAME" in page and "switched off" in page
        assert (await client.post("/operator/login", data={"username": "x", "password": "y"})).status == 401

    run_with(FakeRasa(), scenario, tmp_path, credentials=None)


def test_operator_login_required_and_csrf(tmp_path):
    async def scenario(client):
        resp = await client.get("/operator", allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/operator/login")
        assert (await client.get("/operator/api/search?q=pension")).status == 401
        bad = await sign_in(client, "wrong")
        assert bad.status == 401 and "not right" in await bad.text()
        good = await sign_in(client)
        assert good.status == 303 and good.headers["Location"] == "/operator"
        cookie = good.cookies["mutuals_op"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/operator"
        console = await client.get("/operator")
        assert console.status == 200
        token = csrf_of(await console.text())
        body = {"query": "nhs pension", "entry_id": "pensions-sample", "verdict": "used"}
        assert (await client.post("/operator/api/verdict", json=body)).status == 403
        assert (await client.post("/operator/api/verdict", json=body,
                                  headers={"X-CSRF-Token": token, "Origin": "http://evil.example"})).status == 403
        ok = await client.post("/operator/api/verdict", json=body, headers={"X-CSRF-Token": token})
        assert ok.status == 200
        redacted = {**body, "query": "nhs pension for sam@example.org", "verdict": "not_right"}
        assert (await client.post("/operator/api/verdict", json=redacted, headers={"X-CSRF-Token": token})).status == 200
        bad = {**body, "entry_id": "no-such-entry"}
        assert (await client.post("/operator/api/verdict", json=bad, headers={"X-CSRF-Token": token})).status == 422
        out = await client.post("/operator/logout", data={"csrf": token}, allow_redirects=False)
        assert out.status == 303
        assert (await client.get("/operator/api/search?q=x")).status == 401

    run_with(FakeRasa(), scenario, tmp_path, credentials=creds())
    from bot.operator_log import OperatorLog
    rows = OperatorLog(tmp_path / "operator.db").recent()
    assert [(r["operator"], r["query"], r["entry_id"], r["verdict"], r["rank"]) for r in rows] == \
        [("op", "nhs pension for [email]", "pensions-sample", "not_right", 1),
         ("op", "nhs pension", "pensions-sample", "used", 1)]


def test_operator_login_throttled(tmp_path):
    async def scenario(client):
        for _ in range(5):
            assert (await sign_in(client, "nope")).status == 401
        assert (await sign_in(client)).status == 429

    run_with(FakeRasa(), scenario, tmp_path, credentials=creds())


def test_operator_search_bands_filters_and_card(tmp_path):
    async def scenario(client):
        await sign_in(client)
        data = await (await client.get("/operator/api/search", params={"q": "keep my NHS pension"})).json()
        top = data["results"][0]
        assert top["id"] == "pensions-sample" and top["band"] == "answer" and top["band_label"] == "Strong match"
        assert len(data["results"]) <= 5
        card = top["card"]
        assert card["say"] and card["ask"] and card["referrals"][0]["name"] and card["sources"][0]["url"]
        assert card["last_reviewed"] and card["review_due"]
        # The pensions entry is limited to the NHS: a local-government filter leaves it out.
        filtered = await (await client.get("/operator/api/search",
                                           params={"q": "keep my NHS pension", "sector": "local_government"})).json()
        assert "pensions-sample" not in [r["id"] for r in filtered["results"]]
        junk = await (await client.get("/operator/api/search", params={"q": "pension", "sector": "<b>"})).json()
        assert junk["results"]
        assert (await (await client.get("/operator/api/search", params={"q": "  "})).json())["results"] == []

    run_with(FakeRasa(), scenario, tmp_path, credentials=creds())


def test_operator_card_lists_the_entry_versions_for_other_contexts():
    """An operator whose caller turns out to be at the council sees which entry answers then."""
    from bot.web.operator import card

    base = kb.load(ROOT / "faq")
    versions = card(base, base.entries["pensions-nhs-keep-nhsps"])["versions"]
    council = next(v for v in versions if v["id"] == "pensions-lgps-keep-council-pension")
    assert council["for"] == "Local government or Local Government Pension Scheme"
    assert council["question"] == base.entries[council["id"]].question
    assert len({v["id"] for v in versions}) == len(versions)  # one line per entry
    assert card(base, base.entries["tupe-what-is-tupe"])["versions"] == []


def test_operator_queue_shows_requests_and_marks_done(tmp_path):
    async def scenario(client):
        await client.post("/api/callback", json={
            "name": "Sam <b>", "contact": "sam@example.org", "preferred_time": "any",
            "about": "Pensions for our CIC", "consent": True})
        await sign_in(client)
        page = await (await client.get("/operator/queue")).text()
        assert "Sam &lt;b&gt;" in page and "Pensions for our CIC" in page and "1 request waiting" in page
        token = csrf_of(await (await client.get("/operator")).text())
        assert (await client.post("/operator/queue/1/done", data={"csrf": "bad"})).status == 403
        done = await client.post("/operator/queue/1/done", data={"csrf": token}, allow_redirects=False)
        assert done.status == 303
        after = await (await client.get("/operator/queue?done=1")).text()
        assert "Request 1 is marked as done" in after and "0 requests waiting" in after
        queue = await (await client.get("/operator/api/queue?all=1")).json()
        assert queue["requests"][0]["done"] == 1 and queue["requests"][0]["done_by"] == "op"
        assert (await client.post("/operator/queue/99/done", data={"csrf": token})).status == 404

    run_with(FakeRasa(), scenario, tmp_path, credentials=creds())


def test_credentials_from_environment_and_file(tmp_path):
    from bot.web import auth

    none = auth.Credentials.from_environment({}, tmp_path / "missing.env")
    assert none is None
    env = auth.Credentials.from_environment({"OPERATOR_USERNAME": "a", "OPERATOR_PASSWORD": "pw"}, tmp_path / "x")
    assert env.verify("a", "pw") and not env.verify("a", "PW") and not env.verify("b", "pw")
    hashed = auth.hash_password("s3cret", iterations=1000)
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f"# operator\nOPERATOR_USERNAME='b'\nexport OPERATOR_PASSWORD_HASH={hashed}\n")
    from_file = auth.Credentials.from_environment({}, secrets_file)
    assert from_file.username == "b" and from_file.verify("b", "s3cret")
    with pytest.raises(auth.ConfigError):
        auth.Credentials.from_environment({"OPERATOR_USERNAME": "a"}, tmp_path / "x")
    with pytest.raises(auth.ConfigError):
        auth.Credentials.from_environment({"OPERATOR_USERNAME": "a", "OPERATOR_PASSWORD_HASH": "md5$x"}, tmp_path / "x")
    assert auth.safe_next("//evil.example") == "/operator" and auth.safe_next("/operator/queue") == "/operator/queue"


def test_a_forged_or_foreign_cookie_never_reaches_another_conversation(tmp_path):
    fake = FakeRasa()
    victim = "0123456789abcdef0123456789abcdef"

    async def scenario(client):
        for forged in (victim, f"{victim}.{'0' * 32}", f"{victim}.", "../../etc", "x" * 5000):
            client.session.cookie_jar.clear()
            resp = await client.post("/api/chat", json={"message": "hello", "sender": victim},
                                     headers={"Cookie": f"{COOKIE}={forged}"})
            assert resp.status == 200
            issued = resp.cookies[COOKIE].value
            assert guard.sender_from_cookie(issued, guard.conversation_key()) not in (None, victim)
        client.session.cookie_jar.clear()
        history = await client.get("/api/history", headers={"Cookie": f"{COOKIE}={victim}"})
        assert (await history.json())["turns"] == []

    run_with(fake, scenario, tmp_path)
    assert victim not in {m["sender"] for m in fake.received}


def test_a_request_that_trickles_its_body_is_cut_off(tmp_path, monkeypatch):
    """A client that never finishes sending its body gets 408, not a worker held for ever."""
    import asyncio

    from bot.web import server

    monkeypatch.setattr(server, "REQUEST_TIME_LIMIT", 0.5)
    fake = FakeRasa()

    async def scenario(client):
        async def trickle():
            yield b'{"message": "hel'
            await asyncio.sleep(3)
            yield b'lo"}'

        resp = await client.post("/api/chat", data=trickle(), headers={"Content-Type": "application/json"})
        assert resp.status == 408

    run_with(fake, scenario, tmp_path)
