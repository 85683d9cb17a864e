"""The reviewers' console in headless Chromium, against the real assistant: sign-in, the inbox
and its filters, a transcript with its match metadata, review states, notes, "amend" (a
proposal file in the stack's temporary folder) and "make a test", and insights with charts.

Conversations are real: messages sent to the running assistant's REST channel, stored by
Rasa in the stack's tracker store, which the web server's review console reads.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.browser.conftest import check
from tests.support.assistant import ROOT

ANSWERED = "can i keep my nhs pension if we spin out"
UNANSWERED = "what colour should our mutual logo be"


def say(stack, sender: str, text: str) -> list[dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(stack.rasa_url + "/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def outcome(replies: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r["custom"] for r in replies if isinstance(r.get("custom"), dict)
                and r["custom"].get("kind") not in (None, "feedback_prompt"))


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def convs(stack) -> dict[str, Any]:
    """Two conversations with the assistant: one answered, one it could not answer."""
    tag = secrets.token_hex(3)
    answered, unanswered = f"rvb-answer-{tag}", f"rvb-fallback-{tag}"
    a = outcome(say(stack, answered, ANSWERED))
    f = outcome(say(stack, unanswered, UNANSWERED))
    assert a["kind"] == "answer" and f["kind"] == "fallback", (a, f)
    return {"answered": answered, "unanswered": unanswered, "answer": a}


def sign_in(page, stack, password: str | None = None) -> None:
    page.goto(stack.url + "/review/login")
    page.fill("#username", stack.reviewer_user)
    page.fill("#password", password or stack.reviewer_password)
    page.get_by_role("button", name="Sign in").click()


def open_conversation(page, stack, sender: str) -> None:
    page.goto(stack.url + "/review/conversation?id=" + sender)
    page.wait_for_selector("#turn-0")


def test_review_login_required(new_page, stack):
    page = new_page()
    resp = page.goto(stack.url + "/review")
    assert page.url.startswith(stack.url + "/review/login") and resp.status == 200
    assert page.request.get(stack.url + "/review/insights", max_redirects=0).status == 303
    # The operator's password is not the reviewer's.
    check(page, "review-login")
    sign_in(page, stack, password=stack.operator_password)
    assert page.locator(".govuk-error-summary").is_visible()
    assert "not right" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    check(page, "review-login-error")
    sign_in(page, stack)
    page.wait_for_url(stack.url + "/review")
    assert page.locator("h1").inner_text() == "Conversations"


def test_review_console_switched_off_without_a_login(new_page, stack):
    off = stack.start_web(stack.rasa_url, name="review-off", operator=False)
    try:
        page = new_page()
        resp = page.goto(off.url + "/review")
        assert resp.status == 401 and "REVIEWER_USERNAME" in page.locator("main").inner_text()
        assert page.request.get(off.url + "/review/insights").status == 401
        check(page, "review-off")
    finally:
        off.stop()


def test_review_inbox_filter_and_transcript(new_page, stack, convs):
    page = new_page()
    sign_in(page, stack)
    page.wait_for_url(stack.url + "/review")
    table = page.locator("#inbox-table")
    answered, unanswered = (table.locator(f'a[href$="id={convs[k]}"]') for k in ("answered", "unanswered"))
    assert answered.inner_text() == ANSWERED and unanswered.inner_text() == UNANSWERED
    check(page, "review-inbox")

    page.select_option("#f-outcome", "fallback")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/review?outcome=fallback")
    assert unanswered.count() == 1 and answered.count() == 0
    assert page.locator("#f-outcome").input_value() == "fallback"
    check(page, "review-inbox-filtered")

    page.fill("#save-name", "Unanswered questions")
    page.get_by_role("button", name="Save filter").click()
    banner = page.locator(".govuk-notification-banner")
    banner.wait_for()
    assert "Unanswered questions" in banner.inner_text()
    assert page.locator("#saved-filters").get_by_role("link", name="Unanswered questions").count() == 1
    check(page, "review-inbox-saved")
    page.get_by_role("link", name="Clear filters").click()
    page.wait_for_url(stack.url + "/review")
    page.locator("#saved-filters").get_by_role("link", name="Unanswered questions").click()
    page.wait_for_url("**/review?outcome=fallback")

    # The answered conversation: intent, confidence, entry, score, runner-up, band, kb version.
    page.goto(stack.url + "/review")
    answered.click()
    page.wait_for_selector("#turn-0")
    meta = convs["answer"]["meta"]
    turn = page.locator("#turn-0")
    assert ANSWERED in turn.locator("h3").inner_text()
    assert re.search(r"^\w+ \([01]\.\d\d\)", turn.locator("#t0-row-intent dd").inner_text())
    assert turn.locator("#t0-row-band dd").inner_text() == "Answer"
    assert turn.locator("#t0-row-entry dd").inner_text().startswith(meta["entry_id"])
    assert turn.locator("#t0-row-score dd").inner_text() == f"{meta['score']:.1f}"
    assert turn.locator("#t0-row-runner-up dd").inner_text().startswith(f"{meta['runner_up']['id']} (score ")
    assert turn.locator("#t0-row-kb dd").inner_text() == meta["kb_version"]
    check(page, "review-transcript")
    # Every action form open at once (closed <details> are skipped by the scan).
    for summary in page.locator("#turn-0 details summary").all():
        summary.click()
    assert page.locator("#t0-entry").is_visible() and page.locator("#t0-expect").is_visible()
    check(page, "review-transcript-forms")


def test_review_state_note_amend_and_make_a_test(new_page, stack, convs):
    faq_before = tree_digest(ROOT / "faq")
    eval_before = tree_digest(ROOT / "tests" / "eval")
    page = new_page()
    sign_in(page, stack)
    page.wait_for_url(stack.url + "/review")
    sender = convs["unanswered"]
    open_conversation(page, stack, sender)

    page.select_option("#t0-state", "needs_expert")
    page.get_by_role("button", name="Save state of turn 1").click()
    banner = page.locator(".govuk-notification-banner")
    banner.wait_for()
    assert "Review state saved for turn 1" in banner.inner_text() and "Needs expert" in banner.inner_text()
    assert "Needs expert" in page.locator("#turn-0 h3").inner_text()
    assert "Needs expert" in page.locator("#conversation-state dd").inner_text()
    check(page, "review-transcript-state")

    page.fill("#t0-note", "Branding questions come up weekly: point to the comms team")
    page.get_by_role("button", name="Add note about turn 1").click()
    page.locator(".govuk-notification-banner").wait_for()
    notes = page.locator("#turn-0 .app-notes")
    assert "point to the comms team" in notes.inner_text() and stack.reviewer_user in notes.inner_text()
    check(page, "review-transcript-note")

    # Amend with an entry that does not exist: an error at the field, nothing written.
    proposals_dir = stack.review_dir() / "proposals"
    page.locator("#t0-amend-details summary").click()
    page.fill("#t0-entry", "no-such-entry")
    page.get_by_role("button", name="Propose as an alternate for turn 1").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "No entry 'no-such-entry' in the knowledge base" in summary.inner_text()
    assert page.title().startswith("Error: ")
    assert page.locator("#t0-amend-details").get_attribute("open") is not None
    assert not list(proposals_dir.glob("*.yml"))
    check(page, "review-transcript-error")
    summary.get_by_role("link").click()
    assert page.evaluate("() => document.activeElement.id") == "t0-entry"

    # Amend as another way of asking the entry the other conversation got: a proposal file.
    target = convs["answer"]["meta"]["entry_id"]
    page.fill("#t0-entry", target)
    page.get_by_role("button", name="Propose as an alternate for turn 1").click()
    banner = page.locator(".govuk-notification-banner")
    banner.wait_for()
    [path] = list(proposals_dir.glob("*.yml"))
    text = banner.inner_text()
    assert "Proposal written" in text and str(path) in text and "python -m bot review apply" in text
    data = yaml.safe_load(path.read_text())
    assert data["kind"] == "add_alternate" and data["entry_id"] == target and data["text"] == UNANSWERED
    assert data["reviewer"] == stack.reviewer_user and data["source"]["conversation"] == sender
    check(page, "review-transcript-proposal")

    # Make a test: the evaluation question goes to the stack's copy, the story beside it.
    page.locator("#t0-test-details summary").click()
    assert page.locator("#t0-expect").input_value() == "out_of_scope"
    page.get_by_role("button", name="Make a test from turn 1").click()
    banner = page.locator(".govuk-notification-banner")
    banner.wait_for()
    assert "Test added for turn 1" in banner.inner_text()
    questions = (stack.review_dir() / "questions.yml").read_text()
    assert questions.rstrip().endswith(f'- {{text: "{UNANSWERED}", expect: out_of_scope, split: tune}}  '
                                       f'# review {sender} turn 0')
    story = yaml.safe_load((stack.review_dir() / "review_stories.yml").read_text())["stories"]
    assert story[-1]["story"] == f"review {sender}"
    check(page, "review-transcript-test")

    page.goto(stack.url + "/review?state=needs_expert")
    assert page.locator(f'#inbox-table a[href$="id={sender}"]').inner_text() == UNANSWERED
    assert tree_digest(ROOT / "faq") == faq_before and tree_digest(ROOT / "tests" / "eval") == eval_before


def test_review_insights_charts_and_csv(new_page, stack, convs):
    page = new_page()
    sign_in(page, stack)
    page.wait_for_url(stack.url + "/review")
    page.get_by_role("link", name="Insights").click()
    page.wait_for_url(stack.url + "/review/insights")
    assert page.locator("h1").inner_text() == "Insights"
    page.wait_for_function("() => [...document.images].filter(i => i.closest('.app-chart'))"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    charts = page.locator(".app-chart img")
    assert charts.count() == 4
    for i in range(4):
        assert charts.nth(i).get_attribute("alt").startswith("Bar chart")
    assert int(page.locator("#kpis .govuk-summary-list__row").first.locator("dd").inner_text().replace(",", "")) >= 2
    assert UNANSWERED in page.locator("#unanswered-table").inner_text()
    link = page.locator("#downloads").get_by_role("link", name="unanswered.csv")
    csv_resp = page.request.get(stack.url + link.get_attribute("href"))
    assert csv_resp.status == 200 and csv_resp.headers["content-type"].startswith("text/csv")
    assert UNANSWERED in csv_resp.text()
    check(page, "review-insights")
