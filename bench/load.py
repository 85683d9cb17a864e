"""Load on the public channel: C simulated users, each holding multi-turn conversations.

Every user works through dialogues from tests/eval/dialogues*.yml over the web server (the
only thing browsers talk to), each dialogue in a new conversation (a fresh cookie, issued by
the server). Prints p50, p95 and max latency, messages per second, errors, and the peak RSS
of the rasa, action-server and web processes; then checks that the number of user messages
stored in the tracker store equals the number sent (nothing lost).

    .venv/bin/python bench/load.py --start -c 1 -c 10 -c 50 --messages 300
    .venv/bin/python bench/load.py --start --soak 600 --rate 4      # 10-minute steady soak
    .venv/bin/python bench/load.py --start --profile both -c 10      # single vs scaled, side by side
"""
from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latency import peak_rss_mb, percentile, server_pids  # noqa: E402
from bot.evaluation import load_dialogues  # noqa: E402

COOKIE = "mutuals_sid"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    senders: set[str] = field(default_factory=set)
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, sender: str | None, error: str | None) -> None:
        with self.lock:
            self.sent += 1
            self.latencies.append(seconds)
            if sender:
                self.senders.add(sender)
            if error:
                self.errors.append(error)


def scripts() -> list[list[str]]:
    out = []
    for name in ("dialogues.yml", "dialogues_heldout.yml"):
        path = ROOT / "tests" / "eval" / name
        if path.exists():
            out.extend([text for text, _ in d.turns] for d in load_dialogues(path))
    return out


def one_message(session: requests.Session, url: str, text: str, tally: Tally, timeout: float) -> None:
    start = time.perf_counter()
    error = None
    try:
        resp = session.post(url + "/api/chat", json={"message": text}, timeout=timeout)
        if resp.status_code != 200:
            error = f"HTTP {resp.status_code}"
        else:
            messages = resp.json().get("messages") or []
            kinds = [(m.get("custom") or {}).get("kind") for m in messages]
            if not messages:
                error = "empty reply"
            elif "unavailable" in kinds:
                error = "assistant unavailable reply"
    except requests.RequestException as exc:
        error = type(exc).__name__
    cookie = session.cookies.get(COOKIE)
    tally.add(time.perf_counter() - start, cookie.split(".")[0] if cookie else None, error)


def user(url: str, dialogues: list[list[str]], tally: Tally, stop: threading.Event, budget: itertools.count,
         limit: int | None, pace: float, timeout: float, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        session = requests.Session()  # a new conversation: the server issues a new cookie
        for text in rng.choice(dialogues):
            if stop.is_set() or (limit is not None and next(budget) >= limit):
                stop.set()
                return
            began = time.perf_counter()
            one_message(session, url, text, tally, timeout)
            if pace:
                time.sleep(max(0.0, pace - (time.perf_counter() - began)))


def run(url: str, users: int, messages: int | None, seconds: float | None, rate: float | None,
        timeout: float) -> Tally:
    tally, stop, budget = Tally(), threading.Event(), itertools.count()
    pace = users / rate if rate else 0.0  # each user's interval for a steady total rate
    threads = [threading.Thread(target=user, args=(url, scripts(), tally, stop, budget, messages, pace, timeout, i),
                                daemon=True) for i in range(users)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    last = began
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        now = time.perf_counter()
        if seconds is not None and now - began >= seconds:
            stop.set()
        if now - last >= 30:
            last = now
            print(f"  ... {now - began:.0f}s, {tally.sent} messages, {len(tally.errors)} errors", flush=True)
    tally.elapsed = time.perf_counter() - began  # type: ignore[attr-defined]
    return tally


def stored_user_messages(tracker_url: str, senders: set[str]) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(tracker_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT sender_id, COUNT(*) FROM events WHERE type_name = 'user' GROUP BY sender_id"))
        counts = dict(rows.all())
    engine.dispose()
    return sum(counts.get(s, 0) for s in senders)


def report(label: str, tally: Tally, pids: list[int]) -> str:
    ms = [x * 1000 for x in tally.latencies]
    elapsed = getattr(tally, "elapsed", 0.0) or 1e-9
    return (f"{label:<10} n={tally.sent:<5} p50 {statistics.median(ms):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms  "
            f"max {max(ms):7.1f} ms  {tally.sent / elapsed:6.1f} msg/s  errors {len(tally.errors)}  "
            f"peak RSS {peak_rss_mb(pids):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running web server (default: start one with --start)")
    parser.add_argument("--start", action="store_true", help="start the whole assistant for the run")
    parser.add_argument("-c", "--users", type=int, action="append", help="concurrent users (repeatable)")
    parser.add_argument("--messages", type=int, default=300, help="messages per concurrency level")
    parser.add_argument("--soak", type=float, help="run this many seconds at --rate instead")
    parser.add_argument("--rate", type=float, default=4.0, help="soak: total messages per second")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--profile", choices=["single", "scaled", "both"], default="single",
                        help="with --start: the single profile (make run), the scaled one (make scaled), or both "
                             "one after the other in this run")
    args = parser.parse_args()
    if args.start and args.profile == "both":
        for profile in ("single", "scaled"):
            print(f"== {profile} profile", flush=True)
            measure(args, profile)
        return
    measure(args, args.profile if args.start else None)


def measure(args: argparse.Namespace, profile: str | None) -> None:
    stack = scaled = None
    if profile == "single":
        from tests.support.stack import Stack

        print("load: starting the assistant (model load takes 10-30 s)", flush=True)
        stack = Stack(ROOT / "models" / "current.tar.gz").start()
        url, tracker_url = stack.url, f"sqlite:///{stack.tracker_db}"
    elif profile == "scaled":
        from tests.support.scaled import ScaledProfile

        print("load: starting the scaled profile (about a minute)", flush=True)
        scaled = ScaledProfile().start()
        url, tracker_url = scaled.url, scaled.db_url
    elif args.url:
        url, tracker_url = args.url.rstrip("/"), None
    else:
        raise SystemExit("give --url or --start")
    try:
        if stack:
            pids = [p.pid for p in stack.procs] + ([stack.web.proc.pid] if stack.web else [])
        elif scaled:
            pids = scaled.pids()
        else:
            pids = [pid for group in server_pids().values() for pid in group]
        all_senders: set[str] = set()
        sent = 0
        if args.soak:
            users = (args.users or [10])[0]
            print(f"load: soak, {users} users, {args.rate:g} msg/s for {args.soak:.0f} s", flush=True)
            tally = run(url, users, None, args.soak, args.rate, args.timeout)
            print(report(f"soak C={users}", tally, pids))
            all_senders, sent = tally.senders, tally.sent
        else:
            for users in args.users or [1, 10]:
                tally = run(url, users, args.messages, None, None, args.timeout)
                print(report(f"C={users}", tally, pids), flush=True)
                for e in sorted(set(tally.errors))[:5]:
                    print(f"    error: {e} x{tally.errors.count(e)}")
                all_senders |= tally.senders
                sent += tally.sent
        if tracker_url:
            stored = stored_user_messages(tracker_url, all_senders)
            verdict = "nothing lost" if stored == sent else f"MISMATCH: {sent - stored} lost"
            print(f"stored user messages {stored} of {sent} sent: {verdict}", flush=True)
    finally:
        if stack:
            stack.stop()
        if scaled:
            scaled.stop()


if __name__ == "__main__":
    main()
