"""Towns, council areas and health boards in the devolved nations name the nation
(data/nlu.yml's nation lookup): staff say "we're at Cardiff council" far more often than "we
are in Wales", and the answer that differs by nation must follow. Through the trained model."""
from __future__ import annotations

import pytest

from bot.evaluation import outcome_of


def _nation(assistant, sender: str) -> str | None:
    return assistant.tracker(sender).get_slot("nation")


@pytest.mark.parametrize("text, nation", [
    ("our team at cardiff council wants to go mutual", "wales"),
    ("I work for Betsi Cadwaladr in the falls service", "wales"),
    ("community learning team in Fife looking at becoming a co-op", "scotland"),
    ("perth and kinross council staff here", "scotland"),
    ("an Edinburgh council team forming a workers' co-op", "scotland"),
    ("we're in Aneurin Bevan University Health Board", "wales"),
    ("we're an hsc trust team in Omagh", "northern_ireland"),
    ("based in Derry, thinking about a staff-led enterprise", "northern_ireland"),
])
def test_a_place_in_a_devolved_nation_sets_the_nation(assistant, text, nation):
    entities = assistant.parse(text)["entities"]
    assert {e["value"] for e in entities if e["entity"] == "nation"} == {nation}


@pytest.mark.parametrize("text", [
    "our office is in newport",  # Wales, the Isle of Wight or Shropshire
    "we're a council team in bangor",  # Wales or Northern Ireland
    "I'm at Perth Royal Infirmary",  # Scotland, but Perth alone is also Australia
    "leisure services at Leeds city council",
    "Aneurin Bevan founded the NHS, would he have liked staff mutuals?",  # the man, not the health board
    "our chief executive Sarah Galloway wants us to spin out",  # a surname
    "we run the Duke of Edinburgh award for a council in Kent",  # an award, not the city
])
def test_an_ambiguous_or_english_place_names_no_nation(assistant, text):
    assert not [e for e in assistant.parse(text)["entities"] if e["entity"] == "nation"]


def test_naming_the_town_after_a_question_re_asks_it_for_that_nation(assistant):
    sender = "places-follow-up"
    first = outcome_of(assistant.say("which organisation helps co-ops and social businesses get started", sender))
    assert first.kind in ("answer", "clarify")
    again = outcome_of(assistant.say("we're in swansea", sender))
    assert _nation(assistant, sender) == "wales"
    assert again.kind == "answer" and again.entry_id == "support-wales"


@pytest.mark.parametrize("text", [
    "what about us at hmrc",
    "our DWP unit is going mutual next year",
    "MoJ team moving to a mutual",
    "civilian staff at the MOD here",
    "we're a jobcentre plus team",
])
def test_a_government_department_names_the_civil_service(assistant, text):
    entities = assistant.parse(text)["entities"]
    assert {e["value"] for e in entities if e["entity"] == "sector"} == {"civil_service"}


@pytest.mark.parametrize("text", [
    "do we need to register with HMRC before go live",  # the tax authority, not the employer
    "will HMRC want corporation tax from our co-op",
    "transferring the building means a new title at the land registry",
])
def test_hmrc_as_the_tax_authority_names_no_sector(assistant, text):
    assert not [e for e in assistant.parse(text)["entities"] if e["entity"] == "sector"]
