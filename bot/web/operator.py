"""The operator console (``/operator``): find a script card while on the phone, say whether
it was right, and work the queue of callback requests from the web chat.

Search uses the assistant's own matcher (``bot.match``), built once per process from the same
knowledge base, so an operator sees what the assistant would find. Sector, nation and scheme
filters go in as the conversation context the assistant would use, and entries limited to
something else are left out. Everything here needs a signed-in operator (``auth.py``).
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from aiohttp import web

from .. import callbacks, respond, settings
from .. import kb as kb_module
from ..kb import APPLIES_TO_VALUES, CONTEXT_VALUE_KEY, Entry, KnowledgeBase
from ..match import ANSWER, CLARIFY, SECTOR_SCHEME, UNKNOWN, Context, MatchResult, get_matcher
from ..operator_log import VERDICTS, OperatorLog
from ..redact import redact
from . import auth, pages
from .pages import Html, NavItem, esc

CREDENTIALS = web.AppKey("operator_credentials", auth.Credentials)
SESSIONS = web.AppKey("operator_sessions", auth.Sessions)
LOG = web.AppKey("operator_log", OperatorLog)
QUEUE = web.AppKey("operator_queue", callbacks.CallbackStore)
ENABLED = web.AppKey("operator_enabled", bool)

SERVICE = "Mutuals information line: operators"
LIMIT = 5
CHOICE_GAP = 20  # as in bot.match.MatchResult.options: within 20 points of the top is a choice
MAX_QUERY = 300
UK = ZoneInfo("Europe/London")
# Filter name -> (context slot the matcher knows, applies_to key in faq/).
FILTERS = {"sector": ("sector", "sectors"), "nation": ("nation", "nations"), "scheme": ("pension_scheme", "schemes")}
LABELS = {
    "sectors": {"nhs": "NHS", "local_government": "Local government", "civil_service": "Civil service",
                "schools": "Schools", "social_care": "Social care"},
    "nations": dict(respond.NATION_NAMES),
    "schemes": {"nhsps": "NHS Pension Scheme", "lgps": "Local Government Pension Scheme",
                "pcsps": "Civil Service Pension Scheme", "tps": "Teachers' Pension Scheme"},
}
BANDS = {ANSWER: ("Strong match", "govuk-tag--green"), CLARIFY: ("Possible match", "govuk-tag--yellow"),
         UNKNOWN: ("Weak match", "govuk-tag--grey")}
WOULD = {ANSWER: "The assistant would give the first card's answer.",
         CLARIFY: "The assistant would offer the first few cards as choices.",
         UNKNOWN: "The assistant would say it does not know and give the phone line."}


def enabled(app: web.Application) -> bool:
    return app.get(ENABLED, False)


# ---- search ---------------------------------------------------------------------------------

def clean_filters(raw: Any) -> dict[str, str]:
    """Known filter values only; anything else is ignored rather than trusted."""
    out: dict[str, str] = {}
    for name, (_, key) in FILTERS.items():
        value = raw.get(name) if hasattr(raw, "get") else None
        if isinstance(value, str) and value in APPLIES_TO_VALUES[key]:
            out[name] = value
    return out


def fits(entry: Entry, filters: dict[str, str]) -> bool:
    """False when the entry is limited to something other than what the filters name."""
    wanted = dict(filters)
    if "sector" in wanted and "scheme" not in wanted and wanted["sector"] in SECTOR_SCHEME:
        wanted["scheme"] = SECTOR_SCHEME[wanted["sector"]]
    for name, value in wanted.items():
        allowed = entry.applies_to.get(FILTERS[name][1])
        if allowed and value not in allowed:
            return False
    return True


def band_of(score: float, top_score: float) -> str:
    """A runner-up's band, by the assistant's own rule for which entries it offers as
    choices (``MatchResult.options``): close enough to the top and above the clarify floor."""
    if score >= max(settings.CLARIFY_SCORE, top_score - CHOICE_GAP):
        return CLARIFY
    return UNKNOWN


def _date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def applies_text(entry: Entry) -> str:
    parts = []
    for key in ("nations", "sectors", "schemes", "legal_forms"):
        values = entry.applies_to.get(key)
        if values:
            labels = LABELS.get(key, {})
            parts.append(", ".join(labels.get(v, v.replace("_", " ")) for v in values))
    return "; ".join(parts) or "Everyone (no limits set)"


def versions_list(kb: KnowledgeBase, entry: Entry) -> list[dict[str, str]]:
    """The entry's versions for other contexts, one line per entry ("NHS or NHS Pension Scheme"),
    so an operator whose caller turns out to be in Wales or at the council can switch answers."""
    named: dict[str, list[str]] = {}
    for value, target in entry.versions.items():
        if target in kb.entries:
            key = CONTEXT_VALUE_KEY[value]
            named.setdefault(target, []).append(LABELS.get(key, {}).get(value, value.replace("_", " ")))
    return [{"for": " or ".join(labels), "id": target, "question": kb.entries[target].question}
            for target, labels in named.items()]


def card(kb: KnowledgeBase, entry: Entry, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the operator reads aloud or passes on, for one entry."""
    today = today or dt.date.today()
    return {
        "id": entry.id, "topic": entry.topic, "question": entry.question, "answer": entry.answer,
        "say": entry.script.say, "ask": list(entry.script.ask),
        "referrals": [respond.referral_card(kb.organisations[o]) for o in entry.refer if o in kb.organisations],
        "sources": [{"title": s.title, "url": s.url, "date": s.date} for s in entry.sources],
        "applies_to": applies_text(entry), "versions": versions_list(kb, entry), "owner": entry.owner,
        "last_reviewed": entry.last_reviewed.isoformat(), "last_reviewed_text": _date(entry.last_reviewed),
        "review_due": entry.review_due.isoformat(), "review_due_text": _date(entry.review_due),
        "overdue": entry.review_due < today,
    }


