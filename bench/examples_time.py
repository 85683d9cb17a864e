"""Matching time per message with and without the labelled examples (faq/examples.yml).

The sentence vectors of each message (and of a long message's sentences, which the detector
also judges) are computed first and cached, so the figures are the matcher's own work (fuzzy
ratios, coverage, classifier, detector), which the examples grow. The sentences' encoding, a
cost only long messages pay, is timed on its own.

    .venv/bin/python bench/examples_time.py --questions tests/eval/questions.yml
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import examples_cv  # noqa: E402
from bot import kb, settings  # noqa: E402
from bot.evaluation import load_questions  # noqa: E402
from bot.match import Matcher, _part_vectors, _query_vector  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "eval" / "questions.yml")
    parser.add_argument("-n", type=int, default=305, help="the last N questions are timed (305: the two newest sets)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "examples_time.txt")
    args = parser.parse_args()
    lines = [f"bench/examples_time.py -n {args.n}, {time.strftime('%Y-%m-%d %H:%M')}"]

    def say(line: str) -> None:
        print(line)
        lines.append(line)

    texts = [q.text for q in load_questions(args.questions)][-args.n:]
    for t in texts:
        _query_vector(t)
    long = [t for t in texts if settings.PART_WORDS and len(t.split()) >= settings.PART_WORDS]
    part_times = []
    for t in long:
        start = time.perf_counter()
        _part_vectors(t)
        part_times.append((time.perf_counter() - start) * 1000)
    if part_times:
        part_times.sort()
        say(f"sentences of the {len(long)} messages of {settings.PART_WORDS}+ words: encoding median "
            f"{statistics.median(part_times):.2f} ms, max {part_times[-1]:.2f} ms (extra encoder work, not below)")
    for name, base in (("without examples", examples_cv.kb_without_examples()), ("with examples", kb.load(settings.FAQ_DIR))):
        matcher = Matcher(base)
        for t in texts[:20]:
            matcher.match(t)
        times = []
        for t in texts:
            start = time.perf_counter()
            matcher.match(t)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        say(f"{name}: {len(matcher._keys)} texts, median {statistics.median(times):.2f} ms, "
            f"p95 {times[int(0.95 * len(times))]:.2f} ms over {len(times)} messages")
        split = [t for t in long if matcher._oos is not None
                 and Matcher._judge_parts(t, matcher._oos.probability(_query_vector(t)))]
        say(f"  of the {len(long)} long messages, {len(split)} are doubtful enough to have their sentences encoded"
            + (" (in sample: the examples include these questions)" if name == "with examples" else ""))

    with args.results.open("a", encoding="utf-8") as out:  # appended: the file is the history of runs
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
