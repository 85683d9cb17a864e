"""The reviewers' console (``/review``): the inbox of conversations with filters and saved
filters, each conversation turn by turn with its match metadata and the reviewer's actions,
and insights with charts and CSV downloads.

Everything here is a thin page over ``bot.review`` (the same functions as ``python -m bot
review``), on the tracker store the web server already reads (``TRACKER_DB_URL``): the summary
index is brought up to date before each page, states and notes go to the review tables,
"amend" writes a proposal file (``var/review/proposals/``; nothing edits ``faq/`` until a
person runs ``python -m bot review apply``), and "make a test" appends to the evaluation set
and the review stories. It needs a signed-in reviewer: ``REVIEWER_USERNAME`` with
``REVIEWER_PASSWORD`` or ``REVIEWER_PASSWORD_HASH`` (``auth.py``); without them every
``/review`` address answers 401. Pages are rendered server-side with escaped values only
(``pages.py``) and need no script of their own; every POST carries the session's CSRF token.
"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlencode

import sqlalchemy as sa
from aiohttp import web

from .. import kb as kb_module
from .. import settings
from ..kb import TOPICS, KnowledgeBaseError
from ..review import db as rdb
from ..review import export_tests, index, inbox, insights, marks, proposals, transcript
from ..review.inbox import Filters
from . import auth, pages
from .pages import Html, NavItem, esc

BASE = "/review"
COOKIE = "mutuals_review"
SERVICE = "Mutuals information line: reviewers"
TITLE = "Mutuals information line reviewers"
MAX_NOTE = 4000
MAX_TEXT = 200
CHART_CACHE_KEEP = 20  # insight folders (charts + CSV) kept in the cache
CHARTS = {
    "volume.png": "Volume per day",
    "outcomes.png": "Outcomes",
    "topics.png": "Topic mix",
    "feedback.png": "Feedback, handoffs and operator marks",
}
CHART_CAPTIONS = {
    "volume.png": "Conversations (bars) and user messages (line) per UTC day",
    "outcomes.png": "What happened to the questions, as a share of all questions",
    "topics.png": "Questions per topic (the same figures as the table below)",
    "feedback.png": "Helpful and not helpful answers, conversations with a handoff or a callback request, "
                    "and operators' \u201cNot right\u201d marks",
}
CSV_FILES = ("kpis.csv", "per_day.csv", "topics.csv", "unanswered.csv", "operator_marks.csv")
STATE_TAGS = {"new": "govuk-tag--blue", "needs_expert": "govuk-tag--orange", "done": "govuk-tag--green",
              "ignored": "govuk-tag--grey"}
OUTCOME_LABELS = {"answered": "Answered", "clarified": "Clarified", "fallback": "Fallback", "declined": "Declined"}
KIND_LABELS = {
    "answer": "Answered", "clarify": "Clarified (offered choices)", "fallback": "Fallback (did not know)",
    "declined": "Declined (out of scope)", "handoff": "Asked for a person", "feedback_ack": "Feedback",
    "restarted": "Started again", "smalltalk": "Small talk", "input_error": "Input refused",
}
BAND_LABELS = {"answer": "Answer", "clarify": "Clarify", "unknown": "Unknown", "declined": "Declined",
               "handoff": "Handoff", "feedback": "Feedback"}


# ---- configuration and shared state ----------------------------------------------------------

def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


@dataclass
class Config:
    """Where the console reads and writes. ``None`` paths mean the CLI's defaults (``faq_dir``:
    ``settings.FAQ_DIR`` at the time of the request)."""

    tracker_url: str
    callbacks_db: Path | None = None
    operator_db: Path | None = None
    faq_dir: Path | None = None
    proposals_dir: Path = proposals.PROPOSALS_DIR
    questions: Path = export_tests.QUESTIONS
    stories: Path = export_tests.STORIES
    cache_dir: Path = settings.ROOT / "var" / "review" / "cache"
    per_page: int = inbox.PER_PAGE

    @classmethod
    def from_environment(cls, tracker_url: str, callbacks_db: Path | None = None, operator_db: Path | None = None,
                         cache_dir: Path | None = None) -> "Config":
        """``REVIEW_PROPOSALS_DIR``, ``REVIEW_QUESTIONS``, ``REVIEW_STORIES`` and ``REVIEW_CACHE_DIR``
        move the proposal folder, the evaluation questions, the story file and the chart cache."""
        return cls(tracker_url, callbacks_db, operator_db,
                   proposals_dir=_env_path("REVIEW_PROPOSALS_DIR") or proposals.PROPOSALS_DIR,
                   questions=_env_path("REVIEW_QUESTIONS") or export_tests.QUESTIONS,
                   stories=_env_path("REVIEW_STORIES") or export_tests.STORIES,
                   cache_dir=_env_path("REVIEW_CACHE_DIR") or cache_dir or settings.ROOT / "var" / "review" / "cache")

    @property
    def faq(self) -> Path:
        return Path(self.faq_dir or settings.FAQ_DIR)


class Console:
    """The review database (opened on first use) and the locks around shared work."""

    def __init__(self, config: Config):
        self.config = config
        self._db: rdb.ReviewDB | None = None
        self._open = threading.Lock()
        self._refresh = threading.Lock()
        self._refreshed_from = 0.0  # start time of the latest finished refresh
        self._charts = threading.Lock()  # matplotlib's pyplot is not thread-safe

    @property
    def db(self) -> rdb.ReviewDB:
        with self._open:
            if self._db is None:
                self._db = rdb.ReviewDB(self.config.tracker_url)
            return self._db

    def refresh(self, asked: float) -> None:
        """Bring the index up to date, unless a refresh that started after ``asked`` already did."""
        with self._refresh:
            if self._refreshed_from >= asked:
                return
            started = time.monotonic()
            cb = self.config.callbacks_db
            index.refresh(self.db, cb if cb and cb.exists() else None)
            self._refreshed_from = started

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


CREDENTIALS = web.AppKey("review_credentials", auth.Credentials)
SESSIONS = web.AppKey("review_sessions", auth.Sessions)
CONSOLE = web.AppKey("review_console", Console)
ENABLED = web.AppKey("review_enabled", bool)


def enabled(app: web.Application) -> bool:
    return app.get(ENABLED, False)


async def _blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args, **kwargs))


async def _refreshed(request: web.Request) -> Console:
    console = request.app[CONSOLE]
    await _blocking(console.refresh, time.monotonic())
    return console


# ---- sessions --------------------------------------------------------------------------------

def _session(request: web.Request) -> auth.Session | None:
    return request.app[SESSIONS].get(request.cookies.get(COOKIE))


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _next(value: object) -> str:
    return auth.safe_next(value, BASE)


Handler = Callable[[web.Request, auth.Session], Awaitable[web.StreamResponse]]


def page_route(handler: Handler, post: bool = False) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Signed out: a GET goes to the sign-in page and back, a POST gets 401. A POST needs the
    session's CSRF token (form field ``csrf``) and this site as its origin."""
    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = _session(request)
        if session is None:
            if post:
                return _message_page("Sign in again", "Your session has ended. Sign in again, then repeat what "
                                     "you were doing.", status=401, link=(f"{BASE}/login", "Sign in"))
            return _redirect(f"{BASE}/login?" + urlencode({"next": _next(request.path_qs)}))
        if post:
            form = await request.post()
            if not auth.csrf_ok(request, session, str(form.get("csrf", ""))):
                return _message_page("The page was out of date", "Go back, reload the page and try again.",
                                     status=403, session=session)
        try:
            return await handler(request, session)
        except sa.exc.SQLAlchemyError as exc:
            return _message_page("The conversation log cannot be read",
                                 f"The review console could not read the conversation store ({type(exc).__name__}). "
                                 "Try again in a minute; if it goes on, tell whoever runs the server.",
                                 status=503, session=session)
    return wrapped


def _nav(current: str, session: auth.Session | None) -> dict[str, Any]:
    if session is None:
        return {"service_url": BASE, "service_name": SERVICE, "footer_links": ()}
    items = [NavItem(BASE, "Conversations", current == "inbox"),
             NavItem(f"{BASE}/insights", "Insights", current == "insights")]
    sign_out = Html(f'<form method="post" action="{BASE}/logout" class="app-inline-form">'
                    f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'
                    f'<button type="submit" class="app-link-button govuk-service-navigation__link">'
                    f'Sign out</button></form>')
    return {"nav": items, "nav_end": sign_out, "service_url": BASE, "service_name": SERVICE, "footer_links": ()}


def _message_page(heading: str, text: str, status: int, session: auth.Session | None = None,
                  link: tuple[str, str] | None = None) -> web.Response:
    back = link or (BASE, "Go to the conversations")
    content = pages.fill("review_message.html", heading=heading, text=text, href=back[0], label=back[1])
    return pages.page(f"{heading} - {TITLE}", content, status=status, **_nav("", session))


# ---- GOV.UK form pieces ----------------------------------------------------------------------

