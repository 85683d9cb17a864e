"""Choose a HINT3 pipeline and threshold on the train sets only, then test that one choice.

Why: bench/results/hint3_variants/ compares pipeline variants by their MCC on the HINT3 v2
*test* sets. Picking the best of those rows (or the best threshold of a test-set sweep) is
test-set selection: the winning figure is biased upwards and says little about new data. This
script makes the choice by cross-validation on the v2 *train* sets alone and only then runs the
single chosen (config, threshold) pair on the test sets, once, with bench/hint3.py.

Protocol, per dataset (sofmattress, curekart, powerplay11):

  * the v2 train set is split into K=3 folds, stratified by intent (fixed seed SPLIT_SEED);
  * in each fold about 25% of the intents (fixed seed, different per fold) become "pseudo
    out-of-scope": all their examples are removed from that fold's training part and their
    validation examples are relabelled NO_NODES_DETECTED, mimicking the test sets' unseen
    queries; validation rows whose text is also in the fold's training part are dropped;
  * each candidate config (config.yml, bench/variants/base-e60.yml, enc-e60.yml, enc-e100.yml)
    is trained on the training part with DIET seed 1 (bench/hint3.py's NLU-only config: the
    pipeline without RegexEntityExtractor, EntitySynonymMapper, FallbackClassifier) and parses
    the validation part.

The (intent, confidence) of every validation row is cached in var/hint3_cv_cache.json, keyed by
candidate, dataset, fold and a fingerprint of the pipeline and split settings, so an
interrupted run resumes and thresholds can be re-scored without retraining (--rescore). The CV
MCC (HINT3 definition, bench/hint3.py's metrics) at thresholds 0.1-0.9 is averaged over folds,
then over the three datasets; the single (config, threshold) with the best mean is chosen, one
threshold for all datasets. Then `bench/hint3.py --config <chosen> --threshold <t>` runs seeds
1,2,3 on the real test sets (results in bench/results/hint3_cv_test.txt). The CV table and the
choice go to bench/results/hint3_cv.txt.

Caveat: the pseudo out-of-scope share of a validation fold (~25%) is lower than the test sets'
(36-69%), and held-out intents are from the same domain as the kept ones, so the CV optimum
threshold is an estimate, not the test optimum.

Budget: after the first training of every candidate the script estimates the whole run (CV +
test run); if it exceeds --budget minutes (default 45), enc-e100 is dropped first.

    .venv/bin/python bench/hint3_cv.py              # CV, choose, test the choice
    .venv/bin/python bench/hint3_cv.py --rescore    # table and choice from the cache only
    .venv/bin/python bench/hint3_cv.py --no-test    # CV and choice, no test run

Run time on 2 shared cores (2026-11-24): 23 min in all, 15 min for the 36 CV trainings (15-40 s
each) and 8 min for the test run of the choice; --rescore takes seconds. Training logs go to
var/hint3_cv/<candidate>/<dataset>-fold<k>/train.log.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hint3  # noqa: E402  (bench/hint3.py: data, config, training, parsing and metrics)
from hint3 import (  # noqa: E402
    CONFIG, DATA, DATASETS, OOS, PUBLISHED, ROOT, clean_text, intent_names, metrics, parse_all,
    read_rows, shown, train, write_config, write_nlu,
)

K = 3
SPLIT_SEED = 20240  # stratified fold assignment
OOS_SEED = 7  # pseudo out-of-scope intents: random.Random(OOS_SEED * 100 + fold)
OOS_SHARE = 0.25
DIET_SEED = 1
THRESHOLDS = [round(0.1 * i, 1) for i in range(1, 10)]
CANDIDATES: dict[str, Path] = {
    "config": CONFIG,
    "base-e60": ROOT / "bench" / "variants" / "base-e60.yml",
    "enc-e60": ROOT / "bench" / "variants" / "enc-e60.yml",
    "enc-e100": ROOT / "bench" / "variants" / "enc-e100.yml",
}
DROP_ORDER = ["enc-e100"]  # dropped first when the estimate is over budget
CACHE = ROOT / "var" / "hint3_cv_cache.json"
WORK = ROOT / "var" / "hint3_cv"
RESULTS = ROOT / "bench" / "results" / "hint3_cv.txt"
TEST_RESULTS = ROOT / "bench" / "results" / "hint3_cv_test.txt"
CURRENT = ROOT / "bench" / "results" / "hint3.txt"  # config.yml at 0.5, written by bench/hint3.py

Split = tuple[list[dict[str, str]], list[dict[str, str]], list[str]]  # train rows, validation rows, validation gold


def current_mcc() -> dict[str, str]:
    """config.yml's mean MCC per dataset, as bench/results/hint3.txt last recorded it."""
    if not CURRENT.exists():
        return {}
    rows = (line.split() for line in CURRENT.read_text().splitlines())  # the table row, not "<name> seed 1: ..."
    return {r[0]: r[1] for r in rows if len(r) > 1 and r[0] in DATASETS and r[1][:1].isdigit()}


