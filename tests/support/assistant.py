"""Run the real assistant in-process for tests and benchmarks: the trained Rasa model via
rasa's Agent, with a real action server (rasa-sdk) in a subprocess on a free port."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "current.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_model() -> Path:
    """Train if the model is missing or stale (scripts/train.sh decides; it is quick when current)."""
    subprocess.run([str(ROOT / "scripts" / "train.sh")], check=True, cwd=ROOT)
    return MODEL


def start_action_server(port: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "SANIC_HOST": "127.0.0.1", "PYTHONPATH": str(ROOT)}
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"action server exited; see {log_path}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"action server did not start in 90 s; see {log_path}")


def quiet() -> None:
    """Rasa logs every turn at debug level (structlog); tests need only warnings."""
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    for name in ("rasa", "rasa_sdk", "root", ""):
        logging.getLogger(name).setLevel(logging.WARNING)


class Assistant:
    """The trained model plus actions, driven message by message."""

    def __init__(self, model: Path | None = None, tracker_url: str | None = None):
        """``tracker_url`` stores the conversations in a real SQL tracker store (SQLite or
        PostgreSQL URL) instead of memory."""
        from rasa.core.agent import Agent
        from rasa.utils.endpoints import EndpointConfig

        os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
        logging.getLogger("rasa").setLevel(logging.WARNING)
        (ROOT / "var").mkdir(exist_ok=True)
        self.port = free_port()
        self.proc = start_action_server(self.port, ROOT / "var" / "test-actions.log")
        self.loop = asyncio.new_event_loop()
        store = None
        if tracker_url:
            from rasa.core.tracker_store import TrackerStore

            from bot import logstore

            store = TrackerStore.create(EndpointConfig.from_dict(logstore.tracker_store_config(tracker_url)))
        self.agent = Agent.load(str(model or MODEL), tracker_store=store,
                                action_endpoint=EndpointConfig(f"http://127.0.0.1:{self.port}/webhook"))
        quiet()

    def say(self, text: str, sender: str) -> list[dict[str, Any]]:
        return self.loop.run_until_complete(self.agent.handle_text(text, sender_id=sender)) or []

    def tracker(self, sender: str):
        """The whole conversation, including events before a restart (``retrieve`` would
        return only the latest session)."""
        return self.loop.run_until_complete(self.agent.tracker_store.retrieve_full_tracker(sender))

    def last_intent(self, sender: str) -> str | None:
        """The NLU intent of the last user message (read from the events, since a restart
        clears ``latest_message``)."""
        from rasa.shared.core.events import UserUttered

        tracker = self.tracker(sender)
        for event in reversed(list(tracker.events) if tracker else []):
            if isinstance(event, UserUttered):
                return (event.intent or {}).get("name")
        return None

    def parse(self, text: str) -> dict[str, Any]:
        return self.loop.run_until_complete(self.agent.parse_message(text))

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.loop.close()
