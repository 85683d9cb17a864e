"""The whole assistant as `make run` starts it, for browser tests: the action server, `rasa run`
with the trained model, and the web server, each a subprocess on a free 127.0.0.1 port.

One stack per test session (the model loads in 10-30 s). Conversations (the tracker store),
callbacks and the operator log go to a fresh folder under var/, removed at the end, so tests
never touch a developer's own data; so do the review console's proposals, test exports (a copy
of tests/eval/questions.yml) and chart cache. Logs: var/test-stack-*.log.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.assistant import ROOT, free_port

VAR = ROOT / "var"
VENV_BIN = Path(sys.executable).parent


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for(url: str, proc: subprocess.Popen, log: Path, seconds: float, ok=(200,)) -> None:
    """Until the URL answers with one of ``ok``; fail early if the process dies."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode}; last lines of {log}:\n"
                               + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
        try:
            if _get(url) in ok:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s; see {log}")


def _env(**extra: str) -> dict[str, str]:
    drop = ("OPERATOR_", "REVIEW", "TRACKER_DB", "CALLBACK_DB", "WEB_", "RASA_URL", "MUTUALS_LINE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore",
               PYTHONPATH=str(ROOT), SANIC_HOST="127.0.0.1")
    env.update(extra)
    return env


@dataclass
class WebServer:
    """One `python -m bot.web.server` process."""

    url: str
    proc: subprocess.Popen
    data: Path

    def stop(self) -> None:
        _stop(self.proc)


@dataclass
class Stack:
    """Processes and addresses of a running assistant."""

    model: Path
    data: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="test-stack-", dir=VAR)))
    operator_user: str = "test-operator"
    operator_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    reviewer_user: str = "test-reviewer"
    reviewer_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    procs: list[subprocess.Popen] = field(default_factory=list)
    web: WebServer | None = None
    rasa_url: str = ""
    action_port: int = 0

    @property
    def url(self) -> str:
        assert self.web is not None
        return self.web.url

    @property
    def tracker_db(self) -> Path:
        return self.data / "tracker.db"

    def review_dir(self, name: str = "web") -> Path:
        """Where the web server ``name`` writes the review console's proposals and tests."""
        return self.data / name / "review"

    def _log(self, name: str) -> Path:
        return VAR / f"test-stack-{name}.log"

    def start(self) -> "Stack":
        VAR.mkdir(exist_ok=True)
        try:
            self._start_actions()
            self._start_rasa()
            self.web = self.start_web(self.rasa_url, name="web", operator=True)
            self._warm_up()
        except Exception:
            self.stop()
            raise
        return self

    def _start_actions(self) -> None:
        self.action_port = free_port()
        log = self._log("actions")
        proc = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(self.action_port)],
                                cwd=ROOT, env=_env(), stdout=log.open("w"), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        wait_for(f"http://127.0.0.1:{self.action_port}/health", proc, log, 120)

    def _start_rasa(self) -> None:
        port = free_port()
        # Rasa does not expand ${VAR} inside a URL: write concrete endpoints (as scripts/run.sh does).
        endpoints_file = self.data / "endpoints.yml"
        subprocess.run([sys.executable, "-m", "bot", "endpoints", "--action-url",
                        f"http://127.0.0.1:{self.action_port}/webhook", "--out", str(endpoints_file)],
                       cwd=ROOT, env=_env(TRACKER_DB=str(self.tracker_db)), check=True, capture_output=True)
        log = self._log("rasa")
        # As scripts/run.sh starts it: through bot.rasa_launch (short action timeout) where it exists.
        launch = [sys.executable, "-m", "bot.rasa_launch"] if (ROOT / "bot" / "rasa_launch.py").exists() \
            else [str(VENV_BIN / "rasa")]
        proc = subprocess.Popen([*launch, "run", "--model", str(self.model), "--endpoints", str(endpoints_file),
                                 "--credentials", str(ROOT / "credentials.yml"), "-i", "127.0.0.1", "--port", str(port)],
                                cwd=ROOT, env=_env(TRACKER_DB=str(self.tracker_db)), stdout=log.open("w"),
                                stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.rasa_url = f"http://127.0.0.1:{port}"
        wait_for(self.rasa_url + "/", proc, log, 300)

    def start_web(self, rasa_url: str, name: str, operator: bool, timeout: float = 10.0,
                  client_timeout_ms: int | None = None) -> WebServer:
        """A web server on its own data folder; ``operator=False`` starts it with no login set up
        (neither the operator's nor the reviewer's). The review console writes proposals, test
        exports and charts under the data folder (``review_dir``), never into faq/ or tests/eval/."""
        port = free_port()
        data = self.data / name
        data.mkdir(exist_ok=True)
        extra = {"CALLBACK_DB": str(data / "callbacks.db"), "TRACKER_DB": str(self.tracker_db),
                 "OPERATOR_DB": str(data / "operator.db"), "OPERATOR_SECRETS_FILE": str(data / "secrets.env"),
                 "RASA_TIMEOUT": str(timeout)}
        if client_timeout_ms:
            extra["WEB_CLIENT_TIMEOUT_MS"] = str(client_timeout_ms)
        if operator:
            extra.update(OPERATOR_USERNAME=self.operator_user, OPERATOR_PASSWORD=self.operator_password,
                         REVIEWER_USERNAME=self.reviewer_user, REVIEWER_PASSWORD=self.reviewer_password)
        review_dir = data / "review"
        review_dir.mkdir(exist_ok=True)
        shutil.copy(ROOT / "tests" / "eval" / "questions.yml", review_dir / "questions.yml")
        extra.update(REVIEW_PROPOSALS_DIR=str(review_dir / "proposals"), REVIEW_QUESTIONS=str(review_dir / "questions.yml"),
                     REVIEW_STORIES=str(review_dir / "review_stories.yml"), REVIEW_CACHE_DIR=str(review_dir / "cache"))
        log = self._log(name)
        proc = subprocess.Popen([sys.executable, "-m", "bot.web.server", "--port", str(port), "--rasa", rasa_url],
                                cwd=ROOT, env=_env(**extra), stdout=log.open("w"), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_for(url + "/", proc, log, 60)
        return WebServer(url, proc, data)

    def _warm_up(self) -> None:
        """A greeting and a question through Rasa and the actions, so the first test does not
        pay for loading the pipeline or building the matcher."""
        deadline = time.time() + 120
        for text in ("hello", "can I keep my NHS pension if we spin out?"):
            body = json.dumps({"sender": "warm-up", "message": text}).encode()
            req = urllib.request.Request(self.rasa_url + "/webhooks/rest/webhook", body,
                                         {"Content-Type": "application/json"})
            while True:
                try:
                    with urllib.request.urlopen(req, timeout=60) as resp:
                        if json.loads(resp.read()):
                            break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise RuntimeError("Rasa gave no reply to a warm-up message; see var/test-stack-rasa.log")
                time.sleep(1)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _stop(proc)
        self.procs.clear()
        shutil.rmtree(self.data, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def silent_server() -> tuple[socket.socket, str]:
    """A port that accepts connections and never answers: a Rasa that hangs. Close the socket after."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


def dead_port() -> str:
    """An address where nothing listens: a Rasa that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
