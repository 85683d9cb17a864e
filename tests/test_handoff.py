"""A short request for a person gets the phone line and the callback offer whatever intent the
NLU gave it, and no knowledge-base phrasing or topic question is taken for one."""
import pytest

from bot import handoff, kb, settings, turn
from bot.evaluation import load_questions
from tests.support.real_questions import ROOT, real_questions


@pytest.mark.parametrize("text", [
    "i want to talk to a human",
    "is there someone i can ring to talk it through?",
    "can I speak with a real person please",
    "put me through to someone",
    "could someone call me back",
    "adviser please",
])
def test_requests_for_a_person_are_found(text):
    assert handoff.wants_a_person(text)


@pytest.mark.parametrize("text", [
    "who should we talk to about the lgps admission agreement?",
    "do we have to speak to staff before the transfer?",
    "we'd like to talk to people who have done it",
    "I manage a team of 40 and we want to talk to people who have already spun out of the council, who can help?",
])
def test_questions_about_who_to_talk_to_are_left_to_the_knowledge_base(text):
    assert not handoff.wants_a_person(text)


def test_only_handoff_labelled_questions_are_caught():
    handoffs = {q.text for q in load_questions(ROOT / "tests" / "eval" / "questions.yml") if q.expect == "human_handoff"}
    caught = [t for t in real_questions() if handoff.wants_a_person(t) and t not in handoffs]
    assert not caught, caught[:5]


@pytest.mark.parametrize("intent, strict", [("nlu_fallback", True), ("ask_process", False)])
def test_whatever_the_intent_the_reply_is_the_handoff(intent, strict):
    base = kb.load(settings.FAQ_DIR)
    result = turn.question(base, "i want to talk to a human", intent=intent, strict=strict)
    assert result.reply.messages[0].custom["kind"] == "handoff" and result.reply.meta["band"] == "handoff"
    declined = turn.off_topic(base, "can i talk to a real person")
    assert declined.reply.messages[0].custom["kind"] == "handoff"
