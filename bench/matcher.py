"""Per-lookup time of bot.match at the real knowledge-base size and scaled to 500 entries.

The scaled knowledge base repeats the real entries under new ids (with a suffix word so
phrasings are not identical), which keeps the text statistics realistic.

    .venv/bin/python bench/matcher.py
"""
from __future__ import annotations

import dataclasses
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot import kb  # noqa: E402
from bot.match import Matcher  # noqa: E402


def scaled(base: kb.KnowledgeBase, size: int) -> kb.KnowledgeBase:
    entries = dict(base.entries)
    originals = list(base.entries.values())
    i = 0
    while len(entries) < size:
        e = originals[i % len(originals)]
        copy_no = i // len(originals) + 1
        new = dataclasses.replace(e, id=f"{e.id}-copy{copy_no}",
                                  question=f"{e.question} variant{copy_no}",
                                  alternates=tuple(f"{a} variant{copy_no}" for a in e.alternates))
        entries[new.id] = new
        i += 1
    return dataclasses.replace(base, entries=entries)


def measure(matcher: Matcher, texts: list[str], rounds: int = 3) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        for t in texts:
            start = time.perf_counter()
            matcher.match(t)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    base = kb.load(ROOT / "faq")
    texts = [q["text"] for q in yaml.safe_load((ROOT / "tests/eval/questions.yml").read_text())["questions"]]
    print(f"{'entries':>8} {'phrasings':>10} {'build ms':>9} {'median ms':>10} {'p95 ms':>8} {'index MB':>9}")
    for size in (len(base.entries), 500):
        target = scaled(base, size)
        tracemalloc.start()
        start = time.perf_counter()
        matcher = Matcher(target)
        build = (time.perf_counter() - start) * 1000
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        p50, p95 = measure(matcher, texts)
        phrasings = sum(len(e.phrasings) for e in target.entries.values())
        print(f"{len(target.entries):>8} {phrasings:>10} {build:>9.0f} {p50:>10.2f} {p95:>8.2f} {peak / 2**20:>9.1f}")


if __name__ == "__main__":
    main()