def _error_message(fid: str, error: str | None) -> str:
    if not error:
        return ""
    return (f'<p id="{esc(fid)}-error" class="govuk-error-message">'
            f'<span class="govuk-visually-hidden">Error:</span> {esc(error)}</p>')


def _described(fid: str, hint: str | None, error: str | None) -> str:
    ids = ([f"{fid}-hint"] if hint else []) + ([f"{fid}-error"] if error else [])
    return f' aria-describedby="{esc(" ".join(ids))}"' if ids else ""


def _hint(fid: str, hint: str | None) -> str:
    return f'<div id="{esc(fid)}-hint" class="govuk-hint">{esc(hint)}</div>' if hint else ""


def _label(fid: str, label: object, label_class: str = "") -> str:
    return f'<label class="govuk-label{esc(label_class)}" for="{esc(fid)}">{esc(label)}</label>'


def text_input(fid: str, name: str, label: object, value: object = "", *, error: str | None = None,
               hint: str | None = None, kind: str = "text", width: str = "", label_class: str = "",
               extra: str = "") -> str:
    cls = "govuk-input" + (f" {width}" if width else "") + (" govuk-input--error" if error else "")
    return (f'<div class="govuk-form-group{" govuk-form-group--error" if error else ""}">'
            f'{_label(fid, label, label_class)}{_hint(fid, hint)}{_error_message(fid, error)}'
            f'<input class="{cls}" id="{esc(fid)}" name="{esc(name)}" type="{esc(kind)}" value="{esc(value)}"'
            f'{_described(fid, hint, error)}{extra}></div>')


def select(fid: str, name: str, label: object, options: list[tuple[str, str]], value: object = "", *,
           error: str | None = None, hint: str | None = None, label_class: str = "", full: bool = True) -> str:
    opts = "".join(f'<option value="{esc(v)}"{" selected" if str(value) == v else ""}>{esc(text)}</option>'
                   for v, text in options)
    cls = "govuk-select" + (" app-full-width" if full else "") + (" govuk-select--error" if error else "")
    return (f'<div class="govuk-form-group{" govuk-form-group--error" if error else ""}">'
            f'{_label(fid, label, label_class)}{_hint(fid, hint)}{_error_message(fid, error)}'
            f'<select class="{cls}" id="{esc(fid)}" name="{esc(name)}"{_described(fid, hint, error)}>{opts}</select></div>')


def textarea(fid: str, name: str, label: object, value: object = "", *, error: str | None = None,
             hint: str | None = None, rows: int = 3, label_class: str = "") -> str:
    cls = "govuk-textarea" + (" govuk-textarea--error" if error else "")
    return (f'<div class="govuk-form-group{" govuk-form-group--error" if error else ""}">'
            f'{_label(fid, label, label_class)}{_hint(fid, hint)}{_error_message(fid, error)}'
            f'<textarea class="{cls}" id="{esc(fid)}" name="{esc(name)}" rows="{rows}"'
            f'{_described(fid, hint, error)}>{esc(value)}</textarea></div>')


def error_summary(errors: dict[str, str]) -> Html:
    if not errors:
        return Html("")
    items = "".join(f'<li><a href="#{esc(fid)}">{esc(msg)}</a></li>' for fid, msg in errors.items())
    return Html('<div class="govuk-error-summary" data-module="govuk-error-summary"><div role="alert">'
                '<h2 class="govuk-error-summary__title">There is a problem</h2>'
                f'<div class="govuk-error-summary__body"><ul class="govuk-list govuk-error-summary__list">{items}</ul>'
                '</div></div></div>')


def banner(heading: object, body: object = "") -> Html:
    """A GOV.UK success banner; ``body`` is plain text or an ``Html`` fragment."""
    if body and not isinstance(body, Html):
        body = Html(f'<p class="govuk-body">{esc(body)}</p>')
    return pages.fill("review_banner.html", heading=heading, body=body)


def _csrf(session: auth.Session) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'


def _tag(text: object, cls: str = "") -> str:
    return f'<strong class="govuk-tag {esc(cls)}">{esc(text)}</strong>'


def _state_tag(state: str) -> str:
    return _tag(rdb.STATE_LABELS.get(state, state), STATE_TAGS.get(state, ""))


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    t = dt.datetime.fromtimestamp(float(ts), dt.timezone.utc)
    return f"{t.day} {t:%b %Y %H:%M} UTC"


def _when_html(ts: float) -> str:
    t = dt.datetime.fromtimestamp(float(ts), dt.timezone.utc)
    return (f'<span class="app-nowrap">{t.day} {t:%b %Y}</span> '
            f'<span class="app-nowrap app-muted">{t:%H:%M} UTC</span>')


def _score(value: object) -> str:
    return "-" if value is None else f"{float(value):.1f}"  # type: ignore[arg-type]


def conversation_href(sender: str, **extra: object) -> str:
    return f"{BASE}/conversation?" + urlencode({"id": sender, **{k: v for k, v in extra.items() if v is not None}})


# ---- the inbox -------------------------------------------------------------------------------

DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_day(value: str) -> str:
    """A UTC day as YYYY-MM-DD, from YYYY-MM-DD or D/M/YYYY; ValueError if it is not a real date."""
    m = DMY.match(value)
    if m:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
    return dt.date.fromisoformat(value).isoformat()


DATE_HINT = "A UTC day, for example 1/11/2026"
FILTER_FIELDS = ("since", "until", "topic", "outcome", "low_score", "thumbs_down", "handoff", "state", "text")
FILTER_IDS = {name: f"f-{name.replace('_', '-')}" for name in FILTER_FIELDS}


