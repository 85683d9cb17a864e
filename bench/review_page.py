"""How fast the review console's pages load over HTTP at 10,000 conversations (target: the
inbox page under 1 s).

Builds the same store as bench/review_inbox.py (10,000 conversations replayed from the event
rows of real conversations with the assistant, bench/data/review_events.json; fine for timing,
never used by the tests' checks of figures), indexes it, marks some conversations as
reviewed, then starts the real web server (``python -m bot.web.server``, its own process, a
reviewer login set up) and times whole HTTP requests from sign-in cookie to last byte: the
inbox with and without filters, a deep page, a transcript, insights with and without their
charts cached. Every page brings the summary index up to date first, so the figures include
that; one case adds 100 conversations first, so the page also indexes them.

    .venv/bin/python bench/review_page.py                # 10,000 conversations, SQLite
    .venv/bin/python bench/review_page.py --url postgresql://postgres@127.0.0.1:5432/EMPTY_DB

Results: bench/results/review_page.txt
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import platform
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.review_inbox import DAY, _append, generate, timed  # noqa: E402
from bot.review import db as rdb  # noqa: E402
from bot.review import index, inbox, marks  # noqa: E402
from bot.review.inbox import Filters  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "review_page.txt"
TARGET_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """Cookies and whole-page GETs, like a browser without the rendering."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base + path, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def sign_in(self, user: str, password: str) -> None:
        data = urllib.parse.urlencode({"username": user, "password": password, "next": "/review"}).encode()
        with self.opener.open(self.base + "/review/login", data, timeout=60) as resp:
            assert resp.status == 200 and resp.url.endswith("/review"), resp.url