# --- splits -------------------------------------------------------------------------------


def fold_of(labels: list[str]) -> list[int]:
    """Fold number (0..K-1) of every row, stratified by intent: each intent's rows are shuffled
    and dealt round-robin, continuing the deal across intents so fold sizes stay balanced."""
    rng = random.Random(SPLIT_SEED)
    folds = [0] * len(labels)
    turn = 0
    for label in sorted(set(labels)):
        rows = [i for i, lab in enumerate(labels) if lab == label]
        rng.shuffle(rows)
        for i in rows:
            folds[i] = turn % K
            turn += 1
    return folds


def pseudo_oos(intents: list[str], fold: int) -> set[str]:
    """About OOS_SHARE of the intents, drawn with a fixed seed that differs per fold."""
    rng = random.Random(OOS_SEED * 100 + fold)
    return set(rng.sample(sorted(intents), round(OOS_SHARE * len(intents))))


def split(rows: list[dict[str, str]], fold: int) -> Split:
    """Training part without the pseudo-OOS intents; validation part with them relabelled OOS,
    minus rows whose (normalised) text also occurs in the training part."""
    labels = [r["label"] for r in rows]
    folds = fold_of(labels)
    held = pseudo_oos(sorted(set(labels)), fold)
    train_rows = [r for r, f in zip(rows, folds) if f != fold and r["label"] not in held]
    seen = {clean_text(r["sentence"]).lower() for r in train_rows}
    val = [r for r, f in zip(rows, folds) if f == fold and clean_text(r["sentence"]).lower() not in seen]
    gold = [OOS if r["label"] in held else r["label"] for r in val]
    return train_rows, val, gold


def fingerprint(config_file: Path) -> str:
    """Hash of what a cached parse depends on: the NLU pipeline and the split settings."""
    pipeline = hint3.nlu_pipeline(DIET_SEED, config_file)
    text = json.dumps([pipeline, K, SPLIT_SEED, OOS_SEED, OOS_SHARE], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


# --- cache ----------------------------------------------------------------------------------


def load_cache() -> dict[str, dict]:
    """Cached parses, {} if there is no cache file yet."""
    return json.loads(CACHE.read_text()) if CACHE.exists() else {}


def save_cache(cache: dict[str, dict]) -> None:
    """Write the cache atomically (a killed run leaves the previous file intact)."""
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    tmp = CACHE.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache))
    tmp.replace(CACHE)


def key(candidate: str, dataset: str, fold: int) -> str:
    """Cache key of one training; includes the config fingerprint so edits invalidate it."""
    return f"{candidate}|{dataset}|{fold}|{fingerprint(CANDIDATES[candidate])}"


# --- training -------------------------------------------------------------------------------


def run_fold(candidate: str, dataset: str, fold: int, rows: list[dict[str, str]]) -> dict:
    """Train `candidate` on one fold's training part and parse its validation part."""
    train_rows, val, gold = split(rows, fold)
    names = intent_names([r["label"] for r in train_rows])
    run_dir = WORK / candidate / f"{dataset}-fold{fold}"
    run_dir.mkdir(parents=True, exist_ok=True)
    write_nlu(train_rows, names, run_dir / "nlu.yml")
    write_config(DIET_SEED, run_dir / "config.yml", CANDIDATES[candidate])
    start = time.perf_counter()
    model = train(run_dir / "nlu.yml", run_dir / "config.yml", run_dir, "model", run_dir / "train.log")
    trained = time.perf_counter() - start
    pred, score = parse_all(model, [r["sentence"] for r in val], names)
    model.unlink()  # the parses are cached; the archive is not needed again
    return {"gold": gold, "pred": pred, "score": score, "train_s": trained,
            "total_s": time.perf_counter() - start, "n_train": len(train_rows)}


def estimate_minutes(cache: dict[str, dict], candidates: list[str], sizes: dict[str, int]) -> float:
    """Whole-run estimate from each candidate's first timed training (sofmattress fold 0):
    CV time scaled by dataset size, plus a test run of the slowest candidate (3 seeds on the
    full train sets, about twice a fold's training part)."""
    first = DATASETS[0]
    scale = sum(sizes[d] / sizes[first] for d in DATASETS)
    per = {c: cache[key(c, first, 0)]["total_s"] for c in candidates}
    cv = sum(t * K * scale for t in per.values())
    test = max(per.values()) * 3 * scale * 2
    return (cv + test) / 60


