"""Actions that answer from the knowledge base."""
from __future__ import annotations

from typing import Text

from rasa_sdk import Tracker

from bot import kb, turn
from bot.turn import TurnResult

from .base import TurnAction, latest_entities, latest_ranking, latest_text


class ActionAnswer(TurnAction):
    """A topic question: match it in faq/ and answer, clarify or say we don't know."""

    def name(self) -> Text:
        return "action_answer"

    def turn(self, tracker: Tracker) -> TurnResult:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        return turn.question(kb.get(), latest_text(tracker), latest_ranking(tracker),
                             latest_entities(tracker), tracker.current_slot_values(), intent)


class ActionFollowUp(TurnAction):
    """"What about council staff?": re-ask the last question in the new context."""

    def name(self) -> Text:
        return "action_follow_up"

    def turn(self, tracker: Tracker) -> TurnResult:
        return turn.follow_up(kb.get(), latest_text(tracker), latest_entities(tracker),
                              tracker.current_slot_values(), latest_ranking(tracker))


class ActionChooseEntry(TurnAction):
    """A "did you mean" button press."""

    def name(self) -> Text:
        return "action_choose_entry"

    def turn(self, tracker: Tracker) -> TurnResult:
        entry_id = next((e.get("value") for e in latest_entities(tracker) if e.get("entity") == "entry_id"), None)
        return turn.choose(kb.get(), entry_id, tracker.current_slot_values())


class ActionFallback(TurnAction):
    """NLU unsure: answer only a confident match, otherwise say honestly we don't know."""

    def name(self) -> Text:
        return "action_fallback"

    def turn(self, tracker: Tracker) -> TurnResult:
        return turn.question(kb.get(), latest_text(tracker), latest_ranking(tracker), latest_entities(tracker),
                             tracker.current_slot_values(), "nlu_fallback", strict=True)
