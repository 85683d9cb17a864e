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

Rasa checks every action server reply against its JSON schema with ``jsonschema.validate``,
which first checks the schema itself against the draft 2020-12 meta-schema: on every call,
about 20 ms per message, two fifths of a REST round trip (py-spy, bench/results/latency.txt).
The launcher checks the schema once and reuses the validator: the same replies pass and fail.

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


def validate_action_results_once() -> None:
    """Make ``RemoteAction`` reuse one checked validator instead of re-checking its schema."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import DOCS_BASE_URL, RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def _validate_action_result(self: Any, result: dict) -> bool:
        # As jsonschema.validate: the most relevant error, with Rasa's own hint appended.
        error: ValidationError | None = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            f"from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result


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
    validate_action_results_once()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
