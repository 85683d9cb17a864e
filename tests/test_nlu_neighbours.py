"""The neighbour blend: each intent's confidence mixes DIET's, a linear head's probability and the
cosine to its nearest training example, the ranking is re-sorted, and the examples and the head
survive the model's save and load."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import settings
from bot.embed import encoder
from bot.nlu_neighbours import NeighbourBlend, best_per_intent, combine, fit_linear, linear_probabilities

CONTEXT = ExecutionContext(GraphSchema({}), node_name="neighbours")
EXAMPLES = [("can I stay in the NHS pension scheme after we spin out", "ask_pensions"),
            ("what happens to my LGPS membership when the service transfers", "ask_pensions"),
            ("does TUPE protect my terms and conditions", "ask_tupe"),
            ("recipe for a vegan lasagne", "out_of_scope")]


def trained(tmp_path: Path, monkeypatch, weight: float = 0.3, linear: float = 0.0) -> NeighbourBlend:
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    (tmp_path / "model").mkdir()
    storage = LocalModelStorage(tmp_path / "model")
    config = {"diet_weight": weight, "linear_weight": linear}
    component = NeighbourBlend.create(config, storage, Resource("neighbours"), CONTEXT)
    component.train(TrainingData([Message(data={TEXT: t, INTENT: i}) for t, i in EXAMPLES]))
    return NeighbourBlend.load(config, storage, Resource("neighbours"), CONTEXT)


def predicted(text: str, ranking: list[tuple[str, float]]) -> Message:
    rows = [{"name": n, "confidence": c} for n, c in ranking]
    return Message(data={TEXT: text, INTENT: dict(rows[0]), "intent_ranking": rows})


def test_best_per_intent():
    sims = np.array([0.2, 0.9, 0.5, 0.1])
    assert best_per_intent(sims, np.array([0, 0, 1, 1]), 3).tolist() == [0.9, 0.5, -1.0]


def test_confidence_is_the_weighted_sum_and_the_ranking_is_resorted(tmp_path, monkeypatch):
    """DIET is sure of out_of_scope, but the message is a near copy of a pensions example: the
    blend puts ask_pensions first, with 0.3 x DIET + 0.7 x its nearest cosine."""
    text = "can I stay in the NHS pension scheme after we spin out?"
    [message] = trained(tmp_path, monkeypatch).process(
        [predicted(text, [("out_of_scope", 0.9), ("ask_pensions", 0.1)])])
    ranking = message.get("intent_ranking")
    assert [r["name"] for r in ranking][:1] == ["ask_pensions"] == [message.get(INTENT)["name"]]
    vector = encoder().encode([text])[0]
    nearest = max(float(vector @ encoder().encode([t])[0]) for t, i in EXAMPLES if i == "ask_pensions")
    assert ranking[0]["confidence"] == pytest.approx(0.3 * 0.1 + 0.7 * nearest, abs=1e-5)
    # Every trained intent is ranked, also those DIET's (truncated) ranking left out.
    assert {r["name"] for r in ranking} == {"ask_pensions", "ask_tupe", "out_of_scope"}


def test_an_unfamiliar_message_gets_a_low_confidence(tmp_path, monkeypatch):
    """DIET's 0.95 for a message like none of the examples becomes a confidence a fallback
    threshold catches; a familiar one stays high."""
    component = trained(tmp_path, monkeypatch)
    odd = predicted("which premier league team has the best away record", [("ask_tupe", 0.95), ("ask_pensions", 0.05)])
    known = predicted("does tupe protect my terms", [("ask_tupe", 0.95), ("ask_pensions", 0.05)])
    component.process([odd, known])
    assert odd.get(INTENT)["confidence"] < 0.35 < 0.7 < known.get(INTENT)["confidence"]


def test_diet_weight_one_keeps_diets_order(tmp_path, monkeypatch):
    component = trained(tmp_path, monkeypatch, weight=1.0)
    [message] = component.process([predicted("recipe for a vegan lasagne", [("ask_tupe", 0.6), ("out_of_scope", 0.4)])])
    assert [r["name"] for r in message.get("intent_ranking")][:2] == ["ask_tupe", "out_of_scope"]


def test_without_trained_examples_nothing_changes(tmp_path):
    component = NeighbourBlend.load({"diet_weight": 0.15}, LocalModelStorage(tmp_path), Resource("none"), CONTEXT)
    message = predicted("does tupe apply", [("ask_tupe", 0.9), ("ask_pensions", 0.1)])
    component.process([message])
    assert message.get(INTENT) == {"name": "ask_tupe", "confidence": 0.9}


@pytest.mark.parametrize("weight", [-0.1, 1.5, "half", True])
def test_bad_weight_is_refused(weight):
    with pytest.raises(InvalidConfigException, match="diet_weight"):
        NeighbourBlend.validate_config({"diet_weight": weight})


def test_button_payloads_and_empty_training_data_leave_the_ranking_alone(tmp_path, monkeypatch):
    """A payload ("/choose_entry{...}") gets its intent from the payload; a model trained on no
    examples passes DIET's ranking through."""
    component = trained(tmp_path, monkeypatch)
    payload = predicted('/choose_entry{"entry_id": "x"}', [("choose_entry", 1.0), ("ask_tupe", 0.0)])
    component.process([payload])
    assert payload.get(INTENT) == {"name": "choose_entry", "confidence": 1.0}
    (tmp_path / "empty").mkdir()
    storage = LocalModelStorage(tmp_path / "empty")
    empty = NeighbourBlend.create({"diet_weight": 0.3}, storage, Resource("n"), CONTEXT)
    empty.train(TrainingData([]))
    loaded = NeighbourBlend.load({"diet_weight": 0.3}, storage, Resource("n"), CONTEXT)
    message = predicted("does tupe apply", [("ask_tupe", 0.9)])
    loaded.process([message])
    assert message.get(INTENT) == {"name": "ask_tupe", "confidence": 0.9}


