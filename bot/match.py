"""Rank knowledge-base entries for a user's question.

The score (0-100) blends two views of the same question, because each fails where the
other holds: a fuzzy ratio (rapidfuzz) against every phrasing of an entry copes with typos
and word order but is fooled by long messages, and an idf-weighted word coverage copes with
long messages but not with typos. On top come a prior from the NLU's topic ranking (a soft
scope: every topic is searched, so a misrouted intent costs little) and the conversation's
context (sector, scheme, nation, legal form) against each entry's ``applies_to``.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping

from rapidfuzz import fuzz, process

from . import settings
from .kb import Entry, KnowledgeBase
from .text import Normaliser

ANSWER, CLARIFY, UNKNOWN = "answer", "clarify", "unknown"

# Which pension scheme a sector's staff are usually in, for when only the sector is known.
SECTOR_SCHEME = {"nhs": "nhsps", "local_government": "lgps", "civil_service": "pcsps", "schools": "tps"}
CONTEXT_KEYS = {"sector": "sectors", "pension_scheme": "schemes", "nation": "nations", "legal_form": "legal_forms"}


@dataclass(frozen=True)
class Weights:
    """How the parts of the score combine; bench/thresholds.py measures alternatives."""

    fuzzy: float = 0.55  # share of the fuzzy ratio
    coverage: float = 0.45  # share of the idf-weighted word coverage
    char: float = 0.0  # share of the character n-gram TF-IDF cosine
    topic_prior: float = 12.0  # points for an entry in a topic the NLU is sure of
    context_match: float = 10.0  # entry applies to what the user just said
    context_mismatch: float = 14.0  # entry is limited to something else the user just named
    remembered_match: float = 4.0  # entry applies to what the user said earlier


@dataclass(frozen=True)
class Context:
    """What we know of the user's situation: said in this message, or remembered in slots."""

    mentioned: Mapping[str, str] = field(default_factory=dict)
    remembered: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float
    fuzzy: float
    coverage: float
    matched: str  # the phrasing that matched best

    @property
    def id(self) -> str:
        return self.entry.id


@dataclass(frozen=True)
class MatchResult:
    query: str
    candidates: tuple[Candidate, ...]
    band: str

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def runner_up(self) -> Candidate | None:
        return self.candidates[1] if len(self.candidates) > 1 else None

    def options(self, limit: int = settings.CLARIFY_OPTIONS) -> list[Candidate]:
        """The candidates worth offering as "did you mean" buttons."""
        if not self.candidates:
            return []
        floor = max(settings.CLARIFY_SCORE, self.candidates[0].score - 20)
        return [c for c in self.candidates[:limit] if c.score >= floor]


