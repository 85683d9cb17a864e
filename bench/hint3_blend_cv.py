"""Choose bot.nlu_neighbours' DIET weight and the HINT3 threshold on the train sets only.

The same protocol as bench/hint3_cv.py (its folds, its pseudo out-of-scope intents, its
relabelling; nothing from the test sets): per dataset and fold, DIET is trained on the fold's
training part with config.yml's pipeline *without* the NeighbourBlend component (DIET seed 1),
and its intent ranking of every validation row is cached. The blend is a fixed formula on that
ranking and on sentence vectors, so every weight can then be scored without retraining:

    confidence(intent) = w * DIET(intent) + l * linear head(intent)
                         + (1 - w - l) * best cosine to the intent's training examples

(bot.nlu_neighbours.combine; the linear head is a logistic regression on the fold's training
vectors, C = 100). w = 1 is DIET alone; w = l = 0 the nearest examples alone. For each (w, l)
the CV MCC (HINT3 definition) at thresholds 0.10-0.98 is averaged over folds, then over the
three datasets; the table gives each pair's best threshold. config.yml's weights were chosen
from this table together with the assistant's own tuning split (see config.yml); bench/hint3.py
then runs them, at the threshold this table gives for them, on the test sets.

    .venv/bin/python bench/hint3_blend_cv.py     # about 4 min the first time (9 trainings), then about 2 min

Writes bench/results/hint3_blend_cv.txt; the DIET parses are cached in var/hint3_blend_cv.json.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import hint3_cv  # noqa: E402
from hint3 import (  # noqa: E402
    CONFIG, DATA, DATASETS, ROOT, intent_names, load_agent, metrics, nlu_pipeline, read_rows, train, write_config,
    write_nlu,
)

from bot import settings  # noqa: E402
from bot.embed import cached_encode  # noqa: E402
from bot.nlu_neighbours import best_per_intent, combine, fit_linear, linear_probabilities  # noqa: E402

WITHOUT = frozenset({"bot.nlu_neighbours.NeighbourBlend"})
# (DIET weight, linear head weight): DIET with the nearest examples alone, then with the head too.
WEIGHTS = tuple((w, 0.0) for w in (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.5, 0.75, 1.0)) + tuple(
    (w, l) for w in (0.0, 0.1, 0.15, 0.2, 0.3) for l in (0.1, 0.2, 0.3, 0.4, 0.5))
LINEAR_C = 100.0
THRESHOLDS = [round(0.02 * i, 2) for i in range(5, 50)]
CACHE = ROOT / "var" / "hint3_blend_cv.json"
WORK = ROOT / "var" / "hint3_blend_cv"
RESULTS = ROOT / "bench" / "results" / "hint3_blend_cv.txt"


def diet_config(path: Path) -> str:
    """config.yml's NLU pipeline without the blend (bench/hint3.py's config writer), DIET seed 1;
    returns a fingerprint of it for the cache."""
    write_config(hint3_cv.DIET_SEED, path, CONFIG, WITHOUT)
    pipeline = nlu_pipeline(hint3_cv.DIET_SEED, CONFIG, WITHOUT)
    text = json.dumps([pipeline, hint3_cv.K, hint3_cv.SPLIT_SEED, hint3_cv.OOS_SEED, hint3_cv.OOS_SHARE], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def diet_rankings(dataset: str, fold: int, cache: dict) -> dict:
    """DIET's ranking ({label: confidence}) of every validation row of one fold, cached."""
    rows = read_rows(DATA / "dataset" / "v2" / "train" / f"{dataset}_train.csv")
    train_rows, val, gold = hint3_cv.split(rows, fold)
    run_dir = WORK / f"{dataset}-fold{fold}"
    run_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = diet_config(run_dir / "config.yml")
    key = f"{dataset}|{fold}|{fingerprint}"
    if key not in cache:
        names = intent_names([r["label"] for r in train_rows])
        write_nlu(train_rows, names, run_dir / "nlu.yml")
        model = train(run_dir / "nlu.yml", run_dir / "config.yml", run_dir, "model", run_dir / "train.log")
        agent, back = load_agent(model), {v: k for k, v in names.items()}

        async def parse_all() -> list[dict]:
            return [await agent.parse_message(r["sentence"]) for r in val]

        parses = asyncio.run(parse_all())
        model.unlink()
        cache[key] = [{back.get(i["name"], i["name"]): float(i["confidence"]) for i in p.get("intent_ranking", [])}
                      for p in parses]
        CACHE.write_text(json.dumps(cache))
        print(f"  trained {dataset} fold {fold}", flush=True)
    return {"train": train_rows, "val": val, "gold": gold, "diet": cache[key]}


