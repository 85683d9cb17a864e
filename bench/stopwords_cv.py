"""Stop-word variants (bot.text.STOPWORDS), cross-validated by author with the examples
(writes bench/results/stopwords_cv.txt).

Each author block of the tuning split is scored by a matcher whose examples come from the
other blocks (as bench/examples_cv.py does); the held-out split is scored with all the tuning
examples and only reported. The NLU parses are the trained model's (cached).

    .venv/bin/python bench/stopwords_cv.py
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import examples_cv as cv  # noqa: E402
import retrieval  # noqa: E402
from bot import text  # noqa: E402
from bot.evaluation import Report, load_questions  # noqa: E402
from bot.match import Matcher  # noqa: E402

CURRENT = text.STOPWORDS
VARIANTS = {
    "current (many, much kept)": CURRENT,
    "many and much as stop words": CURRENT | {"many", "much"},
}


def main() -> None:
    questions = load_questions(cv.QUESTIONS)
    blocks = cv.author_blocks(cv.QUESTIONS)
    tune = [(q, b) for q, b in zip(questions, blocks) if q.split == "tune"]
    held = [q for q in questions if q.split == "heldout"]
    nlu = retrieval.parses([q.text for q, _ in tune] + [q.text for q in held])
    base = cv.kb_without_examples()
    topic_of = {e.id: e.topic for e in base.entries.values()}
    rows: dict[str, list] = defaultdict(list)
    try:
        for block in sorted({b for _, b in tune}):
            test = [q for q, b in tune if b == block]
            kbase = cv.with_examples(base, [q for q, b in tune if b != block])
            for name, words in VARIANTS.items():
                text.STOPWORDS = words  # read at match time by bot.text.Normaliser.tokens
                rows[name] += retrieval.evaluate(kbase, Matcher(kbase), test, nlu).rows
            print(f"  block {block} done", flush=True)
        lines = [cv.header("stop words (with examples)")]
        lines += [cv.line(f"{name}: tune, by author", Report(rows=rows[name], topic_of=topic_of).figures())
                  for name in VARIANTS]
        kbase = cv.with_examples(base, [q for q, _ in tune])
        for name, words in VARIANTS.items():
            text.STOPWORDS = words
            report = retrieval.evaluate(kbase, Matcher(kbase), held, nlu)
            lines.append(cv.line(f"{name}: held-out", Report(rows=report.rows, topic_of=topic_of).figures()))
    finally:
        text.STOPWORDS = CURRENT
    lines.append(f"{len({b for _, b in tune})} author blocks; held-out only reported.")
    out = "\n".join(lines)
    print(out)
    (ROOT / "bench" / "results" / "stopwords_cv.txt").write_text(out + "\n")


if __name__ == "__main__":
    main()
