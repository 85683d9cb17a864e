"""Out-of-scope detector: a message worded like the known off-topic questions is declined even
when it shares the knowledge base's words; in-scope questions are not touched."""
from __future__ import annotations

from pathlib import Path

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