def signals(fold: dict) -> dict:
    """The blend's three inputs for every validation row of a fold, computed once per fold:
    DIET's confidences, the linear head's probabilities and the nearest-example cosines."""
    labels = sorted({r["label"] for r in fold["train"]})
    owner = np.array([labels.index(r["label"]) for r in fold["train"]])
    examples = cached_encode([r["sentence"] for r in fold["train"]], settings.CACHE_DIR)
    queries = cached_encode([r["sentence"] for r in fold["val"]], settings.CACHE_DIR)
    near = np.array([best_per_intent(examples @ v, owner, len(labels)) for v in queries])
    linear = linear_probabilities(*fit_linear(examples, owner, len(labels), LINEAR_C), queries)
    diet = np.array([[d.get(lab, 0.0) for lab in labels] for d in fold["diet"]])
    return {"labels": labels, "near": near, "linear": linear, "diet": diet}


def blended(inputs: dict, weight: float, linear: float) -> tuple[list[str], list[float]]:
    """Top intent and confidence of every validation row under the blend at these weights."""
    conf = combine(inputs["diet"], inputs["linear"], inputs["near"], weight, linear)
    best = conf.argmax(axis=1)
    return [inputs["labels"][i] for i in best], conf[np.arange(len(best)), best].tolist()


def main() -> None:
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    WORK.mkdir(parents=True, exist_ok=True)
    folds = {d: [diet_rankings(d, k, cache) for k in range(hint3_cv.K)] for d in DATASETS}
    inputs = {d: [signals(f) for f in folds[d]] for d in DATASETS}
    lines = [f"HINT3 v2 train sets, {hint3_cv.K}-fold CV with {hint3_cv.OOS_SHARE:.0%} of intents as pseudo out of "
             f"scope (bench/hint3_cv.py protocol), DIET seed {hint3_cv.DIET_SEED}; CV MCC at each weight's best threshold",
             f"{'diet weight':>11}{'linear':>8}{'threshold':>11}{'mean':>8}" + "".join(f"{d:>13}" for d in DATASETS)]
    best = None
    for w, lin in WEIGHTS:
        mcc = {}
        for d in DATASETS:
            per_fold = []
            for f, signal in zip(folds[d], inputs[d]):
                pred, score = blended(signal, w, lin)  # once per fold and weights; the thresholds only cut it
                per_fold.append([metrics(f["gold"], pred, score, t)["MCC"] for t in THRESHOLDS])
            mcc[d] = np.mean(per_fold, axis=0)
        mean = np.mean([mcc[d] for d in DATASETS], axis=0)
        i = int(np.argmax(mean))
        lines.append(f"{w:>11g}{lin:>8g}{THRESHOLDS[i]:>11.2f}{mean[i]:>8.3f}" + "".join(f"{mcc[d][i]:>13.3f}" for d in DATASETS))
        print(lines[-1], flush=True)
        best = max(best or (mean[i], w, lin), (mean[i], w, lin))
    lines.append(f"best CV mean: DIET weight {best[1]:g}, linear {best[2]:g} ({best[0]:.3f}); DIET weight 1 is DIET "
                 f"alone, both 0 the nearest examples alone; linear head C = {LINEAR_C:g}.")
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