def search(kb: KnowledgeBase, query: str, filters: dict[str, str]) -> dict[str, Any]:
    """The top five entries that fit the filters, each with its band and its script card."""
    query = " ".join(query.split())[:MAX_QUERY]
    if not query:
        return {"query": "", "results": [], "band": None, "would": ""}
    context = Context(mentioned={FILTERS[k][0]: v for k, v in filters.items()})
    result: MatchResult = get_matcher(kb).match(query, None, context, limit=LIMIT * 4)
    kept = [c for c in result.candidates if fits(c.entry, filters)][:LIMIT]
    results = []
    for rank, cand in enumerate(kept, 1):
        # The first result carries the assistant's own band (which also weighs the runner-up).
        top_score = result.top.score if result.top else 0.0
        band = result.band if rank == 1 and cand is result.top else band_of(cand.score, top_score)
        label, tag = BANDS[band]
        if rank > 1 and band == UNKNOWN:
            label = "Less likely"  # well behind the first card: the assistant would not offer it
        results.append({"rank": rank, "id": cand.id, "question": cand.entry.question, "topic": cand.entry.topic,
                        "score": round(cand.score, 1), "band": band, "band_label": label, "band_class": tag,
                        "card": card(kb, cand.entry)})
    top_band = results[0]["band"] if results else UNKNOWN
    return {"query": query, "results": results, "band": top_band, "would": WOULD[top_band]}


# ---- auth glue ------------------------------------------------------------------------------

def _session(request: web.Request) -> auth.Session | None:
    return request.app[SESSIONS].get(request.cookies.get(auth.COOKIE))


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


Handler = Callable[[web.Request, auth.Session], Awaitable[web.StreamResponse]]


