"""The launcher's faster check of action server replies accepts and rejects exactly what
Rasa's own check does (the end-to-end tests run every real reply through it)."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction

from bot.rasa_launch import validate_action_results_once

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "sector", "value": "nhs"}],
     "responses": [{"text": "Hello", "custom": {"meta": {"band": "answer"}}}]},
    {},
]
BAD = [
    {"events": [{"name": "no event key"}], "responses": []},
    {"events": "not a list"},
    {"events": [{"event": "slot"}], "responses": "nope"},
]


@pytest.fixture()
def patched(monkeypatch: pytest.MonkeyPatch) -> RemoteAction:
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    validate_action_results_once()
    return RemoteAction.__new__(RemoteAction)


@pytest.mark.parametrize("reply", GOOD)
def test_valid_replies_pass(patched: RemoteAction, reply: dict) -> None:
    validate(reply, RemoteAction.action_response_format_spec())  # Rasa's own check agrees
    assert patched._validate_action_result(reply) is True


@pytest.mark.parametrize("reply", BAD)
def test_invalid_replies_fail_with_rasas_error(patched: RemoteAction, reply: dict) -> None:
    with pytest.raises(ValidationError) as theirs:
        validate(reply, RemoteAction.action_response_format_spec())
    with pytest.raises(ValidationError) as ours:
        patched._validate_action_result(reply)
    assert ours.value.message.startswith(theirs.value.message)
    assert "Failed to validate Action server response" in ours.value.message
