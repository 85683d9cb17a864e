"""Out-of-scope detector on sentence vectors: does a message read like the questions we answer
or like the off-topic questions we decline?

Why: the NLU routes most off-topic messages to ``out_of_scope``, but near-domain personal
questions ("how do I buy added pension for myself", "mileage expenses as a bank nurse") share
the knowledge base's words, so the NLU and the word-level match scores both take them for
questions we answer. On sentence vectors they sit with the out-of-scope examples of
``data/nlu.yml`` and ``faq/out_of_scope.yml`` (the second is not shown to the NLU: more
off-topic examples there cost the DIET classifier in-scope accuracy).

The evidence is local: how much closer the message is to its nearest off-topic examples than
to its nearest knowledge-base phrasings (mean cosine of the ``K_NEAREST`` closest of each).
Off-topic questions are many small islands (a gym discount, an ICB board, a tech start-up's
shareholders), which one straight boundary through the vector space, the logistic regression
this replaced, cuts badly. On the tuning questions the margin ranks off-topic above in-scope
with AUC 0.987 against 0.966 (0.976 against 0.955 without the near copies of an example), and
flags 0.9% of in-scope questions at the threshold in use against 5.3%
(``bench/oos_detector.py``, ``bench/results/oos_detector.txt``).
A one-feature logistic fit on the training vectors' own margins (each left out of its own
neighbours) turns the margin into a probability (its scale differs from the former detector's,
so the thresholds were re-swept); we decline above ``settings.OOS_PROBABILITY`` unless the best entry matches too strongly to doubt
(``settings.OOS_OVERRULED_AT``). Fitting takes well under a second and is never stored.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from . import settings

INTENT = "out_of_scope"
# Neighbours averaged on each side. Chosen on the tuning questions (bench/oos_detector.py):
# 1 nearest is noisy, 3 and 5 are close, 10 blurs the small off-topic islands.
K_NEAREST = 5
_CHUNK = 512  # rows per block when scoring the training vectors against each other


def examples(path: Path | None = None) -> list[str]:
    """The ``out_of_scope`` examples of the Rasa NLU data (default ``settings.NLU_FILE``),
    as written; they carry no entity markup."""
    from .nlu_export import read_examples

    return [text for intent, text in read_examples(path or settings.NLU_FILE) if intent == INTENT]


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Per row: the mean of its ``k`` largest values."""
    k = min(k, sims.shape[1])
    return np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:].mean(axis=1)


class OutOfScopeModel:
    """P(out of scope) for a message's sentence vector."""

    def __init__(self, in_scope: np.ndarray, off_topic_texts: Sequence[str], k: int = K_NEAREST):
        from sklearn.linear_model import LogisticRegression

        from .embed import cached_encode

        self._in = np.asarray(in_scope, dtype=np.float32)
        self._off = np.asarray(cached_encode(list(off_topic_texts), settings.CACHE_DIR), dtype=np.float32)
        self._k = k
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        margins = np.r_[self._left_out_margins(off_topic=False), self._left_out_margins(off_topic=True)]
        y = np.r_[np.zeros(len(self._in)), np.ones(len(self._off))]
        self._scale = LogisticRegression(class_weight="balanced").fit(margins.reshape(-1, 1), y)

    def margin(self, vectors: np.ndarray) -> np.ndarray:
        """Mean similarity to the nearest off-topic examples minus to the nearest phrasings."""
        v = np.atleast_2d(vectors)
        return _top_mean(v @ self._off.T, self._k) - _top_mean(v @ self._in.T, self._k)

    def _left_out_margins(self, off_topic: bool) -> np.ndarray:
        """Margins of the training vectors of one side, each without itself among its
        neighbours: it would otherwise be its own nearest example, at similarity 1."""
        own = self._off if off_topic else self._in
        out = []
        for start in range(0, len(own), _CHUNK):
            block = own[start:start + _CHUNK]
            sims_in, sims_off = block @ self._in.T, block @ self._off.T
            k_in = k_off = self._k
            if len(own) > 1:  # a lone example keeps itself: it has no other neighbour
                rows = np.arange(len(block))
                (sims_off if off_topic else sims_in)[rows, rows + start] = -np.inf
                if off_topic:
                    k_off = min(self._k, len(own) - 1)
                else:
                    k_in = min(self._k, len(own) - 1)
            out.append(_top_mean(sims_off, k_off) - _top_mean(sims_in, k_in))
        return np.concatenate(out) if out else np.zeros(0)

    def probability(self, query_vector: np.ndarray) -> float:
        """How likely (0-1) the message is one we should decline."""
        return float(self.probabilities(query_vector)[0])

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """``probability`` for each row of ``vectors``."""
        return self._scale.predict_proba(self.margin(vectors).reshape(-1, 1))[:, 1]

    @staticmethod
    def is_out_of_scope(probability: float, top_score: float = 0.0) -> bool:
        """Decline when likely off-topic, unless the best entry matches too well to doubt."""
        return probability >= settings.OOS_PROBABILITY and top_score < settings.OOS_OVERRULED_AT
