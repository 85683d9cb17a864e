"""Rank knowledge-base entries for a user's question.

The score (0-100) blends two views of the same question, because each fails where the
other holds: a fuzzy ratio (rapidfuzz) against every phrasing of an entry copes with typos
and word order but is fooled by long messages, and an idf-weighted word coverage copes with
long messages but not with typos. A sentence encoder (bot.embed) adds the view neither has:
two questions with no words in common can mean the same thing. A linear classifier learns
the words that tell neighbouring entries apart. On top come a prior from the NLU's topic ranking (a soft
scope: every topic is searched, so a misrouted intent costs little) and the conversation's
context (sector, scheme, nation, legal form) against each entry's ``applies_to``.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import numpy as np
from rapidfuzz import fuzz, process

from . import settings
from .kb import TOPICS, Entry, KnowledgeBase
from .text import Normaliser, without_call_note

ANSWER, CLARIFY, UNKNOWN = "answer", "clarify", "unknown"
TOPIC_LIST = list(TOPICS)
# Entries whose phrasings get the (costly) fuzzy ratios: the best this many by the cheaper
# signals. Measured with bench/matcher.py and bench/retrieval.py: a lookup at 500 entries
# fell from 9.8 ms to 2.4 ms, and evaluation accuracy did not drop.
SHORTLIST = 40
# A one-word message whose fuzzy ratio with some phrasing reaches this is that phrasing, not a
# bare topic word (see Matcher._bare_term).
BARE_TERM_PHRASING = 90.0
# ... and a lead this wide (half an exact phrasing's score) over the runner-up means one entry owns
# the word ("MyCSP"), so it is answered.
BARE_TERM_LEAD = 50.0

# Which pension scheme a sector's staff are usually in, for when only the sector is known.
SECTOR_SCHEME = {"nhs": "nhsps", "local_government": "lgps", "civil_service": "pcsps", "schools": "tps"}
CONTEXT_KEYS = {"sector": "sectors", "pension_scheme": "schemes", "nation": "nations", "legal_form": "legal_forms"}


@dataclass(frozen=True)
class Weights:
    """How the parts of the score combine; bench/retrieval.py --variants measures alternatives
    (tuning split only; bench/results/retrieval.txt)."""

    fuzzy: float = 0.55  # share of the fuzzy ratio
    coverage: float = 0.45  # share of the idf-weighted word coverage
    char: float = 0.0  # share of the character n-gram TF-IDF cosine
    # Points per unit of sentence-embedding cosine (bot.embed). Chosen on the tuning split:
    # 0 -> 94.3% top-1, 40 -> 95.1%, 80 -> 96.2%, 100 -> 96.2%, 150 -> 95.4%.
    semantic: float = 80.0
    classifier: float = 30.0  # points per unit of the linear classifier's decision value
    topic_prior: float = 8.0  # points for an entry in a topic the NLU is sure of
    context_match: float = 10.0  # entry applies to what the user just said
    context_mismatch: float = 14.0  # entry is limited to something else the user just named
    remembered_match: float = 4.0  # entry applies to what the user said earlier


@dataclass(frozen=True)
class Context:
    """What we know of the user's situation: said in this message, or remembered in slots."""

    mentioned: Mapping[str, str] = field(default_factory=dict)
    remembered: Mapping[str, str] = field(default_factory=dict)
    denied: frozenset[str] = frozenset()  # slots this message said are not the case ("not council")


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float  # 0 and up; about 100 for a message that is one of the entry's phrasings
    fuzzy: float
    coverage: float
    matched: str  # the phrasing that matched best
    semantic: float = 0.0  # best sentence-embedding cosine with the entry's phrasings (0-1)

    @property
    def id(self) -> str:
        return self.entry.id


