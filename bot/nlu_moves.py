"""Rasa NLU component: a long message is a question, not a greeting, thanks or "yes".

Why: DIET sometimes gives a long question the intent of a short conversational move. "The
council has offered to let us keep using the day centre and the minibuses, can we take them
on?" came back as ``goodbye``, and a 40-word question about the LGPS as ``affirm``; the rules
then say goodbye or record feedback, and the question is lost. Every training example of
those moves is a few words long (data/nlu.yml: at most 7), so a message several times longer
than any example of its predicted move was not that move. This component, placed after DIET
and before the FallbackClassifier, then takes the best-ranked intent that is not a move; if
that one is unsure, the FallbackClassifier still turns it into ``nlu_fallback`` (the matcher,
strict). The longest example of each move is learned at training time, so new examples move
the limit with them.

Use in config.yml, after DIETClassifier::

    - name: bot.nlu_moves.LongMessageMoveFilter
      moves: [greet, goodbye, thanks, affirm, deny]
      factor: 2
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)
FILE = "longest_examples.json"


def words(text: str | None) -> int:
    return len((text or "").split())


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LongMessageMoveFilter(GraphComponent, IntentClassifier):
    """Re-labels a message predicted as a short move when it is ``factor`` times longer than the
    longest training example of that move."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """``moves``: intents whose examples are short conversational moves; ``factor``: how many
        times the longest example a message may be before it stops counting as that move."""
        return {"moves": [], "factor": 2.0}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 longest: Optional[Dict[Text, int]] = None) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self.longest: Dict[Text, int] = dict(longest or {})

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LongMessageMoveFilter":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Learn the longest example (in words) of each configured move."""
        moves = set(self._config["moves"])
        longest: Dict[Text, int] = {}
        for example in training_data.intent_examples:
            name = example.get(INTENT)
            if name in moves:
                longest[name] = max(longest.get(name, 0), words(example.get(TEXT)))
        self.longest = longest
        with self._storage.write_to(self._resource) as directory:
            (directory / FILE).write_text(json.dumps(longest, sort_keys=True))
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "LongMessageMoveFilter":
        try:
            with model_storage.read_from(resource) as directory:
                longest = json.loads((directory / FILE).read_text())
        except (ValueError, FileNotFoundError):
            logger.warning("%s: no trained limits found; every prediction is kept", cls.__name__)
            longest = {}
        return cls(config, model_storage, resource, longest)

    def limit(self, intent: Text) -> Optional[float]:
        """Most words a message predicted as ``intent`` may have, or None when not a move."""
        if intent not in self.longest:
            return None
        return self._config["factor"] * self.longest[intent]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            predicted = message.get(INTENT) or {}
            limit = self.limit(predicted.get(INTENT_NAME_KEY))
            if limit is None or words(message.get(TEXT)) <= limit:
                continue
            ranking = message.get(INTENT_RANKING_KEY) or []
            rest = [r for r in ranking if r.get(INTENT_NAME_KEY) not in self.longest]
            if rest:
                message.set(INTENT, dict(rest[0]), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
