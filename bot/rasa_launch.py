"""Start ``rasa`` with a short timeout on calls to the action server.

Rasa 3.6 waits up to five minutes for an action (``DEFAULT_REQUEST_TIMEOUT``, fixed in its
code), so a hung action server would leave a user waiting far longer than the web chat lets
them. With this launcher the call gives up after ``ACTION_TIMEOUT`` seconds (default 4); Rasa
then reports the failed action, the web server answers with the fixed "can't look that up
right now" reply and the phone number, and the next message is served normally as soon as the
action server answers again. Usage: ``python -m bot.rasa_launch run --model ...`` (the same
arguments as ``rasa``).
"""
from __future__ import annotations

import os
import sys

DEFAULT_ACTION_TIMEOUT = 4.0


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
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
