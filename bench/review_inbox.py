"""How fast the review inbox loads a page at 10,000 conversations (target: under 1 s).

Builds a SQLite tracker store with 10,000 conversations by replaying the event rows of real
conversations (the review test script, driven through the trained assistant once and kept in
bench/data/review_events.json), with new sender ids, timestamps spread over 90 days and
varied user texts. That is fine for timing; the tests never use replayed rows. Then it builds
the summary index, marks some conversations as reviewed, and times the inbox query (first
page, with and without filters), reporting median and p95 over repeated runs.

    .venv/bin/python bench/review_inbox.py            # 10,000 conversations, SQLite
    .venv/bin/python bench/review_inbox.py --capture  # re-record the event templates (needs the model)
    .venv/bin/python bench/review_inbox.py --url postgresql://postgres@127.0.0.1:5432/EMPTY_DB

Results: bench/results/review_inbox.txt
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bot import evaluation  # noqa: E402
from bot.review import db as rdb  # noqa: E402
from bot.review import index, inbox, marks  # noqa: E402
from bot.review.inbox import Filters  # noqa: E402

TEMPLATES = ROOT / "bench" / "data" / "review_events.json"
RESULTS = ROOT / "bench" / "results" / "review_inbox.txt"
DAY = 86400.0
SUFFIXES = ("", "", "", " please", " for our trust", " in wales", " for council staff", " asap", " thanks",
            " we are a small team", " in scotland", " for a cic")


def capture() -> None:
    """Drive the real assistant through the review test script and keep its event rows."""
    from tests.support.assistant import Assistant
    from tests.support.review_seed import seed

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/capture.db"
        bot = Assistant(tracker_url=url)
        try:
            seed(bot, url)
        finally:
            bot.close()
        engine = sa.create_engine(url)
        events = sa.Table("events", sa.MetaData(), autoload_with=engine)
        convs: dict[str, list[dict]] = {}
        with engine.connect() as conn:
            for r in conn.execute(sa.select(events).order_by(events.c.id)):
                convs.setdefault(r.sender_id, []).append(
                    {"type_name": r.type_name, "timestamp": r.timestamp, "intent_name": r.intent_name,
                     "action_name": r.action_name, "data": json.loads(r.data)})
        engine.dispose()
    TEMPLATES.parent.mkdir(parents=True, exist_ok=True)
    TEMPLATES.write_text(json.dumps({"captured": time.strftime("%Y-%m-%d"), "conversations": list(convs.values())}))
    print(f"captured {len(convs)} conversations ({sum(map(len, convs.values()))} events) to {TEMPLATES}")


def events_table(metadata: sa.MetaData) -> sa.Table:
    """Rasa 3.6's SQLTrackerStore ``events`` table, column for column."""
    return sa.Table(
        "events", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(255), nullable=False, index=True),
        sa.Column("type_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float),
        sa.Column("intent_name", sa.String(255)),
        sa.Column("action_name", sa.String(255)),
        sa.Column("data", sa.Text),
    )


