"""Start ``rasa`` with a short timeout on calls to the action server, and a tracker store that
fails loudly instead of forgetting.

Rasa 3.6 waits up to five minutes for an action (``DEFAULT_REQUEST_TIMEOUT``, fixed in its
code), so a hung action server would leave a user waiting far longer than the web chat lets
them. With this launcher the call gives up after ``ACTION_TIMEOUT`` seconds (default 4); Rasa
then reports the failed action, the web server answers with the fixed "can't look that up
right now" reply and the phone number, and the next message is served normally as soon as the
action server answers again.

Rasa also wraps every tracker store in ``FailSafeTrackerStore``, which on a database error
quietly keeps the conversation in memory (save) or starts it afresh (retrieve): the user gets
an answer, but the message is lost from the log and the next turn forgets the conversation.
``LoudTrackerStore`` retries once (a restarted PostgreSQL leaves stale pooled connections,
which the retry replaces) and otherwise raises, so the channel answers with the fixed "not
responding" reply and the phone number instead of a reply nobody will find in the log.

Usage: ``python -m bot.rasa_launch run --model ...`` (the same arguments as ``rasa``).
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any, Awaitable, Callable, TypeVar

DEFAULT_ACTION_TIMEOUT = 4.0
RETRY_AFTER = 0.5
T = TypeVar("T")
log = logging.getLogger(__name__)


async def _twice(call: Callable[[], Awaitable[T]], what: str) -> T:
    try:
        return await call()
    except Exception as exc:  # noqa: BLE001 - any store error gets one retry, then propagates
        log.warning("tracker store %s failed (%s); retrying once", what, exc.__class__.__name__)
        await asyncio.sleep(RETRY_AFTER)
        return await call()


def loud_tracker_store_class() -> type:
    from rasa.core.tracker_store import FailSafeTrackerStore

    class LoudTrackerStore(FailSafeTrackerStore):
        """FailSafeTrackerStore without the silent in-memory fallback."""

        async def save(self, tracker: Any) -> None:
            await _twice(lambda: self._tracker_store.save(tracker), "save")

        async def retrieve(self, sender_id: str) -> Any:
            return await _twice(lambda: self._tracker_store.retrieve(sender_id), "retrieve")

        async def retrieve_full_tracker(self, sender_id: str) -> Any:
            return await _twice(lambda: self._tracker_store.retrieve_full_tracker(sender_id), "retrieve")

    return LoudTrackerStore


def action_timeout() -> float:
    value = float(os.environ.get("ACTION_TIMEOUT", DEFAULT_ACTION_TIMEOUT))
    if not 0 < value <= 300:
        raise SystemExit("ACTION_TIMEOUT must be between 0 and 300 seconds")
    return value


def main() -> None:
    timeout = action_timeout()
    import rasa.core.actions.action as action
    import rasa.utils.endpoints as endpoints

    # Both names are read when a request is made: the per-request and the session timeout.
    action.DEFAULT_REQUEST_TIMEOUT = timeout
    endpoints.DEFAULT_REQUEST_TIMEOUT = timeout
    import rasa.core.agent as agent

    agent.FailSafeTrackerStore = loud_tracker_store_class()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