def parse_filters(query: Any) -> tuple[Filters, dict[str, str], dict[str, str]]:
    """Filters from a query string or form, with an error per field id and the raw values."""
    raw = {name: " ".join(str(query.get(name, "")).split()) for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    given: dict[str, Any] = {}
    for name in ("since", "until"):
        if raw[name]:
            try:
                given[name] = parse_day(raw[name])
            except ValueError:
                errors[FILTER_IDS[name]] = (f"The {'start' if name == 'since' else 'end'} date must be a real date, "
                                            "for example 2026-11-01")
    if given.get("since") and given.get("until") and given["since"] > given["until"]:
        errors[FILTER_IDS["until"]] = "The end date must be the same as or after the start date"
    if raw["topic"]:
        if raw["topic"] in TOPICS:
            given["topic"] = raw["topic"]
        else:
            errors[FILTER_IDS["topic"]] = "Choose a topic from the list"
    if raw["outcome"]:
        if raw["outcome"] in inbox.OUTCOMES:
            given["outcome"] = raw["outcome"]
        else:
            errors[FILTER_IDS["outcome"]] = "Choose an outcome from the list"
    if raw["state"]:
        if raw["state"] in rdb.STATES:
            given["state"] = raw["state"]
        else:
            errors[FILTER_IDS["state"]] = "Choose a review state from the list"
    if raw["low_score"]:
        try:
            given["low_score"] = float(raw["low_score"])
            if not -1000 < given["low_score"] < 1000:
                raise ValueError
        except ValueError:
            errors[FILTER_IDS["low_score"]] = "The low score must be a number, for example 40"
            given.pop("low_score", None)
    given["thumbs_down"] = raw["thumbs_down"] in ("1", "on", "true", "True")
    given["handoff"] = raw["handoff"] in ("1", "on", "true", "True")
    if raw["text"]:
        given["text"] = raw["text"][:MAX_TEXT]
    return Filters(**given), errors, raw


def describe(f: Filters) -> str:
    """The filters in words, for the results line and the saved-filter list."""
    parts = []
    if f.since:
        parts.append(f"active on or after {_day_text(f.since)}")
    if f.until:
        parts.append(f"started on or before {_day_text(f.until)}")
    if f.topic:
        parts.append(f"topic {f.topic}")
    if f.outcome:
        parts.append(f"outcome {OUTCOME_LABELS.get(f.outcome, f.outcome)}")
    if f.low_score is not None:
        parts.append(f"an answer scored below {f.low_score:g}")
    if f.thumbs_down:
        parts.append("thumbs-down")
    if f.handoff:
        parts.append("handoff or callback")
    if f.state:
        parts.append(f"state {rdb.STATE_LABELS.get(f.state, f.state)}")
    if f.text:
        parts.append(f"words \u201c{f.text}\u201d")
    return ("Filtered by " + ", ".join(parts)) if parts else "All conversations"


def filter_params(f: Filters) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in json.loads(f.to_json()).items():
        if value is True:
            out[name] = "1"
        elif isinstance(value, float):
            out[name] = f"{value:g}"
        else:
            out[name] = str(value)
    return out


def inbox_href(f: Filters, page: int = 1, **extra: str) -> str:
    params = filter_params(f)
    if page > 1:
        params["page"] = str(page)
    params.update(extra)
    return BASE + ("?" + urlencode(params) if params else "")


def _filter_form(f: Filters, errors: dict[str, str], raw: dict[str, str]) -> str:
    def val(name: str) -> str:
        return raw.get(name, "") if FILTER_IDS[name] in errors else str(filter_params(f).get(name, ""))

    low = f.low_score if f.low_score is not None else inbox.LOW_SCORE
    checks = [("low_score", f"{low:g}", f"Low entry score (an answer scored below {low:g})", f.low_score is not None),
              ("thumbs_down", "1", "Thumbs-down (the user said an answer did not help)", f.thumbs_down),
              ("handoff", "1", "Asked for a person or a callback", f.handoff)]
    low_error = errors.get(FILTER_IDS["low_score"])
    boxes = "".join(
        f'<div class="govuk-checkboxes__item"><input class="govuk-checkboxes__input" id="{FILTER_IDS[name]}" '
        f'name="{name}" type="checkbox" value="{esc(value)}"{" checked" if on else ""}>'
        f'<label class="govuk-label govuk-checkboxes__label" for="{FILTER_IDS[name]}">{esc(label)}</label></div>'
        for name, value, label, on in checks)
    fields = [
        text_input(FILTER_IDS["since"], "since", "Active on or after", val("since"),
                   error=errors.get(FILTER_IDS["since"]), hint=DATE_HINT, width="govuk-input--width-10",
                   extra=' spellcheck="false" autocomplete="off"'),
        text_input(FILTER_IDS["until"], "until", "Started on or before", val("until"),
                   error=errors.get(FILTER_IDS["until"]), hint=DATE_HINT, width="govuk-input--width-10",
                   extra=' spellcheck="false" autocomplete="off"'),
        select(FILTER_IDS["topic"], "topic", "Topic", [("", "Any topic")] + [(t, t.replace("_", " ").capitalize())
                                                                             for t in TOPICS],
               val("topic"), error=errors.get(FILTER_IDS["topic"])),
        select(FILTER_IDS["outcome"], "outcome", "Outcome",
               [("", "Any outcome")] + [(o, OUTCOME_LABELS[o]) for o in inbox.OUTCOMES], val("outcome"),
               error=errors.get(FILTER_IDS["outcome"]), hint="At least one question had this outcome"),
        '<div class="govuk-form-group' + (" govuk-form-group--error" if low_error else "") + '">'
        '<fieldset class="govuk-fieldset"><legend class="govuk-fieldset__legend govuk-fieldset__legend--s">'
        'Only conversations with</legend>' + _error_message(FILTER_IDS["low_score"], low_error)
        + f'<div class="govuk-checkboxes govuk-checkboxes--small" data-module="govuk-checkboxes">{boxes}</div>'
        '</fieldset></div>',
        select(FILTER_IDS["state"], "state", "Review state",
               [("", "Any state")] + [(s, rdb.STATE_LABELS[s]) for s in rdb.STATES], val("state"),
               error=errors.get(FILTER_IDS["state"])),
        text_input(FILTER_IDS["text"], "text", "Words", val("text"), kind="search",
                   error=errors.get(FILTER_IDS["text"]), hint="In what the user wrote, an entry id or a conversation id",
                   extra=' spellcheck="false"'),
    ]
    return "".join(fields)


def _flags(row: dict[str, Any]) -> str:
    tags = []
    for name, label, cls in (("answered", "Answered", "govuk-tag--green"), ("clarified", "Clarified", "govuk-tag--blue"),
                             ("fallback", "Fallback", "govuk-tag--red"), ("declined", "Declined", "govuk-tag--grey"),
                             ("handoff", "Handoff", "govuk-tag--purple"), ("callback", "Callback", "govuk-tag--purple"),
                             ("thumbs_down", "Thumbs-down", "govuk-tag--red"), ("helpful", "Helpful", "govuk-tag--green")):
        if row.get(name):
            tags.append(_tag(label, cls + " app-tag"))
    return " ".join(tags) or "-"


def _table(page: inbox.Page) -> str:
    if not page.rows:
        return '<p class="govuk-body" id="no-results">No conversations match these filters.</p>'
    body = []
    for r in page.rows:
        text = " ".join(str(r["first_text"]).split()) or "(no words)"
        if len(text) > 120:
            text = text[:117] + "..."
        topics = ", ".join(r["topics"]) or "no topic"
        turns = f'{r["user_turns"]} turn{"" if r["user_turns"] == 1 else "s"}'
        body.append(
            '<tr class="govuk-table__row app-inbox-row">'
            f'<td class="govuk-table__cell" data-label="Last active">{_when_html(r["last_ts"])}</td>'
            f'<td class="govuk-table__cell app-inbox-conversation" data-label="Conversation">'
            f'<a class="govuk-link" href="{esc(conversation_href(r["sender_id"]))}">{esc(text)}</a>'
            f'<span class="govuk-body-s app-muted app-block">{esc(turns)}; {esc(topics)}; '
            f'<span class="app-break">{esc(r["sender_id"])}</span></span></td>'
            f'<td class="govuk-table__cell" data-label="Outcome">{_flags(r)}</td>'
            f'<td class="govuk-table__cell govuk-table__cell--numeric" data-label="Lowest score">'
            f'{esc(_score(r["min_score"]))}</td>'
            f'<td class="govuk-table__cell" data-label="State">{_state_tag(r["state"])}</td></tr>')
    return ('<table class="govuk-table app-stack-table" id="inbox-table">'
            '<caption class="govuk-table__caption govuk-visually-hidden">Conversations, most recent activity first'
            '</caption><thead class="govuk-table__head"><tr class="govuk-table__row">'
            '<th scope="col" class="govuk-table__header">Last active</th>'
            '<th scope="col" class="govuk-table__header app-width-half">Conversation</th>'
            '<th scope="col" class="govuk-table__header">Outcome</th>'
            '<th scope="col" class="govuk-table__header govuk-table__header--numeric">Lowest score</th>'
            '<th scope="col" class="govuk-table__header">State</th></tr></thead>'
            f'<tbody class="govuk-table__body">{"".join(body)}</tbody></table>')


ARROW_PREV = ('<svg class="govuk-pagination__icon govuk-pagination__icon--prev" xmlns="http://www.w3.org/2000/svg" '
              'height="13" width="15" aria-hidden="true" focusable="false" viewBox="0 0 15 13"><path d="m6.5938-0.0078125'
              '-6.7266 6.7266 6.7441 6.4062 1.377-1.449-4.1856-3.9768h12.896v-2h-12.984l4.2931-4.293-1.414-1.414z"></path>'
              '</svg>')
ARROW_NEXT = ('<svg class="govuk-pagination__icon govuk-pagination__icon--next" xmlns="http://www.w3.org/2000/svg" '
              'height="13" width="15" aria-hidden="true" focusable="false" viewBox="0 0 15 13"><path d="m8.107-0.0078125'
              '-1.4136 1.414 4.2926 4.293h-12.986v2h12.896l-4.1855 3.9766 1.377 1.4492 6.7441-6.4062-6.7246-6.7266z">'
              '</path></svg>')


def page_numbers(current: int, last: int) -> list[int | None]:
    """1, the pages either side of the current one, and the last; None where pages are skipped."""
    wanted = sorted({1, last, current - 1, current, current + 1} & set(range(1, last + 1)))
    out: list[int | None] = []
    for n in wanted:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def pagination(page: inbox.Page) -> str:
    if page.pages <= 1:
        return ""
    f, cur = page.filters, page.page
    parts = ['<nav class="govuk-pagination" aria-label="Pages of conversations">']
    if cur > 1:
        parts.append(f'<div class="govuk-pagination__prev"><a class="govuk-link govuk-pagination__link" '
                     f'href="{esc(inbox_href(f, cur - 1))}" rel="prev">{ARROW_PREV}<span class="govuk-pagination__link-title">'
                     'Previous<span class="govuk-visually-hidden"> page</span></span></a></div>')
    items = []
    for n in page_numbers(cur, page.pages):
        if n is None:
            items.append('<li class="govuk-pagination__item govuk-pagination__item--ellipsis">&ctdot;</li>')
        elif n == cur:
            items.append(f'<li class="govuk-pagination__item govuk-pagination__item--current"><a class="govuk-link '
                         f'govuk-pagination__link" href="{esc(inbox_href(f, n))}" aria-label="Page {n}" '
                         f'aria-current="page">{n}</a></li>')
        else:
            items.append(f'<li class="govuk-pagination__item"><a class="govuk-link govuk-pagination__link" '
                         f'href="{esc(inbox_href(f, n))}" aria-label="Page {n}">{n}</a></li>')
    parts.append(f'<ul class="govuk-pagination__list">{"".join(items)}</ul>')
    if cur < page.pages:
        parts.append(f'<div class="govuk-pagination__next"><a class="govuk-link govuk-pagination__link" '
                     f'href="{esc(inbox_href(f, cur + 1))}" rel="next"><span class="govuk-pagination__link-title">'
                     f'Next<span class="govuk-visually-hidden"> page</span></span>{ARROW_NEXT}</a></div>')
    parts.append("</nav>")
    return "".join(parts)


def _saved_list(saved: list[dict[str, Any]], session: auth.Session) -> str:
    if not saved:
        return '<p class="govuk-body-s" id="saved-filters">None yet. Filter the conversations, then save the filter below.</p>'
    items = []
    for s in saved:
        items.append(
            f'<li class="app-saved-filter"><a class="govuk-link" href="{esc(inbox_href(s["filters"]))}">{esc(s["name"])}</a>'
            f'<span class="govuk-body-s app-muted app-block">{esc(describe(s["filters"]))}</span>'
            f'<form method="post" action="{BASE}/filters/delete" class="app-inline-form">{_csrf(session)}'
            f'<input type="hidden" name="name" value="{esc(s["name"])}">'
            f'<button type="submit" class="app-link-button govuk-body-s">Delete'
            f'<span class="govuk-visually-hidden"> saved filter {esc(s["name"])}</span></button></form></li>')
    return f'<ul class="govuk-list app-saved-filters" id="saved-filters">{"".join(items)}</ul>'


def _save_form(f: Filters, session: auth.Session, error: str | None = None, value: str = "") -> str:
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in filter_params(f).items())
    return (f'<form method="post" action="{BASE}/filters" novalidate>{_csrf(session)}{hidden}'
            + text_input("save-name", "name", "Save these filters as", value, error=error,
                         hint="A name, for example Unanswered this week. The same name replaces a saved filter.",
                         label_class=" govuk-label--s")
            + '<button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">'
              'Save filter</button></form>')


