"""deploy/ describes the same topology as scripts/scaled.sh, takes its configuration from the
environment, and its nginx files are valid. (No Docker engine runs here, so the compose file is
checked structurally and the nginx files with `nginx -t`.)"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text())


def test_topology_matches_the_scaled_profile(compose):
    services = compose["services"]
    assert {"postgres", "redis", "actions-1", "actions-2", "rasa-1", "rasa-2", "web-1", "web-2", "nginx",
            "nginx-internal"} <= set(services)
    for name in ("rasa-1", "rasa-2"):
        command = services[name]["command"]
        assert "python -m bot endpoints" in command and "rasa run" in command
        env = services[name]["environment"]
        assert env["TRACKER_DB_URL"].startswith("postgresql://") and env["LOCK_STORE_URL"].startswith("redis://")
    # Each web server talks to its own replica.
    assert "http://rasa-1:5005" in services["web-1"]["command"]
    assert "http://rasa-2:5005" in services["web-2"]["command"]


def test_only_nginx_is_published_and_nothing_secret_is_written(compose):
    published = [name for name, svc in compose["services"].items() if svc.get("ports")]
    assert published == ["nginx"]
    text = (DEPLOY / "compose.yml").read_text()
    for key in ("POSTGRES_PASSWORD", "OPERATOR_PASSWORD_HASH", "REVIEWER_PASSWORD_HASH", "MUTUALS_LINE_PHONE"):
        for value in re.findall(rf"{key}: (\S+)", text):
            assert value.startswith("${"), f"{key} must come from the environment, not {value!r}"
    assert (ROOT / ".gitignore").read_text().count("deploy/.env") == 1


@pytest.mark.parametrize("name", ["nginx-front.conf", "nginx-actions.conf"])
def test_nginx_files_are_valid(name, tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is not installed; `make test` installs it (apt-get install -y nginx)")
    # Service names resolve only inside the deployment: point them at loopback for the check.
    text = re.sub(r"server (web|actions)-\d+:", "server 127.0.0.1:", (DEPLOY / name).read_text())
    text = text.replace("listen 80;", "listen 127.0.0.1:18080;").replace("listen 5055;", "listen 127.0.0.1:15055;")
    conf = tmp_path / name
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n" + text)
    done = subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    routing = (DEPLOY / "nginx-front.conf").read_text()
    assert "hash $cookie_mutuals_sid consistent" in routing