class Matcher:
    """Holds the normalised knowledge base; build once per process, then call ``match``."""

    def __init__(self, kb: KnowledgeBase, weights: Weights | None = None):
        self.kb = kb
        self.weights = weights or Weights()
        self.norm = Normaliser(kb.lexicon)
        self.entries: list[Entry] = list(kb.entries.values())
        self._keys: list[str] = []
        self._owner: list[int] = []
        for i, entry in enumerate(self.entries):
            for phrasing in entry.phrasings:
                key = self.norm.key(phrasing)
                if key:
                    self._keys.append(key)
                    self._owner.append(i)
        # Word coverage: document frequency over entries (all phrasings of one entry form a document).
        self._doc_tokens: list[set[str]] = []
        df: Counter[str] = Counter()
        for entry in self.entries:
            toks = set()
            for phrasing in entry.phrasings:
                toks.update(self.norm.tokens(phrasing))
            self._doc_tokens.append(toks)
            df.update(toks)
        n = len(self.entries)
        self._idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        self._char = None
        if self.weights.char > 0:
            from sklearn.feature_extraction.text import TfidfVectorizer

            # Character n-grams inside words: typos and word forms still share most n-grams.
            self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
            self._char_matrix = self._char.fit_transform(self._keys)
        # A word no entry uses is as telling as the rarest word: it counts against coverage.
        self._unknown_idf = math.log((n + 1) / 0.5)

    def _coverage(self, tokens: list[str], docs: list[set[str]] | None = None) -> list[float]:
        """Per entry: share (0-100) of the query's idf weight that the entry's words cover."""
        if not tokens:
            return [0.0] * len(self.entries)
        uniq = set(tokens)
        weights = {t: self._idf.get(t, self._unknown_idf) for t in uniq}
        total = sum(weights.values())
        return [100.0 * sum(w for t, w in weights.items() if t in doc) / total for doc in (docs or self._doc_tokens)]

    def _without(self, entry_id: str, phrasing: str) -> tuple[list[int], list[set[str]]]:
        """Key indexes and entry documents with one phrasing left out (leave-one-out checks)."""
        i = next(n for n, e in enumerate(self.entries) if e.id == entry_id)
        key = self.norm.key(phrasing)
        skip = [j for j, (k, o) in enumerate(zip(self._keys, self._owner)) if o == i and k == key][:1]
        docs = list(self._doc_tokens)
        rest: set[str] = set()
        for p in self.entries[i].phrasings:
            if p != phrasing:
                rest.update(self.norm.tokens(p))
        docs[i] = rest
        return skip, docs

    def _fuzzy(self, key: str, skip: list[int] | None = None) -> tuple[list[float], list[str]]:
        """Per entry: best fuzzy ratio over its phrasings, and which phrasing gave it."""
        best = [0.0] * len(self.entries)
        which = [""] * len(self.entries)
        if not key:
            return best, which
        # token_set_ratio forgives extra words; token_sort_ratio punishes them. Their mean
        # keeps a two-word query from scoring 100 against every phrasing containing both words.
        set_scores = process.cdist([key], self._keys, scorer=fuzz.token_set_ratio)[0]
        sort_scores = process.cdist([key], self._keys, scorer=fuzz.token_sort_ratio)[0]
        for j, owner in enumerate(self._owner):
            if skip and j in skip:
                continue
            s = 0.5 * (float(set_scores[j]) + float(sort_scores[j]))
            if s > best[owner]:
                best[owner] = s
                which[owner] = self._keys[j]
        return best, which

    def _char_scores(self, key: str, skip: list[int] | None = None) -> list[float]:
        """Per entry: best cosine (0-100) of character n-grams against its phrasings."""
        best = [0.0] * len(self.entries)
        if self._char is None or not key:
            return best
        sims = (self._char_matrix @ self._char.transform([key]).T).toarray().ravel()
        for j, owner in enumerate(self._owner):
            if skip and j in skip:
                continue
            if sims[j] * 100 > best[owner]:
                best[owner] = float(sims[j]) * 100
        return best

    def _context_bonus(self, entry: Entry, context: Context | None) -> float:
        if context is None:
            return 0.0
        w = self.weights
        bonus = 0.0
        mentioned = dict(context.mentioned)
        remembered = dict(context.remembered)
        for source in (mentioned, remembered):
            if "sector" in source and "pension_scheme" not in source and source["sector"] in SECTOR_SCHEME:
                source["pension_scheme"] = SECTOR_SCHEME[source["sector"]]
        for slot, key in CONTEXT_KEYS.items():
            allowed = entry.applies_to.get(key)
            if not allowed:
                continue
            if slot in mentioned:
                bonus += w.context_match if mentioned[slot] in allowed else -w.context_mismatch
            elif slot in remembered and remembered[slot] in allowed:
                bonus += w.remembered_match
        return bonus

    def match(
        self,
        text: str,
        topic_probs: Mapping[str, float] | None = None,
        context: Context | None = None,
        limit: int = 5,
        leave_out: tuple[str, str] | None = None,
    ) -> MatchResult:
        """Rank entries for ``text``; ``topic_probs`` maps topic to NLU confidence.

        ``leave_out`` (entry id, phrasing) matches as if that phrasing were not in the
        knowledge base, to test whether an entry's other phrasings still find it.
        """
        text = text[: settings.MAX_QUERY_CHARS]
        tokens = self.norm.tokens(text)
        key = " ".join(tokens)
        skip, docs = self._without(*leave_out) if leave_out else (None, None)
        fuzzy, which = self._fuzzy(key, skip)
        coverage = self._coverage(tokens, docs)
        char = self._char_scores(key, skip)
        w = self.weights
        total = w.fuzzy + w.coverage + w.char
        topic_probs = topic_probs or {}
        scored = []
        for i, entry in enumerate(self.entries):
            base = (w.fuzzy * fuzzy[i] + w.coverage * coverage[i] + w.char * char[i]) / total
            score = base + w.topic_prior * topic_probs.get(entry.topic, 0.0) + self._context_bonus(entry, context)
            scored.append(Candidate(entry, max(0.0, min(100.0, score)), fuzzy[i], coverage[i], which[i]))
        scored.sort(key=lambda c: (-c.score, c.entry.id))
        top = tuple(scored[:limit])
        return MatchResult(query=key, candidates=top, band=band_for(top))


def band_for(candidates: tuple[Candidate, ...] | list[Candidate]) -> str:
    """Answer, clarify or unknown, from the top score and its lead over the runner-up."""
    if not candidates or candidates[0].score < settings.CLARIFY_SCORE:
        return UNKNOWN
    lead = candidates[0].score - (candidates[1].score if len(candidates) > 1 else 0.0)
    if candidates[0].score >= settings.ANSWER_SCORE and lead >= settings.ANSWER_MARGIN:
        return ANSWER
    return CLARIFY


_MATCHERS: dict[str, Matcher] = {}


def get_matcher(kb: KnowledgeBase) -> Matcher:
    """One matcher per knowledge-base version per process."""
    if kb.version not in _MATCHERS:
        _MATCHERS[kb.version] = Matcher(kb)
    return _MATCHERS[kb.version]