def _inbox_query(console: Console, f: Filters, page_no: int) -> tuple[inbox.Page, list[dict[str, Any]]]:
    per_page = console.config.per_page
    page = inbox.query(console.db, f, page_no, per_page)
    if page_no > page.pages:
        page = inbox.query(console.db, f, page.pages, per_page)
    return page, inbox.list_filters(console.db)


async def render_inbox(request: web.Request, session: auth.Session, *, save_error: str | None = None,
                       save_value: str = "", status: int = 200) -> web.Response:
    source = request.query if request.method == "GET" else await request.post()
    f, errors, raw = parse_filters(source)
    page_raw = str(request.query.get("page", "1"))
    page_no = int(page_raw) if page_raw.isdigit() and 0 < int(page_raw) < 1_000_000 else 1
    console = await _refreshed(request)
    shown = Filters() if errors else f
    page, saved = await _blocking(_inbox_query, console, shown, page_no)
    all_errors = dict(errors)
    if save_error:
        all_errors["save-name"] = save_error
    notice = Html("")
    if request.query.get("saved") and not all_errors:
        notice = banner(f"Filter \u201c{request.query['saved']}\u201d saved.")
    elif request.query.get("deleted") and not all_errors:
        notice = banner(f"Saved filter \u201c{request.query['deleted']}\u201d deleted.")
    if errors:
        results_heading = "Check the filters"
        described = "The filters have a problem, so every conversation is listed."
    else:
        results_heading = f'{page.total:,} conversation{"" if page.total == 1 else "s"}'
        described = f"{describe(f)}; page {page.page} of {page.pages}, most recent activity first."
    content = pages.fill(
        "review_inbox.html", banner=notice, error_summary=error_summary(all_errors),
        fields=Html(_filter_form(f, errors, raw)), saved=Html(_saved_list(saved, session)),
        save_form=Html(_save_form(f, session, save_error, save_value)), results_heading=results_heading,
        described=described, csv_href=f"{BASE}/conversations.csv" + ("?" + urlencode(filter_params(f)) if filter_params(f) else ""),
        table=Html(_table(page)), pagination=Html(pagination(page)))
    title = ("Error: " if all_errors else "") + f"Conversations - {TITLE}"
    return pages.page(title, content, status=status if not errors else 400, **_nav("inbox", session))


async def inbox_page(request: web.Request, session: auth.Session) -> web.StreamResponse:
    name = request.query.get("filter")
    if name:
        try:
            f = await _blocking(inbox.load_filter, request.app[CONSOLE].db, name)
        except (LookupError, ValueError):
            raise web.HTTPNotFound(text=f"No saved filter called {name!r}.")
        return _redirect(inbox_href(f))
    if any(v == "" for v in request.query.values()):
        # The filter form sends every field: keep addresses short and shareable (no empty ones).
        f, errors, _ = parse_filters(request.query)
        if not errors:
            page = str(request.query.get("page", ""))
            return _redirect(inbox_href(f, int(page) if page.isdigit() else 1))
    return await render_inbox(request, session)


async def save_filter(request: web.Request, session: auth.Session) -> web.StreamResponse:
    form = await request.post()
    f, errors, _ = parse_filters(form)
    name = " ".join(str(form.get("name", "")).split())
    if errors:
        return await render_inbox(request, session, status=400)
    if not name:
        return await render_inbox(request, session, save_error="Enter a name for the filter", status=422)
    if len(name) > 100:
        return await render_inbox(request, session, save_error="The name must be 100 characters or fewer",
                                  save_value=name, status=422)
    await _blocking(inbox.save_filter, request.app[CONSOLE].db, name, f, session.username)
    return _redirect(inbox_href(f, saved=name))


async def delete_filter(request: web.Request, session: auth.Session) -> web.StreamResponse:
    form = await request.post()
    name = str(form.get("name", ""))
    if not await _blocking(inbox.delete_filter, request.app[CONSOLE].db, name):
        raise web.HTTPNotFound(text=f"No saved filter called {name!r}.")
    return _redirect(f"{BASE}?" + urlencode({"deleted": name}))


CSV_RISKY = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A spreadsheet must not run what a user typed: text starting like a formula gets a quote."""
    if isinstance(value, str) and value.startswith(CSV_RISKY):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def _csv_bytes(header: list[str] | tuple[str, ...], rows: Any) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for row in rows:
        w.writerow([csv_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def _csv_response(body: bytes, filename: str) -> web.Response:
    return web.Response(body=body, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store"})


async def inbox_csv(request: web.Request, session: auth.Session) -> web.StreamResponse:
    f, errors, _ = parse_filters(request.query)
    if errors:
        raise web.HTTPBadRequest(text="; ".join(errors.values()))
    console = await _refreshed(request)

    def rows() -> bytes:
        return _csv_bytes(inbox.COLUMNS, ([";".join(r[k]) if k == "topics" else r[k] for k in inbox.COLUMNS]
                                          for r in inbox.all_rows(console.db, f)))
    return _csv_response(await _blocking(rows), "conversations.csv")


# ---- one conversation ------------------------------------------------------------------------

@dataclass
class FormState:
    """What went wrong in a POSTed form, to show it again with the reviewer's input."""

    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    open_id: str | None = None  # the <details> to show open


def _fid(turn: int | None, name: str) -> str:
    return f"c-{name}" if turn is None else f"t{turn}-{name}"


def _row(key: str, value: object, row_id: str = "") -> str:
    rid = f' id="{esc(row_id)}"' if row_id else ""
    return (f'<div class="govuk-summary-list__row"{rid}><dt class="govuk-summary-list__key">{esc(key)}</dt>'
            f'<dd class="govuk-summary-list__value">{esc(value)}</dd></div>')


def _entry_text(base: kb_module.KnowledgeBase | None, entry_id: str | None, score: float | None = None) -> Html:
    if not entry_id:
        return Html("-")
    entry = base.entries.get(entry_id) if base else None
    parts = [f'<code class="app-code-inline">{esc(entry_id)}</code>']
    if score is not None:
        parts.append(f" (score {esc(_score(score))})")
    if entry is not None:
        parts.append(f'<span class="app-block app-muted">{esc(entry.question)}</span>')
    elif base is not None:
        parts.append('<span class="app-block app-muted">not in the current knowledge base</span>')
    return Html("".join(parts))


def _state_form(sender: str, turn: int | None, current: str, session: auth.Session, fs: FormState) -> str:
    fid = _fid(turn, "state")
    what = "the whole conversation" if turn is None else f"turn {turn + 1}"
    return (f'<form method="post" action="{BASE}/conversation/state" class="app-action app-action--inline" '
            f'novalidate>{_csrf(session)}'
            f'<input type="hidden" name="id" value="{esc(sender)}">'
            f'<input type="hidden" name="turn" value="{"" if turn is None else turn}">'
            + select(fid, "state", Html(f'Review state<span class="govuk-visually-hidden"> of {esc(what)}</span>'),
                     [(s, rdb.STATE_LABELS[s]) for s in rdb.STATES], fs.values.get(fid, current),
                     error=fs.errors.get(fid), label_class=" govuk-label--s", full=False)
            + f'<button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">'
              f'Save state<span class="govuk-visually-hidden"> of {esc(what)}</span></button></form>')


