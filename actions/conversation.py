"""Actions for the conversational moves: greeting, decline, handoff, feedback, start again."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import Restarted
from rasa_sdk.executor import CollectingDispatcher

from bot import kb, respond, turn
from bot.turn import TurnResult

from .base import TurnAction, latest_entities, latest_ranking, latest_text


class ActionGreet(Action):
    """Say hello. A question with a greeting in front ("Hi, I manage a small adult learning
    team ... which legal form should we use?") never arrives here: the NLU's move filter
    (bot/nlu_moves.py) gives a message that long the best topic intent instead."""

    def name(self) -> Text:
        return "action_greet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=respond.GREETING, json_message={"kind": "greeting"})
        return []


class ActionDecline(TurnAction):
    """Out of scope: one fixed, polite decline, unless the knowledge base clearly answers it."""

    def name(self) -> Text:
        return "action_decline"

    def turn(self, tracker: Tracker) -> TurnResult:
        return turn.off_topic(kb.get(), latest_text(tracker), latest_ranking(tracker), latest_entities(tracker),
                              tracker.current_slot_values())


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