@dataclass(frozen=True)
class MatchResult:
    query: str
    candidates: tuple[Candidate, ...]
    band: str
    known_share: float = 1.0  # share of the message's words the knowledge base uses at all
    out_of_scope: float = 0.0  # bot.oos probability that the message is one we decline

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
        example_keys: list[int] = []
        for i, entry in enumerate(self.entries):
            own = len(entry.phrasings)
            for n, phrasing in enumerate(entry.match_texts):
                key = self.norm.key(phrasing)
                if key:
                    if n >= own:
                        example_keys.append(len(self._keys))
                    self._keys.append(key)
                    self._owner.append(i)
        # Keys of labelled examples (faq/examples.yml), left out when a follow-up is matched.
        self._example_keys = example_keys
        self._topic_index = np.array([TOPIC_LIST.index(e.topic) for e in self.entries], dtype=int)
        self._scoped = [i for i, e in enumerate(self.entries) if e.applies_to]
        owners = np.asarray(self._owner)
        self._starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        self._ends = np.r_[self._starts[1:], len(owners)]
        # Word coverage: document frequency over entries (all phrasings of one entry form a document).
        self._doc_tokens: list[set[str]] = []
        self._own_tokens: list[set[str]] = []  # the entry's own phrasings only
        df: Counter[str] = Counter()
        for entry in self.entries:
            toks = set()
            for phrasing in entry.phrasings:
                toks.update(self.norm.tokens(phrasing))
            self._own_tokens.append(set(toks))
            for example in entry.examples:
                toks.update(self.norm.tokens(example))
            self._doc_tokens.append(toks)
            df.update(toks)
        n = len(self.entries)
        self._idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        self._clf = None
        if self.weights.classifier > 0 and len(self.entries) > 1:
            self._fit_classifier()
        self._char = None
        if self.weights.char > 0:
            from sklearn.feature_extraction.text import TfidfVectorizer

            # Character n-grams inside words: typos and word forms still share most n-grams.
            self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
            self._char_matrix = self._char.fit_transform(self._keys)
        self._sem = None
        self._oos = None
        if self.weights.semantic > 0:
            self._fit_semantic()
            from .oos import OutOfScopeModel, examples

            off_topic = (examples() if settings.NLU_FILE.exists() else []) + list(kb.off_topic)
            self._oos = OutOfScopeModel(self._sem, off_topic) if off_topic else None
        from scipy.sparse import csr_matrix

        self._vocab = {t: j for j, t in enumerate(sorted(df))}
        rows, cols = [], []
        for i, toks in enumerate(self._doc_tokens):
            for t in toks:
                rows.append(i)
                cols.append(self._vocab[t])
        self._doc_matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(self._vocab)))
        # Words the knowledge base uses anywhere (phrasings and answers): a message made mostly
        # of other words ("how long do I cook a chicken") is about something else.
        self._known = set(df)
        for entry in self.entries:
            self._known.update(self.norm.tokens(entry.answer))
        # A word no entry uses is as telling as the rarest word: it counts against coverage.
        self._unknown_idf = math.log((n + 1) / 0.5)

    def _coverage(self, tokens: list[str], docs: list[set[str]] | None = None) -> np.ndarray:
        """Per entry: share (0-100) of the query's idf weight that the entry's words cover."""
        if not tokens:
            return np.zeros(len(self.entries))
        weights = {t: self._idf.get(t, self._unknown_idf) for t in set(tokens)}
        total = sum(weights.values())
        if docs is not None:  # leave-one-out: a changed document, computed the slow way
            return np.array([100.0 * sum(w for t, w in weights.items() if t in doc) / total for doc in docs])
        known = [(self._vocab[t], w) for t, w in weights.items() if t in self._vocab]
        if not known:
            return np.zeros(len(self.entries))
        cols, vals = zip(*known)
        return 100.0 * (self._doc_matrix[:, list(cols)] @ np.array(vals)) / total

    def _without(self, entry_id: str, phrasing: str) -> tuple[list[int], list[set[str]]]:
        """Key indexes and entry documents with one phrasing left out (leave-one-out checks)."""
        i = next(n for n, e in enumerate(self.entries) if e.id == entry_id)
        key = self.norm.key(phrasing)
        skip = [j for j, (k, o) in enumerate(zip(self._keys, self._owner)) if o == i and k == key][:1]
        docs = list(self._doc_tokens)
        rest: set[str] = set()
        for p in self.entries[i].match_texts:
            if p != phrasing:
                rest.update(self.norm.tokens(p))
        docs[i] = rest
        return skip, docs

    def _per_entry_max(self, values, skip: list[int] | None) -> np.ndarray:
        """Best value per entry over its phrasings (keys are stored grouped by entry)."""
        values = np.asarray(values, dtype=np.float64)
        if skip:
            values = values.copy()
            values[skip] = -1.0
        return np.maximum(np.maximum.reduceat(values, self._starts), 0.0)

    def _best_phrasing(self, i: int, raw: np.ndarray | None) -> str:
        if raw is None:
            return ""
        start, end = self._starts[i], self._ends[i]
        return self._keys[start + int(np.argmax(raw[start:end]))]

    def _fuzzy(self, key: str, skip: list[int] | None = None,
               shortlist: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Per entry: best fuzzy ratio over its phrasings; and the ratio per phrasing.

        With a ``shortlist`` of entry indexes only their phrasings are compared (the rest
        score 0): the ratios are the costliest part of a lookup and only decide among the
        entries the cheaper signals already rank near the top.
        """
        if not key:
            return np.zeros(len(self.entries)), None
        if shortlist is None:
            idx = np.arange(len(self._keys))
        else:
            idx = np.concatenate([np.arange(self._starts[i], self._ends[i]) for i in shortlist])
        keys = [self._keys[j] for j in idx]
        # token_set_ratio forgives extra words; token_sort_ratio punishes them. Their mean
        # keeps a two-word query from scoring 100 against every phrasing containing both words.
        set_scores = process.cdist([key], keys, scorer=fuzz.token_set_ratio)[0]
        sort_scores = process.cdist([key], keys, scorer=fuzz.token_sort_ratio)[0]
        raw = np.zeros(len(self._keys))
        raw[idx] = 0.5 * (set_scores.astype(np.float64) + sort_scores)
        return self._per_entry_max(raw, skip), raw

    def _fit_classifier(self) -> None:
        """A linear SVM over word and character n-grams, one class per entry.

        Similarity scores only compare a message with one phrasing at a time; the classifier
        learns which words tell neighbouring entries apart. It trains in well under a second
        per hundred entries, at load time, so a new answer still needs no Rasa retraining.
        """
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_union
        from sklearn.svm import LinearSVC

        self._clf_vec = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        )
        # The answer and the spoken script add each entry's own vocabulary (measured: +0.4
        # points of rank-1 accuracy on the tuning split, +0.6 on held-out; bench/retrieval.py).
        texts = list(self._keys)
        labels = [self.entries[o].id for o in self._owner]
        for entry in self.entries:
            texts += [self.norm.key(entry.answer), self.norm.key(entry.script.say)]
            labels += [entry.id, entry.id]
        features = self._clf_vec.fit_transform(texts)
        self._clf = LinearSVC(C=1.0).fit(features, labels)
        index = {e.id: i for i, e in enumerate(self.entries)}
        self._clf_order = [index[c] for c in self._clf.classes_]

    def _fit_semantic(self) -> None:
        """Sentence vectors of every phrasing, in the same order as the fuzzy keys.

        The encoder reads the phrasing as written (not the normalised key: stemmed words
        and lexicon codes such as "nhsps" are not language it was trained on). Vectors are
        cached on disk, so only a changed knowledge base pays the encoding time.
        """
        from .embed import cached_encode

        texts = [p for entry in self.entries for p in entry.match_texts if self.norm.key(p)]
        assert len(texts) == len(self._keys)
        self._sem = cached_encode(texts, settings.CACHE_DIR)
        self._sem_texts = texts

    def _semantic_scores(self, text: str, skip: list[int] | None = None) -> np.ndarray:
        """Per entry: best cosine (0-1) between the message and its phrasings."""
        if self._sem is None or not text.strip():
            return np.zeros(len(self.entries))
        return self._per_entry_max(self._sem @ _query_vector(text), skip)

    def _classifier_scores(self, key: str) -> np.ndarray:
        """Per entry: the classifier's decision value (about -1 to 1) for the message."""
        out = np.zeros(len(self.entries))
        if self._clf is None or not key:
            return out
        out[self._clf_order] = self._clf.decision_function(self._clf_vec.transform([key]))[0]
        return out

    def _char_scores(self, key: str, skip: list[int] | None = None) -> np.ndarray:
        """Per entry: best cosine (0-100) of character n-grams against its phrasings."""
        if self._char is None or not key:
            return np.zeros(len(self.entries))
        sims = (self._char_matrix @ self._char.transform([key]).T).toarray().ravel() * 100
        return self._per_entry_max(sims, skip)

    def _context_bonus(self, entry: Entry, context: Context | None, cap: float | None = None) -> float:
        """Points for an entry's fit to the user's context: a match per named slot (at most
        ``cap`` in all), minus a penalty per slot the entry is limited to something else."""
        if context is None:
            return 0.0
        w = self.weights
        bonus = 0.0
        mentioned = dict(context.mentioned)
        remembered = dict(context.remembered)
        for source in (mentioned, remembered):
            if "sector" in source and "pension_scheme" not in source and source["sector"] in SECTOR_SCHEME:
                source["pension_scheme"] = SECTOR_SCHEME[source["sector"]]
        penalty = 0.0
        for slot, key in CONTEXT_KEYS.items():
            allowed = entry.applies_to.get(key)
            if not allowed:
                continue
            if slot in mentioned:
                if mentioned[slot] in allowed:
                    bonus += w.context_match
                else:
                    penalty += w.context_mismatch
            elif slot in remembered and remembered[slot] in allowed:
                bonus += w.remembered_match
        if cap is not None:
            bonus = min(bonus, cap)
        return bonus - penalty

    def match(
        self,
        text: str,
        topic_probs: Mapping[str, float] | None = None,
        context: Context | None = None,
        limit: int = 5,
        leave_out: tuple[str, str] | None = None,
        context_strength: float = 1.0,
        context_cap: float | None = None,
        use_semantic: bool = True,
        use_examples: bool = True,
    ) -> MatchResult:
        """Rank entries for ``text``; ``topic_probs`` maps topic to NLU confidence.

        ``leave_out`` (entry id, phrasing) matches as if that phrasing were not in the
        knowledge base, to test whether an entry's other phrasings still find it.
        ``context_strength`` scales the context bonus: a follow-up that only names a new
        sector or nation must be decided by that context, not by the old question's words.
        ``context_cap`` bounds an entry's context points (before scaling): in a follow-up an
        entry limited to several named contexts ("swansea council": council, LGPS, Wales)
        would otherwise outrank the topic just discussed on the count of its labels alone.
        ``use_semantic=False`` leaves the sentence encoder out: for such a follow-up it would
        only measure how close the old question is to its old answer.
        ``use_examples=False`` matches the entries' own phrasings only: a follow-up joins the old
        question and the new context, and the long labelled examples would match that pair on
        its story rather than on the newly named sector or nation.
        """
        text = text[: settings.MAX_QUERY_CHARS]
        tokens = self.norm.tokens(text)
        key = " ".join(tokens)
        skip, docs = self._without(*leave_out) if leave_out else (None, None)
        if not use_examples:
            skip = (skip or []) + self._example_keys
            docs = self._own_tokens if docs is None else docs
        coverage = np.asarray(self._coverage(tokens, docs))
        char = self._char_scores(key, skip)
        # Leave-one-out checks skip the classifier: it has seen the phrasing left out.
        learned = self._classifier_scores(key) if leave_out is None else np.zeros(len(self.entries))
        w = self.weights
        total = w.fuzzy + w.coverage + w.char
        semantic = self._semantic_scores(text, skip) if use_semantic else np.zeros(len(self.entries))
        scores = (w.coverage * coverage + w.char * char) / total + w.classifier * learned + w.semantic * semantic
        if topic_probs:
            prior = np.array([topic_probs.get(t, 0.0) for t in TOPIC_LIST])
            scores = scores + w.topic_prior * prior[self._topic_index]
        if context is not None:
            for i in self._scoped:
                scores[i] += context_strength * self._context_bonus(self.entries[i], context, context_cap)
        shortlist = None
        if len(self.entries) > SHORTLIST and leave_out is None:
            shortlist = np.argsort(-scores, kind="stable")[:SHORTLIST]
        fuzzy, raw = self._fuzzy(key, skip, shortlist)
        scores = scores + w.fuzzy * fuzzy / total
        # Not capped at 100: when several signals agree an entry can pass 100, and capping
        # would turn a clear winner and its runner-up into a tie.
        scores = np.maximum(scores, 0.0)
        order = sorted(np.argsort(-scores, kind="stable")[: limit + 5], key=lambda i: (-scores[i], self.entries[i].id))
        top = tuple(
            Candidate(self.entries[i], float(scores[i]), float(fuzzy[i]), float(coverage[i]),
                      self._best_phrasing(i, raw), float(semantic[i]))
            for i in order[:limit]
        )
        uniq = set(tokens)
        known = sum(t in self._known for t in uniq) / len(uniq) if uniq else 0.0
        band = band_for(top, known)
        if band == ANSWER and self._bare_term(uniq, fuzzy, top):
            band = CLARIFY
        oos = 0.0
        # Only a fresh question is judged (a follow-up's text is the old question plus a new
        # context; leave-one-out checks are not messages a user typed).
        if self._oos is not None and use_semantic and leave_out is None and text.strip():
            asked = without_call_note(text)  # an operator's "caller asks ..." judged by the question
            oos = self._oos.probability(_query_vector(asked))
            if self._judge_parts(asked, oos):
                oos = min(oos, self._part_oos(asked))
            if band != UNKNOWN and self._oos.is_out_of_scope(oos, top[0].score if top else 0.0):
                band = UNKNOWN
        return MatchResult(query=key, candidates=top, band=band, known_share=known, out_of_scope=oos)

    @staticmethod
    def _judge_parts(text: str, oos: float) -> bool:
        """Whether a message is long enough to be read sentence by sentence too. Below both
        bars the detector's probability feeds (declining, overruling the NLU) no sentence's
        lower figure can change a decision, so the sentences' encoding (about 50 ms for a
        100-word message on 2 cores, bench/examples_time.py) is spared."""
        if not settings.PART_WORDS or len(text.split()) < settings.PART_WORDS:
            return False
        return oos >= min(settings.OOS_PROBABILITY, settings.NLU_OOS_OVERRULED_BELOW)

    def _part_oos(self, text: str) -> float:
        """The lowest out-of-scope probability among a long message's parts (1.0 for one part):
        a story about one's job and years of service reads as personal as a whole, though one
        sentence in it asks what we answer."""
        parts = _part_vectors(text)
        return float(self._oos.probabilities(parts).min()) if len(parts) > 1 else 1.0

    def _bare_term(self, uniq: set[str], fuzzy: np.ndarray, top: tuple[Candidate, ...]) -> bool:
        """A message of one word that several entries' own phrasings use ("pensions", "our
        VAT") names a topic, not a question; unless it is itself close to a phrasing ("tupe",
        "what is the EOA") or one entry owns the word by a wide lead ("what was MyCSP"), the
        honest reply is a choice, not the entry that happens to score best.
        """
        if len(uniq) != 1 or float(np.max(fuzzy, initial=0.0)) >= BARE_TERM_PHRASING:
            return False
        if len(top) > 1 and top[0].score - top[1].score >= BARE_TERM_LEAD:
            return False
        (token,) = uniq
        return sum(token in own for own in self._own_tokens) >= 2


@lru_cache(maxsize=1024)
def _part_vectors(text: str) -> np.ndarray:
    """Sentence vectors of a long message's parts (bot.text.message_parts), cached as _query_vector is."""
    from .embed import encoder
    from .text import message_parts

    return encoder().encode(message_parts(text))


@lru_cache(maxsize=4096)
def _query_vector(text: str) -> np.ndarray:
    """A message's sentence vector; cached because a conversation re-matches its last
    question on a follow-up, and the sweeps in bench/ replay the same questions."""
    from .embed import encoder

    return encoder().encode([text])[0]


def band_for(candidates: tuple[Candidate, ...] | list[Candidate], known_share: float = 1.0) -> str:
    """Answer, clarify or unknown, from the top score, its lead over the runner-up, and how
    much of the message is in the knowledge base's vocabulary at all."""
    if not candidates or candidates[0].score < settings.CLARIFY_SCORE or known_share < settings.MIN_KNOWN_SHARE:
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