def run_cv(candidates: list[str], budget: float, rescore: bool) -> tuple[list[str], list[str]]:
    """Fill the cache for every candidate/dataset/fold; returns (kept candidates, notes)."""
    cache = load_cache()
    rows = {d: read_rows(DATA / "dataset" / "v2" / "train" / f"{d}_train.csv") for d in DATASETS}
    sizes = {d: len(r) for d, r in rows.items()}
    notes: list[str] = []
    for c in candidates:
        if not CANDIDATES[c].exists():
            notes.append(f"{c}: {shown(CANDIDATES[c])} missing, dropped")
            print(notes[-1], flush=True)
    candidates = [c for c in candidates if CANDIDATES[c].exists()]
    if rescore:
        return [c for c in candidates if all(key(c, d, f) in cache for d in DATASETS for f in range(K))], notes
    # Order: dataset, fold, candidate, so every candidate is timed (and shown to train) first.
    jobs = [(d, f, c) for d in DATASETS for f in range(K) for c in candidates]
    checked = False
    for i, (d, f, c) in enumerate(jobs):
        if c not in candidates:
            continue
        n = sum(1 for j in jobs[:i + 1] if j[2] in candidates)
        total = sum(1 for j in jobs if j[2] in candidates)
        k = key(c, d, f)
        if k in cache:
            print(f"[{n}/{total}] {d} fold {f} {c} ... cached", flush=True)
        else:
            print(f"[{n}/{total}] {d} fold {f} {c} ...", end=" ", flush=True)
            try:
                cache[k] = run_fold(c, d, f, rows[d])
            except RuntimeError as err:
                print(f"FAILED: {err}", flush=True)
                notes.append(f"{c}: training failed ({err}), dropped")
                candidates.remove(c)
                continue
            save_cache(cache)
            print(f"{cache[k]['total_s']:.0f} s", flush=True)
        if not checked and all(key(cc, DATASETS[0], 0) in cache for cc in candidates):
            checked = True
            est = estimate_minutes(cache, candidates, sizes)
            print(f"estimated whole run: {est:.0f} min with {', '.join(candidates)} (budget {budget:.0f})", flush=True)
            for drop in DROP_ORDER:
                if est <= budget or drop not in candidates:
                    continue
                candidates.remove(drop)
                notes.append(f"{drop}: dropped for time (estimate {est:.0f} min > budget {budget:.0f} min)")
                print(notes[-1], flush=True)
                est = estimate_minutes(cache, candidates, sizes)
                print(f"estimated whole run: {est:.0f} min with {', '.join(candidates)}", flush=True)
    return candidates, notes


# --- scoring and choice ---------------------------------------------------------------------


def cv_mcc(candidates: list[str]) -> dict[str, dict[float, dict[str, float]]]:
    """candidate -> threshold -> dataset -> MCC averaged over folds (from the cache)."""
    cache = load_cache()
    out: dict[str, dict[float, dict[str, float]]] = {}
    for c in candidates:
        out[c] = {}
        for t in THRESHOLDS:
            out[c][t] = {}
            for d in DATASETS:
                runs = [cache[key(c, d, f)] for f in range(K)]
                out[c][t][d] = statistics.mean(metrics(r["gold"], r["pred"], r["score"], t)["MCC"] for r in runs)
    return out


def mean3(per_dataset: dict[str, float]) -> float:
    """Mean over the three datasets."""
    return statistics.mean(per_dataset[d] for d in DATASETS)


def choose(table: dict[str, dict[float, dict[str, float]]]) -> tuple[str, float]:
    """The (candidate, threshold) with the best mean CV MCC; ties go to the earlier candidate."""
    return max(((c, t) for c in table for t in THRESHOLDS), key=lambda ct: mean3(table[ct[0]][ct[1]]))


def split_summary() -> str:
    """Fold sizes per dataset: training rows, validation rows, of which pseudo-OOS."""
    lines = []
    for d in DATASETS:
        rows = read_rows(DATA / "dataset" / "v2" / "train" / f"{d}_train.csv")
        parts = []
        for f in range(K):
            tr, val, gold = split(rows, f)
            parts.append(f"{len(tr)}/{len(val)}/{sum(g == OOS for g in gold)}")
        lines.append(f"  {d:12s} " + "  ".join(parts))
    return "folds (train rows / validation rows / of which pseudo-OOS):\n" + "\n".join(lines)


