"""The staff chat in headless Chromium against the real assistant (Rasa, actions, web server)."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest

from tests.browser.conftest import check, run_axe
from tests.support.stack import dead_port, silent_server

QUESTION = "can I keep my NHS pension if we spin out?"
# One-word questions the assistant was not sure about (it offered choices) with the model of
# 2026-11-23; the knowledge base and model change, so the first that still does is used.
VAGUE = ["contract", "employee ownership", "members", "a contract", "advice", "staff transfer", "pension rights",
         "money", "legal"]
INJECTION = "<img src=x onerror=alert(1)>"


def bot_count(page) -> int:
    return page.locator("#log .app-msg--bot, #log .app-feedback").count()


def wait_reply(page, before: int) -> None:
    """Until the reply is in and the typing status has ended."""
    page.wait_for_function(
        "n => document.querySelectorAll('#log .app-msg--bot, #log .app-feedback').length > n"
        " && document.getElementById('typing').textContent === ''", arg=before, timeout=30_000)


def ask(page, text: str) -> None:
    before = bot_count(page)
    page.fill("#message", text)
    page.press("#message", "Enter")
    wait_reply(page, before)


def open_chat(new_page, url: str, accept_privacy: bool = True):
    page = new_page()
    page.goto(url)
    if accept_privacy:
        page.click("#privacy-accept")
    return page


def restart(page) -> None:
    page.click("#restart")
    page.wait_for_function("() => document.getElementById('typing').textContent.includes('new conversation')")


def conversation_id(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "mutuals_sid").split(".")[0]


def test_first_use_privacy_notice_answer_and_reload(new_page, stack):
    page = new_page()
    page.goto(stack.url)
    banner = page.locator("#privacy-banner")
    assert banner.is_visible() and "privacy notice" in banner.inner_text().lower()
    check(page, "chat-first-use")
    page.click("#privacy-accept")
    assert not banner.is_visible()

    ask(page, QUESTION)
    log = page.locator("#log")
    assert log.locator(".app-msg--user").last.inner_text().endswith(QUESTION)
    answer = log.locator(".app-msg--bot").last
    assert "pension" in answer.inner_text().lower()
    cards = answer.locator(".app-referral")
    assert cards.count() >= 1
    first = cards.first.inner_text()
    assert "When to contact" in first and ("Phone" in first or "Website" in first or "Email" in first)
    sources = answer.locator(".app-sources a")
    assert sources.count() >= 1 and sources.first.get_attribute("href").startswith("http")
    feedback = log.locator(".app-feedback")
    assert "Was this helpful?" in feedback.inner_text()
    assert feedback.get_by_role("button", name="Yes").is_visible()
    assert feedback.get_by_role("button", name="No").is_visible()
    check(page, "chat-answer")

    # A reload keeps the conversation (same server-issued id) and no privacy notice again.
    sid = conversation_id(page)
    page.reload()
    page.wait_for_selector("#log .app-msg--bot .app-referral")
    assert conversation_id(page) == sid
    assert not banner.is_visible()
    assert page.locator("#log .app-msg--user").first.inner_text().endswith(QUESTION)
    assert page.locator("#log .app-feedback button").count() == 2  # still the latest reply: still usable
    page.locator("#log .app-feedback").get_by_role("button", name="Yes").click()
    wait_reply(page, 1)
    assert "Thanks for letting us know" in page.locator("#log .app-msg--bot").last.inner_text()


def test_clarify_buttons(new_page, stack):
    page = open_chat(new_page, stack.url)
    for text in VAGUE:
        ask(page, text)
        if page.locator("#log .app-quick-replies button").count() >= 2:
            break
        restart(page)
    else:
        pytest.fail(f"none of {VAGUE} made the assistant offer choices")
    buttons = page.locator("#log .app-quick-replies button")
    assert buttons.last.inner_text() == "None of these"
    check(page, "chat-clarify")
    choice = buttons.first.inner_text()
    before = bot_count(page)
    buttons.first.click()
    wait_reply(page, before)
    assert page.locator("#log .app-msg--user").last.inner_text().endswith(choice)
    assert page.locator("#log .app-quick-replies").count() == 0  # old choices are gone
    assert page.locator("#log .app-msg--bot .app-referral").count() >= 1  # the chosen answer


def test_feedback_no_with_comment(new_page, stack):
    page = open_chat(new_page, stack.url)
    ask(page, QUESTION)
    page.locator("#log .app-feedback").get_by_role("button", name="No").click()
    comment = page.get_by_label("What were you looking for? (optional)")
    assert comment.is_visible() and comment.evaluate("el => el === document.activeElement")
    check(page, "chat-feedback-comment")
    comment.fill("I am in the LGPS, not the NHS scheme. Email me at sam@example.org")
    before = bot_count(page)
    page.get_by_role("button", name="Send feedback").click()
    wait_reply(page, before - 1)  # the feedback box was replaced by the user's answer
    assert "Comment: I am in the LGPS" in page.locator("#log .app-msg--user").last.inner_text()
    assert "Sorry that didn't help" in page.locator("#log .app-msg--bot").last.inner_text()
    check(page, "chat-feedback-sent")

    # The "No" is in the conversation log (Rasa's tracker) with the answer it was about ...
    sid = conversation_id(page)
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sid,)).fetchall()
    intents = [json.loads(r[0])["parse_data"]["intent"]["name"] for r in rows]
    assert intents[-1] == "feedback_not_helpful"
    # ... and the comment, redacted, in the reviewers' log with the conversation id and entry.
    with sqlite3.connect(stack.web.data / "operator.db") as db:
        stored = db.execute("SELECT conversation, entry_id, comment FROM answer_comments").fetchall()
    assert (sid, stored[-1][1], "I am in the LGPS, not the NHS scheme. Email me at [email]") == stored[-1]
    assert stored[-1][1]  # the entry the "No" was about
    # A reload shows the "No" with its comment, as stored.
    page.reload()
    page.wait_for_selector("#log .app-msg--user >> nth=1")
    assert "Comment: I am in the LGPS, not the NHS scheme. Email me at [email]" in \
        page.locator("#log .app-msg--user").last.inner_text()


def test_start_again(new_page, stack):
    page = open_chat(new_page, stack.url)
    ask(page, QUESTION)
    sid = conversation_id(page)
    restart(page)
    assert page.locator("#log .app-msg").count() == 0 and page.locator("#log-empty").is_visible()
    assert conversation_id(page) != sid
    assert page.evaluate("() => document.activeElement.id") == "message"
    check(page, "chat-restarted")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.locator("#log .app-msg").count() == 0


def test_html_is_shown_as_text(new_page, stack):
    page = open_chat(new_page, stack.url)
    ask(page, INJECTION)
    assert page.locator("#log .app-msg--user").last.locator(".app-msg__text").inner_text() == INJECTION
    assert page.locator("#log img").count() == 0
    assert page.evaluate("() => document.querySelectorAll('img[src=x]').length") == 0
    check(page, "chat-injection")
    page.reload()  # the transcript is rendered as text too
    page.wait_for_selector("#log .app-msg--user")
    assert page.locator("#log .app-msg--user").first.locator(".app-msg__text").inner_text() == INJECTION
    assert page.locator("#log img").count() == 0
    assert not page.watch.dialogs


def test_keyboard_only(new_page, stack):
    page = new_page()
    page.goto(stack.url)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to main content"

    def tab_to(predicate: str, shift: bool = False, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Shift+Tab" if shift else "Tab")
            if page.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({predicate}); }}"):
                return
        pytest.fail(f"could not reach {predicate} with the keyboard")

    tab_to("el.id === 'privacy-accept'")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "message"
    page.keyboard.type(QUESTION)
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_reply(page, before)
    tab_to("el.textContent === 'Yes'", shift=True)
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_reply(page, before - 1)
    assert "Thanks for letting us know" in page.locator("#log .app-msg--bot").last.inner_text()
    tab_to("el.id === 'show-callback'")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "callback-heading"
    tab_to("el.id === 'callback-submit'")
    page.keyboard.press("Enter")
    page.wait_for_selector("#callback-errors:not([hidden])")
    assert page.evaluate("() => document.activeElement.id") == "callback-errors"


def test_callback_request_validation_and_confirmation(new_page, stack):
    page = open_chat(new_page, stack.url)
    page.click("#show-callback")
    assert page.locator("#callback").is_visible()
    check(page, "chat-callback-form")
    page.click("#callback-submit")
    summary = page.locator("#callback-errors")
    summary.wait_for(state="visible")
    assert page.evaluate("() => document.activeElement.id") == "callback-errors"
    assert page.title().startswith("Error: ")
    assert summary.locator("li").count() == 5
    assert page.locator("#cb-name-error").text_content() == "Error: Enter your name"
    check(page, "chat-callback-errors")
    summary.locator("a").first.click()
    assert page.evaluate("() => document.activeElement.id") == "cb-name"

    page.fill("#cb-name", "Robin Tester")
    page.fill("#cb-contact", "not a number")
    page.check("#cb-preferred_time-2")
    page.fill("#cb-about", "Pensions for our new social enterprise")
    page.check("#cb-consent")
    page.click("#callback-submit")
    page.wait_for_function("() => document.getElementById('callback-error-list').children.length === 1")
    assert "UK phone number" in summary.inner_text()
    page.fill("#cb-contact", "01632 960 001")
    page.click("#callback-submit")
    page.wait_for_selector("#callback-done:not([hidden])")
    assert page.locator("#callback-done-title").inner_text() == "Callback requested"
    assert page.locator("#callback-ref").inner_text().isdigit()
    assert not page.title().startswith("Error")
    check(page, "chat-callback-done")


def test_privacy_page(new_page, stack):
    page = new_page()
    page.goto(stack.url + "/privacy")
    assert page.locator("h1").inner_text() == "Privacy notice"
    check(page, "privacy-page")


def test_assistant_down_or_slow_says_so_with_the_phone_number(new_page, stack):
    down = stack.start_web(dead_port(), name="down", operator=False, timeout=3)
    try:
        page = open_chat(new_page, down.url)
        ask(page, QUESTION)
        warning = page.locator("#log .app-msg--bot .govuk-warning-text").last
        assert "isn't responding" in warning.inner_text() and "0306 999 0123" in warning.inner_text()
        assert warning.locator("a[href^='tel:']").count() == 1
        check(page, "chat-unavailable")
        # With no login set up, the operator console answers 401 and says how to switch it on.
        off = new_page()
        resp = off.goto(down.url + "/operator")
        assert resp.status == 401 and "switched off" in off.locator("h1").inner_text()
        check(off, "operator-off")
    finally:
        down.stop()

    sock, url = silent_server()  # accepts the connection, never answers
    slow = stack.start_web(url, name="slow", operator=False, timeout=30, client_timeout_ms=2500)
    try:
        page = open_chat(new_page, slow.url)
        started = time.time()
        page.fill("#message", QUESTION)
        page.press("#message", "Enter")
        page.wait_for_function("() => document.getElementById('typing').textContent.length > 0")
        wait_reply(page, 0)
        assert time.time() - started < 10  # the browser gave up at 2.5 s; no endless spinner
        assert "isn't responding" in page.locator("#log .app-msg--bot").last.inner_text()
    finally:
        slow.stop()
        sock.close()


def test_the_accessibility_scan_does_find_problems(new_page, stack):
    """The scan is live: an image without a text alternative is reported as critical."""
    page = new_page()
    page.goto(stack.url + "/privacy")
    page.evaluate("() => { const i = document.createElement('img'); i.src = '/assets/images/favicon.svg';"
                  " document.querySelector('main').appendChild(i); }")
    found = {v["id"]: v["impact"] for v in run_axe(page)["violations"]}
    assert found.get("image-alt") == "critical"
