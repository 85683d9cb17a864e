"""The long-message filter: a message far longer than any example of its predicted move takes
the best non-move intent instead, and the limits survive the model's save and load."""
from __future__ import annotations

from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu_moves import LongMessageMoveFilter

CONFIG = {**LongMessageMoveFilter.get_default_config(), "moves": ["goodbye", "affirm"], "factor": 2}
CONTEXT = ExecutionContext(GraphSchema({}), node_name="moves")


def trained(tmp_path: Path) -> LongMessageMoveFilter:
    storage = LocalModelStorage(tmp_path)
    component = LongMessageMoveFilter.create(CONFIG, storage, Resource("moves"), CONTEXT)
    examples = [Message(data={TEXT: t, INTENT: i}) for t, i in [
        ("bye", "goodbye"), ("ok bye for now", "goodbye"), ("yes", "affirm"),
        ("can I keep my NHS pension after we spin out?", "ask_pensions")]]
    component.train(TrainingData(examples))
    return LongMessageMoveFilter.load(CONFIG, storage, Resource("moves"), CONTEXT)


def predicted(text: str, ranking: list[tuple[str, float]]) -> Message:
    rows = [{"name": n, "confidence": c} for n, c in ranking]
    return Message(data={TEXT: text, INTENT: dict(rows[0]), "intent_ranking": rows})


def test_limits_are_learned_from_the_moves_examples_and_reloaded(tmp_path):
    component = trained(tmp_path)
    assert component.longest == {"goodbye": 4, "affirm": 1}
    assert component.limit("goodbye") == 8 and component.limit("ask_pensions") is None


def test_a_long_message_takes_the_best_non_move_intent(tmp_path):
    text = "the council has offered to let us keep using the day centre and the minibuses, can we?"
    [message] = trained(tmp_path).process([predicted(text, [("goodbye", 0.6), ("affirm", 0.2), ("ask_finance", 0.15)])])
    assert message.get(INTENT) == {"name": "ask_finance", "confidence": 0.15}


def test_short_moves_and_questions_are_left_alone(tmp_path):
    component = trained(tmp_path)
    bye = predicted("ok thanks, bye for now then", [("goodbye", 0.9), ("ask_finance", 0.1)])
    question = predicted("what happens to my lgps pension when the whole team transfers out next year",
                         [("ask_pensions", 0.9), ("goodbye", 0.1)])
    component.process([bye, question])
    assert bye.get(INTENT)["name"] == "goodbye" and question.get(INTENT)["name"] == "ask_pensions"


def test_without_trained_limits_nothing_changes(tmp_path):
    component = LongMessageMoveFilter.load(CONFIG, LocalModelStorage(tmp_path), Resource("none"), CONTEXT)
    long_yes = predicted("yes " * 30, [("affirm", 0.9), ("ask_tupe", 0.1)])
    component.process([long_yes])
    assert long_yes.get(INTENT)["name"] == "affirm"
