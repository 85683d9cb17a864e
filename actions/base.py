"""The one place where a turn's reply is sent and a failure becomes a safe message."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import kb as kb_module
from bot import respond
from bot.turn import TurnResult

log = logging.getLogger(__name__)

SAFE_TEXT = (
    "Sorry, something went wrong on our side and I can't look that up right now. "
    "Please try again in a minute, or call the mutuals information line."
)


def send(dispatcher: CollectingDispatcher, reply: respond.Reply) -> None:
    """Send each message; the match metadata goes into the bot event for reviewers."""
    for message in reply.messages:
        dispatcher.utter_message(
            text=message.text,
            buttons=message.buttons or None,
            json_message=message.custom or None,
            match=reply.meta,
        )


class TurnAction(Action, ABC):
    """Runs ``turn`` and sends its reply; any exception becomes a fixed apology, never silence.

    Abstract, so rasa-sdk (which registers every concrete Action subclass) skips it.
    """

    @abstractmethod
    def name(self) -> Text:
        """The action's name in domain.yml."""

    @abstractmethod
    def turn(self, tracker: Tracker) -> TurnResult:
        """The reply and slot updates for this turn."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        try:
            result = self.turn(tracker)
        except Exception:  # noqa: BLE001 - the user must get an answer whatever failed
            log.exception("action %s failed", self.name())
            return self.safe_fallback(dispatcher, latest_text(tracker))
        send(dispatcher, result.reply)
        return [SlotSet(k, v) for k, v in result.slots.items()]

    def safe_fallback(self, dispatcher: CollectingDispatcher, text: str = "") -> List[Dict[Text, Any]]:
        """An honest "I don't know" when our own code failed; it sets `unanswered` like any other
        (TurnResult), so markers and insights count it alike."""
        try:
            reply = respond.dont_know(kb_module.get(), None, reason="error")
            reply.meta["query"] = text[:200]
            send(dispatcher, reply)
            return [SlotSet(k, v) for k, v in TurnResult(reply).slots.items()]
        except Exception:  # noqa: BLE001 - even the knowledge base may be what failed
            log.exception("safe fallback failed; sending the fixed text")
            dispatcher.utter_message(text=SAFE_TEXT, match={"band": "error"})
        return [SlotSet("unanswered", text[:500])]

def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def latest_ranking(tracker: Tracker) -> list:
    return list(tracker.latest_message.get("intent_ranking") or [])


def latest_entities(tracker: Tracker) -> list:
    return list(tracker.latest_message.get("entities") or [])
