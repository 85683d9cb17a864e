"""Out-of-scope detector: a message worded like the known off-topic questions is declined even
when it shares the knowledge base's words; in-scope questions are not touched."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot import oos, settings
from bot.match import ANSWER, UNKNOWN, Matcher
from tests.support.kbfactory import LEXICON, PENSION_ENTRIES, build

ROOT = Path(__file__).resolve().parent.parent
OFF_TOPIC = ["do council staff keep their staff discount at the gym when they leave",
             "can I keep my gym membership discount after leaving the council",
             "how do I update my address with the nhs pension scheme for my own pension",
             "when will my own pension be paid into my bank account",
             "what time does the leisure centre pool open"]


def test_examples_are_the_rasa_out_of_scope_examples():
    """Our reader and Rasa's own agree on the project's NLU data."""
    data = RasaYAMLReader().read(ROOT / "data" / "nlu.yml")
    want = [m.get("text") for m in data.training_examples if m.get("intent") == oos.INTENT]
    assert oos.examples(ROOT / "data" / "nlu.yml") == want
    assert len(want) > 100


def test_threshold_rule(monkeypatch):
    monkeypatch.setattr(settings, "OOS_PROBABILITY", 0.9)
    assert oos.OutOfScopeModel.is_out_of_scope(0.9)
    assert not oos.OutOfScopeModel.is_out_of_scope(0.89)
    monkeypatch.setattr(settings, "OOS_OVERRULED_AT", 90.0)
    assert oos.OutOfScopeModel.is_out_of_scope(0.99, top_score=89.9)
    assert not oos.OutOfScopeModel.is_out_of_scope(0.99, top_score=90.0)  # a match this strong is answered


@pytest.fixture
def matcher(tmp_path, monkeypatch):
    nlu = tmp_path / "nlu.yml"
    nlu.write_text('version: "3.1"\nnlu:\n- intent: out_of_scope\n  examples: |\n'
                   + "".join(f"    - {t}\n" for t in OFF_TOPIC))
    monkeypatch.setattr(settings, "NLU_FILE", nlu)
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    return Matcher(build(tmp_path, PENSION_ENTRIES, LEXICON))


def test_message_like_an_off_topic_example_is_declined(matcher, monkeypatch):
    text = "do council staff keep the gym discount when we leave"  # mostly knowledge-base words
    monkeypatch.setattr(settings, "OOS_PROBABILITY", 0.5)
    monkeypatch.setattr(settings, "OOS_OVERRULED_AT", 1000.0)
    result = matcher.match(text)
    assert result.band == UNKNOWN and result.out_of_scope >= 0.5
    # A match scoring at least OOS_OVERRULED_AT is answered whatever the detector says.
    monkeypatch.setattr(settings, "OOS_OVERRULED_AT", result.top.score)
    assert matcher.match(text).band == ANSWER
    monkeypatch.setattr(settings, "OOS_OVERRULED_AT", 1000.0)
    monkeypatch.setattr(settings, "OOS_PROBABILITY", 1.01)  # switched off: the word match alone decides
    assert matcher.match(text).band != UNKNOWN


def test_in_scope_question_is_still_answered(matcher, monkeypatch):
    monkeypatch.setattr(settings, "OOS_PROBABILITY", 0.5)
    result = matcher.match("Can I stay in the Local Government Pension Scheme after a spin-out?")
    assert result.band == ANSWER and result.top.id == "pensions-lgps-keep"
    assert result.out_of_scope < 0.5


def _unit(rows: list[list[float]]) -> np.ndarray:
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _model(monkeypatch, in_scope: np.ndarray, off: np.ndarray, k: int) -> oos.OutOfScopeModel:
    """A detector on hand-made vectors (the encoder is replaced: these 'texts' are indices)."""
    import bot.embed

    monkeypatch.setattr(bot.embed, "cached_encode", lambda texts, cache_dir: off[[int(t) for t in texts]])
    return oos.OutOfScopeModel(in_scope, [str(i) for i in range(len(off))], k=k)


def test_off_topic_islands_on_both_sides_are_found(monkeypatch):
    """Questions we answer on two opposite sides, off-topic ones on the two others: no straight
    boundary separates them (the former logistic detector's weakness); nearest neighbours do."""
    rng = np.random.default_rng(0)
    near = lambda centre: _unit([[c + rng.normal(0, 0.05) for c in centre] for _ in range(20)])  # noqa: E731
    in_scope = np.vstack([near([1, 0, 0]), near([-1, 0, 0])])
    off = np.vstack([near([0, 1, 0]), near([0, -1, 0])])
    model = _model(monkeypatch, in_scope, off, k=3)
    for query in ([0.1, 0.95, 0.0], [-0.1, -0.95, 0.1]):
        assert model.probability(_unit([query])[0]) > 0.9
    for query in ([0.95, 0.1, 0.0], [-0.95, -0.1, 0.1]):
        assert model.probability(_unit([query])[0]) < 0.1


def test_training_vectors_are_not_their_own_neighbours(monkeypatch):
    """Left out of its own neighbours, an off-topic example far from every other example has a
    margin near 0, not the 1 its own similarity would give; a lone example keeps itself."""
    in_scope = _unit([[1, 0, 0], [0.9, 0.1, 0]])
    off = _unit([[0, 1, 0], [0, 0, 1]])
    model = _model(monkeypatch, in_scope, off, k=1)
    margins = model._left_out_margins(off_topic=True)
    assert np.allclose(margins, [0 - 0.1 / np.linalg.norm([0.9, 0.1]), 0.0], atol=1e-6)
    assert np.allclose(model.margin(off), [1 - 0.1 / np.linalg.norm([0.9, 0.1]), 1.0], atol=1e-6)
    lone = _model(monkeypatch, in_scope, off[:1], k=5)  # k above the number of examples: all of them
    assert np.isfinite(lone._left_out_margins(off_topic=True)).all()
