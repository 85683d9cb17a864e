"""What the labelled examples (faq/examples.yml) buy, measured without scoring a question
against itself (writes bench/results/examples_cv.txt).

Once the tuning questions are examples, the tuning split scores its own copies and says
nothing. So the tuning split is cut into its authors' blocks (each `# ---- ... set` header of
tests/eval/questions.yml starts one; the first author's topic sections are one block), and
each block is scored by a matcher whose examples come from the other blocks only: a new
author's questions, as in use. The NLU model is the trained one (it never sees the examples).
Fresh files given with --extra (written after the examples were exported) are scored against
all of them. Held-out questions are never read.

    .venv/bin/python bench/examples_cv.py                      # with and without examples
    .venv/bin/python bench/examples_cv.py --sweep oos --results bench/results/examples_cv_sweep.txt
                                          # out-of-scope thresholds, cross-validated, with examples
    .venv/bin/python bench/examples_cv.py --sweep nlu --results bench/results/examples_cv_nlu.txt
    .venv/bin/python bench/examples_cv.py --sweep parts --results bench/results/examples_cv_parts.txt
                                          # judging long messages' out-of-scope sentence by sentence
    .venv/bin/python bench/examples_cv.py --weights --results bench/results/examples_cv_weights.txt
                                          # the score's weights (bot.match.Weights), cross-validated
    .venv/bin/python bench/examples_cv.py --extra new.yml --results /tmp/x.txt
    .venv/bin/python bench/examples_cv.py --no-places --results bench/results/examples_cv_no_places.txt
                                          # as if towns and health boards named no nation (data/nlu.yml)
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import retrieval  # noqa: E402
from bot import kb, settings  # noqa: E402
from bot.evaluation import OUT_OF_SCOPE, Question, Report, load_questions  # noqa: E402
from bot.match import Matcher, Weights  # noqa: E402

QUESTIONS = ROOT / "tests" / "eval" / "questions.yml"


def author_blocks(path: Path) -> list[int]:
    """Per question in the file, the number of the author block it is written in."""
    block, out = 0, []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("# ----") and " set" in stripped:
            block += 1
        elif stripped.startswith("- {text:") or stripped.startswith("- text:"):
            out.append(block)
    return out


def kb_without_examples() -> kb.KnowledgeBase:
    """The knowledge base as faq/ has it, minus faq/examples.yml."""
    with tempfile.TemporaryDirectory() as tmp:
        for path in (ROOT / "faq").glob("*.yml"):
            if path.name != "examples.yml":
                shutil.copy(path, tmp)
        return kb.load(Path(tmp))


def with_examples(base: kb.KnowledgeBase, questions: list[Question]) -> kb.KnowledgeBase:
    """``base`` with ``questions`` as its examples, as faq/examples.yml would give them."""
    per_entry: dict[str, list[str]] = defaultdict(list)
    off: list[str] = []
    for q in questions:
        if q.expect == OUT_OF_SCOPE:
            off.append(q.text)
        elif q.expect in base.entries:
            per_entry[q.expect].append(q.text)
    entries = {i: dataclasses.replace(e, examples=tuple(per_entry.get(i, ()))) for i, e in base.entries.items()}
    return dataclasses.replace(base, entries=entries, off_topic=base.off_topic + tuple(off),
                               version=f"{base.version}+{len(questions)}")


# (OOS_PROBABILITY, OOS_OVERRULED_AT, NLU_OOS_OVERRULED_AT, NLU_OOS_OVERRULED_BELOW, PART_WORDS);
# 1e9 = never.
NAMES = ("OOS_PROBABILITY", "OOS_OVERRULED_AT", "NLU_OOS_OVERRULED_AT", "NLU_OOS_OVERRULED_BELOW", "PART_WORDS")
GRIDS = {
    # the detector's threshold and its overrule, and the bar for overruling the NLU
    "oos": [(p, o, n, 0.5, 60) for p in (0.6, 0.7, 0.8) for o in (110, 130, 150, 1e9) for n in (100, 120, 150)],
    # when the NLU's out_of_scope is overruled: match score and detector probability
    "nlu": [(0.7, 150, n, b, 60) for n in (60, 70, 80, 90, 100) for b in (0.2, 0.35, 0.5)],
    # from how many words the detector also judges a message sentence by sentence (0: never)
    "parts": [(0.7, 150, 90, 0.35, w) for w in (0, 20, 30, 45, 60, 80)],
}

# Weight variants (bot.match.Weights fields changed from the defaults), for --weights.
WEIGHT_GRID: dict[str, dict[str, float]] = {
    "current": {},
    "semantic 60": {"semantic": 60.0},
    "semantic 100": {"semantic": 100.0},
    "semantic 120": {"semantic": 120.0},
    "classifier 15": {"classifier": 15.0},
    "classifier 45": {"classifier": 45.0},
    "classifier 60": {"classifier": 60.0},
    "fuzzy 0.4 / coverage 0.6": {"fuzzy": 0.4, "coverage": 0.6},
    "fuzzy 0.7 / coverage 0.3": {"fuzzy": 0.7, "coverage": 0.3},
    "topic prior 0": {"topic_prior": 0.0},
    "topic prior 16": {"topic_prior": 16.0},
}


def score(kbase, matcher, questions, nlu, grid: str | None) -> dict[tuple, Report]:
    """Reports per threshold tuple: the current settings only, or a grid."""
    saved = tuple(getattr(settings, n) for n in NAMES)
    out = {}
    try:
        for triple in (GRIDS[grid] if grid else [saved]):
            for name, value in zip(NAMES, triple):
                setattr(settings, name, value)
            out[triple] = retrieval.evaluate(kbase, matcher, questions, nlu)
    finally:
        for name, value in zip(NAMES, saved):
            setattr(settings, name, value)
    return out


# The nation lookup's own words (data/nlu.yml) before place names were added to it.
NATION_WORDS = {"england", "english", "wales", "welsh", "cymru", "scotland", "scottish", "northern ireland",
                "n ireland", "n.i", "northern irish"}


def without_places(text: str, parsed: dict) -> dict:
    """A parse with the nation entities that a place name, not a nation's own word, gave."""
    kept = [e for e in parsed.get("entities", [])
            if e["entity"] != "nation" or text[e["start"]:e["end"]].lower() in NATION_WORDS]
    return {**parsed, "entities": kept}