def _note_form(sender: str, turn: int | None, session: auth.Session, fs: FormState) -> str:
    fid = _fid(turn, "note")
    what = "the whole conversation" if turn is None else f"turn {turn + 1}"
    return (f'<form method="post" action="{BASE}/conversation/note" class="app-action" novalidate>{_csrf(session)}'
            f'<input type="hidden" name="id" value="{esc(sender)}">'
            f'<input type="hidden" name="turn" value="{"" if turn is None else turn}">'
            + textarea(fid, "text", Html(f'Add a note<span class="govuk-visually-hidden"> about {esc(what)}</span>'),
                       fs.values.get(fid, ""), error=fs.errors.get(fid), rows=2, label_class=" govuk-label--s")
            + f'<button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">'
              f'Add note<span class="govuk-visually-hidden"> about {esc(what)}</span></button></form>')


def _notes(notes: list[dict[str, Any]]) -> str:
    if not notes:
        return ""
    items = "".join(f'<li class="app-note"><span class="app-note__text">{esc(n["text"])}</span>'
                    f'<span class="govuk-body-s app-muted app-block">{esc(n["reviewer"])}, {esc(_when(n["created"]))}'
                    f'</span></li>' for n in notes)
    return f'<h4 class="govuk-heading-s govuk-!-margin-bottom-1">Notes</h4><ul class="govuk-list app-notes">{items}</ul>'


def _details(did: str, summary: str, body: str, is_open: bool) -> str:
    return (f'<details class="govuk-details govuk-!-margin-bottom-3" id="{esc(did)}"{" open" if is_open else ""}>'
            f'<summary class="govuk-details__summary"><span class="govuk-details__summary-text">{esc(summary)}</span>'
            f'</summary><div class="govuk-details__text">{body}</div></details>')


AMEND_IDS = ("entry", "alt-note", "topic", "new-id", "new-note")


def _amend_form(sender: str, t: transcript.Turn, session: auth.Session, fs: FormState) -> str:
    """Two small forms: the question as another way of asking an existing entry, or a draft of
    a new entry. (Two forms rather than radios with conditional reveals: GOV.UK Frontend puts
    aria-expanded on a revealing radio, which is not allowed on that role.)"""
    n = t.index
    ids = {k: _fid(n, k) for k in AMEND_IDS}
    val = fs.values.get
    hidden = (f'{_csrf(session)}<input type="hidden" name="id" value="{esc(sender)}">'
              f'<input type="hidden" name="turn" value="{n}">')
    alternate = (
        f'<form method="post" action="{BASE}/conversation/amend" class="app-amend" novalidate>{hidden}'
        f'<input type="hidden" name="mode" value="alternate">'
        f'<h5 class="govuk-heading-s govuk-!-margin-bottom-2">Another way of asking an existing entry</h5>'
        + text_input(ids["entry"], "entry_id", "Entry id", val(ids["entry"], t.entry_id or t.top_id or ""),
                     error=fs.errors.get(ids["entry"]), hint="The entry this question should have found, for example "
                     "pensions-nhs-keep-nhsps", extra=' list="entry-ids" spellcheck="false" autocomplete="off"')
        + text_input(ids["alt-note"], "note", "Note for whoever applies it (optional)", val(ids["alt-note"], ""),
                     error=fs.errors.get(ids["alt-note"]))
        + '<button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">'
          f'Propose as an alternate<span class="govuk-visually-hidden"> for turn {n + 1}</span></button></form>')
    new = (
        f'<form method="post" action="{BASE}/conversation/amend" class="app-amend" novalidate>{hidden}'
        f'<input type="hidden" name="mode" value="new">'
        f'<h5 class="govuk-heading-s govuk-!-margin-bottom-2">A new entry</h5>'
        f'<p class="govuk-body-s">A draft with the question filled in and TODO where someone must write the answer.</p>'
        + select(ids["topic"], "topic", "Topic", [("", "Choose a topic")] + [(x, x) for x in TOPICS],
                 val(ids["topic"], t.topic or ""), error=fs.errors.get(ids["topic"]), full=False)
        + text_input(ids["new-id"], "new_id", "Id for the new entry (optional)", val(ids["new-id"], ""),
                     error=fs.errors.get(ids["new-id"]), hint="Leave blank to make one from the question",
                     extra=' spellcheck="false" autocomplete="off"')
        + text_input(ids["new-note"], "note", "Note for whoever completes it (optional)", val(ids["new-note"], ""),
                     error=fs.errors.get(ids["new-note"]))
        + '<button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">'
          f'Draft a new entry<span class="govuk-visually-hidden"> from turn {n + 1}</span></button></form>')
    body = ('<p class="govuk-body-s">Either writes a proposal file. Nothing in the knowledge base changes until a '
            'person applies it with <code class="app-code-inline">python -m bot review apply</code>, which shows the '
            'change, checks the knowledge base and undoes the edit if anything fails.</p>' + alternate + new)
    return _details(f"t{n}-amend-details", "Amend the knowledge base", body, fs.open_id == f"t{n}-amend-details")


def _test_form(sender: str, t: transcript.Turn, session: auth.Session, fs: FormState, cfg: Config) -> str:
    n = t.index
    fid = _fid(n, "expect")
    default = t.entry_id if t.kind == "answer" and t.entry_id else ("out_of_scope" if t.kind in ("fallback", "declined")
                                                                     else "")
    body = (f'<p class="govuk-body-s">Adds this question to the evaluation set with the answer it should get, '
            f'and the whole conversation as a test story that <code class="app-code-inline">rasa test</code> replays.'
            f'</p><form method="post" action="{BASE}/conversation/test" novalidate>{_csrf(session)}'
            f'<input type="hidden" name="id" value="{esc(sender)}"><input type="hidden" name="turn" value="{n}">'
            + text_input(fid, "expect", "It should get", fs.values.get(fid, default), error=fs.errors.get(fid),
                         hint="An entry id, or out_of_scope when the assistant should say it cannot help",
                         extra=' list="entry-ids" spellcheck="false" autocomplete="off"')
            + '<button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button">'
              f'Make a test<span class="govuk-visually-hidden"> from turn {n + 1}</span></button></form>')
    return _details(f"t{n}-test-details", "Make a test", body, fs.open_id == f"t{n}-test-details")


def _turn_card(sender: str, t: transcript.Turn, base: kb_module.KnowledgeBase | None, session: auth.Session,
               fs: FormState, cfg: Config) -> str:
    n = t.index
    said = t.shown_text if t.shown_text == t.text else f"{t.shown_text} (button: {t.text})"
    conf = f" ({t.confidence:.2f})" if t.confidence is not None else ""
    others = ", ".join(f'{r["name"]} {r["confidence"]:.2f}' for r in t.ranking[1:]) if len(t.ranking) > 1 else ""
    ents = ", ".join(f'{e["entity"]} = {e["value"]}' for e in t.entities) or "None"
    rows = [
        _row("Time", _when(t.timestamp)),
        _row("Intent", Html(f'<code class="app-code-inline">{esc(t.intent or "-")}</code>{esc(conf)}'
                            + (f'<span class="app-block app-muted">then {esc(others)}</span>' if others else "")),
             f"t{n}-row-intent"),
        _row("Entities", ents),
        _row("Outcome", KIND_LABELS.get(t.kind or "", t.kind or "-") + (f" ({t.reason})" if t.reason else "")),
        _row("Band", BAND_LABELS.get(t.band or "", t.band or "-"), f"t{n}-row-band"),
        _row("Entry that answered", _entry_text(base, t.entry_id), f"t{n}-row-entry"),
        _row("Score", _score(t.score), f"t{n}-row-score"),
    ]
    if t.top_id and t.top_id != t.entry_id:
        rows.append(_row("Best candidate", _entry_text(base, t.top_id, t.score)))
    rows += [
        _row("Runner-up", _entry_text(base, (t.runner_up or {}).get("id"), (t.runner_up or {}).get("score")),
             f"t{n}-row-runner-up"),
        _row("Knowledge-base version", Html(f'<code class="app-code-inline">{esc(t.kb_version or "-")}</code>'),
             f"t{n}-row-kb"),
    ]
    if t.redacted:
        rows.append(_row("Personal details removed", ", ".join(t.redacted)))
    if t.feedback:
        rows.append(_row("Feedback", "Helpful" if t.feedback == "helpful" else "Not helpful"))
    rows.append(_row("Actions run", ", ".join(t.actions) or "-"))
    replies = []
    for m in t.messages:
        text = " ".join(str(m["text"]).split())
        if text:
            replies.append(f'<p class="govuk-body app-reply__text">{esc(text[:600] + ("..." if len(text) > 600 else ""))}</p>')
        if m.get("buttons"):
            replies.append(f'<p class="govuk-body-s app-muted">Buttons: {esc(", ".join(m["buttons"]))}</p>')
    reply_html = (f'<div class="app-reply"><h4 class="govuk-heading-s govuk-!-margin-bottom-1">The assistant replied</h4>'
                  f'{"".join(replies)}</div>') if replies else ""
    actions = (f'<div class="govuk-grid-row"><div class="govuk-grid-column-one-third-from-desktop">'
               f'{_state_form(sender, n, t.state, session, fs)}</div><div class="govuk-grid-column-two-thirds-from-desktop">'
               f'{_note_form(sender, n, session, fs)}</div></div>')
    if not t.is_payload and t.text.strip():
        actions += _amend_form(sender, t, session, fs) + _test_form(sender, t, session, fs, cfg)
    return pages.fill("review_turn.html", n=str(n), number=str(n + 1), said=said, state=Html(_state_tag(t.state)),
                      rows=Html("".join(rows)), replies=Html(reply_html), notes=Html(_notes(t.notes)),
                      actions=Html(actions))


