"""Rasa's REST channel with personal data removed before the message is processed or stored.

Registered in credentials.yml in place of the stock ``rest`` channel and keeping its URL
(``/webhooks/rest/webhook``), so the web server needs no change. The tracker store therefore
only ever holds the redacted text; the kinds removed go into the message metadata so a
reviewer can see that something was taken out. Client-supplied metadata and input-channel
names are ignored: only the web server talks to this channel, and nothing it is sent should
be able to dress itself up as another channel.

If handling a message fails part-way (the tracker store is down, say), Rasa's REST channel
still returns the replies collected so far, so the user sees an answer that was never logged.
Here a failure drops them: the web server then gives its fixed "not responding" reply with
the phone number, and the user knows to try again.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.request import Request

from .redact import redact


class RedactingRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def _extract_message(self, req: Request) -> Optional[Text]:
        raw = super()._extract_message(req)
        return redact(raw).text if isinstance(raw, str) else raw

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        raw = super()._extract_message(request)
        kinds = redact(raw).kinds if isinstance(raw, str) else ()
        return {"redacted": list(kinds)} if kinds else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def all_or_nothing(message: UserMessage) -> None:
            try:
                await on_new_message(message)
            except Exception:
                if isinstance(message.output_channel, CollectingOutputChannel):
                    message.output_channel.messages.clear()
                raise

        return super().blueprint(all_or_nothing)
