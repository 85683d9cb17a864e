"""Actions for the conversational moves: greeting, decline, handoff, feedback, start again."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import Restarted
from rasa_sdk.executor import CollectingDispatcher

from bot import kb, respond, turn
from bot.turn import TurnResult

from .base import TurnAction, latest_entities, latest_ranking, latest_text

# "Hi, I manage a small adult learning team ... which legal form should we use?" is a
# question with a greeting in front; a greeting alone is short. The NLU's move filter
# (bot/nlu_moves.py) relabels only messages over twice the longest greet example (8 words
# now, so 16), so this also catches the 11- to 16-word "greetings" it lets through.
GREETING_MAX_WORDS = 10


class ActionGreet(TurnAction):
    """Say hello, unless the greeting opens a question: then answer the question."""

    def name(self) -> Text:
        return "action_greet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if len(latest_text(tracker).split()) <= GREETING_MAX_WORDS:
            dispatcher.utter_message(text=respond.GREETING, json_message={"kind": "greeting"})
            return []
        return super().run(dispatcher, tracker, domain)

    def turn(self, tracker: Tracker) -> TurnResult:
        return turn.question(kb.get(), latest_text(tracker), latest_ranking(tracker), latest_entities(tracker),
                             tracker.current_slot_values(), "greet")


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
