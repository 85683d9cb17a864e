"""Custom actions: thin glue between rasa-sdk and the logic in ``bot``.

The knowledge base and the matcher are built here, when the action server imports this
package, so it answers its health check only once it can answer questions: the first user
no longer pays the build (seconds), and Rasa's short action timeout never hits a cold start.
"""
import logging

from bot import kb as _kb
from bot.match import get_matcher as _get_matcher

try:
    _get_matcher(_kb.get())
except Exception:  # noqa: BLE001 - a broken faq/ must not stop the server; actions answer safely
    logging.getLogger(__name__).exception("could not build the matcher at start")
