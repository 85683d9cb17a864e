"""Out-of-scope detector on sentence vectors: does a message read like the questions we answer
or like the off-topic questions we decline?

Why: the NLU routes most off-topic messages to ``out_of_scope``, but near-domain personal
questions ("how do I buy added pension for myself", "mileage expenses as a bank nurse") share
the knowledge base's words, so the NLU and the word-level match scores both take them for
questions we answer. On sentence vectors they sit with the out-of-scope examples of
``data/nlu.yml`` and ``faq/out_of_scope.yml`` (the second is not shown to the NLU: more
off-topic examples there cost the DIET classifier in-scope accuracy). A logistic regression
between every knowledge-base phrasing and those examples (classes balanced) gives a probability;
we decline above a threshold chosen on the tuning questions (``settings.OOS_PROBABILITY``),
unless the best entry matches too strongly to doubt (``settings.OOS_OVERRULED_AT``).
Fitting takes about a second, so it is done when the matcher is built, never stored.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from . import settings

INTENT = "out_of_scope"
# Inverse regularisation strength. Chosen on the tuning split (bench/retrieval.py --oos-sweep):
# weaker regularisation separated the near-domain questions better at the same in-scope cost.
C = 16.0


def examples(path: Path | None = None) -> list[str]:
    """The ``out_of_scope`` examples of the Rasa NLU data (default ``settings.NLU_FILE``),
    as written; they carry no entity markup."""
    from .nlu_export import read_examples

    return [text for intent, text in read_examples(path or settings.NLU_FILE) if intent == INTENT]


class OutOfScopeModel:
    """P(out of scope) for a message's sentence vector."""

    def __init__(self, in_scope: np.ndarray, off_topic_texts: Sequence[str]):
        from sklearn.linear_model import LogisticRegression

        from .embed import cached_encode

        off = cached_encode(list(off_topic_texts), settings.CACHE_DIR)
        x = np.vstack([in_scope, off])
        y = np.r_[np.zeros(len(in_scope)), np.ones(len(off))]
        self._model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000).fit(x, y)

    def probability(self, query_vector: np.ndarray) -> float:
        """How likely (0-1) the message is one we should decline."""
        return float(self._model.predict_proba(query_vector.reshape(1, -1))[0, 1])

    @staticmethod
    def is_out_of_scope(probability: float, top_score: float = 0.0) -> bool:
        """Decline when likely off-topic, unless the best entry matches too well to doubt."""
        return probability >= settings.OOS_PROBABILITY and top_score < settings.OOS_OVERRULED_AT