@pytest.mark.parametrize("tokens", [0, 2, 129, 64.5, "64"])
def test_bad_max_tokens_is_refused(tokens):
    with pytest.raises(InvalidConfigException, match="max_tokens"):
        NeighbourBlend.validate_config({"diet_weight": 0.3, "max_tokens": tokens})


def test_combine_is_the_weighted_sum_with_negative_cosines_as_zero():
    got = combine(np.array([0.5, 0.5]), np.array([0.2, 0.8]), np.array([0.9, -0.4]), 0.3, 0.2)
    assert got.tolist() == pytest.approx([0.3 * 0.5 + 0.2 * 0.2 + 0.5 * 0.9, 0.3 * 0.5 + 0.2 * 0.8])


def test_linear_head_separates_its_intents_and_rows_sum_to_one():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8))
    owner = np.repeat([0, 2], 10)  # intent 1 has no examples
    vectors = centres[owner] + 0.05 * rng.normal(size=(20, 8))
    weights, biases = fit_linear(vectors, owner, 3, 100.0)
    probs = linear_probabilities(weights, biases, centres)
    assert probs.sum(axis=1) == pytest.approx([1, 1, 1])
    assert probs[0].argmax() == 0 and probs[2].argmax() == 2
    assert probs[:, 1].max() < 1e-6  # an intent never seen gets no probability
    # One intent only: nothing to separate, everything is that intent.
    weights, biases = fit_linear(vectors[:10], owner[:10], 2, 100.0)
    assert linear_probabilities(weights, biases, centres)[:, 0] == pytest.approx([1, 1, 1])


def test_linear_head_is_saved_and_used(tmp_path, monkeypatch):
    """With a linear share the confidence is 0.3 x DIET + 0.2 x the head + 0.5 x nearest cosine,
    and the head comes back from the model storage."""
    component = trained(tmp_path, monkeypatch, weight=0.3, linear=0.2)
    assert (tmp_path / "model" / "neighbours" / "linear.npz").exists()
    text = "does tupe protect my terms"
    [message] = component.process([predicted(text, [("ask_tupe", 0.6), ("ask_pensions", 0.4)])])
    top = message.get(INTENT)
    assert top["name"] == "ask_tupe"
    vector = encoder().encode([text], max_tokens=component._config["max_tokens"])[0]
    head = linear_probabilities(*component._linear, vector[None, :])[0][component._intents.index("ask_tupe")]
    nearest = float(vector @ encoder().encode(["does TUPE protect my terms and conditions"])[0])
    assert top["confidence"] == pytest.approx(0.3 * 0.6 + 0.2 * head + 0.5 * nearest, abs=1e-5)


@pytest.mark.parametrize("config, key", [({"diet_weight": 0.3, "linear_weight": 0.8}, "linear_weight"),
                                         ({"diet_weight": 0.3, "linear_weight": -0.1}, "linear_weight"),
                                         ({"diet_weight": 0.3, "linear_c": 0}, "linear_c"),
                                         ({"diet_weight": 0.3, "linear_c": "big"}, "linear_c")])
def test_bad_linear_settings_are_refused(config, key):
    with pytest.raises(InvalidConfigException, match=key):
        NeighbourBlend.validate_config(config)


def test_grouped_examples_give_the_same_best_cosines_and_survive_reload(tmp_path, monkeypatch):
    """Examples are kept grouped by intent (for reduceat); the per-intent best must equal the
    ungrouped computation, and the saved labels must stay paired with their vectors."""
    component = trained(tmp_path, monkeypatch)
    vectors = encoder().encode([t for t, _ in EXAMPLES])
    intents = sorted({i for _, i in EXAMPLES})
    owner = np.array([intents.index(i) for _, i in EXAMPLES])
    query = encoder().encode(["will my pension change when we transfer"])[0]
    expected = best_per_intent(vectors @ query, owner, len(intents))
    got = np.maximum.reduceat(component._vectors @ query, component._starts)
    assert got == pytest.approx(expected, abs=1e-6)
    assert component._labels == sorted(i for _, i in EXAMPLES)
