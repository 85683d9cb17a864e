"""Questions about one's own pension or job get a referral to the scheme, HR or a union, and
no real question (a knowledge-base phrasing or an in-scope evaluation question) is caught."""
from pathlib import Path

import pytest

from bot import kb, personal, turn
from tests.support.real_questions import real_questions

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text, matter", [
    ("how do i buy added pension in the nhs scheme for myself", personal.PENSION),
    ("can I apply for ill-health retirement from the LGPS? I have MS", personal.PENSION),
    ("my total reward statement has the wrong start date on it", personal.PENSION),
    ("whats my state pension age, born 1969", personal.PENSION),
    ("how many days annual leave do i get on band 5 after 5 years", personal.EMPLOYMENT),
    ("my manager turned down my flexible working request, can i appeal", personal.EMPLOYMENT),
    ("my payslip is short, overtime is missing", personal.EMPLOYMENT),
    ("how much do i pay into the lgps on 30k", personal.PENSION),
    ("sick pay after 3 years on agenda for change?", personal.EMPLOYMENT),  # national terms, no "I"
])
def test_personal_questions_are_found(text, matter):
    assert personal.personal_matter(text) == matter


@pytest.mark.parametrize("text", [
    # the same matters, asked about the move: Fair Deal and TUPE questions we answer
    "will i keep my ill health retirement rights when we become a cic",
    "does my annual leave carry over when we transfer to the mutual",
    "can i still buy added pension after tupe to the new employer",
    "my sick pay - is it protected when our service is spun out",
    "will my contributions change when we transfer",
    "will my pension contributions go up when our service moves to the new org",
    # not in the first person: an employer's question
    "can staff buy added pension in the lgps",
    # first person, but no personal matter
    "i want to know how a staff mutual is governed",
])
def test_spin_out_and_employer_questions_pass(text):
    assert personal.personal_matter(text) is None


def test_no_knowledge_base_phrasing_or_in_scope_question_is_caught():
    caught = [t for t in real_questions() if personal.personal_matter(t)]
    assert not caught, caught[:5]


@pytest.mark.parametrize("text, reason, referral", [
    ("how do I buy extra pension in the teachers pension scheme", "personal_pension", "scheme's administrator"),
    ("how do i raise a grievance against my line manager", "personal_employment", "Acas"),
])
def test_a_personal_question_gets_a_referral(text, reason, referral):
    base = kb.load(ROOT / "faq")
    for result in (turn.question(base, text, intent="ask_pensions"), turn.off_topic(base, text)):
        message = result.reply.messages[0]
        assert message.custom["kind"] == "declined" and result.reply.meta["reason"] == reason
        assert referral in message.text and base.service.phone in message.text
        assert result.slots == {}
