"""Conversation data and dialogue: `rasa data validate` is clean and every test story passes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")
# endpoints.yml names ${ACTION_PORT} and ${TRACKER_DB}; give them values so Rasa's commands
# here use a throwaway SQLite file under var/ instead of a file named after the variable.
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore",
       "ACTION_PORT": "5055", "TRACKER_DB": str(ROOT / "var" / "test-tracker.db")}


def run(args: list[str], log: str) -> subprocess.CompletedProcess:
    (ROOT / "var").mkdir(exist_ok=True)
    out = subprocess.run([RASA, *args], cwd=ROOT, env=ENV, capture_output=True, text=True)
    (ROOT / "var" / log).write_text(out.stdout + out.stderr)
    return out


def test_rasa_data_validate_is_clean(model):
    # `model` first: training writes var/nlu/kb_nlu.yml, the examples generated from faq/.
    out = run(["data", "validate", "--data", "data", "var/nlu", "--fail-on-warnings"], "validate.log")
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    warnings = [line for line in (out.stdout + out.stderr).splitlines() if "UserWarning" in line]
    assert not warnings, warnings


def test_stories_pass(model, tmp_path):
    out = run(["test", "core", "--model", str(model), "--stories", "tests/test_stories.yml",
               "--out", str(tmp_path), "--fail-on-prediction-errors"], "test-stories.log")
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert out.returncode == 0, (detail or (out.stdout + out.stderr))[-6000:]
    assert "# None of the test stories failed - all good!" in detail or not detail.strip() or "failed" not in detail