def page_route(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Signed out: go to the sign-in page, then come back here."""
    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = _session(request)
        if session is None:
            return _redirect("/operator/login?next=" + auth.safe_next(request.path_qs))
        return await handler(request, session)
    return wrapped


def api_route(handler: Handler, post: bool = False) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Signed out: 401. A POST also needs the session's CSRF token in a header."""
    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = _session(request)
        if session is None:
            return web.json_response({"error": "Sign in to use the operator console."}, status=401)
        if post and not auth.csrf_ok(request, session):
            return web.json_response({"error": "The page is out of date: reload it."}, status=403)
        return await handler(request, session)
    return wrapped


def _nav(current: str, session: auth.Session, queue: callbacks.CallbackStore) -> dict[str, Any]:
    waiting = len(queue.list())
    items = [NavItem("/operator", "Find a script", current == "search"),
             NavItem("/operator/queue", f"Callback requests ({waiting})", current == "queue"),
             NavItem("/operator/log", "Feedback log", current == "log")]
    sign_out = Html(f'<form method="post" action="/operator/logout" class="app-inline-form">'
                    f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'
                    f'<button type="submit" class="app-link-button govuk-service-navigation__link">'
                    f'Sign out</button></form>')
    return {"nav": items, "nav_end": sign_out, "service_url": "/operator", "service_name": SERVICE,
            "footer_links": (), "styles": ("/static/app.css",)}


# ---- pages ----------------------------------------------------------------------------------

def _options(key: str, label: str) -> Html:
    opts = [f'<option value="">Any {esc(label)}</option>']
    opts += [f'<option value="{esc(v)}">{esc(LABELS[key].get(v, v))}</option>' for v in APPLIES_TO_VALUES[key]]
    return Html("".join(opts))


async def console(request: web.Request, session: auth.Session) -> web.StreamResponse:
    content = pages.fill("operator_console.html", sector_options=_options("sectors", "sector"),
                         nation_options=_options("nations", "nation"), scheme_options=_options("schemes", "scheme"))
    return pages.page("Find a script - Mutuals information line operators", content,
                      scripts=["/static/operator.js"], main_attrs=Html(f'data-csrf="{esc(session.csrf)}"'),
                      **_nav("search", session, request.app[QUEUE]))


def _when(created: str | None) -> str:
    if not created:
        return ""
    try:
        t = dt.datetime.fromisoformat(created).astimezone(UK)
    except ValueError:
        return created
    return f"{t.day} {t:%B %Y} at {t:%H:%M}"


def _contact_link(contact: str) -> Html:
    if "@" in contact:
        return Html(f'<a class="govuk-link" href="mailto:{esc(contact)}">{esc(contact)}</a>')
    tel = "".join(c for c in contact if c.isdigit() or c == "+")
    return Html(f'<a class="govuk-link" href="tel:{esc(tel)}">{esc(contact)}</a>')


def _row(key: str, value: object) -> str:
    return (f'<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">{esc(key)}</dt>'
            f'<dd class="govuk-summary-list__value">{esc(value)}</dd></div>')


def _request_card(req: dict[str, Any], csrf: str) -> str:
    rows = [_row("Received", _when(req["created"])), _row("Contact", _contact_link(req["contact"])),
            _row("When to call", callbacks.TIMES.get(req["preferred_time"], req["preferred_time"])),
            _row("About", req["about"])]
    if req["done"]:
        rows.append(_row("Done", f"{_when(req.get('done_at'))} by {req.get('done_by') or 'an operator'}"))
        action = ""
    else:
        action = (f'<form method="post" action="/operator/queue/{int(req["id"])}/done" class="app-inline-form">'
                  f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
                  f'<button type="submit" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0">'
                  f'Mark as done<span class="govuk-visually-hidden"> (request {int(req["id"])})</span></button></form>')
    status = ('<strong class="govuk-tag govuk-tag--grey">Done</strong>' if req["done"]
              else '<strong class="govuk-tag govuk-tag--blue">Waiting</strong>')
    return (f'<div class="govuk-summary-card app-request" id="request-{int(req["id"])}" data-done="{int(req["done"])}">'
            f'<div class="govuk-summary-card__title-wrapper"><h3 class="govuk-summary-card__title">'
            f'Request {int(req["id"])}: {esc(req["name"])} {status}</h3></div>'
            f'<div class="govuk-summary-card__content"><dl class="govuk-summary-list">{"".join(rows)}</dl>'
            f'{action}</div></div>')


async def queue_page(request: web.Request, session: auth.Session) -> web.StreamResponse:
    store = request.app[QUEUE]
    waiting, done = store.list(), store.list_done(20)
    banner = ""
    marked = request.query.get("done", "")
    if marked.isdigit():
        banner = pages.fill("operator_done_banner.html", ref=marked)
    open_html = "".join(_request_card(r, session.csrf) for r in waiting) or \
        '<p class="govuk-body" id="queue-empty">No callback requests are waiting.</p>'
    done_html = "".join(_request_card(r, session.csrf) for r in done) or \
        '<p class="govuk-body">None yet.</p>'
    content = pages.fill("operator_queue.html", banner=banner, count=str(len(waiting)),
                         plural="" if len(waiting) == 1 else "s", waiting=Html(open_html), done=Html(done_html))
    return pages.page("Callback requests - Mutuals information line operators", content,
                      **_nav("queue", session, store))


async def mark_done(request: web.Request, session: auth.Session) -> web.StreamResponse:
    form = await request.post()
    if not auth.csrf_ok(request, session, str(form.get("csrf", ""))):
        return web.Response(status=403, text="The page was out of date. Go back and reload it.")
    ref = request.match_info["ref"]
    if not ref.isdigit() or request.app[QUEUE].get(int(ref)) is None:
        raise web.HTTPNotFound()
    request.app[QUEUE].mark_done(int(ref), session.username)
    return _redirect(f"/operator/queue?done={int(ref)}")


async def log_page(request: web.Request, session: auth.Session) -> web.StreamResponse:
    log = request.app[LOG]
    kb = kb_module.get()
    rows = []
    for v in log.recent(50):
        entry = kb.entries.get(v["entry_id"])
        filters = ", ".join(f"{k}: {val}" for k, val in v["filters"].items())
        tag = "govuk-tag--red" if v["verdict"] == "not_right" else "govuk-tag--green"
        rows.append(
            f'<li class="app-verdict"><p class="govuk-body govuk-!-margin-bottom-1">'
            f'<strong class="govuk-tag {tag}">{esc(VERDICTS[v["verdict"]])}</strong> '
            f'<span class="app-verdict__query">\u201c{esc(v["query"])}\u201d</span>'
            + (f' <span class="app-muted">({esc(filters)})</span>' if filters else "")
            + f'</p><p class="govuk-body-s govuk-!-margin-bottom-0">Card: {esc(entry.question if entry else v["entry_id"])}'
            f'<br>{esc(_when(v["created"]))}, {esc(v["operator"])}</p></li>')
    summary = []
    for s in log.by_entry():
        entry = kb.entries.get(s["entry_id"])
        summary.append(f'<tr class="govuk-table__row"><td class="govuk-table__cell">'
                       f'{esc(entry.question if entry else s["entry_id"])}</td>'
                       f'<td class="govuk-table__cell govuk-table__cell--numeric">{int(s["not_right"])}</td>'
                       f'<td class="govuk-table__cell govuk-table__cell--numeric">{int(s["used"])}</td></tr>')
    comments = []
    for c in log.comments(limit=50):
        entry = kb.entries.get(c["entry_id"] or "")
        comments.append(f'<tr class="govuk-table__row"><td class="govuk-table__cell">{esc(_when(c["created"]))}</td>'
                        f'<td class="govuk-table__cell">{esc(entry.question if entry else c["entry_id"] or "-")}</td>'
                        f'<td class="govuk-table__cell">{esc(c["comment"])}</td></tr>')
    empty = '<tr class="govuk-table__row"><td class="govuk-table__cell" colspan="{n}">Nothing recorded yet.</td></tr>'
    content = pages.fill("operator_log.html",
                         rows=Html("".join(rows) or '<li class="app-verdict">Nothing recorded yet.</li>'),
                         summary=Html("".join(summary) or empty.format(n=3)),
                         comments=Html("".join(comments) or empty.format(n=3)))
    return pages.page("Feedback log - Mutuals information line operators", content,
                      **_nav("log", session, request.app[QUEUE]))


# ---- JSON API -------------------------------------------------------------------------------

async def api_search(request: web.Request, session: auth.Session) -> web.StreamResponse:
    data = search(kb_module.get(), request.query.get("q", ""), clean_filters(request.query))
    return web.json_response(data)


async def api_verdict(request: web.Request, session: auth.Session) -> web.StreamResponse:
    """Record "Used this" / "Not right" with the query; rank, score and band are recomputed here."""
    try:
        body = await request.json()
    except Exception:  # noqa: BLE001
        body = {}
    body = body if isinstance(body, dict) else {}
    kb = kb_module.get()
    query, entry_id, verdict = body.get("query"), body.get("entry_id"), body.get("verdict")
    if not isinstance(query, str) or not query.strip() or entry_id not in kb.entries or verdict not in VERDICTS:
        return web.json_response({"error": "Need a query, a known entry and a verdict (used or not_right)."},
                                 status=422)
    filters = clean_filters(body.get("filters") or {})
    found = next((r for r in search(kb, query, filters)["results"] if r["id"] == entry_id), None)
    # Operators type what callers say: personal details are taken out, as in the chat's log.
    ref = request.app[LOG].add(operator=session.username, query=redact(" ".join(query.split())[:MAX_QUERY]).text,
                               entry_id=entry_id, verdict=verdict, rank=found["rank"] if found else None,
                               score=found["score"] if found else None, band=found["band"] if found else None,
                               filters=filters, kb_version=kb.version)
    return web.json_response({"id": ref, "message": f"Recorded \u201c{VERDICTS[verdict]}\u201d. Thank you."})


async def api_queue(request: web.Request, session: auth.Session) -> web.StreamResponse:
    include_done = request.query.get("all") == "1"
    return web.json_response({"requests": request.app[QUEUE].list(include_done)})


# ---- sign in --------------------------------------------------------------------------------

def _login_page(next_url: str, error: str = "", username: str = "", status: int = 200) -> web.Response:
    summary = pages.fill("operator_login_error.html", error=error) if error else Html("")
    content = pages.fill("operator_login.html", error_summary=summary, next=next_url, username=username,
                         group_class=" govuk-form-group--error" if error else "",
                         input_class=" govuk-input--error" if error else "",
                         error_message=pages.fill("operator_login_field_error.html", error=error) if error else Html(""),
                         described=' aria-describedby="login-error"' if error else "")
    title = ("Error: " if error else "") + "Sign in - Mutuals information line operators"
    return pages.page(title, content, service_url="/operator", service_name=SERVICE, footer_links=(),
                      status=status)


async def login_form(request: web.Request) -> web.StreamResponse:
    if _session(request):
        return _redirect(auth.safe_next(request.query.get("next")))
    return _login_page(auth.safe_next(request.query.get("next")))


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    next_url = auth.safe_next(form.get("next"))
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    attempt = await auth.attempt_login(request, request.app[SESSIONS], request.app[CREDENTIALS], username, password)
    if attempt.error:
        return _login_page(next_url, attempt.error, username, status=attempt.status)
    resp = _redirect(next_url)
    auth.set_cookie(resp, request, attempt.token)
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    form = await request.post()
    if session and auth.csrf_ok(request, session, str(form.get("csrf", ""))):
        request.app[SESSIONS].end(request.cookies.get(auth.COOKIE))
    resp = _redirect("/operator/login")
    resp.del_cookie(auth.COOKIE, path="/operator")
    return resp


async def switched_off(request: web.Request) -> web.StreamResponse:
    if request.path.startswith("/operator/api/"):
        return web.json_response({"error": "The operator console is switched off: no operator login is set up."},
                                 status=401)
    return pages.page("Operator console switched off - Mutuals information line", pages.fill("operator_off.html"),
                      service_url="/operator", service_name=SERVICE, footer_links=(), status=401)


async def _warm(app: web.Application) -> None:
    """Build the matcher before the first search (it trains a small classifier)."""
    await asyncio.get_running_loop().run_in_executor(None, get_matcher, kb_module.get())


def setup(app: web.Application, credentials: auth.Credentials | None, queue: callbacks.CallbackStore,
          feedback: OperatorLog) -> None:
    """Add the console's routes; without credentials every /operator address answers 401."""
    app[ENABLED] = credentials is not None
    if credentials is None:
        app.router.add_route("*", "/operator", switched_off)
        app.router.add_route("*", "/operator/{tail:.*}", switched_off)
        return
    app[CREDENTIALS] = credentials
    app[SESSIONS] = auth.Sessions()
    app[LOG] = feedback
    app[QUEUE] = queue
    r = app.router
    r.add_get("/operator/login", login_form)
    r.add_post("/operator/login", login)
    r.add_post("/operator/logout", logout)
    r.add_get("/operator", page_route(console))
    r.add_get("/operator/", page_route(console))
    r.add_get("/operator/queue", page_route(queue_page))
    r.add_post("/operator/queue/{ref}/done", page_route(mark_done))
    r.add_get("/operator/log", page_route(log_page))
    r.add_get("/operator/api/search", api_route(api_search))
    r.add_post("/operator/api/verdict", api_route(api_verdict, post=True))
    r.add_get("/operator/api/queue", api_route(api_queue))
    app.on_startup.append(_warm)
