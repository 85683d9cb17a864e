"""Out-of-scope detector variants, ranked on the tuning questions (writes bench/results/oos_detector.txt).

How well does each detector's probability put the tuning split's off-topic questions above its
in-scope ones? AUC over all of them, and again without the off-topic questions that are near
copies of a training example (cosine 0.65 or more to one of them), since a nearest-neighbour
detector gains most from those. Also the share of each class on the wrong side of the
threshold in use (``settings.OOS_PROBABILITY``), before the strong-match overrule and the NLU.
Held-out questions are never read. No trained Rasa model is needed: this is the detector alone;
`bench/retrieval.py --oos-sweep` measures it end to end.

    .venv/bin/python bench/oos_detector.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import kb, oos, settings  # noqa: E402
from bot.embed import cached_encode  # noqa: E402
from bot.evaluation import OUT_OF_SCOPE, load_questions  # noqa: E402
from bot.match import Matcher  # noqa: E402

NEAR_COPY = 0.65


def former_logistic(in_scope: np.ndarray, off: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The detector this replaced: one logistic regression over the raw vectors (C=16, balanced)."""
    from sklearn.linear_model import LogisticRegression

    x, y = np.vstack([in_scope, off]), np.r_[np.zeros(len(in_scope)), np.ones(len(off))]
    return LogisticRegression(C=16.0, class_weight="balanced", max_iter=2000).fit(x, y).predict_proba(queries)[:, 1]


def main() -> None:
    from sklearn.metrics import roc_auc_score

    base = kb.load(ROOT / "faq")
    matcher = Matcher(base)
    off_texts = oos.examples() + list(base.off_topic)
    off = cached_encode(off_texts, settings.CACHE_DIR)
    questions = [q for q in load_questions(ROOT / "tests" / "eval" / "questions.yml") if q.split == "tune"]
    questions = [q for q in questions if q.expect == OUT_OF_SCOPE or q.expect in base.entries]
    y = np.array([q.expect == OUT_OF_SCOPE for q in questions])
    queries = cached_encode([q.text for q in questions], settings.CACHE_DIR)
    fresh = ~y | ((queries @ off.T).max(axis=1) < NEAR_COPY)
    variants = {"logistic regression (former)": former_logistic(matcher._sem, off, queries)}
    for k in (1, 3, 5, 10):
        model = oos.OutOfScopeModel(matcher._sem, off_texts, k=k)
        variants[f"nearest {k} each side" + (" (in use)" if k == oos.K_NEAREST else "")] = np.array(
            [model.probability(v) for v in queries])
    t = settings.OOS_PROBABILITY
    lines = [f"tune split: {int((~y).sum())} in scope, {int(y.sum())} out of scope ({int((fresh & y).sum())} not near "
             f"copies of a training example); {len(matcher._sem)} phrasings, {len(off)} off-topic examples",
             f"{'detector':<34}{'AUC':>7}{'AUC fresh':>11}{'in-scope >= ' + format(t, 'g'):>17}{'off-topic < ' + format(t, 'g'):>17}"]
    for name, p in variants.items():
        lines.append(f"{name:<34}{roc_auc_score(y, p):>7.3f}{roc_auc_score(y[fresh], p[fresh]):>11.3f}"
                     f"{(p[~y] >= t).mean():>17.1%}{(p[y] < t).mean():>17.1%}")
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "results" / "oos_detector.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
