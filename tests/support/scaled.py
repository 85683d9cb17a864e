"""Start and stop the scaled profile (scripts/scaled.sh) for tests and benchmarks, on a fresh
PostgreSQL database and its own Redis database, so nothing of a developer's is touched."""
from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from tests.support.assistant import ROOT

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _free_base() -> int:
    """A base port with the ranges scaled.sh uses (base, +1.., +101.., +201..) all free."""
    for _ in range(50):
        base = random.randrange(20000, 40000, 10)
        if all(_free(base + off) for off in (0, 1, 2, 3, 101, 102, 103, 201, 202, 203)):
            return base
    raise RuntimeError("no free port range for the scaled profile")


class ScaledProfile:
    def __init__(self, rasa_replicas: int = 2, action_replicas: int = 2):
        self.dir = Path(tempfile.mkdtemp(prefix="scaled-", dir=ROOT / "var"))
        self.db_name = f"mutuals_scaled_{uuid.uuid4().hex[:8]}"
        self.db_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{self.db_name}"
        self.front = _free_base() - 5
        while not _free(self.front):
            self.front -= 1
        self.base = _free_base()
        self.url = f"http://127.0.0.1:{self.front}"
        self.env = {**os.environ, "SCALED_DIR": str(self.dir), "SCALED_PORT": str(self.front),
                    "SCALED_BASE_PORT": str(self.base), "RASA_REPLICAS": str(rasa_replicas),
                    "ACTION_REPLICAS": str(action_replicas), "TRACKER_DB_URL": self.db_url,
                    "LOCK_STORE_URL": "redis://127.0.0.1:6379/2"}
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / "scaled.out"

    def start(self, seconds: float = 400) -> "ScaledProfile":
        self.proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "scaled.sh")], cwd=ROOT, env=self.env,
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + seconds
        while time.time() < deadline:
            text = self.log.read_text(errors="replace")
            if "scaled: ready" in text:
                return self
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"scripts/scaled.sh exited:\n{text[-3000:]}")
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"scaled profile not ready in {seconds:.0f} s; see {self.log}")

    def pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-f", str(self.dir)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def routes(self) -> dict[str, set[str]]:
        """Conversation cookie -> the web servers nginx sent its requests to."""
        found: dict[str, set[str]] = {}
        for line in (self.dir / "nginx-access.log").read_text().splitlines():
            sid, upstream, _status, uri = (line.split() + ["", "", "", ""])[:4]
            if uri.startswith("/api/chat") and sid not in ("", "-"):
                found.setdefault(sid, set()).add(upstream)
        return found

    def user_messages(self) -> dict[str, int]:
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text(
                    "SELECT sender_id, COUNT(*) FROM events WHERE type_name = 'user' GROUP BY sender_id"))
                return {s: int(n) for s, n in rows}
        finally:
            engine.dispose()
        if not os.environ.get("KEEP_SCALED_LOGS"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        finally:
            engine.dispose()
        if not os.environ.get("KEEP_SCALED_LOGS"):
            shutil.rmtree(self.dir, ignore_errors=True)
