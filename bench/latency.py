"""Latency and throughput over Rasa's REST channel, with peak memory of the servers.

Sends N messages (questions from the evaluation set, one conversation per message) with
concurrency C and prints p50, p95 and max latency, messages per second, and the peak RSS
(VmHWM) of the rasa and action-server processes.

    .venv/bin/python bench/latency.py --start -n 500 -c 1 -c 10
    .venv/bin/python bench/latency.py --url http://127.0.0.1:5005 -n 500 -c 10   # running server
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent


def questions() -> list[str]:
    data = yaml.safe_load((ROOT / "tests" / "eval" / "questions.yml").read_text())
    return [q["text"] for q in data["questions"]]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def server_pids() -> dict[str, list[int]]:
    """Rasa and action-server processes, found by command line."""
    found: dict[str, list[int]] = {"rasa": [], "actions": []}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = (Path("/proc") / pid / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "rasa_sdk" in cmd and "--actions" in cmd:
            found["actions"].append(int(pid))
        elif "bin/rasa run" in cmd or "rasa_launch run" in cmd:
            found["rasa"].append(int(pid))
    return found


def peak_rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def run(url: str, n: int, concurrency: int, texts: list[str]) -> dict[str, float]:
    endpoint = url.rstrip("/") + "/webhooks/rest/webhook"
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=concurrency)
    session.mount("http://", adapter)
    errors = 0

    def one(i: int) -> float:
        nonlocal errors
        start = time.perf_counter()
        try:
            r = session.post(endpoint, json={"sender": uuid.uuid4().hex, "message": texts[i % len(texts)]}, timeout=30)
            if r.status_code != 200 or not r.json():
                errors += 1
        except requests.RequestException:
            errors += 1
        return (time.perf_counter() - start) * 1000

    begin = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(n)))
    elapsed = time.perf_counter() - begin
    return {"n": n, "c": concurrency, "p50": statistics.median(latencies), "p95": percentile(latencies, 95),
            "max": max(latencies), "rate": n / elapsed, "errors": errors}


def start_stack() -> tuple[subprocess.Popen, str]:
    ports = {"ACTION_PORT": "5155", "RASA_PORT": "5105", "WEB_PORT": "8100"}
    env = {**os.environ, **ports, "TRACKER_DB": str(Path(tempfile.mkdtemp()) / "bench.db")}
    proc = subprocess.Popen([str(ROOT / "scripts" / "run.sh")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    for line in proc.stdout:  # type: ignore[union-attr]
        print("  " + line.rstrip())
        if "ready" in line:
            return proc, f"http://127.0.0.1:{ports['RASA_PORT']}"
        if "failed" in line or "timed out" in line:
            break
    raise SystemExit("bench: the servers did not start; see var/*.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("-c", type=int, action="append", help="concurrency (repeatable)")
    parser.add_argument("--start", action="store_true", help="start the servers for the run, then stop them")
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    proc = None
    url = args.url
    if args.start:
        proc, url = start_stack()
    try:
        texts = questions()
        run(url, args.warmup, 1, texts)
        print(f"{'N':>5} {'C':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'msg/s':>7} {'errors':>6}")
        for c in args.c or [1, 10]:
            r = run(url, args.n, c, texts)
            print(f"{r['n']:>5} {r['c']:>3} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['max']:>8.1f} {r['rate']:>7.1f} {r['errors']:>6}")
        pids = server_pids()
        print(f"peak RSS: rasa {peak_rss_mb(pids['rasa']):.0f} MB, action server {peak_rss_mb(pids['actions']):.0f} MB")
    finally:
        if proc:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(30)


if __name__ == "__main__":
    sys.exit(main())
