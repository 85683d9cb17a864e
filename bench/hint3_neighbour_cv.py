"""How bot.nlu_neighbours should score an intent's nearest examples, chosen on the HINT3 train sets.

The blend's familiarity signal is each intent's best cosine to its training examples. Two
alternatives are measured here with the nearest examples alone (DIET weight 0, so nothing is
trained and the run takes about a minute once the sentence vectors are cached):

* the mean of the k best cosines instead of the best one, so one odd example counts less;
* centred vectors: the training set's mean vector is taken from every vector before the cosine,
  so words every query in the domain shares ("mattress", "order") weigh less than the words that
  tell intents apart.

Same protocol as bench/hint3_cv.py (its folds and pseudo out-of-scope intents; the test sets are
never read): CV MCC at each variant's best threshold, averaged over folds, then datasets.

    .venv/bin/python bench/hint3_neighbour_cv.py      # writes bench/results/hint3_neighbour_cv.txt
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import hint3_cv  # noqa: E402
from hint3 import DATA, DATASETS, ROOT, metrics, read_rows  # noqa: E402

from bot import settings  # noqa: E402
from bot.embed import cached_encode  # noqa: E402

THRESHOLDS = [round(0.02 * i, 2) for i in range(50)]
# name -> (centre the vectors, how many best cosines to average)
VARIANTS = {"best (in use)": (False, 1), "mean of best 2": (False, 2), "mean of best 3": (False, 3),
            "centred, best": (True, 1), "centred, mean of best 2": (True, 2)}
RESULTS = ROOT / "bench" / "results" / "hint3_neighbour_cv.txt"


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def per_intent(similarities: np.ndarray, owner: np.ndarray, n_intents: int, k: int) -> np.ndarray:
    """Per query and intent: the mean of the intent's k highest cosines."""
    out = np.full((similarities.shape[0], n_intents), -1.0)
    for intent in range(n_intents):
        own = np.sort(similarities[:, owner == intent], axis=1)[:, ::-1]
        if own.shape[1]:
            out[:, intent] = own[:, :k].mean(axis=1)
    return out


def fold_mcc(train: list[dict], val: list[dict], gold: list[str], centre: bool, k: int) -> list[float]:
    """CV MCC of one fold at every threshold, for one variant."""
    labels = sorted({r["label"] for r in train})
    owner = np.array([labels.index(r["label"]) for r in train])
    examples = cached_encode([r["sentence"] for r in train], settings.CACHE_DIR)
    queries = cached_encode([r["sentence"] for r in val], settings.CACHE_DIR)
    if centre:
        middle = examples.mean(axis=0)
        examples, queries = unit(examples - middle), unit(queries - middle)
    scores = per_intent(queries @ examples.T, owner, len(labels), k)
    best = scores.argmax(axis=1)
    pred = [labels[i] for i in best]
    confidence = scores[np.arange(len(best)), best].tolist()
    return [metrics(gold, pred, confidence, t)["MCC"] for t in THRESHOLDS]


def main() -> None:
    folds = {d: [hint3_cv.split(read_rows(DATA / "dataset" / "v2" / "train" / f"{d}_train.csv"), f)
                 for f in range(hint3_cv.K)] for d in DATASETS}
    lines = [f"HINT3 v2 train sets, {hint3_cv.K}-fold CV with {hint3_cv.OOS_SHARE:.0%} of intents as pseudo out of "
             "scope (bench/hint3_cv.py protocol); nearest examples alone (DIET weight 0); CV MCC at each variant's "
             "best threshold",
             f"{'variant':26s}{'threshold':>10}{'mean':>8}" + "".join(f"{d:>13}" for d in DATASETS)]
    best: dict[str, float] = {}
    for name, (centre, k) in VARIANTS.items():
        per = {d: np.mean([fold_mcc(*fold, centre, k) for fold in folds[d]], axis=0) for d in DATASETS}
        mean = np.mean([per[d] for d in DATASETS], axis=0)
        i = int(np.argmax(mean))
        best[name] = round(float(mean[i]), 3)
        lines.append(f"{name:26s}{THRESHOLDS[i]:>10.2f}{mean[i]:>8.3f}" + "".join(f"{per[d][i]:>13.3f}" for d in DATASETS))
        print(lines[-1], flush=True)
    beaten = [n for n, v in best.items() if v > best["best (in use)"]]
    lines.append("variants above the one in use on the mean: " + (", ".join(beaten) if beaten else
                                                               "none, so bot.nlu_neighbours keeps the best cosine"))
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