def cv_report(table: dict[str, dict[float, dict[str, float]]], chosen: tuple[str, float], notes: list[str]) -> str:
    """Candidate x threshold table of mean CV MCC, and the chosen pair's per-dataset CV MCC."""
    head = f"{'candidate':10s} " + " ".join(f"{t:>6.1f}" for t in THRESHOLDS) + "   best (t)"
    lines = ["mean CV MCC over sofmattress, curekart, powerplay11 (each the mean of 3 folds):", head, "-" * len(head)]
    for c, row in table.items():
        means = [mean3(row[t]) for t in THRESHOLDS]
        best = max(range(len(THRESHOLDS)), key=lambda i: means[i])
        lines.append(f"{c:10s} " + " ".join(f"{m:6.3f}" for m in means) + f"   {means[best]:.3f} ({THRESHOLDS[best]})")
    c, t = chosen
    lines += ["", f"chosen: {c} ({shown(CANDIDATES[c])}) at threshold {t}, mean CV MCC {mean3(table[c][t]):.3f}",
              "per-dataset CV MCC of the chosen pair: "
              + ", ".join(f"{d} {table[c][t][d]:.3f}" for d in DATASETS)]
    if notes:
        lines += [""] + [f"note: {n}" for n in notes]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated, from " + ",".join(CANDIDATES))
    parser.add_argument("--budget", type=float, default=45.0, help="minutes for the whole run; over it, enc-e100 is dropped")
    parser.add_argument("--rescore", action="store_true", help="no training: table and choice from the cache")
    parser.add_argument("--no-test", action="store_true", help="stop after the choice (no test-set run)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    start = time.perf_counter()
    wanted = [c for c in args.candidates.split(",") if c]
    unknown = set(wanted) - set(CANDIDATES)
    if unknown:
        sys.exit(f"unknown candidate(s): {', '.join(sorted(unknown))}")
    print(f"HINT3 CV selection: {', '.join(wanted)}; K={K}, pseudo-OOS {OOS_SHARE:.0%} of intents, DIET seed {DIET_SEED};"
          f" logs under {shown(WORK)}, cache {shown(CACHE)}", flush=True)
    candidates, notes = run_cv(wanted, args.budget, args.rescore)
    if not candidates:
        sys.exit("no candidate has complete CV results")
    cv_minutes = (time.perf_counter() - start) / 60
    table = cv_mcc(candidates)
    chosen = choose(table)
    text = cv_report(table, chosen, notes)
    print("\n" + text + "\n", flush=True)
    test_text = ""
    if not args.no_test:
        c, t = chosen
        cmd = [sys.executable, str(ROOT / "bench" / "hint3.py"), "--config", str(CANDIDATES[c]),
               "--threshold", str(t), "--results", str(TEST_RESULTS)]
        print("test run: " + " ".join(shown(Path(x)) if x.startswith(str(ROOT)) else x for x in cmd[1:]), flush=True)
        done = subprocess.run(cmd, cwd=ROOT)
        if done.returncode != 0:
            notes.append(f"test run failed (exit {done.returncode})")
        else:
            test_text = (f"\ntest run of the chosen pair (seeds 1,2,3; full table in {shown(TEST_RESULTS)}):\n"
                         + "\n".join(line for line in TEST_RESULTS.read_text().splitlines()
                                     if line.startswith(("dataset", "-----")) or line.split(" ")[0] in DATASETS))
            test_text += ("\ncomparison: best published MCC " + ", ".join(f"{d} {PUBLISHED[d][1]:.3f}" for d in DATASETS)
                          + "; config.yml at 0.5 " + ", ".join(f"{d} {m}" for d, m in current_mcc().items()) + "\n")
    cache = load_cache()
    compute = sum(cache[key(c, d, f)]["total_s"] for c in candidates for d in DATASETS for f in range(K)) / 60
    minutes = (time.perf_counter() - start) / 60
    out = (f"HINT3 v2 selection by cross-validation on the train sets, bench/hint3_cv.py, {dt.datetime.now():%Y-%m-%d %H:%M}\n"
           f"run time {minutes:.1f} min (CV part {cv_minutes:.1f} min this invocation; {compute:.1f} min of CV training"
           f" and parsing in the cache); K={K} stratified folds (seed {SPLIT_SEED}), {OOS_SHARE:.0%} of intents pseudo"
           f" out-of-scope per fold (seed {OOS_SEED}*100+fold), DIET seed {DIET_SEED}, NLU pipeline as bench/hint3.py\n"
           + split_summary() + "\n\n" + text + "\n" + test_text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(out)
    print(test_text)
    print(f"run time {minutes:.1f} min; written to {shown(RESULTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