def _never(value: float) -> str:
    return "never" if value > 1e6 else f"{value:g}"


def header(label: str) -> str:
    """The column heads of the tables that ``line`` fills."""
    return f"{label:<44}{'n':>6}{'top-1':>8}{'top-3':>8}{'wrong':>8}{'oos n':>6}{'declined':>9}"


def line(name: str, f: dict) -> str:
    return (f"{name:<44}{f['in_scope']:>6}{f['top1']:>8.1%}{f['top3']:>8.1%}{f['answered_wrong']:>8.1%}"
            f"{f['out_of_scope']:>6}{f['oos_declined']:>9.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", choices=sorted(GRIDS), help="a grid of out-of-scope thresholds")
    parser.add_argument("--extra", type=Path, action="append", default=[], help="fresh question file(s)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "examples_cv.txt")
    parser.add_argument("--weights", action="store_true", help="cross-validate the score's weight variants")
    parser.add_argument("--no-places", action="store_true",
                        help="drop nation entities found from a place name (Cardiff, Fife...) rather than a nation's own")
    args = parser.parse_args()

    questions = load_questions(QUESTIONS)
    blocks = author_blocks(QUESTIONS)
    if len(blocks) != len(questions):
        raise SystemExit(f"could not place every question in an author block ({len(blocks)} of {len(questions)})")
    tune = [(q, b) for q, b in zip(questions, blocks) if q.split == "tune"]
    extras = {p.name: load_questions(p) for p in args.extra}
    nlu = retrieval.parses([q.text for q, _ in tune] + [q.text for qs in extras.values() for q in qs])
    notes = []
    if args.no_places:
        nlu = {text: without_places(text, parsed) for text, parsed in nlu.items()}
        notes.append("Nation entities that a place name gave (not a nation's own word) were dropped from the parses.")
    base = kb_without_examples()
    topic_of = {e.id: e.topic for e in base.entries.values()}

    if args.weights:
        return weights_cv(tune, base, nlu, topic_of, args.results, notes)
    lines = [header("examples / setting")]
    for use in ((True,) if args.sweep else (False, True)):
        rows: dict[tuple, list] = defaultdict(list)
        for block in sorted({b for _, b in tune}):
            test = [q for q, b in tune if b == block]
            train = [q for q, b in tune if b != block] if use else []
            kbase = with_examples(base, train)
            for pair, report in score(kbase, Matcher(kbase), test, nlu, args.sweep).items():
                rows[pair] += report.rows
            print(f"  {'with' if use else 'without'} examples: block {block} done", flush=True)
        kbase = with_examples(base, [q for q, _ in tune] if use else [])
        matcher = Matcher(kbase)
        fresh = {name: score(kbase, matcher, qs, nlu, args.sweep) for name, qs in extras.items()}
        for pair, got in rows.items():
            label = "" if not args.sweep else (f", oos {pair[0]:g} <{_never(pair[1])}, "
                                               f"nlu <{_never(pair[2])} & {pair[3]:g}, parts {pair[4] or 'off'}")
            lines.append(line(f"{'with' if use else 'without'}: tune, by author{label}",
                              Report(rows=got, topic_of=topic_of).figures()))
            for name, reports in fresh.items():
                lines.append(line(f"{'with' if use else 'without'}: {name}{label}", reports[pair].figures()))
            print(lines[-1 - len(fresh)], flush=True)
    lines += notes
    lines.append(f"{len({b for _, b in tune})} author blocks; each is scored with the other blocks' questions as "
                 f"examples. Thresholds: answer {settings.ANSWER_SCORE:g}, clarify {settings.CLARIFY_SCORE:g}"
                 + ("" if args.sweep else f", out of scope {settings.OOS_PROBABILITY:g} below "
                    f"{settings.OOS_OVERRULED_AT:g}, NLU's out of scope overruled at {settings.NLU_OOS_OVERRULED_AT:g}")
                 + ".")
    text = "\n".join(lines)
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text + "\n")


def weights_cv(tune: list[tuple[Question, int]], base: kb.KnowledgeBase, nlu: dict, topic_of: dict[str, str],
               results: Path, notes: list[str]) -> None:
    """Each weight variant, scored by author block with the other blocks as examples."""
    lines = [header("weights (with examples)")]
    rows: dict[str, list] = defaultdict(list)
    for block in sorted({b for _, b in tune}):
        test = [q for q, b in tune if b == block]
        kbase = with_examples(base, [q for q, b in tune if b != block])
        for name, change in WEIGHT_GRID.items():
            matcher = Matcher(kbase, dataclasses.replace(Weights(), **change))
            rows[name] += retrieval.evaluate(kbase, matcher, test, nlu).rows
        print(f"  block {block} done", flush=True)
    for name in WEIGHT_GRID:
        lines.append(line(name, Report(rows=rows[name], topic_of=topic_of).figures()))
    lines += notes
    lines.append(f"{len({b for _, b in tune})} author blocks; each is scored with the other blocks' questions as "
                 "examples; current thresholds.")
    text = "\n".join(lines)
    print(text)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text + "\n")


if __name__ == "__main__":
    main()