DONE_MESSAGES = {"state": "Review state saved", "note": "Note added", "proposal": "Proposal written",
                 "test": "Test added"}


def _done_banner(request: web.Request, tr: transcript.Transcript, cfg: Config) -> Html:
    done = request.query.get("done")
    if done not in DONE_MESSAGES:
        return Html("")
    turn_raw = request.query.get("turn", "")
    turn = int(turn_raw) if turn_raw.isdigit() and int(turn_raw) < len(tr.turns) else None
    where = Html(f' for <a class="govuk-notification-banner__link" href="#turn-{turn}">turn {turn + 1}</a>'
                 if turn is not None else " for the whole conversation")
    heading = Html(f"{esc(DONE_MESSAGES[done])}{where}.")
    body: object = ""
    if done == "state":
        body = f"The conversation is now {rdb.STATE_LABELS.get(tr.state, tr.state)}."
    elif done == "proposal":
        name = request.query.get("file", "")
        path = Path(cfg.proposals_dir) / name
        if name and "/" not in name and "\\" not in name and path.is_file():
            body = Html(f'<p class="govuk-body">Written to <code class="app-code-inline app-break">{esc(path)}</code>. '
                        f'Nothing in the knowledge base has changed. To apply it, a person runs '
                        f'<code class="app-code-inline app-break">python -m bot review apply {esc(path)}</code>, '
                        f'which shows the change, checks the knowledge base and undoes the edit if anything fails.</p>')
    elif done == "test":
        story = request.query.get("story") == "1"
        body = Html(f'<p class="govuk-body">The question was added to <code class="app-code-inline app-break">'
                    f'{esc(cfg.questions)}</code>'
                    + (f' and the conversation to <code class="app-code-inline app-break">{esc(cfg.stories)}</code>.'
                       if story else f'; <code class="app-code-inline app-break">{esc(cfg.stories)}</code> already '
                                     f'had this conversation.') + '</p>')
    return banner(heading, body)


def _load(console: Console, sender: str) -> tuple[transcript.Transcript, dict[str, Any] | None]:
    tr = transcript.load(console.db, sender)
    c = rdb.conversations
    with console.db.engine.connect() as conn:
        row = conn.execute(sa.select(c).where(c.c.sender_id == sender)).first()
    return tr, dict(row._mapping) if row else None


async def render_transcript(request: web.Request, session: auth.Session, sender: str,
                            fs: FormState | None = None, status: int = 200) -> web.Response:
    fs = fs or FormState()
    console = await _refreshed(request)
    try:
        tr, summary = await _blocking(_load, console, sender)
    except LookupError:
        return _message_page("Conversation not found", "There is no conversation with that id in the log. It may "
                             "have been deleted under the retention policy.", status=404, session=session)
    try:
        base: kb_module.KnowledgeBase | None = kb_module.get()
    except KnowledgeBaseError:
        base = None
    cfg = console.config
    conv_rows = [_row("Conversation id", Html(f'<code class="app-code-inline app-break">{esc(sender)}</code>')),
                 _row("Started", _when(tr.first_ts)), _row("Last active", _when(tr.last_ts)),
                 _row("User messages", str(len(tr.turns)))]
    if summary:
        conv_rows.append(_row("Topics", ", ".join(t for t in summary["topics"].split(",") if t) or "None"))
        conv_rows.append(_row("Outcome", Html(_flags(summary))))
    conv_rows.append(_row("Review state", Html(_state_tag(tr.state)), "conversation-state"))
    first = next((t.shown_text for t in tr.turns if not t.is_payload and t.text.strip()), "")
    heading = " ".join(first.split()) or "Conversation"
    if len(heading) > 90:
        heading = heading[:87] + "..."
    entry_ids = sorted(base.entries) if base else []
    datalist = "".join(f'<option value="{esc(e)}"></option>' for e in [*entry_ids, "out_of_scope"])
    content = pages.fill(
        "review_transcript.html", banner=_done_banner(request, tr, cfg), error_summary=error_summary(fs.errors),
        heading=f"\u201c{heading}\u201d", summary=Html("".join(conv_rows)), notes=Html(_notes(tr.notes)),
        state_form=Html(_state_form(sender, None, tr.state, session, fs)),
        note_form=Html(_note_form(sender, None, session, fs)),
        turns=Html("".join(_turn_card(sender, t, base, session, fs, cfg) for t in tr.turns)
                   or '<p class="govuk-body">This conversation has no user messages.</p>'),
        datalist=Html(datalist), back=BASE)
    title = ("Error: " if fs.errors else "") + f"Conversation {sender} - {TITLE}"
    return pages.page(title, content, status=status, **_nav("inbox", session))


async def conversation_page(request: web.Request, session: auth.Session) -> web.StreamResponse:
    sender = request.query.get("id", "")
    if not sender:
        return _redirect(BASE)
    return await render_transcript(request, session, sender)


async def _action_target(request: web.Request) -> tuple[str, int | None, Any]:
    form = await request.post()
    sender = str(form.get("id", ""))
    raw = str(form.get("turn", "")).strip()
    if not sender:
        raise web.HTTPBadRequest(text="Which conversation? (no id)")
    if raw in ("", str(rdb.CONVERSATION)):
        return sender, None, form
    if not raw.isdigit():
        raise web.HTTPBadRequest(text="The turn must be a number.")
    return sender, int(raw), form


def _done(sender: str, turn: int | None, what: str, **extra: str) -> web.Response:
    params: dict[str, object] = {"done": what, "turn": turn, **extra}
    return _redirect(conversation_href(sender, **params))


async def set_state(request: web.Request, session: auth.Session) -> web.StreamResponse:
    sender, turn, form = await _action_target(request)
    state = str(form.get("state", ""))
    fid = _fid(turn, "state")
    if state not in rdb.STATES:
        return await render_transcript(request, session, sender, FormState({fid: "Choose a review state"}), 422)
    console = await _refreshed(request)
    try:
        await _blocking(marks.set_state, console.db, sender, state, turn, session.username)
    except LookupError as exc:
        return _message_page("Not found", str(exc), status=404, session=session)
    return _done(sender, turn, "state")


async def add_note(request: web.Request, session: auth.Session) -> web.StreamResponse:
    sender, turn, form = await _action_target(request)
    text = " ".join(str(form.get("text", "")).split())
    fid = _fid(turn, "note")
    error = ("Enter the note" if not text else
             f"The note must be {MAX_NOTE:,} characters or fewer" if len(text) > MAX_NOTE else None)
    if error:
        return await render_transcript(request, session, sender, FormState({fid: error}, {fid: text}), 422)
    console = await _refreshed(request)
    try:
        await _blocking(marks.add_note, console.db, sender, text, turn, session.username)
    except LookupError as exc:
        return _message_page("Not found", str(exc), status=404, session=session)
    return _done(sender, turn, "note")


def friendly(message: str, cfg: Config) -> str:
    """An error from the review functions as a sentence for the page (no server paths)."""
    text = " ".join(str(message).split())
    text = text.replace(f" in {cfg.faq}", " in the knowledge base").replace("pass another with --id", "enter another id")
    text = text.replace("; say what it should get with --expect", ": enter the entry it should get, or out_of_scope")
    m = re.match(r"expect must be an entry id, (.*); got (.*)$", text)
    if m:
        text = f"Enter an entry id that exists, {m.group(1)} ({m.group(2)} is none of these)"
    return text[:1].upper() + text[1:]


ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,119}$")


