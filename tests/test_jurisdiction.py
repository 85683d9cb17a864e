"""Questions set in another country are declined with a UK-only reply, and no real question
(a knowledge-base phrasing or an in-scope evaluation question) is caught."""
from pathlib import Path

import pytest

from bot import jurisdiction, kb, turn
from tests.support.real_questions import real_questions

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text, place", [
    ("pension rights for Australian public servants when a state service is privatised", "Australian"),
    ("I'm a nurse with the HSE in Ireland, will I keep my pension if we are outsourced?", "Ireland"),
    ("bidding for a contract in the republic of ireland as a social enterprise", "republic of ireland"),
    ("whats the us equivalent of tupe", "the us"),
    ("how do works councils in germany handle outsourcing", "germany"),
    ("our county in Ohio is privatising payroll, do we keep our benefits", "Ohio"),
])
def test_foreign_questions_are_found(text, place):
    assert jurisdiction.foreign_place(text) == place


@pytest.mark.parametrize("text", [
    "can a co-op in northern ireland be a community benefit society",
    "what's different in n ireland for tupe",
    "northern irish civil servants and the pension",
    "one of our proposed trustees lives in Ireland, does that matter for the EOT?",
    "can you help us work out the pension costs",
    "tell us what the council has to do",
    "is the irish model the same as in England?",  # compares with a UK nation: stays a UK question
    "our hsc trust team in Newry works with an Irish partner, can we still go mutual?",  # a UK place
    "we're at Swansea council and bid alongside a French firm, does section 33 still apply?",
])
def test_uk_questions_pass(text):
    assert jurisdiction.foreign_place(text) is None


def test_no_knowledge_base_phrasing_or_in_scope_question_is_caught():
    caught = [t for t in real_questions() if jurisdiction.foreign_place(t)]
    assert not caught, caught[:5]


def test_a_foreign_question_gets_the_uk_only_decline():
    base = kb.load(ROOT / "faq")
    result = turn.question(base, "do Canadian public servants keep their pension when a service is privatised?",
                           intent="ask_pensions")
    message = result.reply.messages[0]
    assert message.custom["kind"] == "declined" and result.reply.meta["reason"] == "outside_uk"
    assert result.reply.meta["place"] == "Canadian"
    assert "England, Wales, Scotland and Northern Ireland" in message.text and result.slots == {}
