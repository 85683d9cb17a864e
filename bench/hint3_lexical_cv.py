"""Would a lexical nearest example help bot.nlu_neighbours? Chosen on the HINT3 train sets only.

The blend's familiarity signal is each intent's best cosine on all-MiniLM-L6-v2 vectors. The
encoder reads "mattres", "emi kitna" or "ortho" poorly: misspellings, Hinglish and shop words
fall apart into word pieces it has rarely seen. Character n-grams see them whole. Here the
nearest example's cosine is a mix of the two:

    near(intent) = (1 - c) * best sentence-vector cosine + c * best TF-IDF cosine

with TF-IDF over character n-grams (within word boundaries) or words, fitted on the fold's
training rows only, and the blend then as in config.yml: w * DIET + (1 - w) * near.

Same protocol and the same cached DIET parses as bench/hint3_blend_cv.py (its folds, its pseudo
out-of-scope intents; the test sets are never read): CV MCC at each variant's best threshold,
averaged over folds, then datasets.

    .venv/bin/python bench/hint3_lexical_cv.py   # about 4 min the first time (9 DIET trainings), then 1 min

Writes bench/results/hint3_lexical_cv.txt.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import hint3_blend_cv  # noqa: E402
import hint3_cv  # noqa: E402
from hint3 import DATASETS, ROOT, metrics  # noqa: E402

from bot.nlu_neighbours import best_per_intent  # noqa: E402

DIET_WEIGHTS = (0.0, 0.15, 0.3)
LEXICAL_SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
# name -> TfidfVectorizer settings
KINDS = {"char 2-4": dict(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True),
         "char 3-5": dict(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
         "words 1-2": dict(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)}
THRESHOLDS = hint3_blend_cv.THRESHOLDS
RESULTS = ROOT / "bench" / "results" / "hint3_lexical_cv.txt"


def lexical_near(train: list[dict], val: list[dict], labels: list[str], settings: dict) -> np.ndarray:
    """Per validation row and intent: the best TF-IDF cosine to the intent's training rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(lowercase=True, **settings)
    examples = vectorizer.fit_transform([r["sentence"] for r in train])
    queries = vectorizer.transform([r["sentence"] for r in val])
    owner = np.array([labels.index(r["label"]) for r in train])
    similarities = (queries @ examples.T).toarray()
    return np.array([best_per_intent(row, owner, len(labels)) for row in similarities])


def cv_mcc(folds: list[dict], inputs: list[dict], lexical: list[np.ndarray], w: float, c: float) -> np.ndarray:
    """CV MCC at every threshold for one dataset, averaged over its folds."""
    per_fold = []
    for fold, signal, lex in zip(folds, inputs, lexical):
        near = (1 - c) * np.maximum(signal["near"], 0.0) + c * lex
        conf = w * signal["diet"] + (1 - w) * near
        best = conf.argmax(axis=1)
        pred = [signal["labels"][i] for i in best]
        score = conf[np.arange(len(best)), best].tolist()
        per_fold.append([metrics(fold["gold"], pred, score, t)["MCC"] for t in THRESHOLDS])
    return np.mean(per_fold, axis=0)


def main() -> None:
    cache = json.loads(hint3_blend_cv.CACHE.read_text()) if hint3_blend_cv.CACHE.exists() else {}
    hint3_blend_cv.WORK.mkdir(parents=True, exist_ok=True)
    folds = {d: [hint3_blend_cv.diet_rankings(d, k, cache) for k in range(hint3_cv.K)] for d in DATASETS}
    inputs = {d: [hint3_blend_cv.signals(f) for f in folds[d]] for d in DATASETS}
    lines = [f"HINT3 v2 train sets, {hint3_cv.K}-fold CV with {hint3_cv.OOS_SHARE:.0%} of intents as pseudo out of "
             f"scope (bench/hint3_cv.py protocol), DIET seed {hint3_cv.DIET_SEED}; near = (1 - c) * sentence-vector "
             "cosine + c * TF-IDF cosine; CV MCC at each row's best threshold",
             f"{'lexical':>10}{'c':>6}{'diet w':>8}{'threshold':>11}{'mean':>8}" + "".join(f"{d:>13}" for d in DATASETS)]
    results = []
    for kind, settings in KINDS.items():
        lexical = {d: [lexical_near(f["train"], f["val"], s["labels"], settings) for f, s in zip(folds[d], inputs[d])]
                   for d in DATASETS}
        for c in LEXICAL_SHARES:
            if c == 0 and kind != next(iter(KINDS)):
                continue  # c = 0 does not depend on the kind
            for w in DIET_WEIGHTS:
                mcc = {d: cv_mcc(folds[d], inputs[d], lexical[d], w, c) for d in DATASETS}
                mean = np.mean([mcc[d] for d in DATASETS], axis=0)
                i = int(np.argmax(mean))
                results.append((float(mean[i]), kind, c, w))
                lines.append(f"{kind if c else 'none':>10}{c:>6g}{w:>8g}{THRESHOLDS[i]:>11.2f}{mean[i]:>8.3f}"
                             + "".join(f"{mcc[d][i]:>13.3f}" for d in DATASETS))
                print(lines[-1], flush=True)
    in_use = max(r[0] for r in results if r[2] == 0 and r[3] == 0.3)
    best = max(results)
    lines.append(f"in use (no lexical share, DIET 0.3): {in_use:.3f}; best: {best[1]} c {best[2]:g} DIET {best[3]:g} "
                 f"({best[0]:.3f})")
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
