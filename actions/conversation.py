"""Actions for the conversational moves: decline, handoff, feedback."""
from __future__ import annotations

from typing import Text

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import Restarted
from rasa_sdk.executor import CollectingDispatcher

from bot import kb, respond, turn
from bot.turn import TurnResult

from .base import TurnAction


class ActionDecline(TurnAction):
    """Out of scope or a manipulation attempt: one fixed, polite decline."""

    def name(self) -> Text:
        return "action_decline"

    def turn(self, tracker: Tracker) -> TurnResult:
        return TurnResult(respond.decline(kb.get(), "out_of_scope"))


class ActionHandoff(TurnAction):
    """How to reach a person."""

    def name(self) -> Text:
        return "action_handoff"

    def turn(self, tracker: Tracker) -> TurnResult:
        return TurnResult(respond.handoff(kb.get()))


class ActionFeedback(TurnAction):
    """Helpful / not helpful after an answer, and "none of these" after choices."""

    def name(self) -> Text:
        return "action_feedback"

    def turn(self, tracker: Tracker) -> TurnResult:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        return turn.feedback(kb.get(), intent, tracker.current_slot_values())


class ActionStartAgain(Action):
    """Forget the conversation so far (slots and context) and say so."""

    def name(self) -> Text:
        return "action_start_again"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=respond.START_AGAIN, json_message={"kind": "restarted"})
        return [Restarted()]
