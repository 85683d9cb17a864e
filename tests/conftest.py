"""Shared fixtures. The trained assistant is built once per test run (session scope)."""
from __future__ import annotations

import pytest

from tests.support.assistant import Assistant, ensure_model


@pytest.fixture(scope="session")
def model():
    return ensure_model()


@pytest.fixture(scope="session")
def assistant(model):
    bot = Assistant(model)
    yield bot
    bot.close()
