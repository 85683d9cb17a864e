"""Whether the NLU should learn the labelled examples too (writes bench/results/nlu_examples_cv.txt).

The matcher already compares a message with the tuning questions (faq/examples.yml); the NLU
model, which gives the topic prior and the first out-of-scope call, has not seen them. This
measures what it gains if it does, without scoring a question against a model that learned it:
the tuning split's author blocks are cut into two folds (even and odd blocks); for each fold an
NLU model is trained on config.yml's data plus the other fold's questions (at most N per topic
intent and M for out_of_scope, chosen as ``bot.nlu_export.capped_examples`` does), and the
fold's questions are scored with that model and the other fold's examples. The baseline row is
the current model on the same folds. Training takes one to three minutes per model on 2 cores.
Held-out questions are never read.

    .venv/bin/python bench/nlu_examples_cv.py                    # the default variants
    .venv/bin/python bench/nlu_examples_cv.py --variant 40:120   # 40 per topic, 120 off topic
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import examples_cv  # noqa: E402
import retrieval  # noqa: E402
from hint3 import train  # noqa: E402
from bot.evaluation import OUT_OF_SCOPE, Report, load_questions  # noqa: E402
from bot.match import Matcher  # noqa: E402
from bot.nlu_export import capped_examples, existing_examples, write_nlu  # noqa: E402

WORK = ROOT / "var" / "nlu-examples-cv"
KB_NLU = ROOT / "var" / "nlu" / "kb_nlu.yml"  # written by `make train` (scripts/train.sh)


def parse_variant(text: str) -> tuple[int | None, int | None]:
    """'40:120' -> (40, 120); 'all' -> (None, None)."""
    if text == "all":
        return None, None
    try:
        per_topic, off = (int(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"variant {text!r}: give per-topic:off-topic counts, e.g. 40:120, or 'all'")
    return per_topic, off


def write_extra(examples: dict[str, list[str]], path: Path) -> int:
    """The extra NLU file; texts the NLU data already has, or that span lines, are left out."""
    return write_nlu(examples, existing_examples(ROOT / "data" / "nlu.yml") | existing_examples(KB_NLU), path)


def fold_model(name: str, examples: dict[str, list[str]]) -> tuple[Path, int, float]:
    """Train config.yml's NLU on its data plus ``examples``; (model, extra examples, seconds)."""
    run = WORK / name
    shutil.rmtree(run, ignore_errors=True)
    (run / "nlu").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "nlu.yml", run / "nlu" / "nlu.yml")
    shutil.copy(KB_NLU, run / "nlu" / "kb_nlu.yml")
    added = write_extra(examples, run / "nlu" / "examples_nlu.yml")
    start = time.perf_counter()
    model = train(run / "nlu", ROOT / "config.yml", run, "model", run / "train.log")
    return model, added, time.perf_counter() - start


def fold_parses(model: Path, texts: list[str]) -> dict[str, dict]:
    """The fold model's parses, through retrieval's per-model cache."""
    retrieval.MODEL, retrieval.CACHE = model, model.parent / "parses.json"
    return retrieval.parses(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", type=parse_variant, action="append",
                        help="per-topic:off-topic cap, or 'all' (repeatable; default 40:120, 80:240, all)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "nlu_examples_cv.txt")
    args = parser.parse_args()
    if not KB_NLU.exists():
        raise SystemExit(f"{KB_NLU.relative_to(ROOT)} is missing: run `make train` first")
    variants = args.variant or [(40, 120), (80, 240), (None, None)]

    questions = load_questions(examples_cv.QUESTIONS)
    blocks = examples_cv.author_blocks(examples_cv.QUESTIONS)
    tune = [(q, b) for q, b in zip(questions, blocks) if q.split == "tune"]
    base = examples_cv.kb_without_examples()
    topic_of = {e.id: e.topic for e in base.entries.values()}
    current = retrieval.parses([q.text for q, _ in tune])

    rows: dict[str, list] = {"current model (no examples)": []}
    notes = []
    for fold in (0, 1):
        test = [q for q, b in tune if b % 2 == fold]
        train_q = [q for q, b in tune if b % 2 != fold]
        kbase = examples_cv.with_examples(base, train_q)
        matcher = Matcher(kbase)
        rows["current model (no examples)"] += retrieval.evaluate(kbase, matcher, test, current).rows
        off = [" ".join(q.text.split()) for q in train_q if q.expect == OUT_OF_SCOPE]
        for per_topic, off_cap in variants:
            label = "all" if per_topic is None else f"{per_topic} per topic, {off_cap} off topic"
            examples = capped_examples(kbase, off, per_topic, off_cap)
            model, added, seconds = fold_model(f"{label.replace(' ', '').replace(',', '-')}-f{fold}", examples)
            nlu = fold_parses(model, [q.text for q in test])
            rows.setdefault(f"NLU + examples: {label}", [])
            rows[f"NLU + examples: {label}"] += retrieval.evaluate(kbase, matcher, test, nlu).rows
            notes.append(f"  {label}, fold {fold}: {added} examples added, trained in {seconds:.0f} s")
            print(notes[-1], flush=True)

    lines = [examples_cv.header("NLU training data")]
    lines += [examples_cv.line(name, Report(rows=got, topic_of=topic_of).figures()) for name, got in rows.items()]
    lines.append(f"Two folds of the {len({b for _, b in tune})} author blocks (even, odd); each fold scored with the "
                 "other's questions as matcher examples and, in the NLU rows, as NLU training examples too.")
    lines += notes
    text = "\n".join(lines)
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text + "\n")


if __name__ == "__main__":
    main()