def generate(url: str, n: int, seed: int = 7) -> tuple[int, float]:
    """Write ``n`` conversations replayed from the templates; returns (events, seconds)."""
    rng = random.Random(seed)
    templates = json.loads(TEMPLATES.read_text())["conversations"]
    questions = [q.text for q in evaluation.load_questions(ROOT / "tests" / "eval" / "questions.yml")]
    engine = sa.create_engine(url, future=True)
    metadata = sa.MetaData()
    events = events_table(metadata)
    metadata.create_all(engine)
    now = time.time()
    start = time.perf_counter()
    rows: list[dict] = []
    total = 0
    with engine.begin() as conn:
        for i in range(n):
            conv = templates[rng.randrange(len(templates))]
            sender = f"bench-{i:05d}-{rng.getrandbits(32):08x}"
            base = now - rng.uniform(0, 90) * DAY
            first = conv[0]["timestamp"]
            for ev in conv:
                data = dict(ev["data"])
                ts = base + (ev["timestamp"] - first)
                data["timestamp"] = ts
                if ev["type_name"] == "user" and not str(data.get("text", "")).startswith("/"):
                    text = rng.choice(questions) if rng.random() < 0.35 else data["text"] + rng.choice(SUFFIXES)
                    data["text"] = text
                    data["parse_data"] = {**data.get("parse_data", {}), "text": text}
                rows.append({"sender_id": sender, "type_name": ev["type_name"], "timestamp": ts,
                             "intent_name": ev["intent_name"], "action_name": ev["action_name"],
                             "data": json.dumps(data)})
            if len(rows) >= 5000:
                conn.execute(sa.insert(events), rows)
                total += len(rows)
                rows = []
        if rows:
            conn.execute(sa.insert(events), rows)
            total += len(rows)
    engine.dispose()
    return total, time.perf_counter() - start


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Median and p95 in milliseconds over ``repeat`` runs (after one warm-up)."""
    result = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, result


def run(url: str, n: int, repeat: int) -> list[str]:
    lines = []
    events, gen_s = generate(url, n)
    lines.append(f"store: {url.split('://')[0]}; {n} conversations, {events} events (generated in {gen_s:.1f} s)")
    db = rdb.ReviewDB(url)
    try:
        t = time.perf_counter()
        report = index.refresh(db, None, rebuild=True)
        lines.append(f"full index build: {time.perf_counter() - t:.1f} s for {report.conversations} conversations")
        rng = random.Random(3)
        senders = [r["sender_id"] for r in inbox.query(db, Filters(), per_page=n).rows]
        for sender in rng.sample(senders, 300):
            marks.set_state(db, sender, rng.choice(("needs_expert", "done", "ignored")), reviewer="bench")
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * DAY))
        cases = {
            "first page, no filter": (Filters(), 1),
            "outcome fallback": (Filters(outcome="fallback"), 1),
            "topic pensions": (Filters(topic="pensions"), 1),
            "low score (<40)": (Filters(low_score=40), 1),
            "thumbs-down": (Filters(thumbs_down=True), 1),
            "handoff or callback": (Filters(handoff=True), 1),
            "state needs expert": (Filters(state="needs_expert"), 1),
            "free text 'pension'": (Filters(text="pension"), 1),
            "free text, two words": (Filters(text="council staff"), 1),
            "last 7 days + topic + answered": (Filters(since=today, topic="tupe", outcome="answered"), 1),
            "page 100, no filter": (Filters(), 100),
        }
        lines.append("")
        lines.append(f"inbox query (count + one page of {inbox.PER_PAGE}), {repeat} runs each:")
        lines.append(f"  {'case':<34} {'matches':>7} {'median ms':>10} {'p95 ms':>8}")
        worst = 0.0
        for name, (f, page) in cases.items():
            med, p95, result = timed(lambda f=f, page=page: inbox.query(db, f, page=page), repeat)
            worst = max(worst, p95)
            lines.append(f"  {name:<34} {result.total:>7} {med:>10.1f} {p95:>8.1f}")
        med, p95, _ = timed(lambda: (index.refresh(db, None), inbox.query(db, Filters())), repeat)
        worst = max(worst, p95)
        lines.append(f"  {'refresh (nothing new) + first page':<34} {'':>7} {med:>10.1f} {p95:>8.1f}")
        cli = [sys.executable, "-m", "bot", "review", "--db", url, "inbox", "--no-refresh"]
        med, p95, _ = timed(lambda: subprocess.run(cli, cwd=ROOT, capture_output=True, check=True), 5)
        lines.append(f"  {'CLI `review inbox` (process start)':<34} {'':>7} {med:>10.1f} {p95:>8.1f}")
        generate_more = n // 100
        extra_url_events = _append(url, generate_more, n)
        t = time.perf_counter()
        report = index.refresh(db, None)
        lines.append(f"  incremental refresh after {generate_more} new conversations ({extra_url_events} events): "
                     f"{(time.perf_counter() - t) * 1000:.0f} ms, {report.conversations} re-summarised")
        lines.append("")
        lines.append(f"worst p95 {worst:.1f} ms: {'PASS' if worst < 1000 else 'FAIL'} (target: inbox page under 1 s)")
    finally:
        db.close()
    return lines


def _append(url: str, count: int, offset: int) -> int:
    """More conversations after indexing (for the incremental refresh figure)."""
    rng = random.Random(11)
    templates = json.loads(TEMPLATES.read_text())["conversations"]
    engine = sa.create_engine(url, future=True)
    events = sa.Table("events", sa.MetaData(), autoload_with=engine)
    rows = []
    now = time.time()
    for i in range(count):
        conv = templates[rng.randrange(len(templates))]
        first = conv[0]["timestamp"]
        for ev in conv:
            data = dict(ev["data"])
            data["timestamp"] = now + (ev["timestamp"] - first)
            rows.append({"sender_id": f"bench-new-{offset + i:05d}", "type_name": ev["type_name"],
                         "timestamp": data["timestamp"], "intent_name": ev["intent_name"],
                         "action_name": ev["action_name"], "data": json.dumps(data)})
    with engine.begin() as conn:
        conn.execute(sa.insert(events), rows)
    engine.dispose()
    return len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="conversations")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--url", help="an EMPTY database to fill (default: a temporary SQLite file)")
    parser.add_argument("--capture", action="store_true", help="re-record the event templates first")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    if args.capture or not TEMPLATES.exists():
        capture()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        started = time.strftime("%Y-%m-%d %H:%M")
        lines = [f"review inbox benchmark, {started}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                 f"SQLAlchemy {sa.__version__}", f"command: .venv/bin/python bench/review_inbox.py -n {args.n}"
                 + (" --url <postgresql>" if args.url else "")]
        lines += run(url, args.n, args.repeat)
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.url and out.exists():
        out.write_text(out.read_text() + "\n" + text)
    else:
        out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
