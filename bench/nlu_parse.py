"""NLU parse latency of a trained model, in process (no HTTP, no dialogue policies).

Loads the model with rasa's Agent and times ``agent.parse_message`` (the whole NLU pipeline:
tokenizer, featurizers including the sentence encoder, DIET, entity extractors, fallback) on
the first N questions of tests/eval/questions.yml, one message at a time after a warm-up.
Prints and writes median, p95 and max milliseconds. Timings depend on what else the machine
runs; compare models in the same session.

    .venv/bin/python bench/nlu_parse.py --model models/trial.tar.gz -n 200
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # custom components (bot.nlu_encoder) named in the model


def questions() -> list[str]:
    data = yaml.safe_load((ROOT / "tests" / "eval" / "questions.yml").read_text())
    return [q["text"] for q in data["questions"]]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, as bench/latency.py computes it."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("-n", type=int, default=200, help="questions to parse (default 200)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "nlu_parse.txt")
    args = parser.parse_args()
    with contextlib.redirect_stderr(io.StringIO()):
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.ERROR)
        for name in ("rasa", "tensorflow", "absl"):
            logging.getLogger(name).setLevel(logging.ERROR)
        start = time.perf_counter()
        agent = Agent.load(str(args.model))
        loaded = time.perf_counter() - start
    warnings.filterwarnings("ignore")
    texts = questions()[: args.n]

    async def run() -> list[float]:
        for text in texts[:10]:  # warm-up: first calls build TensorFlow's graph
            await agent.parse_message(text)
        times = []
        for text in texts:
            t0 = time.perf_counter()
            await agent.parse_message(text)
            times.append((time.perf_counter() - t0) * 1000)
        return times

    ms = asyncio.run(run())
    text = (f"NLU parse latency, bench/nlu_parse.py, {time.strftime('%Y-%m-%d %H:%M')}, model {args.model}"
            f" (loaded in {loaded:.1f} s)\n"
            f"{len(ms)} questions from tests/eval/questions.yml, one at a time, after 10 warm-up parses;"
            f" {os.cpu_count()} cores, shared with other work (noisy)\n"
            f"median {statistics.median(ms):.1f} ms, p95 {percentile(ms, 95):.1f} ms, max {max(ms):.1f} ms,"
            f" mean {statistics.mean(ms):.1f} ms\n")
    print(text, end="")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a", encoding="utf-8") as out:  # appended: the file is the history of runs
        out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