def start_server(url: str, tmp: Path, user: str, password: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPERATOR_", "REVIEW", "TRACKER_DB", "CALLBACK_DB"))}
    env.update(PYTHONPATH=str(ROOT), TRACKER_DB_URL=url, CALLBACK_DB=str(tmp / "callbacks.db"),
               OPERATOR_DB=str(tmp / "operator.db"), OPERATOR_SECRETS_FILE=str(tmp / "none.env"),
               REVIEWER_USERNAME=user, REVIEWER_PASSWORD=password, REVIEW_PROPOSALS_DIR=str(tmp / "proposals"),
               REVIEW_QUESTIONS=str(tmp / "questions.yml"), REVIEW_STORIES=str(tmp / "stories.yml"),
               REVIEW_CACHE_DIR=str(tmp / "cache"))
    log = (tmp / "web.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "bot.web.server", "--port", str(port), "--rasa", "http://127.0.0.1:9"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/review/login", timeout=2) as resp:
                if resp.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"web server did not start; see {tmp / 'web.log'}")


def run(url: str, n: int, repeat: int, tmp: Path) -> tuple[list[str], float]:
    lines = []
    events, gen_s = generate(url, n)
    lines.append(f"store: {url.split('://')[0]}; {n} conversations, {events} events (generated in {gen_s:.1f} s)")
    db = rdb.ReviewDB(url)
    try:
        t = time.perf_counter()
        index.refresh(db, None, rebuild=True)
        lines.append(f"full index build: {time.perf_counter() - t:.1f} s")
        rng = random.Random(3)
        senders = [r["sender_id"] for r in inbox.query(db, Filters(), per_page=n).rows]
        for sender in rng.sample(senders, 300):
            marks.set_state(db, sender, rng.choice(("needs_expert", "done", "ignored")), reviewer="bench")
        inbox.save_filter(db, "unanswered", Filters(outcome="fallback"), reviewer="bench")
        t = rdb.turns
        with db.engine.connect() as conn:  # the conversation with the most turns: the longest transcript page
            longest = conn.execute(sa.select(t.c.sender_id).group_by(t.c.sender_id)
                                   .order_by(sa.func.count().desc(), t.c.sender_id).limit(1)).scalar()
    finally:
        db.close()
    user, password = "bench-reviewer", secrets.token_urlsafe(16)
    proc, base = start_server(url, tmp, user, password)
    worst_inbox = 0.0
    try:
        b = Browser(base)
        b.sign_in(user, password)
        week = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * DAY))
        q = urllib.parse.quote
        cases = {
            "inbox, first page, no filter": "/review",
            "inbox, outcome fallback": "/review?outcome=fallback",
            "inbox, topic pensions + answered": "/review?topic=pensions&outcome=answered",
            "inbox, low score (<40)": "/review?low_score=40",
            "inbox, thumbs-down": "/review?thumbs_down=1",
            "inbox, handoff or callback": "/review?handoff=1",
            "inbox, state needs expert": "/review?state=needs_expert",
            "inbox, free text 'council staff'": "/review?text=council+staff",
            "inbox, last 7 days + topic tupe": f"/review?since={week}&topic=tupe",
            "inbox, page 100": "/review?page=100",
            "inbox, saved filter (redirect + page)": "/review?filter=unanswered",
            "inbox CSV, outcome fallback": "/review/conversations.csv?outcome=fallback",
            f"transcript ({longest})": "/review/conversation?id=" + q(longest),
        }
        lines.append("")
        lines.append(f"whole HTTP requests to the web server (its own process), {repeat} runs each after one warm-up:")
        lines.append(f"  {'page':<46} {'bytes':>8} {'median ms':>10} {'p95 ms':>8}")
        for name, path in cases.items():
            med, p95, (status, body) = timed(lambda path=path: b.get(path), repeat)
            assert status == 200, (name, status, body[:300])
            if name.startswith("inbox,"):
                worst_inbox = max(worst_inbox, p95)
                assert b'id="inbox-table"' in body or b"No conversations match" in body, name
            lines.append(f"  {name:<46} {len(body):>8} {med:>10.1f} {p95:>8.1f}")
        # Insights: the first view computes the figures and draws the charts; later views of
        # the same figures reuse them (the chart files are named by the figures' content).
        start = time.perf_counter()
        status, body = b.get("/review/insights")
        cold = (time.perf_counter() - start) * 1000
        assert status == 200
        charts = [h.replace("&amp;", "&") for h in re.findall(r'<img src="([^"]+)"', body.decode())]
        med, p95, _ = timed(lambda: b.get("/review/insights"), max(5, repeat // 3))
        lines.append(f"  {'insights, first view (figures + 4 charts)':<46} {len(body):>8} {cold:>10.1f} {'':>8}")
        lines.append(f"  {'insights, again (charts cached)':<46} {len(body):>8} {med:>10.1f} {p95:>8.1f}")
        med, p95, _ = timed(lambda: [b.get(c) for c in charts], 5)
        lines.append(f"  {'the 4 chart images':<46} {'':>8} {med:>10.1f} {p95:>8.1f}")
        # New conversations since the last page: the next page indexes them first.
        added = _append(url, n // 100, n)
        start = time.perf_counter()
        status, body = b.get("/review")
        fresh = (time.perf_counter() - start) * 1000
        assert status == 200 and f"{n + n // 100:,} conversations".encode() in body
        worst_inbox = max(worst_inbox, fresh)
        lines.append(f"  {f'inbox after {n // 100} new conversations ({added} events)':<46} {len(body):>8} "
                     f"{fresh:>10.1f} {'(once)':>8}")
    finally:
        proc.terminate()
        proc.wait(15)
    lines.append("")
    verdict = "PASS" if worst_inbox < TARGET_S * 1000 else "FAIL"
    lines.append(f"worst inbox page {worst_inbox:.1f} ms (p95, or the one-off after new conversations): {verdict} "
                 f"(target: the inbox page under {TARGET_S:g} s with 10,000 conversations)")
    return lines, worst_inbox


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="conversations")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--url", help="an EMPTY database to fill (default: a temporary SQLite file)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        lines = [f"review console page benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
                 f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}",
                 f"command: .venv/bin/python bench/review_page.py -n {args.n}" + (" --url <postgresql>" if args.url else "")]
        body, worst = run(url, args.n, args.repeat, Path(tmp))
        lines += body
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(out.read_text() + "\n" + text if args.url and out.exists() else text)
    return 0 if worst < TARGET_S * 1000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