async def amend(request: web.Request, session: auth.Session) -> web.StreamResponse:
    sender, turn, form = await _action_target(request)
    mode = str(form.get("mode", ""))
    if turn is None or mode not in ("alternate", "new"):
        raise web.HTTPBadRequest(text="Amend needs a turn and a mode (alternate or new).")
    ids = {k: _fid(turn, k) for k in AMEND_IDS}
    note_id = ids["alt-note"] if mode == "alternate" else ids["new-note"]
    values = {note_id: " ".join(str(form.get("note", "")).split())}
    errors: dict[str, str] = {}
    if mode == "alternate":
        values[ids["entry"]] = str(form.get("entry_id", "")).strip()
        if not values[ids["entry"]]:
            errors[ids["entry"]] = "Enter the id of the entry this question belongs to"
    else:
        values[ids["topic"]] = str(form.get("topic", ""))
        values[ids["new-id"]] = str(form.get("new_id", "")).strip()
        if values[ids["topic"]] not in TOPICS:
            errors[ids["topic"]] = "Choose the topic of the new entry"
        if values[ids["new-id"]] and not ENTRY_ID.match(values[ids["new-id"]]):
            errors[ids["new-id"]] = "The id must use lower-case letters, numbers and hyphens only"
    if len(values[note_id]) > 500:
        errors[note_id] = "The note must be 500 characters or fewer"
    fs = FormState(errors, values, f"t{turn}-amend-details")
    if errors:
        return await render_transcript(request, session, sender, fs, 422)
    console = await _refreshed(request)
    cfg = console.config
    common = {"faq_dir": cfg.faq, "out_dir": cfg.proposals_dir, "reviewer": session.username,
              "note": values[note_id] or None}
    field_id = ids["entry"] if mode == "alternate" else ids["new-id"]
    try:
        if mode == "alternate":
            path = await _blocking(proposals.propose_alternate, console.db, sender, turn, values[ids["entry"]], **common)
        else:
            path = await _blocking(proposals.propose_new_entry, console.db, sender, turn, values[ids["topic"]],
                                   entry_id=values[ids["new-id"]] or None, **common)
    except proposals.ProposalError as exc:
        fs.errors[field_id] = friendly(str(exc), cfg)
        return await render_transcript(request, session, sender, fs, 422)
    except KnowledgeBaseError as exc:
        fs.errors[field_id] = f"The knowledge base could not be read: {exc}"
        return await render_transcript(request, session, sender, fs, 422)
    except LookupError as exc:
        return _message_page("Not found", str(exc), status=404, session=session)
    return _done(sender, turn, "proposal", file=Path(path).name)


async def make_test(request: web.Request, session: auth.Session) -> web.StreamResponse:
    sender, turn, form = await _action_target(request)
    if turn is None:
        raise web.HTTPBadRequest(text="Make a test needs a turn.")
    fid = _fid(turn, "expect")
    expect = str(form.get("expect", "")).strip()
    fs = FormState({}, {fid: expect}, f"t{turn}-test-details")
    if not expect:
        fs.errors[fid] = "Enter the entry id this question should get, or out_of_scope"
        return await render_transcript(request, session, sender, fs, 422)
    console = await _refreshed(request)
    cfg = console.config
    try:
        made = await _blocking(export_tests.make_test, console.db, sender, turn, expect, questions=cfg.questions,
                               stories=cfg.stories, faq_dir=cfg.faq)
    except LookupError as exc:
        return _message_page("Not found", str(exc), status=404, session=session)
    except (ValueError, KnowledgeBaseError) as exc:  # DuplicateTest, a bad expectation, a button press
        fs.errors[fid] = friendly(str(exc), cfg)
        return await render_transcript(request, session, sender, fs, 422)
    return _done(sender, turn, "test", story="1" if made.story else "0")


# ---- insights --------------------------------------------------------------------------------

@dataclass
class Figures:
    ins: insights.Insights
    key: str
    folder: Path


