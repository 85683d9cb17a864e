"""Questions about how public bodies are organised get a polite decline with a pointer, and no
real question (a knowledge-base phrasing or an in-scope evaluation question) is caught."""
from pathlib import Path

import pytest

from bot import bodies, kb, turn
from tests.support.real_questions import real_questions

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text", [
    "how are integrated care boards funded",
    "who sits on the board of an nhs foundation trust?",
    "difference between a county council and a district council",
    "how is nhs wales organised these days",
    "who appoints the local governing body of an academy",
    "how many local authorities are there in scotland",
])
def test_questions_about_how_bodies_are_organised_are_found(text):
    assert bodies.about_public_bodies(text)


@pytest.mark.parametrize("text", [
    # the same bodies, asked about the move: questions we answer
    "how does the ICB decide whether to commission our mutual?",
    "who decides whether our service can leave the council?",
    "how does the provider selection regime work for ICBs",
    "what's the difference between a cic and a community benefit society for a council spin-out",
    "how are mutuals that leave the nhs governed",
    "who runs the pension fund for council staff after a transfer",
    # a body named, but no question about its organisation
    "can an nhs trust spin out a community service",
    "How are start-up costs funded when a council team goes independent?",
    "Do we need to register with the CQC before launch, and who inspects us?",
    "how many weeks does the NHS trust have to respond to our expression of interest?",
    "What's the difference between staying in-house at the council and going independent?",
    "What is the difference between an alliance and a joint venture with the NHS trust?",
    "who appoints the chair when a council library service becomes independent?",
    "who is in charge of signing off our exit from the NHS trust?",
    "How do we run the options appraisal the ICB has asked for?",
])
def test_spin_out_questions_pass(text):
    assert not bodies.about_public_bodies(text)


def test_no_knowledge_base_phrasing_or_in_scope_question_is_caught():
    caught = [t for t in real_questions() if bodies.about_public_bodies(t)]
    assert not caught, caught[:5]


def test_a_question_about_a_body_gets_a_decline_with_a_pointer():
    base = kb.load(ROOT / "faq")
    text = "how are ICBs organised and who runs them"
    for result in (turn.question(base, text, intent="ask_process"), turn.off_topic(base, text)):
        message = result.reply.messages[0]
        assert message.custom["kind"] == "declined" and result.reply.meta["reason"] == "public_bodies"
        assert "own website" in message.text and base.service.phone in message.text
        assert result.slots == {}
