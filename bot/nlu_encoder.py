"""Rasa NLU dense featurizer: all-MiniLM-L6-v2 vectors of each message's text.

Why: DIET's other inputs are word and character n-gram counts, which cannot tell that two
differently worded questions mean the same thing; a sentence encoder trained on question pairs
can. The vectors come from ``bot.embed`` (NumPy, no PyTorch), so nothing is downloaded.

Use in config.yml, after the tokenizer and before DIETClassifier::

    - name: bot.nlu_encoder.SentenceEncoderFeaturizer

Rasa imports the class by module path; ``rasa`` puts its working directory on ``sys.path``,
so run it from the project root (or set ``PYTHONPATH`` to it, as scripts/run.sh does).

What DIET does with it (Rasa 3.6 sources, rasa/utils/tensorflow/rasa_layers.py and
rasa/nlu/classifiers/diet_classifier.py): all sentence features of TEXT are concatenated
(sparse ones first projected to ``dense_dimension`` = 128 units), likewise all sequence
features; if the two widths then differ, RasaFeatureCombiningLayer adds a learned layer per
type (``concat_dimension`` units, randomly connected at ``connection_density``, with dropout)
before it appends the sentence vector after the tokens. With ``number_of_transformer_layers:
0`` the intent is classified from that sentence position alone (``_last_token``). So a
sentence feature alone works, but only through that extra layer; with ``sequence_features:
true`` (the default, as Rasa's own dense featurizers do) each token also gets the encoder's
states, both widths are 128 + 384 and DIET sees the concatenated sentence vector directly.

Every vector (sentence or token) is unit length times ``scale``. At 1 its components are
about 0.05 (1/sqrt(384)), an order smaller than the projections of the sparse count features
next to it and than the unit-variance inputs DIET's initialisation assumes; ``scale`` =
sqrt(384) makes them 1 on average (the choice is measured in bench/results/hint3_variants/).
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException, RasaException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.embed import DIM, Encoder, EncoderMissing, encoder

logger = logging.getLogger(__name__)

BATCH_SIZE = "batch_size"
SEQUENCE_FEATURES = "sequence_features"
SCALE = "scale"
_WORD = re.compile(r"\S+")  # the words of str.split(), with their offsets


class EncoderUnavailable(EncoderMissing, RasaException):
    """The model package is missing. A RasaException, so the rasa CLI prints the message
    (how to install it) instead of a traceback; still an EncoderMissing for our own callers."""


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the 384-d all-MiniLM-L6-v2 sentence vector of the TEXT attribute as a dense
    sentence feature and, optionally, one 384-d vector per token as a sequence feature."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Per-token features follow the tokenizer's tokens."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """``alias`` (from the base class), texts per forward pass, whether to add per-token
        features too, and the length of every vector."""
        return {**DenseFeaturizer.get_default_config(), BATCH_SIZE: 64, SEQUENCE_FEATURES: True, SCALE: 1.0}

    @staticmethod
    def required_packages() -> List[Text]:
        """NumPy and SciPy run the encoder. The model package is checked when the component
        is created, so a missing one gives bot.embed's install instructions, not Rasa's
        generic message."""
        return ["numpy", "scipy"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """The batch size must be a positive integer, sequence_features a boolean, scale > 0."""
        size = config.get(BATCH_SIZE)
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise InvalidConfigException(f"{cls.__name__}: '{BATCH_SIZE}' must be a positive integer, got {size!r}.")
        if not isinstance(config.get(SEQUENCE_FEATURES), bool):
            raise InvalidConfigException(f"{cls.__name__}: '{SEQUENCE_FEATURES}' must be true or false.")
        scale = config.get(SCALE)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise InvalidConfigException(f"{cls.__name__}: '{SCALE}' must be a positive number, got {scale!r}.")

    def __init__(self, config: Dict[Text, Any], name: Text, model: Optional[Encoder] = None) -> None:
        """Loads the shared encoder now, so a missing model fails at model load, not mid-chat."""
        super().__init__(name, config)
        try:
            self._encoder = model if model is not None else encoder()
        except EncoderMissing as e:
            raise EncoderUnavailable(str(e)) from e

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        """Creates the component; it has no trained state, so loading a model does the same."""
        return cls(config, execution_context.node_name)

    @staticmethod
    def _token_vectors(text: Text, tokens: List[Token], words: np.ndarray, sentence: np.ndarray) -> np.ndarray:
        """One row per Rasa token: the mean of the encoder's word vectors (whitespace words)
        that the token's characters overlap; the tokenizer may split a word ("don't") or
        drop punctuation, but its tokens are always substrings of the text. A token that
        overlaps none (not expected) gets the sentence vector."""
        spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        out = np.empty((len(tokens), DIM), dtype=np.float32)
        for row, token in enumerate(tokens):
            hits = [w for w, (start, end) in enumerate(spans) if start < token.end and end > token.start and w < len(words)]
            out[row] = words[hits].mean(0) if hits else sentence
        return out

    def _featurize(self, messages: List[Message]) -> None:
        """Encodes the texts of all given messages in batches and adds the features.

        Messages without text (e.g. intent-only examples from stories) are skipped, as
        Rasa's own dense featurizers do.
        """
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text:
            return
        texts = [m.get(TEXT) for m in with_text]
        size, scale = self._config[BATCH_SIZE], np.float32(self._config[SCALE])
        if not self._config[SEQUENCE_FEATURES]:
            for message, vector in zip(with_text, self._encoder.encode(texts, batch_size=size)):
                self.add_features_to_message(sequence=None, sentence=vector.reshape(1, DIM) * scale, attribute=TEXT, message=message)
            return
        for message, text, (sentence, words) in zip(with_text, texts, self._encoder.encode_words(texts, batch_size=size)):
            tokens = message.get(TOKENS_NAMES[TEXT])
            sequence = None
            if tokens:
                sequence = self._token_vectors(text, tokens, words, sentence)
                sequence *= scale / np.maximum(np.linalg.norm(sequence, axis=1, keepdims=True), 1e-12)
            self.add_features_to_message(sequence=sequence, sentence=sentence.reshape(1, DIM) * scale, attribute=TEXT, message=message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes all training examples in place (batched)."""
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurizes incoming messages in place (one batch)."""
        self._featurize(messages)
        return messages