def _period(query: Any) -> tuple[str | None, str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    out: list[str | None] = []
    for name, fid, label in (("since", "i-since", "start"), ("until", "i-until", "end")):
        value = str(query.get(name, "")).strip()
        if value:
            try:
                value = parse_day(value)
            except ValueError:
                errors[fid] = f"The {label} date must be a real date, for example 2026-11-01"
                value = ""
        out.append(value or None)
    since, until = out
    if since and until and since > until:
        errors["i-until"] = "The end date must be the same as or after the start date"
        until = None
    return since, until, errors


def _figures(console: Console, since: str | None, until: str | None) -> Figures:
    """The period's insights, with their charts and CSV files in a folder named by their content."""
    cfg = console.config
    ins = insights.compute(console.db, since, until, operator_db=cfg.operator_db)
    key = hashlib.sha256(json.dumps(ins.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:20]
    folder = Path(cfg.cache_dir) / key
    if not (folder / "done").exists():
        with console._charts:
            if not (folder / "done").exists():
                tmp = Path(cfg.cache_dir) / f".{key}-{os.getpid()}-{threading.get_ident()}"
                shutil.rmtree(tmp, ignore_errors=True)
                insights.write_csv(ins, tmp)
                insights.write_charts(ins, tmp)
                (tmp / "done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
                shutil.rmtree(folder, ignore_errors=True)
                tmp.rename(folder)
                _prune_cache(Path(cfg.cache_dir))
    return Figures(ins, key, folder)


def _prune_cache(root: Path, keep: int = CHART_CACHE_KEEP) -> None:
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _day_text(day: str) -> str:
    d = dt.date.fromisoformat(day)
    return f"{d.day} {d:%B %Y}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _chart_alt(name: str, ins: insights.Insights) -> str:
    if name == "volume.png":
        busiest = max(ins.per_day, key=lambda d: d["conversations"], default=None)
        return (f"Bar chart of conversations per day with a line of user messages, {len(ins.per_day)} days. "
                + (f"Busiest day {busiest['day']} with {busiest['conversations']} conversations." if busiest else
                   "No conversations in the period."))
    if name == "outcomes.png":
        return "Bar chart of outcomes as a share of question turns: " + ", ".join(
            f"{OUTCOME_LABELS[o]} {_pct(ins.rates[k])}" for o, k in zip(inbox.OUTCOMES, insights.QUESTION_KINDS)) + "."
    if name == "topics.png":
        return "Bar chart of question turns per topic: " + (
            ", ".join(f"{k} {v}" for k, v in ins.topics.items()) or "no topics") + "."
    return (f"Bar chart: helpful {ins.feedback['helpful']}, not helpful {ins.feedback['not_helpful']}, "
            f"handoff {ins.conversations_with['handoff']}, callback {ins.conversations_with['callback']}"
            + (f", operator not right {ins.operator['not_right']}" if ins.operator is not None else "") + ".")


def _file_href(name: str, fig: Figures, since: str | None, until: str | None) -> str:
    params = {k: v for k, v in (("since", since), ("until", until)) if v}
    params["v"] = fig.key
    return f"{BASE}/insights/files/{name}?" + urlencode(params)


def _simple_table(caption: str, headers: list[tuple[str, bool]], rows: list[list[object]], table_id: str,
                  empty: str) -> str:
    if not rows:
        return f'<p class="govuk-body" id="{esc(table_id)}">{esc(empty)}</p>'
    head = "".join(f'<th scope="col" class="govuk-table__header{" govuk-table__header--numeric" if num else ""}">'
                   f'{esc(h)}</th>' for h, num in headers)
    body = "".join('<tr class="govuk-table__row">' + "".join(
        f'<td class="govuk-table__cell{" govuk-table__cell--numeric" if headers[i][1] else ""}" '
        f'data-label="{esc(headers[i][0])}">{esc(v)}</td>' for i, v in enumerate(r)) + "</tr>" for r in rows)
    return (f'<table class="govuk-table app-stack-table" id="{esc(table_id)}"><caption class="govuk-table__caption '
            f'govuk-table__caption--s">{esc(caption)}</caption><thead class="govuk-table__head"><tr class="govuk-table__row">'
            f'{head}</tr></thead><tbody class="govuk-table__body">{body}</tbody></table>')


async def insights_page(request: web.Request, session: auth.Session) -> web.StreamResponse:
    since, until, errors = _period(request.query)
    console = await _refreshed(request)
    fig: Figures = await _blocking(_figures, console, since, until)
    ins = fig.ins
    kpis = [
        _row("Conversations", f"{ins.conversations:,}"),
        _row("User messages", f"{ins.user_turns:,}"),
        _row("Questions", f"{ins.question_turns:,} (messages the assistant answered, clarified, fell back on or declined)"),
        _row("Answered", f"{_pct(ins.rates['answer'])} ({ins.outcomes['answer']})", "kpi-answer"),
        _row("Clarified", f"{_pct(ins.rates['clarify'])} ({ins.outcomes['clarify']})", "kpi-clarify"),
        _row("Fallback", f"{_pct(ins.rates['fallback'])} ({ins.outcomes['fallback']})", "kpi-fallback"),
        _row("Declined", f"{_pct(ins.rates['declined'])} ({ins.outcomes['declined']})"),
        _row("Handoff", f"{_pct(ins.handoff_rate)} of conversations ({ins.conversations_with['handoff']})", "kpi-handoff"),
        _row("Callback requested", f"{_pct(ins.callback_rate)} of conversations ({ins.conversations_with['callback']})",
             "kpi-callback"),
        _row("Helpful / not helpful", f"{ins.feedback['helpful']} / {ins.feedback['not_helpful']}"
             + (f" ({_pct(ins.helpful_share)} helpful)" if ins.helpful_share is not None else ""), "kpi-feedback"),
    ]
    if ins.operator is not None:
        kpis.append(_row("Operator marks", f"Not right {ins.operator['not_right']}, used {ins.operator['used']}",
                         "kpi-operator"))
    charts = "".join(
        f'<figure class="app-chart{" app-chart--wide" if name == "volume.png" else ""}" id="chart-{name[:-4]}">'
        f'<img src="{esc(_file_href(name, fig, since, until))}" '
        f'alt="{esc(_chart_alt(name, ins))}" width="{800 if name == "volume.png" else 700 if name == "feedback.png" else 600}" '
        f'height="350"><figcaption class="govuk-body-s app-muted">{esc(title)} '
        f'(<a class="govuk-link" href="{esc(_file_href(name, fig, since, until))}">open the chart full size'
        f'<span class="govuk-visually-hidden">: {esc(CHARTS[name])}</span></a>)</figcaption></figure>'
        for name, title in CHART_CAPTIONS.items())
    topics = _simple_table("Question turns per topic", [("Topic", False), ("Questions", True)],
                           [[k, v] for k, v in ins.topics.items()], "topics-table", "No questions in this period.")
    unanswered_rows = []
    for g in ins.unanswered:
        similar = Html('<ul class="govuk-list govuk-body-s">' + "".join(f"<li>{esc(e)}</li>" for e in g.examples[1:])
                       + "</ul>") if g.examples[1:] else "-"
        links = ('<ul class="govuk-list govuk-body-s app-links">' + "".join(
            f'<li><a class="govuk-link app-break" href="{esc(conversation_href(s))}">{esc(s)}</a></li>'
            for s in g.conversations[:5]) + "</ul>")
        unanswered_rows.append(
            f'<tr class="govuk-table__row"><td class="govuk-table__cell govuk-table__cell--numeric" data-label="Times">'
            f'{g.count}</td><td class="govuk-table__cell" data-label="Question">{esc(g.text)}</td>'
            f'<td class="govuk-table__cell" data-label="Similar wordings">{esc(similar)}</td>'
            f'<td class="govuk-table__cell" data-label="Conversations">{links}</td></tr>')
    unanswered = ('<p class="govuk-body" id="unanswered-table">No unanswered questions in this period.</p>'
                  if not unanswered_rows else
                  '<table class="govuk-table app-stack-table" id="unanswered-table"><caption class="govuk-table__caption '
                  'govuk-table__caption--s">Questions the assistant could not answer, alike wordings grouped, most '
                  'asked first</caption><thead class="govuk-table__head"><tr class="govuk-table__row">'
                  '<th scope="col" class="govuk-table__header govuk-table__header--numeric">Times</th>'
                  '<th scope="col" class="govuk-table__header app-width-quarter">Question</th>'
                  '<th scope="col" class="govuk-table__header app-width-third">Similar wordings</th>'
                  '<th scope="col" class="govuk-table__header">Conversations</th></tr></thead>'
                  f'<tbody class="govuk-table__body">{"".join(unanswered_rows)}</tbody></table>')
    if ins.operator is None:
        operator = '<p class="govuk-body" id="operator-table">No operator log to read.</p>'
    else:
        operator = _simple_table("Script cards operators marked \u201cNot right\u201d",
                                 [("Entry", False), ("Not right", True), ("Used", True)],
                                 [[r["entry_id"], r["not_right"], r["used"]] for r in ins.operator["by_entry"]],
                                 "operator-table", "No \u201cNot right\u201d marks in this period.")
    downloads = "".join(
        f'<li><a class="govuk-link" href="{esc(_file_href(name, fig, since, until))}" download>{esc(name)}</a></li>'
        for name in CSV_FILES if (fig.folder / name).exists())
    period = f"From {_day_text(since) if since else 'the start of the log'} to {_day_text(until) if until else 'today'}"
    notes = "".join(f'<p class="govuk-body-s app-muted">{esc(n)}</p>' for n in ins.notes)
    content = pages.fill(
        "review_insights.html", error_summary=error_summary(errors),
        since_field=Html(text_input("i-since", "since", "From", since or request.query.get("since", ""),
                                    width="govuk-input--width-10", error=errors.get("i-since"),
                                    extra=' spellcheck="false" autocomplete="off"')),
        until_field=Html(text_input("i-until", "until", "To", until or request.query.get("until", ""),
                                    width="govuk-input--width-10", error=errors.get("i-until"),
                                    extra=' spellcheck="false" autocomplete="off"')),
        period=period, kpis=Html("".join(kpis)), charts=Html(charts), topics=Html(topics),
        unanswered=Html(unanswered), operator=Html(operator), downloads=Html(downloads), notes=Html(notes))
    title = ("Error: " if errors else "") + f"Insights - {TITLE}"
    return pages.page(title, content, status=400 if errors else 200, **_nav("insights", session))


async def insights_file(request: web.Request, session: auth.Session) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in CHARTS and name not in CSV_FILES:
        raise web.HTTPNotFound()
    console = request.app[CONSOLE]
    key = request.query.get("v", "")
    folder = Path(console.config.cache_dir) / key
    if not (re.fullmatch(r"[0-9a-f]{20}", key) and (folder / "done").exists()):
        since, until, errors = _period(request.query)
        if errors:
            raise web.HTTPBadRequest(text="; ".join(errors.values()))
        await _blocking(console.refresh, time.monotonic())
        folder = (await _blocking(_figures, console, since, until)).folder
    path = folder / name
    if not path.is_file():
        raise web.HTTPNotFound()
    if name.endswith(".png"):
        return web.Response(body=path.read_bytes(), content_type="image/png",
                            headers={"Cache-Control": "private, max-age=3600"})
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return _csv_response(_csv_bytes(rows[0], rows[1:]) if rows else b"", name)


# ---- sign in ---------------------------------------------------------------------------------

def _login_page(next_url: str, error: str = "", username: str = "", status: int = 200) -> web.Response:
    summary = pages.fill("operator_login_error.html", error=error) if error else Html("")
    content = pages.fill("review_login.html", error_summary=summary, next=next_url, username=username,
                         group_class=" govuk-form-group--error" if error else "",
                         input_class=" govuk-input--error" if error else "",
                         error_message=pages.fill("operator_login_field_error.html", error=error) if error else Html(""),
                         described=' aria-describedby="login-error"' if error else "")
    title = ("Error: " if error else "") + f"Sign in - {TITLE}"
    return pages.page(title, content, service_url=BASE, service_name=SERVICE, footer_links=(), status=status)


async def login_form(request: web.Request) -> web.StreamResponse:
    if _session(request):
        return _redirect(_next(request.query.get("next")))
    return _login_page(_next(request.query.get("next")))


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    next_url = _next(form.get("next"))
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    attempt = await auth.attempt_login(request, request.app[SESSIONS], request.app[CREDENTIALS], username, password)
    if attempt.error:
        return _login_page(next_url, attempt.error, username, status=attempt.status)
    resp = _redirect(next_url)
    auth.set_cookie(resp, request, attempt.token, name=COOKIE, path=BASE)
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    form = await request.post()
    if session and auth.csrf_ok(request, session, str(form.get("csrf", ""))):
        request.app[SESSIONS].end(request.cookies.get(COOKIE))
    resp = _redirect(f"{BASE}/login")
    resp.del_cookie(COOKIE, path=BASE)
    return resp


async def switched_off(request: web.Request) -> web.StreamResponse:
    return pages.page(f"Review console switched off - {TITLE}", pages.fill("review_off.html"),
                      service_url=BASE, service_name=SERVICE, footer_links=(), status=401)


async def _close(app: web.Application) -> None:
    app[CONSOLE].close()


def setup(app: web.Application, credentials: auth.Credentials | None, config: Config) -> None:
    """Add the console's routes; without credentials every /review address answers 401."""
    app[ENABLED] = credentials is not None
    if credentials is None:
        app.router.add_route("*", BASE, switched_off)
        app.router.add_route("*", BASE + "/{tail:.*}", switched_off)
        return
    app[CREDENTIALS] = credentials
    app[SESSIONS] = auth.Sessions()
    app[CONSOLE] = Console(config)
    r = app.router
    r.add_get(f"{BASE}/login", login_form)
    r.add_post(f"{BASE}/login", login)
    r.add_post(f"{BASE}/logout", logout)
    r.add_get(BASE, page_route(inbox_page))
    r.add_get(f"{BASE}/", page_route(inbox_page))
    r.add_get(f"{BASE}/conversations.csv", page_route(inbox_csv))
    r.add_post(f"{BASE}/filters", page_route(save_filter, post=True))
    r.add_post(f"{BASE}/filters/delete", page_route(delete_filter, post=True))
    r.add_get(f"{BASE}/conversation", page_route(conversation_page))
    r.add_post(f"{BASE}/conversation/state", page_route(set_state, post=True))
    r.add_post(f"{BASE}/conversation/note", page_route(add_note, post=True))
    r.add_post(f"{BASE}/conversation/amend", page_route(amend, post=True))
    r.add_post(f"{BASE}/conversation/test", page_route(make_test, post=True))
    r.add_get(f"{BASE}/insights", page_route(insights_page))
    r.add_get(f"{BASE}/insights/files/{{name}}", page_route(insights_file))
    app.on_cleanup.append(_close)
